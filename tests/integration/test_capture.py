"""Issue 19: `netlab capture` runs tcpdump at every hop of the path and merges what it saw, with real packets."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

from conftest import Lab, wait_for

from netlab.kernel import netns as nsmod

LAB = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: CLUSTER-app}
spec:
  replicas: 1
  selector: {matchLabels: {app: CLUSTER-app}}
  template:
    metadata: {labels: {app: CLUSTER-app}}
    spec:
      nodeName: CLUSTER-worker2
      containers: [{name: echo, image: echo, ports: [{containerPort: 3000}]}]
---
apiVersion: v1
kind: Pod
metadata: {name: CLUSTER-web}
spec:
  nodeName: CLUSTER-worker
  containers: [{name: echo, image: echo, ports: [{containerPort: 8080}]}]
---
apiVersion: v1
kind: Service
metadata: {name: app-service}
spec:
  selector: {app: CLUSTER-app}
  ports: [{port: 80, targetPort: 3000}]
"""


def _tcpdumps_in(netns_names: list[str]) -> list[int]:
    """Pids of tcpdump processes in these namespaces (to prove capture left none behind)."""
    inodes = {nsmod.netns_inode(n) for n in netns_names} - {None}
    out = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            comm = open(f"/proc/{pid}/comm").read().strip()
            if comm == "tcpdump" and os.stat(f"/proc/{pid}/ns/net").st_ino in inodes:
                out.append(int(pid))
        except OSError:
            continue
    return out


def test_capture_across_hops(lab: Lab) -> None:
    c = lab.cluster
    lab.netlab("up", str(lab.write("lab.yaml", LAB)), timeout=180)
    svc = json.loads(lab.netlab("get", "svc", "app-service", "-o", "json").stdout)["spec"]["clusterIP"]
    pods = json.loads(lab.netlab("get", "pods", "-o", "json").stdout)["items"]
    app = next(p for p in pods if p["metadata"]["name"].startswith(f"{c}-app"))
    app_ip, web_ip = app["status"]["podIP"], lab.pod_ip(f"{c}-web")
    out = lab.workdir / "flow.pcap"
    proc = subprocess.Popen(
        ["nsenter", f"--net=/run/netns/{lab.host_ns}", sys.executable, "-m", "netlab.cli", "--cluster", c,
         "capture", f"{c}-web", "app-service:80", "-c", "4", "--timeout", "30", "-w", str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert "capturing" in proc.stderr.readline()
        for _ in range(2):
            assert lab.curl(f"{c}-web", f"http://{svc}:80/", timeout=5).returncode == 0
        stdout, stderr = proc.communicate(timeout=40)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, stderr
    hops = dict(re.findall(r"^\s*\d+\. (.+?)\s{2,}(\S.*)$", stdout.split("All packets")[0], re.M))
    assert hops[f"default/{c}-web eth0"].startswith(f"{web_ip}:"), stdout
    assert f"> {svc}:80 TCP [S]" in hops[f"default/{c}-web eth0"], stdout
    # The client's node DNATs in prerouting (br_netfilter on the bridge port): cni0 sees the endpoint already.
    assert f"destination {svc}:80 -> {app_ip}:3000 (DNAT)" in hops[f"{c}-worker cni0"], stdout
    assert f"{web_ip}:" in hops[f"{c}-worker eth0 (underlay)"], stdout  # host-gw: no encapsulation, no SNAT
    assert f"> {app_ip}:3000 TCP [S]" in hops[f"{c}-worker eth0 (underlay)"], stdout
    assert f"> {app_ip}:3000 TCP [S]" in hops[f"{c}-worker2 cni0"], stdout
    endpoint = next(v for k, v in hops.items() if k.startswith(f"default/{c}-app"))
    assert endpoint.startswith(f"{web_ip}:") and f"> {app_ip}:3000" in endpoint, stdout  # no SNAT pod to pod
    # The merged file is a capture tcpdump itself reads: every packet, time-ordered, one interface per hop.
    written = int(re.search(r"wrote (\d+) packets from 5 hops", stdout)[1])
    read = lab.host("tcpdump", "-r", str(out), "-n", "-tt", check=True).stdout.splitlines()
    assert len(read) == written >= 5 * 4, (read, stdout)
    stamps = [float(line.split()[0]) for line in read]
    assert stamps == sorted(stamps)
    nodes = [f"{c}-{n}" for n in ("control-plane", "worker", "worker2")]
    wait_for(lambda: _tcpdumps_in(nodes) == [], timeout=5, what="no tcpdump left in the node namespaces")
