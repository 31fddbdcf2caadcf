"""Services as the API server and the endpoints controller see them: allocation and endpoints. Pure.

Allocation (ClusterIP, NodePort, LoadBalancer IP) is stable: what a service already holds is kept,
values the user gives are checked for range and conflicts, the rest comes from the free pool.
"""

from __future__ import annotations

import hashlib
import ipaddress
from dataclasses import dataclass, field

from netlab.compile import families, label_selectors
from netlab.compile.workloads import PlacedPod

RESERVED_OFFSETS = (1, 10)  # 10.96.0.1 kubernetes, 10.96.0.10 kube-dns
# kube-proxy watches Services (and EndpointSlices) with the selector "!service-proxy-name, !headless":
# a Service with either label, whatever its value, is left to another proxy and gets no rules at all.
# Its endpoints and DNS records are not the proxy's business and stay.
NOT_PROXIED_LABELS = ("service.kubernetes.io/service-proxy-name", "service.kubernetes.io/headless")


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
        if spec.get("type") == "LoadBalancer" and lb is None:
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


# ----- endpoints -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Endpoint:
    ip: str
    pod: str | None  # pod name, None for user-written Endpoints
    node: str | None
    ready: bool  # a terminating endpoint is never ready (its readiness is `serving`)
    hostname: str | None = None
    zone: str | None = None  # its node's topology.kubernetes.io/zone (compile/topology_zones.py)
    terminating: bool = False  # its pod is being deleted (graceful termination)
    serving: bool | None = None  # None: as `ready`; a terminating endpoint: its pod's readiness
    ip6: str = ""  # its pod's IPv6 address in a dual-stack cluster (used by Services with the IPv6 family)

    def addresses(self, family: str) -> list[str]:
        """Its address of one family (none when it has no address of that family)."""
        ip = self.ip6 if family == "IPv6" else self.ip
        return [ip] if ip else []

    @property
    def is_serving(self) -> bool:
        return self.ready if self.serving is None else self.serving


@dataclass(frozen=True)
class ServicePortView:
    name: str
    protocol: str
    port: int
    node_port: int | None
    target: dict[str, int]  # endpoint IP -> target port (a named targetPort resolves per pod)


@dataclass(frozen=True)
class ResolvedService:
    namespace: str
    name: str
    type: str
    cluster_ip: str | None
    load_balancer_ip: str | None
    ports: tuple[ServicePortView, ...]
    endpoints: tuple[Endpoint, ...]
    external_local: bool = False
    internal_local: bool = False  # internalTrafficPolicy Local: ClusterIP traffic only to the client node's endpoints
    affinity_timeout: int | None = None  # seconds, when sessionAffinity is ClientIP
    external_name: str | None = None
    publish_not_ready: bool = False
    proxied: bool = True  # False: netlab's proxy leaves it alone (NOT_PROXIED_LABELS)
    external_ips: tuple[str, ...] = ()  # spec.externalIPs: DNATed like a LoadBalancer IP where they arrive
    source_ranges: tuple[str, ...] = ()  # loadBalancerSourceRanges: the only clients of the LoadBalancer IP
    traffic_distribution: str | None = None  # spec.trafficDistribution (compile/topology_zones.py)
    ip_families: tuple[str, ...] = ("IPv4",)  # spec.ipFamilies as the API server sets them (families.py)
    cluster_ip6: str | None = None  # its IPv6 ClusterIP (cluster_ip is the IPv4 one)

    def cluster_ips(self) -> list[str]:
        """spec.clusterIPs: in ipFamilies order; empty for a headless or ExternalName Service."""
        return Allocation(self.cluster_ip, cluster_ip6=self.cluster_ip6).cluster_ips(self.ip_families)

    def cluster_ip_of(self, family: str) -> str | None:
        return self.cluster_ip6 if family == "IPv6" else self.cluster_ip

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"

    def hash8(self) -> str:
        return hashlib.sha256(self.key.encode()).hexdigest()[:8]


def serving_endpoints(svc: ResolvedService, port: ServicePortView) -> list[Endpoint]:
    """The endpoints a service port sends new connections to: ready ones (all with publishNotReadyAddresses);
    when there are none, the serving ones that are terminating (kube-proxy's fallback while a pod drains)."""
    ours = [e for e in svc.endpoints if e.ip in port.target]
    ready = [e for e in ours if e.ready or svc.publish_not_ready]
    return ready or [e for e in ours if e.terminating and e.is_serving]


def live_endpoints(svc: ResolvedService, port: ServicePortView) -> list[Endpoint]:
    """The endpoints whose flows must be kept: the serving ones and the terminating ones still serving
    (a draining pod's established connections go on until it is gone)."""
    kept = {e.ip for e in serving_endpoints(svc, port)}
    return [e for e in svc.endpoints if e.ip in port.target and (e.ip in kept or (e.terminating and e.is_serving))]


def announcer(svc: ResolvedService, node_names: list[str]) -> str | None:
    """The node that answers ARP for a LoadBalancer IP (MetalLB L2 style): with Local traffic policy a
    node that has a ready endpoint, otherwise a node chosen by a stable hash of the service."""
    if not svc.load_balancer_ip:
        return None
    nodes = list(node_names)
    if svc.external_local:
        local = sorted({e.node for e in svc.endpoints if e.ready and e.node in nodes})
        if local:
            nodes = local
    digest = int(hashlib.sha256(svc.key.encode()).hexdigest(), 16)
    return nodes[digest % len(nodes)]


def _target_port(port: dict, pod_spec: dict) -> int | None:
    target = port.get("targetPort", port["port"])
    if isinstance(target, int):
        return target
    for c in pod_spec.get("containers", []):
        for cp in c.get("ports") or []:
            if cp.get("name") == target and cp.get("protocol", "TCP") == port.get("protocol", "TCP"):
                return cp["containerPort"]
    return None  # the pod does not declare that port name: not an endpoint for this port


def is_proxied(svc: dict) -> bool:
    """Whether kube-proxy (here: netlab's service rules) implements this Service."""
    labels = (svc.get("metadata") or {}).get("labels") or {}
    return not any(label in labels for label in NOT_PROXIED_LABELS)


def resolve(svc: dict, alloc: Allocation, pods: list[PlacedPod], ready: dict[str, bool],
            user_endpoints: dict | None = None, terminated: frozenset[str] = frozenset(),
            terminating: frozenset[str] = frozenset()) -> ResolvedService:
    """The service with its endpoints: selected pods (ready or not) or the Endpoints the user wrote.

    `terminated`: keys of pods in phase Succeeded or Failed, which are never endpoints (not even with
    publishNotReadyAddresses). `terminating`: keys of pods being deleted: endpoints that are not ready,
    serving while their pod is Ready, and terminating."""
    meta, spec = svc["metadata"], svc.get("spec") or {}
    ns = meta.get("namespace", "default")
    selector = spec.get("selector") or {}
    endpoints: list[Endpoint] = []
    targets: dict[str, dict[str, int]] = {port_key(p): {} for p in spec.get("ports") or []}
    if selector:
        for pod in pods:
            if pod.namespace != ns or not label_selectors.matches_map(selector, pod.labels) or pod.key in terminated:
                continue
            hostname = pod.spec.get("hostname") if pod.spec.get("subdomain") == meta["name"] else None
            is_ready = ready.get(pod.key, False)
            endpoints.append(Endpoint(pod.ip, pod.name, pod.node, False, hostname, terminating=True, serving=is_ready,
                                      ip6=pod.ip6)
                             if pod.key in terminating else Endpoint(pod.ip, pod.name, pod.node, is_ready, hostname,
                                                                     ip6=pod.ip6))
            for p in spec.get("ports") or []:
                tp = _target_port(p, pod.spec)
                if tp is not None:
                    targets[port_key(p)][pod.ip] = tp
    elif user_endpoints:
        for subset in user_endpoints.get("subsets") or []:
            by_name = {sp.get("name"): sp["port"] for sp in subset.get("ports") or []}
            for addr_list, is_ready in ((subset.get("addresses") or [], True),
                                        (subset.get("notReadyAddresses") or [], False)):
                for a in addr_list:
                    endpoints.append(Endpoint(a["ip"], None, a.get("nodeName"), is_ready, a.get("hostname")))
                    for p in spec.get("ports") or []:
                        tp = by_name.get(p.get("name")) or (next(iter(by_name.values())) if len(by_name) == 1 else None)
                        if tp is not None:
                            targets[port_key(p)][a["ip"]] = tp
    affinity = None
    if spec.get("sessionAffinity") == "ClientIP":
        affinity = ((spec.get("sessionAffinityConfig") or {}).get("clientIP") or {}).get("timeoutSeconds", 10800)
    ports = tuple(
        ServicePortView(p.get("name") or "", p.get("protocol", "TCP"), p["port"],
                        alloc.node_ports.get(port_key(p)), targets[port_key(p)])
        for p in spec.get("ports") or []
    )
    return ResolvedService(
        namespace=ns, name=meta["name"], type=spec.get("type", "ClusterIP"), cluster_ip=alloc.cluster_ip,
        load_balancer_ip=alloc.load_balancer_ip, ports=ports,
        endpoints=tuple(sorted(endpoints, key=lambda e: ipaddress.ip_address(e.ip))),
        external_local=spec.get("externalTrafficPolicy") == "Local",
        internal_local=spec.get("internalTrafficPolicy") == "Local", affinity_timeout=affinity,
        external_name=spec.get("externalName"), publish_not_ready=bool(spec.get("publishNotReadyAddresses")),
        proxied=is_proxied(svc), external_ips=tuple(spec.get("externalIPs") or ()),
        source_ranges=tuple(spec.get("loadBalancerSourceRanges") or ()) if spec.get("type") == "LoadBalancer" else (),
        traffic_distribution=spec.get("trafficDistribution"), cluster_ip6=alloc.cluster_ip6,
    )
