"""HTTPRoute RequestMirror and rule `timeouts`: validation as the CRDs say, the statuses, and the nginx
configuration they render (evaluated as nginx would, and accepted by `nginx -t`)."""

from __future__ import annotations

import shutil

import pytest
from test_gateway_model import _problems
from test_gateway_model import route as raw_route
from test_gateway_routing import (
    ENDPOINTS,
    _maps,
    _var,
    assert_nginx_accepts,
    gateway,
    listener,
    parent_conditions,
    route,
    to,
    world,
)

from netlab.compile.gateway_nginx import render
from netlab.compile.gateway_timeouts import nginx_timeouts
from netlab.model.gateway_duration import milliseconds


def mirror(name, port=80, ns=None, **extra):
    ref = {"name": name, "port": port, **({"namespace": ns} if ns else {})}
    return {"type": "RequestMirror", "requestMirror": {"backendRef": ref, **extra}}


def test_validation_of_durations_and_mirrors():
    assert milliseconds("1h30m") == 5_400_000 and milliseconds("250ms") == 250 and milliseconds("0s") == 0
    problems = _problems(raw_route([
        {"timeouts": {"request": "1 s", "backendRequest": "2m"}},
        {"timeouts": {"request": "1s", "backendRequest": "2s"}},
        {"timeouts": {"request": "0s", "backendRequest": "2s"}, "backendRefs": [{"name": "a", "port": 80}]},
        {"filters": [mirror("a", percent=10, fraction={"numerator": 1}),
                     {"type": "RequestMirror", "requestMirror": {"backendRef": {"name": "b"},
                                                                 "fraction": {"numerator": 3, "denominator": 2}}}]},
    ]))
    text = "\n".join(problems)
    assert "spec.rules[0].timeouts.request: Invalid value: '1 s'" in text
    assert "spec.rules[1].timeouts: Invalid value: backendRequest timeout cannot be longer than request" in text
    assert "spec.rules[2]" not in text, "a request timeout of 0s means none: any backendRequest fits"
    assert "spec.rules[3].filters[0].requestMirror: Invalid value: Only one of percent or fraction" in text
    assert "spec.rules[3].filters[1].requestMirror.backendRef: Invalid value: Must have port" in text
    assert "spec.rules[3].filters[1].requestMirror.fraction: Invalid value: numerator must be less" in text
    assert len(problems) == 5, problems


def test_timeouts_become_per_attempt_and_retry_bounds():
    assert nginx_timeouts(None) == () and nginx_timeouts({}) == ()
    assert dict(nginx_timeouts({"request": "10s", "backendRequest": "2s"})) == {
        "proxy_connect_timeout": "2000ms", "proxy_send_timeout": "2000ms", "proxy_read_timeout": "2000ms",
        "proxy_next_upstream_timeout": "10000ms"}
    assert dict(nginx_timeouts({"request": "0s", "backendRequest": "30s"}))["proxy_next_upstream_timeout"] == \
        "86400000ms", "0s: no timeout (a day)"


ROUTE = route("r", [
    {"matches": [{"path": {"type": "PathPrefix", "value": "/m"}}],
     "filters": [mirror("b"), mirror("c", ns="other", percent=25)], "backendRefs": to("a")},
    {"matches": [{"path": {"type": "PathPrefix", "value": "/slow"}}],
     "timeouts": {"request": "1500ms"}, "backendRefs": to("a")},
    {"matches": [{"path": {"type": "PathPrefix", "value": "/gone"}}],
     "filters": [mirror("missing")], "backendRefs": to("a")},
])


def test_mirrors_and_timeouts_render():
    conf, notes = render(world(gateway(listener()), ROUTE).plans["app/gw"], ENDPOINTS, "/run/x")
    assert notes == []
    maps = _maps(conf)

    def var(name, path):
        return _var(maps, name, {"$uri": path, "$host": "a", "$request_method": "GET", "$server_port": "80"})

    assert var("$gw_mirror0", "/m/x") == "gw_app_b_80" and var("$gw_mirror0", "/other") == ""
    assert var("$gw_mirror1", "/m/x") == "", "another namespace without a ReferenceGrant: no copies"
    assert var("$gw_mirror0", "/gone") == "", "a Service that does not exist gets no copies"
    assert "mirror /_gw_mirror0;" in conf and "mirror /_gw_mirror1;" in conf
    assert "set $gw_m0 $gw_mirror0;" in conf, "set in the main request: its mirror subrequest sees the value"
    assert var("$gw_timeout", "/slow") == "0" and var("$gw_timeout", "/m") == ""
    assert "error_page 560 = @gw_timeout_0;" in conf and "proxy_read_timeout 1500ms;" in conf


def test_mirror_percent_and_status():
    grant = {"apiVersion": "gateway.networking.k8s.io/v1beta1", "kind": "ReferenceGrant",
             "metadata": {"name": "g", "namespace": "other"},
             "spec": {"from": [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "namespace": "app"}],
                      "to": [{"group": "", "kind": "Service"}]}}
    w = world(gateway(listener()), ROUTE, grant)
    conf, _ = render(w.plans["app/gw"], ENDPOINTS, "/run/x")
    assert 'split_clients "${request_id}mirror1" $gw_msplit_t0_1 {' in conf and "25.00% gw_other_c_80;" in conf
    assert parent_conditions(w, "r")["ResolvedRefs"] == ("False", "BackendNotFound"), "the mirror to `missing`"


@pytest.mark.skipif(shutil.which("nginx") is None, reason="nginx is not installed")
def test_mirror_and_timeout_configuration_is_accepted_by_nginx(tmp_path):
    conf, _ = render(world(gateway(listener()), ROUTE).plans["app/gw"], ENDPOINTS, str(tmp_path))
    assert_nginx_accepts(conf, tmp_path)
