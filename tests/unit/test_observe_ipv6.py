"""netlab observe in a dual-stack cluster: IPv6 packets from NFLOG and IPv6 conntrack tuples become flow
events with the same Kubernetes names as IPv4 ones. Pure."""

from __future__ import annotations

import socket
import struct

from netlab.api.dataplane_view import Dataplane
from netlab.compile import names
from netlab.compile.desired import node_rulesets
from netlab.compile.nft_observe import prefix
from netlab.kernel.nflog import CtInfo, CtTuple, parse_ct
from netlab.trace.flows import Interpreter, parse_ip
from tests.unit.test_trace_model_ipv6 import POD_A, POD_B, POD_C, _desired, _policy

D = _desired(_policy("web-from-client", {"podSelector": {"matchLabels": {"app": "web"}}, "ingress": [
    {"from": [{"podSelector": {"matchLabels": {"app": "client"}}}]}]}))
RULESETS = node_rulesets(D.topology, list(D.services.values()), D.network.policy, D.topology.pod_subnet,
                         observing=True)
DP = Dataplane(D.topology, tuple(D.services.values()), D.network.policy, RULESETS, ())
WEB = D.services["default/web"]


def tcp6(src: str, dst: str, sport: int, dport: int, flags: int = 0x02, hop_by_hop: bool = False) -> bytes:
    l4 = struct.pack("!HHIIBBHHH", sport, dport, 0, 0, 0x50, flags, 0, 0, 0)
    ext = bytes((6, 0)) + bytes(6) if hop_by_hop else b""   # an 8-byte hop-by-hop header, then TCP
    head = struct.pack("!IHBB", 6 << 28, len(ext) + len(l4), 0 if hop_by_hop else 6, 64)
    return head + socket.inet_pton(socket.AF_INET6, src) + socket.inet_pton(socket.AF_INET6, dst) + ext + l4


def chain(node: str, start: str, within: str = "") -> tuple[str, int]:
    c = next(c for n, c in sorted(RULESETS[node].chains.items()) if n.startswith(start) and within in n)
    return c.name, len(c.rules)


def test_ipv6_packets_are_parsed_past_extension_headers() -> None:
    p = parse_ip(tcp6(POD_A, POD_C, 40000, 3000, 0x12))
    assert (p.proto, p.src, p.sport, p.dst, p.dport, p.flags) == ("TCP", POD_A, 40000, POD_C, 3000, ("SYN", "ACK"))
    q = parse_ip(tcp6(POD_A, POD_C, 40001, 3000, hop_by_hop=True))
    assert (q.proto, q.sport, q.dport) == ("TCP", 40001, 3000)
    icmp = parse_ip(struct.pack("!IHBB", 6 << 28, 8, 58, 64) + bytes(32) + bytes((128, 0)) + bytes(6))
    assert (icmp.proto, icmp.flags) == ("ICMPv6", ("type 128",))
    assert parse_ip(b"\x60" + bytes(20)) is None   # cut short


def test_the_policy_chain_logs_ipv6_deliveries_and_exits_too() -> None:
    node = D.topology.node("lab-worker")
    rules = RULESETS["lab-worker"].chains[names.CHAIN_POLICY].rules
    assert any(f"ip6 daddr {node.pod_cidr6} log prefix" in r for r in rules)
    assert any(f"ip6 daddr != {D.topology.pod_subnet6} log prefix" in r for r in rules)


def test_an_ipv6_dnat_joins_its_verdict_with_ipv6_names() -> None:
    it = Interpreter(DP)
    ep, n = chain("lab-worker", "endpoint-", "/web/tcp/80/ipv6__")
    target = ep.rsplit("__", 1)[1]                         # fd00-10-244-1--3/3000
    ip = POD_B if target.startswith(POD_B.replace(":", "-")) else POD_C
    assert it.feed("lab-worker", prefix(ep, n - 1), tcp6(POD_A, WEB.cluster_ip6, 40002, 80), 0, 100.0) is None
    node = "lab-worker" if ip == POD_B else "lab-worker2"
    ingress, _ = chain(node, "ingress-")
    ev = it.feed(node, prefix(ingress, 0), tcp6(POD_A, ip, 40002, 3000), 0, 100.1)
    assert (ev.verdict, ev.service, ev.service_address) == ("FORWARDED", "default/web", f"[{WEB.cluster_ip6}]:80")
    assert (ev.source.pod, ev.destination.ip) == ("default/a", ip)
    assert ev.nat == [f"DNAT [{WEB.cluster_ip6}]:80 -> [{ip}]:3000 on lab-worker"]
    assert f"[{POD_A}]:40002" in ev.text() and ev.reason == "allowed by default/web-from-client ingress rule 0"
    assert it.expire(105.0) == []


def test_an_isolated_pod_drops_ipv6_from_others_by_name() -> None:
    it = Interpreter(DP)
    ingress, n = chain("lab-worker2", "ingress-")
    # c is an endpoint of a Service: the verdict waits a moment for a DNAT record, which never comes
    assert it.feed("lab-worker2", prefix(ingress, n - 1), tcp6(POD_B, POD_C, 40003, 3000), 0, 1.0) is None
    [ev] = it.expire(1.5)
    assert (ev.verdict, ev.source.pod, ev.destination.pod) == ("DROPPED", "default/b", "default/c")
    assert ev.reason == "default deny: pod isolated for ingress by policies default/web-from-client"


def test_ipv6_conntrack_tuples_parse_and_end_as_events() -> None:
    def nested(kind: int, body: bytes) -> bytes:
        return struct.pack("=HH", 4 + len(body), kind | 0x8000) + body

    def attr(kind: int, data: bytes) -> bytes:
        return struct.pack("=HH", 4 + len(data), kind) + data + bytes((4 - len(data) % 4) % 4)

    def tuple_(src: str, dst: str, sport: int, dport: int) -> bytes:
        ips = attr(3, socket.inet_pton(socket.AF_INET6, src)) + attr(4, socket.inet_pton(socket.AF_INET6, dst))
        ports = attr(1, bytes((6,))) + attr(2, struct.pack("!H", sport)) + attr(3, struct.pack("!H", dport))
        return nested(1, ips) + nested(2, ports)

    ct = parse_ct(nested(1, tuple_(POD_A, WEB.cluster_ip6, 40010, 80)) + nested(2, tuple_(POD_C, POD_A, 3000, 40010))
                  + attr(3, struct.pack("!I", 0x28)))
    assert ct.orig == CtTuple(POD_A, WEB.cluster_ip6, 6, 40010, 80)
    assert ct.reply == CtTuple(POD_C, POD_A, 6, 3000, 40010)
    it = Interpreter(DP)
    assert it.conntrack("lab-worker2", "DESTROY", ct, 2.0) is None   # shown by the client's node only
    ev = it.conntrack("lab-worker", "DESTROY", ct, 2.0)
    assert (ev.verdict, ev.service, ev.destination.pod) == ("ENDED", "default/web", "default/c")
    assert ev.nat == [f"DNAT [{WEB.cluster_ip6}]:80 -> [{POD_C}]:3000"]
    host = D.topology.host_ip6
    masq = CtInfo(CtTuple(host, POD_C, 6, 5000, 3000), CtTuple(POD_C, host, 6, 3000, 5000), 0x8, 9)
    assert it.conntrack("lab-worker2", "DESTROY", masq, 1.0).source.what == "host"
