"""netlab trace of IPv6 packets in a dual-stack cluster: the compiled Desired walked for an IPv6 ClusterIP,
pod to pod over IPv6 (host-gw and vxlan), NodePort on a node's IPv6 address, NetworkPolicy by IPv6
address, and how the family is chosen. Pure."""

from __future__ import annotations

import pytest

from netlab.compile import names
from netlab.compile.config import ClusterConfig
from netlab.compile.desired import compile_objects
from netlab.trace.kernel import match_rule
from netlab.trace.model import TraceError, plan

POD_A, POD_B, POD_C = "fd00:10:244:1::2", "fd00:10:244:1::3", "fd00:10:244:2::2"   # a, b on worker; c on worker2


def _pod(name: str, node: str, app: str) -> dict:
    return {"kind": "Pod", "metadata": {"name": name, "namespace": "default", "labels": {"app": app}},
            "spec": {"nodeName": node, "containers": [{"name": "c", "ports": [{"containerPort": 3000}]}]}}


def _svc(name: str, **spec) -> dict:
    return {"kind": "Service", "metadata": {"name": name, "namespace": "default"},
            "spec": {"selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": 3000}], **spec}}


def _policy(name: str, spec: dict) -> dict:
    return {"kind": "NetworkPolicy", "metadata": {"name": name, "namespace": "default"}, "spec": spec}


def _desired(*extra: dict, mode: str = "host-gw"):
    cfg = ClusterConfig.from_manifest({"mode": mode, "networking": {"ipFamily": "dual"}, "nodes": [
        {"role": "control-plane"}, {"role": "worker"}, {"role": "worker"}]}, "lab")
    objects = [_pod("a", "lab-worker", "client"), _pod("b", "lab-worker", "web"), _pod("c", "lab-worker2", "web"),
               _svc("web", ipFamilyPolicy="PreferDualStack", type="NodePort"),
               _svc("web6", ipFamilies=["IPv6", "IPv4"], ipFamilyPolicy="RequireDualStack"),
               _svc("web4", ipFamilies=["IPv4"]), _svc("empty6", ipFamilies=["IPv6"], selector={"app": "none"}),
               *extra]
    return compile_objects({f"{o['kind']}/default/{o['metadata']['name']}": o for o in objects}, cfg)


def _plan(d, src: str, dst: str, port: int | None, family: str | None = None):
    return plan(src, dst, port, "tcp", d.topology, list(d.services.values()), d.network.policy,
                rulesets=d.rulesets, family=family)


def _text(p) -> str:
    return "\n".join(f"[{s.where}] {s.what} | {s.detail} | {s.rule}" for s in p.steps)


def test_pod_to_an_ipv6_clusterip_names_the_ip6_set_chain_and_dnat():
    d = _desired()
    web = d.services["default/web"]
    p = _plan(d, "a", "web", 80, "IPv6")
    assert (p.source.ip, p.dst_ip, p.outcome) == (POD_A, web.cluster_ip6, "connected")
    text = _text(p)
    assert f"@service-ips6 `{web.cluster_ip6} . tcp . 80 : goto service-" in text
    assert "-default/web/tcp/80/ipv6" in text
    assert f"dnat ip6 to [{POD_B}]:3000" in text and f"dnat ip6 to [{POD_C}]:3000" in text
    assert f"DNAT to [{POD_C}]:3000 (c on lab-worker2)" in text
    assert {(c.ip, c.pod, c.source_seen) for c in p.candidates} == {(POD_B, "default/b", POD_A),
                                                                    (POD_C, "default/c", POD_A)}
    assert "@policy-ingress-pods6" in text   # the policy dispatch of the packet's family
    assert p.trace_points[0].saddr == POD_A and p.trace_points[0].daddr == web.cluster_ip6
    assert match_rule(p.trace_points[0], "tcp") == (f"ip6 saddr {POD_A} ip6 daddr {web.cluster_ip6} tcp dport 80 "
                                                    "meta nftrace set 1")


def test_the_family_of_a_name_is_the_services_clusterip_family_unless_asked():
    d = _desired()
    assert _plan(d, "a", "web", 80).dst_ip == d.services["default/web"].cluster_ip       # primary: IPv4
    assert _plan(d, "a", "web6", 80).dst_ip == d.services["default/web6"].cluster_ip6    # ipFamilies [IPv6, IPv4]
    assert _plan(d, "a", "web6", 80, "IPv4").dst_ip == d.services["default/web6"].cluster_ip
    assert _plan(d, "a", "c", 3000).dst_ip == "10.244.2.2"                               # a pod: its primary
    assert _plan(d, "a", "c", 3000, "IPv6").dst_ip == POD_C
    with pytest.raises(TraceError, match="has no IPv6 ClusterIP"):
        _plan(d, "a", "web4", 80, "IPv6")
    with pytest.raises(TraceError, match="IPv6 address, not IPv4"):
        _plan(d, "a", POD_C, 3000, "IPv4")


def test_an_ipv4_cluster_refuses_an_ipv6_trace():
    cfg = ClusterConfig.from_manifest({}, "lab")
    d = compile_objects({"Pod/default/a": _pod("a", "lab-worker", "x")}, cfg)
    with pytest.raises(TraceError, match="no IPv6"):
        plan("a", POD_C, 80, "tcp", d.topology, [], d.network.policy, rulesets=d.rulesets)


@pytest.mark.parametrize("mode", ["host-gw", "vxlan"])
def test_pod_to_pod_over_ipv6_across_nodes_and_on_one_node(mode):
    d = _desired(mode=mode)
    p = _plan(d, "a", POD_C, 3000)
    assert p.outcome == "connected" and p.source.ip == POD_A
    assert [c.source_seen for c in p.candidates] == [POD_A]   # no NAT between pods
    text = _text(p)
    assert "no element of @service-ips6 or @service-nodeports6" in text
    if mode == "vxlan":
        assert f"fd00:10:244:2::/64 via fd00:10:244:2:: dev {names.VXLAN_DEVICE} onlink" in text
    else:
        worker2 = d.topology.node("lab-worker2")
        assert f"fd00:10:244:2::/64 via {worker2.underlay_ip6} dev eth0" in text
    assert [t.node for t in p.trace_points] == ["lab-worker", "lab-worker2"]
    same = _plan(d, "a", POD_B, 3000)
    assert same.outcome == "connected" and "routes fd00:10:244:1::3 on the same node: bridge cni0" in _text(same)


def test_host_to_a_nodeport_on_a_nodes_ipv6_address_is_masqueraded():
    d = _desired()
    worker = d.topology.node("lab-worker")
    port = d.services["default/web"].ports[0].node_port
    p = _plan(d, "host", f"{worker.underlay_ip6}", port)
    assert p.source.ip == d.topology.host_ip6 and p.outcome == "connected"
    text = _text(p)
    assert f"ip6 daddr @nodeport-ips6 meta l4proto . th dport vmap @service-nodeports6: `tcp . {port} : goto " \
           "external-" in text
    assert {c.source_seen for c in p.candidates} == {"fd00:10:244:1::1", worker.underlay_ip6}   # SNAT per route


def test_an_ipv6_service_without_endpoints_is_refused():
    d = _desired()
    p = _plan(d, "a", "empty6", 80)
    assert p.outcome == "refused" and "@no-endpoint-services6" in _text(p)


def test_ipv6_leaves_nowhere_outside_the_cluster():
    p = _plan(_desired(), "a", "2001:db8::1", 80)
    assert p.outcome == "unreachable" and "no IPv6 default route" in _text(p)


def test_policy_verdicts_over_ipv6_name_the_policy_rule():
    only_client = _policy("web-from-client", {
        "podSelector": {"matchLabels": {"app": "web"}}, "policyTypes": ["Ingress"],
        "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "client"}}}], "ports": [{"port": 3000}]}]})
    d = _desired(only_client)
    allowed = _plan(d, "a", POD_C, 3000)
    assert allowed.outcome == "connected"
    assert "ingress of c: allowed by default/web-from-client rule 0" in _text(allowed)
    denied = _plan(d, "b", POD_C, 3000)
    assert denied.outcome == "timeout"
    assert "ingress of c: DENIED by default/web-from-client" in _text(denied)
    assert f"{POD_B} (b) -> [{POD_C}]:3000/TCP" in _text(denied)


def test_an_ipv6_ip_block_with_except_decides_per_address():
    block = _policy("v6-block", {
        "podSelector": {"matchLabels": {"app": "web"}}, "policyTypes": ["Ingress"],
        "ingress": [{"from": [{"ipBlock": {"cidr": "fd00:10:244::/56", "except": [f"{POD_B}/128"]}}]}]})
    d = _desired(block)
    assert _plan(d, "a", POD_C, 3000).outcome == "connected"
    assert _plan(d, "b", POD_C, 3000).outcome == "timeout"
    assert _plan(d, "b", "10.244.2.2", 3000).outcome == "timeout"   # IPv4 peers are not in an IPv6 block


@pytest.mark.parametrize("dst, want", [
    ("[fd00:10:96::1]:80", ("fd00:10:96::1", 80)), ("[fd00:10:96::1]", ("fd00:10:96::1", None)),
    ("fd00:10:96::1", ("fd00:10:96::1", None)), ("web:80", ("web", 80)), ("10.96.0.1:80", ("10.96.0.1", 80)),
    ("web", ("web", None))])
def test_the_cli_reads_ipv6_destinations_as_it_reads_ipv4_ones(dst, want):
    from netlab.cli.trace import _parse_dst

    assert _parse_dst(dst) == want


@pytest.mark.parametrize("dst", ["[fd00:10:96::1", "[web]:80", "[fd00::1]80", "[fd00::1]:http"])
def test_a_malformed_bracketed_destination_is_refused(dst):
    import click

    from netlab.cli.trace import _parse_dst

    with pytest.raises(click.BadParameter):
        _parse_dst(dst)
