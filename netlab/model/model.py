"""The registry of supported kinds, dispatch on apiVersion/kind, and pydantic error translation."""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from typing import Any

from pydantic import ValidationError

from . import crd_schema, limits
from .apps import Deployment, ReplicaSet
from .batch import CronJob, Job
from .cluster import KIND_API_VERSION, NETLAB_API_VERSION, Cluster, default_cluster
from .core import NODE_PORT_RANGE, Endpoints, Namespace, Secret, Service
from .crd import UNMODELLED, CustomResourceDefinition, GenericObject, KindInfo, find_kind
from .discovery import EndpointSlice
from .gateway import KINDS as GATEWAY_KINDS
from .meta import ObjectMeta, Resource, check_meta, json_type, key_path
from .networking import Ingress, IngressClass, NetworkPolicy
from .pod import Pod
from .policy import (
    HorizontalPodAutoscaler,
    Lease,
    MutatingWebhookConfiguration,
    PodDisruptionBudget,
    PriorityClass,
    ValidatingWebhookConfiguration,
)
from .problems import ManifestError, Problem, Source
from .rbac import ClusterRole, ClusterRoleBinding, Role, RoleBinding
from .stored_core import ConfigMap, LimitRange, PersistentVolumeClaim, ResourceQuota, ServiceAccount

K8sObject = (Namespace | Pod | Service | Endpoints | Secret | Deployment | ReplicaSet | EndpointSlice
             | Ingress | IngressClass | NetworkPolicy | Cluster | GenericObject | Resource)

#: kind -> {apiVersion: class}
KINDS: dict[str, dict[str, type[Resource] | type[Cluster]]] = {
    "Namespace": {"v1": Namespace},
    "Pod": {"v1": Pod},
    "Service": {"v1": Service},
    "Endpoints": {"v1": Endpoints},
    "Secret": {"v1": Secret},
    "Deployment": {"apps/v1": Deployment},
    "ReplicaSet": {"apps/v1": ReplicaSet},
    "EndpointSlice": {"discovery.k8s.io/v1": EndpointSlice},
    "Ingress": {"networking.k8s.io/v1": Ingress},
    "IngressClass": {"networking.k8s.io/v1": IngressClass},
    "NetworkPolicy": {"networking.k8s.io/v1": NetworkPolicy},
    "Cluster": {KIND_API_VERSION: Cluster, NETLAB_API_VERSION: Cluster},
    # stored and shown; netlab does not act on them (pods read ConfigMaps)
    "ServiceAccount": {"v1": ServiceAccount},
    "ConfigMap": {"v1": ConfigMap},
    "LimitRange": {"v1": LimitRange},
    "ResourceQuota": {"v1": ResourceQuota},
    "PersistentVolumeClaim": {"v1": PersistentVolumeClaim},
    "Role": {"rbac.authorization.k8s.io/v1": Role},
    "ClusterRole": {"rbac.authorization.k8s.io/v1": ClusterRole},
    "RoleBinding": {"rbac.authorization.k8s.io/v1": RoleBinding},
    "ClusterRoleBinding": {"rbac.authorization.k8s.io/v1": ClusterRoleBinding},
    "PodDisruptionBudget": {"policy/v1": PodDisruptionBudget},
    "HorizontalPodAutoscaler": {"autoscaling/v2": HorizontalPodAutoscaler},
    "PriorityClass": {"scheduling.k8s.io/v1": PriorityClass},
    "Lease": {"coordination.k8s.io/v1": Lease},
    "ValidatingWebhookConfiguration": {"admissionregistration.k8s.io/v1": ValidatingWebhookConfiguration},
    "MutatingWebhookConfiguration": {"admissionregistration.k8s.io/v1": MutatingWebhookConfiguration},
    "Job": {"batch/v1": Job},
    "CronJob": {"batch/v1": CronJob},
    "CustomResourceDefinition": {"apiextensions.k8s.io/v1": CustomResourceDefinition},
}
SUPPORTED_KINDS = sorted(KINDS)
CLUSTER_SCOPED = frozenset({"Cluster", *(k for k, vs in KINDS.items() for c in vs.values()
                                         if issubclass(c, Resource) and not c.NAMESPACED),
                            *(k.kind for k in (*UNMODELLED, *GATEWAY_KINDS) if not k.namespaced)})

__all__ = ["CLUSTER_SCOPED", "KINDS", "K8sObject", "SUPPORTED_KINDS", "default_cluster", "describe",
           "error_path", "from_dict", "parse_one"]


def describe(data: dict, source: Source | None) -> str:
    """``Kind namespace/name``, ``Kind name`` (cluster-scoped) or ``document N`` when there is no name."""
    kind = data.get("kind")
    if kind == "Cluster":
        name = data.get("name", "netlab")
        return f"Cluster {name}" if isinstance(name, str) else _doc_label(source)
    meta = data.get("metadata")
    name = meta.get("name") if isinstance(meta, dict) else None
    if not isinstance(kind, str) or not isinstance(name, str) or not name:
        return _doc_label(source)
    if kind in CLUSTER_SCOPED:
        return f"{kind} {name}"
    namespace = meta.get("namespace") if isinstance(meta, dict) else None
    return f"{kind} {namespace if isinstance(namespace, str) and namespace else 'default'}/{name}"


def _doc_label(source: Source | None) -> str:
    return f"document {source.doc + 1}" if source is not None else "document"


def error_path(loc: tuple[str | int, ...]) -> str:
    """pydantic loc -> ``spec.ports[0].port`` / ``metadata.labels[app.kubernetes.io/name]``."""
    path = ""
    for part in loc:
        path = f"{path}[{part}]" if isinstance(part, int) else key_path(path, part)
    return path


_EXPECTED = {
    "int_type": "integer", "int_parsing": "integer", "int_from_float": "integer",
    "string_type": "string", "bool_type": "boolean", "bool_parsing": "boolean",
    "dict_type": "object", "model_type": "object", "model_attributes_type": "object",
    "list_type": "array", "float_type": "number",
}


def error_message(err: dict[str, Any]) -> str:
    kind = err["type"]
    value = err.get("input")
    if kind == "missing":
        return "required field is missing"
    if kind == "extra_forbidden":
        return f'unknown field "{err["loc"][-1]}"'
    if kind in _EXPECTED:
        return f"expected {_EXPECTED[kind]}, got {json_type(value)}"
    if kind == "literal_error":
        allowed = re.findall(r"'([^']*)'", err.get("ctx", {}).get("expected", ""))
        got = f'"{value}"' if isinstance(value, str) else json_type(value)
        return f"unsupported value {got}; supported values: " + ", ".join(
            f'"{a}"' for a in allowed)
    message = str(err.get("msg", kind))
    return message.removeprefix("Value error, ")


def parse_one(data: dict, source: Source | None = None, node_port_range: tuple[int, int] = NODE_PORT_RANGE,
              batch: tuple[KindInfo, ...] = ()) -> tuple[K8sObject | None, list[Problem]]:
    """Validate one raw document: (object, []) or (None or object, problems). `batch`: the kinds the CRDs
    given with it define."""
    obj_label = describe(data, source)

    def problem(field: str, message: str) -> Problem:
        return Problem(source, obj_label, field, message)

    kind = data.get("kind")
    api_version = data.get("apiVersion")
    if kind is None:
        return None, [problem("kind", "required field is missing")]
    if not isinstance(kind, str):
        return None, [problem("kind", f"expected string, got {json_type(kind)}")]
    if api_version is None:
        return None, [problem("apiVersion", "required field is missing")]
    if kind not in KINDS:
        return _parse_generic(data, kind, api_version, batch, problem)
    versions = KINDS[kind]
    if api_version not in versions:
        expected = " or ".join(f'"{v}"' for v in versions)
        got = f'"{api_version}"' if isinstance(api_version, str) else json_type(api_version)
        message = f"unsupported apiVersion {got} for kind {kind}; expected {expected}"
        return None, [problem("apiVersion", message)]
    cls = versions[api_version]
    too_large = limits.object_size_problem(data)
    found = [problem("", too_large)] if too_large else []
    try:
        obj: Any = cls.model_validate(data)
    except ValidationError as exc:
        found += [problem(error_path(e["loc"]), error_message(e)) for e in exc.errors()]
        salvaged = _salvage(cls, data, exc.errors())
        if salvaged is not None:
            rest, cut = salvaged
            found += [problem(path, message) for path, message in _issues(rest, node_port_range)
                      if not any(_related(path, c) for c in cut)]
        elif not any(e["loc"][:1] == ("metadata",) for e in exc.errors()):
            found += [problem(path, message) for path, message in _meta_issues(cls, data)]
        return None, found
    return obj, found + [problem(path, message) for path, message in _issues(obj, node_port_range)]


def _parse_generic(data: dict, kind: str, api_version: Any, batch: tuple[KindInfo, ...],
                   problem: Callable[[str, str], Problem]) -> tuple[K8sObject | None, list[Problem]]:
    """An object of a kind netlab has no model for: a built-in kind it only stores, or a custom resource."""
    if not isinstance(api_version, str) or api_version.count("/") > 1 or not api_version.strip("/"):
        got = f'"{api_version}"' if isinstance(api_version, str) else json_type(api_version)
        return None, [problem("apiVersion", f"invalid apiVersion {got}: expected \"version\" or \"group/version\"")]
    info, refused = find_kind(api_version, kind, batch)
    if refused is not None:
        return None, [problem("kind", refused)]
    too_large = limits.object_size_problem(data)
    found = [problem("", too_large)] if too_large else []
    try:
        obj = GenericObject.model_validate(data)
    except ValidationError as exc:
        return None, found + [problem(error_path(e["loc"]), error_message(e)) for e in exc.errors()]
    obj._namespaced = info.namespaced if info is not None else None
    obj.normalise()
    issues = obj.issues()
    schema = info.schemas.get(api_version.rpartition("/")[2]) if info is not None else None
    if schema is not None:   # a CRD's kind: its openAPIV3Schema, as the API server checks it
        issues += crd_schema.check(data, schema, root=True)
    return obj, found + [problem(path, message) for path, message in issues]


def _issues(obj: Any, node_port_range: tuple[int, int]) -> list[tuple[str, str]]:
    obj.normalise()
    return obj.issues(node_port_range) if isinstance(obj, Service) else obj.issues()


Cut = tuple[str, int | None]  # a field path, or a list's path and the first index removed from it


def _meta_issues(cls: Any, data: dict) -> list[tuple[str, str]]:
    """The metadata's own problems, when the rest of the object is past saving."""
    if not issubclass(cls, Resource):
        return []
    try:
        meta = ObjectMeta.model_validate(data.get("metadata"))
    except ValidationError:
        return []
    return check_meta(meta, cls.NAME_CHECK, cls.NAMESPACED)


def _salvage(cls: Any, data: dict, errors: list[Any], rounds: int = 4) -> tuple[Any, list[Cut]] | None:
    """The object without its badly typed values, and the paths cut, so that a type error does not
    hide the object's other problems (Kubernetes reports an unsupported protocol and port 0 together).
    None when what is left is not an object (a required field is bad all the way up)."""
    work = copy.deepcopy(data)
    cut: list[Cut] = []
    for _ in range(rounds):
        targets = {_existing_prefix(work, tuple(e["loc"])) for e in errors}
        if () in targets:
            return None
        for target in sorted(targets, key=_loc_order, reverse=True):
            if _existing_prefix(work, target) != target:
                continue  # already gone with its parent
            parent = _at(work, target[:-1])
            del parent[target[-1]]
            if isinstance(target[-1], int):  # later items move up: their problems would get wrong paths
                cut.append((error_path(target[:-1]), target[-1]))
            else:
                cut.append((error_path(target), None))
        try:
            return cls.model_validate(work), cut
        except ValidationError as exc:
            errors = exc.errors()
    return None


def _at(data: Any, loc: tuple) -> Any:
    for part in loc:
        data = data[part]
    return data


def _existing_prefix(data: Any, loc: tuple) -> tuple:
    """The longest prefix of a pydantic loc that names a value present in data."""
    for i, part in enumerate(loc):
        if isinstance(data, dict) and isinstance(part, str) and part in data:
            data = data[part]
        elif isinstance(data, list) and isinstance(part, int) and 0 <= part < len(data):
            data = data[part]
        else:
            return loc[:i]
    return loc


def _loc_order(loc: tuple) -> list[tuple[int, str]]:
    """Sort key under which later items of one list come first (so deleting them keeps indices)."""
    return [(part, "") if isinstance(part, int) else (-1, str(part)) for part in loc]


def _within(inner: str, outer: str) -> bool:
    return not outer or inner == outer or inner.startswith((outer + ".", outer + "["))


_INDEX = re.compile(r"\[(\d+)\]")


def _related(path: str, cut: Cut) -> bool:
    """A problem the cut may have caused or misplaced: at, inside or above the cut value, or, after a
    list item was removed, in that list from the removed index on."""
    where, index = cut
    if _within(where, path):
        return True
    if index is None:
        return _within(path, where)
    if not path.startswith(where + "["):
        return False
    found = _INDEX.match(path, len(where))
    return found is None or int(found.group(1)) >= index


def from_dict(data: dict) -> K8sObject:
    """Build a typed object from Kubernetes JSON; raise ManifestError with every problem."""
    if not isinstance(data, dict):
        message = f"expected a mapping (object), got {json_type(data)}"
        raise ManifestError([Problem(None, "document", "", message)])
    obj, problems = parse_one(data)
    if problems or obj is None:
        raise ManifestError(problems)
    return obj
