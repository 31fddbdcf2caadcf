"""What netlab's compiled rules say a packet does: routes, DNAT, SNAT, NetworkPolicy. Pure.

`plan()` walks one connection attempt through the same data the controller renders to the kernel
(the Topology's routes, the service chains of `netlab.compile.nft_services`, the policy chains of
`netlab.compile.nft_policy`, whose verdicts come from `netlab.compile.netpol`) and returns the steps,
the endpoints the packet may reach, and the outcome that follows (connected, refused, timeout,
unreachable). `explain()` returns just the steps. Nothing here touches the kernel.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from urllib.parse import urlparse

from netlab.compile import names
from netlab.compile.netpol import (
    EGRESS,
    INGRESS,
    PolicyPod,
    _ns_labels,
    _rule_allows,
    policies_for,
    policy_key,
    rules,
)
from netlab.compile.nft_policy import BASE_CHAIN as POLICY_CHAIN
from netlab.compile.nft_policy import pod_chain
from netlab.compile.nft_services import MASQ_MARK, endpoint_chain, external_chain, service_chain
from netlab.compile.policy_inputs import PolicyInputs
from netlab.compile.services import ResolvedService, ServicePortView, serving_endpoints
from netlab.compile.services import announcer as services_announcer
from netlab.compile.topology import NodeNet, PodNet, Topology

CONNECTED, REFUSED, TIMEOUT, UNREACHABLE, MIXED = "connected", "refused", "timeout", "unreachable", "mixed"
INGRESS_NAMESPACE = "ingress-nginx"


class TraceError(ValueError):
    """The source or destination does not name anything in the cluster."""


@dataclass(frozen=True)
class Step:
    where: str  # a node, a pod ("pod-a", "ns/pod") or "host"
    what: str  # one line
    detail: str  # the longer story
    rule: str = ""  # the nft chain/rule or the route that does it


@dataclass(frozen=True)
class Source:
    kind: str  # pod | node | host
    name: str  # "ns/pod", node name or "host"
    ip: str
    netns: str | None  # None: the namespace the caller runs in (the host)
    node: str | None  # the node the pod runs on / the node itself


@dataclass(frozen=True)
class Candidate:
    """One place the packet can end up (a service has one per serving endpoint)."""

    ip: str
    port: int
    pod: str | None  # "ns/name"
    node: str | None
    source_seen: str  # the client address the endpoint sees
    outcome: str
    reason: str


@dataclass(frozen=True)
class TracePoint:
    """Where the kernel tracer should mark the packet: as it arrives in `node` at `hook`."""

    node: str
    hook: str  # prerouting | output
    saddr: str | None
    daddr: str
    dport: int


@dataclass
class Plan:
    source: Source
    dst_ip: str
    dport: int
    proto: str  # tcp | udp
    steps: list[Step] = field(default_factory=list)
    candidates: list[Candidate] = field(default_factory=list)
    outcome: str = CONNECTED
    reason: str = ""
    trace_points: list[TracePoint] = field(default_factory=list)
    url: str | None = None  # ingress probes: the URL, sent with --resolve to dst_ip

    def predicted(self) -> set[str]:
        """Outcomes that agree with this plan (several when endpoints differ)."""
        return {c.outcome for c in self.candidates} or {self.outcome}


def display(namespace: str, name: str) -> str:
    return name if namespace == "default" else f"{namespace}/{name}"


def announcer(svc: ResolvedService, topo: Topology) -> str | None:
    """The node answering ARP for the LoadBalancer IP (the data plane's own choice)."""
    return services_announcer(svc, [n.name for n in topo.nodes])


def explain(src: str, dst: str, port: int | None, proto: str, topo: Topology, services: Sequence[ResolvedService],
            policy_inputs: PolicyInputs, *, ingress_rows: list[dict] | None = None,
            cluster_cidr: str = "10.244.0.0/16") -> list[Step]:
    """The steps a new connection src -> dst:port/proto takes, from the compiled rules."""
    return plan(src, dst, port, proto, topo, services, policy_inputs, ingress_rows=ingress_rows,
                cluster_cidr=cluster_cidr).steps


def plan(src: str, dst: str, port: int | None, proto: str, topo: Topology, services: Sequence[ResolvedService],
         policy_inputs: PolicyInputs, *, ingress_rows: list[dict] | None = None,
         cluster_cidr: str = "10.244.0.0/16") -> Plan:
    """Steps, candidate endpoints, predicted outcome and kernel trace points for one connection."""
    w = _Walker(topo, list(services), policy_inputs, cluster_cidr)
    source = w.source(src)
    proto = proto.lower()
    if dst.startswith(("http://", "https://")):
        return w.ingress(source, dst, port, ingress_rows or [])
    dst_ip, port = w.destination(dst, port, proto)
    return w.packet(source, dst_ip, port, proto)


# ---------------------------------------------------------------------------------------------- internals


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


class _Walker:
    def __init__(self, topo: Topology, services: list[ResolvedService], pi: PolicyInputs, cluster_cidr: str):
        self.topo = topo
        self.services = services
        self.pi = pi
        self.cluster_cidr = cluster_cidr
        self.policy_pods = {p.ip: p for p in pi.pods}
        self.ns_labels = _ns_labels(pi.namespaces)

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
        return f"{net} dev {names.NODE_UPLINK}", names.NODE_UPLINK, node.underlay_ip, self.node_by_ip(ip)

    def hop_steps(self, node: NodeNet, ip: str) -> tuple[Step, Step | None, NodeNet]:
        """The route step in `node` towards `ip`, the arrival step in the node that delivers it (None: the
        same node), and that node."""
        route, dev, _src, nxt = self.route_from_node(node, ip)
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

    # ----- policy -----

    def _peer_text(self, ip: str) -> str:
        p = self.policy_pods.get(ip)
        return f"{ip} ({display(p.namespace, p.name)})" if p else ip

    def policy_side(self, direction: str, pod: PolicyPod, peer_ip: str, dst_pod: PolicyPod | None, port: int,
                    proto: str, node: str) -> tuple[bool, Step]:
        peer_pod = self.policy_pods.get(peer_ip)
        who = display(pod.namespace, pod.name)
        label = direction.lower()
        applying = policies_for(pod, self.pi.policies, direction)
        conn = (f"{self._peer_text(peer_ip)} -> {dst_pod.ip if dst_pod else '?'}:{port}/{proto.upper()}"
                if direction == INGRESS else f"-> {self._peer_text(peer_ip)}:{port}/{proto.upper()}")
        if not applying:
            return True, Step(node, f"{label} of {who}: no policy selects this pod: open",
                              f"no NetworkPolicy of type {direction} selects {pod.key}: open ({conn})",
                              f"{POLICY_CHAIN}: {pod.ip} not in @policy-{label}-pods")
        keys = ", ".join(policy_key(p) for p in applying)
        for p in applying:
            for i, r in enumerate(rules(p, direction)):
                if _rule_allows(p, r, direction, peer_ip, peer_pod, dst_pod, port, proto.upper(), self.ns_labels):
                    return True, Step(node, f"{label} of {who}: allowed by {policy_key(p)} rule {i}",
                                      f"{who} is isolated for {label} by {keys}; {policy_key(p)} {label} rule {i} "
                                      f"allows {conn}", pod_chain(direction, pod))
        return False, Step(node, f"{label} of {who}: DENIED by {keys}",
                           f"{who} is isolated for {label} by {keys} and no {label} rule of them allows {conn}: "
                           f"the chain ends in `drop` (no reply, the client times out)", pod_chain(direction, pod))

    def policy_steps(self, src: Source, dst_ip: str, dport: int, proto: str, seen_src: str,
                     dnat_node: str | None) -> tuple[bool, list[Step], list[Step]]:
        """Egress of the source pod (checked on its node) and ingress of the destination pod (on its node)."""
        steps: list[Step] = []
        ingress: list[Step] = []
        ok = True
        dst_pod = self.policy_pods.get(dst_ip)
        src_pod = self.policy_pods.get(src.ip) if src.kind == "pod" else None
        if src_pod is not None and dst_pod is not None and src_pod.key == dst_pod.key:
            return True, [Step(display(src_pod.namespace, src_pod.name), "a pod reaching itself: always allowed",
                               "NetworkPolicy never filters a pod's traffic to itself", "")], []
        if src_pod is not None:
            own = self.topo.node(src_pod.node).underlay_ip if dst_pod is None else None
            if own == dst_ip:
                steps.append(Step(src_pod.node, "egress to its own node: not filtered",
                                  "traffic between a pod and its own node crosses INPUT/OUTPUT, not FORWARD", ""))
            else:
                allowed, step = self.policy_side(EGRESS, src_pod, dst_ip, dst_pod, dport, proto, src_pod.node)
                ok = ok and allowed
                steps.append(step)
        if dst_pod is not None:
            # The forward hook on the endpoint's node sees the source as it arrives there: masquerade on
            # another node has already rewritten it; on the same node, postrouting has not run yet.
            peer = src.ip if dnat_node in (None, dst_pod.node) else seen_src
            if src.kind == "node" and src.node == dst_pod.node and dnat_node in (None, dst_pod.node):
                ingress.append(Step(dst_pod.node, f"ingress of {display(dst_pod.namespace, dst_pod.name)} from its "
                                  "own node: not filtered",
                                  "traffic between a pod and its own node crosses INPUT/OUTPUT, not FORWARD", ""))
            else:
                allowed, step = self.policy_side(INGRESS, dst_pod, peer, dst_pod, dport, proto, dst_pod.node)
                ok = ok and allowed
                ingress.append(step)
        return ok, steps, ingress

    # ----- the walk -----

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

    def packet(self, src: Source, dst_ip: str, dport: int, proto: str) -> Plan:
        p = Plan(src, dst_ip, dport, proto)
        steps, node, hook, saddr = self.leave(src, dst_ip)
        p.steps += steps
        if node is None:
            p.outcome, p.reason = UNREACHABLE, f"no route from the host to {dst_ip}"
            return p
        p.trace_points.append(TracePoint(node.name, hook, saddr, dst_ip, dport))
        chain_in = "nat-prerouting" if hook == "prerouting" else "nat-output"
        filter_in = "filter-prerouting" if hook == "prerouting" else "filter-output"
        # A pod or node reaching another node's NodePort: routed there first, DNAT happens on that node.
        target = self.node_by_ip(dst_ip)
        if target is not None and target.name != node.name and src.kind != "host":
            route, _dev, _s, _n = self.route_from_node(node, dst_ip)
            p.steps.append(Step(node.name, f"routes {dst_ip} to {target.name} over the underlay",
                                f"{dst_ip} is {target.name}'s address; no netlab rule matches it here "
                                f"(@nodeport-ips holds only this node's address)", route))
            node, hook, chain_in, filter_in = target, "prerouting", "nat-prerouting", "filter-prerouting"
            p.trace_points.append(TracePoint(node.name, hook, saddr, dst_ip, dport))
        match = self.service_match(node, dst_ip, dport, proto)
        if match is None:
            return self.direct(p, src, node, saddr)
        svc, sport, via = match
        serving = serving_endpoints(svc, sport)
        if not serving:
            key = f"{proto} . {sport.node_port}" if via == "nodeport" else f"{dst_ip} . {proto} . {dport}"
            vmap = "@no-endpoint-nodeports" if via == "nodeport" else "@no-endpoint-services"
            p.steps.append(Step(node.name, f"REJECT: {svc.key} has no ready endpoints",
                                f"{filter_in} (before DNAT) jumps endpoints-check for new connections; "
                                f"{vmap} has `{key} : goto reject-chain`, which answers at once "
                                f"({'TCP reset/ICMP port unreachable' if proto == 'tcp' else 'ICMP port unreachable'})",
                                f"{filter_in} -> endpoints-check -> {vmap} -> reject-chain"))
            p.outcome, p.reason = REFUSED, f"{svc.key} has no ready endpoints: rejected on {node.name}"
            return p
        masq = False
        if via in ("nodeport", "lb"):
            ext = external_chain(svc, sport)
            dispatch = (f"ip daddr @nodeport-ips meta l4proto . th dport vmap @service-nodeports: "
                        f"`{proto} . {sport.node_port} : goto {ext}`" if via == "nodeport" else
                        f"ip daddr . meta l4proto . th dport vmap @service-ips: "
                        f"`{dst_ip} . {proto} . {dport} : goto {ext}`")
            what = f"NodePort {sport.node_port}/{proto} of {svc.key}" if via == "nodeport" else \
                f"LoadBalancer IP {dst_ip}:{dport} of {svc.key}"
            if svc.external_local:
                local = [e for e in serving if e.node == node.name]
                if not local:
                    p.steps.append(Step(node.name, f"{what}: externalTrafficPolicy Local, no local endpoint: DROP",
                                        f"{chain_in} -> services -> {dispatch}; {ext} has only `drop` on this "
                                        "node because none of its endpoints run here", f"{ext}: drop"))
                    p.outcome, p.reason = TIMEOUT, f"dropped by {ext} on {node.name} (no local endpoint)"
                    return p
                p.steps.append(Step(node.name, f"{what}: externalTrafficPolicy Local, {len(local)} local "
                                               "endpoint(s), client IP kept",
                                    f"{chain_in} -> services -> {dispatch}; {ext} picks among this node's endpoints "
                                    "only and does not masquerade", f"{chain_in} -> services -> {ext}"))
                serving = local
            else:
                masq = True
                p.steps.append(Step(node.name, f"{what}: marked for masquerade, then the service chain",
                                    f"{chain_in} -> services -> {dispatch}; {ext} (externalTrafficPolicy Cluster) "
                                    f"jumps mark-for-masquerade (meta mark |= {MASQ_MARK}), so nat-postrouting will "
                                    f"SNAT it, then goes to {service_chain(svc, sport)}",
                                    f"{chain_in} -> services -> {ext} -> mark-for-masquerade"))
        chain = service_chain(svc, sport)
        if via == "clusterip" or not svc.external_local:
            n = len(serving)
            pick = "its only endpoint" if n == 1 else f"one of {n} endpoints with `numgen random mod {n}`"
            if svc.affinity_timeout:
                pick += (f"; sessionAffinity ClientIP: a client already in an affinity-... set "
                         f"(timeout {svc.affinity_timeout}s) goes back to the same endpoint")
            outside = not _in(saddr, self.cluster_cidr) and via == "clusterip"
            if outside:
                masq = True
            head = f"DNAT {svc.cluster_ip}:{sport.port}/{proto} ({svc.key}): " if via == "clusterip" else ""
            p.steps.append(Step(node.name, f"{head}{chain} picks among {n} endpoint(s)",
                                f"{('services -> @service-ips `' + dst_ip + ' . ' + proto + ' . ' + str(dport) + ' : goto ' + chain + '`; ') if via == 'clusterip' else ''}"  # noqa: E501
                                f"{chain} picks {pick}"
                                + (f"; the source {saddr} is outside {self.cluster_cidr}: mark-for-masquerade"
                                   if outside else ""),
                                f"{chain_in} -> services -> {chain}" if via == "clusterip" else chain))
        elif len(serving) > 1:
            p.steps.append(Step(node.name, f"{external_chain(svc, sport)} picks one of {len(serving)} local "
                                           "endpoints (numgen random)", "", external_chain(svc, sport)))
        multi = len(serving) > 1
        for ep in serving:
            tp = sport.target[ep.ip]
            tag = f"[endpoint {ep.ip}] " if multi else ""
            hairpin = ep.ip == saddr
            ep_masq = masq or hairpin
            ep_chain = endpoint_chain(svc, sport, ep.ip)
            who = display(svc.namespace, ep.pod) if ep.pod else ep.ip
            block = [Step(node.name, f"{tag}DNAT to {ep.ip}:{tp} ({who} on {ep.node})",
                          f"{ep_chain}: `meta l4proto {proto} dnat ip to {ep.ip}:{tp}`"
                          + ("; the client is the endpoint itself (hairpin): mark-for-masquerade" if hairpin else ""),
                          ep_chain)]
            route, arrive_step, last = self.hop_steps(node, ep.ip)
            seen = saddr
            if ep_masq:
                _r, dev, snat, _n = self.route_from_node(node, ep.ip)
                seen = snat
                nat = Step(node.name, f"SNAT (masquerade) {saddr} -> {snat}",
                           f"nat-postrouting -> masquerading: mark {MASQ_MARK} is set, so `masquerade "
                           f"fully-random` rewrites the source to {dev}'s address {snat}; the endpoint "
                           f"sees {snat}, not {saddr}", "nat-postrouting -> masquerading")
            else:
                nat = Step(node.name, f"no SNAT: the endpoint sees {saddr}",
                           f"mark {MASQ_MARK} is not set, nat-postrouting's masquerading chain returns",
                           "nat-postrouting -> masquerading: return")
            if last.name != node.name:
                p.trace_points.append(TracePoint(last.name, "prerouting", seen, ep.ip, tp))
            ok, egress, ingress = self.policy_steps(src, ep.ip, tp, proto, seen, node.name)
            # Order of the hooks: routing decision, forward (policy), postrouting (SNAT), next node.
            order = [route, *egress, nat, arrive_step, *ingress] if arrive_step else [route, *egress, *ingress, nat]
            block += [replace(s, what=tag + s.what) for s in order if s is not None]
            outcome, reason = self.arrive(ep.ip, tp, proto, ok)
            block.append(Step(who, f"{tag}{'receives' if ok else 'never sees'} the connection"
                                   + (f" from {seen}" if ok else ""), reason, ""))
            p.steps += block
            p.candidates.append(Candidate(ep.ip, tp, f"{svc.namespace}/{ep.pod}" if ep.pod else None, ep.node, seen,
                                          outcome, reason))
        self.conclude(p)
        return p

    def arrive(self, ip: str, port: int, proto: str, allowed: bool) -> tuple[str, str]:
        if not allowed:
            return TIMEOUT, "NetworkPolicy drops it: no reply, the client times out"
        pod = self.policy_pods.get(ip)
        if pod is not None and pod.ports and not any(n == port and pr.upper() == proto.upper()
                                                     for _, n, pr in pod.ports):
            declared = ", ".join(f"{n}/{pr}" for _, n, pr in pod.ports)
            return REFUSED, f"nothing is declared on {port}/{proto} in the pod (declared: {declared}): refused"
        return CONNECTED, f"{port}/{proto} is open in the pod: the connection is answered"

    def conclude(self, p: Plan) -> None:
        outcomes = {c.outcome for c in p.candidates}
        if len(outcomes) == 1:
            p.outcome = outcomes.pop()
            p.reason = p.candidates[0].reason if len(p.candidates) == 1 else \
                f"every endpoint: {p.candidates[0].reason}"
        else:
            p.outcome = MIXED
            p.reason = "; ".join(f"{c.ip}: {c.outcome}" for c in p.candidates)

    def service_match(self, node: NodeNet, ip: str, port: int,
                      proto: str) -> tuple[ResolvedService, ServicePortView, str] | None:
        for svc in self.services:
            if svc.type == "ExternalName" or svc.cluster_ip is None or not svc.proxied:
                continue  # no virtual IP, or another proxy's: no rules match it
            for sp in svc.ports:
                if sp.protocol.lower() != proto:
                    continue
                if ip == svc.cluster_ip and sp.port == port:
                    return svc, sp, "clusterip"
                if ip == svc.load_balancer_ip and sp.port == port:
                    return svc, sp, "lb"
                if ip == node.underlay_ip and sp.node_port == port:
                    return svc, sp, "nodeport"
        return None

    def direct(self, p: Plan, src: Source, node: NodeNet, saddr: str) -> Plan:
        """No service matched: cluster-ips-check, or plain routing to a pod or node."""
        ip, port, proto = p.dst_ip, p.dport, p.proto
        svc = next((s for s in self.services if s.cluster_ip == ip and s.proxied), None)
        if svc is not None:
            ports = ", ".join(f"{sp.port}/{sp.protocol}" for sp in svc.ports)
            p.steps.append(Step(node.name, f"REJECT: {svc.key} has no port {port}/{proto}",
                                f"no @service-ips element matches; after DNAT, cluster-ips-check rejects what still "
                                f"goes to a ClusterIP (ports: {ports})", "cluster-ips-check: ip daddr @cluster-ips "
                                                                           "reject"))
            p.outcome, p.reason = REFUSED, f"{svc.key} has no port {port}/{proto}"
            return p
        if self.node_by_ip(ip) is not None and self.node_by_ip(ip).name == node.name:
            p.steps.append(Step(node.name, f"delivered to {node.name} itself (no NodePort {port}/{proto})",
                                "no service matches; the node's own sockets answer", "local"))
            p.outcome, p.reason = REFUSED, f"no NodePort {port}/{proto} on {node.name} and nothing listens there"
            p.candidates.append(Candidate(ip, port, None, node.name, saddr, REFUSED, p.reason))
            return p
        owner = self.node_of_pod_ip(ip)
        if owner is None:
            route, _dev, _s, _n = self.route_from_node(node, ip)
            p.steps.append(Step(node.name, f"routes {ip} out of the cluster: {route}",
                                "no netlab rule matches; the lab has no uplink", route))
            p.outcome, p.reason = TIMEOUT, f"{ip} is outside the cluster"
            return p
        p.steps.append(Step(node.name, f"no service matches {ip}:{port}/{proto}: no DNAT",
                            "nat-prerouting -> services: no element of @service-ips or @service-nodeports "
                            "matches, the packet goes on unchanged", f"{'nat-prerouting' if p.trace_points[-1].hook == 'prerouting' else 'nat-output'} -> services"))  # noqa: E501
        route, arrive_step, last = self.hop_steps(node, ip)
        if last.name != node.name:
            p.trace_points.append(TracePoint(last.name, "prerouting", saddr, ip, port))
        ok, egress, ingress = self.policy_steps(src, ip, port, proto, saddr, None)
        p.steps += [s for s in (route, *egress, arrive_step, *ingress) if s is not None]
        pod = self.pod_by_ip(ip)
        who = display(pod.namespace, pod.name) if pod else ip
        outcome, reason = self.arrive(ip, port, proto, ok)
        p.steps.append(Step(who, f"{'receives' if ok else 'never sees'} the connection"
                                 + (f" from {saddr}" if ok else ""), reason, ""))
        p.candidates.append(Candidate(ip, port, f"{pod.namespace}/{pod.name}" if pod else None, owner.name, saddr,
                                      outcome, reason))
        self.conclude(p)
        return p

    # ----- ingress -----

    def ingress(self, src: Source, url: str, port: int | None, rows: list[dict]) -> Plan:
        u = urlparse(url)
        host, path = u.hostname or "", u.path or "/"
        port = port or u.port or (443 if u.scheme == "https" else 80)
        ctrl = next((s for s in self.services if s.namespace == INGRESS_NAMESPACE and s.type == "LoadBalancer"), None)
        if ctrl is None:
            raise TraceError("no ingress controller (enable it with `netlab addons enable ingress-nginx`)")
        entry = ctrl.load_balancer_ip if src.kind == "host" and ctrl.load_balancer_ip else ctrl.cluster_ip
        assert entry is not None
        first = self.packet(src, entry, port, "tcp")
        first.url = url
        first.steps.insert(0, Step(src.name if src.kind != "pod" else display(*src.name.split("/", 1)),
                                   f"{host} resolves to the ingress controller {entry}",
                                   f"the Ingress address is {ctrl.key}'s "
                                   f"{'LoadBalancer IP' if entry == ctrl.load_balancer_ip else 'ClusterIP'}; the "
                                   f"request carries Host: {host}", ""))
        if first.outcome != CONNECTED:
            return first
        row = match_ingress(rows, host, path)
        nginx = next((c for c in first.candidates if c.pod), None)
        where = display(*nginx.pod.split("/", 1)) if nginx and nginx.pod else "nginx"
        if row is None:
            first.steps.append(Step(where, f"no Ingress rule matches {host}{path}: 404 from the default backend",
                                    "nginx's default server answers", "default server"))
            first.reason = "HTTP 404 (no rule)"
            return first
        rule_txt = f"{row['ingress']} host {row['host']} path {row['path']} ({row['pathType']})"
        if u.scheme == "http" and row.get("httpsRedirect"):
            first.steps.append(Step(where, f"nginx answers 308 Permanent Redirect to https://{host}{path}",
                                    f"{row['ingress']} has TLS for {host} and ssl-redirect is on (the default): "
                                    "plain HTTP never reaches the backend; try the https:// URL", rule_txt))
            first.reason = "HTTP 308 (redirect to HTTPS)"
            return first
        if not row["endpoints"]:
            first.steps.append(Step(where, f"{rule_txt} -> {row['backend']}: {row.get('error') or 'no endpoints'}",
                                    "nginx answers 503 itself", rule_txt))
            first.reason = "HTTP 503 (backend has no endpoints)"
            return first
        first.steps.append(Step(where, f"nginx matches {host}{path}: {rule_txt} -> {row['backend']}",
                                f"upstream endpoints {', '.join(row['endpoints'])}; nginx opens a new connection from "
                                f"its pod IP to one of them (round robin), so the backend sees the nginx pod",
                                rule_txt))
        if nginx is None or nginx.pod is None:
            return first
        second_src = self.source(nginx.pod)
        cands: list[Candidate] = []
        for ep in row["endpoints"]:
            ip, _, eport = ep.rpartition(":")
            leg = self.packet(second_src, ip, int(eport), "tcp")
            tag = f"[upstream {ep}] " if len(row["endpoints"]) > 1 else ""
            first.steps += [replace(s, what=tag + s.what) for s in leg.steps[1:]]
            first.trace_points += [t for t in leg.trace_points if t not in first.trace_points]
            cands += leg.candidates
        first.candidates = cands
        self.conclude(first)
        return first


def _path_matches(row: dict, path: str) -> int:
    """Length of the match (-1: none), longest wins, Exact beats Prefix of the same length."""
    want, kind = row["path"], row["pathType"]
    if want == "":
        return 0
    if kind == "Exact":
        return len(want) * 2 + 1 if path == want else -1
    if kind == "Prefix":
        base = want.rstrip("/")
        ok = base == "" or path == base or path.startswith(base + "/")
        return len(base) * 2 if ok else -1
    return len(want) * 2 if path.startswith(want) else -1


def match_ingress(rows: Iterable[dict], host: str, path: str) -> dict | None:
    """The row of `netlab.compile.nginx.resolve_rules` nginx would use for host/path."""
    best: tuple[int, int, dict] | None = None
    for row in rows:
        h = row["host"]
        if h == host:
            host_score = 2
        elif h.startswith("*.") and host.endswith(h[1:]) and host.count(".") == h.count("."):
            host_score = 1
        elif h == "*":
            host_score = 0
        else:
            continue
        score = _path_matches(row, path)
        if score < 0:
            continue
        if best is None or (host_score, score) > best[:2]:
            best = (host_score, score, row)
    return best[2] if best else None
