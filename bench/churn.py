#!/usr/bin/env python3
"""Churn: how soon after `netlab apply` returns does every replacement pod answer every client?

Each round deletes one 3-replica Deployment and applies another of the same shape (a learner's
delete-and-recreate). From the moment `apply` returns, each new pod is probed from a pod on each
worker, the host and every node, until it answers. Printed: time to first answer (p50, p99, max),
the same for round 0 (nothing deleted before it: the baseline) and the ratio, and the count of failed
requests sent after the pod was Ready (target 0). The nodes get /28 pod ranges (--mask) so new pods
reuse addresses that deleted pods held a moment before.

Everything runs inside a fresh network namespace acting as the host and is removed afterwards, also
on failure; every loop is bounded. Usage: sudo python3 bench/churn.py [--rounds 20] [--mode host-gw]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from netlab.api.client import Client

CLUSTER = """
kind: Cluster
apiVersion: netlab.dev/v1alpha1
mode: MODE
nodeCIDRMaskSize: MASK
nodes: [{role: control-plane}, {role: worker}, {role: worker}]
---
apiVersion: v1
kind: Pod
metadata: {name: TAG-c1}
spec:
  nodeName: TAG-worker
  containers: [{name: echo, image: echo, ports: [{containerPort: 8080}]}]
---
apiVersion: v1
kind: Pod
metadata: {name: TAG-c2}
spec:
  nodeName: TAG-worker2
  containers: [{name: echo, image: echo, ports: [{containerPort: 8080}]}]
"""

DEPLOYMENT = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: NAME}
spec:
  replicas: 3
  selector: {matchLabels: {app: NAME}}
  template:
    metadata: {labels: {app: NAME}}
    spec:
      containers: [{name: app, image: echo, ports: [{containerPort: 3000}]}]
"""

ANSWER_DEADLINE = 15.0  # seconds a pod may take to answer before the round counts it as failed


def run(*argv: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout)


class Lab:
    def __init__(self, tag: str, workdir: Path) -> None:
        self.tag, self.host, self.workdir = tag, f"nlbench-{tag}", workdir
        self.client = Client(tag, timeout=10)

    def netlab(self, *args: str) -> None:
        proc = run("nsenter", f"--net=/run/netns/{self.host}", sys.executable, "-m", "netlab.cli",
                   "--cluster", self.tag, *args, timeout=300)
        if proc.returncode != 0:
            raise RuntimeError(f"netlab {' '.join(args)}: {proc.stderr.strip()}")

    def pods(self, app: str) -> list[dict]:
        return self.client.get(f"/api/v1/namespaces/default/pods?labelSelector=app%3D{app}")["items"]

    def clients(self) -> list[tuple[str, list[str]]]:
        nodes = [f"{self.tag}-control-plane", f"{self.tag}-worker", f"{self.tag}-worker2"]
        out = [(f"pod {p}", ["ip", "netns", "exec", f"{self.tag}-{p}"]) for p in ("c1", "c2")]
        out.append(("host", ["nsenter", f"--net=/run/netns/{self.host}"]))
        return out + [(f"node {n}", ["ip", "netns", "exec", n]) for n in nodes]


def ready(pod: dict) -> bool:
    return any(c["type"] == "Ready" and c["status"] == "True" for c in pod["status"].get("conditions", []))


def one_round(lab: Lab, name: str, previous: Path | None) -> tuple[list[float], int]:
    """Seconds from `apply` returning to each (pod, client)'s first answer, and failed requests after Ready."""
    if previous is not None:
        lab.netlab("delete", "-f", str(previous))
    path = lab.workdir / f"{name}.yaml"
    path.write_text(DEPLOYMENT.replace("NAME", name))
    lab.netlab("apply", "-f", str(path))
    applied = time.monotonic()
    clients = lab.clients()
    answered: dict[tuple[str, str], float] = {}
    failed = 0
    with ThreadPoolExecutor(max_workers=3 * len(clients)) as pool:
        while len(answered) < 3 * len(clients) and time.monotonic() - applied < ANSWER_DEADLINE:
            # every pending (pod, client) pair is probed at once, so no pair waits for the others
            probes = {(pod["metadata"]["name"], who): (ready(pod), pool.submit(
                run, *prefix, "curl", "-sS", "-o", "/dev/null", "--max-time", "1",
                f"http://{pod['status']['podIP']}:3000/", timeout=5))
                for pod in lab.pods(name) if pod["status"].get("podIP")
                for who, prefix in clients if (pod["metadata"]["name"], who) not in answered}
            for key, (was_ready, future) in probes.items():
                if future.result().returncode == 0:
                    answered[key] = time.monotonic() - applied
                elif was_ready:
                    failed += 1
    failed += 3 * len(clients) - len(answered)
    return list(answered.values()), failed


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--mode", choices=["host-gw", "vxlan"], default="host-gw")
    parser.add_argument("--mask", type=int, default=28, help="nodeCIDRMaskSize (28: addresses are reused)")
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench/churn.py needs root")
    tag = f"ch{os.getpid() % 100000}"
    lab = None
    with tempfile.TemporaryDirectory() as tmp:
        lab = Lab(tag, Path(tmp))
        run("ip", "netns", "add", lab.host)
        try:
            cluster = Path(tmp) / "cluster.yaml"
            cluster.write_text(CLUSTER.replace("MODE", args.mode).replace("MASK", str(args.mask))
                               .replace("TAG", tag))
            lab.netlab("up", str(cluster))
            baseline, failed_base = one_round(lab, f"{tag}-d0", None)
            churn, failed = [], 0
            previous = lab.workdir / f"{tag}-d0.yaml"
            for rnd in range(1, args.rounds + 1):
                times, bad = one_round(lab, f"{tag}-d{rnd}", previous)
                churn += times
                failed += bad
                previous = lab.workdir / f"{tag}-d{rnd}.yaml"
        finally:
            run("nsenter", f"--net=/run/netns/{lab.host}", sys.executable, "-m", "netlab.cli", "--cluster", tag,
                "down")
            run("ip", "netns", "del", lab.host)
    print(f"churn: {args.rounds} rounds of delete + apply of a 3-replica Deployment, {args.mode}, "
          f"/{args.mask} per node; clients: 2 pods, host, 3 nodes")
    print(f"baseline (round 0, nothing deleted): p50 {statistics.median(baseline):.2f} s  "
          f"max {max(baseline):.2f} s  failed {failed_base}")
    print(json.dumps({"p50": round(statistics.median(churn), 3), "p99": round(pct(churn, 0.99), 3),
                      "max": round(max(churn), 3), "failed_after_ready": failed,
                      "p99_ratio_to_baseline": round(pct(churn, 0.99) / pct(baseline, 0.99), 2)}))
    print(f"time from apply to first answer: p50 {statistics.median(churn):.2f} s  p99 {pct(churn, 0.99):.2f} s  "
          f"max {max(churn):.2f} s (target p99 < 1 s)   failed requests after Ready: {failed} (target 0)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
