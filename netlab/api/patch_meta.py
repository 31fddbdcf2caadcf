"""Patch metadata of list (and a few map) fields, as Kubernetes' Go types declare it in struct tags.

One table for both users: strategic merge patch / server-side apply (netlab/api/patch.py) and the
OpenAPI generator, which emits it as x-kubernetes-patch-strategy, -patch-merge-key, -list-type and
-list-map-keys. A path is the field names from the object root, without list indices, e.g.
("spec", "template", "spec", "containers", "ports") for a Deployment's container ports.
Fields not in the table are atomic: a patch replaces a list whole and merges a map key by key.
"""

from __future__ import annotations

from dataclasses import dataclass

Path = tuple[str, ...]


@dataclass(frozen=True)
class ListMeta:
    """strategy: the patchStrategy tag ("merge", "retainKeys", "merge,retainKeys" or "" for none).
    merge_key: the patchMergeKey tag. list_type: "map", "set", "atomic", or "" for a map field.
    map_keys: the listMapKeys (the merge key first)."""

    strategy: str = ""
    merge_key: str | None = None
    list_type: str = ""
    map_keys: tuple[str, ...] = ()

    @property
    def merges(self) -> bool:
        return "merge" in self.strategy.split(",")

    @property
    def retains_keys(self) -> bool:
        return "retainKeys" in self.strategy.split(",")


def _keyed(key: str, *more: str, strategy: str = "merge") -> ListMeta:
    return ListMeta(strategy, key, "map", (key, *more))


_ATOMIC = ListMeta(list_type="atomic")
_SET = ListMeta("merge", None, "set")
_CONDITIONS = _keyed("type")

_CONTAINER: dict[Path, ListMeta] = {
    ("ports",): _keyed("containerPort", "protocol"),
    ("env",): _keyed("name"),
    ("volumeMounts",): _keyed("mountPath"),
    ("volumeDevices",): _keyed("devicePath"),
    ("envFrom",): _ATOMIC,
    ("command",): _ATOMIC,
    ("args",): _ATOMIC,
    ("resizePolicy",): _ATOMIC,
    ("resources", "claims"): ListMeta("", None, "map", ("name",)),
    ("securityContext", "capabilities", "add"): _ATOMIC,
    ("securityContext", "capabilities", "drop"): _ATOMIC,
}

_POD_SPEC: dict[Path, ListMeta] = {
    ("volumes",): _keyed("name", strategy="merge,retainKeys"),
    ("imagePullSecrets",): _keyed("name"),
    ("hostAliases",): _keyed("ip"),
    ("topologySpreadConstraints",): _keyed("topologyKey", "whenUnsatisfiable"),
    ("schedulingGates",): _keyed("name"),
    ("resourceClaims",): _keyed("name", strategy="merge,retainKeys"),
    ("tolerations",): _ATOMIC,
    ("readinessGates",): _ATOMIC,
    ("hostAliases", "hostnames"): _ATOMIC,
    ("dnsConfig", "nameservers"): _ATOMIC,
    ("dnsConfig", "searches"): _ATOMIC,
    ("dnsConfig", "options"): _ATOMIC,
    **{(group, *sub): meta for group in ("containers", "initContainers", "ephemeralContainers")
       for sub, meta in {(): _keyed("name"), **_CONTAINER}.items()},
}

_POD_STATUS: dict[Path, ListMeta] = {
    ("conditions",): _CONDITIONS,
    ("podIPs",): _keyed("ip"),
    ("hostIPs",): ListMeta("merge", "ip", "atomic"),  # merged by SMP, atomic for apply
    ("containerStatuses",): _ATOMIC,
    ("initContainerStatuses",): _ATOMIC,
    ("ephemeralContainerStatuses",): _ATOMIC,
}

_OBJECT_META: dict[Path, ListMeta] = {
    ("metadata", "finalizers"): _SET,
    ("metadata", "ownerReferences"): _keyed("uid"),
    ("metadata", "managedFields"): _ATOMIC,
}


def _under(prefix: Path, table: dict[Path, ListMeta]) -> dict[Path, ListMeta]:
    return {prefix + path: meta for path, meta in table.items()}


def _selector(at: Path) -> dict[Path, ListMeta]:
    """A metav1.LabelSelector at `at`: its expressions and their values are atomic lists."""
    return {at + ("matchExpressions",): _ATOMIC, at + ("matchExpressions", "values"): _ATOMIC}


def _workload(template: Path, extra: dict[Path, ListMeta]) -> dict[Path, ListMeta]:
    """A kind embedding a PodTemplateSpec at `template` (its metadata gets ObjectMeta's lists too)."""
    return {**_OBJECT_META, **_under(template, _OBJECT_META), **_under(template + ("spec",), _POD_SPEC),
            **_selector(("spec", "selector")), ("status", "conditions"): _CONDITIONS, **extra}


def _rules(at: Path, peers: str) -> dict[Path, ListMeta]:
    """NetworkPolicy ingress/egress rules: every list in them is atomic."""
    peer = at + (peers,)
    return {at: _ATOMIC, at + ("ports",): _ATOMIC, peer: _ATOMIC, peer + ("ipBlock", "except"): _ATOMIC,
            **_selector(peer + ("podSelector",)), **_selector(peer + ("namespaceSelector",))}


_LOAD_BALANCER_STATUS: dict[Path, ListMeta] = {
    ("status", "loadBalancer", "ingress"): _ATOMIC,
    ("status", "loadBalancer", "ingress", "ports"): _ATOMIC,
}

ALL: dict[str, dict[Path, ListMeta]] = {
    "Pod": {**_OBJECT_META, **_under(("spec",), _POD_SPEC), **_under(("status",), _POD_STATUS)},
    "PodTemplate": {**_OBJECT_META, **_under(("template",), _OBJECT_META),
                    **_under(("template", "spec"), _POD_SPEC)},
    "Deployment": _workload(("spec", "template"), {("spec", "strategy"): ListMeta("retainKeys")}),
    "ReplicaSet": _workload(("spec", "template"), {}),
    "DaemonSet": _workload(("spec", "template"), {}),
    "StatefulSet": _workload(("spec", "template"), {}),
    "Job": _workload(("spec", "template"), {("status", "conditions"): ListMeta("merge", "type", "atomic")}),
    "Service": {
        **_OBJECT_META,
        ("spec", "ports"): _keyed("port", "protocol"),
        ("spec", "externalIPs"): _ATOMIC,
        ("spec", "clusterIPs"): _ATOMIC,
        ("spec", "ipFamilies"): _ATOMIC,
        ("spec", "loadBalancerSourceRanges"): _ATOMIC,
        ("status", "conditions"): _CONDITIONS,
        **_LOAD_BALANCER_STATUS,
    },
    "Endpoints": {**_OBJECT_META, ("subsets",): _ATOMIC, ("subsets", "addresses"): _ATOMIC,
                  ("subsets", "notReadyAddresses"): _ATOMIC, ("subsets", "ports"): _ATOMIC},
    "EndpointSlice": {**_OBJECT_META, ("endpoints",): _ATOMIC, ("ports",): _ATOMIC,
                      ("endpoints", "addresses"): ListMeta(list_type="set")},
    "Ingress": {**_OBJECT_META, ("spec", "rules"): _ATOMIC, ("spec", "tls"): _ATOMIC,
                ("spec", "tls", "hosts"): _ATOMIC, ("spec", "rules", "http", "paths"): _ATOMIC,
                **_LOAD_BALANCER_STATUS},
    "IngressClass": {**_OBJECT_META},
    "NetworkPolicy": {**_OBJECT_META, **_selector(("spec", "podSelector")), ("spec", "policyTypes"): _ATOMIC,
                      **_rules(("spec", "ingress"), "from"), **_rules(("spec", "egress"), "to")},
    "Namespace": {**_OBJECT_META, ("spec", "finalizers"): _ATOMIC, ("status", "conditions"): _CONDITIONS},
    "Node": {**_OBJECT_META, ("spec", "podCIDRs"): _SET, ("spec", "taints"): _ATOMIC,
             ("status", "conditions"): _CONDITIONS, ("status", "addresses"): _keyed("type"),
             ("status", "images"): _ATOMIC},
    "Secret": {**_OBJECT_META},
    "ConfigMap": {**_OBJECT_META},
    "Event": {**_OBJECT_META},
    "ServiceAccount": {**_OBJECT_META, ("secrets",): _keyed("name"), ("imagePullSecrets",): _ATOMIC},
}


def list_meta(kind: str, path: Path) -> ListMeta | None:
    """The patch metadata of the field at `path` (names from the object root, no indices) of `kind`.
    Unknown kinds still get ObjectMeta's lists (finalizers, ownerReferences)."""
    table = ALL.get(kind)
    if table is None:
        return _OBJECT_META.get(path)
    return table.get(path)
