"""OpenAPI schemas of the kinds netlab serves, generated from its pydantic models (netlab/model): one
source of truth for validation, `kubectl explain` and kubectl's client-side validation.

Definitions carry upstream's names (io.k8s.api.core.v1.Service, io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta,
...) and the strategic-merge extensions from netlab.api.patch_meta. References are written as
``{"$ref": "<prefix><name>"}`` so one walk serves Swagger 2.0 (#/definitions/) and OpenAPI 3 (#/components/schemas/).
"""

from __future__ import annotations

import copy
import types
import typing
from typing import Any, Literal

from pydantic import BaseModel

from netlab.api import patch_meta
from netlab.api.resources import RESOURCES, Resource
from netlab.model import crd, gateway
from netlab.model.meta import ObjectMeta, ObjectReference, TemplateMeta
from netlab.model.model import KINDS

META_V1 = "io.k8s.apimachinery.pkg.apis.meta.v1"
INT_OR_STRING = "io.k8s.apimachinery.pkg.util.intstr.IntOrString"
_GROUP_PREFIX = {  # netlab.model module -> upstream package of the types defined there
    "netlab.model.core": "io.k8s.api.core.v1",
    "netlab.model.pod": "io.k8s.api.core.v1",
    "netlab.model.apps": "io.k8s.api.apps.v1",
    "netlab.model.discovery": "io.k8s.api.discovery.v1",
    "netlab.model.networking": "io.k8s.api.networking.v1",
    "netlab.model.meta": META_V1,
    "netlab.model.stored_core": "io.k8s.api.core.v1",
    "netlab.model.rbac": "io.k8s.api.rbac.v1",
    "netlab.model.batch": "io.k8s.api.batch.v1",
    "netlab.model.policy": "io.k8s.api.policy.v1",   # (and autoscaling, scheduling, coordination, admission)
    "netlab.model.crd": "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1",
}
# Types whose netlab class name or home differs from upstream's.
_RENAMED = {
    "TemplateMeta": f"{META_V1}.ObjectMeta",
    "ObjectReference": "io.k8s.api.core.v1.ObjectReference",
    "PodTemplateSpec": "io.k8s.api.core.v1.PodTemplateSpec",
    "EndpointSlicePort": "io.k8s.api.discovery.v1.EndpointPort",
    "TypedLocalObjectReference": "io.k8s.api.core.v1.TypedLocalObjectReference",
}
# Fields that are plain strings upstream though netlab types them loosely (Any) or as a one-value Literal.
_TIME_FIELDS = {"creationTimestamp", "deletionTimestamp"}
_FREE_FORM: dict[str, Any] = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
_FREE_FORM_FIELDS = {"Node": ("spec", "status"), "Event": ("source", "series", "related")}
KIND_DESCRIPTIONS = {
    "Pod": "A group of containers sharing one network namespace (one IP), scheduled onto a node.",
    "Service": "A stable virtual IP and DNS name in front of the ready pods its selector matches; "
               "netlab programs it as nftables rules, as kube-proxy does.",
    "Endpoints": "The addresses and ports of a Service's pods (the older form of EndpointSlice).",
    "EndpointSlice": "A slice of a Service's endpoints: pod addresses, their readiness, and the ports.",
    "Namespace": "A scope for names; deleting it deletes everything in it.",
    "Node": "A machine (in netlab, a network namespace with a bridge) that runs pods.",
    "Secret": "Named data (base64 in `data`, plain text in `stringData`) for pods to use.",
    "Event": "A report of something that happened to an object (pulled, started, killed, failed...).",
    "Deployment": "Keeps a number of identical pods running through ReplicaSets, and rolls out changes "
                  "to their template gradually.",
    "ReplicaSet": "Keeps a number of pods matching its selector running; Deployments manage them.",
    "Ingress": "HTTP routing by host and path, from the ingress controller to Services.",
    "IngressClass": "Which ingress controller implements the Ingresses that name this class.",
    "NetworkPolicy": "Which traffic may reach (ingress) or leave (egress) the pods it selects; "
                     "once a pod is selected, what is not allowed is dropped.",
    "ConfigMap": "Named configuration data (`data`: text, `binaryData`: base64) for pods: as environment "
                 "variables (env valueFrom, envFrom) or as files in a configMap volume.",
    "CustomResourceDefinition": "Defines a new kind (group, versions, names, scope); netlab then serves and "
                                "stores its objects, but no controller acts on them.",
    "Job": "Runs pods until a number of them complete successfully (completions, parallelism, backoffLimit, "
           "activeDeadlineSeconds, ttlSecondsAfterFinished).",
    "CronJob": "Creates Jobs on a 5-field cron schedule (concurrencyPolicy, suspend, history limits).",
    **{kind: f"{text} Stored and shown by netlab, which does not act on it." for kind, text in {
        "ServiceAccount": "An identity for processes in pods.",
        "LimitRange": "Default and maximum resource requests and limits in a namespace.",
        "ResourceQuota": "Limits on the total resources a namespace may use.",
        "PersistentVolumeClaim": "A request for storage by a pod.",
        "Role": "Permissions within one namespace (RBAC).",
        "ClusterRole": "Permissions cluster-wide or in any namespace (RBAC).",
        "RoleBinding": "Grants a Role's or ClusterRole's permissions to subjects in a namespace (RBAC).",
        "ClusterRoleBinding": "Grants a ClusterRole's permissions to subjects cluster-wide (RBAC).",
        "PodDisruptionBudget": "How many pods of a set may be down at once during voluntary disruptions.",
        "HorizontalPodAutoscaler": "Scales a workload's replicas by observed metrics.",
        "PriorityClass": "A named pod priority for scheduling and preemption.",
        "Lease": "A lock held by a component for leader election or heartbeats.",
        "ValidatingWebhookConfiguration": "Webhooks the API server asks to validate requests.",
        "MutatingWebhookConfiguration": "Webhooks the API server asks to change requests.",
        "ReplicationController": "Keeps a number of pods running (the predecessor of ReplicaSet).",
        "PodTemplate": "A stored pod template.",
        "PersistentVolume": "A piece of storage in the cluster.",
        "StatefulSet": "Pods with stable names and storage, created in order.",
        "DaemonSet": "One pod per matching node.",
        "ControllerRevision": "A stored revision of a StatefulSet's or DaemonSet's template.",
        "StorageClass": "A kind of storage that claims can ask for.",
        "CSIDriver": "A storage driver installed in the cluster.",
        "VolumeAttachment": "A volume attached to a node.",
        "RuntimeClass": "A container runtime configuration pods can select.",
        "CertificateSigningRequest": "A request for a certificate signed by the cluster.",
        "ValidatingAdmissionPolicy": "CEL rules the API server checks requests against.",
        "ValidatingAdmissionPolicyBinding": "Where a ValidatingAdmissionPolicy applies.",
        "FlowSchema": "Classifies API requests for priority and fairness.",
        "PriorityLevelConfiguration": "A priority level for API requests.",
    }.items()},
    **gateway.DESCRIPTIONS,
}
_SCALARS: dict[Any, dict[str, Any]] = {
    str: {"type": "string"}, int: {"type": "integer", "format": "int64"}, bool: {"type": "boolean"},
    float: {"type": "number", "format": "double"},
}


def group_version(api_version: str) -> tuple[str, str]:
    group, _, version = api_version.rpartition("/")
    return group, version


def gvk(resource: Resource) -> dict[str, str]:
    group, version = group_version(resource.api_version)
    return {"group": group, "version": version, "kind": resource.kind}


def definition_name(cls: type) -> str:
    if cls.__name__ in _RENAMED:
        return _RENAMED[cls.__name__]
    return f"{_GROUP_PREFIX.get(cls.__module__, 'io.k8s.api.core.v1')}.{cls.__name__}"


def kind_definition_name(resource: Resource) -> str:
    group, version = group_version(resource.api_version)
    package = group.split(".")[0] if group else "core"
    return f"io.k8s.api.{package}.{version}.{resource.kind}"


class SchemaBuilder:
    """Walks the models from each kind's root, so a field's path (for patch_meta) is known where it is emitted.
    A type shared by several kinds (Container in Pod and Deployment) gets one definition; patch_meta's table
    gives such shared fields the same metadata in every kind."""

    def __init__(self, ref_prefix: str) -> None:
        self.ref_prefix = ref_prefix
        self.definitions: dict[str, dict] = {}

    def ref(self, name: str) -> dict:
        return {"$ref": self.ref_prefix + name}

    def add_kind(self, resource: Resource) -> str:
        name = kind_definition_name(resource)
        versions = KINDS.get(resource.kind, {})
        cls = versions.get(resource.api_version)
        if cls is None:
            schema = self._free_form_kind(resource)
        else:
            schema = self._model(cls, resource.kind, (), root=True)
        if resource.kind in KIND_DESCRIPTIONS:
            schema["description"] = KIND_DESCRIPTIONS[resource.kind]
        schema["x-kubernetes-group-version-kind"] = [gvk(resource)]
        self.definitions[name] = schema
        self._add_list(resource, name)
        return name

    def _free_form_kind(self, resource: Resource) -> dict:
        """A kind netlab serves but has no model for (Node, Event: the controller writes them, users do not):
        its well-known fields, and any others kept as they are."""
        string, time = {"type": "string"}, {"type": "string", "format": "date-time"}
        properties = {"apiVersion": string, "kind": string,
                      "metadata": self._model_ref(ObjectMeta, resource.kind, ("metadata",)),
                      **{name: dict(_FREE_FORM) for name in _FREE_FORM_FIELDS.get(resource.kind, ())}}
        if resource.kind == "Event":
            properties.update({"type": string, "reason": string, "message": string, "firstTimestamp": time,
                               "lastTimestamp": time, "count": {"type": "integer", "format": "int32"},
                               "involvedObject": self._model_ref(ObjectReference, "Event", ("involvedObject",))})
        return {"type": "object", "x-kubernetes-preserve-unknown-fields": True,
                "properties": dict(sorted(properties.items()))}

    def _add_list(self, resource: Resource, item_name: str) -> None:
        self.add_meta_types()
        self.definitions[item_name + "List"] = {
            "type": "object", "required": ["items"],
            "description": f"{resource.kind}List is a list of {resource.kind} objects.",
            "properties": {
                "apiVersion": {"type": "string"}, "kind": {"type": "string"},
                "items": {"type": "array", "items": self.ref(item_name)},
                "metadata": self.ref(f"{META_V1}.ListMeta"),
            },
            "x-kubernetes-group-version-kind": [{**gvk(resource), "kind": resource.kind + "List"}],
        }

    def add_meta_types(self) -> None:
        """The meta/v1 types the paths refer to (ListMeta, Status, DeleteOptions, Patch, WatchEvent)."""
        string, integer = {"type": "string"}, {"type": "integer", "format": "int64"}
        self.definitions.setdefault(f"{META_V1}.ListMeta", {"type": "object", "properties": {
            "continue": string, "remainingItemCount": integer, "resourceVersion": string, "selfLink": string}})
        self.definitions.setdefault(f"{META_V1}.Status", {"type": "object", "properties": {
            "apiVersion": string, "kind": string, "code": {"type": "integer", "format": "int32"},
            "details": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
            "message": string, "metadata": self.ref(f"{META_V1}.ListMeta"), "reason": string, "status": string}})
        self.definitions.setdefault(f"{META_V1}.DeleteOptions", {"type": "object", "properties": {
            "apiVersion": string, "kind": string, "dryRun": {"type": "array", "items": string},
            "gracePeriodSeconds": integer, "propagationPolicy": string,
            "preconditions": {"type": "object", "properties": {"resourceVersion": string, "uid": string}}}})
        self.definitions.setdefault(f"{META_V1}.Patch", {
            "type": "object", "description": "A patch body: its content type says how to apply it."})
        self.definitions.setdefault(f"{META_V1}.WatchEvent", {
            "type": "object", "required": ["type", "object"],
            "properties": {"type": string, "object": {"type": "object",
                                                      "x-kubernetes-preserve-unknown-fields": True}}})

    def _model_ref(self, cls: type[BaseModel], kind: str, path: tuple[str, ...]) -> dict:
        if cls is TemplateMeta:
            cls = ObjectMeta  # one ObjectMeta definition: the template's metadata is the same type upstream
        name = definition_name(cls)
        if name not in self.definitions:
            self.definitions[name] = {}  # reserve: recursive types end here
            self.definitions[name] = self._model(cls, kind, path)
        return self.ref(name)

    def _model(self, cls: type[BaseModel], kind: str, path: tuple[str, ...], root: bool = False) -> dict:
        properties: dict[str, dict] = {}
        required: list[str] = []
        for field_name, field in cls.model_fields.items():
            key = field.alias or field_name
            if root and key in ("apiVersion", "kind"):
                schema: dict = {"type": "string"}
            elif key in _TIME_FIELDS:
                schema = {"type": "string", "format": "date-time"}
            else:
                schema = self._type(field.annotation, kind, path + (key,))
            schema = {**schema, **self._patch_extensions(kind, path + (key,))}
            if field.description:
                schema = self._describe(schema, field.description)
            properties[key] = schema
            if field.is_required() and cls is not ObjectMeta and not (root and key in ("apiVersion", "kind")):
                required.append(key)
        schema = {"type": "object", "properties": dict(sorted(properties.items()))}
        if required:
            schema["required"] = sorted(required)
        return schema

    def _describe(self, schema: dict, description: str) -> dict:
        if "$ref" in schema and self.ref_prefix.startswith("#/components/"):
            # OpenAPI 3.0 ignores siblings of $ref: upstream wraps the reference in allOf.
            ref = {"$ref": schema.pop("$ref")}
            return {"allOf": [ref], **schema, "description": description}
        return {**schema, "description": description}

    def _type(self, annotation: Any, kind: str, path: tuple[str, ...]) -> dict:
        origin, args = typing.get_origin(annotation), typing.get_args(annotation)
        if origin is typing.Annotated:
            return self._type(args[0], kind, path)
        if origin in (typing.Union, types.UnionType):
            real = [a for a in args if a is not type(None)]
            flat = {typing.get_args(a)[0] if typing.get_origin(a) is typing.Annotated else a for a in real}
            if len(real) == 1:
                return self._type(real[0], kind, path)
            if _is_int_or_string(flat):
                return self._int_or_string()
            return {}
        if origin is Literal:
            return {"type": "string", "enum": list(args)} if all(isinstance(a, str) for a in args) else {}
        if origin is list:
            return {"type": "array", "items": self._type(args[0], kind, path)}
        if origin is dict:
            value = self._type(args[1], kind, path)
            return {"type": "object", "additionalProperties": value} if value else dict(_FREE_FORM)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            return self._model_ref(annotation, kind, path)
        if annotation in _SCALARS:
            return dict(_SCALARS[annotation])
        return {}  # Any: upstream leaves such values (RawExtension-like) untyped

    def _int_or_string(self) -> dict:
        schema: dict[str, Any] = {"format": "int-or-string",
                                  "description": "An integer or a string (a number or a name, e.g. a port)."}
        if self.ref_prefix.startswith("#/components/"):
            # OpenAPI 3 says it structurally; without a single `type`, kubectl explain names it IntOrString.
            schema.update({"x-kubernetes-int-or-string": True, "anyOf": [{"type": "integer"}, {"type": "string"}]})
        else:
            schema["type"] = "string"  # Swagger 2.0 has no union: upstream's v2 spelling
        self.definitions.setdefault(INT_OR_STRING, schema)
        return self.ref(INT_OR_STRING)

    @staticmethod
    def _patch_extensions(kind: str, path: tuple[str, ...]) -> dict:
        meta = patch_meta.list_meta(kind, path)
        if meta is None:
            return {}
        ext: dict[str, Any] = {}
        if meta.strategy:
            ext["x-kubernetes-patch-strategy"] = meta.strategy
        if meta.merge_key:
            ext["x-kubernetes-patch-merge-key"] = meta.merge_key
        if meta.list_type:
            ext["x-kubernetes-list-type"] = meta.list_type
        if meta.map_keys:
            ext["x-kubernetes-list-map-keys"] = list(meta.map_keys)
        return ext


def _is_int_or_string(types_: set) -> bool:
    return types_ == {int, str}


def build_definitions(ref_prefix: str, resources: tuple[Resource, ...] = RESOURCES) -> dict[str, dict]:
    builder = SchemaBuilder(ref_prefix)
    for resource in resources:
        builder.add_kind(resource)
    builder.add_meta_types()
    return builder.definitions


def custom_definitions(resource: Resource, ref_prefix: str) -> dict[str, dict]:
    """The definitions of a CRD's kind and its List: the CRD's openAPIV3Schema (any fields when it has
    none), with apiVersion, kind and metadata as every object has them."""
    group, version = group_version(resource.api_version)
    info = next((k for k in crd.custom_kinds() if k.kind == resource.kind and k.group == group), None)
    schema = copy.deepcopy(info.schemas.get(version)) if info is not None else None
    if not isinstance(schema, dict):
        schema = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
    schema.setdefault("type", "object")
    schema["properties"] = {**(schema.get("properties") or {}), "apiVersion": {"type": "string"},
                            "kind": {"type": "string"}, "metadata": {"$ref": f"{ref_prefix}{META_V1}.ObjectMeta"}}
    schema["x-kubernetes-group-version-kind"] = [gvk(resource)]
    name = kind_definition_name(resource)
    listed = {"type": "object", "required": ["items"],
              "description": f"{resource.kind}List is a list of {resource.kind} objects.",
              "properties": {"apiVersion": {"type": "string"}, "kind": {"type": "string"},
                             "items": {"type": "array", "items": {"$ref": ref_prefix + name}},
                             "metadata": {"$ref": f"{ref_prefix}{META_V1}.ListMeta"}},
              "x-kubernetes-group-version-kind": [{**gvk(resource), "kind": resource.kind + "List"}]}
    return {name: schema, name + "List": listed}
