#!/usr/bin/env python3
"""Requests per second and latency through a Gateway (netlab's nginx proxy) against the same echo pods
reached directly by their Service's ClusterIP, side by side in one run (wrk, fixed duration); then the time
from applying a new HTTPRoute to its first successful request, over a few rounds.

Both loads run from the same place (a pod on a worker node), so the ratio isolates the cost of the
Gateway's hop. Everything runs in namespaces this script creates and is removed at the end, also on
failure. Usage: sudo python3 bench/gateway.py [--seconds 5] [--rounds 5]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ingress import wrk  # bench/ingress.py, next to this script: the same wrk run and parsing

from netlab.runtime.kubeconfig import context_name

LAB = """
kind: Cluster
apiVersion: netlab.dev/v1alpha1
dns: {replicas: 1}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: TAG-echo}
spec:
  replicas: 2
  selector: {matchLabels: {app: echo}}
  template:
    metadata: {labels: {app: echo}}
    spec:
      containers: [{name: echo, image: echo, ports: [{containerPort: 3000}]}]
---
apiVersion: v1
kind: Pod
metadata: {name: TAG-load}
spec:
  nodeName: TAG-worker
  containers: [{name: idle, image: busybox, command: [sleep, infinity]}]
---
apiVersion: v1
kind: Service
metadata: {name: echo}
spec:
  selector: {app: echo}
  ports: [{port: 80, targetPort: 3000}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: bench}
spec:
  gatewayClassName: netlab
  listeners: [{name: http, port: 80, protocol: HTTP}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: bench}
spec:
  parentRefs: [{name: bench}]
  hostnames: [bench.example]
  rules: [{backendRefs: [{name: echo, port: 80}]}]
"""

ROUTE = """
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: late-N}
spec:
  parentRefs: [{name: bench}]
  hostnames: [late-N.example]
  rules: [{backendRefs: [{name: echo, port: 80}]}]
"""
WAIT_LIMIT = 30.0  # seconds: every wait for an answer is bounded


def answers(netns: str, url: str, host: str) -> bool:
    proc = subprocess.run(["ip", "netns", "exec", netns, "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
                           "--max-time", "1", "-H", f"Host: {host}", url], capture_output=True, text=True, timeout=10)
    return proc.stdout == "200"


def first_answer(netns: str, url: str, host: str) -> float:
    """Poll (bounded) until `host` answers 200; the time it answered (time.monotonic())."""
    deadline = time.monotonic() + WAIT_LIMIT
    while time.monotonic() < deadline:
        if answers(netns, url, host):
            return time.monotonic()
        time.sleep(0.01)
    raise RuntimeError(f"{host} did not answer within {WAIT_LIMIT:.0f} s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench/gateway.py needs root")
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed (sudo scripts/provision.sh installs it)")
    tag = f"g{os.getpid() % 100000}"
    host = f"nlbench-{tag}"
    tmp = Path(tempfile.mkdtemp())
    os.environ["KUBECONFIG"] = str(tmp / "kubeconfig")  # `up` writes this cluster's context here, not ~/.kube
    in_host = ["nsenter", f"--net=/run/netns/{host}"]
    cli = [*in_host, sys.executable, "-m", "netlab.cli", "--cluster", tag]
    subprocess.run(["ip", "netns", "add", host], check=True)
    subprocess.run(["ip", "-n", host, "link", "set", "lo", "up"], check=True)  # the API listens on 127.0.0.1
    try:
        (tmp / "lab.yaml").write_text(LAB.replace("TAG", tag))
        up = subprocess.run([*cli, "up", str(tmp / "lab.yaml")], capture_output=True, text=True)
        if up.returncode != 0:
            sys.exit(f"netlab up failed: {up.stderr.strip()[-500:]}")

        def cluster_ip(name: str) -> str:
            out = subprocess.run([*cli, "get", "svc", name, "-o", "json"], check=True, capture_output=True,
                                 text=True).stdout
            return json.loads(out)["spec"]["clusterIP"]

        load = f"{tag}-load"
        deadline = time.monotonic() + 60
        while True:  # the proxy Service appears once the controller has seen the Gateway
            try:
                gateway_url = f"http://{cluster_ip('bench-nginx')}/"
                break
            except subprocess.CalledProcessError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        first_answer(load, gateway_url, "bench.example")
        direct = wrk(load, f"http://{cluster_ip('echo')}/", args.seconds, None)
        through = wrk(load, gateway_url, args.seconds, "bench.example")
        print(f"wrk, 1 thread, 8 connections, {args.seconds} s each, from a pod on a worker:")
        print(f"  Service ClusterIP directly: {direct[0]:9.0f} req/s, median latency {direct[1]}")
        print(f"  through the Gateway:        {through[0]:9.0f} req/s, median latency {through[1]}")
        print(f"  ratio Gateway/direct: {through[0] / direct[0]:.2f}")

        kubectl = [*in_host, shutil.which("kubectl") or "kubectl", "--context", context_name(tag)]
        applied, answered = [], []
        for n in range(args.rounds):
            path = tmp / f"late-{n}.yaml"
            path.write_text(ROUTE.replace("N", str(n)))
            start = time.monotonic()
            subprocess.run([*kubectl, "apply", "-f", str(path)], check=True, capture_output=True)
            returned = time.monotonic()
            done = first_answer(load, gateway_url, f"late-{n}.example")
            applied.append(returned - start)
            answered.append(done - start)
        print(f"a new HTTPRoute, {args.rounds} rounds: first successful request {min(answered):.2f}-"
              f"{max(answered):.2f} s (median {statistics.median(answered):.2f}) after `kubectl apply` started "
              f"(kubectl itself took {min(applied):.2f}-{max(applied):.2f} s)")
    finally:
        subprocess.run([*cli, "down"], capture_output=True)
        subprocess.run(["ip", "netns", "delete", host], capture_output=True)
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
