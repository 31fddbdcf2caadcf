"""views.snapshot: every kind's view in one pass; pods counted to their owners by ownerReference."""

from __future__ import annotations

from types import SimpleNamespace

from netlab.api import views
from netlab.compile.workloads import PlacedPod, template_hash
from netlab.runtime.containers import ContainerStatus

NODE = SimpleNamespace(name="n1", pod_cidr="10.244.1.0/24", underlay_ip="172.18.0.2", labels={}, role="worker")
TEMPLATE = {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c", "image": "echo"}]}}


def _controller(ready: dict[str, bool]):
    h = template_hash(TEMPLATE)
    deploy = {"apiVersion": "apps/v1", "kind": "Deployment",
              "metadata": {"name": "web", "namespace": "a", "uid": "d1", "generation": 3},
              "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}}, "template": TEMPLATE}}
    rs = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": "mine", "namespace": "a"},
          "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "x"}}, "template": TEMPLATE}}
    pods = {f"{ns}/web-{h}-{i}": PlacedPod(ns, f"web-{h}-{i}", "n1", f"10.244.1.{i + 2}", f"u{i}", 0.0,
                                           {"app": "web"}, TEMPLATE["spec"], "Deployment/web", h)
            for i, ns in enumerate(["a", "a", "b"])}  # the pod in b has a namesake Deployment it is not of
    pods["a/mine-1"] = PlacedPod("a", "mine-1", "n1", "10.244.1.9", "u9", 0.0, {"app": "x"}, TEMPLATE["spec"],
                                 "ReplicaSet/mine", None)
    running = [ContainerStatus("c", "running", "", None, 0, 1.0, None, 1)]
    return SimpleNamespace(
        state=SimpleNamespace(pod_meta={}, terminating={},
                              objects={"Deployment/a/web": deploy, "ReplicaSet/a/mine": rs},
                              pods=pods,
                              allocations={}),
        supervisor=SimpleNamespace(status=lambda key: running), ready=ready, started=0.0, resolved={},
        ingress=SimpleNamespace(rules=[]), events=[],
        topology=lambda: SimpleNamespace(nodes=[NODE], bridge="", host_ip="", node=lambda name: NODE,
                                        ip_families=("IPv4",)),
        probe_ready=lambda pod, c: True), h


def test_owners_and_readiness_in_one_snapshot():
    ctl, h = _controller({})
    ctl.ready = {f"a/web-{h}-0": True, "a/mine-1": True}
    snap = views.snapshot(ctl, ["Pod", "Deployment", "ReplicaSet", "Node", "Namespace", "Event"])
    assert len(snap["Pod"]) == 4 and snap["Event"] == []
    [deploy] = snap["Deployment"]
    assert deploy["status"]["replicas"] == 2 and deploy["status"]["readyReplicas"] == 1
    assert deploy["status"]["observedGeneration"] == 3
    by_name = {r["metadata"]["name"]: r for r in snap["ReplicaSet"]}
    assert by_name[f"web-{h}"]["status"]["replicas"] == 2
    assert by_name["mine"]["status"] == {"replicas": 1, "fullyLabeledReplicas": 1, "readyReplicas": 1,
                                                 "availableReplicas": 1, "observedGeneration": 1}
    assert [n["metadata"]["name"] for n in snap["Node"]] == ["n1"]
    assert views.snapshot(ctl, ["Deployment"]) == {"Deployment": snap["Deployment"]}


def test_a_snapshot_without_pod_kinds_reads_no_pods():
    ctl, _h = _controller({})
    ctl.supervisor = None  # would fail if pods were looked at
    assert set(views.snapshot(ctl, ["Namespace", "Event"])) == {"Namespace", "Event"}
