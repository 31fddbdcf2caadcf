#!/usr/bin/env python3
"""What `netlab observe` costs the data path, side by side in one run, and how many events it keeps up with.

A real cluster (client pod on one worker, echo + iperf3 server on the other, a ClusterIP in front);
rounds alternate without and with an observer attached (`netlab observe --pod <client> -o json`):
1. TCP connection rate to the ClusterIP (connect, then close with RST, for SECONDS per round);
2. iperf3 throughput through the ClusterIP (SECONDS per round);
3. with the observer: the FORWARDED events it printed for the connections made, per second, and the
   connections it missed (made but not shown) and the batches the kernel reported lost.
Ratios are observed / not observed; "not observed" is measured before the first observer and again
after the last one left (the ruleset is back to the same state). Everything is removed at the end,
also on failure. Usage: sudo python3 bench/observe.py [--rounds N] [--seconds S]
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

CONNECT = r"""
import socket, struct, sys, time
ip, port, secs = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
n, end = 0, time.monotonic() + secs
while time.monotonic() < end:
    s = socket.create_connection((ip, port), timeout=2)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # RST: no TIME_WAIT
    s.close()
    n += 1
print(n)
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
  selector: {app: server}
  ports: [{name: http, port: 80, targetPort: 3000}, {name: iperf, port: 5201}]
"""


class Observer:
    """`netlab observe` in the background, its JSON lines counted."""

    def __init__(self, cli: list[str], pod: str) -> None:
        self.proc = subprocess.Popen([*cli, "observe", "--pod", pod, "-o", "json",
                                      "--timeout", "600"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.lines = 0
        self.kinds: collections.Counter = collections.Counter()
        self.reader = threading.Thread(target=self._read, daemon=True)
        if "observing" not in self.proc.stderr.readline():
            raise SystemExit(f"observe did not start: {self.proc.stderr.read()}")
        self.reader.start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            ev = json.loads(line)
            self.kinds[(ev["verdict"], ev.get("service_address", ""))] += 1
            if ev["verdict"] == "FORWARDED" and ev.get("service_address", "").endswith(":80"):
                self.lines += 1

    def cpu_seconds(self) -> float:
        """The observer's CPU time so far (nsenter execs it: same pid)."""
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> str:
        self.proc.send_signal(2)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.reader.join(timeout=5)
        return self.proc.stderr.read()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=2.0)
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench/observe.py needs root")
    tag = f"o{os.getpid() % 100000}"
    host = f"nlbench-{tag}"
    subprocess.run(["ip", "netns", "add", host], check=True)
    subprocess.run(["ip", "-n", host, "link", "set", "lo", "up"], check=True)
    cli = ["nsenter", f"--net=/run/netns/{host}", sys.executable, "-m", "netlab.cli", "--cluster", tag]
    tmp = Path(tempfile.mkdtemp())
    try:
        (tmp / "cluster.yaml").write_text(CLUSTER.replace("TAG", tag))
        subprocess.run([*cli, "up", str(tmp / "cluster.yaml")], check=True, capture_output=True)
        cip = json.loads(subprocess.run([*cli, "get", "svc", "target", "-o", "json"], check=True,
                                        capture_output=True, text=True).stdout)["spec"]["clusterIP"]
        client = ["ip", "netns", "exec", f"{tag}-client"]

        def rate() -> tuple[float, int]:
            n = int(subprocess.run([*client, sys.executable, "-c", CONNECT, cip, "80", str(args.seconds)],
                                   check=True, capture_output=True, text=True, timeout=60).stdout)
            return n / args.seconds, n

        def iperf() -> float:
            out = subprocess.run([*client, "iperf3", "-c", cip, "-p", "5201", "-t", str(args.seconds), "-J"],
                                 check=True, capture_output=True, text=True, timeout=60).stdout
            return json.loads(out)["end"]["sum_received"]["bits_per_second"] / 1e9

        results: dict[str, dict[str, list[float]]] = {k: {"rate": [], "gbit": []} for k in ("off", "on", "after")}
        shown, made, lost_notes, cpu_ms = [], [], [], []
        has_iperf = shutil.which("iperf3") is not None
        for _ in range(args.rounds):
            results["off"]["rate"].append(rate()[0])
            if has_iperf:
                results["off"]["gbit"].append(iperf())
            obs = Observer(cli, f"{tag}-client")
            try:
                cpu0 = obs.cpu_seconds()
                r, n = rate()
                cpu_ms.append((obs.cpu_seconds() - cpu0) * 1000 / max(n, 1))
                results["on"]["rate"].append(r)
                if has_iperf:
                    results["on"]["gbit"].append(iperf())
                time.sleep(1.5)  # the last events reach the reader
            finally:
                err = obs.stop()
            shown.append(obs.lines / args.seconds)
            made.append(n - obs.lines)
            lost_notes += [line for line in err.splitlines() if "lost" in line]
            print("events by verdict and service address:", dict(obs.kinds), file=sys.stderr)
        for _ in range(args.rounds):
            results["after"]["rate"].append(rate()[0])
            if has_iperf:
                results["after"]["gbit"].append(iperf())

        def span(xs: list[float], fmt: str = "{:.0f}") -> str:
            return f"{fmt.format(min(xs))}-{fmt.format(max(xs))} (median {fmt.format(statistics.median(xs))})"

        off, on, after = (results[k]["rate"] for k in ("off", "on", "after"))
        print(f"TCP connections/s to the ClusterIP: not observed {span(off)}, observed {span(on)}, "
              f"after the observer left {span(after)}")
        print(f"  ratio observed/not observed {statistics.median(on) / statistics.median(off):.2f} (target >= 0.8),"
              f" after/before {statistics.median(after) / statistics.median(off):.2f} (target 1.0 within noise)")
        if has_iperf:
            goff, gon, gafter = (results[k]["gbit"] for k in ("off", "on", "after"))
            print(f"iperf3 through the ClusterIP: not observed {span(goff, '{:.2f}')} Gbit/s, observed "
                  f"{span(gon, '{:.2f}')}, after {span(gafter, '{:.2f}')}; ratio "
                  f"{statistics.median(gon) / statistics.median(goff):.2f}")
        print(f"flow events shown per second (one per connection): {span(shown)}; connections not shown per round: "
              f"{made}; NFLOG/conntrack overflows reported: {len(lost_notes)}")
        print(f"observer CPU per connection during the connection rounds: {span(cpu_ms, '{:.2f}')} ms")
    finally:
        subprocess.run([*cli, "down"], capture_output=True)
        subprocess.run(["ip", "netns", "delete", host], capture_output=True)
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
