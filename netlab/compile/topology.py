"""The pod network as plain data: nodes, pods, addresses and routes (Mininet's Topo, before it is made real)."""

from __future__ import annotations

import ipaddress
from dataclasses import asdict, dataclass, field

from netlab.compile import families, names


@dataclass(frozen=True)
class NodeNet:
    name: str
    index: int
    role: str
    netns: str
    underlay_ip: str
    uplink_veth: str  # host-namespace end of the node's underlay veth
    pod_cidr: str
    gateway: str  # cni0's address, the pods' default gateway
    vxlan_mac: str
    bridge_mac: str  # cni0's fixed MAC (see bridge_mac())
    labels: dict[str, str] = field(default_factory=dict, compare=False, hash=False)
    # dual-stack only ("" in an IPv4 cluster): the node's IPv6 underlay address, pod CIDR and cni0 address
    underlay_ip6: str = ""
    pod_cidr6: str = ""
    gateway6: str = ""
    # True in an IPv6-only cluster: the node keeps its IPv4 plumbing (underlay, cni0's pod_cidr gateway)
    # internally, but its pods get no IPv4 address. None, not False, elsewhere: other topologies read as before.
    ipv6_only: bool | None = None

    @property
    def ipv4_pods(self) -> bool:
        return not self.ipv6_only


@dataclass(frozen=True)
class PodNet:
    namespace: str
    name: str
    netns: str
    node: str
    ip: str
    prefixlen: int
    gateway: str
    veth: str  # node-namespace end of the pod's veth; the pod end is eth0
    alias: str
    ip6: str = ""  # dual-stack: the pod's IPv6 address on eth0 (a /64 shared with its node's cni0)
    gateway6: str = ""


@dataclass(frozen=True)
class Route:
    dst: str
    via: str | None  # None: on-link through dev
    dev: str
    onlink: bool = False


@dataclass(frozen=True)
class Topology:
    cluster: str
    mode: str  # host-gw | vxlan
    bridge: str  # underlay bridge in the host namespace
    host_ip: str
    underlay_prefix: int
    nodes: tuple[NodeNet, ...]
    pods: tuple[PodNet, ...] = ()
    service_cidr: str = "10.96.0.0/16"
    pod_subnet: str = "10.244.0.0/16"  # the cluster CIDR: traffic from outside it is masqueraded to services
    # dual-stack only: the families in the cluster's order (primary first) and the IPv6 plan
    ip_families: tuple[str, ...] = ("IPv4",)
    host_ip6: str = ""
    underlay_prefix6: int = 0
    pod_subnet6: str = ""
    service_cidr6: str = ""

    def node(self, name: str) -> NodeNet:
        for n in self.nodes:
            if n.name == name:
                return n
        raise KeyError(name)

    def pods_on(self, node: str) -> list[PodNet]:
        return [p for p in self.pods if p.node == node]

    def host_routes(self) -> list[Route]:
        """The host reaches every pod CIDR through the node that owns it."""
        return [Route(n.pod_cidr, n.underlay_ip, self.bridge) for n in self.nodes] + [
            Route(n.pod_cidr6, n.underlay_ip6, self.bridge) for n in self.nodes if n.pod_cidr6]

    def node_routes(self, node: NodeNet) -> list[Route]:
        """Routes in one node to the other nodes' pod CIDRs, without NAT."""
        # A node's own connections to a ClusterIP are routed before nat-output DNATs them: give them a route.
        routes = [Route(self.service_cidr, None, names.NODE_BRIDGE)]
        # Everything else leaves through the host (egress, SNATed by the node and again by the host).
        routes.append(Route("default", self.host_ip, names.NODE_UPLINK))
        for other in self.nodes:
            if other.name == node.name:
                continue
            if self.mode == "vxlan":
                routes.append(Route(other.pod_cidr, vtep(other.pod_cidr), names.VXLAN_DEVICE, onlink=True))
            else:
                routes.append(Route(other.pod_cidr, other.underlay_ip, names.NODE_UPLINK))
        return routes + self._node_routes6(node)

    def _node_routes6(self, node: NodeNet) -> list[Route]:
        """The IPv6 routes to the other nodes' pod CIDRs: the same paths as IPv4's."""
        # as IPv4's: a node's own connections to an IPv6 ClusterIP need a route before nat-output DNATs them
        routes = [Route(self.service_cidr6, None, names.NODE_BRIDGE)] if self.service_cidr6 else []
        for other in self.nodes:
            if other.name == node.name or not other.pod_cidr6:
                continue
            if self.mode == "vxlan":
                routes.append(Route(other.pod_cidr6, vtep(other.pod_cidr6), names.VXLAN_DEVICE, onlink=True))
            else:
                routes.append(Route(other.pod_cidr6, other.underlay_ip6, names.NODE_UPLINK))
        return routes

    def to_dict(self) -> dict:
        out = asdict(self)
        for node in out["nodes"]:
            if node["ipv6_only"] is None:   # only an IPv6-only cluster's nodes say so
                node.pop("ipv6_only")
        if not self.pod_subnet6:   # an IPv4 cluster's topology reads as it always did
            for key in ("ip_families", "host_ip6", "underlay_prefix6", "pod_subnet6", "service_cidr6"):
                out.pop(key)
            for part, keys in (("nodes", ("underlay_ip6", "pod_cidr6", "gateway6")), ("pods", ("ip6", "gateway6"))):
                for item in out[part]:
                    for key in keys:
                        item.pop(key)
        return out


def vtep(cidr: str) -> str:
    """A node's VXLAN tunnel address in one family: the network address of its pod CIDR (flannel's choice)."""
    return str(ipaddress.ip_network(cidr).network_address)


def order_by_family(ips: list[str], families: tuple[str, ...]) -> list[str]:
    """The non-empty addresses (or CIDRs) of `ips`, the cluster's primary family first (as the kubelet lists
    podIPs, and a Node its podCIDRs)."""
    present = [ip for ip in ips if ip]
    rank = {"IPv4": 4, "IPv6": 6}
    order = [rank[f] for f in families]

    def position(ip: str) -> int:
        version = ipaddress.ip_network(ip, strict=False).version
        return order.index(version) if version in order else len(order)
    return sorted(present, key=position)


def vxlan_mac(index: int) -> str:
    """Deterministic, locally administered MAC for node `index`'s VTEP (flannel learns it; we know it)."""
    return f"0e:6e:6c:00:{index >> 8 & 0xFF:02x}:{index & 0xFF:02x}"


def bridge_mac(index: int) -> str:
    """A fixed, locally administered MAC for node `index`'s cni0.

    A Linux bridge without an address of its own borrows the lowest MAC among its ports and changes it
    as pods come and go. Pods hold the gateway's MAC in their neighbour tables (REACHABLE for 15-45 s),
    so after a pod is deleted their frames go to a MAC nobody has: traffic via the gateway is lost until
    the entry ages. An address set explicitly never changes (the CNI bridge plugin does the same)."""
    return f"0e:6e:6c:01:{index >> 8 & 0xFF:02x}:{index & 0xFF:02x}"


@dataclass(frozen=True)
class NodeSpec:
    name: str
    role: str
    labels: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class AddressPlan:
    underlay: str = "172.18.0.0/16"
    pod_subnet: str = "10.244.0.0/16"
    node_prefix: int = 24
    underlay6: str = ""   # dual-stack: the underlay's IPv6 prefix and the IPv6 pod subnet
    pod_subnet6: str = ""
    ipv6_only: bool = False   # pods get no IPv4 address (see NodeNet)

    def host_ip6(self) -> str:
        return families.nth_address(self.underlay6, 1) if self.underlay6 else ""

    def node_ip6(self, index: int) -> str:
        return families.nth_address(self.underlay6, 2 + index) if self.underlay6 else ""

    def node_pod_cidr6(self, index: int) -> str:
        return families.node_cidr(self.pod_subnet6, families.NODE_PREFIX_IPV6, index) if self.pod_subnet6 else ""

    def host_ip(self) -> str:
        return str(ipaddress.ip_network(self.underlay).network_address + 1)

    def node_ip(self, index: int) -> str:
        return str(ipaddress.ip_network(self.underlay).network_address + 2 + index)

    def node_pod_cidr(self, index: int) -> str:
        subnets = ipaddress.ip_network(self.pod_subnet).subnets(new_prefix=self.node_prefix)
        for i, net in enumerate(subnets):
            if i == index:
                return str(net)
        raise ValueError(f"pod subnet {self.pod_subnet} has no room for node {index + 1}")


def build_nodes(cluster: str, plan: AddressPlan, nodes: list[NodeSpec]) -> tuple[NodeNet, ...]:
    out = []
    for i, spec in enumerate(nodes):
        cidr = plan.node_pod_cidr(i)
        out.append(
            NodeNet(
                name=spec.name,
                index=i,
                role=spec.role,
                netns=names.node_netns(spec.name),
                underlay_ip=plan.node_ip(i),
                uplink_veth=names.underlay_veth(cluster, spec.name),
                pod_cidr=cidr,
                gateway=str(ipaddress.ip_network(cidr).network_address + 1),
                vxlan_mac=vxlan_mac(i),
                bridge_mac=bridge_mac(i),
                labels=dict(spec.labels),
                underlay_ip6=plan.node_ip6(i),
                pod_cidr6=(cidr6 := plan.node_pod_cidr6(i)),
                gateway6=families.nth_address(cidr6, 1) if cidr6 else "",
                ipv6_only=plan.ipv6_only or None,
            )
        )
    return tuple(out)


def pod_net(cluster: str, node: NodeNet, namespace: str, name: str, ip: str, ip6: str = "") -> PodNet:
    return PodNet(
        namespace=namespace,
        name=name,
        netns=names.pod_netns(namespace, name),
        node=node.name,
        ip=ip,
        prefixlen=ipaddress.ip_network(node.pod_cidr).prefixlen,
        gateway=node.gateway,
        veth=names.pod_veth(cluster, namespace, name),
        alias=names.pod_alias(cluster, namespace, name),
        ip6=ip6,
        gateway6=node.gateway6 if ip6 else "",
    )
