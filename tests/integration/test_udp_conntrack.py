"""Issue 10: a UDP client that keeps its source port follows a Service to its new endpoint at once.

conntrack keeps a DNATed UDP flow while datagrams keep coming; without kube-proxy's clean-up the
client would go on talking to the deleted pod for as long as it keeps sending.
"""

from __future__ import annotations

import json

from conftest import echo_answer, wait_for

LAB = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: CLUSTER-udp}
spec:
  replicas: 1
  selector: {matchLabels: {app: CLUSTER-udp}}
  template:
    metadata: {labels: {app: CLUSTER-udp}}
    spec:
      containers: [{name: echo, image: echo, ports: [{containerPort: 5353, protocol: UDP}]}]
---
apiVersion: v1
kind: Pod
metadata: {name: CLUSTER-uc}
spec:
  containers: [{name: echo, image: echo, ports: [{containerPort: 8080}]}]
---
apiVersion: v1
kind: Service
metadata: {name: udp-svc}
spec:
  selector: {app: CLUSTER-udp}
  ports: [{port: 53, targetPort: 5353, protocol: UDP}]
"""

# One datagram from a fixed source port, as a resolver keeping its socket would send it (IPv4 or IPv6).
ASK = """
import socket, sys
six = ":" in sys.argv[1]
s = socket.socket(socket.AF_INET6 if six else socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("::" if six else "0.0.0.0", 40123))
s.settimeout(float(sys.argv[2]))
s.sendto(b"hello", (sys.argv[1], 53))
try:
    print(s.recv(4096).decode())
except socket.timeout:
    sys.exit("no answer")
"""


def _endpoint_pod(lab) -> tuple[str, str] | None:
    items = json.loads(lab.netlab("get", "pods", "-l", f"app={lab.cluster}-udp", "-o", "json").stdout)["items"]
    ready = [p for p in items if p["metadata"].get("deletionTimestamp") is None and any(
        c["type"] == "Ready" and c["status"] == "True" for c in p["status"].get("conditions", []))]
    return (ready[0]["metadata"]["name"], ready[0]["status"]["podIP"]) if len(ready) == 1 == len(items) else None


def test_udp_flow_follows_the_service_to_a_replacement_pod(lab):
    lab.netlab("up", str(lab.write("lab.yaml", LAB)))
    svc = json.loads(lab.netlab("get", "svc", "udp-svc", "-o", "json").stdout)["spec"]["clusterIP"]
    assert_flow_follows(lab, svc)


def assert_flow_follows(lab, svc: str) -> None:
    """A client keeping its source port reaches the endpoint at `svc`:53, and the replacement pod at once."""
    import sys

    first, _ = wait_for(lambda: _endpoint_pod(lab), timeout=20, what="the UDP endpoint")

    def ask(timeout: float) -> str:
        got = lab.in_ns(f"{lab.cluster}-uc", sys.executable, "-c", ASK, svc, str(timeout))
        return echo_answer(got.stdout).get("pod", f"no answer ({got.stderr.strip()})")

    assert ask(2) == first
    assert ask(2) == first  # the same flow, still in conntrack
    lab.netlab("delete", "pod", first)
    second, _ = wait_for(lambda: (p := _endpoint_pod(lab)) and p[0] != first and p, timeout=20,
                         what="the replacement pod")
    assert ask(1) == second, "the UDP flow must leave the deleted endpoint at once"
