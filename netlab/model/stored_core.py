"""core/v1 kinds netlab stores and shows but does not act on (except ConfigMap, which pods read):
ServiceAccount, ConfigMap, LimitRange, ResourceQuota, PersistentVolumeClaim."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, PlainValidator
from pydantic_core import PydanticCustomError

from . import dns1123 as names
from .meta import AnyDict, Issue, LabelSelector, Model, ObjectReference, Resource, check_selector, json_type, key_path

MAX_CONFIG_BYTES = 1024 * 1024  # a ConfigMap's (or Secret's) data, as the API server limits it


def _quantity(value: object) -> int | float | str:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise PydanticCustomError("quantity_type", "expected a quantity (number or string), got {got}",
                                  {"got": json_type(value)})
    return value


Quantity = Annotated[int | float | str, PlainValidator(_quantity)]


def check_config_keys(keys: list[tuple[str, str]]) -> list[Issue]:
    """(path, key) pairs: each a valid ConfigMap/Secret key."""
    return [(path, f"invalid key {key!r}: {m}") for path, key in keys for m in names.check_config_key(key)]


class LocalObjectReference(Model):
    name: str | None = None


class ServiceAccount(Resource):
    api_version: Literal["v1"] = "v1"
    kind: Literal["ServiceAccount"] = "ServiceAccount"
    secrets: list[ObjectReference] | None = None
    image_pull_secrets: list[LocalObjectReference] | None = None
    automount_service_account_token: bool | None = None


class ConfigMap(Resource):
    api_version: Literal["v1"] = "v1"
    kind: Literal["ConfigMap"] = "ConfigMap"
    data: dict[str, str] | None = None
    binary_data: dict[str, str] | None = None
    immutable: bool | None = None

    def issues(self) -> list[Issue]:
        issues = super().issues()
        data, binary = self.data or {}, self.binary_data or {}
        issues += check_config_keys([(key_path("data", k), k) for k in data])
        issues += check_config_keys([(key_path("binaryData", k), k) for k in binary])
        issues += [(key_path("binaryData", k), f"duplicate of key {k!r} in data") for k in binary if k in data]
        size = sum(len(k) + len(v.encode()) for k, v in data.items()) + sum(len(k) + len(v) for k, v in binary.items())
        if size > MAX_CONFIG_BYTES:
            issues.append(("", f"must have at most {MAX_CONFIG_BYTES} bytes of data, got {size}"))
        return issues


class LimitRangeItem(Model):
    type: str
    max: dict[str, Quantity] | None = None
    min: dict[str, Quantity] | None = None
    default: dict[str, Quantity] | None = None
    default_request: dict[str, Quantity] | None = None
    max_limit_request_ratio: dict[str, Quantity] | None = None


class LimitRangeSpec(Model):
    limits: list[LimitRangeItem]


class LimitRange(Resource):
    api_version: Literal["v1"] = "v1"
    kind: Literal["LimitRange"] = "LimitRange"
    spec: LimitRangeSpec


class ResourceQuotaSpec(Model):
    hard: dict[str, Quantity] | None = None
    scopes: list[str] | None = None
    scope_selector: AnyDict | None = None


class ResourceQuota(Resource):
    api_version: Literal["v1"] = "v1"
    kind: Literal["ResourceQuota"] = "ResourceQuota"
    spec: ResourceQuotaSpec = Field(default_factory=ResourceQuotaSpec)


class VolumeResourceRequirements(Model):
    requests: dict[str, Quantity] | None = None
    limits: dict[str, Quantity] | None = None


class PersistentVolumeClaimSpec(Model):
    access_modes: list[Literal["ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany", "ReadWriteOncePod"]] | None = None
    selector: LabelSelector | None = None
    resources: VolumeResourceRequirements | None = None
    volume_name: str | None = None
    storage_class_name: str | None = None
    volume_mode: Literal["Filesystem", "Block"] | None = None
    data_source: AnyDict | None = None
    data_source_ref: AnyDict | None = None
    volume_attributes_class_name: str | None = None


class PersistentVolumeClaim(Resource):
    api_version: Literal["v1"] = "v1"
    kind: Literal["PersistentVolumeClaim"] = "PersistentVolumeClaim"
    spec: PersistentVolumeClaimSpec

    def issues(self) -> list[Issue]:
        issues = super().issues()
        if not self.spec.access_modes:
            issues.append(("spec.accessModes", "at least 1 access mode is required"))
        if self.spec.selector is not None:
            issues += check_selector(self.spec.selector, "spec.selector")
        return issues

