"""Deployment rollouts, as the Deployment and ReplicaSet controllers run them, as pure functions.

A Deployment's ReplicaSets are its pods grouped by `pod-template-hash`: netlab creates and deletes pods in
the same atomic commit that changes a ReplicaSet's count, so a ReplicaSet's replicas are its pods.
`plan` is one sync of the Deployment controller (RollingUpdate or Recreate, scaling, paused) followed by
the ReplicaSet controller's choice of which pods to delete; `deployment_status` and `replicaset_status`
are what the controllers write into `.status` (what `kubectl rollout status` reads).
"""

from __future__ import annotations

import calendar
import math
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

DEFAULT_SURGE = "25%"
DEFAULT_UNAVAILABLE = "25%"
DEFAULT_PROGRESS_DEADLINE = 600
REVISION_ANNOTATION = "deployment.kubernetes.io/revision"
TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
NOT_COPIED_ANNOTATIONS = frozenset({
    "kubectl.kubernetes.io/last-applied-configuration", REVISION_ANNOTATION,
    "deployment.kubernetes.io/revision-history", "deployment.kubernetes.io/desired-replicas",
    "deployment.kubernetes.io/max-replicas",
})


def timestamp(t: float) -> str:
    return time.strftime(TIME_FORMAT, time.gmtime(t))


def parse_time(text: str) -> float:
    return float(calendar.timegm(time.strptime(text, TIME_FORMAT)))


@dataclass(frozen=True)
class PodInfo:
    """One of a Deployment's pods as the rollout sees it."""

    name: str
    template_hash: str | None
    created: float
    ready_since: float | None = None  # None: not Ready
    restarts: int = 0

    def available(self, now: float, min_ready_seconds: int) -> bool:
        return self.ready_since is not None and now - self.ready_since >= min_ready_seconds


@dataclass(frozen=True)
class Plan:
    keep: tuple[str, ...]  # pod names that stay
    delete: tuple[str, ...]  # pod names to remove
    create: int  # new pods of the current template

    @property
    def changes(self) -> bool:
        return bool(self.delete or self.create)


def scaled_value(value: int | str | None, total: int, round_up: bool, default: str) -> int:
    """An int-or-percent field as a count of `total`: percentages round up (surge) or down (unavailable)."""
    value = default if value is None else value
    if isinstance(value, str) and value.endswith("%") and value[:-1].isdigit():
        exact = int(value[:-1]) * total / 100
        return math.ceil(exact) if round_up else math.floor(exact)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    # as upstream: a string is a percentage or nothing ("3" is not 3)
    raise ValueError(f"invalid value {value!r}: must be an integer or a percentage like '25%'")


def fenceposts(spec: dict) -> tuple[int, int]:
    """(maxSurge, maxUnavailable) as counts of spec.replicas. Recreate surges nothing and may lose all."""
    replicas = spec.get("replicas", 1)
    strategy = spec.get("strategy") or {}
    if strategy.get("type", "RollingUpdate") != "RollingUpdate":
        return 0, replicas
    rolling = strategy.get("rollingUpdate") or {}
    surge = scaled_value(rolling.get("maxSurge"), replicas, True, DEFAULT_SURGE)
    unavailable = scaled_value(rolling.get("maxUnavailable"), replicas, False, DEFAULT_UNAVAILABLE)
    if surge == 0 and unavailable == 0:  # as upstream, should validation ever let it through: still progress
        unavailable = 1
    return surge, min(unavailable, replicas)


def strategy_problems(spec: dict, path: str = "spec.strategy") -> list[tuple[str, str]]:
    """What upstream's validation refuses in a Deployment's strategy, as (field, message)."""
    strategy = spec.get("strategy") or {}
    rolling = strategy.get("rollingUpdate")
    if strategy.get("type", "RollingUpdate") == "Recreate":
        return [(f"{path}.rollingUpdate", "may not be specified when strategy `type` is 'Recreate'")] if rolling else []
    rolling = rolling or {}
    problems, values = [], {}
    for name, default in (("maxSurge", DEFAULT_SURGE), ("maxUnavailable", DEFAULT_UNAVAILABLE)):
        value = rolling.get(name, default)
        try:
            values[name] = scaled_value(value, 100, True, default)
        except ValueError as e:
            problems.append((f"{path}.rollingUpdate.{name}", str(e)))
            continue
        if values[name] < 0:
            problems.append((f"{path}.rollingUpdate.{name}", "must be greater than or equal to 0"))
        if isinstance(value, str) and values[name] > 100 and name == "maxUnavailable":
            problems.append((f"{path}.rollingUpdate.{name}", "must not be greater than 100%"))
    if values.get("maxSurge") == 0 and values.get("maxUnavailable") == 0:
        problems.append((f"{path}.rollingUpdate.maxUnavailable", "may not be 0 when `maxSurge` is 0"))
    return problems


def deletion_order(pods: Iterable[PodInfo]) -> list[PodInfo]:
    """Pods in the order a ReplicaSet removes them: not ready first, then the most recently ready,
    the most restarted, the newest (upstream's ActivePods ranking, for pods that are all scheduled)."""
    return sorted(pods, key=lambda p: (p.ready_since is not None, -(p.ready_since or 0.0), -p.restarts,
                                       -p.created, p.name))


def plan(spec: dict, current_hash: str, pods: Iterable[PodInfo], now: float,
         readiness_known: bool = True) -> Plan:
    """One step of the Deployment with `spec` whose template hashes to `current_hash`.

    Without readiness (`readiness_known` False: a step taken at apply time) old pods are never removed
    for a rolling update, since nothing proves the new ones available; the controller's next tick does it."""
    pods = list(pods)
    replicas = spec.get("replicas", 1)
    new = [p for p in pods if p.template_hash == current_hash]
    old = [p for p in pods if p.template_hash != current_hash]
    if spec.get("paused"):
        if old and new or len(pods) == replicas:
            return Plan(tuple(p.name for p in pods), (), 0)
        return _scale(old or new, replicas, creates_new=not old)
    if not old:
        return _scale(new, replicas)
    if (spec.get("strategy") or {}).get("type") == "Recreate":
        scaled = _scale(new, replicas)  # every old pod goes in the same commit, before the new ones start
        return Plan(scaled.keep, tuple(p.name for p in old) + scaled.delete, scaled.create)
    return _rolling(spec, new, old, now, readiness_known)


def _scale(group: list[PodInfo], replicas: int, creates_new: bool = True) -> Plan:
    """A ReplicaSet scaled to `replicas`: the surplus removed by rank, or new pods added."""
    if len(group) > replicas:
        ordered = deletion_order(group)
        gone = ordered[:len(group) - replicas]
        return Plan(tuple(p.name for p in group if p not in gone), tuple(p.name for p in gone), 0)
    if not creates_new:  # paused with only old pods: upstream scales the old ReplicaSet, not a new one
        return Plan(tuple(p.name for p in group), (), 0)
    return Plan(tuple(p.name for p in group), (), replicas - len(group))


def _rolling(spec: dict, new: list[PodInfo], old: list[PodInfo], now: float, readiness_known: bool) -> Plan:
    """Scale the new ReplicaSet up within maxSurge, then the old ones down within maxUnavailable."""
    replicas = spec.get("replicas", 1)
    min_ready = spec.get("minReadySeconds") or 0
    surge, unavailable = fenceposts(spec)
    deleted: list[PodInfo] = []
    create = 0
    if len(new) > replicas:
        deleted += deletion_order(new)[:len(new) - replicas]
    elif len(new) < replicas:
        room = replicas + surge - len(new) - len(old)
        create = max(0, min(room, replicas - len(new)))
    if readiness_known:
        deleted += _scale_down_old(new, old, create, replicas, unavailable, now, min_ready)
    # replicas lowered in the middle of a rollout: never more than replicas + maxSurge pods in all
    excess = len(new) + len(old) + create - len(deleted) - (replicas + surge)
    if excess > 0:
        deleted += deletion_order(p for p in old if p not in deleted)[:excess]
    gone = {p.name for p in deleted}
    return Plan(tuple(p.name for p in new + old if p.name not in gone), tuple(p.name for p in deleted), create)


def _scale_down_old(new: list[PodInfo], old: list[PodInfo], create: int, replicas: int, unavailable: int,
                    now: float, min_ready: int) -> list[PodInfo]:
    """The old pods to remove so that at least replicas - maxUnavailable stay available: the unavailable
    ones first (they serve nothing), then available ones down to the minimum."""
    min_available = replicas - unavailable
    new_available = sum(1 for p in new if p.available(now, min_ready))
    new_unavailable = len(new) + create - new_available
    max_scaled_down = len(new) + len(old) + create - min_available - new_unavailable
    if max_scaled_down <= 0:
        return []
    unhealthy = _oldest_sets_first(p for p in old if not p.available(now, min_ready))[:max_scaled_down]
    healthy = [p for p in old if p.available(now, min_ready)]
    spare = new_available + len(healthy) - min_available
    return unhealthy + (_oldest_sets_first(healthy)[:spare] if spare > 0 else [])


def _oldest_sets_first(pods: Iterable[PodInfo]) -> list[PodInfo]:
    """Old pods in the order the Deployment controller scales their ReplicaSets down: the oldest
    ReplicaSet first, and within one the ReplicaSet's own ranking."""
    pods = list(pods)
    born: dict[str | None, float] = {}
    for p in pods:
        born[p.template_hash] = min(born.get(p.template_hash, p.created), p.created)
    ranked = {p.name: i for i, p in enumerate(deletion_order(pods))}
    return sorted(pods, key=lambda p: (born[p.template_hash], ranked[p.name]))


def _condition(kind: str, status: str, reason: str, message: str, now: str, previous: dict | None,
               progressed: bool = False) -> dict:
    """A condition with upstream's times: lastTransitionTime moves when the status flips, lastUpdateTime
    when anything about it changes (or the rollout progressed)."""
    same = previous is not None and previous.get("status") == status
    unchanged = same and previous.get("reason") == reason and previous.get("message") == message
    return {"type": kind, "status": status,
            "lastUpdateTime": previous["lastUpdateTime"] if unchanged and not progressed else now,
            "lastTransitionTime": previous["lastTransitionTime"] if same else now,
            "reason": reason, "message": message}


def deployment_status(deploy: dict, current_hash: str, pods: Iterable[PodInfo], now: float,
                      previous: dict | None = None) -> dict:
    """The Deployment's .status after a sync; `previous` is the last one (for condition times)."""
    spec, meta = deploy["spec"], deploy["metadata"]
    pods = list(pods)
    replicas = spec.get("replicas", 1)
    min_ready = spec.get("minReadySeconds") or 0
    new = [p for p in pods if p.template_hash == current_hash]
    available = sum(1 for p in pods if p.available(now, min_ready))
    counts = {"observedGeneration": meta.get("generation", 1), "replicas": len(pods), "updatedReplicas": len(new),
              "readyReplicas": sum(1 for p in pods if p.ready_since is not None), "availableReplicas": available}
    status = {**counts, "unavailableReplicas": max(replicas - available, 0)}
    before = {c["type"]: c for c in (previous or {}).get("conditions", [])}
    at = timestamp(now)
    rs_name = f"{meta['name']}-{current_hash}"
    if available >= replicas - fenceposts(spec)[1]:
        avail = _condition("Available", "True", "MinimumReplicasAvailable", "Deployment has minimum availability.",
                           at, before.get("Available"))
    else:
        avail = _condition("Available", "False", "MinimumReplicasUnavailable",
                           "Deployment does not have minimum availability.", at, before.get("Available"))
    status["conditions"] = [avail, _progressing(spec, rs_name, counts, now, at, previous, before.get("Progressing"))]
    return status


def _progressing(spec: dict, rs_name: str, counts: dict, now: float, at: str, previous: dict | None,
                 before: dict | None) -> dict:
    replicas = spec.get("replicas", 1)
    if spec.get("paused"):
        return _condition("Progressing", "Unknown", "DeploymentPaused", "Deployment is paused", at, before)
    if counts["updatedReplicas"] == counts["replicas"] == counts["availableReplicas"] == replicas:
        return _condition("Progressing", "True", "NewReplicaSetAvailable",
                          f'ReplicaSet "{rs_name}" has successfully progressed.', at, before)
    if before is None or f'"{rs_name}"' not in before.get("message", ""):
        return _condition("Progressing", "True", "NewReplicaSetCreated", f'Created new replica set "{rs_name}"',
                          at, before)
    if previous is not None and any(previous.get(k) != v for k, v in counts.items()):
        return _condition("Progressing", "True", "ReplicaSetUpdated", f'ReplicaSet "{rs_name}" is progressing.',
                          at, before, progressed=True)
    deadline = spec.get("progressDeadlineSeconds", DEFAULT_PROGRESS_DEADLINE)
    if before["status"] == "True" and now - parse_time(before["lastUpdateTime"]) > deadline:
        return _condition("Progressing", "False", "ProgressDeadlineExceeded",
                          f'ReplicaSet "{rs_name}" has timed out progressing.', at, before)
    return before


def replicaset_object(deploy: dict, thash: str, pods: list[PodInfo], revision: int | None, now: float,
                      template: dict | None = None, created: float | None = None) -> dict:
    """The ReplicaSet a Deployment owns for the pods of template `thash` (its spec.replicas are its pods;
    `template` is that of the pods, the Deployment's own when None)."""
    meta, spec = deploy["metadata"], deploy["spec"]
    template = template or spec["template"]
    labels = {**((template.get("metadata") or {}).get("labels") or {}), "pod-template-hash": thash}
    selector = dict(spec.get("selector") or {})
    selector["matchLabels"] = {**(selector.get("matchLabels") or {}), "pod-template-hash": thash}
    min_ready = spec.get("minReadySeconds") or 0
    created = min((p.created for p in pods), default=now) if created is None else created
    rs_meta = {"name": f"{meta['name']}-{thash}", "namespace": meta.get("namespace", "default"),
               "creationTimestamp": timestamp(created), "generation": 1, "labels": labels,
               "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": meta["name"],
                                    "uid": meta.get("uid", ""), "controller": True, "blockOwnerDeletion": True}]}
    # as upstream, the Deployment's own annotations (kubernetes.io/change-cause, ...) are copied on
    copied = {k: v for k, v in (meta.get("annotations") or {}).items() if k not in NOT_COPIED_ANNOTATIONS}
    if copied:
        rs_meta["annotations"] = copied
    if revision:
        rs_meta["annotations"] = {**copied, REVISION_ANNOTATION: str(revision),
                                  "deployment.kubernetes.io/desired-replicas": str(spec.get("replicas", 1)),
                                  "deployment.kubernetes.io/max-replicas": str(spec.get("replicas", 1)
                                                                               + fenceposts(spec)[0])}
    rs_spec = {"replicas": len(pods), "selector": selector,
               "template": {**template, "metadata": {**(template.get("metadata") or {}), "labels": labels}}}
    if min_ready:
        rs_spec["minReadySeconds"] = min_ready
    ready = sum(1 for p in pods if p.ready_since is not None)
    return {"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": rs_meta, "spec": rs_spec,
            "status": {"replicas": len(pods), "fullyLabeledReplicas": len(pods), "readyReplicas": ready,
                       "availableReplicas": sum(1 for p in pods if p.available(now, min_ready)),
                       "observedGeneration": 1}}


def track_ready(previous: Mapping[str, float], ready: Mapping[str, bool], now: float) -> dict[str, float]:
    """Pod key -> since when it has been Ready, from the last such map and the current readiness."""
    return {key: previous.get(key, now) for key, is_ready in ready.items() if is_ready}


def scaling_events(name: str, before: Mapping[str, int], after: Mapping[str, int]) -> list[str]:
    """The Deployment controller's ScalingReplicaSet messages for ReplicaSet sizes (template hash -> pods)."""
    out = []
    for thash in sorted(set(before) | set(after)):
        old, new = before.get(thash, 0), after.get(thash, 0)
        if old != new:
            way = "up" if new > old else "down"
            out.append(f"Scaled {way} replica set {name}-{thash} from {old} to {new}")
    return out
