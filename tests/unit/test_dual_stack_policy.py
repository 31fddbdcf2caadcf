"""NetworkPolicy in a dual-stack cluster: pod and namespace selectors hold for both families; the tracer
follows the IPv6 rules (and ignores them for IPv4 packets, as the kernel does)."""

from __future__ import annotations

from netlab.compile import names
from netlab.compile.netpol import PolicyNamespace, PolicyPod
from netlab.compile.nft_masquerade import add_node_egress
from netlab.compile.nft_policy import BASE_CHAIN, policy_ruleset
from netlab.compile.nftables import Chain, Ruleset
from netlab.trace.nft_eval import Interpreter, Packet

PODS = [PolicyPod("x", "a", "10.244.1.2", "n1", {"pod": "a"}, (), "fd00:10:244:1::2"),
        PolicyPod("x", "b", "10.244.1.3", "n1", {"pod": "b"}, (), "fd00:10:244:1::3"),
        PolicyPod("x", "c", "10.244.2.2", "n2", {"pod": "c"}, (), "fd00:10:244:2::2")]
NAMESPACES = [PolicyNamespace("x", {"kubernetes.io/metadata.name": "x"})]
ONLY_A = {"metadata": {"name": "only-a", "namespace": "x"},
          "spec": {"podSelector": {"matchLabels": {"pod": "c"}}, "policyTypes": ["Ingress"],
                   "ingress": [{"from": [{"podSelector": {"matchLabels": {"pod": "a"}}}], "ports": [{"port": 80}]}]}}


def _verdicts(it: Interpreter, src: str, dst: str, port: int = 80) -> set[str]:
    return {p.verdict or "accept" for p in it.hook("forward", Packet(src, dst, "tcp", port))}


def test_selectors_cover_both_families():
    rs = policy_ruleset("n2", PODS, NAMESPACES, [ONLY_A])
    assert rs.chains[BASE_CHAIN].rules[-2:] == (f"ip6 saddr vmap @{names.SET_POLICY_EGRESS6}",
                                                 f"ip6 daddr vmap @{names.SET_POLICY_INGRESS6}")
    it = Interpreter(rs).check()
    assert _verdicts(it, "fd00:10:244:1::2", "fd00:10:244:2::2") == {"accept"}
    assert _verdicts(it, "fd00:10:244:1::3", "fd00:10:244:2::2") == {"drop"}
    assert _verdicts(it, "fd00:10:244:1::2", "fd00:10:244:2::2", 81) == {"drop"}
    assert _verdicts(it, "10.244.1.2", "10.244.2.2") == {"accept"}
    assert _verdicts(it, "10.244.1.3", "10.244.2.2") == {"drop"}


def test_an_ipv4_only_policy_ruleset_is_unchanged():
    v4 = [PolicyPod(p.namespace, p.name, p.ip, p.node, p.labels) for p in PODS]
    rs = policy_ruleset("n2", v4, NAMESPACES, [ONLY_A])
    assert not any("ip6" in r for c in rs.chains.values() for r in c.rules)
    assert names.SET_POLICY_INGRESS6 not in rs.sets


def test_tracer_skips_ipv6_egress_exemption_for_ipv4():
    rs = Ruleset(table="netlab")
    rs.add_chain(Chain(names.CHAIN_NAT_POSTROUTING, (), "type nat hook postrouting priority srcnat; policy accept;"))
    add_node_egress(rs, "10.244.0.0/16", ["10.244.0.0/16"], ipv6=True)
    it = Interpreter(rs).check()
    assert [p.masquerade for p in it.hook("postrouting", Packet("10.244.1.2", "192.0.2.1", "tcp", 80))] == [True]
    assert [p.masquerade for p in it.hook("postrouting", Packet("fd00:10:244:1::2", "fd00:1::1", "tcp", 80))] == [
        False]


def test_ipv6_ip_block_with_except():
    block = {"metadata": {"name": "v6-block", "namespace": "x"},
             "spec": {"podSelector": {"matchLabels": {"pod": "c"}}, "policyTypes": ["Ingress"],
                      "ingress": [{"from": [{"ipBlock": {"cidr": "fd00:10:244::/56",
                                                         "except": ["fd00:10:244:1::3/128"]}}]}]}}
    it = Interpreter(policy_ruleset("n2", PODS, NAMESPACES, [block])).check()
    assert _verdicts(it, "fd00:10:244:1::2", "fd00:10:244:2::2") == {"accept"}
    assert _verdicts(it, "fd00:10:244:1::3", "fd00:10:244:2::2") == {"drop"}
    assert _verdicts(it, "10.244.1.2", "10.244.2.2") == {"drop"}, "an IPv6 block allows no IPv4 peer"


def test_graph_shows_both_addresses_of_a_dual_stack_pod():
    from netlab.compile import graph, graph_render

    pod = {"kind": "Pod", "metadata": {"name": "web", "namespace": "default", "labels": {}},
           "spec": {"nodeName": "n1"},
           "status": {"phase": "Running", "podIP": "10.244.1.2",
                      "podIPs": [{"ip": "10.244.1.2"}, {"ip": "fd00:10:244:1::2"}]}}
    node = {"kind": "Node", "metadata": {"name": "n1"}, "spec": {"podCIDR": "10.244.1.0/24"},
            "status": {"addresses": [{"type": "InternalIP", "address": "172.18.0.3"}]}}
    dot = graph_render.to_dot(graph.build(nodes=[node], pods=[pod], services=[], endpoints=[], ingresses=[],
                                          policies=[]))
    assert "10.244.1.2" in dot and "fd00:10:244:1::2" in dot


def test_neighbour_discovery_between_pods_is_never_policed():
    """NDP is IPv6's ARP: a unicast neighbour solicitation bridged to an isolated pod must pass."""
    rules = policy_ruleset("n2", PODS, NAMESPACES, [ONLY_A]).chains[BASE_CHAIN].rules
    ndp = [rules.index(f"icmpv6 type {t} accept") for t in ("nd-neighbor-solicit", "nd-neighbor-advert")]
    assert max(ndp) < rules.index(f"ip6 daddr vmap @{names.SET_POLICY_INGRESS6}")
    v4 = [PolicyPod(p.namespace, p.name, p.ip, p.node, p.labels) for p in PODS]
    assert not any("icmpv6" in r for r in policy_ruleset("n2", v4, NAMESPACES, [ONLY_A]).chains[BASE_CHAIN].rules)
