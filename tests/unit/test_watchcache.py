"""The watch cache: per-object resourceVersions, a monotonic counter, the change history and 410."""

from __future__ import annotations

import threading
import time

import pytest

from netlab.api.watchcache import ADDED, DELETED, MODIFIED, Gone, WatchCache, parse_rv, select


def pod(name: str, ns: str = "default", phase: str = "Running") -> dict:
    return {"kind": "Pod", "metadata": {"name": name, "namespace": ns}, "status": {"phase": phase}}


def test_only_changed_objects_get_new_versions():
    c = WatchCache(start_rv=100)
    assert c.refresh({"Pod": [pod("a"), pod("b")]}) == 2
    items, rv = c.list("Pod")
    assert rv == 102 and [o["metadata"]["resourceVersion"] for o in items] == ["101", "102"]
    assert c.refresh({"Pod": [pod("a"), pod("b")]}) == 0 and c.rv == 102
    c.refresh({"Pod": [pod("a"), pod("b", phase="Failed")]})
    assert c.get("Pod", "default", "a")["metadata"]["resourceVersion"] == "101"
    assert c.get("Pod", "default", "b")["metadata"]["resourceVersion"] == "103"
    assert c.list("Pod")[1] == 103


def test_a_written_resource_version_is_not_a_change():
    c = WatchCache()
    c.refresh({"Pod": [pod("a")]})
    stale = pod("a")
    stale["metadata"]["resourceVersion"] = "999"
    assert c.refresh({"Pod": [stale]}) == 0
    assert c.get("Pod", "default", "a")["metadata"]["resourceVersion"] == "1"


def test_history_types_kinds_and_namespaces():
    c = WatchCache()
    c.refresh({"Pod": [pod("a"), pod("x", "other")], "Service": [{"kind": "Service", "metadata": {"name": "s"}}]})
    start = c.rv
    c.refresh({"Pod": [pod("a", phase="Succeeded")]})   # x is gone; Services untouched
    changes = c.events_since("Pod", None, start)
    assert [(ch.type, ch.object["metadata"]["name"]) for ch in changes] == [(MODIFIED, "a"), (DELETED, "x")]
    assert [int(ch.object["metadata"]["resourceVersion"]) for ch in changes] == [start + 1, start + 2]
    assert [ch.type for ch in c.events_since("Pod", "other", start)] == [DELETED]
    assert c.events_since("Service", None, start) == []
    assert c.list("Service")[0][0]["metadata"]["name"] == "s"
    assert c.list("Pod", "other")[0] == []


def test_too_old_resource_version_is_gone():
    c = WatchCache(history=3)
    for i in range(5):
        c.refresh({"Pod": [pod("a", phase=str(i))]})
    assert len(c.events_since("Pod", None, 2)) == 3
    with pytest.raises(Gone) as e:
        c.events_since("Pod", None, 1)
    assert e.value.code == 410 and e.value.reason == "Expired"
    assert "too old resource version: 1" in str(e.value)


def test_watch_start_sends_current_objects_without_a_version():
    c = WatchCache()
    c.refresh({"Pod": [pod("b"), pod("a")]})
    for rv in (None, "", "0", 0):
        changes, now = c.start_watch("Pod", None, rv)
        assert [(ch.type, ch.object["metadata"]["name"]) for ch in changes] == [(ADDED, "a"), (ADDED, "b")]
        assert now == 2
    c.refresh({"Pod": [pod("a")]})
    changes, now = c.start_watch("Pod", None, "2")
    assert [ch.type for ch in changes] == [DELETED] and now == 3
    with pytest.raises(Exception) as e:
        parse_rv("abc")
    assert e.value.code == 400


def test_wait_past_wakes_on_a_change_and_listeners_hear_it():
    c = WatchCache()
    heard = []
    c.add_listener(heard.append)
    threading.Timer(0.05, lambda: c.refresh({"Pod": [pod("a")]})).start()
    t0 = time.monotonic()
    assert c.wait_past(0, timeout=5) == 1
    assert time.monotonic() - t0 < 2
    assert c.wait_past(1, timeout=0.05) == 1  # nothing new: times out
    assert heard == [1]
    c.remove_listener(heard.append)
    c.refresh({"Pod": []})
    assert heard == [1]


def test_events_keep_their_order_of_change():
    c = WatchCache()
    e1 = {"kind": "Event", "metadata": {"name": "z.1", "namespace": "default"}, "count": 1}
    e2 = {"kind": "Event", "metadata": {"name": "a.2", "namespace": "default"}, "count": 1}
    c.refresh({"Event": [e1, e2]})
    c.refresh({"Event": [{**e1, "count": 2}, e2]})
    assert [e["metadata"]["name"] for e in c.list("Event")[0]] == ["a.2", "z.1"]


def test_a_selector_watch_sees_objects_enter_and_leave():
    c = WatchCache()
    c.refresh({"Pod": [pod("a", phase="Pending"), pod("b", phase="Running")]})
    c.refresh({"Pod": [pod("a", phase="Running"), pod("b", phase="Failed")]})
    c.refresh({"Pod": [pod("b", phase="Running")]})
    running = select(c.events_since("Pod", None, 2), lambda o: o["status"]["phase"] == "Running")
    assert [(ch.type, ch.object["metadata"]["name"]) for ch in running] == [
        (ADDED, "a"), (DELETED, "b"), (ADDED, "b"), (DELETED, "a")]
