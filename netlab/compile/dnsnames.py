"""Query names in the cluster DNS, classified the way CoreDNS's kubernetes plugin parses a request (pure).

`parse_qname(name, domain)` says what a name is (apex, service, endpoint, SRV name, pod, reverse, outside
the zone, ...) and picks out its parts; netlab.compile.dnszone answers it."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

REVERSE_ZONES = ("in-addr.arpa", "ip6.arpa")

# parse_qname kinds
OUTSIDE = "outside"          # not in the cluster zone nor a reverse zone: forward it
APEX = "apex"                # <zone>
DNS_VERSION = "dns-version"  # dns-version.<zone>
NAMESERVER = "nameserver"    # ns.dns.<zone> (and its empty non-terminal dns.<zone>)
TYPE_ROOT = "type-root"      # svc.<zone> / pod.<zone>
NAMESPACE = "namespace"      # <ns>.svc.<zone> / <ns>.pod.<zone>
SERVICE = "service"          # <svc>.<ns>.svc.<zone>
ENDPOINT = "endpoint"        # <ep>.<svc>.<ns>.svc.<zone>
SRV_NAME = "srv"             # _<port>._<proto>.<svc>.<ns>.svc.<zone>
POD = "pod"                  # <dashed-ip>.<ns>.pod.<zone>
REVERSE = "reverse"          # ...in-addr.arpa / ...ip6.arpa
INVALID = "invalid"          # inside the zone but no shape the schema has (always NXDOMAIN)


@dataclass(frozen=True)
class QName:
    """A query name classified the CoreDNS way. Labels are lowercased; unset parts are None."""

    kind: str
    name: str
    pod_or_svc: str | None = None   # "svc" or "pod"
    namespace: str | None = None
    service: str | None = None
    endpoint: str | None = None
    port: str | None = None         # SRV port name, underscore stripped
    protocol: str | None = None     # SRV protocol, underscore stripped
    ip: str | None = None           # POD: the dashed IP as an address; REVERSE: the address (None if partial)


def normalize(name: str) -> str:
    """Lowercase, no trailing dot (the root is the empty string)."""
    return name.lower().rstrip(".")


def relative(name: str, origin: str) -> str | None:
    """The part of `name` below `origin` ("" for origin itself), or None when `name` is not under it."""
    if name == origin:
        return ""
    if name.endswith("." + origin):
        return name[: -len(origin) - 1]
    return None


def _dashed_ip(label: str) -> str | None:
    """CoreDNS's pod-name rule: three dashes and no "--" is IPv4, anything else is IPv6 with dashes as colons."""
    if label.count("-") == 3 and "--" not in label:
        text = label.replace("-", ".")
    else:
        text = label.replace("-", ":")
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return None


def _reverse_ip(rel: str, zone: str) -> str | None:
    labels = rel.split(".") if rel else []
    try:
        if zone == "in-addr.arpa":
            if len(labels) != 4 or not all(x.isdigit() for x in labels):
                return None
            return str(ipaddress.IPv4Address(".".join(reversed(labels))))
        if len(labels) != 32 or not all(len(x) == 1 and x in "0123456789abcdef" for x in labels):
            return None
        nibbles = "".join(reversed(labels))
        return str(ipaddress.IPv6Address(":".join(nibbles[i:i + 4] for i in range(0, 32, 4))))
    except ValueError:
        return None


def parse_qname(name: str, domain: str) -> QName:
    """Classify a query name relative to the cluster domain, like CoreDNS's kubernetes parseRequest."""
    name = normalize(name)
    domain = normalize(domain)
    for zone in REVERSE_ZONES:
        rel = relative(name, zone)
        if rel is not None:
            return QName(REVERSE, name, ip=_reverse_ip(rel, zone))
    rel = relative(name, domain)
    if rel is None:
        return QName(OUTSIDE, name)
    if rel == "":
        return QName(APEX, name)
    if rel == "dns-version":
        return QName(DNS_VERSION, name)
    if rel in ("ns.dns", "dns"):
        return QName(NAMESERVER, name)
    segs = rel.split(".")
    kind = segs.pop()
    if kind not in ("svc", "pod"):
        return QName(INVALID, name)
    if not segs:
        return QName(TYPE_ROOT, name, pod_or_svc=kind)
    namespace = segs.pop()
    if not segs:
        return QName(NAMESPACE, name, pod_or_svc=kind, namespace=namespace)
    if kind == "pod":
        if len(segs) != 1:
            return QName(INVALID, name, pod_or_svc=kind, namespace=namespace)
        return QName(POD, name, pod_or_svc=kind, namespace=namespace, endpoint=segs[0], ip=_dashed_ip(segs[0]))
    service = segs.pop()
    if not segs:
        return QName(SERVICE, name, pod_or_svc=kind, namespace=namespace, service=service)
    if len(segs) == 1:
        return QName(ENDPOINT, name, pod_or_svc=kind, namespace=namespace, service=service, endpoint=segs[0])
    if len(segs) == 2 and segs[0].startswith("_") and segs[1].startswith("_") and len(segs[0]) > 1 \
            and len(segs[1]) > 1:
        return QName(SRV_NAME, name, pod_or_svc=kind, namespace=namespace, service=service,
                     port=segs[0][1:], protocol=segs[1][1:])
    return QName(INVALID, name, pod_or_svc=kind, namespace=namespace, service=service)
