"""`kubectl get` rows of StatefulSets, DaemonSets and ReplicationControllers (upstream's printers' cells)."""

from __future__ import annotations

from netlab.api.humanize import NONE, _age
from netlab.api.rows import _containers_cells, _selector_string


def statefulset_row(sts: dict, now: float, wide: bool) -> list[str]:
    spec, status = sts.get("spec") or {}, sts.get("status") or {}
    row = [f"{status.get('readyReplicas') or 0}/{spec.get('replicas', 1)}", _age(sts, now)]
    return row + (_containers_cells(spec.get("template") or {}) if wide else [])


def daemonset_row(ds: dict, now: float, wide: bool) -> list[str]:
    spec, status = ds.get("spec") or {}, ds.get("status") or {}
    node_selector = ((spec.get("template") or {}).get("spec") or {}).get("nodeSelector") or {}
    row = [str(status.get(k) or 0) for k in ("desiredNumberScheduled", "currentNumberScheduled", "numberReady",
                                              "updatedNumberScheduled", "numberAvailable")]
    row += [",".join(f"{k}={v}" for k, v in node_selector.items()) or NONE, _age(ds, now)]
    if wide:
        row += _containers_cells(spec.get("template") or {}) + [_selector_string(spec.get("selector"))]
    return row


def replicationcontroller_row(rc: dict, now: float, wide: bool) -> list[str]:
    spec, status = rc.get("spec") or {}, rc.get("status") or {}
    row = [str(spec.get("replicas", 1)), str(status.get("replicas") or 0), str(status.get("readyReplicas") or 0),
           _age(rc, now)]
    if wide:
        selector = ",".join(f"{k}={v}" for k, v in (spec.get("selector") or {}).items())
        row += _containers_cells(spec.get("template") or {}) + [selector]
    return row
