"""Services as the endpoints controller and kube-proxy see them: endpoints and resolved ports. Pure.

Allocation (ClusterIPs, NodePorts, LoadBalancer IPs) is in service_alloc; its names are re-exported here.
"""

from __future__ import annotations

import hashlib
import ipaddress
from dataclasses import dataclass

from netlab.compile import label_selectors
from netlab.compile.service_alloc import Allocation as Allocation
from netlab.compile.service_alloc import AllocationError as AllocationError
from netlab.compile.service_alloc import Pools as Pools
from netlab.compile.service_alloc import allocate as allocate
from netlab.compile.service_alloc import port_key as port_key
from netlab.compile.service_alloc import svc_key as svc_key
from netlab.compile.service_alloc import svc_ref as svc_ref
from netlab.compile.workloads import PlacedPod

# kube-proxy watches Services (and EndpointSlices) with the selector "!service-proxy-name, !headless":
# a Service with either label, whatever its value, is left to another proxy and gets no rules at all.
# Its endpoints and DNS records are not the proxy's business and stay.
NOT_PROXIED_LABELS = ("service.kubernetes.io/service-proxy-name", "service.kubernetes.io/headless")


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
    ip6: str = ""  # its pod's IPv6 address in a dual-stack or IPv6-only cluster (Services of the IPv6 family)

    def addresses(self, family: str) -> list[str]:
        """Its address of one family (none when it has no address of that family). `ip` is the endpoint's
        key (its pod's IPv4 address; the IPv6 one in an IPv6-only cluster), so it counts only as IPv4."""
        ip = self.ip6 if family == "IPv6" else self.ip
        return [ip] if ip and (":" in ip) == (family == "IPv6") else []

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
    load_balancer_ip6: str | None = None  # its IPv6 LoadBalancer IP (load_balancer_ip is the IPv4 one)

    def cluster_ips(self) -> list[str]:
        """spec.clusterIPs: in ipFamilies order; empty for a headless or ExternalName Service."""
        return Allocation(self.cluster_ip, cluster_ip6=self.cluster_ip6).cluster_ips(self.ip_families)

    def cluster_ip_of(self, family: str) -> str | None:
        return self.cluster_ip6 if family == "IPv6" else self.cluster_ip

    def load_balancer_ip_of(self, family: str) -> str | None:
        return self.load_balancer_ip6 if family == "IPv6" else self.load_balancer_ip

    def load_balancer_ips(self) -> list[str]:
        """Its LoadBalancer IPs, IPv4 first."""
        return [ip for ip in (self.load_balancer_ip, self.load_balancer_ip6) if ip]

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
    """The node that answers ARP (and NDP) for a Service's LoadBalancer IPs (MetalLB L2 style): with Local
    traffic policy a node that has a ready endpoint, otherwise a node chosen by a stable hash of the service."""
    if not svc.load_balancer_ips():
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
            key_ip = pod.ip or pod.ip6
            endpoints.append(Endpoint(key_ip, pod.name, pod.node, False, hostname, terminating=True, serving=is_ready,
                                      ip6=pod.ip6)
                             if pod.key in terminating else Endpoint(key_ip, pod.name, pod.node, is_ready, hostname,
                                                                     ip6=pod.ip6))
            for p in spec.get("ports") or []:
                tp = _target_port(p, pod.spec)
                if tp is not None:
                    targets[port_key(p)][key_ip] = tp
    elif user_endpoints:
        for subset in user_endpoints.get("subsets") or []:
            by_name = {sp.get("name"): sp["port"] for sp in subset.get("ports") or []}
            for addr_list, is_ready in ((subset.get("addresses") or [], True),
                                        (subset.get("notReadyAddresses") or [], False)):
                for a in addr_list:
                    endpoints.append(Endpoint(a["ip"], None, a.get("nodeName"), is_ready, a.get("hostname"),
                                              ip6=a["ip"] if ":" in a["ip"] else ""))
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
        load_balancer_ip6=alloc.load_balancer_ip6,
    )
