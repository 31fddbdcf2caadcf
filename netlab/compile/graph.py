"""The cluster as a picture: host, underlay, nodes, bridges, pods, services, ingress and policies (pure).

`build` turns the Kubernetes JSON objects the API returns into a small, sorted `Graph`; `to_dot` and
`to_mermaid` render it as Graphviz DOT or a Mermaid flowchart. Nothing here does I/O.

The picture reads left to right the way a packet from outside would, in reverse: the host and its underlay
bridge, each node (a cluster) with its `cni0` bridge and its pods, then the Services that point at the pods,
then the Ingress rules that point at the Services. NetworkPolicies are dashed red edges between pods.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from netlab.compile import netpol
from netlab.compile.policy_inputs import object_policy_pod

Obj = Mapping[str, Any]

# kind -> (fill colour, border colour, DOT shape)
STYLE: dict[str, tuple[str, str, str]] = {
    "bridge": ("#ffd8a8", "#e8590c", "box"),
    "node": ("#d0ebff", "#1c7ed6", "box3d"),
    "cni": ("#ffec99", "#f08c00", "box"),
    "pod": ("#d3f9d8", "#2f9e44", "box"),
    "service": ("#e5dbff", "#7048e8", "box"),
    "ingress": ("#ffdeeb", "#d6336c", "box"),
    "peer": ("#f1f3f5", "#868e96", "box"),
    "note": ("#ffe3e3", "#e03131", "note"),
}
GROUP_STYLE: dict[str, tuple[str, str]] = {
    "host": ("#f8f9fa", "#495057"),
    "node": ("#f1f8ff", "#1c7ed6"),
    "services": ("#f8f5ff", "#7048e8"),
    "ingress": ("#fff5f8", "#d6336c"),
    "unscheduled": ("#fff9db", "#f08c00"),
}
# edge kind -> (colour, style, arrow drawn on the semantic destination while ranking goes the other way)
EDGE_STYLE: dict[str, tuple[str, str, bool]] = {
    "underlay": ("#e8590c", "bold", False),
    "routes": ("#1c7ed6", "solid", False),
    "veth": ("#f08c00", "solid", False),
    "endpoint": ("#7048e8", "solid", True),
    "endpoint-notready": ("#adb5bd", "dashed", True),
    "backend": ("#d6336c", "solid", True),
    "policy": ("#e03131", "dashed", False),
    "policy-peer": ("#e03131", "dashed", True),
    "deny": ("#e03131", "dashed", True),
}
LEGEND = ("orange: underlay and veth links | purple: Service -> endpoint pod (targetPort) | "
          "pink: Ingress host/path -> Service | red dashed: NetworkPolicy")


@dataclass(frozen=True, order=True)
class Group:
    """A box around vertices: the host, one Kubernetes node, the services, the ingress rules."""

    id: str
    kind: str
    lines: tuple[str, ...]


@dataclass(frozen=True, order=True)
class Vertex:
    id: str
    kind: str  # one of STYLE's keys
    lines: tuple[str, ...]  # first line is the name, the rest details (IPs, ports)
    group: str | None = None


@dataclass(frozen=True, order=True)
class Edge:
    src: str
    dst: str
    kind: str  # one of EDGE_STYLE's keys
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
          host_ip: str = "172.18.0.1", title: str = "") -> Graph:
    """The cluster's network as a sorted graph, from the API's JSON objects (the `items` of each List)."""
    g = Graph(title=title)
    vertices: dict[str, Vertex] = {}
    edges: set[Edge] = set()
    groups: dict[str, Group] = {}

    def add(v: Vertex) -> None:
        vertices.setdefault(v.id, v)

    # Host and underlay.
    groups["host"] = Group("host", "host", ("host (root network namespace)",))
    bridge = bridge_id(underlay_bridge)
    add(Vertex(bridge, "bridge", (f"{underlay_bridge} (underlay bridge)", f"host {host_ip}"), "host"))

    # Nodes with their cni0 bridges.
    known_nodes = set()
    for n in sorted(nodes, key=_name):
        name = _name(n)
        known_nodes.add(name)
        ip = _internal_ip(n)
        cidr = (n.get("spec") or {}).get("podCIDR") or ""
        gid = f"nodegroup:{name}"
        groups[gid] = Group(gid, "node", (f"node {name}",))
        add(Vertex(node_id(name), "node", (name, f"eth0 {ip}" if ip else "eth0"), gid))
        cni_lines = ("cni0 (bridge)", f"{_gateway(cidr)}", f"pods {cidr}") if cidr else ("cni0 (bridge)",)
        add(Vertex(cni_id(name), "cni", cni_lines, gid))
        edges.add(Edge(bridge, node_id(name), "underlay", ip))
        edges.add(Edge(node_id(name), cni_id(name), "routes"))

    # Pods on their node's cni0.
    pod_list = sorted(pods, key=lambda p: (_ns(p), _name(p)))
    by_ip: dict[str, str] = {}
    policy_pods: list[netpol.PolicyPod] = []
    for p in pod_list:
        ns, name = _ns(p), _name(p)
        status, spec = p.get("status") or {}, p.get("spec") or {}
        ip, node = status.get("podIP") or "", spec.get("nodeName") or ""
        vid = pod_id(ns, name)
        lines = [_qual(ns, name), ip or "(no IP)"]
        phase = status.get("phase")
        if phase and phase != "Running":
            lines.append(phase)
        if node in known_nodes:
            group = f"nodegroup:{node}"
            edges.add(Edge(cni_id(node), vid, "veth"))
        else:
            groups["unscheduled"] = Group("unscheduled", "unscheduled", ("not on a known node",))
            group = "unscheduled"
        add(Vertex(vid, "pod", tuple(lines), group))
        if ip:
            by_ip.setdefault(ip, vid)
        policy_pods.append(object_policy_pod(p))

    # Services and their endpoints.
    ep_by_key = {(_ns(e), _name(e)): e for e in endpoints}
    svc_list = sorted(services, key=lambda s: (_ns(s), _name(s)))
    if svc_list:
        groups["services"] = Group("services", "services", ("Services",))
    for s in svc_list:
        ns, name = _ns(s), _name(s)
        spec = s.get("spec") or {}
        stype = spec.get("type") or "ClusterIP"
        lines = [f"svc {_qual(ns, name)}", stype]
        if stype == "ExternalName":
            lines.append(f"-> {spec.get('externalName', '')}")
        else:
            cip = spec.get("clusterIP") or ""
            lines.append("headless (no ClusterIP)" if cip == "None" else f"ClusterIP {cip}")
            ports = spec.get("ports") or []
            if ports:
                lines.append("ports " + ", ".join(_port_text(p) for p in ports))
            lb = [i.get("ip") or i.get("hostname") or "" for i in
                  ((s.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []]
            if stype == "LoadBalancer":
                lines.append(f"EXTERNAL-IP {', '.join(lb) if lb else '<pending>'}")
        sid = service_id(ns, name)
        add(Vertex(sid, "service", tuple(lines), "services"))
        ep = ep_by_key.get((ns, name))
        ports_to: dict[tuple[str, str], set[tuple[int, str]]] = {}  # (target, kind) -> {(port, protocol)}
        for subset in (ep or {}).get("subsets") or []:
            ports = {(int(p.get("port") or 0), p.get("protocol") or "TCP") for p in subset.get("ports") or []}
            for key, kind in (("addresses", "endpoint"), ("notReadyAddresses", "endpoint-notready")):
                for a in subset.get(key) or []:
                    ref = a.get("targetRef") or {}
                    target = None
                    if ref.get("kind", "Pod") == "Pod" and ref.get("name"):
                        target = pod_id(ref.get("namespace") or ns, ref["name"])
                        target = target if target in vertices else None
                    target = target or by_ip.get(a.get("ip", ""))
                    if target is None:
                        target = f"ip:{a.get('ip', '')}"
                        add(Vertex(target, "peer", (a.get("ip", ""), "endpoint, not a pod")))
                    ports_to.setdefault((target, kind), set()).update(ports)
        for (target, kind), ports in ports_to.items():
            label = ", ".join(str(port) if proto == "TCP" else f"{port}/{proto}" for port, proto in sorted(ports))
            edges.add(Edge(sid, target, kind, label if kind == "endpoint" else f"{label} (not ready)".strip()))

    # Ingress: one vertex per (ingress, host), an edge per path to its service.
    ing_list = sorted(ingresses, key=lambda i: (_ns(i), _name(i)))
    if ing_list:
        groups["ingress"] = Group("ingress", "ingress", ("Ingress",))
    for ing in ing_list:
        ns, name = _ns(ing), _name(ing)
        spec = ing.get("spec") or {}
        tls_hosts = {h for t in spec.get("tls") or [] for h in t.get("hosts") or []}
        klass = spec.get("ingressClassName")

        def backend_edge(src: str, backend: Mapping[str, Any], label: str, ns: str = ns) -> None:
            svc = (backend or {}).get("service") or {}
            if not svc.get("name"):
                return
            port = svc.get("port") or {}
            target = service_id(ns, svc["name"])
            if target not in vertices:
                groups.setdefault("services", Group("services", "services", ("Services",)))
                add(Vertex(target, "service", (f"svc {_qual(ns, svc['name'])}", "(missing)"), "services"))
            port_text = port.get("number") or port.get("name") or ""
            edges.add(Edge(src, target, "backend", f"{label} :{port_text}" if port_text else label))

        rules = spec.get("rules") or []
        for rule in sorted(rules, key=lambda r: r.get("host") or ""):
            host = rule.get("host") or "*"
            vid = f"ing:{ns}/{name}/{host}"
            scheme = "https + http" if host in tls_hosts else "http"
            lines = (f"ingress {_qual(ns, name)}", host, scheme + (f" (class {klass})" if klass else ""))
            add(Vertex(vid, "ingress", lines, "ingress"))
            for path in (rule.get("http") or {}).get("paths") or []:
                backend_edge(vid, path.get("backend") or {}, path.get("path") or "/")
        if spec.get("defaultBackend"):
            vid = f"ing:{ns}/{name}/(default)"
            add(Vertex(vid, "ingress", (f"ingress {_qual(ns, name)}", "default backend"), "ingress"))
            backend_edge(vid, spec["defaultBackend"], "*")

    # NetworkPolicies.
    for pol in sorted(policies, key=lambda p: (_ns(p), _name(p))):
        _policy(pol, policy_pods, vertices, edges, add)

    g.groups = sorted(groups.values())
    g.vertices = sorted(vertices.values())
    g.edges = sorted(edges)
    return g


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


# ---------------------------------------------------------------------------------------------- DOT


def dot_quote(text: str) -> str:
    """A DOT double-quoted string: backslashes and quotes escaped, newlines as centred line breaks."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "") + '"'


def _dot_label(lines: Iterable[str]) -> str:
    return dot_quote("\n".join(lines))


def to_dot(graph: Graph) -> str:
    """Graphviz DOT, left to right: host | nodes with bridges and pods | services | ingress."""
    out = [
        "digraph netlab {",
        '  graph [rankdir=LR, fontname="Helvetica", fontsize=12, nodesep=0.25, ranksep=0.7, newrank=true,'
        f" labelloc=t, labeljust=l, label={dot_quote((graph.title + chr(10) if graph.title else '') + LEGEND)}];",
        '  node [fontname="Helvetica", fontsize=10, style="filled,rounded", shape=box, margin="0.12,0.05"];',
        '  edge [fontname="Helvetica", fontsize=9, arrowsize=0.7];',
    ]

    def vertex_line(v: Vertex, indent: str) -> str:
        fill, border, shape = STYLE.get(v.kind, STYLE["peer"])
        style = "filled" if shape in ("box3d", "note") else "filled,rounded"
        pen = ', penwidth=1.5' if v.kind in ("bridge", "cni") else ""
        return (f"{indent}{dot_quote(v.id)} [label={_dot_label(v.lines)}, shape={shape}, style={dot_quote(style)},"
                f' fillcolor="{fill}", color="{border}"{pen}];')

    by_group: dict[str | None, list[Vertex]] = {}
    for v in graph.vertices:
        by_group.setdefault(v.group, []).append(v)
    for grp in graph.groups:
        fill, border = GROUP_STYLE.get(grp.kind, GROUP_STYLE["host"])
        out.append(f"  subgraph {dot_quote('cluster_' + grp.id)} {{")
        out.append(f'    label={_dot_label(grp.lines)}; style="filled,rounded"; fillcolor="{fill}";'
                   f' color="{border}"; fontcolor="{border}";')
        out += [vertex_line(v, "    ") for v in by_group.get(grp.id, [])]
        out.append("  }")
    out += [vertex_line(v, "  ") for v in by_group.get(None, [])]

    for e in graph.edges:
        colour, style, reverse = EDGE_STYLE.get(e.kind, ("#495057", "solid", False))
        attrs = [f'color="{colour}"', f'fontcolor="{colour}"']
        if style != "solid":
            attrs.append(f"style={style}")
        if e.label:
            attrs.append(f"label={dot_quote(e.label)}")
        if e.kind == "policy":
            attrs.append("constraint=false")
        if e.kind in ("veth", "routes"):
            attrs.append("arrowhead=none")
        if reverse:
            # Rank the source to the right of the destination (services right of pods), arrow still at dst.
            attrs.append("dir=back")
            out.append(f"  {dot_quote(e.dst)} -> {dot_quote(e.src)} [{', '.join(attrs)}];")
        else:
            out.append(f"  {dot_quote(e.src)} -> {dot_quote(e.dst)} [{', '.join(attrs)}];")
    out.append("}")
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------------------------------------- Mermaid


def mermaid_id(raw: str) -> str:
    """A Mermaid-safe id: letters, digits and `_` only, unique by a short hash of the original id."""
    slug = re.sub(r"[^A-Za-z0-9]+", "_", raw).strip("_")[:40] or "x"
    return f"{slug}_{hashlib.sha1(raw.encode()).hexdigest()[:6]}"


def mermaid_text(text: str) -> str:
    """Text inside a quoted Mermaid label: entity codes for the characters Mermaid would parse."""
    for char, code in (("#", "#35;"), ('"', "#quot;"), ("<", "#lt;"), (">", "#gt;"), ("|", "#124;"),
                       ("`", "#96;")):
        text = text.replace(char, code)
    return text.replace("\r", "").replace("\n", " ")


def _mermaid_label(lines: Iterable[str]) -> str:
    return '"' + "<br/>".join(mermaid_text(line) for line in lines) + '"'


def to_mermaid(graph: Graph) -> str:
    """A Mermaid flowchart (`flowchart LR`) with the same groups, vertices and edges as `to_dot`."""
    out = ["flowchart LR"]
    if graph.title:
        out.insert(0, f"%% {mermaid_text(graph.title)}")
    by_group: dict[str | None, list[Vertex]] = {}
    for v in graph.vertices:
        by_group.setdefault(v.group, []).append(v)

    def vertex_line(v: Vertex, indent: str) -> str:
        return f"{indent}{mermaid_id(v.id)}[{_mermaid_label(v.lines)}]"

    for grp in graph.groups:
        out.append(f"  subgraph {mermaid_id('group:' + grp.id)}[{_mermaid_label(grp.lines)}]")
        out += [vertex_line(v, "    ") for v in by_group.get(grp.id, [])]
        out.append("  end")
    out += [vertex_line(v, "  ") for v in by_group.get(None, [])]

    policy_links: list[int] = []
    for i, e in enumerate(graph.edges):
        arrow = "-.->" if EDGE_STYLE.get(e.kind, ("", "solid", False))[1] == "dashed" else "-->"
        if e.kind in ("veth", "routes"):
            arrow = "---"
        label = f"|{_mermaid_label([e.label])}|" if e.label else ""
        out.append(f"  {mermaid_id(e.src)} {arrow}{label} {mermaid_id(e.dst)}")
        if e.kind in ("policy", "policy-peer", "deny"):
            policy_links.append(i)

    for kind, (fill, border, _shape) in sorted(STYLE.items()):
        out.append(f"  classDef {kind} fill:{fill},stroke:{border},color:#212529")
        members = [mermaid_id(v.id) for v in graph.vertices if v.kind == kind]
        if members:
            out.append(f"  class {','.join(members)} {kind}")
    for grp in graph.groups:
        fill, border = GROUP_STYLE.get(grp.kind, GROUP_STYLE["host"])
        out.append(f"  style {mermaid_id('group:' + grp.id)} fill:{fill},stroke:{border}")
    if policy_links:
        out.append(f"  linkStyle {','.join(map(str, policy_links))} stroke:#e03131,color:#e03131")
    return "\n".join(out) + "\n"
