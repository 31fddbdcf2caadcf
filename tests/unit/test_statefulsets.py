"""StatefulSet controller rules: ordinals, OrderedReady/Parallel, scale-down order, rolling update."""

from netlab.compile import statefulsets
from netlab.compile.statefulsets import plan


def _spec(replicas, **extra):
    return {"replicas": replicas, **extra}


def test_ordinal_parses_only_own_names():
    assert statefulsets.ordinal("web", "web-0") == 0
    assert statefulsets.ordinal("web", "web-12") == 12
    assert statefulsets.ordinal("web", "web-01") is None
    assert statefulsets.ordinal("web", "webx-1") is None
    assert statefulsets.ordinal("web", "web-a") is None


def test_ordered_ready_creates_one_at_a_time_after_the_previous_is_ready():
    assert plan(_spec(3), "web", {}, {}, "r").create == (0,)
    assert plan(_spec(3), "web", {"web-0": "r"}, {"web-0": False}, "r").create == ()
    step = plan(_spec(3), "web", {"web-0": "r"}, {"web-0": True}, "r")
    assert step == statefulsets.Step(("web-0",), (1,))


def test_parallel_creates_all_at_once():
    assert plan(_spec(3, podManagementPolicy="Parallel"), "web", {}, {}, "r").create == (0, 1, 2)


def test_deleted_pod_comes_back_under_its_name():
    step = plan(_spec(3), "web", {"web-1": "r", "web-2": "r"}, {"web-1": True, "web-2": True}, "r")
    assert step.create == (0,)
    assert step.keep == ("web-1", "web-2")


def test_scale_down_from_the_highest_ordinal_one_at_a_time():
    have = {f"web-{i}": "r" for i in range(4)}
    ready = dict.fromkeys(have, True)
    step = plan(_spec(1), "web", have, ready, "r")
    assert step.keep == ("web-0", "web-1", "web-2") and step.create == ()
    ready["web-1"] = False  # waits until the others are Ready
    assert plan(_spec(1), "web", have, ready, "r").keep == ("web-0", "web-1", "web-2", "web-3")
    assert plan(_spec(1, podManagementPolicy="Parallel"), "web", have, ready, "r").keep == ("web-0",)


def test_rolling_update_from_the_highest_ordinal_down_to_the_partition():
    have = {"web-0": "old", "web-1": "old", "web-2": "old"}
    ready = dict.fromkeys(have, True)
    assert plan(_spec(3), "web", have, ready, "new").keep == ("web-0", "web-1")
    have["web-2"] = "new"
    assert plan(_spec(3), "web", have, ready, "new").keep == ("web-0", "web-2")
    ready["web-2"] = False  # not until every pod is Ready
    assert plan(_spec(3), "web", have, ready, "new").keep == ("web-0", "web-1", "web-2")
    ready["web-2"] = True
    partitioned = _spec(3, updateStrategy={"type": "RollingUpdate", "rollingUpdate": {"partition": 2}})
    assert plan(partitioned, "web", have, ready, "new").keep == ("web-0", "web-1", "web-2")
    on_delete = _spec(3, updateStrategy={"type": "OnDelete"})
    assert plan(on_delete, "web", have, ready, "new").keep == ("web-0", "web-1", "web-2")


def test_start_ordinal():
    assert plan(_spec(2, ordinals={"start": 5}), "db", {}, {}, "r").create == (5,)


def test_pod_identity_and_status():
    spec = statefulsets.pod_spec({"containers": []}, {"serviceName": "nginx"}, "web-1")
    assert spec["hostname"] == "web-1" and spec["subdomain"] == "nginx"
    labels = statefulsets.pod_labels({"app": "nginx"}, "web", 1, "web-abc")
    assert labels == {"app": "nginx", "statefulset.kubernetes.io/pod-name": "web-1",
                      "apps.kubernetes.io/pod-index": "1", "controller-revision-hash": "web-abc"}
    status = statefulsets.status({"metadata": {"generation": 2}}, "web-abc", [(labels, True), (labels, False)])
    assert status["replicas"] == 2 and status["readyReplicas"] == 1 and status["updatedReplicas"] == 2
    assert status["currentRevision"] == status["updateRevision"] == "web-abc"
    assert status["observedGeneration"] == 2
