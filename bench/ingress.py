#!/usr/bin/env python3
"""Requests per second and latency through the ingress controller against the same echo pods reached
directly by their Service's ClusterIP, in one run, with a bounded load generator (wrk, fixed duration).

Both loads run from the same place (a pod on a worker node), so the ratio isolates the cost of the
ingress hop. Everything runs in namespaces this script creates and is removed at the end, also on
failure. Usage: sudo python3 bench/ingress.py [--seconds 5]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

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
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: echo}
spec:
  ingressClassName: nginx
  rules:
    - host: bench.example
      http:
        paths: [{path: /, pathType: Prefix, backend: {service: {name: echo, port: {number: 80}}}}]
"""


def wrk(netns: str, url: str, seconds: int, host: str | None) -> tuple[float, str]:
    argv = ["ip", "netns", "exec", netns, "wrk", "-t1", "-c8", f"-d{seconds}s", "--latency"]
    if host:
        argv += ["-H", f"Host: {host}"]
    out = subprocess.run([*argv, url], check=True, capture_output=True, text=True, timeout=seconds + 30).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50 = re.search(r"50%\s+(\S+)", out).group(1)
    return rps, p50


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=5)
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench/ingress.py needs root")
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed (sudo scripts/provision.sh installs it)")
    tag = f"i{os.getpid() % 100000}"
    host = f"nlbench-{tag}"
    cli = ["nsenter", f"--net=/run/netns/{host}", sys.executable, "-m", "netlab.cli", "--cluster", tag]
    tmp = Path(tempfile.mkdtemp())
    subprocess.run(["ip", "netns", "add", host], check=True)
    subprocess.run(["ip", "-n", host, "link", "set", "lo", "up"], check=True)  # the API listens on 127.0.0.1
    try:
        (tmp / "lab.yaml").write_text(LAB.replace("TAG", tag))
        subprocess.run([*cli, "up", str(tmp / "lab.yaml")], check=True, capture_output=True)

        def cluster_ip(name: str, ns: str) -> str:
            out = subprocess.run([*cli, "get", "svc", name, "-n", ns, "-o", "json"], check=True, capture_output=True,
                                 text=True).stdout
            return json.loads(out)["spec"]["clusterIP"]

        direct = wrk(f"{tag}-load", f"http://{cluster_ip('echo', 'default')}/", args.seconds, None)
        ingress = wrk(f"{tag}-load", f"http://{cluster_ip('ingress-nginx-controller', 'ingress-nginx')}/",
                      args.seconds, "bench.example")
        print(f"wrk, 1 thread, 8 connections, {args.seconds} s each, from a pod on a worker:")
        print(f"  Service ClusterIP directly: {direct[0]:9.0f} req/s, median latency {direct[1]}")
        print(f"  through the ingress:        {ingress[0]:9.0f} req/s, median latency {ingress[1]}")
        print(f"  ratio ingress/direct: {ingress[0] / direct[0]:.2f}")
    finally:
        subprocess.run([*cli, "down"], capture_output=True)
        subprocess.run(["ip", "netns", "delete", host], capture_output=True)
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
