"""Issue 6 item 3: `netlab trace` explains a packet's path, probes it, and reads the kernel's own trace."""

from __future__ import annotations

import json
import re

from conftest import Lab

LAB = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: CLUSTER-app}
spec:
  replicas: 2
  selector: {matchLabels: {app: app}}
  template:
    metadata: {labels: {app: app}}
    spec:
      containers: [{name: echo, image: echo, ports: [{name: http, containerPort: 3000}]}]
---
apiVersion: v1
kind: Pod
metadata: {name: CLUSTER-client, labels: {role: client}}
spec:
  nodeName: CLUSTER-worker
  containers: [{name: echo, image: echo, ports: [{containerPort: 8080}]}]
---
apiVersion: v1
kind: Pod
metadata: {name: CLUSTER-api, labels: {app: api}}
spec:
  nodeName: CLUSTER-worker2
  containers: [{name: echo, image: echo, ports: [{containerPort: 3000}]}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-web-to-api}
spec:
  podSelector: {matchLabels: {app: api}}
  policyTypes: [Ingress]
  ingress:
    - from: [{podSelector: {matchLabels: {role: web}}}]
      ports: [{port: 3000}]
---
apiVersion: v1
kind: Service
metadata: {name: app-service}
spec:
  selector: {app: app}
  ports: [{port: 80, targetPort: http}]
---
apiVersion: v1
kind: Service
metadata: {name: app-nodeport}
spec:
  type: NodePort
  selector: {app: app}
  ports: [{port: 80, targetPort: 3000, nodePort: 30080}]
---
apiVersion: v1
kind: Service
metadata: {name: nobody}
spec:
  selector: {app: nobody}
  ports: [{port: 80}]
"""

def _trace(lab: Lab, *args: str, check: bool = True):
    return lab.netlab("trace", *args, check=check, timeout=60)


def _no_trace_chains(lab: Lab) -> None:
    for node in ("control-plane", "worker", "worker2"):
        listing = lab.in_ns(f"{lab.cluster}-{node}", "nft", "list", "table", "inet", "netlab").stdout
        assert "chain " in listing
        assert not re.search(r"chain trace-", listing), f"trace chain left in {node}:\n{listing}"


def test_trace(lab: Lab) -> None:
    lab.netlab("up", str(lab.write("lab.yaml", LAB)))
    c = lab.cluster
    client_ip = lab.pod_ip(f"{c}-client")
    pods = json.loads(lab.netlab("get", "pods", "-l", "app=app", "-o", "json").stdout)["items"]
    app = {p["metadata"]["name"]: p["status"]["podIP"] for p in pods}

    # Pod -> ClusterIP: the DNAT chains by name, a kernel trace, and the answering endpoint is a candidate.
    out = _trace(lab, f"{c}-client", "app-service:80").stdout
    assert f"leaves {client_ip} via eth0" in out
    assert "service-" in out and "default/app-service/tcp/80" in out and "endpoint-" in out
    assert "From the kernel's own trace" in out
    assert re.search(r"nat-prerouting: jump services \(verdict jump services\)", out), out
    answered = re.search(r"saw client (\S+) and answered from pod (\S+)", out)
    assert answered, out
    assert answered[1] == client_ip and answered[2] in app
    chosen = re.search(r"The kernel chose (endpoint-\S+)", out)
    assert chosen and f"{app[answered[2]]}/3000" in chosen[1], out
    assert "The probe matches the explanation." in out
    _no_trace_chains(lab)

    # Policy-denied: names the policy, predicts and observes a timeout, still exits 0 (prediction held).
    out = _trace(lab, f"{c}-client", f"{lab.pod_ip(f'{c}-api')}:3000").stdout
    assert "DENIED by default/allow-web-to-api" in out
    assert "Prediction: timeout" in out and "Probe: timed out" in out
    _no_trace_chains(lab)

    # Host -> NodePort on the control-plane (no local endpoint): masquerade to the node's address.
    nodes = json.loads(lab.netlab("get", "nodes", "-o", "json").stdout)["items"]
    cp_ip = next(n["status"]["addresses"][0]["address"] for n in nodes if n["metadata"]["name"].endswith("-plane"))
    out = _trace(lab, "host", f"{cp_ip}:30080").stdout
    assert "mark-for-masquerade" in out and f"SNAT (masquerade) 172.18.0.1 -> {cp_ip}" in out
    assert f"saw client {cp_ip}" in out, out
    assert "[" + f"{c}-control-plane] " in out
    _no_trace_chains(lab)

    # No endpoints: rejected at once, and the probe is refused.
    out = _trace(lab, f"{c}-client", "nobody:80").stdout
    assert "REJECT" in out and "reject-chain" in out and "Probe: refused" in out
    assert re.search(r"endpoints-check: .*vmap @no-endpoint-services \(verdict goto reject-chain\)", out), out

    # --no-probe only explains; a bad source fails with a message.
    out = _trace(lab, "--no-probe", f"node:{c}-worker", "app-service:80").stdout
    assert "Probe:" not in out and "Prediction: connected" in out
    bad = _trace(lab, "nope", "app-service:80", check=False)
    assert bad.returncode == 1 and "no pod" in bad.stderr
    _no_trace_chains(lab)
