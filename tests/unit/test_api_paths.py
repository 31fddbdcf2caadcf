import pytest

from netlab.api.errors import ApiError
from netlab.api.server import parse_path
from netlab.compile.label_selectors import matches_text as match_selector
from netlab.compile.resolv import resolv_conf


@pytest.mark.parametrize("path,expected", [
    ("/api/v1/namespaces/default/pods", ("Pod", "default", None, None)),
    ("/api/v1/pods", ("Pod", None, None, None)),
    ("/api/v1/namespaces/x/pods/a/log", ("Pod", "x", "a", "log")),
    ("/api/v1/namespaces/x", ("Namespace", None, "x", None)),
    ("/api/v1/nodes/n1", ("Node", None, "n1", None)),
    ("/apis/apps/v1/namespaces/default/deployments/web", ("Deployment", "default", "web", None)),
    ("/apis/networking.k8s.io/v1/networkpolicies", ("NetworkPolicy", None, None, None)),
])
def test_parse_path(path, expected):
    res, ns, name, sub = parse_path(path)
    assert (res.kind, ns, name, sub) == expected


def test_unknown_path_is_a_404_status():
    with pytest.raises(ApiError) as err:
        parse_path("/apis/apps/v1/widgets")
    assert err.value.status()["code"] == 404 and err.value.status()["kind"] == "Status"


@pytest.mark.parametrize("selector,ok", [
    ("app=web", True), ("app==web", True), ("app!=web", False), ("app", True), ("!app", False),
    ("tier in (front,back)", True), ("tier notin (front)", False), ("app=web,tier=db", False),
])
def test_label_selectors(selector, ok):
    assert match_selector(selector, {"app": "web", "tier": "front"}) is ok


def test_resolv_conf_matches_kubelet():
    assert resolv_conf("x", "cluster.local", "10.96.0.10") == (
        "nameserver 10.96.0.10\nsearch x.svc.cluster.local svc.cluster.local cluster.local\noptions ndots:5\n")
