"""The Deployment controller's rollout step as a pure function: surge/unavailable arithmetic, Recreate,
scaling, paused, and the status `kubectl rollout status` reads."""

from __future__ import annotations

import pytest

from netlab.compile import rollout
from netlab.compile.rollout import Plan, PodInfo

NEW, OLD = "newhash", "oldhash"


def spec(replicas=3, surge=None, unavailable=None, kind="RollingUpdate", **extra) -> dict:
    rolling = {k: v for k, v in (("maxSurge", surge), ("maxUnavailable", unavailable)) if v is not None}
    strategy = {"type": kind, **({"rollingUpdate": rolling} if rolling else {})}
    return {"replicas": replicas, "strategy": strategy, "template": {"spec": {}}, **extra}


def pods(thash: str, count: int, ready: bool = True, start: int = 0, created: float = 0.0) -> list[PodInfo]:
    return [PodInfo(f"{thash}-{i}", thash, created + i, 0.0 if ready else None) for i in range(start, start + count)]


@pytest.mark.parametrize(("replicas", "surge", "unavailable", "expected"), [
    (3, None, None, (1, 0)),  # 25% of 3: surge rounds up to 1, unavailable down to 0
    (4, None, None, (1, 1)),
    (10, None, None, (3, 2)),
    (10, "50%", "10%", (5, 1)),
    (10, 2, 3, (2, 3)),
    (10, 3, "0%", (3, 0)),
    (1, "0%", "0%", (0, 1)),  # both zero: upstream still lets one go, or nothing could progress
    (0, None, None, (0, 0)),
])
def test_fenceposts(replicas, surge, unavailable, expected):
    assert rollout.fenceposts(spec(replicas, surge, unavailable)) == expected


def test_recreate_fenceposts_allow_everything_down():
    assert rollout.fenceposts(spec(4, kind="Recreate")) == (0, 4)


def test_strategy_problems():
    assert rollout.strategy_problems(spec(3, 0, 0)) == [
        ("spec.strategy.rollingUpdate.maxUnavailable", "may not be 0 when `maxSurge` is 0")]
    assert rollout.strategy_problems(spec(3, "0%", 0)) != []
    assert rollout.strategy_problems(spec(3, 1, 0)) == []
    assert rollout.strategy_problems(spec(3, None, "150%"))[0][0].endswith("maxUnavailable")
    assert rollout.strategy_problems(spec(3, "x%", None))[0][0].endswith("maxSurge")
    assert rollout.strategy_problems(spec(3, "3", None))[0][0].endswith("maxSurge")  # a string must be a percent
    assert rollout.strategy_problems(spec(3, None, 150)) == []  # an int may exceed replicas
    assert rollout.strategy_problems(spec(3, -1, None))[0][1] == "must be greater than or equal to 0"
    recreate = {"strategy": {"type": "Recreate", "rollingUpdate": {"maxSurge": 1}}}
    assert rollout.strategy_problems(recreate)[0][0] == "spec.strategy.rollingUpdate"


def test_steady_state_changes_nothing():
    step = rollout.plan(spec(3), NEW, pods(NEW, 3), now=10)
    assert step == Plan(("newhash-0", "newhash-1", "newhash-2"), (), 0)
    assert not step.changes


def test_rolling_update_surges_first_when_nothing_may_be_unavailable():
    step = rollout.plan(spec(3), NEW, pods(OLD, 3), now=10)  # surge 1, unavailable 0
    assert (step.create, step.delete) == (1, ())


def test_rolling_update_removes_old_only_once_new_are_available():
    current = pods(OLD, 3) + pods(NEW, 1, ready=False)
    assert not rollout.plan(spec(3), NEW, current, now=10).changes  # at replicas + surge, nothing available
    current = pods(OLD, 3) + pods(NEW, 1, ready=True)
    step = rollout.plan(spec(3), NEW, current, now=10)
    assert (step.create, len(step.delete)) == (0, 1) and step.delete[0].startswith(OLD)


def test_rolling_update_with_unavailable_budget_removes_and_adds_at_once():
    step = rollout.plan(spec(4, 1, 1), NEW, pods(OLD, 4), now=10)
    assert step.create == 1 and len(step.delete) == 1  # 5 pods at most, 3 available at least


def test_percentages_of_ten():
    step = rollout.plan(spec(10, "30%", "20%"), NEW, pods(OLD, 10), now=10)
    assert step.create == 3 and len(step.delete) == 2


def test_unavailable_old_pods_go_first():
    current = pods(OLD, 2, ready=True) + pods(OLD, 1, ready=False, start=2) + pods(NEW, 1, ready=False)
    step = rollout.plan(spec(3, 1, 1), NEW, current, now=10)
    assert step.delete[0] == "oldhash-2"


def test_min_ready_seconds_delays_availability():
    current = pods(OLD, 3) + [PodInfo("new-0", NEW, 5.0, ready_since=8.0)]
    s = spec(3, minReadySeconds=5)
    assert not rollout.plan(s, NEW, current, now=10).changes  # ready 2 s, not yet available
    assert rollout.plan(s, NEW, current, now=13.5).delete  # ready 5.5 s


def test_readiness_unknown_never_removes_old_pods():
    step = rollout.plan(spec(4, 1, 1), NEW, pods(OLD, 4), now=10, readiness_known=False)
    assert step.create == 1 and step.delete == ()


def test_rollout_completes_in_steps_and_never_drops_below_minimum():
    """Simulate ticks where every new pod becomes ready one tick after it is made."""
    s = spec(5, "40%", "20%")  # surge 2, unavailable 1
    current = pods(OLD, 5)
    counter = 0
    for _ in range(20):
        step = rollout.plan(s, NEW, current, now=100)
        kept = [p for p in current if p.name in step.keep]
        assert sum(1 for p in kept if p.ready_since is not None) >= 4
        assert len(kept) + step.create <= 7
        made = [PodInfo(f"n{counter + i}", NEW, 50.0 + counter + i) for i in range(step.create)]
        counter += step.create
        current = [PodInfo(p.name, p.template_hash, p.created, 0.0) for p in kept] + made
    assert len(current) == 5 and all(p.template_hash == NEW for p in current)


def test_recreate_removes_every_old_pod_and_creates_new_ones():
    step = rollout.plan(spec(3, kind="Recreate"), NEW, pods(OLD, 3), now=10)
    assert sorted(step.delete) == ["oldhash-0", "oldhash-1", "oldhash-2"] and step.create == 3


def test_scale_down_removes_not_ready_then_newest():
    current = pods(NEW, 3) + [PodInfo("late", NEW, 50.0, None)]
    step = rollout.plan(spec(2), NEW, current, now=10)
    assert step.delete == ("late", "newhash-2")


def test_scale_down_prefers_most_recently_ready():
    current = [PodInfo("a", NEW, 1.0, 5.0), PodInfo("b", NEW, 2.0, 3.0), PodInfo("c", NEW, 3.0, 4.0)]
    assert rollout.plan(spec(2), NEW, current, now=10).delete == ("a",)


def test_scale_up_adds_only():
    assert rollout.plan(spec(5), NEW, pods(NEW, 3), now=10) == Plan(tuple(f"newhash-{i}" for i in range(3)), (), 2)


def test_scale_down_during_rollout_keeps_within_surge():
    current = pods(OLD, 6) + pods(NEW, 2, ready=False)
    step = rollout.plan(spec(2), NEW, current, now=10)  # surge 1: 3 pods at most
    assert len(current) - len(step.delete) + step.create <= 3


def test_paused_makes_no_progress():
    s = spec(3, paused=True)
    assert not rollout.plan(s, NEW, pods(OLD, 3), now=10).changes
    assert not rollout.plan(s, NEW, pods(OLD, 2) + pods(NEW, 1), now=10).changes


def test_paused_still_scales_a_settled_deployment():
    assert rollout.plan(spec(4, paused=True), NEW, pods(NEW, 3), now=10).create == 1
    assert len(rollout.plan(spec(1, paused=True), NEW, pods(NEW, 3), now=10).delete) == 2
    assert rollout.plan(spec(4, paused=True), NEW, pods(OLD, 3), now=10).create == 0  # no new ReplicaSet


DEPLOY = {"metadata": {"name": "web", "namespace": "default", "generation": 2}, "spec": spec(3)}


def test_status_while_rolling():
    status = rollout.deployment_status(DEPLOY, NEW, pods(OLD, 2) + pods(NEW, 2, ready=False), now=100)
    assert {k: status[k] for k in ("observedGeneration", "replicas", "updatedReplicas", "readyReplicas",
                                   "availableReplicas", "unavailableReplicas")} == {
        "observedGeneration": 2, "replicas": 4, "updatedReplicas": 2, "readyReplicas": 2,
        "availableReplicas": 2, "unavailableReplicas": 1}
    available, progressing = status["conditions"]
    assert (available["type"], available["status"], available["reason"]) == (
        "Available", "False", "MinimumReplicasUnavailable")  # 3 - 0 must be available
    assert (progressing["status"], progressing["reason"]) == ("True", "NewReplicaSetCreated")
    assert progressing["message"] == 'Created new replica set "web-newhash"'


def test_status_progress_and_completion_times():
    first = rollout.deployment_status(DEPLOY, NEW, pods(OLD, 3), now=100)
    later = rollout.deployment_status(DEPLOY, NEW, pods(OLD, 3) + pods(NEW, 1), now=160, previous=first)
    cond = later["conditions"][1]
    assert cond["reason"] == "ReplicaSetUpdated" and cond["message"] == 'ReplicaSet "web-newhash" is progressing.'
    assert cond["lastTransitionTime"] == first["conditions"][1]["lastTransitionTime"]
    assert cond["lastUpdateTime"] == rollout.timestamp(160)
    done = rollout.deployment_status(DEPLOY, NEW, pods(NEW, 3), now=200, previous=later)
    assert done["conditions"][0]["status"] == "True" and done["conditions"][0]["reason"] == "MinimumReplicasAvailable"
    assert done["conditions"][1]["reason"] == "NewReplicaSetAvailable"
    assert done["conditions"][1]["message"] == 'ReplicaSet "web-newhash" has successfully progressed.'
    again = rollout.deployment_status(DEPLOY, NEW, pods(NEW, 3), now=300, previous=done)
    assert again["conditions"] == done["conditions"]  # nothing changed: times stay


def test_status_progress_deadline():
    d = {**DEPLOY, "spec": spec(3, progressDeadlineSeconds=30)}
    first = rollout.deployment_status(d, NEW, pods(OLD, 3) + pods(NEW, 1, ready=False), now=100)
    stuck = rollout.deployment_status(d, NEW, pods(OLD, 3) + pods(NEW, 1, ready=False), now=120, previous=first)
    assert stuck["conditions"][1]["reason"] == "NewReplicaSetCreated"
    late = rollout.deployment_status(d, NEW, pods(OLD, 3) + pods(NEW, 1, ready=False), now=140, previous=stuck)
    assert (late["conditions"][1]["status"], late["conditions"][1]["reason"]) == ("False", "ProgressDeadlineExceeded")


def test_status_paused():
    d = {**DEPLOY, "spec": spec(3, paused=True)}
    cond = rollout.deployment_status(d, NEW, pods(OLD, 3), now=1)["conditions"][1]
    assert (cond["status"], cond["reason"]) == ("Unknown", "DeploymentPaused")


def test_replicaset_object():
    annotated = {**DEPLOY["metadata"], "annotations": {"kubernetes.io/change-cause": "v2",
                                                       "kubectl.kubernetes.io/last-applied-configuration": "{}"}}
    web = {**spec(3), "selector": {"matchLabels": {"app": "web"}}, "minReadySeconds": 10}
    rs = rollout.replicaset_object({**DEPLOY, "metadata": annotated, "spec": web},
                                   NEW, [PodInfo("a", NEW, 1.0, 95.0), PodInfo("b", NEW, 2.0, 80.0),
                                         PodInfo("c", NEW, 3.0)], 4, now=100)
    assert rs["metadata"]["name"] == "web-newhash"
    assert rs["metadata"]["annotations"][rollout.REVISION_ANNOTATION] == "4"
    assert rs["metadata"]["annotations"]["kubernetes.io/change-cause"] == "v2"
    assert "kubectl.kubernetes.io/last-applied-configuration" not in rs["metadata"]["annotations"]
    assert rs["metadata"]["ownerReferences"][0]["kind"] == "Deployment"
    assert rs["spec"]["selector"]["matchLabels"] == {"app": "web", "pod-template-hash": NEW}
    assert rs["status"] == {"replicas": 3, "fullyLabeledReplicas": 3, "readyReplicas": 2, "availableReplicas": 1,
                            "observedGeneration": 1}


def test_track_ready_and_scaling_events():
    since = rollout.track_ready({"a": 1.0}, {"a": True, "b": True, "c": False}, 5.0)
    assert since == {"a": 1.0, "b": 5.0}
    assert rollout.scaling_events("web", {OLD: 3}, {OLD: 2, NEW: 1}) == [
        "Scaled up replica set web-newhash from 0 to 1", "Scaled down replica set web-oldhash from 3 to 2"]


def test_manifest_validation_refuses_a_strategy_that_cannot_progress():
    from netlab.model.loader import RawDoc
    from netlab.model.problems import Source
    from netlab.model.validate import parse_objects

    def problems(strategy: dict) -> list[tuple[str, str]]:
        doc = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
               "spec": {"selector": {"matchLabels": {"app": "a"}}, "strategy": strategy,
                        "template": {"metadata": {"labels": {"app": "a"}},
                                     "spec": {"containers": [{"name": "c", "image": "busybox"}]}}}}
        return [(p.field, p.message) for p in parse_objects([RawDoc(Source("t.yaml", 0, 1), doc)])[1]]

    assert problems({"rollingUpdate": {"maxSurge": 0, "maxUnavailable": "0%"}}) == [
        ("spec.strategy.rollingUpdate.maxUnavailable", "may not be 0 when `maxSurge` is 0")]
    assert problems({"type": "Recreate", "rollingUpdate": {"maxSurge": 1}})[0][0] == "spec.strategy.rollingUpdate"
    assert problems({"rollingUpdate": {"maxSurge": "30%", "maxUnavailable": 1}}) == []


def test_the_oldest_replicaset_is_scaled_down_first():
    older = [PodInfo(f"a{i}", "first", 1.0 + i, 0.0) for i in range(2)]
    middle = [PodInfo(f"b{i}", "second", 10.0 + i, 0.0) for i in range(2)]
    step = rollout.plan(spec(4, 0, 2), NEW, middle + older, now=100)
    assert sorted(step.delete) == ["a0", "a1"] and step.create == 0  # no surge: room comes next step
