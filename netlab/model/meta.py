"""Shared model pieces: the strict base model, IntOrString, ObjectMeta, LabelSelector.

Semantic checks (the ones pydantic's types cannot express) are plain functions returning
``Issue`` = (path, message) lists, so that every problem gets its exact field path.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainValidator, model_serializer, model_validator
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError

from netlab.compile.label_selectors import requirement_matches

from . import dns1123 as names
from . import limits

Issue = tuple[str, str]
Protocol = Literal["TCP", "UDP", "SCTP"]


def json_type(value: Any) -> str:
    """How a value reads in a message: ``string 'abc'``, ``integer 5``, ``object``."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"boolean {str(value).lower()}"
    if isinstance(value, int):
        return f"integer {value}"
    if isinstance(value, float):
        return f"number {value}"
    if isinstance(value, str):
        return f"string {value!r}"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    return type(value).__name__


def _int_or_string(value: Any) -> int | str:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise PydanticCustomError("int_or_string_type", "expected integer or string, got {got}",
                                  {"got": json_type(value)})
    return value


IntOrString = Annotated[int | str, PlainValidator(_int_or_string)]


class Model(BaseModel):
    """Strict like the Kubernetes API server: camelCase names, no unknown fields, no type coercion.

    ``null`` means "not set", as in Kubernetes.
    """

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid", strict=True)

    @model_validator(mode="before")
    @classmethod
    def _drop_nulls(cls, data: Any) -> Any:
        if isinstance(data, dict):
            return {k: v for k, v in data.items() if v is not None}
        return data


AnyDict = dict[str, Any]


def join(base: str, name: str) -> str:
    return f"{base}.{name}" if base else name


_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def key_path(base: str, key: str) -> str:
    """Path of a field or map key: ``spec.ports`` or ``data[tls.crt]``."""
    if _IDENT.match(key):
        return join(base, key)
    return f"{base}[{key}]"


def check_port(value: int | str, path: str) -> list[Issue]:
    """A port given by number (1..65535) or by IANA service name."""
    if isinstance(value, int):
        return [(path, m) for m in names.check_port_number(value)]
    if value.isdigit():
        return [(path, f"must be a number or a port name, got string {value!r}")]
    return [(path, f"invalid port name {value!r}: {m}") for m in names.check_port_name(value)]


def check_name(value: str, path: str, check: Callable[[str], list[str]]) -> list[Issue]:
    return [(path, f"invalid name {value!r}: {m}") for m in check(value)]


def check_labels(labels: dict[str, str], path: str) -> list[Issue]:
    issues = []
    for key, value in labels.items():
        issues += [(path, f"invalid label key {key!r}: {m}") for m in names.check_qualified_name(key)]
        issues += [(path, f"invalid label value {value!r} for key {key!r}: {m}")
                   for m in names.check_label_value(value)]
    return issues


def check_ip(value: str, path: str) -> list[Issue]:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return [(path, f"must be a valid IP address, got {value!r}")]
    return []


def check_cidr(value: str, path: str) -> list[Issue]:
    try:
        ipaddress.ip_network(value, strict=False)
    except ValueError:
        return [(path, f"must be a valid CIDR (e.g. 10.0.0.0/16), got {value!r}")]
    if "/" not in value:
        return [(path, f"must be a valid CIDR (e.g. 10.0.0.0/16), got {value!r}")]
    return []


class ObjectMeta(Model):
    name: str
    generate_name: str | None = None
    namespace: str | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    # Read-only fields that appear in `kubectl get -o yaml` output; accepted and kept.
    uid: str | None = None
    resource_version: str | None = None
    generation: int | None = None
    creation_timestamp: Any = None
    deletion_timestamp: Any = None
    deletion_grace_period_seconds: int | None = None
    owner_references: list[AnyDict] | None = None
    finalizers: list[str] | None = None
    managed_fields: list[AnyDict] | None = None
    self_link: str | None = None


def check_meta(meta: ObjectMeta, name_check: Callable[[str], list[str]], namespaced: bool,
               path: str = "metadata") -> list[Issue]:
    issues = check_name(meta.name, join(path, "name"), name_check)
    if meta.generate_name is not None:
        issues.append((join(path, "generateName"), "generateName is not supported; set metadata.name"))
    if namespaced and meta.namespace is not None:
        issues += check_name(meta.namespace, join(path, "namespace"), names.check_dns1123_label)
    issues += check_labels(meta.labels, join(path, "labels"))
    issues += check_annotations(meta.annotations, join(path, "annotations"))
    return issues


def check_annotations(annotations: dict[str, str], path: str) -> list[Issue]:
    issues = []
    for key in annotations:
        issues += [(path, f"invalid annotation key {key!r}: {m}") for m in names.check_qualified_name(key)]
    too_long = limits.annotations_size_problem(annotations)
    if too_long is not None:
        issues.append((path, too_long))
    return issues


class TemplateMeta(Model):
    """metadata of a pod template: name optional."""

    name: str | None = None
    namespace: str | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    creation_timestamp: Any = None


class OmitEmptyLists(Model):
    """Serialised without its empty lists, as Kubernetes' JSON (omitempty) leaves them out. Where such an
    object sits in a list without a merge key (a NetworkPolicy's rules and peers), kubectl's 3-way patch
    compares the list as a whole: a `matchExpressions: []` the user never wrote would make every
    `kubectl apply` of an unchanged file a change."""

    @model_serializer(mode="wrap")
    def _omit_empty_lists(self, handler: Any) -> Any:
        data = handler(self)
        return {k: v for k, v in data.items() if v != []} if isinstance(data, dict) else data


class LabelSelectorRequirement(OmitEmptyLists):
    key: str
    operator: Literal["In", "NotIn", "Exists", "DoesNotExist"]
    values: list[str] = Field(default_factory=list)

    def matches(self, labels: dict[str, str]) -> bool:
        return requirement_matches(self.key, self.operator, self.values, labels)


class LabelSelector(OmitEmptyLists):
    """matchLabels AND matchExpressions; the empty selector matches everything."""

    match_labels: dict[str, str] = Field(default_factory=dict)
    match_expressions: list[LabelSelectorRequirement] = Field(default_factory=list)

    def matches(self, labels: dict[str, str]) -> bool:
        if any(labels.get(k) != v for k, v in self.match_labels.items()):
            return False
        return all(req.matches(labels) for req in self.match_expressions)

    def is_empty(self) -> bool:
        return not self.match_labels and not self.match_expressions


def check_selector(selector: LabelSelector, path: str) -> list[Issue]:
    issues = check_labels(selector.match_labels, join(path, "matchLabels"))
    for i, req in enumerate(selector.match_expressions):
        rpath = f"{path}.matchExpressions[{i}]"
        issues += [(f"{rpath}.key", f"invalid label key {req.key!r}: {m}")
                   for m in names.check_qualified_name(req.key)]
        if req.operator in ("In", "NotIn") and not req.values:
            issues.append((f"{rpath}.values", f"must be non-empty when operator is {req.operator}"))
        if req.operator in ("Exists", "DoesNotExist") and req.values:
            issues.append((f"{rpath}.values", f"must be empty when operator is {req.operator}"))
        for value in req.values:
            issues += [(f"{rpath}.values", f"invalid label value {value!r}: {m}")
                       for m in names.check_label_value(value)]
    return issues


class ObjectReference(Model):
    kind: str | None = None
    namespace: str | None = None
    name: str | None = None
    uid: str | None = None
    api_version: str | None = None
    resource_version: str | None = None
    field_path: str | None = None


class Resource(Model):
    """A Kubernetes object with apiVersion, kind and metadata."""

    NAMESPACED: ClassVar[bool] = True
    NAME_CHECK: ClassVar[Callable[[str], list[str]]] = staticmethod(names.check_dns1123_subdomain)

    api_version: str
    kind: str
    metadata: ObjectMeta
    status: AnyDict | None = None

    @property
    def name(self) -> str:
        return self.metadata.name

    @property
    def namespace(self) -> str:
        return (self.metadata.namespace or "default") if self.NAMESPACED else ""

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.kind, self.namespace, self.name)

    @property
    def ref(self) -> str:
        if self.NAMESPACED:
            return f"{self.kind} {self.namespace}/{self.name}"
        return f"{self.kind} {self.name}"

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True, exclude_none=True, mode="json")

    def issues(self) -> list[Issue]:
        """Semantic problems beyond types; subclasses extend."""
        return check_meta(self.metadata, type(self).NAME_CHECK, self.NAMESPACED)

    def normalise(self) -> None:
        """Apply defaults that depend on the object's scope (namespace)."""
        if self.NAMESPACED:
            if self.metadata.namespace is None:
                self.metadata.namespace = "default"
        else:
            self.metadata.namespace = None
