#!/usr/bin/env python3
"""Memory of N echo pods (total PSS of their processes) and the controller (RSS, idle CPU), and the time
`up` takes to make them Ready, against a
baseline: the same measurement with another netlab source tree (e.g. the main branch) in the same run.

Each round runs `netlab up` of one Deployment inside a fresh network namespace acting as the host,
waits for Ready, lets it settle, measures, and runs `down` (also on failure).
Usage: sudo python3 bench/memory.py --baseline-src /path/to/other/netlab [--pods 100] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MANIFEST = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: mem}
spec:
  replicas: PODS
  selector: {matchLabels: {app: mem}}
  template:
    metadata: {labels: {app: mem}}
    spec:
      tolerations: [{key: node-role.kubernetes.io/control-plane, operator: Exists}]
      containers: [{name: echo, image: echo, ports: [{containerPort: 8080}]}]
"""


def _kb(path: str, field: str) -> int:
    for line in Path(path).read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def _cpu_ticks(pid: int) -> int:
    rest = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(rest[11]) + int(rest[12])  # utime + stime


def measure(src: Path, pods: int, settle: float) -> dict[str, float]:
    cluster = "mem" + secrets.token_hex(3)
    host = f"nlb-host-{cluster}"
    env = {**os.environ, "PYTHONPATH": str(src)}
    subprocess.run(["ip", "netns", "add", host], check=True)

    def netlab(*args: str) -> None:
        subprocess.run(["nsenter", f"--net=/run/netns/{host}", sys.executable, "-m", "netlab.cli", "--cluster",
                        cluster, *args], check=True, capture_output=True, text=True, env=env, timeout=300)

    try:
        with tempfile.NamedTemporaryFile("w", suffix=".yaml") as f:
            f.write(MANIFEST.replace("PODS", str(pods)))
            f.flush()
            start = time.monotonic()
            netlab("up", f.name)
            up = time.monotonic() - start
        time.sleep(settle)
        run = Path(f"/run/netlab/{cluster}")
        pids = [json.loads(p.read_text())["pid"] for p in run.glob("pods/default_mem-*/echo.pid")]
        assert len(pids) == pods, f"{len(pids)} of {pods} pods have a pid"
        pss = sum(_kb(f"/proc/{pid}/smaps_rollup", "Pss") for pid in pids)
        ctl = int((run / "controller.pid").read_text())
        before, t0 = _cpu_ticks(ctl), time.monotonic()
        time.sleep(5)
        cpu = (_cpu_ticks(ctl) - before) / os.sysconf("SC_CLK_TCK") / (time.monotonic() - t0)
        rss = _kb(f"/proc/{ctl}/status", "VmRSS")
        return {"up_s": up, "pss_mb": pss / 1024, "ctl_rss_mb": rss / 1024, "ctl_cpu": cpu}
    finally:
        try:
            netlab("down")
        finally:
            subprocess.run(["ip", "netns", "delete", host], capture_output=True)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--baseline-src", type=Path, required=True, help="another netlab source tree")
    parser.add_argument("--pods", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--settle", type=float, default=3.0)
    args = parser.parse_args()
    rows: dict[str, list[dict[str, float]]] = {"baseline": [], "this": []}
    for _ in range(args.rounds):
        rows["baseline"].append(measure(args.baseline_src, args.pods, args.settle))
        rows["this"].append(measure(REPO, args.pods, args.settle))
    for key, unit in (("up_s", "s"), ("pss_mb", "MB"), ("ctl_rss_mb", "MB"), ("ctl_cpu", "cores")):
        base = [r[key] for r in rows["baseline"]]
        this = [r[key] for r in rows["this"]]
        print(f"{key}: this {min(this):.2f}-{max(this):.2f} {unit}, baseline {min(base):.2f}-{max(base):.2f} "
              f"{unit}, ratio {min(this) / max(base):.2f}-{max(this) / max(min(base), 1e-9):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
