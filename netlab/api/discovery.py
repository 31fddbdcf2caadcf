"""The API's discovery documents (`/api`, `/api/v1`, `/apis`, `/apis/<group>[/<version>]`) and `/version`,
built from the resource table (netlab/api/resources.py). Pure: no server, no controller.

Legacy (unaggregated) discovery: kubectl asks for `as=APIGroupDiscoveryList` first and falls back to
these documents when the answer is plain `application/json`, as against an older API server.
"""

from __future__ import annotations

from netlab.api import resources
from netlab.api.resources import Resource

KUBERNETES_VERSION = "v1.37.0"
#: The verbs this server answers; a resource advertises the intersection with its upstream verbs.
SERVED_VERBS = frozenset({"create", "delete", "deletecollection", "get", "list", "patch", "update"})
#: The kinds with a scale subresource (autoscaling/v1 Scale), as `kubectl scale` finds it in discovery.
SCALABLE_KINDS = frozenset({"Deployment", "ReplicaSet", "StatefulSet", "ReplicationController"})


def _versions() -> dict[str, list[str]]:
    """group -> its versions (the core group is ""), in table order."""
    out: dict[str, list[str]] = {}
    for r in resources.served():
        version = r.api_version.rpartition("/")[2]
        if version not in out.setdefault(r.group, []):
            out[r.group].append(version)
    return out


def _resource_entry(r: Resource) -> dict:
    entry = {"name": r.plural, "singularName": r.singular, "namespaced": r.namespaced, "kind": r.kind,
             "verbs": sorted(SERVED_VERBS.intersection(r.verbs))}
    if r.short:
        entry["shortNames"] = list(r.short)
    if r.categories:
        entry["categories"] = list(r.categories)
    return entry


def _subresource_entries(r: Resource) -> list[dict]:
    # pods/log is a get-only subresource upstream; its kind is the core "Pod" for discovery's sake
    entries = [{"name": f"{r.plural}/{sub}", "singularName": "", "namespaced": r.namespaced, "kind": r.kind,
                "verbs": ["get"]} for sub in r.subresources]
    if r.kind in SCALABLE_KINDS:
        entries.append({"name": f"{r.plural}/scale", "singularName": "", "namespaced": r.namespaced,
                        "group": "autoscaling", "version": "v1", "kind": "Scale", "verbs": ["get", "patch", "update"]})
    return entries


def api_versions(server_address: str) -> dict:
    """`/api`: the core group's versions."""
    return {"kind": "APIVersions", "versions": _versions()[""],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}]}


def _group(name: str, versions: list[str]) -> dict:
    gvs = [{"groupVersion": f"{name}/{v}", "version": v} for v in versions]
    return {"name": name, "versions": gvs, "preferredVersion": gvs[0]}


def api_group_list() -> dict:
    """`/apis`: every named group."""
    return {"kind": "APIGroupList", "apiVersion": "v1",
            "groups": [_group(g, vs) for g, vs in _versions().items() if g]}


def api_group(name: str) -> dict | None:
    """`/apis/<group>`, or None for a group netlab does not serve."""
    versions = _versions().get(name)
    if not name or versions is None:
        return None
    return {"kind": "APIGroup", "apiVersion": "v1", **_group(name, versions)}


def resource_list(group_version: str) -> dict | None:
    """`/api/v1` or `/apis/<group>/<version>`: the resources of one group version, or None."""
    served = [r for r in resources.served() if r.api_version == group_version]
    if not served:
        return None
    entries = []
    for r in served:
        entries += [_resource_entry(r), *_subresource_entries(r)]
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version, "resources": entries}


def version_info(platform: str = "linux/amd64") -> dict:
    """`/version`, shaped as kube-apiserver's version.Info."""
    major, minor, _ = KUBERNETES_VERSION.lstrip("v").split(".")
    return {"major": major, "minor": minor, "gitVersion": f"{KUBERNETES_VERSION}-netlab", "gitCommit": "",
            "gitTreeState": "clean", "buildDate": "2026-01-01T00:00:00Z", "goVersion": "python",
            "compiler": "netlab", "platform": platform}


def document(path: str, server_address: str) -> dict | None:
    """The discovery document at path (no trailing slash), or None when path is not a discovery path."""
    parts = [p for p in path.split("/") if p]
    if parts == ["api"]:
        return api_versions(server_address)
    if parts == ["api", "v1"]:
        return resource_list("v1")
    if parts == ["apis"]:
        return api_group_list()
    if len(parts) == 2 and parts[0] == "apis":
        return api_group(parts[1])
    if len(parts) == 3 and parts[0] == "apis":
        return resource_list(f"{parts[1]}/{parts[2]}")
    if parts == ["version"]:
        return version_info()
    return None


def served_resources(group_version: str, document: dict) -> tuple[Resource, ...]:
    """The resources an APIResourceList document (of a CRD's group version) describes, for a client that
    resolves a custom kind's name (`netlab get widgets`)."""
    return tuple(resources.Resource(r["name"], r["kind"], group_version, bool(r.get("namespaced")),
                                    tuple(r.get("shortNames") or ()), tuple(r.get("categories") or ()),
                                    stored_only=True, custom=True)
                 for r in document.get("resources") or [] if "/" not in r["name"])
