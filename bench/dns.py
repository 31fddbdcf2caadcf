#!/usr/bin/env python3
"""Queries per second of netlab's DNS server against dnsmasq serving the same 1,000 names, in one run.

Both servers listen on 127.0.0.1 and are pinned to one core (`taskset -c 0`); dnsperf runs on another
core when there is one. Each is measured for `--seconds` (default 10) with the same query file.
Needs `dnsperf` and `dnsmasq` (Debian: apt-get install -y dnsperf dnsmasq-base); no root needed
unless dnsmasq wants it. Usage: python3 bench/dns.py [--seconds 10] [--names 1000]
Prints both rates and the ratio (target: netlab >= 0.2 x dnsmasq).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = 0.2


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def names(count: int) -> list[tuple[str, str]]:
    return [(f"svc-{i}.default.svc.cluster.local", f"10.96.{i // 250 + 1}.{i % 250 + 1}") for i in range(count)]


def wait_answer(port: int, name: str, timeout: float = 10.0) -> None:
    """Wait until the server answers `name` with an address (a hand-built query; no dnslib needed)."""
    query = b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00"
    query += b"".join(bytes([len(x)]) + x.encode() for x in name.split(".")) + b"\x00\x00\x01\x00\x01"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(0.2)
            try:
                s.sendto(query, ("127.0.0.1", port))
                reply = s.recv(4096)
                if reply[:2] == query[:2] and reply[3] & 0x0F == 0 and reply[6:8] != b"\x00\x00":
                    return
            except OSError:
                pass
        time.sleep(0.1)
    raise RuntimeError(f"server on port {port} did not answer {name}")


def dnsperf(port: int, query_file: Path, seconds: int, cpus: int) -> tuple[float, str]:
    argv = ["dnsperf", "-s", "127.0.0.1", "-p", str(port), "-d", str(query_file), "-l", str(seconds),
            "-c", "4", "-q", "200", "-T", "1"]
    if cpus > 1:
        argv = ["taskset", "-c", "1", *argv]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 30)
    text = out.stdout + out.stderr
    m = re.search(r"Queries per second:\s+([\d.]+)", text)
    if not m:
        raise RuntimeError(f"dnsperf failed:\n{text}")
    lost = re.search(r"Queries lost:\s+(\d+)", text)
    return float(m.group(1)), f"lost {lost.group(1) if lost else '?'}"


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(5)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--names", type=int, default=1000)
    args = parser.parse_args()

    missing = [tool for tool in ("dnsperf", "dnsmasq", "taskset") if shutil.which(tool) is None]
    if missing:
        print(f"bench/dns.py: missing {', '.join(missing)}; install with: apt-get install -y dnsperf dnsmasq-base",
              file=sys.stderr)
        return 2
    cpus = len(os.sched_getaffinity(0))
    entries = names(args.names)
    procs: list[subprocess.Popen] = []
    with tempfile.TemporaryDirectory(prefix="netlab-dns-bench-") as tmp:
        work = Path(tmp)
        work.chmod(0o755)   # dnsmasq may drop privileges before reading its hosts file
        view = {"domain": "cluster.local", "ttl": 30, "dnsVersion": "1.1.0", "upstreams": [],
                "services": [{"name": n.split(".")[0], "namespace": "default", "type": "ClusterIP", "clusterIPs": [ip],
                              "headless": False, "ports": [{"name": "http", "port": 80, "protocol": "TCP"}],
                              "endpoints": []} for n, ip in entries],
                "pods": [], "namespaces": ["default", "kube-system"]}
        (work / "view.json").write_text(json.dumps(view))
        hosts = work / "hosts"
        hosts.write_text("".join(f"{ip} {n}\n" for n, ip in entries))
        hosts.chmod(0o644)
        queries = work / "queries.txt"
        queries.write_text("".join(f"{n} A\n" for n, _ in entries))

        results = {}
        try:
            port = free_port()
            netlab = subprocess.Popen(
                ["taskset", "-c", "0", sys.executable, "-m", "netlab.runtime.dns", "--view", str(work / "view.json"),
                 "--listen", "127.0.0.1", "--port", str(port)],
                cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            procs.append(netlab)
            wait_answer(port, entries[-1][0])
            results["netlab"] = dnsperf(port, queries, args.seconds, cpus)
            stop(netlab)

            port = free_port()
            dnsmasq = subprocess.Popen(
                ["taskset", "-c", "0", "dnsmasq", "--no-daemon", "--no-resolv", "--no-hosts", f"--addn-hosts={hosts}",
                 "-p", str(port), "--listen-address=127.0.0.1", "--bind-interfaces",
                 f"--pid-file={work / 'dnsmasq.pid'}", "--log-facility=-"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            procs.append(dnsmasq)
            wait_answer(port, entries[-1][0])
            results["dnsmasq"] = dnsperf(port, queries, args.seconds, cpus)
            stop(dnsmasq)
        finally:
            for proc in procs:
                stop(proc)

    for name, (qps, note) in results.items():
        print(f"{name:8s} {qps:12,.0f} queries/s  ({note}, {args.names} names, {args.seconds} s, 1 core)")
    ratio = results["netlab"][0] / results["dnsmasq"][0]
    print(f"ratio    {ratio:12.2f}  (netlab / dnsmasq; target >= {TARGET})")
    return 0 if ratio >= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
