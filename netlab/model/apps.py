"""apps/v1 kinds: Deployment and ReplicaSet."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from netlab.compile.rollout import strategy_problems

from .meta import (
    IntOrString,
    Issue,
    LabelSelector,
    Model,
    Resource,
    TemplateMeta,
    check_annotations,
    check_labels,
    check_selector,
)
from .pod import PodSpec, check_pod_spec


class PodTemplateSpec(Model):
    metadata: TemplateMeta = Field(default_factory=TemplateMeta)
    spec: PodSpec


class RollingUpdateDeployment(Model):
    max_surge: IntOrString | None = Field(None, description=(
        "How many pods may exist above the desired replicas during a rollout: a number or a percentage of "
        "replicas (rounded up). Default 25%."))
    max_unavailable: IntOrString | None = Field(None, description=(
        "How many of the desired replicas may be unavailable during a rollout: a number or a percentage "
        "(rounded down). Default 25%; may be 0 only if maxSurge is not."))


class DeploymentStrategy(Model):
    type: Literal["RollingUpdate", "Recreate"] = Field("RollingUpdate", description=(
        "RollingUpdate (default) replaces pods gradually, within maxSurge and maxUnavailable; Recreate stops "
        "all old pods before starting new ones."))
    rolling_update: RollingUpdateDeployment | None = Field(None, description=(
        "The limits of a rolling update; only with type RollingUpdate."))


class ReplicaSetSpec(Model):
    replicas: int = Field(1, description="How many pods to run. Default 1.")
    selector: LabelSelector = Field(description=(
        "The label query that finds the pods this workload owns; it must match the template's labels."))
    template: PodTemplateSpec = Field(description="The pods to make: their labels and their spec.")
    min_ready_seconds: int | None = Field(None, description=(
        "How long a new pod must be ready, without a container crashing, to count as available. Default 0."))


class DeploymentSpec(ReplicaSetSpec):
    strategy: DeploymentStrategy = Field(default_factory=DeploymentStrategy, description=(
        "How old pods are replaced by new ones when the template changes."))
    revision_history_limit: int | None = None
    progress_deadline_seconds: int | None = None
    paused: bool | None = None


def check_workload_spec(spec: ReplicaSetSpec, path: str = "spec") -> list[Issue]:
    issues: list[Issue] = []
    if spec.replicas < 0:
        issues.append((f"{path}.replicas", f"must be greater than or equal to 0, got {spec.replicas}"))
    issues += check_selector(spec.selector, f"{path}.selector")
    labels = spec.template.metadata.labels
    if spec.selector.is_empty():
        issues.append((f"{path}.selector", "empty selector is invalid; it must select the template labels"))
    elif not spec.selector.matches(labels):
        issues.append((f"{path}.selector", "selector does not match template labels"))
    issues += check_labels(labels, f"{path}.template.metadata.labels")
    issues += check_annotations(spec.template.metadata.annotations, f"{path}.template.metadata.annotations")
    issues += check_pod_spec(spec.template.spec, f"{path}.template.spec")
    if spec.template.spec.restart_policy != "Always":
        issues.append((f"{path}.template.spec.restartPolicy",
                       f"must be Always for a workload, got {spec.template.spec.restart_policy}"))
    return issues


class ReplicaSet(Resource):
    api_version: Literal["apps/v1"] = "apps/v1"
    kind: Literal["ReplicaSet"] = "ReplicaSet"
    spec: ReplicaSetSpec

    def issues(self) -> list[Issue]:
        return super().issues() + check_workload_spec(self.spec)


class Deployment(Resource):
    api_version: Literal["apps/v1"] = "apps/v1"
    kind: Literal["Deployment"] = "Deployment"
    spec: DeploymentSpec

    def issues(self) -> list[Issue]:
        # pods are <deployment>-<template hash, 10>-<5 random>
        strategy = {"strategy": self.spec.strategy.model_dump(by_alias=True, exclude_none=True, mode="json")}
        return super().issues() + check_workload_spec(self.spec) + strategy_problems(strategy)
