"""The Job controller's decisions, pure: which pods a Job wants, when it is finished, its status.

A Job's pods are named <job>-<5 random> (Indexed: <job>-<index>-<5 random>); finished pods stay. What the
controller has seen of them comes in a JobView: per pod its phase (and restarts), per Job its record
(start time, and how and when it finished). Without a view (a pure compile) every pod counts as active,
which never creates more pods than the Job allows.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from netlab.compile.workloads import PlacedPod, WantedPod, namespaced_name

INDEX_ANNOTATION = "batch.kubernetes.io/job-completion-index"
BACKOFF_BASE, BACKOFF_MAX = 10.0, 360.0  # the job controller's delay before replacing a failed pod: 10 s, 20 s ...
TERMINAL = ("Succeeded", "Failed")


@dataclass(frozen=True)
class PodSeen:
    phase: str  # Pending, Running, Succeeded, Failed
    restarts: int = 0
    ready: bool = False
    finished: float | None = None


@dataclass
class JobRecord:
    start: float
    uid: str = ""
    end: float | None = None
    condition: tuple[str, str, str] | None = None  # (Complete|Failed, reason, message) once finished


@dataclass
class JobView:
    pods: Mapping[str, PodSeen] = field(default_factory=dict)  # pod key -> as last observed
    records: Mapping[str, JobRecord] = field(default_factory=dict)  # "ns/job" -> its record


@dataclass(frozen=True)
class Step:
    create: tuple[int | None, ...] = ()  # one entry per new pod: its completion index (None: NonIndexed)
    remove: tuple[str, ...] = ()  # active pods to delete: the Job is finished
    finish: tuple[str, str, str] | None = None  # (Complete|Failed, reason, message) reached now


def owner(job: dict) -> str:
    return f"Job/{job['metadata']['name']}"


def owned(job: dict, pods: Iterable[PlacedPod]) -> list[PlacedPod]:
    ns = job["metadata"].get("namespace", "default")
    return sorted((p for p in pods if p.namespace == ns and p.owner == owner(job)), key=lambda p: (p.created, p.name))


def _index(p: PlacedPod) -> int | None:
    value = p.labels.get(INDEX_ANNOTATION)  # the label and the annotation have the same name
    return int(value) if value is not None else None


def _seen(p: PlacedPod, view: JobView | None) -> PodSeen:
    return (view.pods.get(p.key) if view else None) or PodSeen("Pending")


def counts(pods: list[PlacedPod], view: JobView | None) -> tuple[int, int, int]:
    """(active, succeeded, failed)."""
    phases = [_seen(p, view).phase for p in pods]
    return (sum(ph not in TERMINAL for ph in phases), phases.count("Succeeded"), phases.count("Failed"))


def plan(job: dict, pods: list[PlacedPod], view: JobView | None, now: float) -> Step:
    """The Job's next step given its pods as last seen."""
    spec = job["spec"]
    record = view.records.get(namespaced_name(job)) if view else None
    active = [p for p in pods if _seen(p, view).phase not in TERMINAL]
    if record is not None and record.condition is not None:
        return Step(remove=tuple(p.name for p in active))
    _, succeeded, failed = counts(pods, view)
    if spec["template"]["spec"].get("restartPolicy") == "OnFailure":
        failed += sum(_seen(p, view).restarts for p in active)  # in-place restarts count against the limit
    finish = _finished(spec, pods, view, succeeded, failed, active, record, now)
    if finish is not None:
        return Step(remove=tuple(p.name for p in active) if finish[0] == "Failed" else (), finish=finish)
    if spec.get("suspend"):
        return Step(remove=tuple(p.name for p in active))
    if now < backoff_until(pods, view):
        return Step()
    parallelism = spec.get("parallelism", 1)
    completions = spec.get("completions")
    if spec.get("completionMode") == "Indexed" and completions is not None:
        busy = {_index(p) for p in pods if _seen(p, view).phase != "Failed"}
        free = [i for i in range(completions) if i not in busy]
        return Step(create=tuple(free[:max(parallelism - len(active), 0)]))
    if completions is None:  # a work queue: no new pods once one succeeded
        want = 0 if succeeded else parallelism
    else:
        want = min(parallelism, completions - succeeded)
    return Step(create=(None,) * max(want - len(active), 0))


def backoff_until(pods: list[PlacedPod], view: JobView | None) -> float:
    """When a pod may replace the failed ones: 10 s after the last failure, doubling per failure, at most 6 min."""
    ends = sorted(s.finished or 0.0 for p in pods if (s := _seen(p, view)).phase == "Failed")
    if not ends:
        return 0.0
    return ends[-1] + min(BACKOFF_BASE * 2 ** (len(ends) - 1), BACKOFF_MAX)


def _finished(spec: dict, pods: list[PlacedPod], view: JobView | None, succeeded: int, failed: int,
              active: list[PlacedPod], record: JobRecord | None, now: float) -> tuple[str, str, str] | None:
    if view is None:
        return None
    completions = spec.get("completions")
    if completions is not None and spec.get("completionMode") == "Indexed":
        done = {_index(p) for p in pods if _seen(p, view).phase == "Succeeded"}
        complete = len(done) >= completions
    elif completions is not None:
        complete = succeeded >= completions
    else:
        complete = succeeded > 0 and not active
    if complete:
        return ("Complete", "CompletionsReached", "Reached expected number of succeeded pods")
    if failed > spec.get("backoffLimit", 6):
        return ("Failed", "BackoffLimitExceeded", "Job has reached the specified backoff limit")
    deadline = spec.get("activeDeadlineSeconds")
    if deadline is not None and record is not None and now - record.start >= deadline:
        return ("Failed", "DeadlineExceeded", "Job was active longer than specified deadline")
    return None


def pod_template(job: dict, uid: str, index: int | None) -> tuple[dict[str, str], dict]:
    """(labels, spec) of a new pod of the Job, as the Job controller makes it."""
    name = job["metadata"]["name"]
    template = job["spec"]["template"]
    labels = {**((template.get("metadata") or {}).get("labels") or {}),
              "batch.kubernetes.io/job-name": name, "job-name": name}
    if uid:
        labels |= {"batch.kubernetes.io/controller-uid": uid, "controller-uid": uid}
    spec = template["spec"]
    if index is not None:
        labels[INDEX_ANNOTATION] = str(index)
        spec = copy.deepcopy(spec)
        for c in spec.get("containers", []):
            c["env"] = [*(c.get("env") or []), {"name": "JOB_COMPLETION_INDEX", "value": str(index)}]
    return labels, spec


def wanted_pods(jobs: Iterable[dict], previous: Mapping[str, PlacedPod], view: JobView | None,
                now: float) -> list[WantedPod]:
    """Every Job's pods after its next step: kept ones as they are, new ones to name."""
    out = []
    for job in jobs:
        ns = job["metadata"].get("namespace", "default")
        source = f"Job {ns}/{job['metadata']['name']}"
        pods = owned(job, previous.values())
        step = plan(job, pods, view, now)
        gone = set(step.remove)
        out += [WantedPod(ns, p.name, p.labels, p.spec, p.owner, None, source, "spec.template.spec")
                for p in pods if p.name not in gone]
        record = view.records.get(namespaced_name(job)) if view else None
        uid = (record.uid if record else "") or job["metadata"].get("uid", "")
        for index in step.create:
            labels, spec = pod_template(job, uid, index)
            base = f"{job['metadata']['name']}-" + (f"{index}-" if index is not None else "")
            out.append(WantedPod(ns, None, labels, spec, owner(job), None, source, "spec.template.spec", base))
    return out


def status(job: dict, pods: list[PlacedPod], view: JobView | None, record: JobRecord | None,
           ready: Mapping[str, bool], stamp) -> dict:
    """The Job's status as the API shows it; `stamp(t)` formats a time."""
    active, succeeded, failed = counts(pods, view)
    out: dict = {"active": active, "succeeded": succeeded, "failed": failed, "terminating": 0,
                 "ready": sum(1 for p in pods if ready.get(p.key) and _seen(p, view).phase not in TERMINAL),
                 "uncountedTerminatedPods": {}}
    if job["spec"].get("completionMode") == "Indexed":
        done = sorted({i for p in pods if _seen(p, view).phase == "Succeeded" and (i := _index(p)) is not None})
        if done:
            out["completedIndexes"] = ",".join(map(str, done))
    if record is not None:
        out["startTime"] = stamp(record.start)
    if record is not None and record.condition is not None and record.end is not None:
        kind, reason, message = record.condition
        when = stamp(record.end)
        target = "SuccessCriteriaMet" if kind == "Complete" else "FailureTarget"
        out["conditions"] = [
            {"type": t, "status": "True", "reason": reason, "message": message,
             "lastProbeTime": when, "lastTransitionTime": when} for t in (target, kind)]
        if kind == "Complete":
            out["completionTime"] = when
    return {k: v for k, v in out.items() if v != 0 or k in ("active", "succeeded", "failed", "ready")}
