"""A Deployment's ReplicaSets: the history of its templates (revision, template, creation) kept across
rollouts, pruned to `revisionHistoryLimit`, and the ReplicaSet objects the API lists. Pure.

History: "ns/deployment" -> {template hash: {"revision": int, "template": dict, "created": float}}.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from netlab.compile import rollout
from netlab.compile.workloads import PlacedPod, deployment_pods, namespaced_name, pod_infos, template_hash

DEFAULT_HISTORY_LIMIT = 10


def _template_of(pod: PlacedPod) -> dict:
    """The template a pod was made from, as far as the pod tells (for pods older than the history)."""
    labels = {k: v for k, v in pod.labels.items() if k != "pod-template-hash"}
    return {"metadata": {"labels": labels}, "spec": pod.spec}


def history(objects: Iterable[dict], pods: Mapping[str, PlacedPod], previous: Mapping[str, dict],
            now: float) -> dict[str, dict]:
    """Every Deployment's ReplicaSet history after its pods and template as they are now.

    The current template's record gets the highest revision (a template that comes back, as with
    `kubectl rollout undo`, is renumbered as upstream does); old records without pods beyond
    revisionHistoryLimit are dropped, oldest revision first."""
    out = {}
    for deploy in (o for o in objects if o["kind"] == "Deployment"):
        key, spec = namespaced_name(deploy), deploy["spec"]
        records = {h: dict(r) for h, r in (previous.get(key) or {}).items()}
        owned = deployment_pods(deploy, pods.values())
        for p in owned:
            if p.template_hash and p.template_hash not in records:
                records[p.template_hash] = {"revision": p.revision or 0, "template": _template_of(p),
                                            "created": p.created}
        thash = template_hash(spec["template"])
        top = max((r["revision"] for h, r in records.items() if h != thash), default=0)
        current = records.get(thash)
        if current is None or current["revision"] <= top or current["template"] != spec["template"]:
            revision = current["revision"] if current is not None and current["revision"] > top else top + 1
            records[thash] = {"revision": revision, "template": spec["template"],
                              "created": current["created"] if current else now}
        running = {p.template_hash for p in owned}
        idle = sorted((r["revision"], h) for h, r in records.items() if h != thash and h not in running)
        limit = spec.get("revisionHistoryLimit", DEFAULT_HISTORY_LIMIT)
        for _, h in idle[:max(len(idle) - limit, 0)]:
            del records[h]
        out[key] = records
    return out


def replicasets(deploy: dict, records: Mapping[str, dict], pods: Mapping[str, PlacedPod],
                ready_since: Mapping[str, float], now: float) -> list[dict]:
    """The ReplicaSets the Deployment owns: one per recorded template (old ones at 0 replicas), per
    template its pods run, and its current one."""
    thash = template_hash(deploy["spec"]["template"])
    groups: dict[str, list[PlacedPod]] = {h: [] for h in records} | {thash: []}
    for p in deployment_pods(deploy, pods.values()):
        groups.setdefault(p.template_hash or "", []).append(p)
    top = max([r["revision"] for r in records.values()] + [p.revision or 0 for g in groups.values() for p in g],
              default=0)
    out = []
    for h, group in groups.items():
        record = records.get(h)
        if record is not None:
            template, revision, created = record["template"], record["revision"], record["created"]
        elif h == thash:  # applied since the last tick recorded history
            template, created = None, None
            revision = next((p.revision for p in group if p.revision), top + 1)
        else:
            template, revision, created = _template_of(group[0]), group[0].revision, group[0].created
        out.append(rollout.replicaset_object(deploy, h, pod_infos(group, ready_since), revision, now,
                                             template if h != thash else None, created))
    return out
