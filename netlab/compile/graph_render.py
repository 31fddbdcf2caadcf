"""The cluster graph (netlab.compile.graph) as text: Graphviz DOT and a Mermaid flowchart (pure)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable

from netlab.compile.graph import Graph, Vertex

# kind -> (fill colour, border colour, DOT shape)
STYLE: dict[str, tuple[str, str, str]] = {
    "bridge": ("#ffd8a8", "#e8590c", "box"),
    "node": ("#d0ebff", "#1c7ed6", "box3d"),
    "cni": ("#ffec99", "#f08c00", "box"),
    "pod": ("#d3f9d8", "#2f9e44", "box"),
    "service": ("#e5dbff", "#7048e8", "box"),
    "ingress": ("#ffdeeb", "#d6336c", "box"),
    "gateway": ("#c3fae8", "#0c8599", "box3d"),
    "listener": ("#e3fafc", "#0c8599", "box"),
    "route": ("#fff3bf", "#0c8599", "box"),
    "peer": ("#f1f3f5", "#868e96", "box"),
    "note": ("#ffe3e3", "#e03131", "note"),
}

GROUP_STYLE: dict[str, tuple[str, str]] = {
    "host": ("#f8f9fa", "#495057"),
    "node": ("#f1f8ff", "#1c7ed6"),
    "services": ("#f8f5ff", "#7048e8"),
    "ingress": ("#fff5f8", "#d6336c"),
    "gateway": ("#f3fcfd", "#0c8599"),
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
    "listener": ("#0c8599", "solid", False),
    "attach": ("#0c8599", "solid", False),
    "proxy": ("#0c8599", "dashed", True),
    "policy": ("#e03131", "dashed", False),
    "policy-peer": ("#e03131", "dashed", True),
    "deny": ("#e03131", "dashed", True),
}

LEGEND = ("orange: underlay and veth links | purple: Service -> endpoint pod (targetPort) | "
          "pink: Ingress host/path or route rule -> Service | teal: Gateway -> listener -> route | "
          "red dashed: NetworkPolicy")


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
