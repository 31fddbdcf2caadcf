"""GRPCRoute: matches in HTTP terms (method service/name, exact and regex, headers), attachment and
statuses as for HTTPRoutes, and the nginx configuration (grpc_pass for gRPC targets, HTTP/2 on their
ports), evaluated as nginx would and accepted by `nginx -t`."""

from __future__ import annotations

import shutil

import pytest
from test_gateway_routing import ENDPOINTS, assert_nginx_accepts, dispatch, gateway, listener, obj, route, to, world

from netlab.compile.gateway_attach import gateway_status
from netlab.compile.gateway_grpc import grpc_matches
from netlab.compile.gateway_nginx import render
from netlab.compile.images import plan as image_plan

GRPC = {"$http_content_type": "application/grpc"}


def grpc_route(name, rules, **extra):
    return obj("GRPCRoute", name, {"parentRefs": [{"name": "gw", "namespace": "app"}], "rules": rules, **extra})


def test_matches_in_http_terms():
    def path(method):
        return grpc_matches({"matches": [{"method": method}]})[0]["path"]

    assert path({"service": "demo.Greeter", "method": "Hello"}) == {"type": "Exact", "value": "/demo.Greeter/Hello"}
    assert path({"service": "demo.Greeter"}) == {"type": "PathPrefix", "value": "/demo.Greeter"}
    assert path({"method": "Hello"}) == {"type": "RegularExpression", "value": "/[^/]+/Hello"}
    assert path({"type": "RegularExpression", "service": "demo\\..*"}) == {"type": "RegularExpression",
                                                                          "value": "/demo\\..*/[^/]+"}
    (every,) = grpc_matches({})
    assert every["path"] == {"type": "PathPrefix", "value": "/"} and every["headers"][-1]["name"] == "content-type"


ROUTES = [
    grpc_route("g", [
        {"matches": [{"method": {"service": "demo.Greeter", "method": "Hello"}}], "backendRefs": to("a")},
        {"matches": [{"method": {"service": "demo.Greeter"}}], "backendRefs": to("b")},
        {"matches": [{"method": {"method": "Hello"}, "headers": [{"name": "x-tier", "value": "gold"}]}],
         "backendRefs": to("b")},
    ]),
    route("h", [{"backendRefs": to("a")}]),
]


def test_grpc_routing_as_nginx_maps_say():
    w = world(gateway(listener()), *ROUTES)
    conf, notes = render(w.plans["app/gw"], ENDPOINTS, "/run/x")
    assert notes == []
    assert dispatch(conf, "/demo.Greeter/Hello", method="POST", **GRPC) == "gw_app_a_80"
    assert dispatch(conf, "/demo.Greeter/Bye", method="POST", **GRPC) == "gw_app_b_80"
    assert dispatch(conf, "/other.Svc/Hello", method="POST", **GRPC, **{"$http_x_tier": "gold"}) == "gw_app_b_80"
    assert dispatch(conf, "/other.Svc/Hello", method="POST", **GRPC) == "gw_app_a_80", "the HTTPRoute's catch-all"
    assert dispatch(conf, "/demo.Greeter/Hello") == "gw_app_a_80", "plain HTTP never takes a gRPC rule"
    assert "listen 80 http2;" in conf and "grpc_pass grpc://$gw_upstream;" in conf
    assert "error_page 559 = @gw_grpc;" in conf
    conditions = {c["type"]: c["status"] for c in w.route_parents["GRPCRoute/app/g"][0]["conditions"]}
    assert conditions == {"Accepted": "True", "ResolvedRefs": "True"}
    kinds = [k["kind"] for k in gateway_status(w.plans["app/gw"], "1.2.3.4", True)["listeners"][0]["supportedKinds"]]
    assert kinds == ["HTTPRoute", "GRPCRoute"]


def test_without_grpc_routes_nothing_changes():
    conf, _ = render(world(gateway(listener()), ROUTES[1]).plans["app/gw"], ENDPOINTS, "/run/x")
    assert "http2" not in conf and "grpc" not in conf


def test_grpc_echo_image():
    assert image_plan("netlab/grpc-echo", None, None, [(50051, "TCP")]).argv[-3:] == [
        "netlab.images.grpc_echo", "--port", "50051"]


@pytest.mark.skipif(shutil.which("nginx") is None, reason="nginx is not installed")
def test_grpc_configuration_is_accepted_by_nginx(tmp_path):
    conf, _ = render(world(gateway(listener()), *ROUTES).plans["app/gw"], ENDPOINTS, str(tmp_path))
    assert_nginx_accepts(conf, tmp_path)
