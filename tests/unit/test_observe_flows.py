"""trace.flows: NFLOG records (prefix + packet) turned into flow events with Kubernetes names (pure)."""

from __future__ import annotations

import dataclasses
import json
import socket
import struct

from netlab.api.dataplane_view import Dataplane
from netlab.compile import names
from netlab.compile.desired import node_rulesets
from netlab.compile.nft_observe import prefix
from netlab.trace.flows import Filter, Interpreter, from_dict, parse_ip
from tests.unit.test_trace_model import world

TOPO, SVCS, PI = world()
RULESETS = node_rulesets(TOPO, SVCS, PI, "10.244.0.0/16", observing=True)
DP = Dataplane(TOPO, tuple(SVCS), PI, RULESETS, ())
POD_A, POD_B, POD_C, API = "10.244.1.2", "10.244.1.3", "10.244.2.2", "10.244.2.3"


def tcp(src: str, dst: str, sport: int, dport: int, flags: int = 0x02) -> bytes:
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 40, 1, 0, 64, 6, 0, socket.inet_aton(src), socket.inet_aton(dst))
    return ip + struct.pack("!HHIIBBHHH", sport, dport, 0, 0, 0x50, flags, 0, 0, 0)


def chain(node: str, start: str, within: str = "") -> tuple[str, int]:
    c = next(c for n, c in sorted(RULESETS[node].chains.items()) if n.startswith(start) and within in n)
    return c.name, len(c.rules)


def test_parse_ip() -> None:
    p = parse_ip(tcp(POD_A, API, 40000, 3000, 0x12))
    assert (p.proto, p.src, p.sport, p.dst, p.dport, p.flags) == ("TCP", POD_A, 40000, API, 3000, ("SYN", "ACK"))
    assert parse_ip(b"\x50" + b"\0" * 39) is None  # neither IPv4 nor IPv6


def test_policy_verdicts_name_the_rule_and_the_isolating_policies() -> None:
    it = Interpreter(DP)
    name, n = chain("lab-worker2", "ingress-")
    ok = it.feed("lab-worker2", prefix(name, 0), tcp(POD_A, API, 40000, 3000), 0, 100.0)
    assert (ok.verdict, ok.reason, ok.policy) == ("FORWARDED", "allowed by default/api-allow-web ingress rule 0",
                                                  "default/api-allow-web ingress rule 0")
    assert (ok.source.pod, ok.destination.pod, ok.node) == ("default/pod-a", "default/api", "lab-worker2")
    no = it.feed("lab-worker2", prefix(name, n - 1), tcp(POD_B, API, 40001, 3000), 0, 100.0)
    assert (no.verdict, no.reason) == ("DROPPED",
                                       "default deny: pod isolated for ingress by policies default/api-allow-web")
    assert "FORWARDED" not in no.text() and "DROPPED: default deny" in no.text()


def test_dnat_on_the_client_node_joins_the_verdict_on_the_endpoint_node() -> None:
    it = Interpreter(DP)
    ep, n = chain("lab-worker", "endpoint-", "/app-service/")
    target = ep.rsplit("__", 1)[1].replace("/", ":")
    ip, port = target.split(":")
    assert it.feed("lab-worker", prefix(ep, n - 1), tcp(POD_A, "10.96.100.1", 40002, 80), 0, 100.0) is None
    node = "lab-worker" if ip.startswith("10.244.1.") else "lab-worker2"
    policy = RULESETS[node].chains[names.CHAIN_POLICY]
    ev = it.feed(node, prefix(names.CHAIN_POLICY, len(policy.rules) - 2), tcp(POD_A, ip, 40002, int(port)), 0, 100.1)
    assert (ev.verdict, ev.service, ev.service_address) == ("FORWARDED", "default/app-service", "10.96.100.1:80")
    assert ev.destination.pod in ("default/pod-b", "default/pod-c") and ev.destination.ip == ip
    assert ev.nat == [f"DNAT 10.96.100.1:80 -> {target} on lab-worker"]
    assert "service default/app-service 10.96.100.1:80 => default/pod-" in ev.text()
    assert it.expire(105.0) == []  # joined: no TRANSLATED event


def test_a_dnat_no_verdict_follows_is_shown_as_translated() -> None:
    it = Interpreter(DP)
    ep, n = chain("lab-worker", "endpoint-", "/app-service/")
    it.feed("lab-worker", prefix(ep, n - 1), tcp("10.244.1.1", "10.96.100.1", 40003, 80), 0, 100.0)
    assert it.expire(100.5) == []
    [ev] = it.expire(101.5)
    assert ev.verdict == "TRANSLATED" and ev.service == "default/app-service" and ev.time == 100.0


def test_rejected_and_masqueraded() -> None:
    it = Interpreter(DP)
    ev = it.feed("lab-worker", prefix(names.CHAIN_REJECT, 0), tcp(POD_A, "10.96.100.2", 40004, 80), 0, 1.0)
    assert (ev.verdict, ev.reason, ev.service) == ("REJECTED", "Service default/nobody has no ready endpoints",
                                                   "default/nobody")
    ev = it.feed("lab-worker", prefix(names.CHAIN_CLUSTER_IPS_CHECK, 0), tcp(POD_A, "10.96.100.1", 40005, 81), 0, 1.0)
    assert (ev.verdict, ev.reason) == ("REJECTED", "no Service port 81/TCP on ClusterIP 10.96.100.1")
    policy = RULESETS["lab-worker2"].chains[names.CHAIN_POLICY]
    assert it.feed("lab-worker2", prefix(names.CHAIN_POLICY, len(policy.rules) - 2),
                   tcp("172.18.0.3", POD_C, 40006, 3000), 0x4000, 1.0) is None  # an endpoint: waits for a DNAT
    assert it.expire(1.1) == []
    [ev] = it.expire(1.2)
    assert ev.source.what == "node:lab-worker" and ev.nat == ["SNAT (masquerade) to lab-worker2's address"]
    assert it.feed("lab-worker", "not netlab's", tcp(POD_A, API, 1, 2), 0, 1.0) is None


def test_filters_and_json_round_trip() -> None:
    it = Interpreter(DP)
    name, _ = chain("lab-worker2", "ingress-")
    ev = it.feed("lab-worker2", prefix(name, 0), tcp(POD_A, API, 40000, 3000), 0, 1764600000.25)
    assert Filter(pods=("api",)).matches(ev) and Filter(pods=("default/pod-a",)).matches(ev)
    assert not Filter(pods=("pod-b",)).matches(ev)
    assert Filter(namespaces=("default",), verdicts=("FORWARDED",), protocols=("TCP",), ports=(3000,)).matches(ev)
    assert not Filter(verdicts=("DROPPED",)).matches(ev) and not Filter(services=("app-service",)).matches(ev)
    data = json.loads(ev.to_json())
    ev.nat.append("SNAT x")
    assert json.loads(ev.to_json()) == json.loads(json.dumps({**dataclasses.asdict(ev), "time": data["time"]})), \
        "every field, as dataclasses.asdict names it"
    ev.nat.pop()
    assert data["time"] == "2025-12-01T14:40:00.250Z" and data["verdict"] == "FORWARDED"
    assert from_dict(data) == ev


def test_a_conntrack_destroy_is_an_ended_event_on_the_source_pods_node_with_the_kernels_nat() -> None:
    from netlab.kernel.nflog import CtInfo, CtTuple

    it = Interpreter(DP)
    ct = CtInfo(CtTuple(POD_A, "10.96.100.1", 6, 40010, 80), CtTuple(POD_C, POD_A, 6, 3000, 40010), 0x28, 7, 42,
                (6, 400, 4, 900))
    assert it.conntrack("lab-worker", "NEW", ct, 10.0) is None
    assert it.conntrack("lab-worker2", "DESTROY", ct, 12.5) is None  # shown once, by the client's node
    ev = it.conntrack("lab-worker", "DESTROY", ct, 12.5)
    assert (ev.verdict, ev.service, ev.destination.pod, ev.flags) == ("ENDED", "default/app-service",
                                                                      "default/pod-c", ("TIME_WAIT",))
    assert ev.nat == ["DNAT 10.96.100.1:80 -> 10.244.2.2:3000"]
    assert ev.reason == "connection ended after 2.5s, 6 packets/400 bytes sent, 4/900 back"
    masq = CtInfo(CtTuple("172.18.0.1", "172.18.0.3", 6, 5000, 30080),
                  CtTuple(POD_C, "172.18.0.3", 6, 3000, 61000), 0x38, 8)
    ev = it.conntrack("lab-worker2", "DESTROY", masq, 1.0)  # from the host: shown by the endpoint's node
    assert ev.source.what == "host" and ev.service == "default/app-nodeport"
    assert ev.nat == ["DNAT 172.18.0.3:30080 -> 10.244.2.2:3000", "SNAT 172.18.0.1:5000 -> 172.18.0.3:61000"]
    second = CtInfo(CtTuple("172.18.0.3", POD_C, 6, 61000, 3000), CtTuple(POD_C, "172.18.0.3", 6, 3000, 61000), 0x8, 8)
    assert it.conntrack("lab-worker2", "DESTROY", second, 1.0) is None  # the masqueraded leg: shown above
    probe = CtInfo(CtTuple("10.244.2.1", POD_C, 6, 50000, 3000), CtTuple(POD_C, "10.244.2.1", 6, 3000, 50000), 0x8, 8)
    assert it.conntrack("lab-worker2", "DESTROY", probe, 1.0) is None  # the node's own (a probe)
    direct = CtInfo(CtTuple("172.18.0.1", POD_C, 6, 5001, 3000), CtTuple(POD_C, "172.18.0.1", 6, 3000, 5001), 0x8, 8)
    assert it.conntrack("lab-worker2", "DESTROY", direct, 1.0).source.what == "host"
    assert it.conntrack("lab-worker", "DESTROY", direct, 1.0) is None


def test_a_verdict_read_before_its_dnat_record_waits_for_it() -> None:
    it = Interpreter(DP)
    ep, n = chain("lab-worker", "endpoint-", "/app-service/")
    ip, port = ep.rsplit("__", 1)[1].split("/")
    node = "lab-worker" if ip.startswith("10.244.1.") else "lab-worker2"
    policy = RULESETS[node].chains[names.CHAIN_POLICY]
    assert it.feed(node, prefix(names.CHAIN_POLICY, len(policy.rules) - 2), tcp(POD_A, ip, 40020, int(port)), 0,
                   5.0) is None
    assert it.feed("lab-worker", prefix(ep, n - 1), tcp(POD_A, "10.96.100.1", 40020, 80), 0, 5.01) is None
    [ev] = it.expire(5.02)
    assert (ev.verdict, ev.service, ev.time) == ("FORWARDED", "default/app-service", 5.0)
    assert ev.nat == [f"DNAT 10.96.100.1:80 -> {ip}:{port} on lab-worker"]
    assert it.expire(7.0) == []  # the DNAT was used: no TRANSLATED


def test_external_traffic_policy_local_drop_is_named() -> None:
    from dataclasses import replace

    svcs = [replace(s, external_local=True) if s.name == "app-nodeport" else s for s in SVCS]
    rulesets = node_rulesets(TOPO, svcs, PI, "10.244.0.0/16", observing=True)
    it = Interpreter(Dataplane(TOPO, tuple(svcs), PI, rulesets, ()))
    name = next(n for n, c in rulesets["lab-worker"].chains.items()
                if n.startswith("external-") and "/app-nodeport/" in n and c.rules[-1].endswith(" drop"))
    ev = it.feed("lab-worker", prefix(name, 0), tcp("172.18.0.1", "172.18.0.3", 5000, 30080), 0, 1.0)
    assert (ev.verdict, ev.service) == ("DROPPED", "default/app-nodeport")
    assert ev.reason == "externalTrafficPolicy Local: no endpoint of default/app-nodeport on this node"
    assert ev.source.what == "host"


def test_traffic_policy_local_drops_name_the_policy_and_the_service() -> None:
    import dataclasses

    # app-service with internalTrafficPolicy Local: lab-control-plane runs none of its endpoints
    svcs = [dataclasses.replace(s, internal_local=True) if s.name == "app-service" else s for s in SVCS]
    rulesets = node_rulesets(TOPO, svcs, PI, "10.244.0.0/16", observing=True)
    it = Interpreter(Dataplane(TOPO, tuple(svcs), PI, rulesets, ()))
    drop = rulesets["lab-control-plane"].chains[names.CHAIN_NO_LOCAL_ENDPOINTS]
    assert drop.rules == (f'log prefix "0:{names.CHAIN_NO_LOCAL_ENDPOINTS}" group {names.NFLOG_GROUP} drop',)
    ev = it.feed("lab-control-plane", prefix(names.CHAIN_NO_LOCAL_ENDPOINTS, 0),
                 tcp("172.18.0.2", "10.96.100.1", 40020, 80), 0, 1.0)
    assert (ev.verdict, ev.service, ev.service_address) == ("DROPPED", "default/app-service", "10.96.100.1:80")
    assert ev.reason == "internalTrafficPolicy Local: no endpoint of default/app-service on this node"
    assert ev.source.what == "node:lab-control-plane", ev.source
    # externalTrafficPolicy Local: the NodePort of a node without an endpoint drops, and says why
    ext, n = chain("lab-control-plane", "external-", "/app-nodeport/")
    ev = it.feed("lab-control-plane", prefix(ext, n - 1), tcp("172.18.0.1", "172.18.0.2", 40021, 30080), 0, 1.0)
    assert ev is not None and ev.verdict == "DROPPED", ev
    assert ev.reason == "externalTrafficPolicy Local: no endpoint of default/app-nodeport on this node", ev


def test_a_destroy_event_says_when_the_connection_started_without_a_new_event() -> None:
    import dataclasses

    from netlab.kernel.nflog import CtInfo, CtTuple, parse_ct

    def nla(kind: int, data: bytes) -> bytes:
        return struct.pack("=HH", 4 + len(data), kind) + data + bytes(-len(data) % 4)

    # ctnetlink as the kernel sends it with nf_conntrack_timestamp on: CTA_TIMESTAMP(20) { START(1) u64 ns }
    body = nla(3, struct.pack("!I", 0x8)) + nla(12, struct.pack("!I", 42)) + \
        nla(20 | 0x8000, nla(1, struct.pack("!Q", 1_764_600_000_250_000_000)))
    parsed = parse_ct(body)
    assert (parsed.status, parsed.id) == (0x8, 42) and abs(parsed.started - 1_764_600_000.25) < 1e-6
    assert parse_ct(nla(3, struct.pack("!I", 0))).started is None
    it = Interpreter(DP)
    ct = CtInfo(CtTuple(POD_A, "10.96.100.1", 6, 40011, 80), CtTuple(POD_C, POD_A, 6, 3000, 40011), 0x28, 7, 43)
    ev = it.conntrack("lab-worker", "DESTROY", dataclasses.replace(ct, started=10.0), 13.0)
    assert ev.reason == "connection ended after 3.0s", ev.reason
