"""Issue 16: `netlab trace` of an IPv6 packet in a dual-stack cluster; its verdict agrees with a real `curl -6`."""

from __future__ import annotations

import json
import re

from conftest import Lab
from test_trace import _no_trace_chains, _trace

LAB = """
kind: Cluster
apiVersion: kind.x-k8s.io/v1alpha4
networking: {ipFamily: dual}
nodes: [{role: control-plane}, {role: worker}, {role: worker}]
---
apiVersion: v1
kind: Pod
metadata: {name: CLUSTER-client, labels: {role: client}}
spec:
  nodeName: CLUSTER-worker
  containers: [{name: echo, image: echo, ports: [{containerPort: 3000}]}]
---
apiVersion: v1
kind: Pod
metadata: {name: CLUSTER-web, labels: {app: web}}
spec:
  nodeName: CLUSTER-worker2
  containers: [{name: echo, image: echo, ports: [{containerPort: 3000}]}]
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
metadata: {name: api-from-web-only}
spec:
  podSelector: {matchLabels: {app: api}}
  policyTypes: [Ingress]
  ingress: [{from: [{podSelector: {matchLabels: {app: web}}}]}]
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  type: NodePort
  ipFamilyPolicy: PreferDualStack
  selector: {app: web}
  ports: [{port: 80, targetPort: 3000}]
"""


def _curl6(lab: Lab, netns: str, url: str):
    return lab.in_ns(netns, "curl", "-6", "-sS", "--max-time", "3", url, timeout=15)


def test_trace_of_ipv6_packets_agrees_with_curl(lab: Lab) -> None:
    lab.netlab("up", str(lab.write("lab.yaml", LAB)))
    c = lab.cluster
    status = {p: json.loads(lab.netlab("get", "pod", f"{c}-{p}", "-o", "json").stdout)["status"]
              for p in ("client", "web", "api")}
    v6 = {p: s["podIPs"][1]["ip"] for p, s in status.items()}
    svc = json.loads(lab.netlab("get", "service", "web", "-o", "json").stdout)["spec"]
    cip6 = svc["clusterIPs"][1]
    assert ":" in cip6

    # Pod -> the IPv6 ClusterIP: the ip6 set, the .../ipv6 chain, the ip6 DNAT; the kernel's trace and a real
    # curl -6 both reach the endpoint, which sees the client's IPv6 address.
    out = _trace(lab, f"{c}-client", f"[{cip6}]:80").stdout
    assert f"{c}-client ({v6['client']}) -> [{cip6}]:80/tcp" in out
    assert "@service-ips6" in out and "default/web/tcp/80/ipv6" in out
    assert f"dnat ip6 to [{v6['web']}]:3000" in out
    assert "Prediction: connected" in out and "The probe matches the explanation." in out
    assert f"saw client {v6['client']} and answered from pod {c}-web" in out, out
    assert re.search(r"nat-prerouting: jump services \(verdict jump services\)", out), out
    real = _curl6(lab, f"{c}-client", f"http://[{cip6}]/")
    assert real.returncode == 0 and f"pod: {c}-web" in real.stdout, real.stderr
    _no_trace_chains(lab)

    # A Service name with -6 picks its IPv6 ClusterIP; without it, spec.clusterIP (IPv4, the primary).
    out = _trace(lab, "--no-probe", "-6", f"{c}-client", "web:80").stdout
    assert f"-> [{cip6}]:80/tcp" in out
    out = _trace(lab, "--no-probe", f"{c}-client", "web:80").stdout
    assert f"-> {svc['clusterIPs'][0]}:80/tcp" in out

    # Denied by policy over IPv6: the trace names the policy and predicts a timeout; curl -6 times out too.
    out = _trace(lab, f"{c}-client", f"[{v6['api']}]:3000").stdout
    assert "DENIED by default/api-from-web-only" in out
    assert "Prediction: timeout" in out and "Probe: timed out" in out
    real = _curl6(lab, f"{c}-client", f"http://[{v6['api']}]:3000/")
    assert real.returncode == 28, (real.returncode, real.stdout, real.stderr)
    # ... and allowed from the selected pod (its IPv6 address is in the policy's ip6 peer set).
    out = _trace(lab, f"{c}-web", f"[{v6['api']}]:3000").stdout
    assert "allowed by default/api-from-web-only" in out and "The probe matches the explanation." in out
    real = _curl6(lab, f"{c}-web", f"http://[{v6['api']}]:3000/")
    assert real.returncode == 0 and f"pod: {c}-api" in real.stdout, real.stderr
    _no_trace_chains(lab)

    # Host -> NodePort on a node's IPv6 address: masqueraded, as in IPv4.
    node6 = "fc00:f853:ccd:e793::3"   # the first worker's IPv6 underlay address (kind's default prefix)
    port = svc["ports"][0]["nodePort"]
    out = _trace(lab, "host", f"[{node6}]:{port}").stdout
    assert "@service-nodeports6" in out and "mark-for-masquerade" in out
    assert "The probe matches the explanation." in out
    _no_trace_chains(lab)
