#!/usr/bin/env python3
"""Time `netlab up`/`down` of N echo pods on 3 nodes against an `ip -batch` baseline, in one run.

The baseline creates the same namespaces, veths, bridge ports, addresses and routes with `ip -batch`
files (no containers). Everything runs inside a fresh network namespace acting as the host, and is
removed afterwards, also on failure. Usage: sudo python3 bench/up.py [--pods 200] [--dual [--family ipv6]]

--dual also times `up` of the same pods in a dual-stack cluster (kind's `ipFamily: dual`) and prints it
next to an IPv4-only `up` run just before or after it, with the extra cost per pod (target < 25%);
--repeat N runs N such pairs and prints the range and median; --family ipv6 compares an IPv6-only
cluster (`ipFamily: ipv6`) instead of a dual-stack one.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

NODES = 3


def sh(*argv: str, input: str | None = None) -> None:
    proc = subprocess.run(argv, input=input, text=True, capture_output=True)
    if proc.returncode != 0:
        sys.exit(f"{' '.join(argv[:8])} ... failed ({proc.returncode}):\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}")


def baseline_up(host: str, prefix: str, pods: int) -> float:
    nodes = [f"{prefix}-n{i}" for i in range(NODES)]
    pod_names = [f"{prefix}-p{i}" for i in range(pods)]
    start = time.perf_counter()
    host_lines = [f"netns add {n}" for n in nodes + pod_names]
    host_lines += ["link add bb0 type bridge", "addr add 172.31.0.1/16 dev bb0", "link set bb0 up"]
    for i, n in enumerate(nodes):
        host_lines += [f"link add bu{i} type veth peer name eth0 netns {n}", f"link set bu{i} master bb0 up",
                       f"route add 10.250.{i}.0/24 via 172.31.0.{i + 2}"]
    sh("nsenter", f"--net=/run/netns/{host}", "ip", "-batch", "-", input="\n".join(host_lines) + "\n")
    for i, n in enumerate(nodes):
        lines = ["link set lo up", f"addr add 172.31.0.{i + 2}/16 dev eth0", "link set eth0 up",
                 "link add cni0 type bridge", f"addr add 10.250.{i}.1/24 dev cni0", "link set cni0 up"]
        for j, p in enumerate(pod_names):
            if j % NODES == i:
                lines += [f"link add bv{j} type veth peer name eth0 netns {p}", f"link set bv{j} master cni0 up"]
        sh("ip", "-n", n, "-batch", "-", input="\n".join(lines) + "\n")
    for j, p in enumerate(pod_names):
        i = j % NODES
        lines = ["link set lo up", f"addr add 10.250.{i}.{j // NODES + 2}/24 dev eth0", "link set eth0 up",
                 f"route add default via 10.250.{i}.1"]
        sh("ip", "-n", p, "-batch", "-", input="\n".join(lines) + "\n")
    return time.perf_counter() - start


def baseline_down(prefix: str) -> float:
    start = time.perf_counter()
    names = [n for n in os.listdir("/run/netns") if n.startswith(prefix + "-")]
    subprocess.run(["ip", "-force", "-batch", "-"], input="".join(f"netns del {n}\n" for n in names), text=True)
    return time.perf_counter() - start


MANIFEST = """
kind: Cluster
apiVersion: netlab.dev/v1alpha1
networking: {ipFamily: FAMILY}
nodes: [{role: control-plane}, {role: worker}, {role: worker}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: bench}
spec:
  replicas: PODS
  selector: {matchLabels: {app: bench}}
  template:
    metadata: {labels: {app: bench}}
    spec:
      tolerations: [{key: node-role.kubernetes.io/control-plane, operator: Exists}]
      containers: [{name: echo, image: echo, ports: [{containerPort: 8080}]}]
"""


def netlab(host: str, cluster: str, *args: str) -> float:
    start = time.perf_counter()
    sh("nsenter", f"--net=/run/netns/{host}", sys.executable, "-m", "netlab.cli", "--cluster", cluster, *args)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pods", type=int, default=200)
    parser.add_argument("--dual", action="store_true", help="also time a dual-stack cluster's up")
    parser.add_argument("--repeat", type=int, default=1, help="with --dual: pairs of ups, order alternating")
    parser.add_argument("--family", choices=("dual", "ipv6"), default="dual",
                        help="with --dual: the ipFamily compared with IPv4 (ipv6: an IPv6-only cluster)")
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench/up.py needs root")
    tag = f"b{os.getpid() % 100000}"
    host = f"nlbench-{tag}"
    sh("ip", "netns", "add", host)
    sh("ip", "-n", host, "link", "set", "lo", "up")   # the API listens on 127.0.0.1 (up checks lo first)
    pairs: list[tuple[float, float]] = []
    try:
        base_up = baseline_up(host, tag, args.pods)
        base_down = baseline_down(tag)
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "bench.yaml"
            path.write_text(MANIFEST.replace("PODS", str(args.pods)).replace("FAMILY", "ipv4"))
            lab_up = netlab(host, tag, "up", str(path), "--timeout", "300")
            lab_down = netlab(host, tag, "down")
            for i in range(max(1, args.repeat) if args.dual else 0):
                pairs.append(_dual_pair(host, tag, path, args.pods, dual_first=i % 2 == 1, family=args.family))
    finally:
        baseline_down(tag)
        subprocess.run(["nsenter", f"--net=/run/netns/{host}", sys.executable, "-m", "netlab.cli", "--cluster",
                        tag, "down"], capture_output=True)
        subprocess.run(["ip", "netns", "del", host], capture_output=True)
    print(f"{args.pods} pods on {NODES} nodes")
    print(f"up:   baseline (ip -batch, no containers) {base_up:6.2f} s   netlab up (until Running) {lab_up:6.2f} s"
          f"   ratio {lab_up / base_up:4.2f} (target <= 2)")
    print(f"down: baseline (ip -batch netns del)      {base_down:6.2f} s   netlab down {lab_down:6.2f} s"
          f"   (target < 0.5 s)")
    for v4_up, dual_up in pairs:
        print(f"{args.family}: IPv4 only up {v4_up:6.2f} s   {args.family} up {dual_up:6.2f} s   extra per pod "
              f"{1000 * (dual_up - v4_up) / args.pods:+6.1f} ms ({(dual_up - v4_up) / v4_up:+.0%})")
    if pairs:
        extras = sorted((d - v) / v for v, d in pairs)
        print(f"{args.family}: extra cost over {len(pairs)} pairs: {extras[0]:+.0%} to {extras[-1]:+.0%}, median "
              f"{statistics.median(extras):+.0%} (target < +25%)")
    return 0


def _dual_pair(host: str, tag: str, path: Path, pods: int, dual_first: bool,
               family: str = "dual") -> tuple[float, float]:
    """(IPv4-only up, `family` up) of the same pods, one after the other (the order alternates, so a
    load change on the machine does not always favour the same family)."""
    times = {}
    for fam in (family, "ipv4") if dual_first else ("ipv4", family):
        path.write_text(MANIFEST.replace("PODS", str(pods)).replace("FAMILY", fam))
        times[fam] = netlab(host, tag, "up", str(path), "--timeout", "300")
        netlab(host, tag, "down")
    return times["ipv4"], times[family]


if __name__ == "__main__":
    raise SystemExit(main())
