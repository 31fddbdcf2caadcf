"""Issue 7 item 2: NetworkPolicy holds in vxlan mode too, across nodes and on one node."""

from __future__ import annotations

LAB = """
kind: Cluster
apiVersion: netlab.dev/v1alpha1
mode: vxlan
---
apiVersion: v1
kind: Pod
metadata: {name: CLUSTER-a, labels: {role: a}}
spec:
  nodeName: CLUSTER-worker
  containers: [{name: echo, image: echo, ports: [{containerPort: 80}]}]
---
apiVersion: v1
kind: Pod
metadata: {name: CLUSTER-b, labels: {role: b}}
spec:
  nodeName: CLUSTER-worker2
  containers: [{name: echo, image: echo, ports: [{containerPort: 80}]}]
---
apiVersion: v1
kind: Pod
metadata: {name: CLUSTER-c, labels: {role: c}}
spec:
  nodeName: CLUSTER-worker2
  containers: [{name: echo, image: echo, ports: [{containerPort: 80}]}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: b-from-a}
spec:
  podSelector: {matchLabels: {role: b}}
  ingress: [{from: [{podSelector: {matchLabels: {role: a}}}], ports: [{port: 80}]}]
"""


def test_policy_in_vxlan_mode(lab):
    lab.netlab("up", str(lab.write("lab.yaml", LAB)))
    c = lab.cluster
    ips = {p: lab.pod_ip(f"{c}-{p}") for p in "abc"}
    assert lab.curl(f"{c}-a", f"http://{ips['b']}/", timeout=2).returncode == 0, "allowed, across nodes over vxlan"
    assert lab.curl(f"{c}-c", f"http://{ips['b']}/", timeout=1).returncode == 28, "denied on the same node"
    assert lab.curl(None, f"http://{ips['b']}/", timeout=1).returncode == 28, "denied from the host"
    assert lab.curl(f"{c}-b", f"http://{ips['a']}/", timeout=2).returncode == 0, "a is not isolated"
    assert lab.curl(f"{c}-b", f"http://{ips['c']}/", timeout=2).returncode == 0, "replies and other pods pass"
