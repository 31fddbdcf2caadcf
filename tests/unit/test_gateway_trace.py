"""`netlab trace` through a Gateway (netlab.trace.gateway) and the Gateway part of `netlab graph`: the
trace's Python matcher must pick the same route as the rendered nginx maps, for every request tried."""

from __future__ import annotations

import itertools
import shutil
import subprocess

from test_gateway_routing import ENDPOINTS, conf_for, dispatch, gateway, listener, route, to, world
from test_trace_model import world as trace_world

from netlab.compile.gateway_objects import gateway_class
from netlab.compile.gateway_order import trace_rows
from netlab.compile.graph import build
from netlab.compile.services import Endpoint, ResolvedService, ServicePortView
from netlab.trace.gateway import Request, listener_for, pick_gateway
from netlab.trace.model import plan

ROUTES = [
    route("main", [
        {"matches": [{"path": {"type": "PathPrefix", "value": "/"}}], "backendRefs": to("a")},
        {"matches": [{"path": {"type": "PathPrefix", "value": "/shop"}}], "backendRefs": to("b")},
        {"matches": [{"path": {"type": "Exact", "value": "/shop/cart"}}], "backendRefs": [
            {"name": "c", "namespace": "other", "port": 80}]},
        {"matches": [{"path": {"type": "PathPrefix", "value": "/"}, "headers": [{"name": "X-V", "value": "2"}]}],
         "backendRefs": to("b")},
        {"matches": [{"path": {"type": "RegularExpression", "value": "/r/[0-9]+"}}], "backendRefs": to("b")},
        {"matches": [{"path": {"type": "PathPrefix", "value": "/q"}, "queryParams": [{"name": "v", "value": "1"}]}],
         "backendRefs": to("b")},
        {"matches": [{"path": {"type": "PathPrefix", "value": "/gone"}}], "backendRefs": [{"name": "a", "port": 81}]},
    ], hostnames=["app.example"], created="2026-01-01T00:00:00Z"),
    route("wild", [{"backendRefs": to("b")}], hostnames=["*.example"], created="2026-01-02T00:00:00Z"),
]
LISTENERS = [listener("http"), listener("shop", hostname="*.shop.example")]


def _upstream(entry) -> str:
    """What nginx's maps call the outcome of a trace match."""
    if entry is None:
        return "gw_404"
    live = [b for b in entry["backends"] if b["weight"] > 0]
    b = live[0]
    if b["problem"]:
        return "gw_500"
    return f"gw_{b['namespace']}_{b['name']}_{b['port']}" if b["endpoints"] else "gw_503"


def test_trace_picks_what_nginx_picks():
    conf = conf_for(*ROUTES, listeners=LISTENERS)
    rows = trace_rows(world(gateway(*LISTENERS), *ROUTES).plans, ENDPOINTS)
    hosts = ["app.example", "blog.example", "www.shop.example", "example"]
    paths = ["/", "/shop", "/shop/", "/shopping", "/shop/cart", "/r/12", "/r/x", "/q", "/gone/x"]
    for host, path, xv, q in itertools.product(hosts, paths, (None, "2"), ("", "v=1")):
        headers = {"X-V": xv} if xv else {}
        req = Request.of(f"http://{host}{path}" + (f"?{q}" if q else ""), None, headers)
        found = pick_gateway(rows, req)
        entry = found[2] if found else None
        extra = {"$http_x_v": xv or "", "$arg_v": q.partition("=")[2]}
        assert _upstream(entry) == dispatch(conf, path, host=host, **extra), (host, path, xv, q)


def test_listener_choice_and_no_gateway():
    listeners = [{"name": "any", "port": 80, "hostname": None, "supported": True},
                 {"name": "shop", "port": 80, "hostname": "*.shop.example", "supported": True},
                 {"name": "exact", "port": 80, "hostname": "a.shop.example", "supported": True},
                 {"name": "tls", "port": 443, "hostname": None, "supported": False}]
    assert listener_for(listeners, Request.of("http://a.shop.example/", None))["name"] == "exact"
    assert listener_for(listeners, Request.of("http://b.x.shop.example/", None))["name"] == "shop"
    assert listener_for(listeners, Request.of("http://shop.example/", None))["name"] == "any"
    assert listener_for(listeners, Request.of("https://a.example/", None)) is None
    assert pick_gateway([], Request.of("http://a.example/", None)) is None


def _gateway_service() -> ResolvedService:
    return ResolvedService("app", "gw-nginx", "LoadBalancer", "10.96.100.9", "172.18.255.201",
                           (ServicePortView("http", "TCP", 80, 31080, {"10.244.1.2": 3000}),),
                           (Endpoint("10.244.1.2", "pod-a", "lab-worker", True),))


def test_plan_through_a_gateway_names_listener_route_weights_and_endpoints():
    topo, svcs, pi = trace_world()
    weighted = route("w", [{"backendRefs": [{"name": "a", "port": 80, "weight": 1},
                                            {"name": "b", "port": 80, "weight": 3}]}], hostnames=["app.example"])
    endpoints = {("app", "a", 80): (("10.244.1.3", 3000),), ("app", "b", 80): (("10.244.2.2", 3000),)}
    rows = trace_rows(world(gateway(listener()), weighted).plans, endpoints)
    p = plan("host", "http://app.example/x", None, "tcp", topo, [*svcs, _gateway_service()], pi, gateway_rows=rows)
    text = "\n".join(f"{s.where}: {s.what} | {s.detail} | {s.rule}" for s in p.steps)
    assert p.dst_ip == "172.18.255.201" and p.url == "http://app.example/x"
    assert "resolves to Gateway app/gw at 172.18.255.201" in text
    assert "listener http (HTTP port 80, hostname (any)) takes Host: app.example" in text
    assert "HTTPRoute app/w rule 0 match 0: hostname app.example, path PathPrefix /" in text
    assert "app/a:80 weight 1 (25%) -> 10.244.1.3:3000" in text and "app/b:80 weight 3 (75%)" in text
    assert {c.ip for c in p.candidates} == {"10.244.1.3", "10.244.2.2"} and p.outcome == "connected"
    assert all(c.source_seen == "10.244.1.2" for c in p.candidates), "the backend sees the proxy pod"
    missing = plan("host", "http://other.example/", None, "tcp", topo, [*svcs, _gateway_service()], pi,
                   gateway_rows=rows)
    assert missing.reason == "HTTP 404 (no route matches)"
    assert [c.pod for c in missing.candidates] == ["default/pod-a"], "the request ends at the proxy"


def test_graph_draws_gateways_listeners_routes_and_weighted_backends():
    objs = [gateway_class(), gateway(*LISTENERS), *ROUTES,
            route("lost", [{"backendRefs": to("a")}], parent={"name": "gw", "sectionName": "nope"})]
    services = [{"metadata": {"name": n, "namespace": ns}, "spec": {}} for ns, n in
                (("app", "a"), ("app", "b"), ("other", "c"), ("app", "gw-nginx"))]
    g = build([], [], services, [], [], [], gateway_api=objs)
    ids = {v.id: v for v in g.vertices}
    assert ids["gtw:app/gw"].kind == "gateway" and ids["gtwl:app/gw/shop"].lines[2] == "*.shop.example"
    assert ids["route:app/main"].lines[-1] == "attached" and ids["route:app/lost"].lines[-1] == "not accepted"
    edges = {(e.src, e.dst, e.kind): e.label for e in g.edges}
    assert ("gtw:app/gw", "svc:app/gw-nginx", "proxy") in edges
    assert ("gtw:app/gw", "gtwl:app/gw/http", "listener") in edges
    assert edges[("gtwl:app/gw/http", "route:app/main", "attach")] == "app.example"
    assert "rule 2: /shop/cart (exact) :80 (RefNotPermitted)" == edges[("route:app/main", "svc:other/c", "backend")]


def test_gateway_graph_renders_as_dot_and_mermaid():
    from netlab.compile.graph_render import to_dot, to_mermaid

    services = [{"metadata": {"name": n, "namespace": "app"}, "spec": {}} for n in ("a", "b", "gw-nginx")]
    g = build([], [], services, [], [], [], gateway_api=[gateway_class(), gateway(*LISTENERS), *ROUTES])
    dot = to_dot(g)
    assert '"gtwl:app/gw/http" -> "route:app/main"' in dot and 'subgraph "cluster_gateway"' in dot
    mermaid = to_mermaid(g)
    assert "gateway app/gw" in mermaid and "httproute app/main" in mermaid
    if shutil.which("dot"):
        svg = subprocess.run(["dot", "-Tsvg"], input=dot.encode(), capture_output=True, timeout=60)
        assert svg.returncode == 0 and b"listener shop" in svg.stdout, svg.stderr
