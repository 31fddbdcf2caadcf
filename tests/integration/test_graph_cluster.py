"""Issue 6 item 4: `netlab graph` draws a running cluster as SVG (graphviz) and Mermaid text."""

from __future__ import annotations

import json
import shutil

import pytest

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
metadata: {name: CLUSTER-web, labels: {app: web}}
spec:
  containers: [{name: echo, image: echo, ports: [{containerPort: 80}]}]
---
apiVersion: v1
kind: Service
metadata: {name: app-service}
spec:
  type: NodePort
  selector: {app: app}
  ports: [{port: 80, targetPort: http, nodePort: 30080}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-web-to-app}
spec:
  podSelector: {matchLabels: {app: app}}
  ingress: [{from: [{podSelector: {matchLabels: {app: web}}}], ports: [{port: 3000}]}]
"""


def _pods(lab) -> dict[str, str]:
    items = json.loads(lab.netlab("get", "pods", "-o", "json").stdout)["items"]
    return {p["metadata"]["name"]: p["status"]["podIP"] for p in items if p["metadata"]["name"].startswith(lab.cluster)}


def test_graph_svg_and_mermaid_of_a_running_lab(lab, tmp_path):
    lab.netlab("up", str(lab.write("lab.yaml", LAB)))
    pods = _pods(lab)
    assert len(pods) == 3 and all(pods.values()), pods
    cip = json.loads(lab.netlab("get", "svc", "app-service", "-o", "json").stdout)["spec"]["clusterIP"]

    mermaid = lab.netlab("graph", "--format", "mermaid").stdout
    assert mermaid.splitlines()[1] == "flowchart LR"
    for name, ip in pods.items():
        assert f'["{name}<br/>{ip}"]' in mermaid, name
    assert f"svc app-service<br/>NodePort<br/>ClusterIP {cip}<br/>ports 80:30080/TCP" in mermaid
    assert "cni0 (bridge)<br/>10.244." in mermaid and "host 172.18.0.1" in mermaid
    assert mermaid.count('-->|"3000"|') == 2  # the service's two endpoints, by target port
    assert mermaid.count('-.->|"allow-web-to-app allows TCP 3000"|') == 2

    dot = lab.netlab("graph").stdout
    assert dot.startswith("digraph netlab {")
    for name, ip in pods.items():
        assert f'"pod:default/{name}" [label="{name}\\n{ip}"' in dot

    if shutil.which("dot") is None:
        pytest.skip("graphviz (Debian package graphviz) is not installed: SVG/PNG not checked")
    svg = tmp_path / "lab.svg"
    lab.netlab("graph", "-o", str(svg))
    text = svg.read_text()
    assert text.lstrip().startswith("<?xml") and "<svg" in text
    for name, ip in pods.items():
        assert name.replace("-", "&#45;") in text and ip in text
    assert "app&#45;service" in text and cip in text
    png = tmp_path / "lab.png"
    lab.netlab("graph", "-o", str(png))
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_graph_of_the_bundled_lab(lab, tmp_path):
    """The seed's whole example, as `sudo netlab up manifests/` brings it up, drawn as PNG and Mermaid."""
    from pathlib import Path

    manifests = Path(__file__).resolve().parents[2] / "manifests"
    lab.netlab("up", str(manifests))
    items = json.loads(lab.netlab("get", "pods", "-A", "-o", "json").stdout)["items"]
    mermaid = lab.netlab("graph", "--format", "mermaid").stdout
    for pod in items:
        name, ns, ip = pod["metadata"]["name"], pod["metadata"]["namespace"], pod["status"]["podIP"]
        shown = name if ns == "default" else f"{ns}/{name}"
        assert f'["{shown}<br/>{ip}"]' in mermaid, shown
    for svc in ("app-service", "app-nodeport", "app-lb", "api-service", "docs"):
        assert f"svc {svc}<br/>" in mermaid, svc
    assert "learn.nextgenplayground.org" in mermaid and "allow-web-to-api allows TCP 3000" in mermaid
    if shutil.which("dot") is None:
        pytest.skip("graphviz (Debian package graphviz) is not installed: PNG not checked")
    png = tmp_path / "lab.png"
    lab.netlab("graph", "-o", str(png))
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_graph_draws_the_cluster_own_underlay(lab):
    """A Cluster file with its own underlay subnet: the graph shows that bridge and host address."""
    cluster = """
    kind: Cluster
    apiVersion: netlab.dev/v1alpha1
    underlay: {subnet: 172.29.0.0/16}
    loadBalancerPool: {start: 172.29.255.200, end: 172.29.255.210}
    ---
    apiVersion: v1
    kind: Pod
    metadata: {name: CLUSTER-g}
    spec:
      containers: [{name: echo, image: echo}]
    """
    lab.netlab("up", str(lab.write("lab.yaml", cluster)))
    nodes = json.loads(lab.netlab("get", "nodes", "-o", "json").stdout)["items"]
    bridge = nodes[0]["metadata"]["annotations"]["netlab.dev/underlay-bridge"]
    assert lab.host("ip", "link", "show", bridge).returncode == 0, "the annotation names the real bridge"
    mermaid = lab.netlab("graph", "--format", "mermaid").stdout
    assert f"{bridge} (underlay bridge)<br/>host 172.29.0.1" in mermaid
    assert "netlab0" not in mermaid and "172.18.0.1" not in mermaid
