"""Which nodes a DaemonSet runs a pod on, and its status. Pure.

A node qualifies when its labels match the pod template's nodeSelector and required node affinity, and
the template tolerates every NoSchedule/NoExecute taint of the node (as kind, the control-plane node is
tainted node-role.kubernetes.io/control-plane:NoSchedule when the cluster has workers).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from netlab.compile import label_selectors

CONTROL_PLANE_TAINT = {"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}


def tolerates(tolerations: Iterable[Mapping], taint: Mapping) -> bool:
    for t in tolerations:
        if t.get("effect") and t.get("effect") != taint.get("effect"):
            continue
        if t.get("operator") == "Exists":
            if not t.get("key") or t.get("key") == taint.get("key"):
                return True
        elif t.get("key") == taint.get("key") and (t.get("value") or "") == (taint.get("value") or ""):
            return True
    return False


def _number(value: str) -> int | None:
    try:
        return int(value)
    except ValueError:
        return None


def _expression_matches(expr: Mapping, labels: Mapping[str, str]) -> bool:
    """A NodeSelectorRequirement: the label selector operators, plus Gt and Lt on integer values."""
    key, op, values = expr.get("key", ""), expr.get("operator", ""), expr.get("values") or []
    if op in ("Gt", "Lt"):
        have = _number(labels[key]) if key in labels else None
        bound = _number(values[0]) if len(values) == 1 else None
        if have is None or bound is None:
            return False
        return have > bound if op == "Gt" else have < bound
    try:
        return label_selectors.requirement_matches(key, op, values, labels)
    except label_selectors.SelectorError:
        return False


def affinity_matches(spec: Mapping, node_name: str, labels: Mapping[str, str]) -> bool:
    """requiredDuringSchedulingIgnoredDuringExecution: any term matches (its expressions and fields all do)."""
    required = (((spec.get("affinity") or {}).get("nodeAffinity") or {})
                .get("requiredDuringSchedulingIgnoredDuringExecution") or {})
    terms = required.get("nodeSelectorTerms") or []
    if not terms:
        return True
    fields = {"metadata.name": node_name}
    return any(all(_expression_matches(e, labels) for e in term.get("matchExpressions") or [])
               and all(_expression_matches(e, fields) for e in term.get("matchFields") or [])
               and (term.get("matchExpressions") or term.get("matchFields"))
               for term in terms)


def node_matches(spec: Mapping, node_name: str, labels: Mapping[str, str], taints: Iterable[Mapping]) -> bool:
    selector = spec.get("nodeSelector") or {}
    if any(labels.get(k) != v for k, v in selector.items()):
        return False
    if not affinity_matches(spec, node_name, labels):
        return False
    tolerations = spec.get("tolerations") or []
    return all(tolerates(tolerations, t) for t in taints if t.get("effect") in ("NoSchedule", "NoExecute"))


def status(ds: Mapping, desired: int, pods: Iterable[tuple[bool, bool]]) -> dict:
    """The DaemonSet's status from its pods, (Ready, runs the current template) each."""
    pods = list(pods)
    ready = sum(1 for r, _ in pods if r)
    return {"observedGeneration": (ds.get("metadata") or {}).get("generation", 1),
            "desiredNumberScheduled": desired, "currentNumberScheduled": len(pods), "numberMisscheduled": 0,
            "numberReady": ready, "numberAvailable": ready, "numberUnavailable": max(desired - ready, 0),
            "updatedNumberScheduled": sum(1 for _, u in pods if u)}
