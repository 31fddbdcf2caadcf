"""The registry of supported kinds, dispatch on apiVersion/kind, and pydantic error translation."""

from __future__ import annotations

import re
from typing import Any

from pydantic import ValidationError

from .apps import Deployment, ReplicaSet
from .cluster import KIND_API_VERSION, NETLAB_API_VERSION, Cluster, default_cluster
from .core import NODE_PORT_RANGE, Endpoints, Namespace, Pod, Secret, Service
from .discovery import EndpointSlice
from .meta import Resource, json_type, key_path
from .networking import Ingress, IngressClass, NetworkPolicy
from .problems import ManifestError, Problem, Source

K8sObject = (Namespace | Pod | Service | Endpoints | Secret | Deployment | ReplicaSet | EndpointSlice
             | Ingress | IngressClass | NetworkPolicy | Cluster)

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
}
SUPPORTED_KINDS = sorted(KINDS)
CLUSTER_SCOPED = frozenset({"Namespace", "IngressClass", "Cluster"})

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


def parse_one(data: dict, source: Source | None = None,
              node_port_range: tuple[int, int] = NODE_PORT_RANGE) -> tuple[K8sObject | None, list[Problem]]:
    """Validate one raw document: (object, []) or (None or object, problems)."""
    obj_label = describe(data, source)

    def problem(field: str, message: str) -> Problem:
        return Problem(source, obj_label, field, message)

    kind = data.get("kind")
    api_version = data.get("apiVersion")
    if kind is None:
        return None, [problem("kind", "required field is missing")]
    if not isinstance(kind, str):
        return None, [problem("kind", f"expected string, got {json_type(kind)}")]
    if kind not in KINDS:
        supported = ", ".join(SUPPORTED_KINDS)
        return None, [problem("kind", f'unknown kind "{kind}"; supported kinds: {supported}')]
    versions = KINDS[kind]
    if api_version is None:
        return None, [problem("apiVersion", "required field is missing")]
    if api_version not in versions:
        expected = " or ".join(f'"{v}"' for v in versions)
        got = f'"{api_version}"' if isinstance(api_version, str) else json_type(api_version)
        message = f"unsupported apiVersion {got} for kind {kind}; expected {expected}"
        return None, [problem("apiVersion", message)]
    cls = versions[api_version]
    try:
        obj: Any = cls.model_validate(data)
    except ValidationError as exc:
        return None, [problem(error_path(e["loc"]), error_message(e)) for e in exc.errors()]
    obj.normalise()
    issues = obj.issues(node_port_range) if isinstance(obj, Service) else obj.issues()
    return obj, [problem(path, message) for path, message in issues]


def from_dict(data: dict) -> K8sObject:
    """Build a typed object from Kubernetes JSON; raise ManifestError with every problem."""
    if not isinstance(data, dict):
        message = f"expected a mapping (object), got {json_type(data)}"
        raise ManifestError([Problem(None, "document", "", message)])
    obj, problems = parse_one(data)
    if problems or obj is None:
        raise ManifestError(problems)
    return obj
