#!/usr/bin/env python3
"""NetworkPolicy cost: apply 100 policies over 300 pods, one label change, TCP connect time with/without.

Prints (1) the wall time of `netlab apply -f` for 100 policies over 300 pods and the controller's commit
time for it (from the "commit: ..." lines of /run/netlab/<cluster>/controller.log), (2) how long one
label change takes to show in the kernel (apply a relabelled pod, poll a probe until it flips), and
(3) the median TCP connect time between two pods on different workers, measured by a small python
client inside the client pod's netns, before and after the 100 policies exist (ratio, target <= 1.2).

Everything runs inside a fresh network namespace acting as the host, under a unique cluster name, and
is removed afterwards, also on failure. Usage: sudo python3 bench/netpol.py [--pods 300] [--policies 100]
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

GROUPS = 10
PORT = 8080
CONNECTS = 200
ROUNDS = 3

CONNECT_CLIENT = """
import socket, sys, time
ip, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
out = []
for _ in range(n):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(2)
    t0 = time.perf_counter()
    s.connect((ip, port))
    out.append(time.perf_counter() - t0)
    s.close()
print(" ".join(f"{t:.7f}" for t in out))
"""


class Bench:
    def __init__(self, host: str, cluster: str, workdir: Path) -> None:
        self.host, self.cluster, self.workdir = host, cluster, workdir

    def netlab(self, *args: str, timeout: float = 600) -> float:
        start = time.perf_counter()
        proc = subprocess.run(["nsenter", f"--net=/run/netns/{self.host}", sys.executable, "-m", "netlab.cli",
                               "--cluster", self.cluster, *args], capture_output=True, text=True, timeout=timeout)
        if proc.returncode != 0:
            raise SystemExit(f"netlab {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
        return time.perf_counter() - start

    def write(self, name: str, docs: list[dict]) -> Path:
        path = self.workdir / name
        path.write_text(yaml.safe_dump_all(docs, sort_keys=False))
        return path

    def pod_ip(self, name: str) -> str:
        out = subprocess.run(["nsenter", f"--net=/run/netns/{self.host}", sys.executable, "-m", "netlab.cli",
                              "--cluster", self.cluster, "get", "pod", name, "-o", "json"],
                             capture_output=True, text=True, timeout=60, check=True).stdout
        return yaml.safe_load(out)["status"]["podIP"]

    def log_size(self) -> int:
        try:
            return os.path.getsize(self.log_path)
        except OSError:
            return 0

    @property
    def log_path(self) -> str:
        return f"/run/netlab/{self.cluster}/controller.log"

    def commits_since(self, offset: int) -> list[float]:
        """Seconds (kernel + containers, which includes the dataplane sync) of each commit logged since offset."""
        with open(self.log_path, "rb") as f:
            f.seek(offset)
            text = f.read().decode(errors="replace")
        return [float(k) + float(c) for k, c in
                re.findall(r"commit: .*?kernel ([0-9.]+)s, containers ([0-9.]+)s", text)]


def pod(cluster: str, name: str, node: str, labels: dict, serve: bool) -> dict:
    container: dict = {"name": "c", "image": "echo" if serve else "busybox"}
    if serve:
        container["ports"] = [{"name": "http", "containerPort": PORT}]
    else:
        container["command"] = ["sleep", "86400"]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": f"{cluster}-{name}", "labels": labels},
            "spec": {"nodeName": f"{cluster}-{node}", "containers": [container]}}


def manifest(cluster: str, pods: int) -> tuple[list[dict], dict]:
    docs: list[dict] = [{"kind": "Cluster", "apiVersion": "netlab.dev/v1alpha1",
                         "nodes": [{"role": "control-plane"}, {"role": "worker"}, {"role": "worker"}]}]
    prober = pod(cluster, "prober", "worker", {"role": "prober"}, serve=False)
    docs += [pod(cluster, "client", "worker", {"grp": "g1", "role": "client"}, serve=False),
             pod(cluster, "server", "worker2", {"grp": "g0", "role": "server"}, serve=True),
             pod(cluster, "target", "worker2", {"role": "target"}, serve=True), prober]
    for i in range(pods - 4):
        docs.append(pod(cluster, f"p{i}", "worker" if i % 2 else "worker2",
                        {"grp": f"g{i % GROUPS}", "idx": str(i)}, serve=False))
    return docs, prober


def policies(count: int) -> list[dict]:
    """Policy i selects group i%10; ingress from the next group, egress to the previous one; ports PORT and
    a per-policy port. The client (g1) -> server (g0) connection stays allowed, through both sides' chains."""
    out = []
    for i in range(count):
        g = i % GROUPS
        ports = [{"port": PORT, "protocol": "TCP"}, {"port": 9000 + i, "endPort": 9010 + i, "protocol": "TCP"}]
        spec: dict = {"podSelector": {"matchLabels": {"grp": f"g{g}"}},
                      "ingress": [{"from": [{"podSelector": {"matchLabels": {"grp": f"g{(g + 1) % GROUPS}"}}},
                                            {"ipBlock": {"cidr": "10.0.0.0/8", "except": [f"10.{i}.0.0/16"]}}],
                                   "ports": ports}]}
        if i % 2:
            spec["policyTypes"] = ["Ingress", "Egress"]
            spec["egress"] = [{"to": [{"podSelector": {"matchLabels": {"grp": f"g{(g - 1) % GROUPS}"}}}],
                               "ports": ports}, {"ports": [{"port": 53, "protocol": "UDP"}]}]
        out.append({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                    "metadata": {"name": f"bench-{i:03d}"}, "spec": spec})
    # who may reach the `target` pod: pods labelled access=yes (the label change flips the prober)
    out.append({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "target"},
                "spec": {"podSelector": {"matchLabels": {"role": "target"}},
                         "ingress": [{"from": [{"podSelector": {"matchLabels": {"access": "yes"}}}]}]}})
    return out


def connect_times(cluster: str, ip: str) -> list[float]:
    times: list[float] = []
    for _ in range(ROUNDS):
        proc = subprocess.run(["ip", "netns", "exec", f"{cluster}-client", sys.executable, "-c", CONNECT_CLIENT,
                               ip, str(PORT), str(CONNECTS)], capture_output=True, text=True, timeout=120)
        if proc.returncode != 0:
            raise SystemExit(f"connect client failed: {proc.stderr}")
        times += [float(t) for t in proc.stdout.split()]
    return times


def reaches(netns: str, ip: str, timeout: float = 0.2) -> bool:
    return subprocess.run(["ip", "netns", "exec", netns, "curl", "-s", "-o", "/dev/null",
                           "--max-time", str(timeout), f"http://{ip}:{PORT}/"], capture_output=True).returncode == 0


def wait(predicate, timeout: float, what: str) -> float:
    start = time.perf_counter()
    while not predicate():
        if time.perf_counter() - start > timeout:
            raise SystemExit(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.01)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pods", type=int, default=300)
    parser.add_argument("--policies", type=int, default=100)
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench/netpol.py needs root (network namespaces and nftables): sudo python3 bench/netpol.py")
    cluster = "bnp" + secrets.token_hex(3)
    host = f"nlbench-{cluster}"
    subprocess.run(["ip", "netns", "add", host], check=True)
    subprocess.run(["ip", "-n", host, "link", "set", "lo", "up"], check=True)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            b = Bench(host, cluster, Path(tmp))
            docs, prober = manifest(cluster, args.pods)
            up_s = b.netlab("up", str(b.write("pods.yaml", docs)), "--timeout", "600")
            server_ip, target_ip = b.pod_ip(f"{cluster}-server"), b.pod_ip(f"{cluster}-target")
            wait(lambda: reaches(f"{cluster}-client", server_ip), 10, "the server pod")
            before = connect_times(cluster, server_ip)

            offset = b.log_size()
            apply_s = b.netlab("apply", "-f", str(b.write("policies.yaml", policies(args.policies))))
            commits = b.commits_since(offset)
            wait(lambda: not reaches(f"{cluster}-prober", target_ip), 5, "the target policy to deny the prober")
            after = connect_times(cluster, server_ip)

            relabelled = {**prober, "metadata": {**prober["metadata"],
                                                 "labels": {**prober["metadata"]["labels"], "access": "yes"}}}
            path = b.write("relabel.yaml", [relabelled])
            start = time.perf_counter()
            relabel_apply_s = b.netlab("apply", "-f", str(path))
            flip_after_apply = wait(lambda: reaches(f"{cluster}-prober", target_ip), 5,
                                    "the label change to take effect")
            label_s = time.perf_counter() - start
    finally:
        subprocess.run(["nsenter", f"--net=/run/netns/{host}", sys.executable, "-m", "netlab.cli", "--cluster",
                        cluster, "down"], capture_output=True, timeout=300)
        subprocess.run(["ip", "netns", "del", host], capture_output=True)

    med_before, med_after = statistics.median(before), statistics.median(after)
    print(f"{args.pods} pods on 2 workers (+ control plane), {args.policies} policies (+1), cluster up in {up_s:.1f} s")
    print(f"apply {args.policies} policies:  netlab apply -f {apply_s:6.3f} s   controller commit "
          f"{sum(commits):6.3f} s ({len(commits)} commit{'s' if len(commits) != 1 else ''}: "
          f"{', '.join(f'{c:.3f}' for c in commits)})")
    print(f"one label change:      effective {label_s:6.3f} s after apply started "
          f"(apply -f {relabel_apply_s:.3f} s, then {flip_after_apply:.3f} s until the probe flipped)")
    print(f"TCP connect, median of {len(before)}:  without policies {med_before * 1e6:7.1f} us   "
          f"with {args.policies} policies {med_after * 1e6:7.1f} us   ratio {med_after / med_before:4.2f}"
          f" (target <= 1.2)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
