"""The cluster's shape (nodes, address plan, pod network mode) from a kind-style Cluster document."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

from netlab.compile import families, names
from netlab.compile.topology import AddressPlan, NodeSpec, PodNet, Topology, build_nodes, pod_net

DEFAULT_NODES = ({"role": "control-plane"}, {"role": "worker"}, {"role": "worker"})
# The default IPv6 LoadBalancer pool, offsets inside the underlay's IPv6 prefix: <prefix>::255:200 to ::255:250
# (it reads like the IPv4 pool 172.18.255.200-250; the range holds 81 addresses, 0x200 to 0x250)
LB_POOL6_OFFSETS = (0x2550200, 0x2550250)


def kind_node_names(cluster: str, roles: list[str]) -> list[str]:
    """kind's names: <c>-control-plane, <c>-control-plane2, <c>-worker, <c>-worker2, ..."""
    counts: dict[str, int] = {}
    out = []
    for role in roles:
        counts[role] = counts.get(role, 0) + 1
        n = counts[role]
        out.append(f"{cluster}-{role}" + ("" if n == 1 else str(n)))
    return out


@dataclass(frozen=True)
class ClusterConfig:
    name: str = "netlab"
    mode: str = "host-gw"
    underlay: str = "172.18.0.0/16"
    bridge: str | None = None
    pod_subnet: str = "10.244.0.0/16"
    node_prefix: int = 24
    service_subnet: str = "10.96.0.0/16"
    cluster_domain: str = "cluster.local"
    nodes: tuple[NodeSpec, ...] = field(default_factory=tuple)
    backoff_initial: float = 10.0
    backoff_max: float = 300.0
    lb_pool: tuple[str, str] = ("172.18.255.200", "172.18.255.250")
    node_port_range: tuple[int, int] = (30000, 32767)
    dns_upstreams: tuple[str, ...] | None = None
    dns_ttl: int = 30
    dns_replicas: int = 2
    api_address: str = "127.0.0.1"
    api_port: int | None = None   # None: 6443 or the next free port
    non_masquerade_cidrs: tuple[str, ...] = ()  # ip-masq-agent's nonMasqueradeCIDRs, beyond the cluster's own
    masq_link_local: bool = False
    # dual-stack (kind's ipFamily: dual): the pod families in podSubnet's order, the IPv6 pod subnet and the
    # underlay's IPv6 prefix; "" in an IPv4 cluster
    ip_families: tuple[str, ...] = ("IPv4",)
    pod_subnet6: str = ""
    underlay6: str = ""
    service_subnet6: str = ""   # the IPv6 service range (IPv6 ClusterIPs)
    lb_pool6: tuple[str, str] | None = None   # the IPv6 LoadBalancer pool (start, end) of a cluster with IPv6

    @staticmethod
    def from_manifest(doc: dict | None, name: str | None = None) -> ClusterConfig:
        doc = doc or {}
        cluster = name or doc.get("name") or "netlab"
        net = doc.get("networking") or {}
        underlay = doc.get("underlay") or {}
        backoff = doc.get("restartBackoff") or {}
        pool = doc.get("loadBalancerPool") or {}
        dns = doc.get("dns") or {}
        api = doc.get("apiServer") or {}
        low, _, high = str(doc.get("nodePortRange", "30000-32767")).partition("-")
        node_docs = doc.get("nodes") or list(DEFAULT_NODES)
        node_names = kind_node_names(cluster, [n.get("role", "control-plane") for n in node_docs])
        nodes = tuple(
            NodeSpec(node_name, n.get("role", "control-plane"), dict(n.get("labels") or {}))
            for node_name, n in zip(node_names, node_docs, strict=True)
        )
        dual = _dual_stack(net, underlay)
        return ClusterConfig(
            name=cluster,
            mode=doc.get("mode", "host-gw"),
            underlay=underlay.get("subnet", "172.18.0.0/16"),
            bridge=underlay.get("bridge"),
            pod_subnet=_ipv4_part(net.get("podSubnet"), "10.244.0.0/16"),
            node_prefix=int(doc.get("nodeCIDRMaskSize", 24)),
            service_subnet=_ipv4_part(net.get("serviceSubnet"), "10.96.0.0/16"),
            cluster_domain=doc.get("clusterDomain", "cluster.local"),
            nodes=nodes,
            backoff_initial=float(backoff.get("initialSeconds", 10)),
            backoff_max=float(backoff.get("maxSeconds", 300)),
            lb_pool=(pool.get("start", "172.18.255.200"), pool.get("end", "172.18.255.250")),
            node_port_range=(int(low), int(high)),
            dns_upstreams=tuple(dns["upstreams"]) if dns.get("upstreams") is not None else None,
            dns_ttl=int(dns.get("ttl", 30)),
            dns_replicas=int(dns.get("replicas", 2)),
            api_address=str(api.get("address", "127.0.0.1")),
            api_port=int(api["port"]) if api.get("port") is not None else None,
            non_masquerade_cidrs=tuple(doc.get("nonMasqueradeCIDRs") or ()),
            masq_link_local=bool(doc.get("masqLinkLocal", False)),
            lb_pool6=_lb_pool6(pool, dual.get("underlay6", "")),
            **dual,
        )

    @property
    def bridge_name(self) -> str:
        return self.bridge or names.underlay_bridge(self.name)

    def address_plan(self) -> AddressPlan:
        return AddressPlan(underlay=self.underlay, pod_subnet=self.pod_subnet, node_prefix=self.node_prefix,
                           underlay6=self.underlay6, pod_subnet6=self.pod_subnet6,
                           ipv6_only="IPv4" not in self.ip_families)

    @property
    def primary_service_subnet(self) -> str:
        """The service range of the cluster's primary family: kube-apiserver's first
        --service-cluster-ip-range, where the `kubernetes` (.1) and kube-dns (.10) Services live."""
        return self.service_subnet6 if self.ip_families[0] == "IPv6" else self.service_subnet

    @property
    def dns_ip(self) -> str:
        return families.nth_address(self.primary_service_subnet, 10)

    def lab_cidrs_ipv4(self) -> list[str]:
        return [self.underlay, self.pod_subnet, self.service_subnet]

    def lab_cidrs(self) -> list[str]:
        """Every range the cluster uses, both families (up refuses ranges the host already routes)."""
        return self.lab_cidrs_ipv4() + [c for c in (self.underlay6, self.pod_subnet6) if c]

    def topology(self, pods: list[tuple[str, ...]] = ()) -> Topology:
        """pods: (namespace, name, node, ip) or, in a dual-stack cluster, (namespace, name, node, ip, ip6)."""
        plan = self.address_plan()
        nodes = build_nodes(self.name, plan, list(self.nodes))
        by_name = {n.name: n for n in nodes}
        pod_nets: list[PodNet] = [pod_net(self.name, by_name[p[2]], *p[:2], *p[3:]) for p in pods]
        return Topology(
            cluster=self.name,
            mode=self.mode,
            bridge=self.bridge_name,
            host_ip=plan.host_ip(),
            underlay_prefix=ipaddress.ip_network(self.underlay).prefixlen,
            nodes=nodes,
            pods=tuple(pod_nets),
            service_cidr=self.service_subnet,
            pod_subnet=self.pod_subnet,
            ip_families=self.ip_families,
            host_ip6=plan.host_ip6(),
            underlay_prefix6=ipaddress.ip_network(self.underlay6).prefixlen if self.underlay6 else 0,
            pod_subnet6=self.pod_subnet6,
            service_cidr6=self.service_subnet6,
        )


def _ipv4_part(value: str | None, default: str) -> str:
    """The IPv4 CIDR of a comma-separated kind subnet field."""
    v4 = [c for c in families.split_cidrs(value or "") if ":" not in c]
    return v4[0] if v4 else default


def _dual_stack(net: dict, underlay: dict) -> dict:
    """The IPv6 fields of ClusterConfig from kind's networking (nothing for an IPv4 cluster). An IPv6-only
    cluster keeps the IPv4 fields' defaults for its nodes' internal plumbing; no pod or Service uses them."""
    family = net.get("ipFamily", "ipv4")
    if family not in ("dual", "ipv6"):
        return {}
    pods = families.split_cidrs(net.get("podSubnet") or families.default_subnets(family, families.POD_SUBNET))
    return {
        "ip_families": tuple("IPv6" if ":" in c else "IPv4" for c in pods),
        "pod_subnet6": next(c for c in pods if ":" in c),
        "service_subnet6": next((c for c in families.split_cidrs(net.get("serviceSubnet") or "") if ":" in c),
                                families.SERVICE_SUBNET["IPv6"]),
        "underlay6": underlay.get("subnetIPv6") or families.UNDERLAY_IPV6,
    }


def _lb_pool6(pool: dict, underlay6: str) -> tuple[str, str] | None:
    """loadBalancerPool.startIPv6/endIPv6, else the default range inside the underlay's IPv6 prefix."""
    if not underlay6:
        return None
    if pool.get("startIPv6") and pool.get("endIPv6"):
        return str(pool["startIPv6"]), str(pool["endIPv6"])
    base = ipaddress.IPv6Network(underlay6).network_address
    return str(base + LB_POOL6_OFFSETS[0]), str(base + LB_POOL6_OFFSETS[1])


def overlapping(cidrs: list[str], host_routes: list[str]) -> list[tuple[str, str]]:
    """Pairs (lab CIDR, host route) that overlap; the default route overlaps nothing."""
    out = []
    for cidr in cidrs:
        net = ipaddress.ip_network(cidr)
        for route in host_routes:
            if route in ("default", "0.0.0.0/0", "::/0"):
                continue
            other = ipaddress.ip_network(route, strict=False)
            if net.version == other.version and net.overlaps(other):
                out.append((cidr, route))
    return out
