"""Issue 6 item 6: `get -w` streams changes and `events` shows what the controller did."""

from __future__ import annotations

import subprocess
import sys

from conftest import wait_for

POD = """
apiVersion: v1
kind: Pod
metadata: {name: CLUSTER-w, labels: {app: w}}
spec:
  containers: [{name: echo, image: echo, ports: [{containerPort: 3000}]}]
---
apiVersion: v1
kind: Service
metadata: {name: w}
spec:
  selector: {app: w}
  ports: [{port: 80, targetPort: 3000}]
"""


def test_get_watch_streams_changes_and_events_explain_them(lab, tmp_path):
    lab.netlab("up", str(lab.write("w.yaml", POD)))
    out = tmp_path / "watch.txt"
    with open(out, "w") as f:
        watcher = subprocess.Popen(["nsenter", f"--net=/run/netns/{lab.host_ns}", sys.executable, "-m", "netlab.cli",
                                    "--cluster", lab.cluster, "get", "endpoints", "w", "-w"], stdout=f)
    try:
        wait_for(lambda: "10.244." in out.read_text(), timeout=10, what="the first table")
        lab.netlab("delete", "pod", f"{lab.cluster}-w")
        wait_for(lambda: "<none>" in out.read_text(), timeout=10, what="the endpoints row to change")
    finally:
        watcher.terminate()
        watcher.wait(timeout=10)
    lines = out.read_text().splitlines()
    assert lines[0].split() == ["NAME", "ENDPOINTS", "AGE"]
    assert any(line.startswith("w ") and "<none>" in line for line in lines[2:])

    events = lab.netlab("events").stdout
    assert "EndpointsChanged" in events and "service/w" in events
    assert "Deleted" in events
