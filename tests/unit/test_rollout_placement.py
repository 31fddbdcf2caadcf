"""Rollouts through the placement entry: a template change at apply time only adds pods; ticks with
readiness remove old ones step by step; old pods keep their own spec; views of status and ReplicaSets."""

from __future__ import annotations

import copy
import random

from netlab.compile import replicasets, rollout, workloads
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
    sets = replicasets.replicasets(d, {}, pods, ready, 3.0)
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


def _settle(objects, pods, now):
    """Roll out to the end, every pod ready at once."""
    for tick in range(30):
        ready = {k: 0.0 for k in pods}
        if not workloads.rollout_pending(objects.values(), pods, ready, now + tick):
            return pods
        pods = step(objects, pods, now + tick, ready)
    raise AssertionError("the rollout did not finish")


def test_history_keeps_old_replicasets_at_zero_and_prunes_to_the_limit():
    history, pods = {}, {}
    for i, image in enumerate(["v1", "v2", "v3", "v4"]):
        objects = {"Deployment/default/web": deploy(image, replicas=2, revisionHistoryLimit=2)}
        pods = _settle(objects, step(objects, pods, 10.0 * i), 10.0 * i)
        history = replicasets.history(objects.values(), pods, history, 10.0 * i + 5)
    records = history["default/web"]
    assert sorted(r["revision"] for r in records.values()) == [2, 3, 4]  # current + 2 old
    sets = replicasets.replicasets(objects["Deployment/default/web"], records, pods, {}, 50.0)
    by_rev = {int(rs["metadata"]["annotations"][rollout.REVISION_ANNOTATION]): rs for rs in sets}
    assert {r: rs["spec"]["replicas"] for r, rs in by_rev.items()} == {2: 0, 3: 0, 4: 2}
    assert by_rev[2]["spec"]["template"]["spec"]["containers"][0]["image"] == "v2"


def test_a_template_that_comes_back_gets_the_next_revision():
    v1, v2 = ({"Deployment/default/web": deploy(image, replicas=1)} for image in ("v1", "v2"))
    pods = _settle(v1, step(v1, {}, 0.0), 0.0)
    history = replicasets.history(v1.values(), pods, {}, 1.0)
    pods = _settle(v2, step(v2, pods, 10.0), 10.0)
    history = replicasets.history(v2.values(), pods, history, 11.0)
    pods = _settle(v1, step(v1, pods, 20.0), 20.0)  # rollout undo: v1's template again
    history = replicasets.history(v1.values(), pods, history, 21.0)
    thash = workloads.template_hash(v1["Deployment/default/web"]["spec"]["template"])
    assert history["default/web"][thash]["revision"] == 3
    assert {p.revision for p in pods.values()} == {3}
    assert replicasets.history({}.values(), pods, history, 22.0) == {}  # Deployment gone: history gone


def test_describe_names_the_new_replicaset_and_the_old_ones_with_pods():
    from netlab.cli import printers

    v1 = {"Deployment/default/web": deploy("v1", replicas=2)}
    pods = step(v1, {}, 1.0)
    history = replicasets.history(v1.values(), pods, {}, 1.0)
    v2 = {"Deployment/default/web": deploy("v2", replicas=2)}
    pods = step(v2, pods, 2.0)
    d = v2["Deployment/default/web"]
    sets = replicasets.replicasets(d, replicasets.history(v2.values(), pods, history, 2.0)["default/web"], pods,
                                   {}, 3.0)
    new_hash = workloads.template_hash(d["spec"]["template"])
    old_hash = workloads.template_hash(v1["Deployment/default/web"]["spec"]["template"])
    text = printers.describe("Deployment", d, 3.0, {"replicasets": sorted(sets, key=lambda rs: rs["metadata"]["name"])})
    lines = {line.split(":")[0]: line.split(":", 1)[1].strip() for line in text.splitlines() if ":" in line}
    assert lines["NewReplicaSet"] == f"web-{new_hash} (1/1 replicas created)"
    assert lines["OldReplicaSets"] == f"web-{old_hash} (2/2 replicas created)"


def test_scaling_down_removes_the_not_ready_pod_first():
    v3 = {"Deployment/default/web": deploy("v1", replicas=3)}
    pods = step(v3, {}, 1.0)
    oldest = min(pods.values(), key=lambda p: p.created).key
    ready = {k: 2.0 for k in pods if k != oldest}  # the oldest pod is not Ready
    after = step({"Deployment/default/web": deploy("v1", replicas=2)}, pods, 5.0, ready)
    assert set(after) == set(pods) - {oldest}
