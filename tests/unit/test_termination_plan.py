"""Graceful termination, the pure parts: grace periods, the kubelet's steps (preStop, SIGTERM, SIGKILL),
terminating endpoints (EndpointSlice conditions, Endpoints, kube-proxy's serving fallback, kept flows)."""

from __future__ import annotations

from netlab.compile import termination as plan
from netlab.compile.endpoint_objects import endpoints_object, endpointslice_object
from netlab.compile.services import Allocation, resolve, serving_endpoints
from netlab.compile.stale_flows import StaleFlow, stale_flows
from netlab.compile.workloads import PlacedPod


def _pod(name: str, ip: str, spec: dict | None = None, labels: dict | None = None) -> PlacedPod:
    return PlacedPod("default", name, "w1", ip, f"uid-{name}", 0.0, labels or {"app": "web"},
                     spec or {"containers": [{"name": "c", "ports": [{"containerPort": 3000}]}]})


def _svc(protocol: str = "TCP", publish: bool = False) -> dict:
    return {"metadata": {"name": "web", "namespace": "default"},
            "spec": {"selector": {"app": "web"}, "publishNotReadyAddresses": publish,
                     "ports": [{"port": 80, "targetPort": 3000, "protocol": protocol}]}}


def test_grace_period_from_delete_options_then_spec_then_default():
    assert plan.grace_period({}) == 30
    assert plan.grace_period({"terminationGracePeriodSeconds": 5}) == 5
    assert plan.grace_period({"terminationGracePeriodSeconds": 5}, 1) == 1
    assert plan.grace_period({"terminationGracePeriodSeconds": 5}, 0) == 0
    assert plan.grace_period({}, -1) == 0


def test_pre_stop_hooks_of_each_container():
    spec = {"containers": [{"name": "a", "lifecycle": {"preStop": {"exec": {"command": ["true"]}}}},
                           {"name": "b", "lifecycle": {"postStart": {"exec": {"command": ["true"]}}}},
                           {"name": "c", "lifecycle": {"preStop": {"sleep": {"seconds": 3}}}}]}
    assert sorted(plan.pre_stop_hooks(spec)) == ["a", "c"]


def test_hook_first_then_sigterm_then_sigkill_at_the_deadline():
    spec = {"containers": [{"name": "a", "lifecycle": {"preStop": {"sleep": {"seconds": 3}}}}, {"name": "b"}]}
    t = plan.Termination(_pod("p", "10.244.1.2", spec), since=100.0, grace=10)
    s = plan.step(t, {"a", "b"}, 100.0)
    assert s == plan.Step(run_hooks=("a",), sigterm=("b",))   # b has no hook: SIGTERM at once
    t.hooks_started.add("a")
    t.sigterm["b"] = 100.0
    assert plan.step(t, {"a", "b"}, 101.0) == plan.Step()   # a's hook runs; b drains
    t.hooks_done.add("a")
    assert plan.step(t, {"a", "b"}, 103.0) == plan.Step(sigterm=("a",))
    t.sigterm["a"] = 103.0
    assert plan.step(t, {"a", "b"}, 109.9) == plan.Step()
    assert plan.step(t, {"a", "b"}, 110.0) == plan.Step(sigkill=("a", "b"))


def test_a_hook_that_takes_the_whole_period_still_leaves_two_seconds_after_sigterm():
    spec = {"containers": [{"name": "a", "lifecycle": {"preStop": {"sleep": {"seconds": 60}}}}]}
    t = plan.Termination(_pod("p", "10.244.1.2", spec), since=0.0, grace=5, hooks_started={"a"})
    assert plan.step(t, {"a"}, 5.0) == plan.Step(sigterm=("a",))   # past the deadline: the hook is given up
    t.sigterm["a"] = 5.0
    assert plan.step(t, {"a"}, 6.0) == plan.Step()
    assert plan.step(t, {"a"}, 7.0) == plan.Step(sigkill=("a",))


def test_progress_survives_a_controller_restart_and_a_started_hook_is_not_run_again():
    spec = {"containers": [{"name": "a", "lifecycle": {"preStop": {"exec": {"command": ["true"]}}}}]}
    t = plan.Termination(_pod("p", "10.244.1.2", spec), since=50.0, grace=30, hooks_started={"a"})
    back = plan.Termination.from_dict(t.to_dict())
    assert back.pod == t.pod and back.deadline == 80.0
    assert plan.step(back, {"a"}, 51.0) == plan.Step(sigterm=("a",))


def test_terminating_endpoint_conditions_and_endpoints_object():
    pods = [_pod("a", "10.244.1.2"), _pod("b", "10.244.1.3")]
    svc = resolve(_svc(), Allocation(cluster_ip="10.96.0.20"), pods, {"default/a": True, "default/b": True},
                  terminating=frozenset({"default/a"}))
    conditions = {e["targetRef"]["name"]: e["conditions"] for e in endpointslice_object(svc, None)["endpoints"]}
    assert conditions == {"a": {"ready": False, "serving": True, "terminating": True},
                          "b": {"ready": True, "serving": True, "terminating": False}}
    subsets = endpoints_object(svc, None)["subsets"]
    assert [a["ip"] for s in subsets for a in s.get("addresses", []) + s.get("notReadyAddresses", [])] == [
        "10.244.1.3"]
    # not Ready while terminating: serving false
    svc = resolve(_svc(), Allocation(cluster_ip="10.96.0.20"), pods, {"default/b": True},
                  terminating=frozenset({"default/a"}))
    assert endpointslice_object(svc, None)["endpoints"][0]["conditions"] == {
        "ready": False, "serving": False, "terminating": True}


def test_publish_not_ready_lists_terminating_endpoints_as_ready():
    pods = [_pod("a", "10.244.1.2")]
    svc = resolve(_svc(publish=True), Allocation(cluster_ip="10.96.0.20"), pods, {"default/a": True},
                  terminating=frozenset({"default/a"}))
    assert endpointslice_object(svc, None)["endpoints"][0]["conditions"]["ready"] is True
    assert endpoints_object(svc, None)["subsets"][0]["addresses"][0]["ip"] == "10.244.1.2"


def test_terminating_endpoints_serve_only_when_no_ready_one_is_left():
    pods = [_pod("a", "10.244.1.2"), _pod("b", "10.244.1.3"), _pod("c", "10.244.1.4")]
    ready = {"default/a": True, "default/b": True, "default/c": False}
    svc = resolve(_svc(), Allocation(cluster_ip="10.96.0.20"), pods, ready, terminating=frozenset({"default/a"}))
    assert [e.ip for e in serving_endpoints(svc, svc.ports[0])] == ["10.244.1.3"]
    svc = resolve(_svc(), Allocation(cluster_ip="10.96.0.20"), pods, ready,
                  terminating=frozenset({"default/a", "default/b"}))
    assert [e.ip for e in serving_endpoints(svc, svc.ports[0])] == ["10.244.1.2", "10.244.1.3"]
    ready["default/b"] = False   # terminating and not serving: never used
    svc = resolve(_svc(), Allocation(cluster_ip="10.96.0.20"), pods, ready,
                  terminating=frozenset({"default/a", "default/b"}))
    assert [e.ip for e in serving_endpoints(svc, svc.ports[0])] == ["10.244.1.2"]


def test_udp_flows_to_a_draining_endpoint_are_kept_until_it_is_gone():
    pods = [_pod("a", "10.244.1.2"), _pod("b", "10.244.1.3")]
    ready = {"default/a": True, "default/b": True}
    alloc = Allocation(cluster_ip="10.96.0.20")
    before = resolve(_svc("UDP"), alloc, pods, ready)
    draining = resolve(_svc("UDP"), alloc, pods, ready, terminating=frozenset({"default/a"}))
    assert stale_flows([before], [draining]) == []
    gone = resolve(_svc("UDP"), alloc, pods[1:], ready)
    assert stale_flows([draining], [gone]) == [StaleFlow("10.96.0.20", 80, "10.244.1.2")]
