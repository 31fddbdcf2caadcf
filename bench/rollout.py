#!/usr/bin/env python3
"""Rollout under load: does a rolling update of a Deployment behind a Service lose requests?

A client pod sends requests to the Service's ClusterIP one after another (curl in a bounded loop: at most
--requests requests, at most --seconds seconds per round). Round 0 is the baseline: no rollout. Each
further round changes the Deployment's template (a rolling update: maxSurge 1, maxUnavailable 0, readiness
probes), and the load goes on until the rollout is complete and the old pods are gone. Printed per kind
of round: requests sent, failed requests (target 0) and latency percentiles, and the rollout rounds'
p50/p99 as ratios to the baseline's.

Everything runs inside a fresh network namespace acting as the host and is removed afterwards, also on
failure. Usage: sudo python3 bench/rollout.py [--rounds 3] [--requests 3000] [--seconds 90]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CLUSTER = """
kind: Cluster
apiVersion: netlab.dev/v1alpha1
---
apiVersion: v1
kind: Pod
metadata: {name: TAG-client}
spec:
  containers: [{name: echo, image: echo, ports: [{containerPort: 8080}]}]
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 3000}]
"""

DEPLOYMENT = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 3
  minReadySeconds: 1
  strategy: {type: RollingUpdate, rollingUpdate: {maxSurge: 1, maxUnavailable: 0}}
  selector: {matchLabels: {app: web}}
  template:
    metadata:
      labels: {app: web}
      annotations: {bench/round: "ROUND"}
    spec:
      terminationGracePeriodSeconds: 10
      containers:
        - name: echo
          image: echo
          ports: [{containerPort: 3000}]
          readinessProbe: {httpGet: {path: /, port: 3000}, periodSeconds: 1}
"""

BASELINE_SECONDS = 8.0  # how long the no-rollout round sends requests


def run(*argv: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout)


class Lab:
    def __init__(self, tag: str, workdir: Path) -> None:
        self.tag, self.host, self.workdir = tag, f"nlbench-{tag}", workdir
        self.stop_file = workdir / "stop-load"

    def netlab(self, *args: str) -> str:
        """netlab's CLI in the host namespace (the API listens on its loopback)."""
        proc = run("nsenter", f"--net=/run/netns/{self.host}", sys.executable, "-m", "netlab.cli",
                   "--cluster", self.tag, *args)
        if proc.returncode != 0:
            raise RuntimeError(f"netlab {' '.join(args)}: {proc.stderr.strip()}")
        return proc.stdout

    def get(self, *what: str) -> dict:
        return json.loads(self.netlab("get", *what, "-o", "json"))

    def deploy(self, round_no: int) -> None:
        path = self.workdir / f"web-{round_no}.yaml"
        path.write_text(DEPLOYMENT.replace("ROUND", str(round_no)))
        self.netlab("apply", "-f", str(path))

    def rolled_out(self) -> bool:
        """Every pod runs the current template, is Ready, and no old pod is left terminating."""
        d = self.get("deployment", "web")
        status, want = d.get("status") or {}, d["spec"]["replicas"]
        pods = self.get("pods", "-l", "app=web")["items"]
        return (status.get("updatedReplicas") == want and status.get("availableReplicas") == want
                and len(pods) == want)

    def load(self, requests: int, seconds: float) -> subprocess.Popen:
        """The load loop, running; it ends after `requests` requests, `seconds` seconds, or once stop() is
        called (after the request in flight: none is cut)."""
        svc = self.get("service", "web")["spec"]["clusterIP"]
        self.stop_file.unlink(missing_ok=True)
        loop = (f"for i in $(seq {requests}); do [ -e {self.stop_file} ] && break; "
                f"curl -s -o /dev/null -w '%{{http_code}} %{{time_total}}\\n' --max-time 3 http://{svc}/ ; done")
        return subprocess.Popen(["timeout", str(int(seconds)), "ip", "netns", "exec", f"{self.tag}-client",
                                 "sh", "-c", loop], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)


def results(proc: subprocess.Popen) -> tuple[int, list[float]]:
    """(failed requests, latencies in ms of all of them) from the loop's output."""
    out, _ = proc.communicate(timeout=600)
    failed, latencies = 0, []
    for line in out.splitlines():
        code, _, took = line.partition(" ")
        failed += code != "200"
        latencies.append(float(took or 0) * 1000)
    return failed, latencies


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))] if ordered else 0.0


def summary(name: str, failed: int, lat: list[float]) -> dict:
    return {"round": name, "requests": len(lat), "failed": failed, "p50_ms": round(pct(lat, 0.5), 2),
            "p90_ms": round(pct(lat, 0.9), 2), "p99_ms": round(pct(lat, 0.99), 2),
            "max_ms": round(max(lat, default=0.0), 2)}


def wait(predicate, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.3)
    return False


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="rollout rounds after the baseline")
    parser.add_argument("--requests", type=int, default=3000, help="most requests per round")
    parser.add_argument("--seconds", type=float, default=90, help="most seconds per round")
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench/rollout.py needs root")
    tag = f"ro{os.getpid() % 100000}"
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        lab = Lab(tag, Path(tmp))
        run("ip", "netns", "add", lab.host)
        run("ip", "-n", lab.host, "link", "set", "lo", "up")
        try:
            cluster = Path(tmp) / "cluster.yaml"
            cluster.write_text(CLUSTER.replace("TAG", tag))
            lab.netlab("up", str(cluster))
            lab.deploy(0)
            if not wait(lab.rolled_out, 90):
                raise RuntimeError("the Deployment did not become available")
            proc = lab.load(args.requests, min(args.seconds, BASELINE_SECONDS))
            rows.append(summary("baseline", *results(proc)))
            fail, lat, incomplete = 0, [], 0
            for rnd in range(1, args.rounds + 1):
                proc = lab.load(args.requests, args.seconds)
                time.sleep(1)
                lab.deploy(rnd)
                done = wait(lab.rolled_out, args.seconds - 2)
                time.sleep(1)
                lab.stop_file.touch()
                f, latency = results(proc)
                fail, lat = fail + f, lat + latency
                if not done:
                    print(f"round {rnd}: the rollout did not complete within {args.seconds:g} s", file=sys.stderr)
                    incomplete += 1
            rows.append(summary(f"rollout x{args.rounds}", fail, lat))
        finally:
            run("nsenter", f"--net=/run/netns/{lab.host}", sys.executable, "-m", "netlab.cli", "--cluster", tag,
                "down")
            run("ip", "netns", "del", lab.host)
    base, roll = rows
    for row in rows:
        print(json.dumps(row))
    print(f"rolling update under load: {roll['failed']} failed of {roll['requests']} requests "
          f"(baseline {base['failed']} of {base['requests']}); latency p50 {roll['p50_ms']} ms "
          f"({roll['p50_ms'] / max(base['p50_ms'], 0.001):.2f}x baseline), p99 {roll['p99_ms']} ms "
          f"({roll['p99_ms'] / max(base['p99_ms'], 0.001):.2f}x baseline)")
    return 0 if roll["failed"] == 0 and not incomplete else 1


if __name__ == "__main__":
    sys.exit(main())
