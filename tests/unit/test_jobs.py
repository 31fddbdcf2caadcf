"""The Job controller's pure decisions: pods wanted, finishing, status."""

import random

from netlab.compile import jobs, workloads


def job(name="work", completions=1, parallelism=1, backoff=6, policy="Never", **spec):
    return {"kind": "Job", "metadata": {"name": name, "namespace": "default", "uid": "u-1"},
            "spec": {"completions": completions, "parallelism": parallelism, "backoffLimit": backoff,
                     "template": {"metadata": {"labels": {"app": "w"}},
                                  "spec": {"restartPolicy": policy, "containers": [{"name": "c", "image": "busybox"}]}},
                     **spec}}


def pod(name, owner="Job/work", created=0.0, labels=None):
    return workloads.PlacedPod("default", name, "n1", "10.0.0.2", "uid", created, labels or {}, {}, owner)


def view(phases: dict, start=0.0, **record):
    return jobs.JobView({f"default/{n}": jobs.PodSeen(ph) if isinstance(ph, str) else ph for n, ph in phases.items()},
                        {"default/work": jobs.JobRecord(start, "u-1", **record)})


def test_a_new_job_asks_for_parallelism_pods_bounded_by_completions():
    assert jobs.plan(job(completions=3, parallelism=2), [], view({}), 0).create == (None, None)
    assert jobs.plan(job(completions=1, parallelism=5), [], view({}), 0).create == (None,)


def test_succeeded_pods_stay_and_the_rest_are_created():
    pods = [pod("a"), pod("b")]
    step = jobs.plan(job(completions=3, parallelism=2), pods, view({"a": "Succeeded", "b": "Running"}), 0)
    assert step.create == (None,) and step.finish is None
    step = jobs.plan(job(completions=3, parallelism=2), pods, view({"a": "Succeeded", "b": "Succeeded"}), 0)
    assert step.create == (None,)


def test_complete_when_completions_succeeded():
    pods = [pod("a"), pod("b"), pod("c")]
    step = jobs.plan(job(completions=3, parallelism=2), pods, view(dict.fromkeys("abc", "Succeeded")), 0)
    assert step.finish[:2] == ("Complete", "CompletionsReached") and step.create == ()


def test_failed_pods_are_replaced_until_the_backoff_limit():
    one = [pod("a")]
    assert jobs.plan(job(backoff=1), one, view({"a": "Failed"}), 100).create == (None,)
    two = [pod("a"), pod("b")]
    step = jobs.plan(job(backoff=1), two, view({"a": "Failed", "b": "Failed"}), 0)
    assert step.finish[:2] == ("Failed", "BackoffLimitExceeded") and step.create == ()


def test_failed_pods_are_replaced_after_a_growing_delay():
    failed = jobs.PodSeen("Failed", finished=100.0)
    assert jobs.plan(job(), [pod("a")], view({"a": failed}), 105).create == ()
    assert jobs.plan(job(), [pod("a")], view({"a": failed}), 110).create == (None,)
    two = view({"a": jobs.PodSeen("Failed", finished=90.0), "b": failed})
    assert jobs.plan(job(), [pod("a"), pod("b")], two, 115).create == ()  # 20 s after the second failure
    assert jobs.plan(job(), [pod("a"), pod("b")], two, 120).create == (None,)
    many = [pod(str(i)) for i in range(7)]
    assert jobs.backoff_until(many, view({str(i): failed for i in range(7)})) == 100 + jobs.BACKOFF_MAX


def test_on_failure_restarts_count_against_the_backoff_limit():
    seen = view({"a": jobs.PodSeen("Running", restarts=3)})
    assert jobs.plan(job(backoff=2, policy="OnFailure"), [pod("a")], seen, 0).finish[1] == "BackoffLimitExceeded"
    assert jobs.plan(job(backoff=2, policy="Never"), [pod("a")], seen, 0).finish is None


def test_active_deadline_fails_the_job_and_removes_its_running_pods():
    step = jobs.plan(job(activeDeadlineSeconds=10), [pod("a")], view({"a": "Running"}, start=100.0), 110.0)
    assert step.finish[1] == "DeadlineExceeded" and step.remove == ("a",)
    assert jobs.plan(job(activeDeadlineSeconds=10), [pod("a")], view({"a": "Running"}, start=100.0), 105).finish \
        is None


def test_a_finished_job_creates_nothing():
    done = view({"a": "Failed"}, end=5.0, condition=("Failed", "BackoffLimitExceeded", "m"))
    assert jobs.plan(job(backoff=0), [pod("a")], done, 10) == jobs.Step()


def test_without_a_view_every_pod_is_active_and_nothing_finishes():
    step = jobs.plan(job(completions=3, parallelism=2), [pod("a"), pod("b")], None, 0)
    assert step == jobs.Step()


def test_work_queue_without_completions():
    spec = job(completions=None, parallelism=2)
    assert jobs.plan(spec, [], view({}), 0).create == (None, None)
    pods = [pod("a"), pod("b")]
    assert jobs.plan(spec, pods, view({"a": "Succeeded", "b": "Running"}), 0).create == ()
    assert jobs.plan(spec, pods, view({"a": "Succeeded", "b": "Succeeded"}), 0).finish[0] == "Complete"


def test_indexed_jobs_fill_missing_indexes_and_pass_the_index():
    spec = job(completions=3, parallelism=2, completionMode="Indexed")
    assert jobs.plan(spec, [], view({}), 0).create == (0, 1)
    pods = [pod("a", labels={jobs.INDEX_ANNOTATION: "0"}), pod("b", labels={jobs.INDEX_ANNOTATION: "1"})]
    assert jobs.plan(spec, pods, view({"a": "Succeeded", "b": "Failed"}), 100).create == (1, 2)
    labels, podspec = jobs.pod_template(spec, "u-1", 2)
    assert labels[jobs.INDEX_ANNOTATION] == "2"
    assert {"name": "JOB_COMPLETION_INDEX", "value": "2"} in podspec["containers"][0]["env"]
    assert "env" not in spec["spec"]["template"]["spec"]["containers"][0]  # the template is not changed


def test_wanted_pods_are_named_and_labelled_as_the_job_controller_does():
    wanted = jobs.wanted_pods([job(completions=2, parallelism=2)], {}, view({}), 0)
    assert [w.name_base for w in wanted] == ["work-", "work-"]
    assert wanted[0].labels == {"app": "w", "job-name": "work", "batch.kubernetes.io/job-name": "work",
                                "controller-uid": "u-1", "batch.kubernetes.io/controller-uid": "u-1"}
    placed = workloads.place(wanted, _nodes(), {}, 0.0, random.Random(1))
    assert all(p.name.startswith("work-") and len(p.name) == 10 and p.owner == "Job/work" for p in placed)


def test_status_counts_and_conditions():
    pods = [pod("a"), pod("b"), pod("c")]
    rec = jobs.JobRecord(0.0, "u-1", end=9.0, condition=("Complete", "CompletionsReached", "done"))
    st = jobs.status(job(completions=3), pods, view(dict.fromkeys("abc", "Succeeded")), rec, {}, str)
    assert (st["active"], st["succeeded"], st["failed"]) == (0, 3, 0)
    assert [c["type"] for c in st["conditions"]] == ["SuccessCriteriaMet", "Complete"]
    assert st["completionTime"] == "9.0" and st["startTime"] == "0.0"
    rec = jobs.JobRecord(0.0, "u-1", end=9.0, condition=("Failed", "BackoffLimitExceeded", "m"))
    st = jobs.status(job(), pods[:1], view({"a": "Failed"}), rec, {}, str)
    assert [c["type"] for c in st["conditions"]] == ["FailureTarget", "Failed"] and "completionTime" not in st


def _nodes():
    from netlab.compile.config import ClusterConfig
    return ClusterConfig.from_manifest({"apiVersion": "netlab/v1", "kind": "Cluster", "metadata": {"name": "t"},
                                        "spec": {}}, "t").topology().nodes


def test_the_api_shows_a_jobs_default_selector_and_template_labels():
    from netlab.api import views
    shown = views._job_selected(job())
    assert shown["selector"] == {"matchLabels": {"batch.kubernetes.io/controller-uid": "u-1"}}
    assert shown["template"]["metadata"]["labels"]["job-name"] == "work"
    assert shown["template"]["metadata"]["labels"]["app"] == "w"
    manual = job(manualSelector=True, selector={"matchLabels": {"app": "w"}})
    assert views._job_selected(manual) is manual["spec"]


def test_kubectl_duration_column():
    from netlab.api.columns_stored import job_row
    status = {"startTime": "2026-01-01T10:00:00Z", "completionTime": "2026-01-01T10:00:42Z"}
    assert job_row({"metadata": {}, "spec": {"completions": 1}, "status": status}, 0, False)[2] == "42s"
