"""IP families of a cluster: kind's `networking.ipFamily`, comma-separated subnets, per-family defaults.

Every family-dependent address rule lives here (defaults, node CIDR sizes, the underlay's IPv6 prefix),
so the rest of the code asks "which subnets does this cluster have" instead of testing for IPv6.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Literal

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Family = Literal["IPv4", "IPv6"]   # the Kubernetes API's spelling (Service.spec.ipFamilies)

# kind's defaults per family (pkg/internal/apis/config/default.go); IPv4 ones are netlab's long-standing plan.
POD_SUBNET = {"IPv4": "10.244.0.0/16", "IPv6": "fd00:10:244::/56"}
SERVICE_SUBNET = {"IPv4": "10.96.0.0/16", "IPv6": "fd00:10:96::/112"}
# The IPv6 prefix of kind's docker network: the underlay gets one as well.
UNDERLAY_IPV6 = "fc00:f853:ccd:e793::/64"
# kube-controller-manager's --node-cidr-mask-size-ipv6 default: each node gets a /64 of the pod subnet.
NODE_PREFIX_IPV6 = 64
# kube-apiserver refuses an IPv6 --service-cluster-ip-range larger than a /108 (20 bits of addresses).
MIN_SERVICE_PREFIX_IPV6 = 108

IP_FAMILY_FAMILIES: dict[str, tuple[Family, ...]] = {
    "ipv4": ("IPv4",), "ipv6": ("IPv6",), "dual": ("IPv4", "IPv6")}


def family_of(net: IPNetwork | ipaddress.IPv4Address | ipaddress.IPv6Address) -> Family:
    return "IPv4" if net.version == 4 else "IPv6"


def default_subnets(ip_family: str, defaults: dict[str, str], order_of: str | None = None) -> str:
    """kind's default for a subnet field: one CIDR per family of `ip_family`, comma-separated, in the
    family order of the subnet field `order_of` when given (an IPv6-primary podSubnet makes the default
    serviceSubnet IPv6-primary too)."""
    wanted = IP_FAMILY_FAMILIES.get(ip_family, ("IPv4",))
    order = [f for f in _cidr_families(order_of or "") if f in wanted]
    return ",".join(defaults[f] for f in dict.fromkeys([*order, *wanted]))


def _cidr_families(value: str) -> list[Family]:
    return ["IPv6" if ":" in c else "IPv4" for c in split_cidrs(value)]


def split_cidrs(value: str) -> list[str]:
    return [part.strip() for part in str(value).split(",") if part.strip()]


def parse_subnets(value: str, ip_family: str, field: str) -> tuple[list[IPNetwork], list[tuple[str, str]]]:
    """The CIDRs of a comma-separated subnet field, checked against `ip_family` as kind checks them:
    one CIDR per family, families matching ipFamily. Returns (networks, problems as (field, message))."""
    nets: list[IPNetwork] = []
    problems: list[tuple[str, str]] = []
    parts = split_cidrs(value)
    if not parts:
        return [], [(field, "must not be empty")]
    example = {"ipv4": "an IPv4 CIDR such as 10.0.0.0/16", "ipv6": "an IPv6 CIDR such as fd00:10::/56"}.get(
        ip_family, "a CIDR such as 10.0.0.0/16 or fd00:10::/56")
    for part in parts:
        try:
            # parsed by the family it looks like, so the error says what is wrong ("'33' is not a valid netmask")
            nets.append(ipaddress.IPv6Network(part) if ":" in part else ipaddress.IPv4Network(part))
        except ValueError as exc:
            problems.append((field, f"must be {example}, got {part!r} ({exc})"))
    if problems:
        return [], problems
    want = IP_FAMILY_FAMILIES.get(ip_family, ("IPv4",))
    got = [family_of(n) for n in nets]
    if len(got) != len(set(got)):
        problems.append((field, f"has more than one {got[0] if got.count(got[0]) > 1 else got[1]} CIDR: {value}"))
    elif sorted(got) != sorted(want):
        need = "one IPv4 and one IPv6 CIDR" if len(want) == 2 else f"an {want[0]} CIDR"
        problems.append((field, f"ipFamily {ip_family} needs {need}, got {value}"))
    return (nets if not problems else []), problems


def by_family(nets: list[IPNetwork]) -> dict[Family, IPNetwork]:
    return {family_of(n): n for n in nets}


def node_prefix(net: IPNetwork, ipv4_prefix: int) -> int:
    """The prefix length of each node's pod CIDR within the cluster's pod subnet `net`."""
    return ipv4_prefix if net.version == 4 else NODE_PREFIX_IPV6


def node_cidr(pod_subnet: str, prefix: int, index: int) -> str:
    """Node `index`'s pod CIDR: the index-th /prefix of the pod subnet (kube-controller-manager's range
    allocator hands them out in order)."""
    net = ipaddress.ip_network(pod_subnet)
    if prefix < net.prefixlen or index >= 2 ** (prefix - net.prefixlen):
        raise ValueError(f"pod subnet {pod_subnet} has no room for node {index + 1}")
    return str(ipaddress.ip_network((int(net.network_address) + (index << (net.max_prefixlen - prefix)), prefix)))


def pod_subnet_issue(net: IPNetwork, ipv4_prefix: int, nodes: int) -> str | None:
    """Why `net` cannot hold one node CIDR per node, or None."""
    prefix = node_prefix(net, ipv4_prefix)
    if net.prefixlen > prefix or 2 ** (prefix - net.prefixlen) < nodes:
        return f"{net} is too small for {nodes} nodes (each node needs a /{prefix})"
    return None


def service_subnet_issue(net: IPNetwork) -> str | None:
    if net.version == 6 and net.prefixlen < MIN_SERVICE_PREFIX_IPV6:
        return (f"{net} is too large: kube-apiserver takes an IPv6 service range of /{MIN_SERVICE_PREFIX_IPV6} "
                f"or smaller")
    if net.num_addresses < 16:
        return f"{net} is too small (needs room for the kube-dns address .10)"
    return None


def nth_address(cidr: str, n: int) -> str:
    """The n-th address of a network (1: the host / gateway, 10: kube-dns), in either family."""
    return str(ipaddress.ip_network(cidr).network_address + n)


def service_families(spec: dict, cluster_families: tuple[str, ...]) -> tuple[str, ...]:
    """The Service's ipFamilies as the API server sets them: SingleStack keeps the one asked (else the
    family of the ClusterIP asked for, else the cluster's primary); PreferDualStack and RequireDualStack
    add the cluster's other family, if it has one."""
    asked = [f for f in spec.get("ipFamilies") or _ip_families(_cluster_ips(spec)) if f in cluster_families] \
        or [cluster_families[0]]
    if (spec.get("ipFamilyPolicy") or "SingleStack") == "SingleStack":
        return (asked[0],)
    return tuple(dict.fromkeys([*asked, *cluster_families]))


def service_family_issues(spec: dict, cluster_families: tuple[str, ...]) -> list[tuple[str, str]]:
    """What the API server refuses in a Service's ipFamilyPolicy, ipFamilies and clusterIPs on this cluster
    (field, message)."""
    if spec.get("type") == "ExternalName":
        return []
    policy = spec.get("ipFamilyPolicy") or "SingleStack"
    asked = list(spec.get("ipFamilies") or [])
    issues: list[tuple[str, str]] = []
    for i, fam in enumerate(asked):
        if fam in asked[:i]:
            issues.append((f"spec.ipFamilies[{i}]", f'Duplicate value: "{fam}"'))
        elif fam not in cluster_families:
            issues.append((f"spec.ipFamilies[{i}]", f'Invalid value: "{fam}": not configured on this cluster'))
    if policy == "SingleStack" and len(asked) > 1:
        issues.append(("spec.ipFamilies", "must have exactly one family when spec.ipFamilyPolicy is SingleStack"))
    if policy == "RequireDualStack" and len(cluster_families) < 2:
        issues.append(("spec.ipFamilyPolicy",
                       'Invalid value: "RequireDualStack": this cluster is not configured for dual-stack services'))
    given = [ip for ip in _cluster_ips(spec) if ip not in ("", "None")]
    if policy == "SingleStack" and len(given) > 1:
        issues.append(("spec.clusterIPs", "may hold only one address when spec.ipFamilyPolicy is SingleStack"))
    elif len(given) == 2 and len(set(_ip_families(given))) == 1:
        issues.append(("spec.clusterIPs[1]", f'Invalid value: "{given[1]}": must be of the other family than '
                                             f"spec.clusterIPs[0]"))
    for i, ip in enumerate(_cluster_ips(spec)):
        if ip in ("", "None"):
            continue
        try:
            fam = family_of(ipaddress.ip_address(ip))
        except ValueError:
            continue   # the object's own validation names it
        if fam not in cluster_families:
            issues.append((f"spec.clusterIPs[{i}]", f'Invalid value: "{ip}": {fam} is not configured on this cluster'))
        elif i < len(asked) and asked[i] != fam:
            issues.append((f"spec.clusterIPs[{i}]", f'Invalid value: "{ip}": expected an {asked[i]} address '
                                                    f"(spec.ipFamilies[{i}])"))
    for i, ip in enumerate(spec.get("externalIPs") or []):
        try:
            fam = family_of(ipaddress.ip_address(ip))
        except ValueError:
            continue   # the object's own validation names it
        if fam not in cluster_families:
            issues.append((f"spec.externalIPs[{i}]", f'Invalid value: "{ip}": {fam} is not configured on this cluster'))
    return issues


def _cluster_ips(spec: dict) -> list[str]:
    """spec.clusterIPs, or [spec.clusterIP] when only that is given (the API server fills one from the other)."""
    return list(spec.get("clusterIPs") or ([spec["clusterIP"]] if spec.get("clusterIP") else []))


def _ip_families(ips: list[str]) -> list[str]:
    """The families of the given ClusterIPs, in order (how the API server defaults ipFamilies from them)."""
    return ["IPv6" if ":" in ip else "IPv4" for ip in ips if ip not in ("", "None")]


def asked_cluster_ip(spec: dict, family: str) -> tuple[str, str] | None:
    """(field, address) of the ClusterIP the Service asks for in `family` (spec.clusterIPs, else
    spec.clusterIP), or None when it asks for none of that family."""
    ips = [ip for ip in (spec.get("clusterIPs") or []) if ip not in ("", "None")]
    fields = [f"spec.clusterIPs[{i}]" for i in range(len(ips))]
    if not ips and spec.get("clusterIP") not in (None, "", "None"):
        ips, fields = [spec["clusterIP"]], ["spec.clusterIP"]
    for fld, ip in zip(fields, ips, strict=True):
        if (":" in ip) == (family == "IPv6"):
            return fld, ip
    return None


@dataclass(frozen=True)
class NftFamily:
    """How one family is spelled in the `inet` table's service rules."""
    family: Family
    ip: str          # the header keyword: ip daddr / ip6 daddr
    addr_type: str   # the set element type
    suffix: str      # appended to the names of the family's sets and chains; IPv4 keeps the historic names

    def dnat(self, address: str, port: int) -> str:
        return f"dnat {self.ip} to {address if self.family == 'IPv4' else f'[{address}]'}:{port}"


NFT = {"IPv4": NftFamily("IPv4", "ip", "ipv4_addr", ""), "IPv6": NftFamily("IPv6", "ip6", "ipv6_addr", "6")}
