"""The API server's defaults and the checks netlab needs for the pod-making kinds it stores without a
full model: StatefulSet, DaemonSet and ReplicationController (their controllers: compile/podsets.py)."""

from __future__ import annotations

from collections.abc import MutableMapping

from netlab.compile import label_selectors

KINDS = ("StatefulSet", "DaemonSet", "ReplicationController")


def apply_defaults(kind: str, fields: MutableMapping) -> None:
    """Fill in `fields` (the object's top-level fields besides metadata) as the API server would."""
    spec = fields.get("spec")
    if kind not in KINDS or not isinstance(spec, dict):
        return
    template = spec.get("template") if isinstance(spec.get("template"), dict) else {}
    labels = (template.get("metadata") or {}).get("labels") or {}
    if kind == "ReplicationController":
        spec.setdefault("replicas", 1)
        if not spec.get("selector") and labels:
            spec["selector"] = dict(labels)
        return
    spec.setdefault("revisionHistoryLimit", 10)
    if kind == "StatefulSet":
        spec.setdefault("replicas", 1)
        spec.setdefault("podManagementPolicy", "OrderedReady")
        strategy = spec.setdefault("updateStrategy", {"type": "RollingUpdate"})
        if strategy.get("type", "RollingUpdate") == "RollingUpdate":
            strategy.setdefault("type", "RollingUpdate")
            strategy.setdefault("rollingUpdate", {}).setdefault("partition", 0)
        spec.setdefault("persistentVolumeClaimRetentionPolicy", {"whenDeleted": "Retain", "whenScaled": "Retain"})
    else:
        strategy = spec.setdefault("updateStrategy", {"type": "RollingUpdate"})
        if strategy.get("type", "RollingUpdate") == "RollingUpdate":
            strategy.setdefault("type", "RollingUpdate")
            rolling = strategy.setdefault("rollingUpdate", {})
            rolling.setdefault("maxUnavailable", 1)
            rolling.setdefault("maxSurge", 0)


def problems(kind: str, fields: MutableMapping) -> list[tuple[str, str]]:
    """(field, message) for what would keep the controller from making pods."""
    if kind not in KINDS:
        return []
    spec = fields.get("spec")
    if not isinstance(spec, dict):
        return [("spec", "required field is missing")]
    out = []
    template = spec.get("template")
    if not isinstance(template, dict) or not isinstance(template.get("spec"), dict):
        return [("spec.template", "required field is missing")]
    containers = template["spec"].get("containers")
    if not isinstance(containers, list) or not containers:
        out.append(("spec.template.spec.containers", "required value"))
    replicas = spec.get("replicas", 1)
    if not isinstance(replicas, int) or replicas < 0:
        out.append(("spec.replicas", f"must be an integer >= 0, got {replicas!r}"))
    labels = (template.get("metadata") or {}).get("labels") or {}
    selector = spec.get("selector") or {}
    rc = kind == "ReplicationController"
    if not rc and not selector:
        out.append(("spec.selector", "required field is missing"))
    elif not (label_selectors.matches_map if rc else label_selectors.matches)(selector, labels):
        out.append(("spec.template.metadata.labels", "`selector` does not match template `labels`"))
    if kind == "DaemonSet" and template["spec"].get("restartPolicy", "Always") != "Always":
        out.append(("spec.template.spec.restartPolicy", "must be Always for a DaemonSet"))
    return out
