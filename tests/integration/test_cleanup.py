"""`netlab down` leaves nothing behind: after a clean run, after kill -9 mid-up, without state files."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from conftest import wait_for

DEPLOY = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: CLUSTER-d}
spec:
  replicas: 12
  selector: {matchLabels: {app: d}}
  template:
    metadata: {labels: {app: d}}
    spec:
      containers: [{name: echo, image: echo, ports: [{containerPort: 80}]}]
"""


def snapshot(lab) -> dict:
    return {
        "links": lab.host("ip", "-o", "link", "show").stdout,
        "routes": lab.host("ip", "route", "show", "table", "all").stdout,
        "nft": lab.host("nft", "list", "ruleset").stdout,
        "netns": sorted(os.listdir("/run/netns")),
        "etc_netns": sorted(os.listdir("/etc/netns")) if os.path.isdir("/etc/netns") else [],
    }


def processes_of(cluster: str) -> list[int]:
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                cmd = Path(f"/proc/{entry}/cmdline").read_bytes()
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if f"/run/netlab/{cluster}/".encode() in cmd or f"--cluster\0{cluster}\0".encode() in cmd:
                if stat.rsplit(")", 1)[1].split()[0] != "Z":
                    pids.append(int(entry))
    return pids


def assert_clean(lab, before: dict) -> None:
    after = snapshot(lab)
    for key in ("links", "routes", "nft"):  # the isolated host namespace is ours alone: exactly as before
        assert after[key] == before[key], key
    for key in ("netns", "etc_netns"):  # machine-wide: other labs may come and go, ours must be gone
        assert set(after[key]) - set(before[key]) == set(), key
    assert processes_of(lab.cluster) == []
    assert not Path(f"/run/netlab/{lab.cluster}").exists()
    assert not Path(f"/var/lib/netlab/{lab.cluster}").exists()


def test_down_restores_the_host_exactly(lab):
    before = snapshot(lab)
    path = lab.write("d.yaml", DEPLOY)
    lab.netlab("up", str(path))
    during = snapshot(lab)
    assert during["links"] != before["links"] and len(during["netns"]) >= len(before["netns"]) + 3 + 12
    lab.netlab("down")
    assert_clean(lab, before)
    again = lab.netlab("down")
    assert "nothing left" in again.stdout


def test_down_after_kill_9_in_the_middle_of_up(lab):
    before = snapshot(lab)
    path = lab.write("d.yaml", DEPLOY.replace("12", "40"))
    cli = subprocess.Popen(["nsenter", f"--net=/run/netns/{lab.host_ns}", sys.executable, "-m", "netlab.cli",
                            "--cluster", lab.cluster, "up", str(path)],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        pidfile = Path(f"/run/netlab/{lab.cluster}/controller.pid")
        wait_for(lambda: pidfile.exists() and any(n.startswith(f"{lab.cluster}-d-") for n in os.listdir("/run/netns")),
                 timeout=30, interval=0.005, what="the first pod namespaces")
        os.kill(int(pidfile.read_text()), signal.SIGKILL)
    finally:
        cli.kill()
        cli.wait(timeout=10)
    # up after the crash converges to the full Deployment
    lab.netlab("up", str(path))
    pods = [n for n in os.listdir("/run/netns") if n.startswith(f"{lab.cluster}-d-")]
    assert len(pods) == 40
    lab.netlab("down")
    assert_clean(lab, before)


def test_down_without_state_directory(lab):
    before = snapshot(lab)
    path = lab.write("d.yaml", DEPLOY)
    lab.netlab("up", str(path))
    shutil.rmtree(f"/var/lib/netlab/{lab.cluster}")
    Path(f"/run/netlab/{lab.cluster}/controller.pid").write_text("garbage")
    lab.netlab("down")
    time.sleep(0.1)
    assert_clean(lab, before)
