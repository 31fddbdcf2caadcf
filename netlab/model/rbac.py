"""rbac.authorization.k8s.io/v1: Role, ClusterRole, RoleBinding, ClusterRoleBinding. Stored and shown;
netlab has one admin user and does not enforce them."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from .meta import Issue, LabelSelector, Model, Resource

RBAC = "rbac.authorization.k8s.io/v1"


class PolicyRule(Model):
    verbs: list[str]
    api_groups: list[str] | None = None
    resources: list[str] | None = None
    resource_names: list[str] | None = None
    non_resource_ur_ls: list[str] | None = Field(None, alias="nonResourceURLs")


class AggregationRule(Model):
    cluster_role_selectors: list[LabelSelector] | None = None


class RoleRef(Model):
    api_group: str
    kind: Literal["Role", "ClusterRole"]
    name: str


class Subject(Model):
    kind: Literal["User", "Group", "ServiceAccount"]
    name: str
    api_group: str | None = None
    namespace: str | None = None


def _check_rules(rules: list[PolicyRule], namespaced: bool) -> list[Issue]:
    issues = []
    for i, rule in enumerate(rules):
        if not rule.verbs:
            issues.append((f"rules[{i}].verbs", "verbs must contain at least one value"))
        if rule.non_resource_ur_ls and namespaced:
            issues.append((f"rules[{i}].nonResourceURLs", "namespaced rules cannot apply to non-resource URLs"))
        if not rule.non_resource_ur_ls and rule.api_groups is None:
            issues.append((f"rules[{i}].apiGroups", "resource rules must supply at least one api group"))
    return issues


class Role(Resource):
    api_version: Literal["rbac.authorization.k8s.io/v1"] = RBAC
    kind: Literal["Role"] = "Role"
    rules: list[PolicyRule] = Field(default_factory=list)

    def issues(self) -> list[Issue]:
        return super().issues() + _check_rules(self.rules, True)


class ClusterRole(Resource):
    NAMESPACED: ClassVar[bool] = False
    api_version: Literal["rbac.authorization.k8s.io/v1"] = RBAC
    kind: Literal["ClusterRole"] = "ClusterRole"
    rules: list[PolicyRule] = Field(default_factory=list)
    aggregation_rule: AggregationRule | None = None

    def issues(self) -> list[Issue]:
        return super().issues() + _check_rules(self.rules, False)


class RoleBinding(Resource):
    api_version: Literal["rbac.authorization.k8s.io/v1"] = RBAC
    kind: Literal["RoleBinding"] = "RoleBinding"
    role_ref: RoleRef
    subjects: list[Subject] | None = None


class ClusterRoleBinding(Resource):
    NAMESPACED: ClassVar[bool] = False
    api_version: Literal["rbac.authorization.k8s.io/v1"] = RBAC
    kind: Literal["ClusterRoleBinding"] = "ClusterRoleBinding"
    role_ref: RoleRef
    subjects: list[Subject] | None = None

    def issues(self) -> list[Issue]:
        issues = super().issues()
        if self.role_ref.kind != "ClusterRole":
            issues.append(("roleRef.kind", 'must be "ClusterRole" in a ClusterRoleBinding'))
        return issues
