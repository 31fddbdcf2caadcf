"""core/v1 Events as the controller records them: components, aggregation, bounds."""

from __future__ import annotations

from netlab.runtime import events as ev
from netlab.runtime.events import EventLog, Involved, kubelet_events, parse_object


def clock(times):
    it = iter(times)
    return lambda: next(it)


def test_an_event_is_a_core_v1_event_about_its_object():
    log = EventLog(clock=clock([1000.0]))
    pod = Involved("Pod", "web-1", "shop", "uid-1")
    e = log.record(pod, "Scheduled", "Successfully assigned shop/web-1 to node-1", component=ev.SCHEDULER)
    assert e["metadata"]["namespace"] == "shop" and e["metadata"]["name"].startswith("web-1.")
    int(e["metadata"]["name"].split(".", 1)[1], 16)
    assert e["involvedObject"] == {"kind": "Pod", "name": "web-1", "namespace": "shop", "uid": "uid-1",
                                   "apiVersion": "v1"}
    assert (e["type"], e["count"], e["eventTime"]) == ("Normal", 1, None)
    assert e["source"] == {"component": "default-scheduler"} and e["reportingComponent"] == "default-scheduler"
    assert e["firstTimestamp"] == e["lastTimestamp"] == "1970-01-01T00:16:40Z"


def test_repeats_aggregate_and_warnings_are_typed():
    log = EventLog(clock=clock([10.0, 20.0, 30.0]))
    pod = Involved("Pod", "p", "default")
    first = log.record(pod, "Unhealthy", "Readiness probe failed: HTTP 500", component=ev.KUBELET, host="n1")
    again = log.record(pod, "Unhealthy", "Readiness probe failed: HTTP 500", component=ev.KUBELET, host="n1")
    other = log.record(pod, "Unhealthy", "Liveness probe failed: HTTP 500", component=ev.KUBELET, host="n1")
    assert first["type"] == "Warning" and first["count"] == 1  # the first dict is not changed in place
    assert again["metadata"]["name"] == first["metadata"]["name"] and again["count"] == 2
    assert again["firstTimestamp"] != again["lastTimestamp"]
    assert other["metadata"]["name"] != first["metadata"]["name"]
    assert [e["count"] for e in log.items] == [2, 1] and again["source"]["host"] == "n1"


def test_the_log_keeps_the_last_n_by_last_occurrence():
    log = EventLog(maxlen=2, clock=clock([float(i) for i in range(10)]))
    a, b, c = (Involved("Pod", n, "default") for n in "abc")
    log.record(a, "R", "m")
    log.record(b, "R", "m")
    log.record(a, "R", "m")   # a is now the most recent
    log.record(c, "R", "m")   # b goes
    assert [e["involvedObject"]["name"] for e in log.items] == ["a", "c"]
    log.record(b, "R", "m")
    assert log.items[-1]["count"] == 1 and len(log) == 2


def test_kubelet_phrasing():
    assert [r for r, _ in kubelet_events("Started", "app", "Started container app (pid 9)", "echo")] == [
        "Pulled", "Created", "Started"]
    assert kubelet_events("Started", "app", "", "echo")[2][1] == "Started container app"
    assert kubelet_events("BackOff", "app", "Back-off 10s restarting failed container app", "e", "ns_p") == [
        ("BackOff", "Back-off restarting failed container app in pod ns_p")]
    assert kubelet_events("Killing", "app", "Stopping container app", "e") == [("Killing", "Stopping container app")]


def test_objects_named_in_kernel_messages():
    assert parse_object("", "node node-1: route added") == ("Node", "node-1", "route added")
    assert parse_object("", "pod a/b: veth up") == ("Pod", "a/b", "veth up")
    assert parse_object("", "something else") == ("", "", "something else")
    assert parse_object("Service d/s", "x") == ("Service", "d/s", "x")


def test_a_deleted_namespace_takes_its_events():
    log = EventLog()
    log.record(Involved("Pod", "a", "gone"), "R", "m")
    log.record(Involved("Pod", "b", "kept"), "R", "m")
    log.drop_namespace("gone")
    assert [e["metadata"]["namespace"] for e in log.items] == ["kept"]
    assert log.record(Involved("Pod", "a", "gone"), "R", "m")["count"] == 1


def test_a_container_event_names_the_container():
    log = EventLog()
    e = log.record(Involved("Pod", "p", "d", "u").part("spec.containers{app}"), "Started", "Started container app",
                   component=ev.KUBELET)
    assert e["involvedObject"]["fieldPath"] == "spec.containers{app}" and e["involvedObject"]["uid"] == "u"
