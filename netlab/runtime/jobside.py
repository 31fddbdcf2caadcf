"""The controller's Job and CronJob controllers, one step per tick.

A mixin of netlab.runtime.controller.Controller (as RolloutSide is): the decisions are pure (compile/jobs.py,
compile/cronjobs.py); this observes the Job pods' phases, records when each Job started and finished,
commits new or removed pods through the controller's commit, creates the CronJobs' Jobs and deletes finished
Jobs (ttlSecondsAfterFinished, the CronJobs' history limits). Records are kept in memory: after a controller
restart a Job's start time is when the controller first saw it again.
"""

from __future__ import annotations

import time
from datetime import datetime

from netlab.api import views
from netlab.api.errors import ApiError
from netlab.compile import cronjobs, jobs
from netlab.compile.workloads import namespaced_name
from netlab.runtime import events as evmod

JOB_CONTROLLER, CRONJOB_CONTROLLER = "job-controller", "cronjob-controller"
SCHEDULED_ANNOTATION = "batch.kubernetes.io/cronjob-scheduled-timestamp"


def _epoch(stamp: str | None, default: float) -> float:
    try:
        return datetime.fromisoformat((stamp or "").replace("Z", "+00:00")).timestamp()
    except ValueError:
        return default


def _cron_owner(job: dict) -> str | None:
    for ref in job["metadata"].get("ownerReferences") or []:
        if ref.get("kind") == "CronJob" and ref.get("controller"):
            return ref["name"]
    return None


class JobSide:
    def _init_jobs(self) -> None:
        self.job_view = jobs.JobView({}, {})  # what _place plans Job pods from (phases as of the last tick)
        self.job_status: dict[str, dict] = {}  # "ns/job" -> its status at the last tick
        self.cronjob_status: dict[str, dict] = {}
        self._job_pods_told: set[str] = set()  # Job pods a SuccessfulCreate was recorded for
        self._cron_last: dict[str, float] = {}  # "ns/cronjob" -> the last schedule time it acted on
        self._job_error, self._job_retry = "", 0.0
        self._cron_errors: dict[str, str] = {}  # "ns/cronjob" -> the schedule error last told
        self._completed_seen: set[str] = set()  # finished Jobs a CronJob's SawCompletedJob was recorded for

    def _objects_of(self, kind: str) -> list[dict]:
        return [o for o in self.state.objects.values() if o["kind"] == kind]

    def _run_jobs(self) -> None:
        """Observe, finish, create or remove pods, delete expired Jobs; then the CronJobs."""
        now = time.time()
        all_jobs = self._objects_of("Job")
        self.job_view = view = self._observe_jobs(all_jobs, now)
        pending = False
        for job in all_jobs:
            key, record = namespaced_name(job), view.records[namespaced_name(job)]
            step = jobs.plan(job, jobs.owned(job, self.state.pods.values()), view, now)
            if step.finish is not None and record.condition is None:
                record.condition, record.end = step.finish, now
                kind, reason, message = step.finish
                self.event("Completed" if kind == "Complete" else reason,
                           "Job completed" if kind == "Complete" else message, f"Job {key}",
                           component=JOB_CONTROLLER, type=evmod.NORMAL if kind == "Complete" else evmod.WARNING)
                step = jobs.plan(job, jobs.owned(job, self.state.pods.values()), view, now)
            pending = pending or bool(step.create or step.remove)
        if pending and now >= self._job_retry:
            self._commit_job_pods(now)
        self._tell_created_pods()
        self._expire_jobs(all_jobs, now)
        status = {namespaced_name(j): jobs.status(j, jobs.owned(j, self.state.pods.values()), view,
                                                  view.records.get(namespaced_name(j)), self.observed.ready,
                                                  views.timestamp) for j in self._objects_of("Job")}
        if status != self.job_status:
            self.job_status = status
            self._dirty.add("Job")
        self._run_cronjobs(now)

    def _observe_jobs(self, all_jobs: list[dict], now: float) -> jobs.JobView:
        old = self.job_view.records
        records = {}
        for job in all_jobs:
            key = namespaced_name(job)
            uid = job["metadata"].get("uid", "")
            kept = old.get(key)
            records[key] = kept if kept is not None and kept.uid == uid else jobs.JobRecord(now, uid)  # re-created
        seen = {}
        for p in self.state.pods.values():
            if p.owner and p.owner.startswith("Job/"):
                statuses = self.supervisor.status(p.key)
                seen[p.key] = jobs.PodSeen(views.pod_phase(statuses, p.spec.get("restartPolicy", "Always")),
                                           sum(s.restart_count for s in statuses),
                                           finished=max((s.finished_at or 0.0 for s in statuses), default=None))
        return jobs.JobView(seen, records)

    def _commit_job_pods(self, now: float) -> None:
        before = self.state.pods
        try:
            self._commit(self.state.objects, self._place(self.state.objects), self.state.allocations)
            self._job_error = ""
        except ApiError as e:
            if str(e) != self._job_error:
                self.event("FailedCreate", str(e), component=JOB_CONTROLLER, type=evmod.WARNING)
            self._job_error, self._job_retry = str(e), now + 5
            return
        for key, p in before.items():
            if key not in self.state.pods and p.owner and p.owner.startswith("Job/"):
                self.event("SuccessfulDelete", f"Deleted pod: {p.name}", f"Job {p.namespace}/{p.owner[4:]}",
                           component=JOB_CONTROLLER)

    def _tell_created_pods(self) -> None:
        current = {k for k, p in self.state.pods.items() if p.owner and p.owner.startswith("Job/")}
        for key in sorted(current - self._job_pods_told):
            p = self.state.pods[key]
            self.event("SuccessfulCreate", f"Created pod: {p.name}", f"Job {p.namespace}/{p.owner[4:]}",
                       component=JOB_CONTROLLER)
        self._job_pods_told = current

    def _expire_jobs(self, all_jobs: list[dict], now: float) -> None:
        """ttlSecondsAfterFinished, and Jobs whose CronJob is gone (garbage collection)."""
        crons = {namespaced_name(c) for c in self._objects_of("CronJob")}
        for job in all_jobs:
            ns, name = job["metadata"].get("namespace", "default"), job["metadata"]["name"]
            record = self.job_view.records[f"{ns}/{name}"]
            ttl = job["spec"].get("ttlSecondsAfterFinished")
            cron = _cron_owner(job)
            expired = ttl is not None and record.end is not None and now >= record.end + ttl
            if expired or (cron is not None and f"{ns}/{cron}" not in crons):
                self._delete_job(ns, name)

    def _delete_job(self, ns: str, name: str) -> None:
        try:
            self.delete("Job", ns, name)
        except ApiError as e:
            self.event("FailedDelete", str(e), f"Job {ns}/{name}", component=JOB_CONTROLLER, type=evmod.WARNING)

    # ----- CronJobs ------------------------------------------------------------------------
    def _run_cronjobs(self, now: float) -> None:
        status = {}
        for cron in self._objects_of("CronJob"):
            key = namespaced_name(cron)
            owned = [j for j in self._objects_of("Job") if namespaced_name(j).split("/")[0] == key.split("/")[0]
                     and _cron_owner(j) == cron["metadata"]["name"]]
            active = self._prune_history(cron, owned)
            self._schedule(cron, active, now)
            status[key] = self._cron_status(cron, key)
        if status != self.cronjob_status:
            self.cronjob_status = status
            self._dirty.add("CronJob")

    def _prune_history(self, cron: dict, owned: list[dict]) -> list[dict]:
        """Delete finished Jobs beyond the history limits (oldest first); returns the active ones."""
        key, spec = namespaced_name(cron), cron["spec"]
        finished: list[tuple[str, float, str]] = []
        active = []
        for job in owned:
            record = self.job_view.records.get(namespaced_name(job))
            if record is None or record.condition is None:
                active.append(job)
                continue
            finished.append((record.condition[0], record.end or 0.0, job["metadata"]["name"]))
            if namespaced_name(job) not in self._completed_seen:
                self._completed_seen.add(namespaced_name(job))
                self.event("SawCompletedJob", f"Saw completed job: {job['metadata']['name']}, "
                                              f"status: {record.condition[0]}", f"CronJob {key}",
                           component=CRONJOB_CONTROLLER)
        for name in cronjobs.beyond_history(spec, finished):
            self._delete_job(key.split("/")[0], name)
            self.event("SuccessfulDelete", f"Deleted job {name}", f"CronJob {key}", component=CRONJOB_CONTROLLER)
        return active

    def _schedule(self, cron: dict, active: list[dict], now: float) -> None:
        key, spec, meta = namespaced_name(cron), cron["spec"], cron["metadata"]
        try:
            schedule = cronjobs.parse(spec["schedule"], spec.get("timeZone"))
        except cronjobs.ScheduleError as e:
            if self._cron_errors.get(key) != str(e):
                self._cron_errors[key] = str(e)
                self.event("UnparseableSchedule", f"unparseable schedule: {e}", f"CronJob {key}",
                           component=CRONJOB_CONTROLLER, type=evmod.WARNING)
            return
        since = self._cron_last.get(key) or _epoch(meta.get("creationTimestamp"), now)
        step = cronjobs.next_step(spec, schedule, since, len(active), now)
        if step.replace:
            for job in active:
                self._delete_job(key.split("/")[0], job["metadata"]["name"])
                self.event("SuccessfulDelete", f"Deleted job {job['metadata']['name']}", f"CronJob {key}",
                           component=CRONJOB_CONTROLLER)
        if step.last is not None:
            self._cron_last[key] = step.last
        if step.due is not None:
            self._create_scheduled(cron, step.due)

    def _create_scheduled(self, cron: dict, due: float) -> None:
        ns, meta = cron["metadata"].get("namespace", "default"), cron["metadata"]
        key, name = namespaced_name(cron), cronjobs.job_name(meta["name"], due)
        if f"Job/{ns}/{name}" in self.state.objects:
            return
        template = cron["spec"]["jobTemplate"]
        tmeta = template.get("metadata") or {}
        job = {"apiVersion": "batch/v1", "kind": "Job",
               "metadata": {"name": name, "namespace": ns, "labels": dict(tmeta.get("labels") or {}),
                            "annotations": {**(tmeta.get("annotations") or {}),
                                            SCHEDULED_ANNOTATION: views.timestamp(due)},
                            "ownerReferences": [{"apiVersion": "batch/v1", "kind": "CronJob", "name": meta["name"],
                                                 "uid": meta.get("uid", ""), "controller": True,
                                                 "blockOwnerDeletion": True}]},
               "spec": template["spec"]}
        try:
            self.create(job)
        except ApiError as e:
            self.event("FailedCreate", f"Error creating job: {e}", f"CronJob {key}", component=CRONJOB_CONTROLLER,
                       type=evmod.WARNING)
            return
        self.event("SuccessfulCreate", f"Created job {name}", f"CronJob {key}", component=CRONJOB_CONTROLLER)

    def _cron_status(self, cron: dict, key: str) -> dict:
        ns = key.split("/")[0]
        out: dict = {}
        owned = [j for j in self._objects_of("Job") if (j["metadata"].get("namespace") or "default") == ns
                 and _cron_owner(j) == cron["metadata"]["name"]]
        active = [j for j in owned if (r := self.job_view.records.get(namespaced_name(j))) is None
                  or r.condition is None]
        if active:
            out["active"] = [{"apiVersion": "batch/v1", "kind": "Job", "name": j["metadata"]["name"],
                              "namespace": ns, "uid": j["metadata"].get("uid", "")} for j in active]
        if key in self._cron_last:
            out["lastScheduleTime"] = views.timestamp(self._cron_last[key])
        done = [r.end for j in owned if (r := self.job_view.records.get(namespaced_name(j))) is not None
                and r.condition is not None and r.condition[0] == "Complete" and r.end]
        if done:
            out["lastSuccessfulTime"] = views.timestamp(max(done))
        return out
