"""Field selectors as the apiserver evaluates them."""

from __future__ import annotations

import pytest

from netlab.api.errors import ApiError
from netlab.api.fieldselect import parse, select

PODS = [
    {"metadata": {"name": "a", "namespace": "default"}, "spec": {"nodeName": "node-1"},
     "status": {"phase": "Running", "podIP": "10.244.1.2"}},
    {"metadata": {"name": "b", "namespace": "web"}, "spec": {"nodeName": "node-2"},
     "status": {"phase": "Pending"}},
]


def names(objs):
    return [o["metadata"]["name"] for o in objs]


@pytest.mark.parametrize("selector,expected", [
    ("", ["a", "b"]),
    ("spec.nodeName=node-1", ["a"]),
    ("spec.nodeName==node-2", ["b"]),
    ("status.phase!=Running", ["b"]),
    ("metadata.namespace=web,status.phase=Pending", ["b"]),
    ("metadata.namespace=web,status.phase=Running", []),
    ("status.podIP=", ["b"]),          # an absent field is the empty string
])
def test_pod_selectors(selector, expected):
    assert names(select("Pod", PODS, selector)) == expected


def test_unsupported_field_is_bad_request_even_without_objects():
    with pytest.raises(ApiError) as e:
        select("Pod", [], "spec.containers=x")
    assert e.value.code == 400 and str(e.value) == "field label not supported: spec.containers"
    with pytest.raises(ApiError):
        select("Service", [], "status.phase=Running")  # pod fields are not every kind's


def test_syntax_errors_and_escapes():
    with pytest.raises(ApiError) as e:
        parse("spec.nodeName")
    assert e.value.code == 400 and "can't understand" in str(e.value)
    assert [(t.field, t.op, t.value) for t in parse(r"metadata.name=a\,b\=c,reason!=x")] == [
        ("metadata.name", "=", "a,b=c"), ("reason", "!=", "x")]


def test_event_fields():
    ev = {"metadata": {"name": "p.1", "namespace": "default"}, "reason": "Scheduled", "type": "Normal",
          "involvedObject": {"kind": "Pod", "name": "p", "namespace": "default", "uid": "u1"},
          "source": {"component": "default-scheduler"}}
    for sel in ("involvedObject.kind=Pod,involvedObject.name=p", "involvedObject.uid=u1", "reason=Scheduled",
                "type=Normal", "source=default-scheduler", "involvedObject.namespace=default"):
        assert select("Event", [ev], sel) == [ev], sel
    assert select("Event", [ev], "involvedObject.name=q") == []


def test_service_and_namespace_fields():
    svc = {"metadata": {"name": "s", "namespace": "d"}, "spec": {"type": "ClusterIP", "clusterIP": "10.96.0.9"}}
    assert select("Service", [svc], "spec.type=ClusterIP,spec.clusterIP=10.96.0.9") == [svc]
    ns = {"metadata": {"name": "x"}, "status": {"phase": "Terminating"}}
    assert select("Namespace", [ns], "status.phase=Active") == []
