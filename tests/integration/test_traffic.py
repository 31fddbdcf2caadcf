"""Issue 17 (part): traffic policies with real connections between real namespaces."""

from __future__ import annotations

import json

from conftest import echo_answer

ITP = """
kind: Cluster
apiVersion: netlab.dev/v1alpha1
---
apiVersion: v1
kind: Pod
metadata: {name: CLUSTER-a, labels: {app: itp}}
spec:
  nodeName: CLUSTER-worker
  containers: [{name: echo, image: echo, ports: [{containerPort: 3000}]}]
---
apiVersion: v1
kind: Pod
metadata: {name: CLUSTER-b, labels: {app: itp}}
spec:
  nodeName: CLUSTER-worker2
  containers: [{name: echo, image: echo, ports: [{containerPort: 3000}]}]
---
apiVersion: v1
kind: Pod
metadata: {name: CLUSTER-c1, labels: {role: client}}
spec:
  nodeName: CLUSTER-worker
  containers: [{name: echo, image: echo, ports: [{containerPort: 3000}]}]
---
apiVersion: v1
kind: Pod
metadata: {name: CLUSTER-c2, labels: {role: client}}
spec:
  nodeName: CLUSTER-worker2
  containers: [{name: echo, image: echo, ports: [{containerPort: 3000}]}]
---
apiVersion: v1
kind: Service
metadata: {name: local}
spec:
  type: NodePort
  internalTrafficPolicy: Local
  selector: {app: itp}
  ports: [{port: 80, targetPort: 3000, nodePort: 30091}]
"""


def _pods_seen(lab, netns: str, url: str, tries: int = 12) -> set[str]:
    seen = set()
    for _ in range(tries):
        proc = lab.curl(netns, url, timeout=2)
        assert proc.returncode == 0, f"{url} from {netns}: {proc.stderr}"
        seen.add(echo_answer(proc.stdout)["pod"])
    return seen


def test_internal_traffic_policy_local(lab):
    lab.netlab("up", str(lab.write("itp.yaml", ITP)))
    c = lab.cluster
    svc = json.loads(lab.netlab("get", "svc", "local", "-o", "json").stdout)
    cip = svc["spec"]["clusterIP"]
    assert svc["spec"]["internalTrafficPolicy"] == "Local"
    # ClusterIP traffic only reaches the endpoint on the client's own node, from pods and from the node.
    assert _pods_seen(lab, f"{c}-c1", f"http://{cip}/") == {f"{c}-a"}
    assert _pods_seen(lab, f"{c}-c2", f"http://{cip}/") == {f"{c}-b"}
    assert _pods_seen(lab, f"{c}-worker", f"http://{cip}/") == {f"{c}-a"}
    # A node with no endpoint drops (a timeout, not a refusal), as kube-proxy does.
    dropped = lab.curl(f"{c}-control-plane", f"http://{cip}/", timeout=1)
    assert dropped.returncode == 28, dropped
    # External traffic ignores the internal policy: the NodePort on the control plane reaches both pods.
    nodes = {n["metadata"]["name"]: n["status"]["addresses"][0]["address"]
             for n in json.loads(lab.netlab("get", "nodes", "-o", "json").stdout)["items"]}
    seen = set()
    for _ in range(40):
        proc = lab.curl(None, f"http://{nodes[f'{c}-control-plane']}:30091/", timeout=2)
        assert proc.returncode == 0, proc.stderr
        seen.add(echo_answer(proc.stdout)["pod"])
        if len(seen) == 2:
            break
    assert seen == {f"{c}-a", f"{c}-b"}
    # trace names the local chain and the drop.
    traced = lab.netlab("trace", f"{c}-c1", f"{cip}:80", check=False)
    assert traced.returncode == 0 and "local-" in traced.stdout, traced.stdout + traced.stderr
    dropped_trace = lab.netlab("trace", f"node:{c}-control-plane", f"{cip}:80", check=False)
    assert dropped_trace.returncode == 0 and "drop" in dropped_trace.stdout.lower(), \
        dropped_trace.stdout + dropped_trace.stderr
