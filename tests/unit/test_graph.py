"""netlab graph: the seed lab drawn as DOT and Mermaid (pure), and rendered by graphviz when it is installed."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from netlab.compile import graph, graph_render

NODES = [("netlab-control-plane", "172.18.0.2", "10.244.0.0/24"), ("netlab-worker", "172.18.0.3", "10.244.1.0/24"),
         ("netlab-worker2", "172.18.0.4", "10.244.2.0/24")]
# (name, node, ip, labels)
PODS = [
    ("nextgen-app-5f7c9d8b6-4xk2p", "netlab-worker", "10.244.1.2", {"app": "nextgen-app"}),
    ("nextgen-app-5f7c9d8b6-9qz7m", "netlab-worker2", "10.244.2.2", {"app": "nextgen-app"}),
    ("nextgen-app-5f7c9d8b6-h8w3r", "netlab-control-plane", "10.244.0.2", {"app": "nextgen-app"}),
    ("api-6d4b8c7f9-2jv5n", "netlab-worker", "10.244.1.3", {"app": "api"}),
    ("api-6d4b8c7f9-t6r8s", "netlab-worker2", "10.244.2.3", {"app": "api"}),
    ("web", "netlab-worker", "10.244.1.4", {"app": "web"}),
]
APP = [p[0] for p in PODS if p[3]["app"] == "nextgen-app"]
API = [p[0] for p in PODS if p[3]["app"] == "api"]


def node(name: str, ip: str, cidr: str) -> dict:
    return {"kind": "Node", "metadata": {"name": name}, "spec": {"podCIDR": cidr},
            "status": {"addresses": [{"type": "InternalIP", "address": ip}, {"type": "Hostname", "address": name}]}}


def pod(name: str, node_name: str, ip: str, labels: dict, ns: str = "default") -> dict:
    return {"kind": "Pod", "metadata": {"name": name, "namespace": ns, "labels": labels},
            "spec": {"nodeName": node_name}, "status": {"phase": "Running", "podIP": ip}}


def service(name: str, stype: str, ip: str, selector: dict, ports: list[dict], lb: str | None = None) -> dict:
    status = {"loadBalancer": {"ingress": [{"ip": lb}]} if lb else {}}
    return {"kind": "Service", "metadata": {"name": name, "namespace": "default"},
            "spec": {"type": stype, "clusterIP": ip, "selector": selector, "ports": ports}, "status": status}


def endpoints(name: str, pods: list[str], port: int) -> dict:
    ips = {p[0]: p[2] for p in PODS}
    return {"kind": "Endpoints", "metadata": {"name": name, "namespace": "default"},
            "subsets": [{"addresses": [{"ip": ips[p], "targetRef": {"kind": "Pod", "name": p, "namespace": "default"}}
                                       for p in pods],
                         "ports": [{"port": port, "protocol": "TCP"}]}]}


def seed() -> dict:
    p80 = {"port": 80, "targetPort": 3000, "protocol": "TCP"}
    return {
        "nodes": [node(*n) for n in NODES],
        "pods": [pod(*p) for p in PODS],
        "services": [
            service("app-service", "ClusterIP", "10.96.12.34", {"app": "nextgen-app"}, [p80]),
            service("app-nodeport", "NodePort", "10.96.56.78", {"app": "nextgen-app"}, [{**p80, "nodePort": 30080}]),
            service("app-lb", "LoadBalancer", "10.96.90.12", {"app": "nextgen-app"}, [{**p80, "nodePort": 31234}],
                    lb="172.18.255.200"),
            service("api-service", "ClusterIP", "10.96.33.44", {"app": "api"},
                    [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}]),
        ],
        "endpoints": [endpoints("app-service", APP, 3000), endpoints("app-nodeport", APP, 3000),
                      endpoints("app-lb", APP, 3000), endpoints("api-service", API, 3000)],
        "ingresses": [{"kind": "Ingress", "metadata": {"name": "app-ingress", "namespace": "default"},
                       "spec": {"ingressClassName": "nginx",
                                "tls": [{"hosts": ["learn.nextgenplayground.org"], "secretName": "tls-secret"}],
                                "rules": [{"host": "learn.nextgenplayground.org", "http": {"paths": [
                                    {"path": "/", "pathType": "Prefix",
                                     "backend": {"service": {"name": "app-service", "port": {"number": 80}}}},
                                    {"path": "/api", "pathType": "Prefix",
                                     "backend": {"service": {"name": "api-service", "port": {"number": 80}}}},
                                ]}}]}}],
        "policies": [{"kind": "NetworkPolicy", "metadata": {"name": "allow-web-to-api", "namespace": "default"},
                      "spec": {"podSelector": {"matchLabels": {"app": "api"}}, "policyTypes": ["Ingress"],
                               "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "web"}}}],
                                            "ports": [{"protocol": "TCP", "port": 3000}]}]}}],
    }


def seed_graph() -> graph.Graph:
    return graph.build(**seed(), title="netlab cluster netlab")


def dot_lines() -> list[str]:
    return [line.strip() for line in graph_render.to_dot(seed_graph()).splitlines()]


def test_dot_has_host_nodes_bridges_and_pods():
    lines = dot_lines()
    assert lines[0] == "digraph netlab {"
    assert lines[-1] == "}"
    assert ('"bridge:netlab0" [label="netlab0 (underlay bridge)\\nhost 172.18.0.1", shape=box, '
            'style="filled,rounded", fillcolor="#ffd8a8", color="#e8590c", penwidth=1.5];') in lines
    assert 'subgraph "cluster_nodegroup:netlab-worker" {' in lines
    assert ('"node:netlab-worker" [label="netlab-worker\\neth0 172.18.0.3", shape=box3d, style="filled", '
            'fillcolor="#d0ebff", color="#1c7ed6"];') in lines
    assert ('"cni0:netlab-worker" [label="cni0 (bridge)\\n10.244.1.1/24\\npods 10.244.1.0/24", shape=box, '
            'style="filled,rounded", fillcolor="#ffec99", color="#f08c00", penwidth=1.5];') in lines
    assert ('"pod:default/web" [label="web\\n10.244.1.4", shape=box, style="filled,rounded", '
            'fillcolor="#d3f9d8", color="#2f9e44"];') in lines
    assert ('"bridge:netlab0" -> "node:netlab-worker2" [color="#e8590c", fontcolor="#e8590c", style=bold, '
            'label="172.18.0.4"];') in lines
    assert ('"cni0:netlab-worker" -> "pod:default/web" [color="#f08c00", fontcolor="#f08c00", '
            'arrowhead=none];') in lines
    # Each pod sits inside its node's cluster.
    text = graph_render.to_dot(seed_graph())
    block = text.split('subgraph "cluster_nodegroup:netlab-worker2" {', 1)[1].split("}", 1)[0]
    assert '"pod:default/api-6d4b8c7f9-t6r8s"' in block and '"pod:default/web"' not in block


def test_dot_services_endpoints_ingress_and_policy():
    lines = dot_lines()
    assert ('"svc:default/app-lb" [label="svc app-lb\\nLoadBalancer\\nClusterIP 10.96.90.12\\nports 80:31234/TCP'
            '\\nEXTERNAL-IP 172.18.255.200", shape=box, style="filled,rounded", fillcolor="#e5dbff", '
            'color="#7048e8"];') in lines
    assert ('"svc:default/app-nodeport" [label="svc app-nodeport\\nNodePort\\nClusterIP 10.96.56.78\\n'
            'ports 80:30080/TCP", shape=box, style="filled,rounded", fillcolor="#e5dbff", color="#7048e8"];') in lines
    # Service -> endpoint pod, labelled with the target port; ranked right of the pod (dir=back).
    assert (f'"pod:default/{APP[0]}" -> "svc:default/app-service" [color="#7048e8", fontcolor="#7048e8", '
            'label="3000", dir=back];') in lines
    assert sum(1 for line in lines if line.endswith('-> "svc:default/app-service" [color="#7048e8", '
                                                    'fontcolor="#7048e8", label="3000", dir=back];')) == 3
    assert ('"ing:default/app-ingress/learn.nextgenplayground.org" [label="ingress app-ingress\\n'
            'learn.nextgenplayground.org\\nhttps + http (class nginx)", shape=box, style="filled,rounded", '
            'fillcolor="#ffdeeb", color="#d6336c"];') in lines
    assert ('"svc:default/api-service" -> "ing:default/app-ingress/learn.nextgenplayground.org" '
            '[color="#d6336c", fontcolor="#d6336c", label="/api :80", dir=back];') in lines
    for api in API:
        assert (f'"pod:default/web" -> "pod:default/{api}" [color="#e03131", fontcolor="#e03131", style=dashed, '
                'label="allow-web-to-api allows TCP 3000", constraint=false];') in lines
    assert not any("pod:default/nextgen" in line and "allows" in line for line in lines)


def test_mermaid_lines():
    text = graph_render.to_mermaid(seed_graph())
    lines = [line.strip() for line in text.splitlines()]
    assert lines[0] == "%% netlab cluster netlab" and lines[1] == "flowchart LR"
    web, cni, svc = (graph_render.mermaid_id(i)
                     for i in ("pod:default/web", "cni0:netlab-worker", "svc:default/app-lb"))
    assert web.startswith("pod_default_web_") and re.fullmatch(r"[A-Za-z0-9_]+", web)
    assert f'subgraph {graph_render.mermaid_id("group:nodegroup:netlab-worker")}["node netlab-worker"]' in lines
    assert f'{web}["web<br/>10.244.1.4"]' in lines
    assert f'{cni}["cni0 (bridge)<br/>10.244.1.1/24<br/>pods 10.244.1.0/24"]' in lines
    assert (f'{svc}["svc app-lb<br/>LoadBalancer<br/>ClusterIP 10.96.90.12<br/>ports 80:31234/TCP'
            f'<br/>EXTERNAL-IP 172.18.255.200"]') in lines
    assert f"{cni} --- {web}" in lines
    assert f'{svc} -->|"3000"| {graph_render.mermaid_id("pod:default/" + APP[0])}' in lines
    api0 = graph_render.mermaid_id("pod:default/" + API[0])
    assert f'{web} -.->|"allow-web-to-api allows TCP 3000"| {api0}' in lines
    ing = graph_render.mermaid_id("ing:default/app-ingress/learn.nextgenplayground.org")
    assert f'{ing} -->|"/ :80"| {graph_render.mermaid_id("svc:default/app-service")}' in lines
    assert any(line.startswith("linkStyle ") for line in lines)
    assert text.count("subgraph ") == text.count("\n  end\n") == 6  # host, 3 nodes, services, ingress


def test_deterministic_whatever_the_input_order():
    a = seed()
    b = {k: list(reversed(v)) for k, v in seed().items()}
    assert graph_render.to_dot(graph.build(**a)) == graph_render.to_dot(graph.build(**b))
    assert graph_render.to_mermaid(graph.build(**a)) == graph_render.to_mermaid(graph.build(**b))


def test_default_deny_namespace_peers_and_ip_blocks():
    objs = seed()
    objs["policies"] = [
        {"metadata": {"name": "deny-all", "namespace": "default"}, "spec": {"podSelector": {}}},
        {"metadata": {"name": "from-monitoring", "namespace": "default"},
         "spec": {"podSelector": {"matchLabels": {"app": "web"}},
                  "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {"team": "ops"}}},
                                        {"ipBlock": {"cidr": "172.18.0.0/16", "except": ["172.18.0.1/32"]}}]}]}},
    ]
    lines = [line.strip() for line in graph_render.to_dot(graph.build(**objs)).splitlines()]
    assert any(line.startswith('"netpol:default/deny-all/ingress" [label="netpol deny-all\\ndefault deny ingress'
                               '\\nfor all pods", shape=note') for line in lines)
    assert ('"pod:default/web" -> "netpol:default/deny-all/ingress" [color="#e03131", fontcolor="#e03131", '
            'style=dashed, label="denies ingress", dir=back];') in lines
    assert sum(1 for line in lines if '-> "netpol:default/deny-all/ingress"' in line) == len(PODS)
    assert any(line.startswith('"peer:ns:team=ops:all pods" [label="namespaces team=ops\\nall pods"')
               for line in lines)
    assert any('-> "peer:ipBlock:172.18.0.0/16 except 172.18.0.1/32"' in line and "from-monitoring allows all ports"
               in line for line in lines)


ODD = 'we"ird\\name\n<b>#|`end'


def test_odd_names_are_escaped():
    objs = {"nodes": [node("n1", "172.18.0.2", "10.244.0.0/24")],
            "pods": [pod(ODD, "n1", "10.244.0.2", {}), pod("end", "n1", "10.244.0.3", {}, ns="a b")],
            "services": [], "endpoints": [], "ingresses": [], "policies": []}
    g = graph.build(**objs)
    dot = graph_render.to_dot(g)
    assert '"pod:default/we\\"ird\\\\name\\n<b>#|`end" [label="we\\"ird\\\\name\\n<b>#|`end\\n10.244.0.2"' in dot
    assert "\n" not in graph_render.dot_quote("a\nb")
    mermaid = graph_render.to_mermaid(g)
    mid = graph_render.mermaid_id(f"pod:default/{ODD}")
    assert re.fullmatch(r"[A-Za-z0-9_]+", mid)
    assert f'{mid}["we#quot;ird\\name #lt;b#gt;#35;#124;#96;end<br/>10.244.0.2"]' in mermaid
    assert graph_render.mermaid_id("pod:a b/end") != graph_render.mermaid_id("pod:a_b/end")
    # Every vertex line carries exactly one quoted label: no quote leaked from a name.
    for line in mermaid.splitlines():
        assert line.count('"') % 2 == 0
    if shutil.which("dot"):
        assert subprocess.run(["dot", "-Tsvg"], input=dot, capture_output=True, text=True).returncode == 0


needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="graphviz (Debian package graphviz) not installed")


@needs_dot
def test_graphviz_renders_svg_and_png():
    dot = graph_render.to_dot(seed_graph())
    svg = subprocess.run(["dot", "-Tsvg"], input=dot.encode(), capture_output=True, check=True)
    assert svg.stderr == b"", svg.stderr
    # graphviz writes "-" as "&#45;" in SVG text.
    assert b"<svg" in svg.stdout and b"10.244.1.4" in svg.stdout and b"app&#45;service" in svg.stdout
    png = subprocess.run(["dot", "-Tpng"], input=dot.encode(), capture_output=True, check=True)
    assert png.stdout[:8] == b"\x89PNG\r\n\x1a\n"


# ---------------------------------------------------------------------------------------------- the command


from netlab.cli.graph import GATEWAY_API  # noqa: E402


class FakeClient:
    cluster = "netlab"

    def __init__(self, objects: dict):
        self.by_path = {
            "/api/v1/nodes": objects["nodes"], "/api/v1/pods": objects["pods"],
            "/api/v1/services": objects["services"], "/api/v1/endpoints": objects["endpoints"],
            "/apis/networking.k8s.io/v1/ingresses": objects["ingresses"],
            "/apis/networking.k8s.io/v1/networkpolicies": objects["policies"],
            **{path: [] for path in GATEWAY_API.values()},
        }

    def get(self, path: str) -> dict:
        return {"kind": "List", "items": self.by_path[path]}


@pytest.fixture
def run_graph(monkeypatch):
    import click
    from click.testing import CliRunner

    import netlab.cli.common
    from netlab.cli.graph import graph as command

    monkeypatch.setattr(netlab.cli.common, "client", lambda ctx: FakeClient(seed()))

    @click.group()
    @click.pass_context
    def root(ctx):
        ctx.obj = {"cluster_opt": None}

    root.add_command(command)
    return lambda *args: CliRunner().invoke(root, ["graph", *args], catch_exceptions=False)


def test_command_formats(run_graph, tmp_path):
    from netlab.cli.graph import choose_format

    assert choose_format(None, None) == "dot"
    assert choose_format(None, "x.SVG") == "svg"
    assert choose_format(None, "x.mmd") == "mermaid"
    assert choose_format(None, "x.txt") == "dot"
    assert choose_format("png", "x.svg") == "png"

    result = run_graph()
    assert result.exit_code == 0 and result.stdout == graph_render.to_dot(graph.build(**seed(),
                                                                                 title="netlab cluster netlab"))
    result = run_graph("--format", "mermaid")
    assert result.exit_code == 0 and result.stdout.splitlines()[1] == "flowchart LR"
    out = tmp_path / "lab.mmd"
    assert run_graph("-o", str(out)).exit_code == 0
    assert "web<br/>10.244.1.4" in out.read_text()
    if shutil.which("dot"):
        png = tmp_path / "lab.png"
        assert run_graph("-o", str(png)).exit_code == 0
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_command_names_the_package_when_dot_is_missing(run_graph, monkeypatch, tmp_path):
    import netlab.cli.graph

    monkeypatch.setattr(netlab.cli.graph.shutil, "which", lambda name: None)
    result = run_graph("-o", str(tmp_path / "lab.svg"))
    assert result.exit_code == 1
    assert "graphviz" in result.stderr and "apt-get install graphviz" in result.stderr
    assert not (tmp_path / "lab.svg").exists()


def test_endpoint_ports_merge_and_not_ready_addresses():
    objs = seed()
    objs["services"] = [service("dns", "ClusterIP", "10.96.0.10", {"app": "web"},
                                [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}])]
    web = {"ip": "10.244.1.4", "targetRef": {"kind": "Pod", "name": "web"}}
    objs["endpoints"] = [{"metadata": {"name": "dns", "namespace": "default"}, "subsets": [
        {"addresses": [web], "ports": [{"port": 53, "protocol": "UDP"}]},
        {"addresses": [web], "ports": [{"port": 53, "protocol": "TCP"}]},
        {"notReadyAddresses": [{"ip": "10.244.2.3"}], "ports": [{"port": 53, "protocol": "TCP"}]},
    ]}]
    edges = {(e.src, e.dst, e.kind, e.label) for e in graph.build(**objs).edges if e.src == "svc:default/dns"}
    assert edges == {("svc:default/dns", "pod:default/web", "endpoint", "53, 53/UDP"),
                     ("svc:default/dns", f"pod:default/{API[1]}", "endpoint-notready", "53 (not ready)")}


def test_underlay_comes_from_the_node_annotations():
    objs = seed()
    objs["nodes"] = [{**n, "metadata": {**n["metadata"], "annotations": {
        "netlab.dev/underlay-bridge": "nlb1a2b3c4d", "netlab.dev/underlay-host-ip": "172.29.0.1"}}}
        for n in objs["nodes"]]
    g = graph.build(**objs, **graph.underlay_of(objs["nodes"]))
    text = graph_render.to_dot(g)
    assert "nlb1a2b3c4d (underlay bridge)" in text and "host 172.29.0.1" in text
    assert "netlab0" not in text and "172.18.0.1" not in text
    assert graph.underlay_of([]) == {}
