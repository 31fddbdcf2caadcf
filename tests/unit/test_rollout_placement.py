"""Rollouts through the placement entry: a template change at apply time only adds pods; ticks with
readiness remove old ones step by step; old pods keep their own spec; views of status and ReplicaSets."""

from __future__ import annotations

import copy
import random

from netlab.compile import rollout, workloads
from netlab.compile.config import ClusterConfig
from netlab.compile.desired import placement

CONFIG = ClusterConfig.from_manifest({"spec": {"nodes": [{"role": "control-plane"}, {"role": "worker"}]}}, "t")
NODES = CONFIG.topology().nodes


def deploy(image: str, replicas: int = 4, **spec) -> dict:
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "default", "uid": "u1", "generation": 1},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}},
                     "template": {"metadata": {"labels": {"app": "web"}},
                                  "spec": {"containers": [{"name": "c", "image": image}]}}, **spec}}


def step(objects, pods, now, ready_since=None):
    return placement(objects, pods, NODES, random.Random(int(now)), {}, now, ready_since)


def test_a_rolling_update_goes_step_by_step_to_all_new_pods():
    v1 = {"Deployment/default/web": deploy("v1")}
    pods = step(v1, {}, 1.0)
    assert len(pods) == 4 and {p.revision for p in pods.values()} == {1}
    v2 = {"Deployment/default/web": deploy("v2", strategy={"rollingUpdate": {"maxSurge": 1, "maxUnavailable": 1}})}
    new_hash = workloads.template_hash(v2["Deployment/default/web"]["spec"]["template"])
    pods = step(v2, pods, 2.0)  # apply: readiness unknown, surge only
    assert len(pods) == 5
    old = [p for p in pods.values() if p.template_hash != new_hash]
    assert len(old) == 4 and all(p.spec["containers"][0]["image"] == "v1" for p in old)
    assert {p.revision for p in pods.values() if p.template_hash == new_hash} == {2}
    for now in range(3, 20):
        ready = {k: 0.0 for k in pods}  # every pod ready once it exists one tick
        if not workloads.rollout_pending(v2.values(), pods, ready, float(now)):
            break
        before = {k for k, p in pods.items() if p.template_hash != new_hash}
        pods = step(v2, pods, float(now), ready)
        available = sum(1 for k in pods if k in ready)
        assert available >= 3 and len(pods) <= 5
        assert {k for k, p in pods.items() if p.template_hash != new_hash} <= before
    assert len(pods) == 4 and all(p.template_hash == new_hash for p in pods.values())
    assert all(p.spec["containers"][0]["image"] == "v2" for p in pods.values())


def test_restarted_at_annotation_is_a_template_change():
    v1 = {"Deployment/default/web": deploy("v1", replicas=2)}
    pods = step(v1, {}, 1.0)
    restarted = copy.deepcopy(v1)
    restarted["Deployment/default/web"]["spec"]["template"]["metadata"]["annotations"] = {
        "kubectl.kubernetes.io/restartedAt": "2026-12-01T18:00:00Z"}
    assert workloads.rollout_pending(restarted.values(), pods, {k: 0.0 for k in pods}, 5.0)
    assert len(step(restarted, pods, 2.0)) == 3


def test_status_and_replicasets_views():
    v1 = {"Deployment/default/web": deploy("v1", replicas=2)}
    pods = step(v1, {}, 1.0)
    v2 = {"Deployment/default/web": deploy("v2", replicas=2)}
    pods = step(v2, pods, 2.0)
    ready = {k: 1.0 for k, p in pods.items() if p.revision == 1}
    d = v2["Deployment/default/web"]
    status = workloads.deployment_statuses(v2.values(), pods, ready, 3.0, {})["default/web"]
    assert (status["replicas"], status["updatedReplicas"], status["availableReplicas"]) == (3, 1, 2)
    sets = workloads.replicasets(d, pods, ready, 3.0)
    by_rev = {rs["metadata"]["annotations"][rollout.REVISION_ANNOTATION]: rs for rs in sets}
    assert by_rev["1"]["spec"]["template"]["spec"]["containers"][0]["image"] == "v1"
    assert by_rev["2"]["spec"]["template"]["spec"]["containers"][0]["image"] == "v2"
    assert (by_rev["1"]["status"]["availableReplicas"], by_rev["2"]["status"]["replicas"]) == (2, 1)
    events = workloads.scaling_events(v2.values(), {}, pods)
    assert [o for o, _ in events] == ["Deployment default/web"] * 2


def test_recreate_replaces_everything_in_one_step():
    v1 = {"Deployment/default/web": deploy("v1", replicas=3, strategy={"type": "Recreate"})}
    pods = step(v1, {}, 1.0)
    v2 = {"Deployment/default/web": deploy("v2", replicas=3, strategy={"type": "Recreate"})}
    after = step(v2, pods, 2.0)
    assert len(after) == 3 and not set(after) & set(pods)
