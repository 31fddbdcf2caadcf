"""Where things are and how a packet gets between them: names, the Topology's routes. Pure.

The base of the trace walker: the rule-driven parts (`netlab.trace.dnat`, `netlab.trace.policy`)
build on it.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping

from netlab.compile import names
from netlab.compile.nftables import Ruleset
from netlab.compile.services import ResolvedService
from netlab.compile.services import announcer as services_announcer
from netlab.compile.topology import NodeNet, PodNet, Topology
from netlab.trace.nft_eval import Interpreter
from netlab.trace.result import PolicyInputs, Source, Step, TraceError, display


def announcer(svc: ResolvedService, topo: Topology) -> str | None:
    """The node answering ARP for the LoadBalancer IP (the data plane's own choice)."""
    return services_announcer(svc, [n.name for n in topo.nodes])


def _is_ip(text: str) -> bool:
    try:
        ipaddress.IPv4Address(text)
    except ValueError:
        return False
    return True


def _in(ip: str, cidr: str) -> bool:
    return ipaddress.ip_address(ip) in ipaddress.ip_network(cidr, strict=False)


def _vtep(node: NodeNet) -> str:
    return str(ipaddress.ip_network(node.pod_cidr).network_address)

class Places:
    def __init__(self, topo: Topology, services: list[ResolvedService], pi: PolicyInputs, cluster_cidr: str,
                 rulesets: Mapping[str, Ruleset]):
        self.topo = topo
        self.services = services
        self.pi = pi
        self.cluster_cidr = cluster_cidr
        self.policy_pods = {p.ip: p for p in pi.pods}
        self.interpreters = {node: Interpreter(ruleset).check() for node, ruleset in rulesets.items()}

    def rules(self, node: str) -> Interpreter:
        """The interpreter over `node`'s compiled ruleset."""
        return self.interpreters[node]

    # ----- names -----

    def pod(self, ref: str) -> PodNet | None:
        ns, _, name = ref.rpartition("/")
        ns = ns or "default"
        return next((p for p in self.topo.pods if p.namespace == ns and p.name == name), None)

    def pod_by_ip(self, ip: str) -> PodNet | None:
        return next((p for p in self.topo.pods if p.ip == ip), None)

    def node_by_ip(self, ip: str) -> NodeNet | None:
        return next((n for n in self.topo.nodes if n.underlay_ip == ip), None)

    def node_of_pod_ip(self, ip: str) -> NodeNet | None:
        return next((n for n in self.topo.nodes if _in(ip, n.pod_cidr)), None)

    def service(self, ref: str) -> ResolvedService | None:
        name, _, ns = ref.partition(".")
        ns = ns.split(".")[0] if ns else "default"
        return next((s for s in self.services if s.name == name and s.namespace == ns), None)

    def source(self, src: str) -> Source:
        if src == "host":
            return Source("host", "host", self.topo.host_ip, None, None)
        if src.startswith("node:") or any(n.name == src for n in self.topo.nodes):
            name = src.removeprefix("node:")
            try:
                node = self.topo.node(name)
            except KeyError:
                raise TraceError(f"no node {name!r} (nodes: {', '.join(n.name for n in self.topo.nodes)})") from None
            return Source("node", node.name, node.underlay_ip, node.netns, node.name)
        pod = self.pod(src)
        if pod is None:
            raise TraceError(f"no pod {src!r} (give ns/name for pods outside default, node:<name>, or host)")
        return Source("pod", f"{pod.namespace}/{pod.name}", pod.ip, pod.netns, pod.node)

    def destination(self, dst: str, port: int | None, proto: str) -> tuple[str, int]:
        if _is_ip(dst):
            ip = dst
        else:
            svc = self.service(dst)
            pod = self.pod(dst) if svc is None else None
            if svc is not None:
                if svc.type == "ExternalName":
                    raise TraceError(f"{svc.key} is ExternalName: DNS answers a CNAME to {svc.external_name}; "
                                     "no packet goes to the service itself")
                if svc.cluster_ip is None:
                    raise TraceError(f"{svc.key} is headless: DNS answers the pod IPs; trace one of them "
                                     f"({', '.join(e.ip for e in svc.endpoints) or 'none ready'})")
                ip = svc.cluster_ip
                if port is None:
                    port = svc.ports[0].port if len(svc.ports) == 1 else None
            elif pod is not None:
                ip = pod.ip
            else:
                raise TraceError(f"{dst!r} is neither an IP, a Service (name or name.namespace) nor a pod")
        if port is None:
            raise TraceError(f"give a port for {dst} (DST:PORT)")
        return ip, port

    # ----- routing -----

    def route_from_node(self, node: NodeNet, ip: str) -> tuple[str, str, str, NodeNet | None]:
        """(route text, out device, source address the node would pick, next node or None)."""
        if _in(ip, node.pod_cidr):
            return f"{node.pod_cidr} dev {names.NODE_BRIDGE}", names.NODE_BRIDGE, node.gateway, None
        for other in self.topo.nodes:
            if other.name != node.name and _in(ip, other.pod_cidr):
                if self.topo.mode == "vxlan":
                    return (f"{other.pod_cidr} via {_vtep(other)} dev {names.VXLAN_DEVICE} onlink",
                            names.VXLAN_DEVICE, _vtep(node), other)
                return f"{other.pod_cidr} via {other.underlay_ip} dev {names.NODE_UPLINK}", names.NODE_UPLINK, \
                    node.underlay_ip, other
        if _in(ip, self.topo.service_cidr):
            return f"{self.topo.service_cidr} dev {names.NODE_BRIDGE}", names.NODE_BRIDGE, node.gateway, None
        underlay = f"{self.topo.host_ip}/{self.topo.underlay_prefix}"
        net = ipaddress.ip_network(underlay, strict=False)
        if not _in(ip, str(net)):
            return f"default via {self.topo.host_ip} dev {names.NODE_UPLINK}", names.NODE_UPLINK, \
                node.underlay_ip, None
        return f"{net} dev {names.NODE_UPLINK}", names.NODE_UPLINK, node.underlay_ip, self.node_by_ip(ip)

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
        if nxt is None or not _in(ip, nxt.pod_cidr):
            return Step(node.name, f"routes {ip} on the same node: bridge {names.NODE_BRIDGE}",
                        f"{ip} is in this node's pod CIDR {node.pod_cidr}: out of {names.NODE_BRIDGE}, "
                        f"then {where}", route), None, node
        if self.topo.mode == "vxlan":
            detail = (f"{nxt.pod_cidr} belongs to {nxt.name}: vxlan mode, into {names.VXLAN_DEVICE} "
                      f"(VNI 1), encapsulated in UDP 8472 from {node.underlay_ip} to {nxt.underlay_ip}; "
                      "the inner packet keeps its addresses")
        else:
            detail = (f"{nxt.pod_cidr} belongs to {nxt.name}: host-gw mode, a plain route to {nxt.underlay_ip} "
                      f"over the underlay; the packet keeps its addresses")
        arrive = Step(nxt.name, f"receives it on {dev} and delivers {ip} through {names.NODE_BRIDGE}",
                      f"{ip} is in {nxt.pod_cidr}: out of {names.NODE_BRIDGE}, then {where}",
                      f"{nxt.pod_cidr} dev {names.NODE_BRIDGE}")
        return Step(node.name, f"routes {ip} to {nxt.name}: {route}", detail, route), arrive, nxt

    def leave(self, src: Source, dst_ip: str) -> tuple[list[Step], NodeNet | None, str, str]:
        """Steps until the packet enters the first node's netlab table: (steps, node, hook, source IP)."""
        if src.kind == "pod":
            pod = self.pod(src.name)
            assert pod is not None
            node = self.topo.node(pod.node)
            who = display(pod.namespace, pod.name)
            return [Step(who, f"leaves {pod.ip} via {names.POD_IFACE}, default route via {pod.gateway} "
                              f"({names.NODE_BRIDGE} on {node.name})",
                         f"{pod.ip} -> {dst_ip}: the pod has one route, default via {pod.gateway} dev "
                         f"{names.POD_IFACE}; the veth's other end ({pod.veth}) is in {node.name}'s "
                         f"{names.NODE_BRIDGE}", f"default via {pod.gateway} dev {names.POD_IFACE}")], \
                node, "prerouting", pod.ip
        if src.kind == "node":
            node = self.topo.node(src.name)
            route, dev, saddr, _ = self.route_from_node(node, dst_ip)
            return [Step(node.name, f"sends from {saddr} via {dev}",
                         f"a process in {node.name} connects to {dst_ip}: route `{route}` picks source {saddr}; "
                         "netlab's nat-output/filter-output chains see it", route)], node, "output", saddr
        # host
        for node in self.topo.nodes:
            if _in(dst_ip, node.pod_cidr):
                route = f"{node.pod_cidr} via {node.underlay_ip} dev {self.topo.bridge}"
                return [Step("host", f"sends from {self.topo.host_ip} to {node.name}: {route}",
                             f"the host routes every pod CIDR through the node that owns it, over the underlay "
                             f"bridge {self.topo.bridge}", route)], node, "prerouting", self.topo.host_ip
        node = self.node_by_ip(dst_ip)
        if node is not None:
            return [Step("host", f"sends from {self.topo.host_ip} to {node.name} ({dst_ip}) on {self.topo.bridge}",
                         f"{dst_ip} is {node.name}'s underlay address, on-link on bridge {self.topo.bridge}",
                         f"{self.topo.host_ip}/{self.topo.underlay_prefix} dev {self.topo.bridge}")], \
                node, "prerouting", self.topo.host_ip
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
                     f"(e.g. a ClusterIP in {self.topo.service_cidr}) is reachable only from nodes and pods",
                     "no route")], None, "prerouting", self.topo.host_ip
