"""A StatefulSet's pods, as its controller keeps them: stable names <sts>-0 .. <sts>-N-1. Pure.

OrderedReady (the default) creates one ordinal at a time, each once every lower one is Running and
Ready, and scales down from the highest ordinal, one pod per step; Parallel creates and removes all at
once. A pod that is deleted comes back under the same name. A changed template rolls out
(RollingUpdate, the default) from the highest ordinal down to `partition`, one pod at a time, each
replaced once every pod is Ready; with OnDelete a pod takes the new template when it is deleted.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

POD_NAME_LABEL = "statefulset.kubernetes.io/pod-name"
POD_INDEX_LABEL = "apps.kubernetes.io/pod-index"
REVISION_LABEL = "controller-revision-hash"


@dataclass(frozen=True)
class Step:
    keep: tuple[str, ...]  # existing pods that stay
    create: tuple[int, ...]  # ordinals to create now


def ordinal(sts_name: str, pod_name: str) -> int | None:
    """The ordinal of `pod_name` if it is one of `sts_name`'s pod names."""
    prefix = f"{sts_name}-"
    rest = pod_name[len(prefix):] if pod_name.startswith(prefix) else ""
    if not rest.isdigit() or (rest != "0" and rest.startswith("0")):
        return None
    return int(rest)


def plan(spec: Mapping, sts_name: str, existing: Mapping[str, str], ready: Mapping[str, bool],
         revision: str) -> Step:
    """One step of the controller: `existing` pod name -> its revision, `ready` pod name -> Ready,
    `revision` the template's current one."""
    replicas = spec.get("replicas", 1)
    start = (spec.get("ordinals") or {}).get("start", 0)
    wanted = range(start, start + replicas)
    have = {o: n for n in existing if (o := ordinal(sts_name, n)) is not None}
    extra = sorted((o for o in have if o not in wanted), reverse=True)
    keep = {o for o in have if o in wanted}
    if spec.get("podManagementPolicy") == "Parallel":
        create = tuple(o for o in wanted if o not in have)
    elif extra:  # scale down first, highest ordinal first, once every other pod is Ready
        others_ready = all(ready.get(have[o], False) for o in have if o != extra[0])
        keep |= set(extra[1:]) if others_ready else set(extra)
        return Step(tuple(have[o] for o in sorted(keep)), ())
    else:
        missing = next((o for o in wanted if o not in have), None)
        lower_ready = missing is not None and all(ready.get(have[o], False) for o in have if o < missing)
        create = (missing,) if lower_ready else ()
    if not create and not extra and all(ready.get(have[o], False) for o in keep):
        stale = _next_stale(spec, have, existing, revision)
        if stale is not None:  # delete it; the next step recreates it from the current template
            keep.discard(stale)
    return Step(tuple(have[o] for o in sorted(keep)), create)


def _next_stale(spec: Mapping, have: Mapping[int, str], existing: Mapping[str, str], revision: str) -> int | None:
    """The highest ordinal at or above the partition that runs an old revision, under RollingUpdate."""
    strategy = spec.get("updateStrategy") or {}
    if strategy.get("type", "RollingUpdate") != "RollingUpdate":
        return None
    partition = (strategy.get("rollingUpdate") or {}).get("partition", 0)
    stale = [o for o, n in have.items() if o >= partition and existing[n] != revision]
    return max(stale, default=None)


def pod_labels(template_labels: Mapping[str, str], sts_name: str, ordinal_: int, revision: str) -> dict[str, str]:
    return {**template_labels, POD_NAME_LABEL: f"{sts_name}-{ordinal_}", POD_INDEX_LABEL: str(ordinal_),
            REVISION_LABEL: revision}


def pod_spec(template_spec: Mapping, sts_spec: Mapping, pod_name: str) -> dict:
    """The template's spec with the pod's stable DNS identity: hostname = pod name, subdomain = serviceName."""
    spec = {**template_spec, "hostname": pod_name}
    if sts_spec.get("serviceName"):
        spec["subdomain"] = sts_spec["serviceName"]
    return spec


def status(sts: Mapping, revision: str, pods: Iterable[tuple[Mapping[str, str], bool]]) -> dict:
    """The StatefulSet's status from its pods, (labels, Ready) each."""
    pods = list(pods)
    ready = sum(1 for _, r in pods if r)
    updated = sum(1 for labels, _ in pods if labels.get(REVISION_LABEL) == revision)
    revisions = sorted({labels.get(REVISION_LABEL, "") for labels, _ in pods} - {revision, ""})
    current = revisions[0] if revisions and updated < len(pods) else revision
    out = {"observedGeneration": (sts.get("metadata") or {}).get("generation", 1), "replicas": len(pods),
           "readyReplicas": ready, "availableReplicas": ready, "currentReplicas": len(pods) - updated
           if current != revision else updated, "updatedReplicas": updated,
           "currentRevision": current, "updateRevision": revision, "collisionCount": 0}
    return out
