"""netlab.trace.nft_eval: packets walked through the rules netlab compiles (pure, no root).

Each case reads as (source, destination, port) -> where the packet ends up: "ip:port" after DNAT,
"REJECT", "DROP" or "ip:port" unchanged when no rule touches it.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from netlab.compile.nft_policy import policy_ruleset
from netlab.compile.nft_services import services_ruleset
from netlab.compile.nftables import Chain, Ruleset, SetOrMap
from netlab.compile.services import Endpoint, ResolvedService, ServicePortView
from netlab.trace.nft_eval import Interpreter, NftSyntaxError, Packet
from netlab.trace.nft_syntax import parse_rule, priority
from tests.unit.test_trace_model import world

POD_A, POD_B, POD_C, API = "10.244.1.2", "10.244.1.3", "10.244.2.2", "10.244.2.3"


def node_rules(node: str, svcs=None, mode="host-gw") -> Interpreter:
    topo, default_svcs, pi = world(mode)
    n = topo.node(node)
    rs = services_ruleset(n.name, [n.underlay_ip], "10.244.0.0/16", default_svcs if svcs is None else svcs)
    rs.merge(policy_ruleset(n.name, list(pi.pods), pi.namespaces, pi.policies))
    return Interpreter(rs)


def where(it: Interpreter, hook: str, src: str, dst: str, port: int, proto: str = "tcp") -> set[str]:
    out = set()
    for p in it.hook(hook, Packet(src, dst, proto, port)):
        out.add(p.verdict.upper() if p.verdict != "accept" else f"{p.daddr}:{p.dport}")
    return out


@pytest.mark.parametrize(("node", "hook", "src", "dst", "port", "expected"), [
    ("lab-worker", "prerouting", POD_A, "10.96.100.1", 80, {"10.244.1.3:3000", "10.244.2.2:3000"}),
    ("lab-worker", "output", "10.244.1.1", "10.96.100.1", 80, {"10.244.1.3:3000", "10.244.2.2:3000"}),
    ("lab-worker", "prerouting", POD_A, "10.96.100.2", 80, {"REJECT"}),  # no endpoints
    ("lab-worker", "prerouting", POD_A, "10.96.100.1", 81, {"REJECT"}),  # no such port: cluster-ips-check
    ("lab-worker", "prerouting", POD_A, "10.96.100.1", 80, {"10.244.1.3:3000", "10.244.2.2:3000"}),
    ("lab-control-plane", "prerouting", "172.18.0.1", "172.18.0.2", 30080, {"10.244.2.2:3000"}),
    ("lab-worker", "prerouting", "172.18.0.1", "172.18.0.2", 30080, {"172.18.0.2:30080"}),  # not its address
    ("lab-worker", "prerouting", "172.18.0.1", "172.18.255.200", 80, {"10.244.1.3:3000", "10.244.2.2:3000"}),
    ("lab-worker", "prerouting", POD_A, API, 3000, {f"{API}:3000"}),  # pod IP: no DNAT
    ("lab-worker2", "forward", POD_A, API, 3000, {f"{API}:3000"}),  # allowed by the policy
    ("lab-worker2", "forward", POD_B, API, 3000, {"DROP"}),  # not app=web
    ("lab-worker2", "forward", POD_A, API, 3001, {"DROP"}),  # not the policy's port
    ("lab-worker", "forward", POD_B, API, 3000, {f"{API}:3000"}),  # ingress is checked on api's node
    ("lab-worker", "prerouting", POD_A, "10.96.100.1", 80, {"10.244.1.3:3000", "10.244.2.2:3000"}),
])
def test_where_packets_go(node, hook, src, dst, port, expected) -> None:
    assert where(node_rules(node), hook, src, dst, port) == expected


def test_marks_and_masquerade() -> None:
    it = node_rules("lab-control-plane")
    (p,) = it.hook("prerouting", Packet("172.18.0.1", "172.18.0.2", "tcp", 30080))
    assert p.mark & 0x4000 and p.dnat == ("10.244.2.2", 3000)
    assert "mark-for-masquerade" in p.chains() and any(c.startswith("external-") for c in p.chains())
    (q,) = it.hook("postrouting", p)
    assert q.masquerade and q.verdict == "accept" and q.mark & 0x4000 == 0
    (r,) = it.hook("postrouting", Packet(POD_A, API, "tcp", 3000))
    assert not r.masquerade and r.trail[-1].rule.endswith("return")


def test_hairpin_and_outside_clients_are_marked() -> None:
    it = node_rules("lab-worker")
    by_ep = {p.dnat[0]: p for p in it.hook("prerouting", Packet(POD_B, "10.96.100.1", "tcp", 80))}
    assert by_ep[POD_B].mark & 0x4000 and not by_ep[POD_C].mark & 0x4000
    assert all(p.mark & 0x4000 for p in it.hook("prerouting", Packet("172.18.0.1", "10.96.100.1", "tcp", 80)))


def test_udp_and_protocol_matter() -> None:
    svc = ResolvedService("default", "dns", "ClusterIP", "10.96.0.10", None,
                          (ServicePortView("dns", "UDP", 53, None, {POD_C: 5353}),),
                          (Endpoint(POD_C, "pod-c", "lab-worker2", True),))
    it = node_rules("lab-worker", [svc])
    assert where(it, "prerouting", POD_A, "10.96.0.10", 53, "udp") == {"10.244.2.2:5353"}
    assert where(it, "prerouting", POD_A, "10.96.0.10", 53, "tcp") == {"REJECT"}


def test_local_traffic_policy_without_local_endpoint_drops() -> None:
    _topo, svcs, _pi = world()
    svcs = [replace(svcs[2], external_local=True)]
    assert where(node_rules("lab-worker", svcs), "prerouting", "172.18.0.1", "172.18.0.3", 30080) == {"DROP"}
    assert where(node_rules("lab-worker2", svcs), "prerouting", "172.18.0.1", "172.18.0.4", 30080) == \
        {"10.244.2.2:3000"}


def test_policy_rules_carry_their_policy() -> None:
    it = node_rules("lab-worker2")
    (ok,) = it.hook("forward", Packet(POD_A, API, "tcp", 3000))
    hit = ok.trail[-1]
    assert it.ruleset.chains[hit.chain].notes[hit.index] == "default/api-allow-web ingress rule 0"
    (no,) = it.hook("forward", Packet(POD_B, API, "tcp", 3000))
    hit = no.trail[-1]
    assert hit.rule == "drop" and it.ruleset.chains[hit.chain].notes[hit.index] == "isolated by default/api-allow-web"


def test_priorities() -> None:
    assert priority("type filter hook prerouting priority dstnat - 10; policy accept;")[2] == -110
    assert priority("type nat hook output priority -100; policy accept;")[1:3] == ("output", -100)
    assert priority("type nat hook postrouting priority srcnat; policy drop;") == ("nat", "postrouting", 100, "drop")
    with pytest.raises(NftSyntaxError):
        priority("type nat hook output priority banana; policy accept;")


@pytest.mark.parametrize("rule", [
    "ip daddr 10.0.0.1 limit rate 1/second accept",
    "ip6 nexthdr tcp accept",  # ip6 saddr/daddr are understood (dual-stack), other ip6 fields are not
    "tcp flags syn accept",
    "ip daddr vmap",
    "accept drop",
    "ct mark 1 accept",
])
def test_unknown_syntax_is_an_error(rule) -> None:
    with pytest.raises(NftSyntaxError):
        parse_rule(rule)


def test_dangling_references_are_errors() -> None:
    rs = Ruleset()
    rs.add_chain(Chain("base", ("ip daddr @nowhere accept",), "type filter hook forward priority filter; policy "
                                                                "accept;"))
    with pytest.raises(NftSyntaxError, match="missing set"):
        Interpreter(rs).hook("forward", Packet("1.1.1.1", "2.2.2.2", "tcp", 1))
    rs = Ruleset()
    rs.add_chain(Chain("base", ("jump nowhere",), "type filter hook forward priority filter; policy accept;"))
    with pytest.raises(NftSyntaxError, match="missing chain"):
        Interpreter(rs).hook("forward", Packet("1.1.1.1", "2.2.2.2", "tcp", 1))


def test_interval_sets_and_ranges() -> None:
    rs = Ruleset()
    rs.add_set(SetOrMap("peers", "type ipv4_addr; flags interval;", frozenset({"10.0.0.0/8", "192.168.1.5"})))
    rs.add_set(SetOrMap("ports", "typeof meta l4proto . th dport; flags interval;", frozenset({"tcp . 80-90"})))
    rs.add_chain(Chain("base", ("ip saddr @peers meta l4proto . th dport @ports accept", "drop"),
                       "type filter hook forward priority filter; policy accept;"))
    it = Interpreter(rs)
    assert where(it, "forward", "10.9.9.9", "1.1.1.1", 85) == {"1.1.1.1:85"}
    assert where(it, "forward", "10.9.9.9", "1.1.1.1", 91) == {"DROP"}
    assert where(it, "forward", "10.9.9.9", "1.1.1.1", 85, "udp") == {"DROP"}
    assert where(it, "forward", "192.168.1.5", "1.1.1.1", 80) == {"1.1.1.1:80"}
    assert where(it, "forward", "192.168.1.6", "1.1.1.1", 80) == {"DROP"}
