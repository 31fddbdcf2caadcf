"""The Gateway API part of the cluster graph (pure): each Gateway with its listeners and its proxy
Service, the routes attached to each listener (as netlab.compile.gateway_attach attaches them), and an
edge per route rule to each backend Service with its weight."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from netlab.compile.gateway_attach import gateway_world, key_of
from netlab.compile.gateway_objects import proxy_name

Obj = Mapping[str, Any]


def _qual(key: str) -> str:
    ns, _, name = key.partition("/")
    return name if ns == "default" else key


def _match_text(matches: tuple[Mapping, ...]) -> str:
    parts = []
    for m in matches or ({},):
        path = m.get("path") or {"type": "PathPrefix", "value": "/"}
        text = path.get("value", "/") + ("" if path.get("type", "PathPrefix") != "Exact" else " (exact)")
        extra = [m["method"]] if m.get("method") else []
        extra += [f"{h['name']}={h['value']}" for h in m.get("headers") or []]
        extra += [f"?{q['name']}={q['value']}" for q in m.get("queryParams") or []]
        parts.append(text + (f" [{' '.join(extra)}]" if extra else ""))
    return ", ".join(parts)


def add_gateways(objects: Iterable[Obj], services: Iterable[Obj], add: Callable, edges: set,
                 groups: dict, vertex_types: tuple) -> None:
    """Add the Gateways (netlab's classes), listeners, HTTPRoutes and GRPCRoutes to a graph being built.
    `vertex_types` is (Group, Vertex, Edge) of netlab.compile.graph."""
    group_t, vertex_t, edge_t = vertex_types
    objects = list(objects)
    svc_keys = {key_of(s): s for s in services}
    world = gateway_world(objects, svc_keys)
    routes = sorted((o for o in objects if o.get("kind") in ("HTTPRoute", "GRPCRoute")), key=key_of)
    if not world.plans and not routes:
        return
    groups["gateway"] = group_t("gateway", "gateway", ("Gateway API",))
    status = {key_of(o): o.get("status") or {} for o in objects if o.get("kind") == "Gateway"}
    for key, plan in sorted(world.plans.items()):
        addresses = [a.get("value", "") for a in status.get(key, {}).get("addresses") or []]
        gid = f"gtw:{key}"
        add(vertex_t(gid, "gateway", (f"gateway {_qual(key)}", *(addresses or ["(no address yet)"])), "gateway"))
        proxy = f"svc:{plan.namespace}/{proxy_name(plan.name)}"
        if proxy in {f"svc:{k}" for k in svc_keys}:
            edges.add(edge_t(gid, proxy, "proxy", "proxy pods"))
        for li in plan.listeners:
            lid = f"gtwl:{key}/{li.name}"
            lines = (f"listener {li.name}", f"{li.protocol} :{li.port}", li.hostname or "(any host)",
                     f"{plan.attached.get(li.name, 0)} route(s)" if li.supported else "not served")
            add(vertex_t(lid, "listener", lines, "gateway"))
            edges.add(edge_t(gid, lid, "listener"))
        for att in plan.attachments:
            rid = route_id("GRPCRoute" if att.grpc else "HTTPRoute", att.route)
            edges.add(edge_t(f"gtwl:{key}/{att.listener}", rid, "attach", ", ".join(att.hostnames)))
            live = [b for b in att.backends if b.weight > 0]
            total = sum(b.weight for b in live) or 1
            for b in live:
                sid = f"svc:{b.namespace}/{b.name}"
                share = f" {100 * b.weight / total:.0f}%" if len(live) > 1 else ""
                problem = f" ({b.problem})" if b.problem else ""
                if sid not in {f"svc:{k}" for k in svc_keys}:
                    add(vertex_t(sid, "service", (f"svc {_qual(f'{b.namespace}/{b.name}')}", "(missing)"),
                                 "services"))
                    groups.setdefault("services", group_t("services", "services", ("Services",)))
                edges.add(edge_t(rid, sid, "backend",
                                 f"rule {att.rule}: {_match_text(att.matches)} :{b.port}{share}{problem}"))
    for r in routes:
        hosts = (r.get("spec") or {}).get("hostnames") or []
        accepted = any(c.get("type") == "Accepted" and c.get("status") == "True"
                       for p in world.route_parents.get(f"{r['kind']}/{key_of(r)}", []) for c in p["conditions"])
        add(vertex_t(route_id(r["kind"], key_of(r)), "route",
                     (f"{r['kind'].lower()} {_qual(key_of(r))}", *hosts, "attached" if accepted else "not accepted"),
                     "gateway"))


def route_id(kind: str, key: str) -> str:
    return f"{'grpcroute' if kind == 'GRPCRoute' else 'route'}:{key}"
