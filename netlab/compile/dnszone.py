"""Cluster DNS records as data: the Kubernetes DNS-Based Service Discovery schema, answered the CoreDNS way.

Pure: `build_zone(view)` turns the controller's cluster view (plain JSON data) into a `Zone` whose
`lookup(qname, qtype)` returns a complete `Answer` (rcode, answer, authority, additional, AA flag)
built from dnslib RR objects. Every record is computed up front into a dict keyed by owner name and
type; only the deprecated pod records (`a-b-c-d.<ns>.pod.<zone>`, any well-formed IP) are computed
per query, as CoreDNS's "pods insecure" mode does. The server (netlab.runtime.dns) packs and caches.

Name shapes (see `parse_qname`), relative to the cluster domain `<zone>`:
  <zone>                                   apex: SOA, NS
  dns-version.<zone>                       TXT schema version
  ns.dns.<zone>                            A of the kube-dns service (the NS target)
  svc.<zone>, pod.<zone>                   empty non-terminals (NODATA)
  <ns>.svc.<zone>, <ns>.pod.<zone>         empty non-terminals when the namespace exists, else NXDOMAIN
  <svc>.<ns>.svc.<zone>                    A/AAAA (ClusterIPs, or ready endpoints when headless), CNAME
                                           (ExternalName), SRV for every port (CoreDNS's port wildcard)
  <ep>.<svc>.<ns>.svc.<zone>               A/AAAA of an endpoint; <ep> is its hostname or its dashed IP
  _<port>._<proto>.<svc>.<ns>.svc.<zone>   SRV for a named port
  <a-b-c-d>.<ns>.pod.<zone>                A (AAAA for dashed IPv6) for any well-formed IP
  <d>.<c>.<b>.<a>.in-addr.arpa             PTR for ClusterIPs and headless endpoints
"""

from __future__ import annotations

import ipaddress
import json
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field

from dnslib import AAAA, CNAME, NS, PTR, QTYPE, RCODE, RR, SOA, SRV, TXT, A, DNSRecord

from netlab.compile.dnsnames import (
    OUTSIDE,
    POD,
    REVERSE,
    REVERSE_ZONES,
    QName,
    normalize,
    parse_qname,
    relative,
)

NOERROR = RCODE.NOERROR
FORMERR = RCODE.FORMERR
SERVFAIL = RCODE.SERVFAIL
NXDOMAIN = RCODE.NXDOMAIN
NOTIMP = RCODE.NOTIMP
REFUSED = RCODE.REFUSED

DEFAULT_DOMAIN = "cluster.local"
DEFAULT_TTL = 30
DEFAULT_DNS_VERSION = "1.1.0"
TYPE_ANY = 255
MAX_CNAME_CHAIN = 8


@dataclass
class Answer:
    """Everything a response needs but the header bits the server copies from the query."""

    rcode: int
    answer: list[RR] = field(default_factory=list)
    authority: list[RR] = field(default_factory=list)
    additional: list[RR] = field(default_factory=list)
    authoritative: bool = True

    @property
    def cname_target(self) -> str | None:
        """The target of a trailing CNAME that this zone could not follow (the server resolves it upstream)."""
        if self.answer and self.answer[-1].rtype == QTYPE.CNAME:
            return str(self.answer[-1].rdata.label).rstrip(".")
        return None


def complete_cname(answer: Answer, upstream: DNSRecord | None) -> Answer:
    """An ExternalName's CNAME (answer) completed with upstream's reply for its target, as CoreDNS does:
    the target's records when upstream has them; when upstream is silent or fails (an offline lab:
    SERVFAIL, REFUSED) or has no such name, still NOERROR with the CNAME alone, never SERVFAIL."""
    if upstream is None or upstream.header.rcode != NOERROR:
        return answer
    authority = [rr for rr in upstream.auth if isinstance(rr, RR)]
    return Answer(answer.rcode, answer.answer + list(upstream.rr), authority, answer.additional,
                  answer.authoritative)


def _address_rr(name: str, ip: str, ttl: int) -> RR:
    if ":" in ip:
        return RR(name, QTYPE.AAAA, rdata=AAAA(ip), ttl=ttl)
    return RR(name, QTYPE.A, rdata=A(ip), ttl=ttl)


def _endpoint_label(ep: dict) -> str:
    """An endpoint's hostname, else CoreDNS's system-assigned identifier: its IP with dots/colons as dashes."""
    host = ep.get("hostname")
    if host:
        return str(host).lower()
    return str(ep["ip"]).replace(".", "-").replace(":", "-").lower()


def _canonical_ip(value: object) -> str | None:
    try:
        return str(ipaddress.ip_address(str(value)))
    except ValueError:
        return None


class Zone:
    """The precomputed cluster zone. Build with `build_zone`; query with `lookup`."""

    def __init__(self, domain: str, ttl: int, serial: int) -> None:
        self.domain = normalize(domain) or DEFAULT_DOMAIN
        self.ttl = ttl
        self.serial = serial & 0xFFFFFFFF
        self.rrsets: dict[str, dict[int, list[RR]]] = {}
        self._seen: set[tuple[str, int, str]] = set()
        self.extra: dict[tuple[str, int], list[RR]] = {}
        self.ents: set[str] = set()
        self.namespaces: set[str] = set()
        self.reverse_names: set[str] = set()
        self.reverse_networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
        self.soa = self._soa(self.domain)
        self.reverse_soa = {z: self._soa(z) for z in REVERSE_ZONES}

    def _soa(self, origin: str) -> RR:
        times = (self.serial, 7200, 1800, 86400, self.ttl)
        return RR(origin, QTYPE.SOA, rdata=SOA(f"ns.dns.{origin}", f"hostmaster.{origin}", times), ttl=self.ttl)

    # -- building ------------------------------------------------------------------------------------------
    def add(self, name: str, rr: RR) -> None:
        key = (name, rr.rtype, str(rr.rdata))
        if key not in self._seen:
            self._seen.add(key)
            self.rrsets.setdefault(name, {}).setdefault(rr.rtype, []).append(rr)

    def add_extra(self, name: str, qtype: int, rrs: Iterable[RR]) -> None:
        out = self.extra.setdefault((name, qtype), [])
        seen = {(o.rname, o.rtype, str(o.rdata)) for o in out}
        for rr in rrs:
            key = (rr.rname, rr.rtype, str(rr.rdata))
            if key not in seen:
                seen.add(key)
                out.append(rr)

    def finish(self) -> None:
        """Record every empty non-terminal between the apex and each owner name."""
        for ns in self.namespaces:
            self.ents.add(f"{ns}.svc.{self.domain}")
            self.ents.add(f"{ns}.pod.{self.domain}")
        self.ents.update({f"svc.{self.domain}", f"pod.{self.domain}"})
        for name in list(self.rrsets):
            for origin in (self.domain, *REVERSE_ZONES):
                rel = relative(name, origin)
                if rel:
                    labels = rel.split(".")
                    for i in range(1, len(labels)):
                        self.ents.add(".".join(labels[i:]) + "." + origin)
                    break
        self.ents.difference_update(self.rrsets)
        self._seen.clear()

    # -- answering -----------------------------------------------------------------------------------------
    def owns(self, qname: str) -> bool:
        """True when this zone answers `qname` authoritatively; everything else is forwarded."""
        q = parse_qname(qname, self.domain)
        if q.kind == OUTSIDE:
            return False
        if q.kind == REVERSE:
            return self._owns_reverse(q)
        return True

    def _owns_reverse(self, q: QName) -> bool:
        if q.name in self.reverse_names:
            return True
        if q.ip is None:
            return False
        addr = ipaddress.ip_address(q.ip)
        return any(addr in net for net in self.reverse_networks)

    def lookup(self, qname: str, qtype: int) -> Answer:
        """The answer for (qname, qtype). Names this zone does not own get REFUSED, not authoritative."""
        q = parse_qname(qname, self.domain)
        if q.kind == OUTSIDE or (q.kind == REVERSE and not self._owns_reverse(q)):
            return Answer(REFUSED, authoritative=False)
        soa = self.reverse_soa["in-addr.arpa" if q.name.endswith("in-addr.arpa") else "ip6.arpa"] \
            if q.kind == REVERSE else self.soa
        answer: list[RR] = []
        additional: list[RR] = []
        name = q.name
        for _ in range(MAX_CNAME_CHAIN):
            node = self.rrsets.get(name)
            if node is None and q.kind == POD and name == q.name:
                node = self._pod_node(q)
            if node is None:
                if answer:   # a CNAME into this zone whose target does not exist
                    return Answer(NXDOMAIN, answer, [soa])
                rcode = NOERROR if name in self.ents else NXDOMAIN
                return Answer(rcode, authority=[soa])
            if QTYPE.CNAME in node and qtype != QTYPE.CNAME:
                cname = node[QTYPE.CNAME]
                answer += cname
                target = normalize(str(cname[0].rdata.label))
                if not self.owns(target):
                    return Answer(NOERROR, answer)   # the server follows it upstream
                name = target
                continue
            if qtype == TYPE_ANY:
                found = [rr for rrs in node.values() for rr in rrs]
            else:
                found = node.get(qtype, [])
            if not found:
                return Answer(NOERROR, answer, [soa])
            additional += self.extra.get((name, qtype), [])
            return Answer(NOERROR, answer + found, [], additional)
        return Answer(SERVFAIL, answer)

    def _pod_node(self, q: QName) -> dict[int, list[RR]] | None:
        if q.ip is None or q.namespace not in self.namespaces:
            return None
        rr = _address_rr(q.name, q.ip, self.ttl)
        return {rr.rtype: [rr]}


def _serial(view: dict) -> int:
    if isinstance(view.get("serial"), int):
        return int(view["serial"])
    return zlib.crc32(json.dumps(view, sort_keys=True, default=str).encode())


def build_zone(view: dict) -> Zone:
    """Compile the cluster view (the controller's JSON) into a Zone. Bad entries are skipped, never fatal."""
    ttl = view.get("ttl")
    ttl = int(ttl) if isinstance(ttl, int) and 0 <= ttl < 2**31 else DEFAULT_TTL
    zone = Zone(str(view.get("domain") or DEFAULT_DOMAIN), ttl, _serial(view))
    d = zone.domain

    zone.add(d, zone.soa)
    zone.add(d, RR(d, QTYPE.NS, rdata=NS(f"ns.dns.{d}"), ttl=ttl))
    zone.add(f"dns-version.{d}",
             RR(f"dns-version.{d}", QTYPE.TXT, rdata=TXT(str(view.get("dnsVersion") or DEFAULT_DNS_VERSION)), ttl=ttl))

    zone.namespaces.update(normalize(str(n)) for n in view.get("namespaces") or [])
    for cidr in view.get("reverseCIDRs") or []:
        try:
            zone.reverse_networks.append(ipaddress.ip_network(str(cidr), strict=False))
        except ValueError:
            continue
    for pod in view.get("pods") or []:
        if isinstance(pod, dict):
            if pod.get("namespace"):
                zone.namespaces.add(normalize(str(pod["namespace"])))
            ip = _canonical_ip(pod.get("ip"))
            if ip:
                zone.reverse_names.add(ipaddress.ip_address(ip).reverse_pointer)

    services = [s for s in view.get("services") or [] if isinstance(s, dict) and s.get("name") and s.get("namespace")]
    services.sort(key=lambda s: (str(s["namespace"]).lower(), str(s["name"]).lower()))
    for svc in services:
        _add_service(zone, svc)

    ns_ips = zone.rrsets.get(f"kube-dns.kube-system.svc.{d}", {})
    for rtype in (QTYPE.A, QTYPE.AAAA):
        for rr in ns_ips.get(rtype, []):
            zone.add(f"ns.dns.{d}", _address_rr(f"ns.dns.{d}", str(rr.rdata), ttl))
    zone.add_extra(d, QTYPE.NS, [rr for rrs in zone.rrsets.get(f"ns.dns.{d}", {}).values() for rr in rrs])
    zone.finish()
    return zone


def _add_service(zone: Zone, svc: dict) -> None:
    d, ttl = zone.domain, zone.ttl
    ns = normalize(str(svc["namespace"]))
    zone.namespaces.add(ns)
    base = f"{normalize(str(svc['name']))}.{ns}.svc.{d}"

    if svc.get("type") == "ExternalName":
        target = normalize(str(svc.get("externalName") or ""))
        if target:
            zone.add(base, RR(base, QTYPE.CNAME, rdata=CNAME(target + "."), ttl=ttl))
        return

    publish_all = bool(svc.get("publishNotReadyAddresses"))
    endpoints = []
    for ep in svc.get("endpoints") or []:
        ip = _canonical_ip(ep.get("ip")) if isinstance(ep, dict) else None
        if ip and (ep.get("ready", True) or publish_all):
            endpoints.append((_endpoint_label({**ep, "ip": ip}), ip))
    cluster_ips = [ip for ip in (_canonical_ip(x) for x in svc.get("clusterIPs") or []) if ip]
    headless = bool(svc.get("headless")) or not cluster_ips

    # Endpoint names (any service kind, as CoreDNS answers them), and the service name itself.
    for label, ip in endpoints:
        zone.add(f"{label}.{base}", _address_rr(f"{label}.{base}", ip, ttl))
    for ip in ([ip for _, ip in endpoints] if headless else cluster_ips):
        zone.add(base, _address_rr(base, ip, ttl))

    # PTR: ClusterIPs name the service; headless endpoints name themselves.
    if headless:
        for label, ip in endpoints:
            rev = ipaddress.ip_address(ip).reverse_pointer
            zone.add(rev, RR(rev, QTYPE.PTR, rdata=PTR(f"{label}.{base}"), ttl=ttl))
            zone.reverse_names.add(rev)
    else:
        for ip in cluster_ips:
            rev = ipaddress.ip_address(ip).reverse_pointer
            zone.add(rev, RR(rev, QTYPE.PTR, rdata=PTR(base), ttl=ttl))
            zone.reverse_names.add(rev)
        for _, ip in endpoints:
            zone.reverse_names.add(ipaddress.ip_address(ip).reverse_pointer)

    # SRV: targets are the service name (ClusterIP form) or one per endpoint (headless form).
    targets = sorted({f"{label}.{base}" for label, _ in endpoints}) if headless else [base]
    if headless and not endpoints:
        return
    bare: list[tuple[int, str]] = []
    for port in svc.get("ports") or []:
        if not isinstance(port, dict) or not isinstance(port.get("port"), int):
            continue
        number = int(port["port"])
        bare += [(number, t) for t in targets]
        pname = normalize(str(port.get("name") or ""))
        if not pname:
            continue   # unnamed ports have no SRV record
        proto = normalize(str(port.get("protocol") or "TCP"))
        _add_srv(zone, f"_{pname}._{proto}.{base}", [(number, t) for t in targets])
    _add_srv(zone, base, bare)


def _add_srv(zone: Zone, name: str, records: list[tuple[int, str]]) -> None:
    """SRV priority 0, weight 100/N (at least 1) as CoreDNS computes it; target addresses go to Additional."""
    records = list(dict.fromkeys(records))
    if not records:
        return
    weight = max(1, 100 // len(records))
    for port, target in records:
        zone.add(name, RR(name, QTYPE.SRV, rdata=SRV(0, weight, port, target), ttl=zone.ttl))
    extra = []
    for target in dict.fromkeys(t for _, t in records):
        node = zone.rrsets.get(target, {})
        extra += node.get(QTYPE.A, []) + node.get(QTYPE.AAAA, [])
    zone.add_extra(name, QTYPE.SRV, extra)


__all__ = ["Answer", "QName", "Zone", "build_zone", "normalize", "parse_qname"]
