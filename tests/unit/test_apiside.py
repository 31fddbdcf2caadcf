"""create/replace/get/scale as the apiserver answers them (the controller's ApiSide over a fake store)."""

from __future__ import annotations

import random
import threading
from types import SimpleNamespace

import pytest

from netlab.api import views
from netlab.api.errors import ApiError
from netlab.api.watchcache import WatchCache
from netlab.runtime import store
from netlab.runtime.apiside import ApiSide


class FakeController(ApiSide):
    def __init__(self):
        self.lock = threading.RLock()
        self.watchcache = WatchCache(start_rv=10)
        self.watchcache.refresh({"Namespace": [views.namespace("default", None, 0.0)]})
        self.state = SimpleNamespace(objects={}, pods={}, cluster=None, pod_meta={}, terminating={})
        self.rng = random.Random(1)

    def apply(self, objects, dry_run=False):
        new, results = store.merge(self.state.objects, objects, self.rng)
        if not dry_run:
            self.state.objects = new
            self.watchcache.refresh({k: [o for o in new.values() if o["kind"] == k] for k in ("Deployment", "Service")})
        return results


def deployment(name="web", replicas=2, **meta):
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, **meta},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [{"name": "c", "image": "echo"}]}}},
            "status": {"replicas": 99}}


def test_create_then_already_exists():
    ctl = FakeController()
    made = ctl.create(deployment())
    meta = made["metadata"]
    assert meta["namespace"] == "default" and meta["generation"] == 1 and meta["uid"]
    assert int(meta["resourceVersion"]) > 10 and "status" not in made  # status is the views' business
    with pytest.raises(ApiError) as e:
        ctl.create(deployment())
    assert e.value.code == 409 and e.value.reason == "AlreadyExists"
    assert str(e.value) == 'deployments.apps "web" already exists'
    assert e.value.status()["details"]["name"] == "web" and e.value.status()["details"]["kind"] == "deployments"
    with pytest.raises(ApiError) as e:
        ctl.create(deployment("other", resourceVersion="5"))
    assert e.value.code == 400


def test_create_in_a_missing_namespace_is_not_found():
    ctl = FakeController()
    with pytest.raises(ApiError) as e:
        ctl.create(deployment(namespace="nowhere"))
    assert e.value.code == 404 and str(e.value) == 'namespaces "nowhere" not found'


def test_create_validates_only_the_object_written():
    ctl = FakeController()
    bad = deployment()
    bad["spec"]["replicas"] = -1
    with pytest.raises(ApiError) as e:
        ctl.create(bad)
    assert e.value.code == 422 and e.value.causes
    assert ctl.state.objects == {}


def test_replace_with_stale_version_conflicts():
    ctl = FakeController()
    live = ctl.create(deployment())
    rv = live["metadata"]["resourceVersion"]
    changed = ctl.replace(deployment(replicas=3, resourceVersion=rv))
    assert changed["spec"]["replicas"] == 3 and changed["metadata"]["generation"] == 2
    assert changed["metadata"]["uid"] == live["metadata"]["uid"]
    assert int(changed["metadata"]["resourceVersion"]) > int(rv)
    with pytest.raises(ApiError) as e:
        ctl.replace(deployment(replicas=4, resourceVersion=rv))
    assert e.value.code == 409 and e.value.reason == "Conflict"
    assert str(e.value) == ('Operation cannot be fulfilled on deployments.apps "web": the object has been '
                            "modified; please apply your changes to the latest version and try again")
    relabelled = ctl.replace(deployment(replicas=3, labels={"a": "b"}))  # no version: last write wins
    assert relabelled["metadata"]["generation"] == 2  # metadata only: the generation stays
    with pytest.raises(ApiError) as e:
        ctl.replace(deployment("absent"))
    assert e.value.code == 404 and str(e.value) == 'deployments.apps "absent" not found'


def test_scale_and_the_scale_view():
    ctl = FakeController()
    ctl.create(deployment())
    s = ctl.scale("Deployment", "default", "web", 5)
    assert s["kind"] == "Scale" and s["apiVersion"] == "autoscaling/v1" and s["spec"] == {"replicas": 5}
    assert s["status"]["selector"] == "app=web"
    assert ctl.get("Deployment", "default", "web")["spec"]["replicas"] == 5
    with pytest.raises(ApiError) as e:
        ctl.scale("Deployment", "default", "web", -2)
    assert e.value.code == 422
    with pytest.raises(ApiError) as e:
        ctl.scale("Deployment", "default", "web", 1, resource_version="1")
    assert e.value.code == 409
    with pytest.raises(ApiError) as e:
        ctl.get_scale("Service", "default", "web")
    assert e.value.code == 404


def test_namespace_and_node_views():
    ns = views.namespace("shop", None, 0.0, terminating=60.0)
    assert ns["status"]["phase"] == "Terminating" and ns["metadata"]["deletionTimestamp"] == "1970-01-01T00:01:00Z"
    node = views.node(SimpleNamespace(name="n1", pod_cidr="10.244.1.0/24", underlay_ip="192.168.56.11",
                                      labels={}, role="worker"), 0.0)
    st = node["status"]
    assert st["addresses"][0] == {"type": "InternalIP", "address": "192.168.56.11"}
    assert [c["type"] for c in st["conditions"]][-1] == "Ready" and st["conditions"][-1]["status"] == "True"
    assert st["nodeInfo"]["operatingSystem"] == "linux" and st["allocatable"]["pods"] == "110"


def test_patch_changes_the_live_object_under_the_lock():
    ctl = FakeController()
    ctl.create(deployment())

    def more(live):
        assert live["metadata"]["resourceVersion"]  # the live view, as the patch libraries get it
        return {**live, "spec": {**live["spec"], "replicas": 4}}
    patched = ctl.patch("Deployment", "default", "web", more)
    assert patched["spec"]["replicas"] == 4 and patched["metadata"]["generation"] == 2
    with pytest.raises(ApiError) as e:
        ctl.patch("Deployment", "default", "nope", more)
    assert e.value.code == 404


def test_a_deleted_namespace_is_terminating_then_gone_with_its_contents(monkeypatch):
    from netlab.runtime.controller import Controller
    from netlab.runtime.events import EventLog

    ctl = Controller.__new__(Controller)  # no kernel: the commit below only swaps the store
    ctl.lock, ctl.watchcache, ctl.eventlog = threading.RLock(), WatchCache(), EventLog()
    ctl._dirty, ctl._terminating, ctl._rv_reserved, ctl.started, ctl.cluster = set(), {}, 10**9, 0.0, "t"
    ctl._draining_namespaces = {}
    ns = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop", "uid": "u"}}
    svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s", "namespace": "shop"}}
    ctl.state = SimpleNamespace(objects={"Namespace//shop": ns, "Service/shop/s": svc}, pods={}, pod_meta={},
                                terminating={})
    monkeypatch.setattr(views, "snapshot", lambda c, kinds: {"Namespace": [
        views.namespace(o["metadata"]["name"], o, 0.0) for o in c.state.objects.values() if o["kind"] == "Namespace"]})
    ctl._with_addons = lambda objects: objects
    ctl._place = lambda objects, previous=None: {}
    ctl._allocate = lambda objects: {}

    def commit(objects, pods, allocations, addons=None):
        ctl.state.objects = objects
        ctl._refresh_views()
    ctl._commit = commit
    ctl._refresh_views()
    start = ctl.watchcache.rv
    shown = ctl.delete("Namespace", "", "shop")
    assert shown["status"]["phase"] == "Terminating" and shown["metadata"]["deletionTimestamp"]
    changes = ctl.watchcache.events_since("Namespace", None, start)
    assert [(c.type, c.object["status"]["phase"]) for c in changes] == [("MODIFIED", "Terminating"),
                                                                         ("DELETED", "Terminating")]
    assert ctl.state.objects == {} and ctl._terminating == {}
    with pytest.raises(ApiError) as e:
        ctl.delete("Namespace", "", "shop")
    assert e.value.code == 404 and str(e.value) == 'namespaces "shop" not found'
