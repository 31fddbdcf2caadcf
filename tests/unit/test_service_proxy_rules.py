"""Services as kube-proxy and the endpoints controller treat them: proxy-name labels, terminated pods."""

from __future__ import annotations

import pytest

from netlab.api import views
from netlab.compile.endpoint_objects import endpoints_object
from netlab.compile.nft_services import services_ruleset
from netlab.compile.services import Allocation, resolve
from netlab.compile.workloads import PlacedPod
from netlab.runtime.containers import ContainerStatus


def _pod(name: str, ip: str) -> PlacedPod:
    return PlacedPod("default", name, "lab-worker", ip, name, 0.0, {"app": "web"},
                     {"containers": [{"name": "c", "ports": [{"containerPort": 8080}]}]})


def _svc(labels: dict | None = None, publish_not_ready: bool = False, type_: str = "NodePort") -> dict:
    return {"kind": "Service", "metadata": {"name": "web", "namespace": "default", "labels": labels or {}},
            "spec": {"type": type_, "selector": {"app": "web"}, "publishNotReadyAddresses": publish_not_ready,
                     "ports": [{"port": 80, "targetPort": 8080}]}}


ALLOC = Allocation("10.96.0.50", {"80/TCP": 30080})
PODS = [_pod("a", "10.244.1.2"), _pod("b", "10.244.1.3")]


def _elements(svc: dict, ready: dict, terminated: frozenset = frozenset()) -> dict[str, frozenset]:
    rs = services_ruleset("lab-worker", ["172.18.0.3"], "10.244.0.0/16",
                          [resolve(svc, ALLOC, PODS, ready, None, terminated)])
    return {name: s.elements for name, s in rs.sets.items()
            if name in ("service-ips", "service-nodeports", "no-endpoint-services", "no-endpoint-nodeports",
                        "cluster-ips")}


@pytest.mark.parametrize("label", ["service.kubernetes.io/service-proxy-name", "service.kubernetes.io/headless"])
@pytest.mark.parametrize("ready", [True, False])
def test_a_service_labelled_for_another_proxy_gets_no_rules_but_keeps_its_endpoints(label, ready):
    svc = _svc({label: ""})
    readiness = {"default/a": ready, "default/b": ready}
    assert not any(_elements(svc, readiness).values()), "no DNAT, no reject, not even the ClusterIP check"
    rs = resolve(svc, ALLOC, PODS, readiness)
    assert not rs.proxied and [e.ip for e in rs.endpoints] == ["10.244.1.2", "10.244.1.3"]
    # removing the label brings the rules back
    back = _elements(_svc({"app": "x"}), readiness)
    assert back["cluster-ips"] == {"10.96.0.50"}
    assert (back["service-ips"] if ready else back["no-endpoint-services"])


def test_terminated_pods_are_never_endpoints_even_when_publishing_not_ready():
    svc = _svc(publish_not_ready=True)
    both = resolve(svc, ALLOC, PODS, {"default/a": False, "default/b": False})
    assert [e.ip for e in both.endpoints] == ["10.244.1.2", "10.244.1.3"], "not ready but published"
    one = resolve(svc, ALLOC, PODS, {}, None, frozenset({"default/a"}))
    assert [e.ip for e in one.endpoints] == ["10.244.1.3"]
    assert endpoints_object(one, None)["subsets"][0]["addresses"] == [
        {"ip": "10.244.1.3", "nodeName": "lab-worker", "targetRef": {"kind": "Pod", "namespace": "default",
                                                                      "name": "b"}}]


def test_a_service_whose_pods_all_terminated_rejects_at_once():
    sets = _elements(_svc(publish_not_ready=True), {}, frozenset({"default/a", "default/b"}))
    assert sets["service-ips"] == frozenset() and sets["service-nodeports"] == frozenset()
    assert sets["no-endpoint-services"] == {"10.96.0.50 . tcp . 80 : goto reject-chain"}
    assert sets["no-endpoint-nodeports"] == {"tcp . 30080 : goto reject-chain"}


def _status(state: str, exit_code: int | None = None) -> ContainerStatus:
    return ContainerStatus("c", state, "", exit_code, 0, 1.0 if state != "waiting" else None, None, None)


@pytest.mark.parametrize(("policy", "statuses", "terminated"), [
    ("Never", [_status("terminated", 0)], True),          # Succeeded
    ("Never", [_status("terminated", 3)], True),          # Failed
    ("OnFailure", [_status("terminated", 0)], True),      # Succeeded
    ("OnFailure", [_status("terminated", 3)], False),     # restarts: Running
    ("Always", [_status("terminated", 0)], False),        # restarts
    ("Never", [_status("terminated", 0), _status("running")], False),
    ("Never", [], False),                                 # Pending
])
def test_which_pods_have_terminated(policy, statuses, terminated):
    assert views.has_terminated(statuses, policy) is terminated
