"""CustomResourceDefinition, the objects of kinds netlab has no schema for, and where their scope and
served versions come from: the table of built-in kinds netlab stores without a model, and the CRDs
(stored ones, through `bind`, and those in the same batch)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, ClassVar, Literal

from pydantic import ConfigDict, Field, PrivateAttr

from . import dns1123 as names
from . import gateway, podsets
from .kindinfo import KindInfo
from .meta import AnyDict, Issue, Model, Resource, check_meta, check_name

CRD_API_VERSION = "apiextensions.k8s.io/v1"


class CustomResourceDefinitionNames(Model):
    plural: str
    kind: str
    singular: str | None = None
    list_kind: str | None = None
    short_names: list[str] | None = None
    categories: list[str] | None = None


class CustomResourceDefinitionVersion(Model):
    name: str
    served: bool
    storage: bool
    schema_: AnyDict | None = Field(None, alias="schema")
    subresources: AnyDict | None = None
    additional_printer_columns: list[AnyDict] | None = None
    deprecated: bool | None = None
    deprecation_warning: str | None = None
    selectable_fields: list[AnyDict] | None = None


class CustomResourceDefinitionSpec(Model):
    group: str
    names: CustomResourceDefinitionNames
    scope: Literal["Namespaced", "Cluster"]
    versions: list[CustomResourceDefinitionVersion]
    conversion: AnyDict | None = None
    preserve_unknown_fields: bool | None = None


class CustomResourceDefinition(Resource):
    NAMESPACED: ClassVar[bool] = False
    api_version: Literal["apiextensions.k8s.io/v1"] = CRD_API_VERSION
    kind: Literal["CustomResourceDefinition"] = "CustomResourceDefinition"
    spec: CustomResourceDefinitionSpec

    def issues(self) -> list[Issue]:
        issues = super().issues()
        spec = self.spec
        expected = f"{spec.names.plural}.{spec.group}"
        if self.name != expected:
            issues.append(("metadata.name", f'must be spec.names.plural+"."+spec.group: "{expected}"'))
        if "." not in spec.group:
            issues.append(("spec.group", "should be a domain with at least one dot"))
        issues += check_name(spec.group, "spec.group", names.check_dns1123_subdomain)
        issues += check_name(spec.names.plural, "spec.names.plural", names.check_dns1123_label)
        if not spec.names.kind[:1].isupper():
            issues.append(("spec.names.kind", f"invalid kind {spec.names.kind!r}: must start with an upper-case "
                                              "letter (a Go type name)"))
        if not spec.versions:
            issues.append(("spec.versions", "must have at least one version"))
        elif sum(v.storage for v in spec.versions) != 1:
            issues.append(("spec.versions", "must have exactly one version marked as storage version"))
        seen: set[str] = set()
        for i, v in enumerate(spec.versions):
            if v.name in seen:
                issues.append((f"spec.versions[{i}].name", f"duplicate version {v.name!r}"))
            seen.add(v.name)
            issues += check_name(v.name, f"spec.versions[{i}].name", names.check_dns1123_label)
        return issues


# --- objects without a schema ------------------------------------------------------------------------

class GenericObject(Resource):
    """An object of a kind netlab has no model for: its metadata is validated, everything else is kept as
    given. Its scope comes from the built-in table or its CRD (None: not known here)."""

    model_config = ConfigDict(**{**Resource.model_config, "extra": "allow"})
    api_version: str
    kind: str
    _namespaced: bool | None = PrivateAttr(default=None)

    @property
    def namespaced(self) -> bool | None:
        return self._namespaced

    @property
    def namespace(self) -> str:
        return (self.metadata.namespace or "default") if self._namespaced is not False else ""

    @property
    def ref(self) -> str:
        where = f"{self.namespace}/" if self._namespaced is not False else ""
        return f"{self.kind} {where}{self.name}"

    def issues(self) -> list[Issue]:
        fields = self.__pydantic_extra__ or {}
        return (check_meta(self.metadata, names.check_dns1123_subdomain, self._namespaced is not False)
                + podsets.problems(self._builtin_kind, fields)
                + gateway.problems(self.api_version, self.kind, fields))

    def normalise(self) -> None:
        if self._namespaced is True and self.metadata.namespace is None:
            self.metadata.namespace = "default"
        elif self._namespaced is False:
            self.metadata.namespace = None
        podsets.apply_defaults(self._builtin_kind, self.__pydantic_extra__ or {})
        if gateway.kind_info(self.api_version, self.kind) is not None:
            gateway.apply_defaults(self.kind, self.__pydantic_extra__ or {})

    @property
    def _builtin_kind(self) -> str:
        """The kind if it is one of Kubernetes' own (a CRD may reuse a built-in kind's name in its group)."""
        return self.kind if self.api_version in ("v1", "apps/v1") else ""


# --- where kinds without a model come from ----------------------------------------------------------

#: Built-in kinds netlab stores with their metadata validated only (no effect in netlab).
UNMODELLED: tuple[KindInfo, ...] = (
    KindInfo("ReplicationController", "", ("v1",), "replicationcontrollers", True, ("rc",), ("all",)),
    KindInfo("PodTemplate", "", ("v1",), "podtemplates", True),
    KindInfo("PersistentVolume", "", ("v1",), "persistentvolumes", False, ("pv",)),
    KindInfo("StatefulSet", "apps", ("v1",), "statefulsets", True, ("sts",), ("all",)),
    KindInfo("DaemonSet", "apps", ("v1",), "daemonsets", True, ("ds",), ("all",)),
    KindInfo("ControllerRevision", "apps", ("v1",), "controllerrevisions", True),
    KindInfo("StorageClass", "storage.k8s.io", ("v1",), "storageclasses", False, ("sc",)),
    KindInfo("CSIDriver", "storage.k8s.io", ("v1",), "csidrivers", False),
    KindInfo("VolumeAttachment", "storage.k8s.io", ("v1",), "volumeattachments", False),
    KindInfo("RuntimeClass", "node.k8s.io", ("v1",), "runtimeclasses", False),
    KindInfo("CertificateSigningRequest", "certificates.k8s.io", ("v1",), "certificatesigningrequests", False,
             ("csr",)),
    KindInfo("ValidatingAdmissionPolicy", "admissionregistration.k8s.io", ("v1",), "validatingadmissionpolicies",
             False),
    KindInfo("ValidatingAdmissionPolicyBinding", "admissionregistration.k8s.io", ("v1",),
             "validatingadmissionpolicybindings", False),
    KindInfo("FlowSchema", "flowcontrol.apiserver.k8s.io", ("v1",), "flowschemas", False),
    KindInfo("PriorityLevelConfiguration", "flowcontrol.apiserver.k8s.io", ("v1",),
             "prioritylevelconfigurations", False),
)

#: API groups served by the API server itself: an unknown kind in one of them is an error, not a custom resource.
BUILTIN_GROUPS = frozenset({
    "", "apps", "batch", "autoscaling", "policy", "rbac.authorization.k8s.io", "networking.k8s.io",
    "discovery.k8s.io", "storage.k8s.io", "scheduling.k8s.io", "coordination.k8s.io", "node.k8s.io",
    "admissionregistration.k8s.io", "apiextensions.k8s.io", "certificates.k8s.io", "events.k8s.io",
    "flowcontrol.apiserver.k8s.io", "apiregistration.k8s.io", "authentication.k8s.io", "authorization.k8s.io",
    "resource.k8s.io", "storagemigration.k8s.io", "internal.apiserver.k8s.io", "netlab.dev",
    "gateway.networking.k8s.io",  # built in (model/gateway.py): a user's Gateway API CRDs change nothing
})


def kind_of_crd(data: Any) -> KindInfo | None:
    """The kind a CRD (raw JSON) defines, None when it is too malformed to say."""
    if not isinstance(data, dict) or data.get("kind") != "CustomResourceDefinition":
        return None
    spec, meta = data.get("spec"), data.get("metadata")
    if not isinstance(spec, dict) or not isinstance(spec.get("names"), dict) or not isinstance(meta, dict):
        return None
    n, group, versions = spec["names"], spec.get("group"), spec.get("versions")
    if not isinstance(group, str) or not isinstance(n.get("kind"), str) or not isinstance(n.get("plural"), str):
        return None
    served = [v for v in versions if isinstance(v, dict) and isinstance(v.get("name"), str) and v.get("served")] \
        if isinstance(versions, list) else []
    served.sort(key=lambda v: not v.get("storage"))
    if not served:
        return None
    short = n.get("shortNames") if isinstance(n.get("shortNames"), list) else []
    cats = n.get("categories") if isinstance(n.get("categories"), list) else []
    schemas = {v["name"]: (v.get("schema") or {}).get("openAPIV3Schema") for v in served}
    return KindInfo(n["kind"], group, tuple(v["name"] for v in served), n["plural"],
                    spec.get("scope") != "Cluster", tuple(map(str, short)), tuple(map(str, cats)),
                    str(meta.get("name", "")), {v: s for v, s in schemas.items() if isinstance(s, dict)})


_source: Callable[[], Mapping[str, dict]] | None = None
_cache: tuple[Any, tuple[KindInfo, ...]] = (None, ())


def bind(source: Callable[[], Mapping[str, dict]] | None) -> None:
    """Where the stored objects are (the controller's state): their CRDs define served kinds."""
    global _source, _cache
    _source, _cache = source, (None, ())


def custom_kinds() -> tuple[KindInfo, ...]:
    """The kinds the stored CRDs define (none in a process that has no store bound)."""
    global _cache
    if _source is None:
        return ()
    objects = _source()
    if _cache[0] is not objects:
        found = (kind_of_crd(o) for key, o in objects.items() if key.startswith("CustomResourceDefinition/"))
        _cache = (objects, tuple(k for k in found if k is not None and k.group not in BUILTIN_GROUPS))
    return _cache[1]


def store_bound() -> bool:
    return _source is not None


def find_kind(api_version: str, kind: str, batch: Iterable[KindInfo] = ()) -> tuple[KindInfo | None, str | None]:
    """The KindInfo of an object without a model, or a problem with its apiVersion/kind. (None, None): a
    custom kind no CRD known here defines (the API server, which knows every CRD, decides)."""
    group, _, version = api_version.rpartition("/")
    candidates = (*UNMODELLED, *gateway.KINDS) if group in BUILTIN_GROUPS else (*batch, *custom_kinds())
    same_kind = [k for k in candidates if k.kind == kind and k.group == group]
    for k in same_kind:
        if version in k.versions:
            return k, None
    if same_kind:
        served = ", ".join(f'"{k.api_version(v)}"' for k in same_kind for v in k.versions)
        return None, f'no kind "{kind}" is registered for version "{api_version}"; served: {served}'
    if group in BUILTIN_GROUPS:
        return None, f'no kind "{kind}" is registered for version "{api_version}"'
    if store_bound():
        guess = f"{kind.lower()}s.{group}"
        return None, (f'no matches for kind "{kind}" in version "{api_version}": the CustomResourceDefinition '
                      f'that defines it (e.g. "{guess}") is missing; apply the CRD first')
    return None, None
