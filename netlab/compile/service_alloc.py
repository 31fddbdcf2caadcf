"""Service allocation as the API server does it: ClusterIPs per family, NodePorts, LoadBalancer IPs. Pure.

Allocation is stable: what a service already holds is kept, values the user gives are checked for range
and conflicts, the rest comes from the free pool.
"""

from __future__ import annotations

import hashlib
import ipaddress
from dataclasses import dataclass, field

from netlab.compile import families

RESERVED_OFFSETS = (1, 10)  # 10.96.0.1 kubernetes, 10.96.0.10 kube-dns


@dataclass(frozen=True)
class Allocation:
    cluster_ip: str | None = None  # None: headless or ExternalName
    node_ports: dict[str, int] = field(default_factory=dict)  # "<port>/<protocol>" -> nodePort
    load_balancer_ip: str | None = None
    cluster_ip6: str | None = None  # the IPv6 ClusterIP of a Service with the IPv6 family (dual-stack cluster)

    def to_dict(self) -> dict:
        return {"clusterIP": self.cluster_ip, "nodePorts": self.node_ports, "loadBalancerIP": self.load_balancer_ip,
                **({"clusterIP6": self.cluster_ip6} if self.cluster_ip6 else {})}

    @staticmethod
    def from_dict(d: dict) -> Allocation:
        return Allocation(d.get("clusterIP"), dict(d.get("nodePorts") or {}), d.get("loadBalancerIP"),
                          d.get("clusterIP6"))

    def cluster_ips(self, ip_families: tuple[str, ...]) -> list[str]:
        """spec.clusterIPs: one address per family, in the Service's ipFamilies order."""
        by_family = {"IPv4": self.cluster_ip, "IPv6": self.cluster_ip6}
        return [ip for ip in (by_family.get(f) for f in ip_families) if ip]


class AllocationError(Exception):
    def __init__(self, problems: list[tuple[str, str, str]]):
        super().__init__("; ".join(f"{o}: {f}: {m}" for o, f, m in problems))
        self.problems = problems


@dataclass(frozen=True)
class Pools:
    service_cidr: str = "10.96.0.0/16"
    node_port_range: tuple[int, int] = (30000, 32767)
    lb_start: str = "172.18.255.200"
    lb_end: str = "172.18.255.250"
    families: tuple[str, ...] = ("IPv4",)   # the cluster's IP families (a dual-stack cluster has both)
    service_cidr6: str = ""   # the IPv6 service range of a dual-stack cluster

    def lb_addresses(self) -> list[str]:
        start, end = ipaddress.ip_address(self.lb_start), ipaddress.ip_address(self.lb_end)
        return [str(ipaddress.ip_address(i)) for i in range(int(start), int(end) + 1)]


def port_key(port: dict) -> str:
    return f"{port['port']}/{port.get('protocol', 'TCP')}"


def svc_ref(svc: dict) -> str:
    return f"Service {svc['metadata'].get('namespace', 'default')}/{svc['metadata']['name']}"


def svc_key(svc: dict) -> str:
    return f"{svc['metadata'].get('namespace', 'default')}/{svc['metadata']['name']}"


def _wants_cluster_ip(spec: dict) -> bool:
    return spec.get("type", "ClusterIP") != "ExternalName" and spec.get("clusterIP") != "None"


@dataclass
class _Claims:
    """Values handed out so far in one allocate() run, each with the service holding it."""
    nets: dict[str, ipaddress.IPv4Network | ipaddress.IPv6Network]   # family -> service range
    reserved: set[str]
    ips: dict[str, str] = field(default_factory=dict)
    ports: dict[int, str] = field(default_factory=dict)
    lb: dict[str, str] = field(default_factory=dict)


def allocate(services: list[dict], previous: dict[str, Allocation], pools: Pools,
             fixed: dict[str, str] | None = None) -> dict[str, Allocation]:
    """Allocations for every service, keeping previous ones; raise AllocationError naming fields.

    `fixed` pins ClusterIPs for netlab's own services (kube-dns at .10).
    """
    nets = {"IPv4": ipaddress.ip_network(pools.service_cidr)}
    if pools.service_cidr6:
        nets["IPv6"] = ipaddress.ip_network(pools.service_cidr6)
    claims = _Claims(nets, {str(net.network_address + o) for net in nets.values() for o in RESERVED_OFFSETS})
    out = _claim_kept_and_asked(services, previous, pools, fixed or {}, claims)
    _fill_from_pools(services, pools, claims, out)
    return out


def _claim_kept_and_asked(services: list[dict], previous: dict[str, Allocation], pools: Pools,
                          fixed: dict[str, str], claims: _Claims) -> dict[str, Allocation]:
    """First pass: the values services keep or ask for; raise AllocationError with every conflict."""
    problems: list[tuple[str, str, str]] = []
    out: dict[str, Allocation] = {}
    # Services that keep or ask for specific values claim them first, in a stable order.
    for svc in sorted(services, key=lambda s: (svc_key(s) not in previous, svc_key(s))):
        key, spec, ref = svc_key(svc), svc.get("spec") or {}, svc_ref(svc)
        family_issues = families.service_family_issues(spec, pools.families)
        if family_issues:
            problems += [(ref, field, message) for field, message in family_issues]
            continue
        prev = previous.get(key, Allocation())
        fams = families.service_families(spec, pools.families)
        ok, ip = _claim_cluster_ip(spec, prev, key, ref, fixed, claims, problems, "IPv4") if "IPv4" in fams \
            else (True, None)
        ok6, ip6 = _claim_cluster_ip(spec, prev, key, ref, fixed, claims, problems, "IPv6") if "IPv6" in fams \
            else (True, None)
        if not ok or not ok6:
            continue
        node_ports = _claim_node_ports(spec, prev, ref, pools, claims, problems)
        out[key] = Allocation(ip, node_ports, _claim_lb(spec, prev, ref, pools, claims), ip6)
    if problems:
        raise AllocationError(problems)
    return out


def _claim_cluster_ip(spec: dict, prev: Allocation, key: str, ref: str, fixed: dict[str, str],
                      claims: _Claims, problems: list, family: str) -> tuple[bool, str | None]:
    """(False, None) after recording a problem, else (True, the kept or asked ClusterIP of `family` or None)."""
    if not _wants_cluster_ip(spec):
        return True, None
    net = claims.nets.get(family)
    if net is None:
        return True, None   # the family check (families.service_family_issues) has named it
    fld, asked = families.asked_cluster_ip(spec, family) or ("spec.clusterIP", None)
    kept = prev.cluster_ip if family == "IPv4" else prev.cluster_ip6
    if asked and kept and asked != kept:
        problems.append((ref, fld, f"field is immutable (allocated {kept})"))
        return False, None
    ip = asked or kept or (fixed.get(key) if family == "IPv4" else None)
    if ip is None:
        return True, None
    edges = (str(net.network_address), str(net.broadcast_address)) if family == "IPv4" else (str(net.network_address),)
    if ipaddress.ip_address(ip) not in net or ip in edges:
        problems.append((ref, fld, f"{ip} is not in the service CIDR {net}"))
        return False, None
    if ip in claims.ips:
        problems.append((ref, fld, f"{ip} is already allocated to {claims.ips[ip]}"))
        return False, None
    if ip in claims.reserved and key not in fixed and not asked:
        return True, None
    claims.ips[ip] = ref
    return True, ip


def _claim_node_ports(spec: dict, prev: Allocation, ref: str, pools: Pools, claims: _Claims,
                      problems: list) -> dict[str, int]:
    node_ports: dict[str, int] = {}
    if spec.get("type") not in ("NodePort", "LoadBalancer"):
        return node_ports
    low, high = pools.node_port_range
    for i, port in enumerate(spec.get("ports") or []):
        pk = port_key(port)
        n = port.get("nodePort") or prev.node_ports.get(pk)
        if n is None:
            continue
        if not low <= n <= high:
            problems.append((ref, f"spec.ports[{i}].nodePort", f"must be in the range {low}-{high}, got {n}"))
        elif n in claims.ports:
            problems.append((ref, f"spec.ports[{i}].nodePort",
                             f"provided port is already allocated: {n} (used by {claims.ports[n]})"))
        else:
            claims.ports[n] = ref
            node_ports[pk] = n
    return node_ports


def _claim_lb(spec: dict, prev: Allocation, ref: str, pools: Pools, claims: _Claims) -> str | None:
    if spec.get("type") != "LoadBalancer":
        return None
    lb = None
    asked_lb = spec.get("loadBalancerIP")
    if asked_lb and asked_lb not in claims.lb and asked_lb in pools.lb_addresses():
        lb = asked_lb
    elif prev.load_balancer_ip and prev.load_balancer_ip not in claims.lb and not asked_lb:
        lb = prev.load_balancer_ip
    if lb:
        claims.lb[lb] = ref
    return lb


def _fill_from_pools(services: list[dict], pools: Pools, claims: _Claims, out: dict[str, Allocation]) -> None:
    """Second pass: fill what is still missing from the free pools, from the upper band as Kubernetes
    does (the lower band stays for values users pick), starting at a point derived from the name."""
    free_lb = (a for a in pools.lb_addresses() if a not in claims.lb)
    for svc in sorted(services, key=svc_key):
        key, spec = svc_key(svc), svc.get("spec") or {}
        a = out[key]
        fams = families.service_families(spec, pools.families)
        ip, ip6 = a.cluster_ip, a.cluster_ip6
        if _wants_cluster_ip(spec) and ip is None and "IPv4" in fams:
            ip = _free_cluster_ip(svc, claims, claims.nets["IPv4"])
        if _wants_cluster_ip(spec) and ip6 is None and "IPv6" in fams and "IPv6" in claims.nets:
            ip6 = _free_cluster_ip(svc, claims, claims.nets["IPv6"])
        node_ports = _free_node_ports(svc, spec, pools, claims, dict(a.node_ports))
        lb = a.load_balancer_ip
        if spec.get("type") == "LoadBalancer" and lb is None and "IPv4" in fams:   # the pool is IPv4
            lb = next(free_lb, None)  # an empty pool leaves the service <pending>, as in Kubernetes
        out[key] = Allocation(ip, node_ports, lb, ip6)


def _free_cluster_ip(svc: dict, claims: _Claims, net: ipaddress.IPv4Network | ipaddress.IPv6Network) -> str:
    base = net.network_address + 1
    offset = _first_free(int(net.num_addresses) - 2, svc_key(svc) if net.version == 4 else svc_key(svc) + "/IPv6",
                         lambda i: str(base + i) not in claims.ips and str(base + i) not in claims.reserved)
    if offset is None:
        raise AllocationError([(svc_ref(svc), "spec.clusterIP", f"service CIDR {net} is exhausted")])
    ip = str(base + offset)
    claims.ips[ip] = svc_ref(svc)
    return ip


def _free_node_ports(svc: dict, spec: dict, pools: Pools, claims: _Claims,
                     node_ports: dict[str, int]) -> dict[str, int]:
    if spec.get("type") not in ("NodePort", "LoadBalancer"):
        return node_ports
    low, high = pools.node_port_range
    for i, port in enumerate(spec.get("ports") or []):
        if port_key(port) in node_ports:
            continue
        offset = _first_free(high - low + 1, f"{svc_key(svc)}/{port_key(port)}", lambda i: low + i not in claims.ports)
        if offset is None:
            raise AllocationError([(svc_ref(svc), f"spec.ports[{i}].nodePort", "node port range is exhausted")])
        node_ports[port_key(port)] = low + offset
        claims.ports[low + offset] = svc_ref(svc)
    return node_ports


def _first_free(size: int, seed: str, free) -> int | None:
    """An offset in [0, size) with free(offset), searched from a name-derived start in the upper band."""
    band = min(max(16, size // 16), 256)  # Kubernetes' static band at the bottom of the range
    upper = size - band
    start = band + int(hashlib.sha256(seed.encode()).hexdigest(), 16) % max(upper, 1)
    for i in range(size):
        offset = (start + i - band) % max(upper, 1) + band if i < upper else (i - upper)
        if 0 <= offset < size and free(offset):
            return offset
    return None
