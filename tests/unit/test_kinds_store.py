"""The controller's side of CRD-defined kinds: their objects reach the watch cache, and deleting the CRD
deletes them and empties the kind; stored-only kinds get a NoEffect note."""

from __future__ import annotations

import threading
from types import SimpleNamespace

import pytest

from netlab.api import views
from netlab.api.errors import ApiError
from netlab.api.watchcache import WatchCache
from netlab.model import crd
from netlab.runtime.events import EventLog

CRD = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
       "metadata": {"name": "widgets.example.com", "uid": "u1"},
       "spec": {"group": "example.com", "scope": "Namespaced", "names": {"plural": "widgets", "kind": "Widget"},
                "versions": [{"name": "v1", "served": True, "storage": True}]}}
WIDGET = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w", "namespace": "default"}}
CM = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "default"}}


@pytest.fixture
def ctl(monkeypatch):
    from netlab.runtime.controller import Controller

    c = Controller.__new__(Controller)  # no kernel: the commit below only swaps the store
    c.lock, c.watchcache, c.eventlog = threading.RLock(), WatchCache(), EventLog()
    c._dirty, c._terminating, c._rv_reserved, c.started, c.cluster = set(), {}, 10**9, 0.0, "t"
    c._draining_namespaces = {}
    c.state = SimpleNamespace(objects={"CustomResourceDefinition//widgets.example.com": CRD,
                                       "Widget/default/w": WIDGET, "ConfigMap/default/c": CM}, pods={})
    monkeypatch.setattr(views, "snapshot", lambda ctl, kinds: {k: views._stored(ctl, k, None) for k in kinds})
    c._with_addons = lambda objects: objects
    c._place = lambda objects, previous=None: {}
    c._allocate = lambda objects: {}

    def commit(objects, pods, allocations, addons=None):
        c.state.objects = objects
        c._refresh_views()
    c._commit = commit
    crd.bind(lambda: c.state.objects)
    yield c
    crd.bind(None)


def test_deleting_a_crd_deletes_its_objects_and_empties_its_kind(ctl) -> None:
    ctl._refresh_views()
    assert [o["metadata"]["name"] for o in ctl.watchcache.list("Widget", None)[0]] == ["w"]
    assert ctl.get("Widget", "default", "w")["apiVersion"] == "example.com/v1"
    ctl.delete("CustomResourceDefinition", "", "widgets.example.com")
    assert list(ctl.state.objects) == ["ConfigMap/default/c"]
    assert ctl.watchcache.list("Widget", None)[0] == []
    with pytest.raises(ApiError):
        ctl.get("Widget", "default", "w")
