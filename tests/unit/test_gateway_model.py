"""The Gateway API kinds: served as built-in kinds, defaulted and validated as the CRDs' schemas and CEL
rules say, every problem naming its field."""

import pytest

from netlab.api import resources
from netlab.compile import gateway_objects
from netlab.model import gateway
from netlab.model.loader import RawDoc
from netlab.model.model import CLUSTER_SCOPED
from netlab.model.problems import ManifestError
from netlab.model.validate import parse_objects


def _parse(*docs):
    objects, problems = parse_objects([RawDoc(None, d) for d in docs])
    if problems:
        raise ManifestError(problems)
    return objects


def _problems(*docs) -> list[str]:
    try:
        _parse(*docs)
    except ManifestError as exc:
        return [f"{p.field}: {p.message}" for p in exc.problems]
    return []


def gw(listeners, cls="netlab", **meta):
    return {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway", "metadata": {"name": "g", **meta},
            "spec": {"gatewayClassName": cls, "listeners": listeners}}


def route(rules, **spec):
    return {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute", "metadata": {"name": "r"},
            "spec": {"parentRefs": [{"name": "g"}], "rules": rules, **spec}}


def test_kinds_are_served_with_scope():
    for kind, plural, version in (("GatewayClass", "gatewayclasses", "v1"), ("Gateway", "gateways", "v1"),
                                  ("HTTPRoute", "httproutes", "v1"), ("GRPCRoute", "grpcroutes", "v1"),
                                  ("ReferenceGrant", "referencegrants", "v1beta1")):
        res = resources.by_kind(kind)
        assert res is not None and res.plural == plural and not res.stored_only
        assert res.api_version == f"gateway.networking.k8s.io/{version}"
    assert "GatewayClass" in CLUSTER_SCOPED and "Gateway" not in CLUSTER_SCOPED
    assert resources.lookup("httproute") is resources.by_kind("HTTPRoute")


def test_valid_gateway_and_route_are_defaulted():
    objs = _parse(gw([{"name": "http", "port": 80, "protocol": "HTTP", "hostname": "*.example.com"}]),
                  route([{"backendRefs": [{"name": "s", "port": 80}]}]))
    g, r = [o.model_dump(by_alias=True, exclude_none=True) for o in objs]
    assert g["spec"]["listeners"][0]["allowedRoutes"] == {"namespaces": {"from": "Same"}}
    rule = r["spec"]["rules"][0]
    assert rule["matches"] == [{"path": {"type": "PathPrefix", "value": "/"}}]
    assert rule["backendRefs"][0] == {"name": "s", "port": 80, "group": "", "kind": "Service", "weight": 1}
    assert r["spec"]["parentRefs"][0]["kind"] == "Gateway"


def test_listener_rules_name_their_fields():
    found = _problems(gw([{"name": "a", "port": 80, "protocol": "HTTP", "hostname": "Bad_Host"},
                          {"name": "a", "port": 0, "protocol": "HTTPS"},
                          {"name": "b", "port": 80, "protocol": "HTTP", "hostname": "Bad_Host",
                           "tls": {"certificateRefs": [{"name": "c"}]}},
                          {"name": "c", "port": 9, "protocol": "TCP", "hostname": "x.example"}]))
    text = "\n".join(found)
    assert "spec.listeners[0].hostname: Invalid value: 'Bad_Host'" in text
    assert "spec.listeners[1].port: Invalid value: 0: must be between 1 and 65535" in text
    assert "spec.listeners[1].tls: Required value: tls must be specified for protocols ['HTTPS', 'TLS']" in text
    assert "spec.listeners[2].tls: Invalid value: tls must not be specified for protocols" in text
    assert "spec.listeners[3].hostname: Invalid value: hostname must not be specified for protocols" in text
    assert "Listener name must be unique within the Gateway" in text
    assert "Combination of port, protocol and hostname must be unique for each listener" in text


def test_https_listener_needs_certificate_refs():
    found = _problems(gw([{"name": "s", "port": 443, "protocol": "HTTPS", "tls": {"mode": "Terminate"}}]))
    assert found == ["spec.listeners[0].tls: Invalid value: certificateRefs or options must be specified when mode "
                     "is Terminate"]


@pytest.mark.parametrize("value,message", [
    ("foo", "value must be an absolute path and start with '/'"),
    ("/a//b", "must not contain '//'"),
    ("/a/../b", "must not contain '/../'"),
    ("/a%2fb", "must not contain '%2f'"),
    ("/a/.", "must not end with '/.'"),
    ("/a b", "must only contain valid characters"),
])
def test_path_value_rules(value, message):
    found = _problems(route([{"matches": [{"path": {"type": "Exact", "value": value}}],
                              "backendRefs": [{"name": "s", "port": 80}]}]))
    assert any(p.startswith("spec.rules[0].matches[0].path: Invalid value: ") and message in p for p in found), found


def test_regex_paths_are_free_form_but_must_compile():
    assert _problems(route([{"matches": [{"path": {"type": "RegularExpression", "value": "/v[0-9]+/.*"}}]}])) == []
    found = _problems(route([{"matches": [{"path": {"type": "RegularExpression", "value": "/v[0-9"}}]}]))
    assert found and found[0].startswith("spec.rules[0].matches[0].path.value")


def test_route_rules_name_their_fields():
    found = _problems(route([
        {"matches": [{"method": "FETCH", "headers": [{"name": "X-A", "value": "1"}, {"name": "x-a", "value": "2"}],
                      "queryParams": [{"name": "bad name", "value": "v"}]}],
         "backendRefs": [{"name": "s"}, {"name": "t", "port": 80, "weight": -1}],
         "filters": [{"type": "RequestRedirect", "requestRedirect": {"statusCode": 308}}]},
        {"filters": [{"type": "URLRewrite", "requestRedirect": {}}]},
    ], hostnames=["*.ok.example", "no_way"]))
    text = "\n".join(found)
    assert 'spec.rules[0].matches[0].method: Unsupported value: "FETCH"' in text
    assert "spec.rules[0].matches[0].headers[1].name: Duplicate value: 'x-a'" in text
    assert "spec.rules[0].matches[0].queryParams[0].name: Invalid value: 'bad name'" in text
    assert "spec.rules[0].backendRefs[0]: Invalid value: Must have port for Service reference" in text
    assert "spec.rules[0].backendRefs[1].weight: Invalid value: -1" in text
    assert "spec.rules[0].filters[0].requestRedirect.statusCode: Unsupported value: \"308\"" not in text
    assert "spec.rules[0].filters[0].requestRedirect.statusCode: Unsupported value: 308" in text
    assert "spec.rules[0]: Invalid value: RequestRedirect filter must not be used together with backendRefs" in text
    assert "spec.rules[1].filters[0]: Invalid value: filter.urlRewrite must be specified for URLRewrite" in text
    assert "spec.rules[1].filters[0]: Invalid value: filter.requestRedirect must be nil" in text
    assert "spec.hostnames[1]: Invalid value: 'no_way'" in text
    assert not any(p.startswith("spec.hostnames[0]") for p in found)


def test_replace_prefix_match_needs_one_prefix_match():
    rewrite = {"type": "URLRewrite", "urlRewrite": {"path": {"type": "ReplacePrefixMatch", "replacePrefixMatch": "/"}}}
    ok = route([{"matches": [{"path": {"type": "PathPrefix", "value": "/a"}}], "filters": [rewrite],
                 "backendRefs": [{"name": "s", "port": 80}]}])
    assert _problems(ok) == []
    bad = route([{"matches": [{"path": {"type": "Exact", "value": "/a"}}], "filters": [rewrite]}])
    assert any("exactly one PathPrefix match must be specified" in p for p in _problems(bad))


def test_gateway_class_and_reference_grant():
    gc = {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "GatewayClass", "metadata": {"name": "x"},
          "spec": {"controllerName": "no-slash"}}
    rg = {"apiVersion": "gateway.networking.k8s.io/v1beta1", "kind": "ReferenceGrant",
          "metadata": {"name": "rg", "namespace": "b"}, "spec": {"from": [{"group": "gateway.networking.k8s.io",
                                                                           "kind": "HTTPRoute"}], "to": []}}
    text = "\n".join(_problems(gc, rg))
    assert "spec.controllerName: Invalid value: 'no-slash'" in text
    assert "spec.from[0].namespace: Required value" in text
    assert "spec.to: Required value: must have at least 1 items" in text
    assert _problems(gateway_objects.gateway_class()) == []


def test_wrong_version_is_refused():
    rg = {"apiVersion": "gateway.networking.k8s.io/v1alpha9", "kind": "HTTPRoute", "metadata": {"name": "r"},
          "spec": {}}
    found = _problems(rg)
    assert found and 'no kind "HTTPRoute" is registered for version' in found[0]
    assert gateway.kind_info("gateway.networking.k8s.io/v1", "HTTPRoute") is not None


def test_upstream_crds_for_the_gateway_api_change_nothing():
    from netlab.runtime.store import without_instances

    crd = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
           "metadata": {"name": "httproutes.gateway.networking.k8s.io"},
           "spec": {"group": "gateway.networking.k8s.io", "scope": "Namespaced",
                    "names": {"plural": "httproutes", "kind": "HTTPRoute", "listKind": "HTTPRouteList"},
                    "versions": [{"name": "v1", "served": True, "storage": True,
                                  "schema": {"openAPIV3Schema": {"type": "object"}}}]}}
    assert _problems(crd, route([{"backendRefs": [{"name": "s", "port": 80}]}])) == []
    bad = _problems(crd, route([{"backendRefs": [{"name": "s"}]}]))
    assert bad == ["spec.rules[0].backendRefs[0]: Invalid value: Must have port for Service reference"]
    stored = {"HTTPRoute/default/r": route([])}
    assert without_instances(stored, crd) == stored, "deleting the CRD leaves the built-in kind's objects"


def test_get_columns_are_the_crds_printer_columns():
    from netlab.api.columns import kind_columns

    gw = {"metadata": {"name": "web", "creationTimestamp": "2026-01-01T00:00:00Z"},
          "spec": {"gatewayClassName": "netlab"},
          "status": {"addresses": [{"value": "172.18.255.200"}],
                     "conditions": [{"type": "Programmed", "status": "True"}]}}
    cols = kind_columns("Gateway")
    assert [c.name for c in cols.all_columns()][:5] == ["Name", "Class", "Address", "Programmed", "Age"]
    assert cols.row_cells(gw, 0, False)[:4] == ["web", "netlab", "172.18.255.200", "True"]
    route_cells = kind_columns("HTTPRoute").row_cells({"metadata": {"name": "r"}, "spec": {"hostnames": ["a.b"]}},
                                                      0, False)
    assert route_cells[:2] == ["r", '["a.b"]']
    gc = kind_columns("GatewayClass").row_cells(gateway_objects.gateway_class(), 0, False)
    assert gc[:3] == ["netlab", "netlab.dev/gateway-controller", "Unknown"]
