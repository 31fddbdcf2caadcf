"""Watches over the real HTTPS server (a fake controller with a real watch cache): event order, selectors,
Table rows, 410 as an ERROR event, watch-list bookmarks, and a stream that ends on its timeout or when the
client leaves, with no thread and no cache listener left behind."""

from __future__ import annotations

import http.client
import json
import threading
import time
from collections.abc import Iterator
from types import SimpleNamespace

import pytest

from netlab.api import pki as pkimod
from netlab.api.client import client_ssl_context
from netlab.api.server import ApiServer
from netlab.api.watchcache import WatchCache

WORKER_PREFIX = "netlab-api"   # the API server's event-loop thread and its worker pool (api/server.py)

TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"
PODS = "/api/v1/namespaces/default/pods"


def pod(name: str, phase: str = "Pending", **labels: str) -> dict:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": "default", "labels": labels,
                         "creationTimestamp": "2026-01-01T00:00:00Z"},
            "spec": {"containers": [{"name": "c", "image": "echo"}]}, "status": {"phase": phase}}


@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> pkimod.Pki:
    return pkimod.ensure(tmp_path_factory.mktemp("pki"), ["127.0.0.1"])


@pytest.fixture()
def api(pki) -> Iterator[SimpleNamespace]:
    cache = WatchCache(start_rv=100, history=6)
    cache.refresh({"Pod": [pod("a", app="web")]})
    ctl = SimpleNamespace(watchcache=cache, state=SimpleNamespace(cluster={}, addons=[], pods={}))
    server = ApiServer(ctl, pki)
    port = server.start("127.0.0.1", 0)
    try:
        yield SimpleNamespace(cache=cache, port=port, ctx=client_ssl_context(pki))
    finally:
        server.stop()


def open_watch(api, query: str, accept: str = "application/json", path: str = PODS) -> http.client.HTTPResponse:
    conn = http.client.HTTPSConnection("127.0.0.1", api.port, context=api.ctx, timeout=10)
    conn.request("GET", f"{path}?{query}", headers={"Accept": accept})
    resp = conn.getresponse()
    assert resp.status == 200, resp.read()
    resp.conn = conn   # type: ignore[attr-defined]
    return resp


def events(resp: http.client.HTTPResponse, count: int) -> list[dict]:
    return [json.loads(resp.readline()) for _ in range(count)]


def until(predicate, timeout: float = 5.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


def test_changes_stream_in_order_and_selectors_see_objects_enter_and_leave(api) -> None:
    everything = open_watch(api, "watch=1&resourceVersion=101")
    selected = open_watch(api, "watch=true&resourceVersion=101&labelSelector=app%3Dweb")
    assert until(lambda: len(api.cache._listeners) == 2)
    api.cache.refresh({"Pod": [pod("a", "Running", app="web"), pod("b", app="db")]})
    api.cache.refresh({"Pod": [pod("a", "Running", app="db"), pod("b", app="db")]})
    api.cache.refresh({"Pod": [pod("b", app="db")]})
    seen = [(e["type"], e["object"]["metadata"]["name"], e["object"]["metadata"]["resourceVersion"])
            for e in events(everything, 4)]
    assert seen == [("MODIFIED", "a", "102"), ("ADDED", "b", "103"), ("MODIFIED", "a", "104"),
                    ("DELETED", "a", "105")]
    # a left the selection (labels changed): DELETED for this watch, and nothing about b
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in events(selected, 2)] == [
        ("MODIFIED", "a"), ("DELETED", "a")]
    for resp in (everything, selected):
        resp.conn.close()


def test_a_watch_without_a_version_starts_with_the_current_objects_as_table_rows(api) -> None:
    resp = open_watch(api, "watch=1&timeoutSeconds=3", accept=TABLE)
    [first] = events(resp, 1)
    assert first["type"] == "ADDED" and first["object"]["kind"] == "Table"
    assert first["object"]["rows"][0]["cells"][0] == "a"
    assert first["object"]["rows"][0]["object"]["kind"] == "PartialObjectMetadata"
    assert [c["name"] for c in first["object"]["columnDefinitions"]][:3] == ["Name", "Ready", "Status"]
    api.cache.refresh({"Pod": [pod("a", "Running", app="web")]})
    [second] = events(resp, 1)   # as upstream: the column definitions come with the first Table only
    assert second["type"] == "MODIFIED" and second["object"]["columnDefinitions"] == []
    assert second["object"]["rows"][0]["cells"][:3] == ["a", "0/1", "Running"]
    resp.conn.close()


def test_the_stream_ends_on_its_timeout_and_leaves_no_listener_or_thread(api) -> None:
    threads = threading.active_count()
    start = time.monotonic()
    resp = open_watch(api, "watch=1&resourceVersion=101&timeoutSeconds=1")
    assert resp.read() == b""   # the chunked body ends cleanly
    assert 0.9 < time.monotonic() - start < 3
    assert until(lambda: api.cache._listeners == [])
    assert threading.active_count() <= threads + 1   # at most a worker thread of the pool, no watch thread
    resp.conn.close()


def test_a_client_that_leaves_ends_its_watch(api) -> None:
    watches = [open_watch(api, "watch=1&resourceVersion=101") for _ in range(20)]
    assert until(lambda: len(api.cache._listeners) == 20)
    threads = _threads_beside_the_pool()
    for resp in watches:
        resp.close()
        resp.conn.close()
    assert until(lambda: api.cache._listeners == [], timeout=5)
    assert until(lambda: _threads_beside_the_pool() <= threads, timeout=5)


def _threads_beside_the_pool() -> set[threading.Thread]:
    """Every thread but the API's worker pool's, which starts its threads lazily and keeps them."""
    return {t for t in threading.enumerate() if not t.name.startswith(WORKER_PREFIX)}


def test_a_stale_version_is_one_error_event_with_410(api) -> None:
    for phase in "stuvwxyz":
        api.cache.refresh({"Pod": [pod("a", phase)]})
    resp = open_watch(api, "watch=1&resourceVersion=101")
    [event] = events(resp, 1)
    assert event["type"] == "ERROR" and event["object"]["code"] == 410 and event["object"]["reason"] == "Expired"
    assert resp.read() == b""
    resp.conn.close()


def test_watch_list_sends_the_objects_then_a_bookmark_marking_their_end(api) -> None:
    resp = open_watch(api, "watch=1&sendInitialEvents=true&allowWatchBookmarks=true&resourceVersionMatch="
                      "NotOlderThan&resourceVersion=&timeoutSeconds=2")
    added, bookmark = events(resp, 2)
    assert added["type"] == "ADDED" and added["object"]["metadata"]["name"] == "a"
    assert bookmark["type"] == "BOOKMARK" and bookmark["object"]["kind"] == "Pod"
    assert bookmark["object"]["metadata"] == {"resourceVersion": "101",
                                              "annotations": {"k8s.io/initial-events-end": "true"}}
    resp.conn.close()


def test_the_legacy_watch_path_and_a_watch_on_one_object(api) -> None:
    legacy = open_watch(api, "resourceVersion=101&timeoutSeconds=2", path="/api/v1/watch/namespaces/default/pods")
    single = open_watch(api, "watch=1&resourceVersion=101&timeoutSeconds=2", path=PODS + "/b")
    api.cache.refresh({"Pod": [pod("a", app="web"), pod("b")]})
    assert [e["object"]["metadata"]["name"] for e in events(legacy, 1)] == ["b"]
    assert [e["object"]["metadata"]["name"] for e in events(single, 1)] == ["b"]
    for resp in (legacy, single):
        resp.conn.close()


def test_an_event_reaches_the_client_quickly(api) -> None:
    resp = open_watch(api, "watch=1&resourceVersion=101&timeoutSeconds=5")
    assert until(lambda: len(api.cache._listeners) == 1)
    start = time.monotonic()
    api.cache.refresh({"Pod": [pod("a", "Running")]})
    events(resp, 1)
    assert time.monotonic() - start < 0.5
    resp.conn.close()


def test_stopping_the_server_ends_open_watches_and_the_cache_keeps_working(pki) -> None:
    cache = WatchCache(start_rv=1)
    cache.refresh({"Pod": [pod("a")]})
    server = ApiServer(SimpleNamespace(watchcache=cache, state=SimpleNamespace(cluster={}, addons=[], pods={})), pki)
    port = server.start("127.0.0.1", 0)
    api = SimpleNamespace(cache=cache, port=port, ctx=client_ssl_context(pki))
    resp = open_watch(api, "watch=1")
    assert events(resp, 1)[0]["type"] == "ADDED"
    start = time.monotonic()
    server.stop()
    assert time.monotonic() - start < 5 and resp.read() == b""
    assert cache._listeners == []
    cache.refresh({"Pod": [pod("a", "Running")]})   # a feeding controller is not disturbed
    resp.conn.close()


def test_bookmarks_come_periodically_when_allowed(api, monkeypatch) -> None:
    from netlab.api import watch_stream

    monkeypatch.setattr(watch_stream, "BOOKMARK_INTERVAL", 0.3)
    resp = open_watch(api, "watch=1&resourceVersion=101&allowWatchBookmarks=true&timeoutSeconds=5")
    api.cache.refresh({"Pod": [pod("a", "Running", app="web")]})
    modified, bookmark = events(resp, 2)
    assert modified["type"] == "MODIFIED"
    assert bookmark == {"type": "BOOKMARK", "object": {"kind": "Pod", "apiVersion": "v1",
                                                       "metadata": {"resourceVersion": "102"}}}
    plain = open_watch(api, "watch=1&resourceVersion=102&timeoutSeconds=1")
    assert plain.read() == b""   # no bookmarks unless asked for
    for r in (resp, plain):
        r.conn.close()
