"""Flow events from NFLOG records: which rule decided a new connection, in Kubernetes names. Pure.

The records come from the `log` statements compile.nft_observe puts on the verdict rules while an
observer runs. A record's prefix names the rule (`<rule#>:<chain>`), its payload is the packet as
the rule saw it. The names come from the compiled data path the controller serves (the same one
`netlab trace` reads): pods and nodes by address, services by ClusterIP/LoadBalancer IP/NodePort,
endpoint chains to their service and endpoint, a policy chain's notes to the policy rule.

DNAT happens in the client node's nat prerouting, before the verdict rule sees the packet (on that
node or, across nodes, on the endpoint's): the endpoint chain's record is kept for a short while and
joined to the verdict of the same connection (protocol, source and the endpoint address). One that
no verdict rule follows within EXPIRE seconds is shown as TRANSLATED (Hubble's name for it).
"""

from __future__ import annotations

import calendar
import json
import socket
import struct
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from netlab.compile import names, nft_services
from netlab.compile.families import NFT
from netlab.compile.nft_observe import find_chain, parse_prefix
from netlab.compile.nftables import Ruleset
from netlab.compile.services import ResolvedService, serving_endpoints

if TYPE_CHECKING:
    from netlab.api.dataplane_view import Dataplane
    from netlab.kernel.nflog import CtInfo

EXPIRE = 1.0
HOLD = 0.15  # seconds a verdict to a Service endpoint waits for the DNAT record read from another node
MASQ_MARK = int(nft_services.MASQ_MARK, 16)
IPS_DST_NAT = 0x20
_PROTOS = {6: "TCP", 17: "UDP", 1: "ICMP", 58: "ICMPv6", 132: "SCTP"}
_TCP_FLAGS = ((0x02, "SYN"), (0x10, "ACK"), (0x01, "FIN"), (0x04, "RST"), (0x08, "PSH"), (0x20, "URG"))
VERDICTS = ("FORWARDED", "DROPPED", "REJECTED", "TRANSLATED", "ENDED")
_TCP_STATES = ("NONE", "SYN_SENT", "SYN_RECV", "ESTABLISHED", "FIN_WAIT", "CLOSE_WAIT", "LAST_ACK", "TIME_WAIT",
               "CLOSE", "SYN_SENT2")


@dataclass(frozen=True)
class Packet:
    proto: str  # TCP | UDP | ICMP | ...
    src: str
    dst: str
    sport: int = 0
    dport: int = 0
    flags: tuple[str, ...] = ()  # TCP flags, or ("type N",) for ICMP


def parse_ip(payload: bytes) -> Packet | None:
    """The IPv4 or IPv6 header and the ports/flags after it; None for anything else."""
    if len(payload) >= 20 and payload[0] >> 4 == 4:
        ihl = (payload[0] & 0x0F) * 4
        proto, l4 = payload[9], payload[ihl:]
        src, dst = socket.inet_ntoa(payload[12:16]), socket.inet_ntoa(payload[16:20])
    elif len(payload) >= 40 and payload[0] >> 4 == 6:
        src, dst = socket.inet_ntop(socket.AF_INET6, payload[8:24]), socket.inet_ntop(socket.AF_INET6, payload[24:40])
        proto, l4 = _ipv6_upper_layer(payload[6], payload[40:])
    else:
        return None
    name = _PROTOS.get(proto, str(proto))
    if proto in (6, 17, 132) and len(l4) >= 4:
        sport, dport = struct.unpack("!HH", l4[:4])
        flags = tuple(f for bit, f in _TCP_FLAGS if proto == 6 and len(l4) >= 14 and l4[13] & bit)
        return Packet(name, src, dst, sport, dport, flags)
    if proto in (1, 58) and l4:
        return Packet(name, src, dst, flags=(f"type {l4[0]}",))
    return Packet(name, src, dst)


def _ipv6_upper_layer(next_header: int, rest: bytes) -> tuple[int, bytes]:
    """Past IPv6 extension headers (hop-by-hop, routing, destination options: length in 8-byte units after
    the first 8; fragment: 8 bytes) to the transport protocol and its header."""
    while next_header in (0, 43, 60, 44) and len(rest) >= 8:
        length = 8 if next_header == 44 else (rest[1] + 1) * 8
        next_header, rest = rest[0], rest[length:]
    return next_header, rest


@dataclass(frozen=True)
class Peer:
    ip: str
    port: int
    pod: str = ""  # ns/name
    what: str = ""  # "node:<name>", "host" when not a pod

    def as_dict(self) -> dict[str, Any]:
        return {"ip": self.ip, "port": self.port, "pod": self.pod, "what": self.what}

    def label(self) -> str:
        who = self.pod or self.what
        addr = f"{_bracketed(self.ip)}:{self.port}" if self.port else self.ip
        return f"{who} {addr}" if who else addr


@dataclass
class FlowEvent:
    time: float
    node: str
    protocol: str
    source: Peer
    destination: Peer  # the endpoint the packet goes to (after DNAT)
    verdict: str  # FORWARDED | DROPPED | REJECTED | TRANSLATED
    reason: str
    flags: tuple[str, ...] = ()
    service: str = ""  # ns/name
    service_address: str = ""  # ip:port the client asked for
    nat: list[str] = field(default_factory=list)
    policy: str = ""  # the policy rule that allowed, or the policies that isolate the pod
    rule: str = ""  # <rule#>:<chain> on the node

    def to_json(self) -> str:
        # by hand: dataclasses.asdict deep-copies field by field and cost ~0.3 ms per event, the observer's
        # largest per-event cost (bench/observe.py); the keys are the fields', as asdict gives them
        return json.dumps({
            "time": _iso(self.time), "node": self.node, "protocol": self.protocol, "source": self.source.as_dict(),
            "destination": self.destination.as_dict(), "verdict": self.verdict, "reason": self.reason,
            "flags": list(self.flags), "service": self.service, "service_address": self.service_address,
            "nat": list(self.nat), "policy": self.policy, "rule": self.rule}, sort_keys=True)

    def text(self) -> str:
        dst = self.destination.label()
        if self.service:
            dst = f"service {self.service} {self.service_address}" + (
                "" if self.verdict in ("REJECTED",) or self.destination.ip == self.service_address.split(":")[0]
                else f" => {dst}")
        flags = f" {','.join(self.flags)}" if self.flags else ""
        nat = f" [{'; '.join(self.nat)}]" if self.nat else ""
        return (f"{_clock(self.time)} [{self.node}] {self.source.label()} -> {dst} {self.protocol}{flags}"
                f"{nat} {self.verdict}: {self.reason}")


def _bracketed(ip: str) -> str:
    """An address as it is written before `:port`: an IPv6 one in brackets."""
    return f"[{ip}]" if ":" in ip else ip


def _clock(t: float) -> str:
    return time.strftime("%b %d %H:%M:%S", time.localtime(t)) + f".{int(t * 1000) % 1000:03d}"


def _iso(t: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{int(t * 1000) % 1000:03d}Z"


@dataclass
class _Dnat:
    time: float
    node: str
    service: str
    address: str  # ClusterIP/LB IP/node IP : port the client used
    packet: Packet
    used: bool = False


class Names:
    """Addresses and chains of the compiled data path, in Kubernetes names."""

    def __init__(self, dataplane: Dataplane) -> None:
        topo = dataplane.topology
        self.rulesets: dict[str, Ruleset] = dict(dataplane.rulesets)
        self.pods = {ip: f"{p.namespace}/{p.name}" for p in topo.pods for ip in (p.ip, p.ip6) if ip}
        self.pod_nodes = {ip: p.node for p in topo.pods for ip in (p.ip, p.ip6) if ip}
        self.nodes = {ip: n.name for n in topo.nodes for ip in (n.underlay_ip, n.underlay_ip6) if ip}
        self.gateways = {ip for n in topo.nodes for ip in (n.gateway, n.gateway6) if ip}
        self.host_ips = {ip for ip in (topo.host_ip, topo.host_ip6) if ip}
        self.families = [NFT[f] for f in topo.ip_families]
        self.addresses: dict[tuple[str, str, int], str] = {}  # (ip, proto, port) -> service
        self.node_ports: dict[tuple[str, int], str] = {}
        self.chains: dict[str, tuple[str, str]] = {}  # service chain name -> (service, endpoint ip:port or "")
        for svc in dataplane.services:
            self._add(svc)
        self.endpoints = {(ep.rpartition(":")[0].strip("[]"), int(ep.rpartition(":")[2]))
                          for _, ep in self.chains.values() if ep}

    def _add(self, svc: ResolvedService) -> None:
        for port in svc.ports:
            proto = port.protocol.upper()
            for ip in (svc.cluster_ip, svc.cluster_ip6, *svc.load_balancer_ips(), *svc.external_ips):
                if ip:
                    self.addresses[(ip, proto, port.port)] = svc.key
            if port.node_port:
                self.node_ports[(proto, port.node_port)] = svc.key
            for fam in self.families:
                for chain in (nft_services.service_chain(svc, port, fam), nft_services.external_chain(svc, port, fam),
                              nft_services.firewall_chain(svc, port, fam)):
                    self.chains[chain] = (svc.key, "")
                for ep in serving_endpoints(svc, port):
                    for ip in ep.addresses(fam.family):
                        chain = nft_services.endpoint_chain(svc, port, ep.ip, fam, ep)
                        self.chains[chain] = (svc.key, f"{_bracketed(ip)}:{port.target[ep.ip]}")

    def peer(self, ip: str, port: int) -> Peer:
        if ip in self.pods:
            return Peer(ip, port, pod=self.pods[ip])
        if ip in self.nodes:
            return Peer(ip, port, what=f"node:{self.nodes[ip]}")
        return Peer(ip, port, what="host" if ip in self.host_ips else "")

    def service_at(self, ip: str, proto: str, port: int) -> str:
        if (ip, proto, port) in self.addresses:
            return self.addresses[(ip, proto, port)]
        return self.node_ports.get((proto, port), "") if ip in self.nodes else ""


class Interpreter:
    """Turns the records of every node into flow events; `expire()` gives the unjoined DNATs."""

    def __init__(self, dataplane: Dataplane) -> None:
        self.names = Names(dataplane)
        self._dnats: dict[tuple[str, str, int, str, int], _Dnat] = {}
        self._held: dict[tuple[str, str, int, str, int], FlowEvent] = {}  # verdicts waiting for their DNAT
        self._ready: list[FlowEvent] = []
        self._started: dict[tuple[str, int], float] = {}  # (node, conntrack id) -> when NEW was seen

    def feed(self, node: str, prefix: str, payload: bytes, mark: int, now: float) -> FlowEvent | None:
        parsed, pkt = parse_prefix(prefix), parse_ip(payload)
        ruleset = self.names.rulesets.get(node)
        if parsed is None or pkt is None or ruleset is None:
            return None
        chain = find_chain(ruleset, parsed[0])
        if chain is None:
            return None
        index = parsed[1]
        note = chain.notes[index] if index < len(chain.notes) else ""
        name = chain.name
        if name.startswith("endpoint-"):
            self._remember(node, name, pkt, now)
            return None
        ev = self._event(node, pkt, now, f"{index}:{chain.name}", mark)
        last = index == len(chain.rules) - 1
        if name.startswith(("ingress-", "egress-")):
            direction = name.split("-", 1)[0]
            if last:
                ev.verdict, ev.policy = "DROPPED", note.removeprefix("isolated by ")
                ev.reason = f"default deny: pod isolated for {direction} by policies {ev.policy}"
            else:
                ev.verdict, ev.policy, ev.reason = "FORWARDED", note, f"allowed by {note}"
        elif name == names.CHAIN_POLICY:
            ev.verdict, ev.reason = "FORWARDED", note or "forwarded"
        elif name == names.CHAIN_REJECT:
            ev.verdict = "REJECTED"
            ev.reason = f"Service {ev.service or '?'} has no ready endpoints"
        elif name == names.CHAIN_CLUSTER_IPS_CHECK:
            ev.verdict, ev.reason = "REJECTED", f"no Service port {pkt.dport}/{pkt.proto} on ClusterIP {pkt.dst}"
        elif name == names.CHAIN_NO_LOCAL_ENDPOINTS:
            ev.verdict = "DROPPED"
            ev.reason = f"internalTrafficPolicy Local: no endpoint of {ev.service or '?'} on this node"
        elif name.startswith("external-"):
            svc = self.names.chains.get(name, ("?", ""))[0]
            ev.verdict, ev.service = "DROPPED", ev.service or svc
            ev.reason = f"externalTrafficPolicy Local: no endpoint of {svc} on this node"
        elif name.startswith("firewall-"):
            svc = self.names.chains.get(name, ("?", ""))[0]
            ev.verdict, ev.service = "DROPPED", ev.service or svc
            ev.reason = f"source not in loadBalancerSourceRanges of {svc}"
        else:
            return None
        if not ev.service and (pkt.dst, pkt.dport) in self.names.endpoints:
            # Another node's DNAT record may still be unread (one socket per node): wait for it a moment.
            self._held[(pkt.proto, pkt.src, pkt.sport, pkt.dst, pkt.dport)] = ev
            return None
        return ev

    def _remember(self, node: str, chain: str, pkt: Packet, now: float) -> None:
        service, endpoint = self.names.chains.get(chain, ("", ""))
        ip, _, port = endpoint.rpartition(":")
        if not ip:
            return
        key = (pkt.proto, pkt.src, pkt.sport, ip.strip("[]"), int(port))
        self._dnats[key] = dnat = _Dnat(now, node, service, f"{_bracketed(pkt.dst)}:{pkt.dport}", pkt)
        held = self._held.pop(key, None)
        if held is not None:
            self._join(held, dnat)
            self._ready.append(held)

    @staticmethod
    def _join(ev: FlowEvent, dnat: _Dnat) -> None:
        dnat.used = True
        ev.service, ev.service_address = dnat.service, dnat.address
        ev.nat.insert(0, f"DNAT {dnat.address} -> {_bracketed(ev.destination.ip)}:{ev.destination.port} on {dnat.node}")

    def _event(self, node: str, pkt: Packet, now: float, rule: str, mark: int) -> FlowEvent:
        ev = FlowEvent(now, node, pkt.proto, self.names.peer(pkt.src, pkt.sport), self.names.peer(pkt.dst, pkt.dport),
                       "", "", pkt.flags, rule=rule)
        dnat = self._dnats.get((pkt.proto, pkt.src, pkt.sport, pkt.dst, pkt.dport))
        if dnat is not None:
            self._join(ev, dnat)
        else:
            ev.service = self.names.service_at(pkt.dst, pkt.proto, pkt.dport)
            ev.service_address = f"{_bracketed(pkt.dst)}:{pkt.dport}" if ev.service else ""
        if mark & MASQ_MARK:
            hairpin = pkt.src == pkt.dst
            ev.nat.append("hairpin: masquerade to the node's bridge address" if hairpin
                          else f"SNAT (masquerade) to {node}'s address")
        return ev

    def conntrack(self, node: str, kind: str, ct: CtInfo, now: float) -> FlowEvent | None:
        """A conntrack event: NEW only notes the start; DESTROY is an ENDED event with the NAT the kernel
        applied (the reply tuple against the original) and the counters, shown once per connection: by
        the source pod's node (or, for a source outside the pod network, the endpoint's)."""
        if kind == "NEW":
            if len(self._started) > 100_000:
                self._started.clear()
            self._started[(node, ct.id)] = now
            return None
        start = self._started.pop((node, ct.id), ct.started)
        orig, reply = ct.orig, ct.reply
        if orig is None or reply is None:
            return None
        if not self._home(node, ct):
            return None
        proto = _PROTOS.get(orig.proto, str(orig.proto))
        ev = FlowEvent(now, node, proto, self.names.peer(orig.src, orig.sport), self.names.peer(reply.src, reply.sport),
                       "ENDED", "connection ended", rule="conntrack")
        if ct.tcp_state is not None and ct.tcp_state < len(_TCP_STATES):
            ev.flags = (_TCP_STATES[ct.tcp_state],)
        ev.service = self.names.service_at(orig.dst, proto, orig.dport)
        ev.service_address = f"{_bracketed(orig.dst)}:{orig.dport}" if ev.service else ""
        if (reply.src, reply.sport) != (orig.dst, orig.dport):
            ev.nat.append(f"DNAT {_bracketed(orig.dst)}:{orig.dport} -> {_bracketed(reply.src)}:{reply.sport}")
        if (reply.dst, reply.dport) != (orig.src, orig.sport):
            ev.nat.append(f"SNAT {_bracketed(orig.src)}:{orig.sport} -> {_bracketed(reply.dst)}:{reply.dport}")
        parts = [f"after {now - start:.1f}s"] if start is not None else []
        if ct.counters:
            op, ob, rp, rb = ct.counters
            parts.append(f"{op} packets/{ob} bytes sent, {rp}/{rb} back")
        ev.reason = "connection ended" + (f" {', '.join(parts)}" if parts else "")
        return ev

    def _home(self, node: str, ct: CtInfo) -> bool:
        """The one node whose entry stands for the connection: the client pod's; for a client outside the
        pod network, the node that DNATed it, else the endpoint's (not for a node's own connections,
        e.g. probes, nor for a masqueraded connection's second entry, whose source is a node)."""
        orig, reply = ct.orig, ct.reply
        if orig.src in self.names.pod_nodes:
            return self.names.pod_nodes[orig.src] == node
        if ct.status & IPS_DST_NAT:
            return True
        own = orig.src in self.names.nodes or orig.src in self.names.gateways
        return not own and self.names.pod_nodes.get(reply.src) == node

    def expire(self, now: float) -> list[FlowEvent]:
        """Held verdicts now joined or older than HOLD; DNATs older than EXPIRE leave the join table, the
        unjoined ones as TRANSLATED events."""
        out, self._ready = self._ready, []
        for key, ev in list(self._held.items()):
            if now - ev.time >= HOLD:
                out.append(self._held.pop(key))
        for key, d in list(self._dnats.items()):
            if now - d.time < EXPIRE:
                continue
            del self._dnats[key]
            if not d.used:
                ep = self.names.peer(key[3], key[4])
                out.append(FlowEvent(d.time, d.node, d.packet.proto, self.names.peer(d.packet.src, d.packet.sport),
                                     ep, "TRANSLATED", f"DNAT by {d.service} to endpoint {ep.label()}",
                                     d.packet.flags, d.service, d.address,
                                     [f"DNAT {d.address} -> {_bracketed(key[3])}:{key[4]} on {d.node}"]))
        return out


@dataclass(frozen=True)
class Filter:
    pods: tuple[str, ...] = ()  # name or ns/name, either end
    namespaces: tuple[str, ...] = ()
    services: tuple[str, ...] = ()
    verdicts: tuple[str, ...] = ()
    protocols: tuple[str, ...] = ()
    ports: tuple[int, ...] = ()

    def matches(self, ev: FlowEvent) -> bool:
        ends = [p for p in (ev.source.pod, ev.destination.pod) if p]
        if self.pods and not any(p == want or p.split("/", 1)[1] == want for p in ends for want in self.pods):
            return False
        if self.namespaces and not any(p.split("/", 1)[0] in self.namespaces
                                       for p in ends + ([ev.service] if ev.service else [])):
            return False
        if self.services and not (ev.service and any(ev.service == s or ev.service.split("/", 1)[1] == s
                                                     for s in self.services)):
            return False
        if self.verdicts and ev.verdict not in self.verdicts:
            return False
        if self.protocols and ev.protocol not in self.protocols:
            return False
        svc_port = int(ev.service_address.rpartition(":")[2]) if ev.service_address else None
        return not self.ports or any(p in (ev.source.port, ev.destination.port, svc_port) for p in self.ports)


def from_dict(data: dict[str, Any]) -> FlowEvent:
    """A FlowEvent again from its JSON object (the observer's recent-events file)."""
    t = calendar.timegm(time.strptime(data["time"][:19], "%Y-%m-%dT%H:%M:%S")) + int(data["time"][20:23]) / 1000
    return FlowEvent(t, data["node"], data["protocol"], Peer(**data["source"]), Peer(**data["destination"]),
                     data["verdict"], data["reason"], tuple(data.get("flags") or ()), data.get("service", ""),
                     data.get("service_address", ""), list(data.get("nat") or []), data.get("policy", ""),
                     data.get("rule", ""))
