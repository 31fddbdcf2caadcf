"""Kinds other controllers act on in a real cluster; netlab validates, stores and shows them:
PodDisruptionBudget, HorizontalPodAutoscaler (autoscaling/v2), PriorityClass, Lease and the admission
webhook configurations."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field

from .meta import AnyDict, IntOrString, Issue, LabelSelector, Model, Resource, check_selector


class PodDisruptionBudgetSpec(Model):
    min_available: IntOrString | None = None
    max_unavailable: IntOrString | None = None
    selector: LabelSelector | None = None
    unhealthy_pod_eviction_policy: Literal["IfHealthyBudget", "AlwaysAllow"] | None = None


class PodDisruptionBudget(Resource):
    api_version: Literal["policy/v1"] = "policy/v1"
    kind: Literal["PodDisruptionBudget"] = "PodDisruptionBudget"
    spec: PodDisruptionBudgetSpec = Field(default_factory=PodDisruptionBudgetSpec)

    def issues(self) -> list[Issue]:
        issues = super().issues()
        if self.spec.min_available is not None and self.spec.max_unavailable is not None:
            issues.append(("spec", "minAvailable and maxUnavailable cannot be both set"))
        if self.spec.selector is not None:
            issues += check_selector(self.spec.selector, "spec.selector")
        return issues


class CrossVersionObjectReference(Model):
    kind: str
    name: str
    api_version: str | None = None


class HorizontalPodAutoscalerSpec(Model):
    scale_target_ref: CrossVersionObjectReference
    max_replicas: int
    min_replicas: int | None = None
    metrics: list[AnyDict] | None = None
    behavior: AnyDict | None = None


class HorizontalPodAutoscaler(Resource):
    api_version: Literal["autoscaling/v2"] = "autoscaling/v2"
    kind: Literal["HorizontalPodAutoscaler"] = "HorizontalPodAutoscaler"
    spec: HorizontalPodAutoscalerSpec

    def issues(self) -> list[Issue]:
        issues = super().issues()
        low = self.spec.min_replicas if self.spec.min_replicas is not None else 1
        if low < 1:
            issues.append(("spec.minReplicas", f"must be greater than or equal to 1, got {low}"))
        if self.spec.max_replicas < low:
            issues.append(("spec.maxReplicas", "must be greater than or equal to minReplicas"))
        return issues


class PriorityClass(Resource):
    NAMESPACED: ClassVar[bool] = False
    api_version: Literal["scheduling.k8s.io/v1"] = "scheduling.k8s.io/v1"
    kind: Literal["PriorityClass"] = "PriorityClass"
    value: int
    global_default: bool | None = None
    description: str | None = None
    preemption_policy: Literal["PreemptLowerPriority", "Never"] | None = None

    def issues(self) -> list[Issue]:
        issues = super().issues()
        if self.value > 1_000_000_000 and not self.name.startswith("system-"):
            issues.append(("value", "must not be greater than 1000000000 (only system- classes may be)"))
        return issues


class LeaseSpec(Model):
    holder_identity: str | None = None
    lease_duration_seconds: int | None = None
    acquire_time: Any = None
    renew_time: Any = None
    lease_transitions: int | None = None
    strategy: str | None = None
    preferred_holder: str | None = None


class Lease(Resource):
    api_version: Literal["coordination.k8s.io/v1"] = "coordination.k8s.io/v1"
    kind: Literal["Lease"] = "Lease"
    spec: LeaseSpec = Field(default_factory=LeaseSpec)


# --- admissionregistration.k8s.io/v1 -------------------------------------------------------------------

class ServiceReference(Model):
    namespace: str
    name: str
    path: str | None = None
    port: int | None = None


class WebhookClientConfig(Model):
    url: str | None = None
    service: ServiceReference | None = None
    ca_bundle: str | None = None


class RuleWithOperations(Model):
    operations: list[Literal["*", "CREATE", "UPDATE", "DELETE", "CONNECT"]] | None = None
    api_groups: list[str] | None = None
    api_versions: list[str] | None = None
    resources: list[str] | None = None
    scope: Literal["*", "Cluster", "Namespaced"] | None = None


class ValidatingWebhook(Model):
    name: str
    client_config: WebhookClientConfig
    admission_review_versions: list[str]
    side_effects: Literal["None", "NoneOnDryRun", "Some", "Unknown"]
    rules: list[RuleWithOperations] | None = None
    failure_policy: Literal["Ignore", "Fail"] | None = None
    match_policy: Literal["Exact", "Equivalent"] | None = None
    namespace_selector: LabelSelector | None = None
    object_selector: LabelSelector | None = None
    timeout_seconds: int | None = None
    match_conditions: list[AnyDict] | None = None


class MutatingWebhook(ValidatingWebhook):
    reinvocation_policy: Literal["Never", "IfNeeded"] | None = None


def _check_webhooks(webhooks: list[ValidatingWebhook]) -> list[Issue]:
    issues: list[Issue] = []
    seen: set[str] = set()
    for i, hook in enumerate(webhooks):
        path = f"webhooks[{i}]"
        if hook.name in seen:
            issues.append((f"{path}.name", f"duplicate webhook name {hook.name!r}"))
        seen.add(hook.name)
        if "." not in hook.name:
            issues.append((f"{path}.name", "should be a domain with at least three segments separated by dots"))
        config = hook.client_config
        if (config.url is None) == (config.service is None):
            issues.append((f"{path}.clientConfig", "exactly one of url or service is required"))
        if hook.timeout_seconds is not None and not 1 <= hook.timeout_seconds <= 30:
            issues.append((f"{path}.timeoutSeconds", "must be between 1 and 30 seconds"))
    return issues


class _WebhookConfiguration(Resource):
    NAMESPACED: ClassVar[bool] = False
    webhooks: list

    def issues(self) -> list[Issue]:
        return super().issues() + _check_webhooks(list(self.webhooks))


class ValidatingWebhookConfiguration(_WebhookConfiguration):
    api_version: Literal["admissionregistration.k8s.io/v1"] = "admissionregistration.k8s.io/v1"
    kind: Literal["ValidatingWebhookConfiguration"] = "ValidatingWebhookConfiguration"
    webhooks: list[ValidatingWebhook] = Field(default_factory=list)


class MutatingWebhookConfiguration(_WebhookConfiguration):
    api_version: Literal["admissionregistration.k8s.io/v1"] = "admissionregistration.k8s.io/v1"
    kind: Literal["MutatingWebhookConfiguration"] = "MutatingWebhookConfiguration"
    webhooks: list[MutatingWebhook] = Field(default_factory=list)
