"""The cluster as a picture: host, underlay, nodes, bridges, pods, services, ingress, Gateways and policies (pure).

`build` turns the Kubernetes JSON objects the API returns into a small, sorted `Graph`;
netlab.compile.graph_render draws it as Graphviz DOT or a Mermaid flowchart. Nothing here does I/O.

The picture reads left to right the way a packet from outside would, in reverse: the host and its underlay
bridge, each node (a cluster) with its `cni0` bridge and its pods, then the Services that point at the pods,
then the Ingress rules that point at the Services. NetworkPolicies are dashed red edges between pods.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from netlab.compile import netpol
from netlab.compile.graph_gateway import add_gateways

Obj = Mapping[str, Any]


@dataclass(frozen=True, order=True)
class Group:
    """A box around vertices: the host, one Kubernetes node, the services, the ingress rules."""

    id: str
    kind: str
    lines: tuple[str, ...]


@dataclass(frozen=True, order=True)
class Vertex:
    id: str
    kind: str  # one of graph_render.STYLE's keys
    lines: tuple[str, ...]  # first line is the name, the rest details (IPs, ports)
    group: str | None = None


@dataclass(frozen=True, order=True)
class Edge:
    src: str
    dst: str
    kind: str  # one of graph_render.EDGE_STYLE's keys
    label: str = ""


@dataclass
class Graph:
    title: str
    groups: list[Group] = field(default_factory=list)
    vertices: list[Vertex] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)

    def vertex(self, vid: str) -> Vertex | None:
        return next((v for v in self.vertices if v.id == vid), None)


# ---------------------------------------------------------------------------------------------- helpers


def _meta(o: Obj) -> Mapping[str, Any]:
    return o.get("metadata") or {}


def _ns(o: Obj) -> str:
    return _meta(o).get("namespace") or "default"


def _name(o: Obj) -> str:
    return str(_meta(o).get("name") or "")


def _qual(ns: str, name: str) -> str:
    """`name` in namespace default, `ns/name` elsewhere (as kubectl users read it)."""
    return name if ns == "default" else f"{ns}/{name}"


def pod_id(ns: str, name: str) -> str:
    return f"pod:{ns}/{name}"


def service_id(ns: str, name: str) -> str:
    return f"svc:{ns}/{name}"


def node_id(name: str) -> str:
    return f"node:{name}"


def cni_id(node: str) -> str:
    return f"cni0:{node}"


def bridge_id(bridge: str) -> str:
    return f"bridge:{bridge}"


def _internal_ip(node: Obj) -> str:
    for a in (node.get("status") or {}).get("addresses") or []:
        if a.get("type") == "InternalIP":
            return str(a.get("address", ""))
    return ""


def _gateway(cidr: str) -> str:
    try:
        net = ipaddress.ip_network(cidr, strict=False)
    except ValueError:
        return ""
    return f"{net.network_address + 1}/{net.prefixlen}"


def selector_text(selector: Mapping[str, Any] | None, everything: str = "all pods") -> str:
    """`app=web`, `tier in (a,b)`, ...; the empty selector reads as `everything`."""
    if not selector:
        return everything
    parts = [f"{k}={v}" for k, v in sorted((selector.get("matchLabels") or {}).items())]
    for e in selector.get("matchExpressions") or []:
        op, key, values = e.get("operator"), e.get("key"), ",".join(sorted(e.get("values") or []))
        parts.append({"In": f"{key} in ({values})", "NotIn": f"{key} notin ({values})", "Exists": f"{key}",
                      "DoesNotExist": f"!{key}"}.get(op, f"{key} {op} ({values})"))
    return ", ".join(parts) or everything


def _port_text(port: Mapping[str, Any]) -> str:
    proto = port.get("protocol") or "TCP"
    if port.get("nodePort"):
        return f"{port.get('port')}:{port['nodePort']}/{proto}"
    return f"{port.get('port')}/{proto}"


def _policy_ports(rule: Mapping[str, Any]) -> str:
    ports = rule.get("ports") or []
    if not ports:
        return "all ports"
    out = []
    for p in ports:
        proto = p.get("protocol") or "TCP"
        if p.get("port") is None:
            out.append(f"{proto} all")
        elif p.get("endPort"):
            out.append(f"{proto} {p['port']}-{p['endPort']}")
        else:
            out.append(f"{proto} {p['port']}")
    return ", ".join(out)


# ---------------------------------------------------------------------------------------------- build


def underlay_of(nodes: Iterable[Obj]) -> dict[str, str]:
    """The underlay bridge and host address the nodes' annotations name (build's defaults if none do)."""
    for n in nodes:
        notes = _meta(n).get("annotations") or {}
        if notes.get("netlab.dev/underlay-bridge"):
            return {"underlay_bridge": notes["netlab.dev/underlay-bridge"],
                    "host_ip": notes.get("netlab.dev/underlay-host-ip", "")}
    return {}


def build(nodes: Iterable[Obj], pods: Iterable[Obj], services: Iterable[Obj], endpoints: Iterable[Obj],
          ingresses: Iterable[Obj], policies: Iterable[Obj], underlay_bridge: str = "netlab0",
          host_ip: str = "172.18.0.1", title: str = "", gateway_api: Iterable[Obj] = ()) -> Graph:
    """The cluster's network as a sorted graph, from the API's JSON objects (the `items` of each List).
    `gateway_api`: the GatewayClasses, Gateways, HTTPRoutes, ReferenceGrants and Namespaces, each with its
    `kind`."""
    b = _Builder()
    b.groups["host"] = Group("host", "host", ("host (root network namespace)",))
    bridge = bridge_id(underlay_bridge)
    b.add(Vertex(bridge, "bridge", (f"{underlay_bridge} (underlay bridge)", f"host {host_ip}"), "host"))
    known_nodes = b.nodes(nodes, bridge)
    policy_pods = b.pods(pods, known_nodes)
    services = list(services)
    b.services(services, endpoints)
    b.ingresses(ingresses)
    add_gateways(gateway_api, services, b.add, b.edges, b.groups, (Group, Vertex, Edge))
    for pol in sorted(policies, key=lambda p: (_ns(p), _name(p))):
        _policy(pol, policy_pods, b.vertices, b.edges, b.add)
    return Graph(title=title, groups=sorted(b.groups.values()), vertices=sorted(b.vertices.values()),
                 edges=sorted(b.edges))


class _Builder:
    """The graph as it grows: the first vertex added under an id stays."""

    def __init__(self) -> None:
        self.vertices: dict[str, Vertex] = {}
        self.edges: set[Edge] = set()
        self.groups: dict[str, Group] = {}
        self.by_ip: dict[str, str] = {}  # pod IP -> pod vertex

    def add(self, v: Vertex) -> None:
        self.vertices.setdefault(v.id, v)

    def nodes(self, nodes: Iterable[Obj], bridge: str) -> set[str]:
        """Each node with its cni0 bridge, linked to the underlay bridge."""
        known = set()
        for n in sorted(nodes, key=_name):
            name = _name(n)
            known.add(name)
            ip = _internal_ip(n)
            cidr = (n.get("spec") or {}).get("podCIDR") or ""
            gid = f"nodegroup:{name}"
            self.groups[gid] = Group(gid, "node", (f"node {name}",))
            self.add(Vertex(node_id(name), "node", (name, f"eth0 {ip}" if ip else "eth0"), gid))
            cni_lines = ("cni0 (bridge)", f"{_gateway(cidr)}", f"pods {cidr}") if cidr else ("cni0 (bridge)",)
            self.add(Vertex(cni_id(name), "cni", cni_lines, gid))
            self.edges.add(Edge(bridge, node_id(name), "underlay", ip))
            self.edges.add(Edge(node_id(name), cni_id(name), "routes"))
        return known

    def pods(self, pods: Iterable[Obj], known_nodes: set[str]) -> list[netpol.PolicyPod]:
        """Pods on their node's cni0 (or in an "unscheduled" box); returns them as NetworkPolicy sees them."""
        policy_pods: list[netpol.PolicyPod] = []
        for p in sorted(pods, key=lambda p: (_ns(p), _name(p))):
            ns, name = _ns(p), _name(p)
            status, spec = p.get("status") or {}, p.get("spec") or {}
            ip, node = status.get("podIP") or "", spec.get("nodeName") or ""
            vid = pod_id(ns, name)
            # every address the pod has (a dual-stack pod: IPv4 and IPv6), as status.podIPs lists them
            ips = [e["ip"] for e in status.get("podIPs") or [] if isinstance(e, dict) and e.get("ip")] or [ip]
            lines = [_qual(ns, name), *(i for i in ips if i)] if ip else [_qual(ns, name), "(no IP)"]
            phase = status.get("phase")
            if phase and phase != "Running":
                lines.append(phase)
            if spec.get("hostNetwork"):  # in its node's own namespace: no veth, and no NetworkPolicy
                lines.append("hostNetwork")
            if node in known_nodes:
                group = f"nodegroup:{node}"
                if not spec.get("hostNetwork"):
                    self.edges.add(Edge(cni_id(node), vid, "veth"))
            else:
                self.groups["unscheduled"] = Group("unscheduled", "unscheduled", ("not on a known node",))
                group = "unscheduled"
            self.add(Vertex(vid, "pod", tuple(lines), group))
            if ip and not spec.get("hostNetwork"):  # a hostNetwork pod's IP is its node's
                for address in ips:
                    self.by_ip.setdefault(address, vid)
            if not spec.get("hostNetwork"):
                policy_pods.append(netpol.policy_pod(p))
        return policy_pods

    def services(self, services: Iterable[Obj], endpoints: Iterable[Obj]) -> None:
        """Services, with an edge to each endpoint (ready or not) labelled with its ports."""
        ep_by_key = {(_ns(e), _name(e)): e for e in endpoints}
        svc_list = sorted(services, key=lambda s: (_ns(s), _name(s)))
        if svc_list:
            self.groups["services"] = Group("services", "services", ("Services",))
        for s in svc_list:
            ns, name = _ns(s), _name(s)
            sid = service_id(ns, name)
            self.add(Vertex(sid, "service", _service_lines(s), "services"))
            ports_to = self._endpoint_targets(ep_by_key.get((ns, name)), ns)
            for (target, kind), ports in ports_to.items():
                label = ", ".join(str(port) if proto == "TCP" else f"{port}/{proto}" for port, proto in sorted(ports))
                self.edges.add(Edge(sid, target, kind, label if kind == "endpoint" else f"{label} (not ready)".strip()))

    def _endpoint_targets(self, ep: Obj | None, ns: str) -> dict[tuple[str, str], set[tuple[int, str]]]:
        """(target vertex, edge kind) -> {(port, protocol)}: pods by targetRef or IP, else an address peer."""
        ports_to: dict[tuple[str, str], set[tuple[int, str]]] = {}
        for subset in (ep or {}).get("subsets") or []:
            ports = {(int(p.get("port") or 0), p.get("protocol") or "TCP") for p in subset.get("ports") or []}
            for key, kind in (("addresses", "endpoint"), ("notReadyAddresses", "endpoint-notready")):
                for a in subset.get(key) or []:
                    ref = a.get("targetRef") or {}
                    target = None
                    if ref.get("kind", "Pod") == "Pod" and ref.get("name"):
                        target = pod_id(ref.get("namespace") or ns, ref["name"])
                        target = target if target in self.vertices else None
                    target = target or self.by_ip.get(a.get("ip", ""))
                    if target is None:
                        target = f"ip:{a.get('ip', '')}"
                        self.add(Vertex(target, "peer", (a.get("ip", ""), "endpoint, not a pod")))
                    ports_to.setdefault((target, kind), set()).update(ports)
        return ports_to

    def ingresses(self, ingresses: Iterable[Obj]) -> None:
        """One vertex per (Ingress, host) and one for a default backend, an edge per path to its Service."""
        ing_list = sorted(ingresses, key=lambda i: (_ns(i), _name(i)))
        if ing_list:
            self.groups["ingress"] = Group("ingress", "ingress", ("Ingress",))
        for ing in ing_list:
            ns, name = _ns(ing), _name(ing)
            spec = ing.get("spec") or {}
            tls_hosts = {h for t in spec.get("tls") or [] for h in t.get("hosts") or []}
            klass = spec.get("ingressClassName")
            for rule in sorted(spec.get("rules") or [], key=lambda r: r.get("host") or ""):
                host = rule.get("host") or "*"
                vid = f"ing:{ns}/{name}/{host}"
                scheme = "https + http" if host in tls_hosts else "http"
                lines = (f"ingress {_qual(ns, name)}", host, scheme + (f" (class {klass})" if klass else ""))
                self.add(Vertex(vid, "ingress", lines, "ingress"))
                for path in (rule.get("http") or {}).get("paths") or []:
                    self._backend_edge(vid, ns, path.get("backend") or {}, path.get("path") or "/")
            if spec.get("defaultBackend"):
                vid = f"ing:{ns}/{name}/(default)"
                self.add(Vertex(vid, "ingress", (f"ingress {_qual(ns, name)}", "default backend"), "ingress"))
                self._backend_edge(vid, ns, spec["defaultBackend"], "*")

    def _backend_edge(self, src: str, ns: str, backend: Mapping[str, Any], label: str) -> None:
        svc = (backend or {}).get("service") or {}
        if not svc.get("name"):
            return
        port = svc.get("port") or {}
        target = service_id(ns, svc["name"])
        if target not in self.vertices:
            self.groups.setdefault("services", Group("services", "services", ("Services",)))
            self.add(Vertex(target, "service", (f"svc {_qual(ns, svc['name'])}", "(missing)"), "services"))
        port_text = port.get("number") or port.get("name") or ""
        self.edges.add(Edge(src, target, "backend", f"{label} :{port_text}" if port_text else label))


def _service_lines(s: Obj) -> tuple[str, ...]:
    spec = s.get("spec") or {}
    stype = spec.get("type") or "ClusterIP"
    lines = [f"svc {_qual(_ns(s), _name(s))}", stype]
    if stype == "ExternalName":
        lines.append(f"-> {spec.get('externalName', '')}")
        return tuple(lines)
    cip = spec.get("clusterIP") or ""
    cips = ", ".join(spec.get("clusterIPs") or [cip])   # a dual-stack Service has one per family
    lines.append("headless (no ClusterIP)" if cip == "None" else f"ClusterIP {cips}")
    ports = spec.get("ports") or []
    if ports:
        lines.append("ports " + ", ".join(_port_text(p) for p in ports))
    lb = [i.get("ip") or i.get("hostname") or "" for i in
          ((s.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []]
    if stype == "LoadBalancer":
        lines.append(f"EXTERNAL-IP {', '.join(lb) if lb else '<pending>'}")
    return tuple(lines)


def _policy(pol: Obj, pods: list[netpol.PolicyPod], vertices: dict[str, Vertex], edges: set[Edge], add) -> None:
    ns, name = _ns(pol), _name(pol)
    spec = pol.get("spec") or {}
    selected = [pod_id(p.namespace, p.name) for p in pods
                if p.namespace == ns and netpol.match_selector(spec.get("podSelector") or {}, p.labels)]
    ing, eg = netpol.policy_types(pol)
    note = f"netpol:{ns}/{name}"
    if not selected:
        add(Vertex(note, "note", (f"netpol {_qual(ns, name)}", "selects no pods")))
        return
    for direction, applies in ((netpol.INGRESS, ing), (netpol.EGRESS, eg)):
        if not applies:
            continue
        rules = netpol.rules(pol, direction)
        word = direction.lower()
        if not rules:
            add(Vertex(note + f"/{word}", "note", (f"netpol {_qual(ns, name)}", f"default deny {word}",
                                                   f"for {selector_text(spec.get('podSelector'))}")))
            for target in selected:
                edges.add(Edge(note + f"/{word}", target, "deny", f"denies {word}"))
            continue
        for rule in rules:
            label = f"{name} allows {_policy_ports(rule)}"
            for peer_vid in _peers(rule, direction, ns, pods, add):
                for target in selected:
                    src, dst = (peer_vid, target) if direction == netpol.INGRESS else (target, peer_vid)
                    if src == dst:
                        continue
                    kind = "policy" if src.startswith("pod:") and dst.startswith("pod:") else "policy-peer"
                    edges.add(Edge(src, dst, kind, label))


def _peers(rule: Mapping[str, Any], direction: str, ns: str, pods: list[netpol.PolicyPod], add) -> list[str]:
    """Vertex ids standing for a rule's peers: pods when they can be resolved, else a described peer."""
    peers = netpol.rule_peers(rule, direction)
    if not peers:
        add(Vertex("peer:any", "peer", ("anywhere", "every pod and address")))
        return ["peer:any"]
    out: list[str] = []
    for peer in peers:
        block = peer.get("ipBlock")
        if block is not None:
            text = block.get("cidr", "")
            if block.get("except"):
                text += " except " + ", ".join(block["except"])
            vid = f"peer:ipBlock:{text}"
            add(Vertex(vid, "peer", ("ipBlock", text)))
            out.append(vid)
        elif peer.get("namespaceSelector") is not None:
            pods_text = selector_text(peer.get("podSelector"))
            ns_text = selector_text(peer["namespaceSelector"], "all namespaces")
            vid = f"peer:ns:{ns_text}:{pods_text}"
            add(Vertex(vid, "peer", (f"namespaces {ns_text}", pods_text)))
            out.append(vid)
        else:
            sel = peer.get("podSelector") or {}
            out += [pod_id(p.namespace, p.name) for p in pods
                    if p.namespace == ns and netpol.match_selector(sel, p.labels)]
    return out
