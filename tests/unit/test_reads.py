"""The API's read side without HTTP: content negotiation, selectors, and list/get bodies from a watch cache."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from netlab.api import reads
from netlab.api.errors import ApiError
from netlab.api.resources import BY_KIND
from netlab.api.watchcache import WatchCache

KUBECTL_ACCEPT = ("application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;"
                  "g=meta.k8s.io,application/json")


def pod(name: str, ns: str = "default", phase: str = "Running", **labels: str) -> dict:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": ns, "labels": labels,
                         "creationTimestamp": "2026-01-01T00:00:00Z"},
            "spec": {"nodeName": "n1", "containers": [{"name": "c", "image": "echo"}]},
            "status": {"phase": phase, "podIP": "10.244.1.5",
                       "containerStatuses": [{"name": "c", "ready": True, "restartCount": 0,
                                              "state": {"running": {}}}]}}


@pytest.fixture()
def ctl() -> SimpleNamespace:
    cache = WatchCache(start_rv=10)
    cache.refresh({"Pod": [pod("a", app="web"), pod("b", phase="Pending", app="db"), pod("c", ns="other")]})
    return SimpleNamespace(watchcache=cache)


def test_negotiation_follows_the_clients_order_and_refuses_what_it_cannot_encode() -> None:
    assert reads.negotiate(KUBECTL_ACCEPT, is_list=True) == reads.Target(reads.TABLE, "v1")
    assert reads.negotiate("application/json;as=Table;v=v1beta1;g=meta.k8s.io", is_list=False).version == "v1beta1"
    assert reads.negotiate("application/json", is_list=True) == reads.Target()
    assert reads.negotiate(None, is_list=True) == reads.Target()
    assert reads.negotiate("*/*", is_list=True) == reads.Target()
    # a preference by q value wins over position
    assert reads.negotiate("application/json;q=0.5,application/json;as=Table;v=v1;g=meta.k8s.io",
                           is_list=True).form == reads.TABLE
    # an unknown Table version falls through to the next range
    assert reads.negotiate("application/json;as=Table;v=v9;g=meta.k8s.io,application/json",
                           is_list=True).form == reads.JSON
    assert reads.negotiate("application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io",
                           is_list=True).form == reads.PARTIAL
    for accept in ("application/vnd.kubernetes.protobuf", "application/json;as=Table;v=v9;g=meta.k8s.io",
                   "application/json;as=PartialObjectMetadata;v=v1;g=meta.k8s.io"):   # the last: not for a list
        with pytest.raises(ApiError) as e:
            reads.negotiate(accept, is_list=True)
        assert e.value.code == 406


def test_lists_select_by_labels_and_fields_and_keep_the_caches_version(ctl) -> None:
    pods = BY_KIND["Pod"]
    body = json.loads(reads.list_body(ctl, pods, "default", {"labelSelector": "app in (web,db)",
                                                             "fieldSelector": "status.phase!=Pending"},
                                      reads.Target()))
    assert body["kind"] == "PodList" and body["metadata"]["resourceVersion"] == "13"
    assert [p["metadata"]["name"] for p in body["items"]] == ["a"]
    every = json.loads(reads.list_body(ctl, pods, None, {}, reads.Target()))
    assert [p["metadata"]["name"] for p in every["items"]] == ["a", "b", "c"]
    assert [p["metadata"]["name"] for p in json.loads(reads.list_body(
        ctl, pods, None, {"labelSelector": "!app"}, reads.Target()))["items"]] == ["c"]
    with pytest.raises(ApiError) as e:
        reads.list_body(ctl, pods, None, {"fieldSelector": "spec.containers=c"}, reads.Target())
    assert e.value.code == 400
    with pytest.raises(ApiError) as e:
        reads.list_body(ctl, pods, None, {"labelSelector": "app in"}, reads.Target())
    assert e.value.code == 400


def test_tables_for_lists_and_single_objects_with_the_object_asked_for(ctl) -> None:
    pods = BY_KIND["Pod"]
    table = json.loads(reads.list_body(ctl, pods, "default", {}, reads.Target(reads.TABLE, "v1beta1")))
    assert table["kind"] == "Table" and table["apiVersion"] == "meta.k8s.io/v1beta1"
    assert [c["name"] for c in table["columnDefinitions"]][:4] == ["Name", "Ready", "Status", "Restarts"]
    assert [r["cells"][:3] for r in table["rows"]] == [["a", "1/1", "Running"], ["b", "1/1", "Pending"]]
    assert table["rows"][0]["object"]["kind"] == "PartialObjectMetadata"
    one = json.loads(reads.get_body(ctl, pods, "default", "a", {"includeObject": "Object"},
                                    reads.Target(reads.TABLE)))
    assert len(one["rows"]) == 1 and one["rows"][0]["object"]["status"]["podIP"] == "10.244.1.5"
    assert one["metadata"]["resourceVersion"] == one["rows"][0]["object"]["metadata"]["resourceVersion"]
    bare = json.loads(reads.get_body(ctl, pods, "default", "a", {"includeObject": "None"}, reads.Target(reads.TABLE)))
    assert "object" not in bare["rows"][0]
    partial = json.loads(reads.list_body(ctl, pods, None, {}, reads.Target(reads.PARTIAL)))
    assert partial["kind"] == "PartialObjectMetadataList" and "spec" not in partial["items"][0]
    with pytest.raises(ApiError) as e:
        reads.get_body(ctl, pods, "other", "a", {}, reads.Target())
    assert e.value.code == 404 and e.value.details == {"name": "a", "group": "", "kind": "pods"}


@pytest.mark.parametrize("selector", ["app in (web", "app in (web,)x", "a b=c", "app=we b", "=web", "app in (we b)"])
def test_malformed_label_selectors_are_400(selector: str) -> None:
    with pytest.raises(ApiError) as e:
        reads.label_matcher(selector)
    assert e.value.code == 400


def test_label_selectors_as_kubectl_sends_them() -> None:
    match = reads.label_matcher("app.kubernetes.io/name in (web,db),tier!=cache,!legacy,env")
    assert match({"app.kubernetes.io/name": "db", "env": "prod"})
    assert not match({"app.kubernetes.io/name": "db", "env": "prod", "legacy": "1"})
    assert not match({"app.kubernetes.io/name": "db"})
    assert reads.label_matcher("")({}) and reads.label_matcher("app=")({"app": ""})


def test_legacy_watch_paths() -> None:
    from netlab.api.paths import strip_legacy_watch

    assert strip_legacy_watch("/api/v1/watch/namespaces/ns/pods") == ("/api/v1/namespaces/ns/pods", True)
    assert strip_legacy_watch("/apis/apps/v1/watch/deployments") == ("/apis/apps/v1/deployments", True)
    assert strip_legacy_watch("/api/v1/namespaces/watch/pods") == ("/api/v1/namespaces/watch/pods", False)
    assert strip_legacy_watch("/healthz") == ("/healthz", False)
