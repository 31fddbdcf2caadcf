"""Issue 15 section 2: Jobs run their pods to completion. A Job of 3 completions, 2 at a time, ends Complete
with 3 Succeeded pods; one whose pods exit 1 with backoffLimit 1 ends Failed (BackoffLimitExceeded) after 2
pods; an Indexed Job passes JOB_COMPLETION_INDEX; a finished Job with ttlSecondsAfterFinished is deleted with its
pods. kubectl waits on the conditions."""

from __future__ import annotations

import json

from conftest import wait_for

MANIFEST = """
kind: Cluster
apiVersion: netlab.dev/v1alpha1
---
apiVersion: batch/v1
kind: Job
metadata: {name: CLUSTER-ok}
spec:
  completions: 3
  parallelism: 2
  template:
    spec:
      restartPolicy: Never
      containers: [{name: work, image: busybox, command: ["sh", "-c", "sleep 1; exit 0"]}]
---
apiVersion: batch/v1
kind: Job
metadata: {name: CLUSTER-bad}
spec:
  backoffLimit: 1
  template:
    spec:
      restartPolicy: Never
      containers: [{name: work, image: busybox, command: ["sh", "-c", "exit 1"]}]
---
apiVersion: batch/v1
kind: Job
metadata: {name: CLUSTER-idx}
spec:
  completions: 2
  parallelism: 2
  completionMode: Indexed
  template:
    spec:
      restartPolicy: Never
      containers: [{name: work, image: busybox, command: ["sh", "-c", 'test -n "$JOB_COMPLETION_INDEX"']}]
---
apiVersion: batch/v1
kind: Job
metadata: {name: CLUSTER-ttl}
spec:
  ttlSecondsAfterFinished: 2
  template:
    spec:
      restartPolicy: OnFailure
      containers: [{name: work, image: busybox, command: ["sh", "-c", "exit 0"]}]
"""


def _get(lab, *what: str) -> dict:
    return json.loads(lab.netlab("get", *what, "-o", "json").stdout)


def _pods_of(lab, job: str) -> list[dict]:
    return _get(lab, "pods", "-l", f"job-name={job}")["items"]


def test_jobs_complete_fail_and_expire(lab):
    c = lab.cluster
    lab.netlab("up", str(lab.write("jobs.yaml", MANIFEST)))
    lab.kubectl("wait", "--for=condition=complete", f"job/{c}-ok", "--timeout=60s", timeout=70)
    ok = _get(lab, "job", f"{c}-ok")
    assert ok["status"]["succeeded"] == 3 and ok["status"]["active"] == 0, ok["status"]
    assert [cond["type"] for cond in ok["status"]["conditions"]] == ["SuccessCriteriaMet", "Complete"]
    assert ok["status"]["completionTime"] >= ok["status"]["startTime"]
    pods = _pods_of(lab, f"{c}-ok")
    assert len(pods) == 3 and {p["status"]["phase"] for p in pods} == {"Succeeded"}
    assert all(p["metadata"]["name"].startswith(f"{c}-ok-") and len(p["metadata"]["name"]) == len(c) + 9
               for p in pods)
    assert {p["metadata"]["labels"]["controller-uid"] for p in pods} == {ok["metadata"]["uid"]}
    assert {p["metadata"]["ownerReferences"][0]["kind"] for p in pods} == {"Job"}

    lab.kubectl("wait", "--for=condition=failed", f"job/{c}-bad", "--timeout=60s", timeout=70)
    bad = _get(lab, "job", f"{c}-bad")
    assert bad["status"]["failed"] == 2 and bad["status"]["active"] == 0, bad["status"]
    assert bad["status"]["conditions"][-1]["reason"] == "BackoffLimitExceeded"
    assert {p["status"]["phase"] for p in _pods_of(lab, f"{c}-bad")} == {"Failed"}

    lab.kubectl("wait", "--for=condition=complete", f"job/{c}-idx", "--timeout=30s", timeout=40)
    assert _get(lab, "job", f"{c}-idx")["status"]["completedIndexes"] == "0,1"
    assert sorted(p["metadata"]["name"][:len(c) + 7] for p in _pods_of(lab, f"{c}-idx")) == \
        [f"{c}-idx-0-", f"{c}-idx-1-"]

    wait_for(lambda: f"{c}-ttl" not in {j["metadata"]["name"] for j in _get(lab, "jobs")["items"]},
             timeout=30, what="the ttl Job to be deleted")
    wait_for(lambda: not _pods_of(lab, f"{c}-ttl"), timeout=15, what="the ttl Job's pods to go")
    events = lab.netlab("events").stdout
    assert "SuccessfulCreate" in events and "Completed" in events and "BackoffLimitExceeded" in events
    assert "Complete" in lab.kubectl("get", "jobs").stdout


CRON = """
kind: Cluster
apiVersion: netlab.dev/v1alpha1
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: CLUSTER-tick}
spec:
  schedule: "* * * * *"
  concurrencyPolicy: Forbid
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: Never
          containers: [{name: work, image: busybox, command: ["sh", "-c", "echo tick"]}]
"""


def test_cronjob_creates_a_job_at_the_next_minute(lab):
    """Bounded: the next minute starts within 60 s of `up`; its Job completes in a few seconds."""
    c = lab.cluster
    lab.netlab("up", str(lab.write("cron.yaml", CRON)))
    jobs = wait_for(lambda: _get(lab, "jobs")["items"], timeout=68, interval=1, what="the CronJob's first Job")
    [job] = jobs
    name = job["metadata"]["name"]
    minutes = int(name.rsplit("-", 1)[1])
    assert name == f"{c}-tick-{minutes}"
    assert job["metadata"]["ownerReferences"][0]["kind"] == "CronJob"
    lab.kubectl("wait", "--for=condition=complete", f"job/{name}", "--timeout=30s", timeout=40)
    cron = _get(lab, "cronjob", f"{c}-tick")
    assert cron["status"]["lastScheduleTime"].startswith(job["metadata"]["annotations"][
        "batch.kubernetes.io/cronjob-scheduled-timestamp"][:16])
    events = lab.netlab("events").stdout
    assert f"Created job {name}" in events
