#!/usr/bin/env python3
"""Service data-path figures, each next to a baseline measured in the same run.

1. nftables: render and load N ClusterIP services in one transaction (N = 1,000 and 10,000) in a
   throwaway namespace, against `nft -f` of the same table in nft's own listing format (baseline);
   then one service changed while 10,000 exist (a diff transaction).
2. A real cluster: median TCP connect time from a pod to a ClusterIP with 10 and with 10,000
   services present (ratio), and the wall time of `netlab apply` for the 9,990 extra services.
3. Bulk TCP throughput with iperf3 through a ClusterIP against the pod IP directly (ratio), and
   through a NodePort from the host.

Everything runs in namespaces this script creates (a dedicated one acts as the host) and is removed
at the end, also on failure. Usage: sudo python3 bench/services.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from netlab.compile.nft_services import services_ruleset
from netlab.compile.nftables import render_diff, render_full
from netlab.compile.services import Endpoint, ResolvedService, ServicePortView


def fake_services(n: int, tweak: int | None = None) -> list[ResolvedService]:
    out = []
    for i in range(n):
        ip = f"10.244.{1 + i % 2}.{2 + i % 200}"
        target = 3000 if i != tweak else 3001
        port = ServicePortView("http", "TCP", 80, None, {ip: target})
        out.append(ResolvedService("bench", f"svc-{i}", "ClusterIP", f"10.96.{i // 250}.{i % 250 + 2}", None,
                                   (port,), (Endpoint(ip, f"pod-{i}", "n1", True),)))
    return out


def nft_in(netns: str, text: str, *args: str) -> float:
    start = time.perf_counter()
    subprocess.run(["ip", "netns", "exec", netns, "nft", *args, "-f", "-"], input=text, text=True, check=True,
                   capture_output=True)
    return time.perf_counter() - start


def bench_rules(tag: str) -> None:
    ns = f"nlbench-nft-{tag}"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        for n in (1_000, 10_000):
            start = time.perf_counter()
            rs = services_ruleset("n1", ["172.18.0.2"], "10.244.0.0/16", fake_services(n))
            text = render_full(rs)
            render = time.perf_counter() - start
            load = nft_in(ns, text)
            listing = subprocess.run(["ip", "netns", "exec", ns, "nft", "list", "table", "inet", "netlab"],
                                     capture_output=True, text=True, check=True).stdout
            subprocess.run(["ip", "netns", "exec", ns, "nft", "delete", "table", "inet", "netlab"], check=True)
            baseline = nft_in(ns, listing)
            print(f"{n:6d} services: render {render:.3f} s + nft -f {load:.3f} s = {render + load:.3f} s;"
                  f" baseline nft -f of the listed table {baseline:.3f} s"
                  f"{'  (target: under 0.5 s)' if n == 10_000 else ''}")
        changed = services_ruleset("n1", ["172.18.0.2"], "10.244.0.0/16", fake_services(10_000, tweak=5_000))
        start = time.perf_counter()
        diff = render_diff(rs, changed)
        render = time.perf_counter() - start
        load = nft_in(ns, diff)
        print(f"one service changed among 10,000: diff {len(diff.splitlines())} lines, render {render * 1000:.1f} ms"
              f" + nft -f {load * 1000:.1f} ms = {(render + load) * 1000:.1f} ms (target: under 25 ms)")
    finally:
        subprocess.run(["ip", "netns", "delete", ns], capture_output=True)


CONNECT = """
import socket, statistics, sys, time
ip, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
times = []
for _ in range(n):
    s = socket.socket()
    s.settimeout(2)
    t = time.perf_counter()
    s.connect((ip, port))
    times.append(time.perf_counter() - t)
    s.close()
print(statistics.median(times) * 1e6)
"""

CLUSTER = """
kind: Cluster
apiVersion: netlab.dev/v1alpha1
dns: {replicas: 1}
---
apiVersion: v1
kind: Pod
metadata: {name: TAG-server, labels: {app: server}}
spec:
  nodeName: TAG-worker2
  containers:
    - {name: echo, image: echo, ports: [{containerPort: 3000}]}
    - {name: iperf, image: iperf3, command: [iperf3, -s, -p, "5201"], ports: [{containerPort: 5201}]}
---
apiVersion: v1
kind: Pod
metadata: {name: TAG-client}
spec:
  nodeName: TAG-worker
  containers: [{name: echo, image: echo}]
---
apiVersion: v1
kind: Service
metadata: {name: target}
spec:
  type: NodePort
  selector: {app: server}
  ports: [{name: http, port: 80, targetPort: 3000}, {name: iperf, port: 5201, nodePort: 30201}]
"""


def filler(n: int) -> str:
    docs = [{"apiVersion": "v1", "kind": "Service", "metadata": {"name": f"filler-{i}"},
             "spec": {"selector": {"app": "server"}, "ports": [{"port": 80, "targetPort": 3000}]}} for i in range(n)]
    return "\n---\n".join(json.dumps(d) for d in docs)


def bench_cluster(tag: str, quick: bool) -> None:
    host = f"nlbench-{tag}"
    subprocess.run(["ip", "netns", "add", host], check=True)
    subprocess.run(["ip", "-n", host, "link", "set", "lo", "up"], check=True)
    in_host = ["nsenter", f"--net=/run/netns/{host}"]
    cli = [*in_host, sys.executable, "-m", "netlab.cli", "--cluster", tag]
    tmp = Path(tempfile.mkdtemp())
    try:
        (tmp / "cluster.yaml").write_text(CLUSTER.replace("TAG", tag))
        subprocess.run([*cli, "up", str(tmp / "cluster.yaml")], check=True, capture_output=True)
        svc = json.loads(subprocess.run([*cli, "get", "svc", "target", "-o", "json"], check=True,
                                        capture_output=True, text=True).stdout)
        cip = svc["spec"]["clusterIP"]
        pod_ip = json.loads(subprocess.run([*cli, "get", "pod", f"{tag}-server", "-o", "json"], check=True,
                                           capture_output=True, text=True).stdout)["status"]["podIP"]

        def connect_us() -> float:
            out = subprocess.run(["ip", "netns", "exec", f"{tag}-client", sys.executable, "-c", CONNECT, cip, "80",
                                  "300"], check=True, capture_output=True, text=True).stdout
            return float(out)

        few = connect_us()
        extra = 1_990 if quick else 9_990
        (tmp / "filler.yaml").write_text(filler(extra))
        start = time.perf_counter()
        subprocess.run([*cli, "apply", "-f", str(tmp / "filler.yaml")], check=True, capture_output=True)
        applied = time.perf_counter() - start
        many = connect_us()
        total = extra + 3  # + target, kube-dns
        print(f"netlab apply of {extra} more services: {applied:.2f} s end to end (parse, validate, allocate,"
              " render, one nft transaction per node)")
        print(f"median TCP connect to a ClusterIP: {few:.0f} us with ~10 services, {many:.0f} us with {total}"
              f" services; ratio {many / few:.2f} (target <= 1.1)")
        if shutil.which("iperf3"):
            def iperf(netns: str | None, ip: str, port: int) -> float:
                argv = ["iperf3", "-c", ip, "-p", str(port), "-t", "3", "-J"]
                argv = [*in_host, *argv] if netns is None else ["ip", "netns", "exec", netns, *argv]
                out = subprocess.run(argv, check=True, capture_output=True, text=True, timeout=30).stdout
                return json.loads(out)["end"]["sum_received"]["bits_per_second"] / 1e9

            direct = iperf(f"{tag}-client", pod_ip, 5201)
            via_cip = iperf(f"{tag}-client", cip, 5201)
            node_ip = "172.18.0.3"
            via_np = iperf(None, node_ip, 30201)
            print(f"iperf3: pod IP {direct:.2f} Gbit/s, ClusterIP {via_cip:.2f} Gbit/s (ratio {via_cip / direct:.2f},"
                  f" target >= 0.9), NodePort from the host via another node {via_np:.2f} Gbit/s")
        else:
            print("iperf3 not installed: throughput skipped (sudo scripts/provision.sh installs it)")
    finally:
        subprocess.run([*cli, "down"], capture_output=True)
        subprocess.run(["ip", "netns", "delete", host], capture_output=True)
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2,000 instead of 10,000 services in the cluster part")
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench/services.py needs root")
    tag = f"s{os.getpid() % 100000}"
    bench_rules(tag)
    bench_cluster(tag, args.quick)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
