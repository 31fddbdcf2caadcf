# ruff: noqa: E501  (expected steps are exact, long strings)
"""netlab.trace.model: exact steps from the compiled rules for the typical flows (pure, no root)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from netlab.compile.config import ClusterConfig
from netlab.compile.netpol import PolicyNamespace, PolicyPod
from netlab.compile.nft_services import services_ruleset
from netlab.compile.services import Endpoint, ResolvedService, ServicePortView
from netlab.trace.model import PolicyInputs, TraceError, TracePoint, explain, match_ingress, plan


def world(mode="host-gw"):
    cfg = ClusterConfig.from_manifest({"mode": mode}, "lab")
    pods = [
        ("default", "pod-a", "lab-worker", "10.244.1.2"),
        ("default", "pod-b", "lab-worker", "10.244.1.3"),
        ("default", "pod-c", "lab-worker2", "10.244.2.2"),
        ("default", "api", "lab-worker2", "10.244.2.3"),
    ]
    topo = cfg.topology(pods)
    labels = {"pod-a": {"app": "web"}, "pod-b": {"app": "app"}, "pod-c": {"app": "app"}, "api": {"app": "api"}}
    ppods = tuple(PolicyPod(ns, n, ip, node, labels[n], ((None, 3000, "TCP"),)) for ns, n, node, ip in pods)
    eps = (Endpoint("10.244.1.3", "pod-b", "lab-worker", True), Endpoint("10.244.2.2", "pod-c", "lab-worker2", True))
    tgt = {"10.244.1.3": 3000, "10.244.2.2": 3000}
    svcs = [
        ResolvedService(
            "default",
            "app-service",
            "ClusterIP",
            "10.96.100.1",
            None,
            (ServicePortView("", "TCP", 80, None, tgt),),
            eps,
        ),
        ResolvedService(
            "default", "nobody", "ClusterIP", "10.96.100.2", None, (ServicePortView("", "TCP", 80, None, {}),), ()
        ),
        ResolvedService(
            "default",
            "app-nodeport",
            "NodePort",
            "10.96.100.3",
            None,
            (ServicePortView("", "TCP", 80, 30080, {"10.244.2.2": 3000}),),
            eps[1:],
        ),
        ResolvedService(
            "default",
            "app-lb",
            "LoadBalancer",
            "10.96.100.4",
            "172.18.255.200",
            (ServicePortView("", "TCP", 80, 31000, tgt),),
            eps,
        ),
    ]
    deny = {
        "metadata": {"name": "api-allow-web", "namespace": "default"},
        "spec": {
            "podSelector": {"matchLabels": {"app": "api"}},
            "policyTypes": ["Ingress"],
            "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "web"}}}], "ports": [{"port": 3000}]}],
        },
    }
    pi = PolicyInputs(ppods, (PolicyNamespace("default"),), (deny,))
    return topo, svcs, pi


def test_same_node() -> None:
    topo, svcs, pi = world("host-gw")
    p = plan("pod-a", "10.244.1.3", 3000, "tcp", topo, svcs, pi)
    assert p.outcome == "connected"
    assert [(s.where, s.what, s.rule) for s in p.steps] == [
        (
            "pod-a",
            "leaves 10.244.1.2 via eth0, default route via 10.244.1.1 (cni0 on lab-worker)",
            "default via 10.244.1.1 dev eth0",
        ),
        ("lab-worker", "no service matches 10.244.1.3:3000/tcp: no DNAT", "nat-prerouting -> services"),
        ("lab-worker", "routes 10.244.1.3 on the same node: bridge cni0", "10.244.1.0/24 dev cni0"),
        (
            "lab-worker",
            "egress of pod-a: no policy selects this pod: open",
            "filter-forward-policy: 10.244.1.2 not in @policy-egress-pods",
        ),
        (
            "lab-worker",
            "ingress of pod-b: no policy selects this pod: open",
            "filter-forward-policy: 10.244.1.3 not in @policy-ingress-pods",
        ),
        ("pod-b", "receives the connection from 10.244.1.2", ""),
    ]
    assert p.trace_points == [
        TracePoint(node="lab-worker", hook="prerouting", saddr="10.244.1.2", daddr="10.244.1.3", dport=3000)
    ]
    assert [(c.ip, c.port, c.pod, c.source_seen, c.outcome) for c in p.candidates] == [
        ("10.244.1.3", 3000, "default/pod-b", "10.244.1.2", "connected")
    ]


def test_other_node_hostgw() -> None:
    topo, svcs, pi = world("host-gw")
    p = plan("pod-a", "10.244.2.3", 3000, "tcp", topo, svcs, pi)
    assert p.outcome == "connected"
    assert [(s.where, s.what, s.rule) for s in p.steps] == [
        (
            "pod-a",
            "leaves 10.244.1.2 via eth0, default route via 10.244.1.1 (cni0 on lab-worker)",
            "default via 10.244.1.1 dev eth0",
        ),
        ("lab-worker", "no service matches 10.244.2.3:3000/tcp: no DNAT", "nat-prerouting -> services"),
        (
            "lab-worker",
            "routes 10.244.2.3 to lab-worker2: 10.244.2.0/24 via 172.18.0.4 dev eth0",
            "10.244.2.0/24 via 172.18.0.4 dev eth0",
        ),
        (
            "lab-worker",
            "egress of pod-a: no policy selects this pod: open",
            "filter-forward-policy: 10.244.1.2 not in @policy-egress-pods",
        ),
        ("lab-worker2", "receives it on eth0 and delivers 10.244.2.3 through cni0", "10.244.2.0/24 dev cni0"),
        ("lab-worker2", "ingress of api: allowed by default/api-allow-web rule 0", "ingress-d53b356d-default/api"),
        ("api", "receives the connection from 10.244.1.2", ""),
    ]
    assert p.trace_points == [
        TracePoint(node="lab-worker", hook="prerouting", saddr="10.244.1.2", daddr="10.244.2.3", dport=3000),
        TracePoint(node="lab-worker2", hook="prerouting", saddr="10.244.1.2", daddr="10.244.2.3", dport=3000),
    ]
    assert [(c.ip, c.port, c.pod, c.source_seen, c.outcome) for c in p.candidates] == [
        ("10.244.2.3", 3000, "default/api", "10.244.1.2", "connected")
    ]


def test_other_node_vxlan() -> None:
    topo, svcs, pi = world("vxlan")
    p = plan("pod-a", "10.244.2.3", 3000, "tcp", topo, svcs, pi)
    assert p.outcome == "connected"
    assert [(s.where, s.what, s.rule) for s in p.steps] == [
        (
            "pod-a",
            "leaves 10.244.1.2 via eth0, default route via 10.244.1.1 (cni0 on lab-worker)",
            "default via 10.244.1.1 dev eth0",
        ),
        ("lab-worker", "no service matches 10.244.2.3:3000/tcp: no DNAT", "nat-prerouting -> services"),
        (
            "lab-worker",
            "routes 10.244.2.3 to lab-worker2: 10.244.2.0/24 via 10.244.2.0 dev nlvxlan0 onlink",
            "10.244.2.0/24 via 10.244.2.0 dev nlvxlan0 onlink",
        ),
        (
            "lab-worker",
            "egress of pod-a: no policy selects this pod: open",
            "filter-forward-policy: 10.244.1.2 not in @policy-egress-pods",
        ),
        ("lab-worker2", "receives it on nlvxlan0 and delivers 10.244.2.3 through cni0", "10.244.2.0/24 dev cni0"),
        ("lab-worker2", "ingress of api: allowed by default/api-allow-web rule 0", "ingress-d53b356d-default/api"),
        ("api", "receives the connection from 10.244.1.2", ""),
    ]
    assert p.trace_points == [
        TracePoint(node="lab-worker", hook="prerouting", saddr="10.244.1.2", daddr="10.244.2.3", dport=3000),
        TracePoint(node="lab-worker2", hook="prerouting", saddr="10.244.1.2", daddr="10.244.2.3", dport=3000),
    ]
    assert [(c.ip, c.port, c.pod, c.source_seen, c.outcome) for c in p.candidates] == [
        ("10.244.2.3", 3000, "default/api", "10.244.1.2", "connected")
    ]


def test_cluster_ip() -> None:
    topo, svcs, pi = world("host-gw")
    p = plan("pod-a", "app-service", 80, "tcp", topo, svcs, pi)
    assert p.outcome == "connected"
    assert [(s.where, s.what, s.rule) for s in p.steps] == [
        (
            "pod-a",
            "leaves 10.244.1.2 via eth0, default route via 10.244.1.1 (cni0 on lab-worker)",
            "default via 10.244.1.1 dev eth0",
        ),
        (
            "lab-worker",
            "DNAT 10.96.100.1:80/tcp (default/app-service): service-ad320928-default/app-service/tcp/80 picks among 2 endpoint(s)",
            "nat-prerouting -> services -> service-ad320928-default/app-service/tcp/80",
        ),
        (
            "lab-worker",
            "[endpoint 10.244.1.3] DNAT to 10.244.1.3:3000 (pod-b on lab-worker)",
            "endpoint-3d2a5206-default/app-service/tcp/80__10.244.1.3/3000",
        ),
        (
            "lab-worker",
            "[endpoint 10.244.1.3] routes 10.244.1.3 on the same node: bridge cni0",
            "10.244.1.0/24 dev cni0",
        ),
        (
            "lab-worker",
            "[endpoint 10.244.1.3] egress of pod-a: no policy selects this pod: open",
            "filter-forward-policy: 10.244.1.2 not in @policy-egress-pods",
        ),
        (
            "lab-worker",
            "[endpoint 10.244.1.3] ingress of pod-b: no policy selects this pod: open",
            "filter-forward-policy: 10.244.1.3 not in @policy-ingress-pods",
        ),
        (
            "lab-worker",
            "[endpoint 10.244.1.3] no SNAT: the endpoint sees 10.244.1.2",
            "nat-postrouting -> masquerading -> ip-masq-agent: return",
        ),
        ("pod-b", "[endpoint 10.244.1.3] receives the connection from 10.244.1.2", ""),
        (
            "lab-worker",
            "[endpoint 10.244.2.2] DNAT to 10.244.2.2:3000 (pod-c on lab-worker2)",
            "endpoint-2bc7ecb9-default/app-service/tcp/80__10.244.2.2/3000",
        ),
        (
            "lab-worker",
            "[endpoint 10.244.2.2] routes 10.244.2.2 to lab-worker2: 10.244.2.0/24 via 172.18.0.4 dev eth0",
            "10.244.2.0/24 via 172.18.0.4 dev eth0",
        ),
        (
            "lab-worker",
            "[endpoint 10.244.2.2] egress of pod-a: no policy selects this pod: open",
            "filter-forward-policy: 10.244.1.2 not in @policy-egress-pods",
        ),
        (
            "lab-worker",
            "[endpoint 10.244.2.2] no SNAT: the endpoint sees 10.244.1.2",
            "nat-postrouting -> masquerading -> ip-masq-agent: return",
        ),
        (
            "lab-worker2",
            "[endpoint 10.244.2.2] receives it on eth0 and delivers 10.244.2.2 through cni0",
            "10.244.2.0/24 dev cni0",
        ),
        (
            "lab-worker2",
            "[endpoint 10.244.2.2] ingress of pod-c: no policy selects this pod: open",
            "filter-forward-policy: 10.244.2.2 not in @policy-ingress-pods",
        ),
        ("pod-c", "[endpoint 10.244.2.2] receives the connection from 10.244.1.2", ""),
    ]
    assert p.trace_points == [
        TracePoint(node="lab-worker", hook="prerouting", saddr="10.244.1.2", daddr="10.96.100.1", dport=80),
        TracePoint(node="lab-worker2", hook="prerouting", saddr="10.244.1.2", daddr="10.244.2.2", dport=3000),
    ]
    assert [(c.ip, c.port, c.pod, c.source_seen, c.outcome) for c in p.candidates] == [
        ("10.244.1.3", 3000, "default/pod-b", "10.244.1.2", "connected"),
        ("10.244.2.2", 3000, "default/pod-c", "10.244.1.2", "connected"),
    ]


def test_no_endpoints() -> None:
    topo, svcs, pi = world("host-gw")
    p = plan("pod-a", "nobody", 80, "tcp", topo, svcs, pi)
    assert p.outcome == "refused"
    assert [(s.where, s.what, s.rule) for s in p.steps] == [
        (
            "pod-a",
            "leaves 10.244.1.2 via eth0, default route via 10.244.1.1 (cni0 on lab-worker)",
            "default via 10.244.1.1 dev eth0",
        ),
        (
            "lab-worker",
            "REJECT: default/nobody has no ready endpoints",
            "filter-prerouting -> endpoints-check -> @no-endpoint-services -> reject-chain",
        ),
    ]
    assert p.trace_points == [
        TracePoint(node="lab-worker", hook="prerouting", saddr="10.244.1.2", daddr="10.96.100.2", dport=80)
    ]
    assert [(c.ip, c.port, c.pod, c.source_seen, c.outcome) for c in p.candidates] == []


def test_nodeport() -> None:
    topo, svcs, pi = world("host-gw")
    p = plan("host", "172.18.0.2", 30080, "tcp", topo, svcs, pi)
    assert p.outcome == "connected"
    assert [(s.where, s.what, s.rule) for s in p.steps] == [
        (
            "host",
            "sends from 172.18.0.1 to lab-control-plane (172.18.0.2) on nlba51146d3",
            "172.18.0.1/16 dev nlba51146d3",
        ),
        (
            "lab-control-plane",
            "NodePort 30080/tcp of default/app-nodeport: marked for masquerade, then the service chain",
            "nat-prerouting -> services -> external-9c337f82-default/app-nodeport/tcp/80 -> mark-for-masquerade",
        ),
        (
            "lab-control-plane",
            "service-9c337f82-default/app-nodeport/tcp/80 picks among 1 endpoint(s)",
            "service-9c337f82-default/app-nodeport/tcp/80",
        ),
        (
            "lab-control-plane",
            "DNAT to 10.244.2.2:3000 (pod-c on lab-worker2)",
            "endpoint-7f5d8099-default/app-nodeport/tcp/80__10.244.2.2/3000",
        ),
        (
            "lab-control-plane",
            "routes 10.244.2.2 to lab-worker2: 10.244.2.0/24 via 172.18.0.4 dev eth0",
            "10.244.2.0/24 via 172.18.0.4 dev eth0",
        ),
        ("lab-control-plane", "SNAT (masquerade) 172.18.0.1 -> 172.18.0.2", "nat-postrouting -> masquerading"),
        ("lab-worker2", "receives it on eth0 and delivers 10.244.2.2 through cni0", "10.244.2.0/24 dev cni0"),
        (
            "lab-worker2",
            "ingress of pod-c: no policy selects this pod: open",
            "filter-forward-policy: 10.244.2.2 not in @policy-ingress-pods",
        ),
        ("pod-c", "receives the connection from 172.18.0.2", ""),
    ]
    assert p.trace_points == [
        TracePoint(node="lab-control-plane", hook="prerouting", saddr="172.18.0.1", daddr="172.18.0.2", dport=30080),
        TracePoint(node="lab-worker2", hook="prerouting", saddr="172.18.0.2", daddr="10.244.2.2", dport=3000),
    ]
    assert [(c.ip, c.port, c.pod, c.source_seen, c.outcome) for c in p.candidates] == [
        ("10.244.2.2", 3000, "default/pod-c", "172.18.0.2", "connected")
    ]


def test_lb() -> None:
    topo, svcs, pi = world("host-gw")
    p = plan("host", "172.18.255.200", 80, "tcp", topo, svcs, pi)
    assert p.outcome == "connected"
    assert [(s.where, s.what, s.rule) for s in p.steps] == [
        (
            "host",
            "sends from 172.18.0.1 to LoadBalancer IP 172.18.255.200; lab-control-plane answers ARP for it",
            "172.18.0.1/16 dev nlba51146d3",
        ),
        (
            "lab-control-plane",
            "LoadBalancer IP 172.18.255.200:80 of default/app-lb: marked for masquerade, then the service chain",
            "nat-prerouting -> services -> external-5ee1796b-default/app-lb/tcp/80 -> mark-for-masquerade",
        ),
        (
            "lab-control-plane",
            "service-5ee1796b-default/app-lb/tcp/80 picks among 2 endpoint(s)",
            "service-5ee1796b-default/app-lb/tcp/80",
        ),
        (
            "lab-control-plane",
            "[endpoint 10.244.1.3] DNAT to 10.244.1.3:3000 (pod-b on lab-worker)",
            "endpoint-6d9d1750-default/app-lb/tcp/80__10.244.1.3/3000",
        ),
        (
            "lab-control-plane",
            "[endpoint 10.244.1.3] routes 10.244.1.3 to lab-worker: 10.244.1.0/24 via 172.18.0.3 dev eth0",
            "10.244.1.0/24 via 172.18.0.3 dev eth0",
        ),
        (
            "lab-control-plane",
            "[endpoint 10.244.1.3] SNAT (masquerade) 172.18.0.1 -> 172.18.0.2",
            "nat-postrouting -> masquerading",
        ),
        (
            "lab-worker",
            "[endpoint 10.244.1.3] receives it on eth0 and delivers 10.244.1.3 through cni0",
            "10.244.1.0/24 dev cni0",
        ),
        (
            "lab-worker",
            "[endpoint 10.244.1.3] ingress of pod-b: no policy selects this pod: open",
            "filter-forward-policy: 10.244.1.3 not in @policy-ingress-pods",
        ),
        ("pod-b", "[endpoint 10.244.1.3] receives the connection from 172.18.0.2", ""),
        (
            "lab-control-plane",
            "[endpoint 10.244.2.2] DNAT to 10.244.2.2:3000 (pod-c on lab-worker2)",
            "endpoint-98c19858-default/app-lb/tcp/80__10.244.2.2/3000",
        ),
        (
            "lab-control-plane",
            "[endpoint 10.244.2.2] routes 10.244.2.2 to lab-worker2: 10.244.2.0/24 via 172.18.0.4 dev eth0",
            "10.244.2.0/24 via 172.18.0.4 dev eth0",
        ),
        (
            "lab-control-plane",
            "[endpoint 10.244.2.2] SNAT (masquerade) 172.18.0.1 -> 172.18.0.2",
            "nat-postrouting -> masquerading",
        ),
        (
            "lab-worker2",
            "[endpoint 10.244.2.2] receives it on eth0 and delivers 10.244.2.2 through cni0",
            "10.244.2.0/24 dev cni0",
        ),
        (
            "lab-worker2",
            "[endpoint 10.244.2.2] ingress of pod-c: no policy selects this pod: open",
            "filter-forward-policy: 10.244.2.2 not in @policy-ingress-pods",
        ),
        ("pod-c", "[endpoint 10.244.2.2] receives the connection from 172.18.0.2", ""),
    ]
    assert p.trace_points == [
        TracePoint(node="lab-control-plane", hook="prerouting", saddr="172.18.0.1", daddr="172.18.255.200", dport=80),
        TracePoint(node="lab-worker", hook="prerouting", saddr="172.18.0.2", daddr="10.244.1.3", dport=3000),
        TracePoint(node="lab-worker2", hook="prerouting", saddr="172.18.0.2", daddr="10.244.2.2", dport=3000),
    ]
    assert [(c.ip, c.port, c.pod, c.source_seen, c.outcome) for c in p.candidates] == [
        ("10.244.1.3", 3000, "default/pod-b", "172.18.0.2", "connected"),
        ("10.244.2.2", 3000, "default/pod-c", "172.18.0.2", "connected"),
    ]


def test_denied() -> None:
    topo, svcs, pi = world("host-gw")
    p = plan("pod-b", "api", 3000, "tcp", topo, svcs, pi)
    assert p.outcome == "timeout"
    assert [(s.where, s.what, s.rule) for s in p.steps] == [
        (
            "pod-b",
            "leaves 10.244.1.3 via eth0, default route via 10.244.1.1 (cni0 on lab-worker)",
            "default via 10.244.1.1 dev eth0",
        ),
        ("lab-worker", "no service matches 10.244.2.3:3000/tcp: no DNAT", "nat-prerouting -> services"),
        (
            "lab-worker",
            "routes 10.244.2.3 to lab-worker2: 10.244.2.0/24 via 172.18.0.4 dev eth0",
            "10.244.2.0/24 via 172.18.0.4 dev eth0",
        ),
        (
            "lab-worker",
            "egress of pod-b: no policy selects this pod: open",
            "filter-forward-policy: 10.244.1.3 not in @policy-egress-pods",
        ),
        ("lab-worker2", "receives it on eth0 and delivers 10.244.2.3 through cni0", "10.244.2.0/24 dev cni0"),
        ("lab-worker2", "ingress of api: DENIED by default/api-allow-web", "ingress-d53b356d-default/api"),
        ("api", "never sees the connection", ""),
    ]
    assert p.trace_points == [
        TracePoint(node="lab-worker", hook="prerouting", saddr="10.244.1.3", daddr="10.244.2.3", dport=3000),
        TracePoint(node="lab-worker2", hook="prerouting", saddr="10.244.1.3", daddr="10.244.2.3", dport=3000),
    ]
    assert [(c.ip, c.port, c.pod, c.source_seen, c.outcome) for c in p.candidates] == [
        ("10.244.2.3", 3000, "default/api", "10.244.1.3", "timeout")
    ]


def test_step_rules_name_chains_the_renderer_makes() -> None:
    topo, svcs, pi = world()
    rendered = set()
    for node in topo.nodes:
        rendered |= set(services_ruleset(node.name, [node.underlay_ip], "10.244.0.0/16", svcs).chains)
    for dst, port in (("app-service", 80), ("172.18.255.200", 80)):
        for step in plan("host" if dst[0].isdigit() else "pod-a", dst, port, "tcp", topo, svcs, pi).steps:
            for word in step.rule.replace("->", " ").split():
                if word.startswith(("service-", "endpoint-", "external-")):
                    assert word in rendered, word


def test_policy_denied_names_the_policy_and_explains() -> None:
    topo, svcs, pi = world()
    steps = explain("pod-b", "api", 3000, "tcp", topo, svcs, pi)
    denied = [s for s in steps if "DENIED" in s.what][0]
    assert "isolated for ingress by default/api-allow-web" in denied.detail
    assert "10.244.1.3 (pod-b) -> 10.244.2.3:3000/TCP" in denied.detail


def test_hairpin_masquerades_to_the_bridge_address() -> None:
    topo, svcs, pi = world()
    p = plan("pod-b", "app-service", 80, "tcp", topo, svcs, pi)
    own = [c for c in p.candidates if c.ip == "10.244.1.3"][0]
    assert own.source_seen == "10.244.1.1"
    assert any("a pod reaching itself" in s.what for s in p.steps)


def test_node_source_uses_output_hook() -> None:
    topo, svcs, pi = world()
    p = plan("node:lab-worker", "app-service", 80, "tcp", topo, svcs, pi)
    assert p.trace_points[0] == TracePoint("lab-worker", "output", "10.244.1.1", "10.96.100.1", 80)
    assert p.steps[1].rule == "nat-output -> services -> service-ad320928-default/app-service/tcp/80"


def test_host_to_cluster_ip_is_unreachable_and_bad_names_fail() -> None:
    topo, svcs, pi = world()
    assert plan("host", "app-service", 80, "tcp", topo, svcs, pi).outcome == "unreachable"
    with pytest.raises(TraceError, match="no pod"):
        plan("default/nope", "app-service", 80, "tcp", topo, svcs, pi)
    with pytest.raises(TraceError, match="neither"):
        plan("pod-a", "nothing-here", 80, "tcp", topo, svcs, pi)


def test_announcer_is_a_node_with_a_local_endpoint_for_local_policy() -> None:
    from netlab.trace.model import announcer

    topo, svcs, _ = world()
    for svc in svcs:
        node = announcer(svc, topo)
        if not svc.load_balancer_ip:
            assert node is None
            continue
        assert node in [n.name for n in topo.nodes]
        if svc.external_local and any(e.ready for e in svc.endpoints):
            assert node in {e.node for e in svc.endpoints if e.ready}


def test_ingress_row_matching() -> None:
    rows = [
        {"ingress": "default/a", "host": "learn.example", "path": "/", "pathType": "Prefix"},
        {"ingress": "default/a", "host": "learn.example", "path": "/api", "pathType": "Prefix"},
        {"ingress": "default/b", "host": "*", "path": "/api", "pathType": "Exact"},
    ]
    assert match_ingress(rows, "learn.example", "/api/x")["path"] == "/api"
    assert match_ingress(rows, "learn.example", "/apix")["path"] == "/"
    assert match_ingress(rows, "other", "/api")["ingress"] == "default/b"
    assert match_ingress(rows, "other", "/") is None


def test_a_service_another_proxy_owns_is_not_dnatted_by_the_trace_either() -> None:
    topo, svcs, pi = world("host-gw")
    assert plan("pod-a", "10.96.100.1", 80, "tcp", topo, svcs, pi).outcome == "connected"
    svcs[0] = replace(svcs[0], proxied=False)
    p = plan("pod-a", "10.96.100.1", 80, "tcp", topo, svcs, pi)
    assert p.outcome == "timeout" and not any("DNAT" in s.what or "REJECT" in s.what for s in p.steps)
    assert plan("pod-a", "10.96.100.1", 81, "tcp", topo, svcs, pi).outcome == "timeout", "no cluster-ips-check"
