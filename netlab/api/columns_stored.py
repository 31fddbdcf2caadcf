"""kubectl's `get` columns for the kinds netlab stores without acting on them (upstream's printers,
pkg/printers/internalversion): ConfigMap, ServiceAccount, Job, CronJob, RBAC, CRD, PodDisruptionBudget,
PriorityClass, Lease, LimitRange and the webhook configurations. Pure, as netlab.api.rows."""

from __future__ import annotations

from collections.abc import Callable

from netlab.api.humanize import NONE, _age, _meta, _parse_time, format_label_selector, human_duration

# (name, description, type, format, priority): netlab.api.columns makes them Columns (it imports this module)
Spec = tuple[str, str, str, str, int]
AGE: Spec = ("Age", "CreationTimestamp is a timestamp representing the server time when this object was created.",
             "string", "", 0)
_CREATED_AT: Spec = ("Created At", "CreationTimestamp is a timestamp representing the server time when this "
                     "object was created.", "string", "date", 0)


def Column(name: str, description: str, type_: str = "string") -> Spec:  # noqa: N802 (reads as columns.Column)
    return (name, description, type_, "", 0)


def _wide(name: str, description: str) -> Spec:
    return (name, description, "string", "", 1)


def _created_at(obj: dict, now: float, wide: bool) -> list[str]:
    return [_meta(obj).get("creationTimestamp") or ""]


def configmap_row(cm: dict, now: float, wide: bool) -> list[str]:
    return [str(len(cm.get("data") or {}) + len(cm.get("binaryData") or {})), _age(cm, now)]


def serviceaccount_row(sa: dict, now: float, wide: bool) -> list[str]:
    return [str(len(sa.get("secrets") or [])), _age(sa, now)]


def _template_cells(template: dict, selector: dict | None) -> list[str]:
    containers = ((template.get("spec") or {}).get("containers")) or []
    return [",".join(c.get("name", "") for c in containers), ",".join(c.get("image", "") for c in containers),
            format_label_selector(selector) if selector else NONE]


def _has(status: dict, kind: str) -> bool:
    return any(c.get("type") == kind and c.get("status") == "True" for c in status.get("conditions") or [])


def job_row(job: dict, now: float, wide: bool) -> list[str]:
    spec, status = job.get("spec") or {}, job.get("status") or {}
    state = next((s for s, cond in (("Complete", "Complete"), ("Failed", "Failed"), ("Suspended", "Suspended"))
                  if _has(status, cond)), "Terminating" if _meta(job).get("deletionTimestamp") else "Running")
    succeeded, completions, parallelism = status.get("succeeded", 0), spec.get("completions"), spec.get("parallelism")
    if completions is not None:
        done = f"{succeeded}/{completions}"
    elif parallelism is not None and parallelism > 1:
        done = f"{succeeded}/1 of {parallelism}"
    else:
        done = f"{succeeded}/1"
    cells = [state, done, _job_duration(status, now), _age(job, now)]
    return cells + (_template_cells(spec.get("template") or {}, spec.get("selector")) if wide else [])


def _job_duration(status: dict, now: float) -> str:
    """kubectl's DURATION: start to completion, or to now while it runs."""
    start, end = _parse_time(status.get("startTime")), _parse_time(status.get("completionTime"))
    if start is None:
        return ""
    return human_duration((end.timestamp() if end else now) - start.timestamp())


def cronjob_row(cj: dict, now: float, wide: bool) -> list[str]:
    spec, status = cj.get("spec") or {}, cj.get("status") or {}
    last = status.get("lastScheduleTime")
    cells = [spec.get("schedule", ""), spec.get("timeZone") or NONE, str(bool(spec.get("suspend"))),
             str(len(status.get("active") or [])), NONE if not last else last, _age(cj, now)]
    template = ((spec.get("jobTemplate") or {}).get("spec") or {})
    return cells + (_template_cells(template.get("template") or {}, template.get("selector")) if wide else [])


def binding_row(rb: dict, now: float, wide: bool) -> list[str]:
    ref = rb.get("roleRef") or {}
    cells = [f"{ref.get('kind', '')}/{ref.get('name', '')}", _age(rb, now)]
    if wide:
        subjects = rb.get("subjects") or []
        for kind in ("User", "Group"):
            cells.append(", ".join(s["name"] for s in subjects if s.get("kind") == kind))
        cells.append(", ".join(f"{s.get('namespace', '')}/{s['name']}" for s in subjects
                               if s.get("kind") == "ServiceAccount"))
    return cells


def pdb_row(pdb: dict, now: float, wide: bool) -> list[str]:
    spec = pdb.get("spec") or {}
    return [str(spec.get("minAvailable", "N/A")), str(spec.get("maxUnavailable", "N/A")),
            str((pdb.get("status") or {}).get("disruptionsAllowed", 0)), _age(pdb, now)]


def priorityclass_row(pc: dict, now: float, wide: bool) -> list[str]:
    return [str(pc.get("value", 0)), str(bool(pc.get("globalDefault"))).lower(), _age(pc, now),
            pc.get("preemptionPolicy") or "PreemptLowerPriority"]


def lease_row(lease: dict, now: float, wide: bool) -> list[str]:
    return [(lease.get("spec") or {}).get("holderIdentity") or "", _age(lease, now)]


def webhooks_row(config: dict, now: float, wide: bool) -> list[str]:
    return [str(len(config.get("webhooks") or [])), _age(config, now)]


_WORKLOAD_WIDE = (_wide("Containers", "Names of each container in the template."),
                  _wide("Images", "Images referenced by each container in the template."),
                  _wide("Selector", "Query over pods that should match the replicas count."))
Row = Callable[[dict, float, bool], list[str]]
_BINDING = ((Column("Role", "Role"), AGE, _wide("Users", "Users in the roleBinding"),
             _wide("Groups", "Groups in the roleBinding"),
             _wide("ServiceAccounts", "ServiceAccounts in the roleBinding")), binding_row)
_WEBHOOKS = ((Column("Webhooks", "Webhooks indicates the number of webhooks.", "integer"), AGE), webhooks_row)

STORED_COLUMNS: dict[str, tuple[tuple[Spec, ...], Row]] = {
    "ConfigMap": ((Column("Data", "The number of keys in the configmap.", "integer"), AGE), configmap_row),
    "ServiceAccount": ((Column("Secrets", "The number of secrets of the service account.", "integer"),
                                   AGE), serviceaccount_row),
    "Job": ((Column("Status", "Status of the job."),
                        Column("Completions", "The completion status of the job."),
                        Column("Duration", "Time required to complete the job."), AGE, *_WORKLOAD_WIDE), job_row),
    "CronJob": ((Column("Schedule", "The schedule in Cron format."),
                            Column("Timezone", "The time zone of the schedule."),
                            Column("Suspend", "Whether later executions are suspended.", "boolean"),
                            Column("Active", "The number of active jobs.", "integer"),
                            Column("Last Schedule", "When the job was last scheduled."), AGE, *_WORKLOAD_WIDE),
                           cronjob_row),
    "Role": ((_CREATED_AT,), _created_at),
    "ClusterRole": ((_CREATED_AT,), _created_at),
    "RoleBinding": _BINDING,
    "ClusterRoleBinding": _BINDING,
    "CustomResourceDefinition": ((_CREATED_AT,), _created_at),
    "LimitRange": ((_CREATED_AT,), _created_at),
    "PodDisruptionBudget": ((
        Column("Min Available", "The minimum number of pods that must be available."),
        Column("Max Unavailable", "The maximum number of pods that may be unavailable."),
        Column("Allowed Disruptions", "How many pods may be disrupted now.", "integer"), AGE), pdb_row),
    "PriorityClass": ((Column("Value", "The value of this priority class.", "integer"),
                                  Column("Global-Default", "Whether this is the default priority class.", "boolean"),
                                  AGE, Column("PreemptionPolicy", "The preemption policy of this class.")),
                                 priorityclass_row),
    "Lease": ((Column("Holder", "The holder of the lease."), AGE), lease_row),
    "ValidatingWebhookConfiguration": _WEBHOOKS,
    "MutatingWebhookConfiguration": _WEBHOOKS,
}
