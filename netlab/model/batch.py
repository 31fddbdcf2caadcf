"""batch/v1: Job and CronJob, validated (their pod template as a Deployment's) and stored."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from .apps import PodTemplateSpec
from .meta import AnyDict, Issue, LabelSelector, Model, Resource, TemplateMeta, check_labels, check_selector
from .pod import check_pod_spec


class JobSpec(Model):
    template: PodTemplateSpec
    parallelism: int | None = None
    completions: int | None = None
    active_deadline_seconds: int | None = None
    backoff_limit: int | None = None
    backoff_limit_per_index: int | None = None
    max_failed_indexes: int | None = None
    selector: LabelSelector | None = None
    manual_selector: bool | None = None
    ttl_seconds_after_finished: int | None = None
    completion_mode: Literal["NonIndexed", "Indexed"] | None = None
    suspend: bool | None = None
    pod_failure_policy: AnyDict | None = None
    pod_replacement_policy: Literal["TerminatingOrFailed", "Failed"] | None = None
    success_policy: AnyDict | None = None
    managed_by: str | None = None


def check_job_spec(spec: JobSpec, path: str) -> list[Issue]:
    issues: list[Issue] = []
    for field in ("parallelism", "completions", "backoff_limit", "ttl_seconds_after_finished"):
        value = getattr(spec, field)
        if value is not None and value < 0:
            camel = "".join(w if i == 0 else w.title() for i, w in enumerate(field.split("_")))
            issues.append((f"{path}.{camel}", f"must be greater than or equal to 0, got {value}"))
    if spec.active_deadline_seconds is not None and spec.active_deadline_seconds < 1:
        issues.append((f"{path}.activeDeadlineSeconds", "must be greater than 0"))
    if spec.selector is not None:
        issues += check_selector(spec.selector, f"{path}.selector")
    issues += check_labels(spec.template.metadata.labels, f"{path}.template.metadata.labels")
    issues += check_pod_spec(spec.template.spec, f"{path}.template.spec")
    if spec.template.spec.restart_policy not in ("OnFailure", "Never"):
        issues.append((f"{path}.template.spec.restartPolicy",
                       f'unsupported value "{spec.template.spec.restart_policy}"; supported values: '
                       '"OnFailure", "Never"'))
    return issues


def default_job_spec(spec: JobSpec) -> None:
    """The API server's defaults for a Job's spec (its selector and controller-uid labels are added where the
    API shows the Job: api/views.py)."""
    if spec.completions is None and spec.parallelism is None:
        spec.completions = 1
    if spec.parallelism is None:
        spec.parallelism = 1
    if spec.backoff_limit is None:
        spec.backoff_limit = 6
    if spec.completion_mode is None:
        spec.completion_mode = "NonIndexed"
    if spec.suspend is None:
        spec.suspend = False
    if spec.pod_replacement_policy is None and spec.pod_failure_policy is None:
        spec.pod_replacement_policy = "TerminatingOrFailed"


class Job(Resource):
    api_version: Literal["batch/v1"] = "batch/v1"
    kind: Literal["Job"] = "Job"
    spec: JobSpec

    def normalise(self) -> None:
        super().normalise()
        default_job_spec(self.spec)

    def issues(self) -> list[Issue]:
        return super().issues() + check_job_spec(self.spec, "spec")


class JobTemplateSpec(Model):
    metadata: TemplateMeta = Field(default_factory=TemplateMeta)
    spec: JobSpec


class CronJobSpec(Model):
    schedule: str
    job_template: JobTemplateSpec
    time_zone: str | None = None
    starting_deadline_seconds: int | None = None
    concurrency_policy: Literal["Allow", "Forbid", "Replace"] | None = None
    suspend: bool | None = None
    successful_jobs_history_limit: int | None = None
    failed_jobs_history_limit: int | None = None


_MACROS = ("@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly")


class CronJob(Resource):
    api_version: Literal["batch/v1"] = "batch/v1"
    kind: Literal["CronJob"] = "CronJob"
    spec: CronJobSpec

    def normalise(self) -> None:
        super().normalise()
        spec = self.spec
        spec.concurrency_policy = spec.concurrency_policy or "Allow"
        spec.suspend = bool(spec.suspend)
        if spec.successful_jobs_history_limit is None:
            spec.successful_jobs_history_limit = 3
        if spec.failed_jobs_history_limit is None:
            spec.failed_jobs_history_limit = 1
        default_job_spec(spec.job_template.spec)

    def issues(self) -> list[Issue]:
        issues = super().issues() + check_job_spec(self.spec.job_template.spec, "spec.jobTemplate.spec")
        schedule = self.spec.schedule.strip()
        if schedule.startswith("TZ=") or schedule.startswith("CRON_TZ="):
            schedule = schedule.split(None, 1)[1] if " " in schedule else ""
        if not (schedule in _MACROS or schedule.startswith("@every ") or len(schedule.split()) == 5):
            issues.append(("spec.schedule", f"invalid schedule {self.spec.schedule!r}: expected 5 fields "
                                            "(minute hour day-of-month month day-of-week) or a macro like @hourly"))
        return issues
