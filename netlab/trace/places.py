"""Where things are and how a packet gets between them: names, the Topology's routes. Pure.

The base of the trace walker: the rule-driven parts (`netlab.trace.dnat`, `netlab.trace.policy`)
build on it.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping

from netlab.compile import names
from netlab.compile.netpol import PolicyPod
from netlab.compile.nftables import Ruleset
from netlab.compile.services import ResolvedService
from netlab.compile.services import announcer as services_announcer
from netlab.compile.topology import NodeNet, PodNet, Topology
from netlab.trace.nft_eval import Interpreter
from netlab.trace.result import PolicyInputs, Source, Step, TraceError, display


def announcer(svc: ResolvedService, topo: Topology) -> str | None:
    """The node answering ARP for the LoadBalancer IP (the data plane's own choice)."""
    return services_announcer(svc, [n.name for n in topo.nodes])


def ip_version(text: str) -> int | None:
    """4 or 6 for an IP address literal, None for anything else."""
    try:
        return ipaddress.ip_address(text).version
    except ValueError:
        return None


def _in(ip: str, cidr: str) -> bool:
    return bool(cidr) and ipaddress.ip_address(ip) in ipaddress.ip_network(cidr, strict=False)


def _vtep(cidr: str) -> str:
    return str(ipaddress.ip_network(cidr).network_address)


class Places:
    def __init__(self, topo: Topology, services: list[ResolvedService], pi: PolicyInputs, cluster_cidr: str,
                 rulesets: Mapping[str, Ruleset]):
        self.topo = topo
        self.services = services
        self.pi = pi
        self.cluster_cidr = cluster_cidr
        self.policy_pods = {p.ip: p for p in pi.pods} | {p.ip6: p for p in pi.pods if p.ip6}
        self.v6 = False  # the family of the traced packet: choose_family() sets it before the walk
        self.interpreters = {node: Interpreter(ruleset).check() for node, ruleset in rulesets.items()}

    def rules(self, node: str) -> Interpreter:
        """The interpreter over `node`'s compiled ruleset."""
        return self.interpreters[node]

    # ----- the packet's family: which address of a pod, node or the host it uses -----

    def choose_family(self, dst: str, family: str | None) -> str:
        """The family of the packet to `dst`: an address's own; for a Service its spec.clusterIP's (the
        first of ipFamilies) and for a pod the cluster's primary, unless `family` asks for the other."""
        have = self.topo.ip_families
        if family is not None and family not in have:
            raise TraceError(f"this cluster has no {family} (its families: {', '.join(have)})")
        version = ip_version(dst)
        if version is not None:
            own = f"IPv{version}"
            if family is not None and family != own:
                raise TraceError(f"{dst} is an {own} address, not {family}")
            if own not in have:
                raise TraceError(f"{dst} is an {own} address and this cluster has no {own}")
            return own
        svc = self.service(dst)
        if svc is not None and svc.cluster_ips():
            if family is None:
                return svc.ip_families[0]
            if svc.cluster_ip_of(family) is None:
                raise TraceError(f"{svc.key} has no {family} ClusterIP (ipFamilies: {', '.join(svc.ip_families)})")
            return family
        return family or have[0]

    def use_family(self, family: str) -> None:
        self.v6 = family == "IPv6"

    @property
    def family(self) -> str:
        return "IPv6" if self.v6 else "IPv4"

    def _sets(self) -> str:
        """The suffix of the packet's family's set names (`service-ips6`)."""
        return "6" if self.v6 else ""

    def node_ip(self, node: NodeNet) -> str:
        return node.underlay_ip6 if self.v6 else node.underlay_ip

    def pod_cidr(self, node: NodeNet) -> str:
        return node.pod_cidr6 if self.v6 else node.pod_cidr

    def gw_of(self, where: NodeNet | PodNet) -> str:
        return where.gateway6 if self.v6 else where.gateway

    def pod_ip(self, pod: PodNet | PolicyPod) -> str:
        return pod.ip6 if self.v6 else pod.ip

    @property
    def host_ip(self) -> str:
        return self.topo.host_ip6 if self.v6 else self.topo.host_ip

    @property
    def underlay(self) -> str:
        """The underlay network of the packet's family (`172.18.0.0/16`)."""
        if self.v6:
            return str(ipaddress.ip_network(f"{self.topo.host_ip6}/{self.topo.underlay_prefix6}", strict=False))
        return str(ipaddress.ip_network(f"{self.topo.host_ip}/{self.topo.underlay_prefix}", strict=False))

    @property
    def service_cidr(self) -> str:
        return self.topo.service_cidr6 if self.v6 else self.topo.service_cidr

    @property
    def pod_range(self) -> str:
        """The cluster CIDR of the packet's family: sources outside it are masqueraded to Services."""
        return self.topo.pod_subnet6 if self.v6 else self.cluster_cidr

    # ----- names -----

    def pod(self, ref: str) -> PodNet | None:
        ns, _, name = ref.rpartition("/")
        ns = ns or "default"
        return next((p for p in self.topo.pods if p.namespace == ns and p.name == name), None)

    def pod_by_ip(self, ip: str) -> PodNet | None:
        return next((p for p in self.topo.pods if ip in (p.ip, p.ip6)), None)

    def node_by_ip(self, ip: str) -> NodeNet | None:
        return next((n for n in self.topo.nodes if ip in (n.underlay_ip, n.underlay_ip6)), None)

    def node_of_pod_ip(self, ip: str) -> NodeNet | None:
        return next((n for n in self.topo.nodes if _in(ip, n.pod_cidr) or _in(ip, n.pod_cidr6)), None)

    def service(self, ref: str) -> ResolvedService | None:
        name, _, ns = ref.partition(".")
        ns = ns.split(".")[0] if ns else "default"
        return next((s for s in self.services if s.name == name and s.namespace == ns), None)

    def source(self, src: str) -> Source:
        if src == "host":
            return Source("host", "host", self.host_ip, None, None)
        if src.startswith("node:") or any(n.name == src for n in self.topo.nodes):
            name = src.removeprefix("node:")
            try:
                node = self.topo.node(name)
            except KeyError:
                raise TraceError(f"no node {name!r} (nodes: {', '.join(n.name for n in self.topo.nodes)})") from None
            return Source("node", node.name, self.node_ip(node), node.netns, node.name)
        pod = self.pod(src)
        if pod is None:
            raise TraceError(f"no pod {src!r} (give ns/name for pods outside default, node:<name>, or host)")
        if not self.pod_ip(pod):
            raise TraceError(f"pod {src!r} has no {'IPv6' if self.v6 else 'IPv4'} address")
        return Source("pod", f"{pod.namespace}/{pod.name}", self.pod_ip(pod), pod.netns, pod.node)

    def destination(self, dst: str, port: int | None, proto: str) -> tuple[str, int]:
        if ip_version(dst) is not None:
            ip = dst
        else:
            svc = self.service(dst)
            pod = self.pod(dst) if svc is None else None
            if svc is not None:
                if svc.type == "ExternalName":
                    raise TraceError(f"{svc.key} is ExternalName: DNS answers a CNAME to {svc.external_name}; "
                                     "no packet goes to the service itself")
                if not svc.cluster_ips():
                    ips = [a for e in svc.endpoints for f in svc.ip_families for a in e.addresses(f)]
                    raise TraceError(f"{svc.key} is headless: DNS answers the pod IPs; trace one of them "
                                     f"({', '.join(ips) or 'none ready'})")
                ip = svc.cluster_ip_of("IPv6" if self.v6 else "IPv4")
                assert ip is not None  # choose_family() picked one of its families
                if port is None:
                    port = svc.ports[0].port if len(svc.ports) == 1 else None
            elif pod is not None:
                ip = self.pod_ip(pod)
                if not ip:
                    raise TraceError(f"pod {dst!r} has no {'IPv6' if self.v6 else 'IPv4'} address")
            else:
                raise TraceError(f"{dst!r} is neither an IP, a Service (name or name.namespace) nor a pod")
        if port is None:
            raise TraceError(f"give a port for {dst} (DST:PORT)")
        return ip, port

    # ----- routing -----

    def route_from_node(self, node: NodeNet, ip: str) -> tuple[str, str, str, NodeNet | None]:
        """(route text, out device, source address the node would pick, next node or None)."""
        own = self.pod_cidr(node)
        if _in(ip, own):
            return f"{own} dev {names.NODE_BRIDGE}", names.NODE_BRIDGE, self.gw_of(node), None
        for other in self.topo.nodes:
            theirs = self.pod_cidr(other)
            if other.name != node.name and _in(ip, theirs):
                if self.topo.mode == "vxlan":
                    return (f"{theirs} via {_vtep(theirs)} dev {names.VXLAN_DEVICE} onlink",
                            names.VXLAN_DEVICE, _vtep(own), other)
                return f"{theirs} via {self.node_ip(other)} dev {names.NODE_UPLINK}", names.NODE_UPLINK, \
                    self.node_ip(node), other
        if _in(ip, self.service_cidr):
            return f"{self.service_cidr} dev {names.NODE_BRIDGE}", names.NODE_BRIDGE, self.gw_of(node), None
        if not _in(ip, self.underlay):
            if self.v6:  # the nodes have no IPv6 default route: IPv6 does not leave the cluster
                return "no IPv6 route", names.NODE_UPLINK, self.node_ip(node), None
            return f"default via {self.host_ip} dev {names.NODE_UPLINK}", names.NODE_UPLINK, \
                self.node_ip(node), None
        return f"{self.underlay} dev {names.NODE_UPLINK}", names.NODE_UPLINK, self.node_ip(node), self.node_by_ip(ip)

    def hop_steps(self, node: NodeNet, ip: str) -> tuple[Step, Step | None, NodeNet]:
        """The route step in `node` towards `ip`, the arrival step in the node that delivers it (None: the
        same node), and that node."""
        route, dev, _src, nxt = self.route_from_node(node, ip)
        target = self.node_by_ip(ip)
        if target is not None:  # a node's own address: a hostNetwork pod (or a hostPort) listens there
            local = ("delivered to the node's own sockets", "a hostNetwork pod listens in its node's network "
                     "namespace, on the node's address", "local")
            if target.name == node.name:
                return Step(node.name, f"{ip} is this node's own address: {local[0]}", *local[1:]), None, node
            return (Step(node.name, f"routes {ip} to {target.name} over the underlay: {route}",
                         f"{ip} is {target.name}'s underlay address", route),
                    Step(target.name, f"receives it on {dev}, its own address: {local[0]}", *local[1:]), target)
        pod = self.pod_by_ip(ip)
        where = f"veth {pod.veth} to {display(pod.namespace, pod.name)}" if pod else "the bridge"
        if nxt is None or not _in(ip, self.pod_cidr(nxt)):
            return Step(node.name, f"routes {ip} on the same node: bridge {names.NODE_BRIDGE}",
                        f"{ip} is in this node's pod CIDR {self.pod_cidr(node)}: out of {names.NODE_BRIDGE}, "
                        f"then {where}", route), None, node
        cidr = self.pod_cidr(nxt)
        if self.topo.mode == "vxlan":
            # IPv6 rides the same VXLAN device; the outer packet is the underlay's IPv4 either way
            detail = (f"{cidr} belongs to {nxt.name}: vxlan mode, into {names.VXLAN_DEVICE} "
                      f"(VNI 1), encapsulated in UDP 8472 from {node.underlay_ip} to {nxt.underlay_ip}; "
                      "the inner packet keeps its addresses")
        else:
            detail = (f"{cidr} belongs to {nxt.name}: host-gw mode, a plain route to {self.node_ip(nxt)} "
                      f"over the underlay; the packet keeps its addresses")
        arrive = Step(nxt.name, f"receives it on {dev} and delivers {ip} through {names.NODE_BRIDGE}",
                      f"{ip} is in {cidr}: out of {names.NODE_BRIDGE}, then {where}",
                      f"{cidr} dev {names.NODE_BRIDGE}")
        return Step(node.name, f"routes {ip} to {nxt.name}: {route}", detail, route), arrive, nxt

    def leave(self, src: Source, dst_ip: str) -> tuple[list[Step], NodeNet | None, str, str]:
        """Steps until the packet enters the first node's netlab table: (steps, node, hook, source IP)."""
        if src.kind == "pod":
            pod = self.pod(src.name)
            assert pod is not None
            node = self.topo.node(pod.node)
            who = display(pod.namespace, pod.name)
            ip, gw = self.pod_ip(pod), self.gw_of(pod)
            return [Step(who, f"leaves {ip} via {names.POD_IFACE}, default route via {gw} "
                              f"({names.NODE_BRIDGE} on {node.name})",
                         f"{ip} -> {dst_ip}: the pod has one route{' per family' if self.v6 else ''}, default "
                         f"via {gw} dev {names.POD_IFACE}; the veth's other end ({pod.veth}) is in "
                         f"{node.name}'s {names.NODE_BRIDGE}", f"default via {gw} dev {names.POD_IFACE}")], \
                node, "prerouting", ip
        if src.kind == "node":
            node = self.topo.node(src.name)
            route, dev, saddr, _ = self.route_from_node(node, dst_ip)
            return [Step(node.name, f"sends from {saddr} via {dev}",
                         f"a process in {node.name} connects to {dst_ip}: route `{route}` picks source {saddr}; "
                         "netlab's nat-output/filter-output chains see it", route)], node, "output", saddr
        # host
        prefix = self.topo.underlay_prefix6 if self.v6 else self.topo.underlay_prefix
        host = self.host_ip
        on_link = f"{host}/{prefix} dev {self.topo.bridge}"
        for node in self.topo.nodes:
            if _in(dst_ip, self.pod_cidr(node)):
                route = f"{self.pod_cidr(node)} via {self.node_ip(node)} dev {self.topo.bridge}"
                return [Step("host", f"sends from {host} to {node.name}: {route}",
                             f"the host routes every pod CIDR through the node that owns it, over the underlay "
                             f"bridge {self.topo.bridge}", route)], node, "prerouting", host
        node = self.node_by_ip(dst_ip)
        if node is not None:
            return [Step("host", f"sends from {host} to {node.name} ({dst_ip}) on {self.topo.bridge}",
                         f"{dst_ip} is {node.name}'s underlay address, on-link on bridge {self.topo.bridge}",
                         on_link)], node, "prerouting", host
        for svc in self.services:
            if svc.load_balancer_ip == dst_ip:
                owner = self.topo.node(announcer(svc, self.topo) or self.topo.nodes[0].name)
                return [Step("host", f"sends from {self.topo.host_ip} to LoadBalancer IP {dst_ip}; "
                                     f"{owner.name} answers ARP for it",
                             f"{dst_ip} ({svc.key}) is announced on the underlay by {owner.name} (MetalLB L2 "
                             f"style: a /32 on its {names.NODE_UPLINK}), so the frame goes to that node",
                             f"{self.topo.host_ip}/{self.topo.underlay_prefix} dev {self.topo.bridge}")], \
                    owner, "prerouting", self.topo.host_ip
        return [Step("host", f"has no route to {dst_ip}",
                     f"the host routes only the pod CIDRs and the underlay to the cluster; {dst_ip} "
                     f"(e.g. a ClusterIP in {self.service_cidr}) is reachable only from nodes and pods",
                     "no route")], None, "prerouting", host
