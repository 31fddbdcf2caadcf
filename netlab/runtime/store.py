"""The controller's store operations: merging applied objects (uid, generation), namespace checks,
service allocation and pod placement as API errors, error naming."""

from __future__ import annotations

import random
import sys
import time
from collections.abc import Mapping, Sequence

from netlab.api import views
from netlab.api.errors import ApiError
from netlab.api.resources import BUILTIN_NAMESPACES, by_kind, is_cluster_scoped
from netlab.compile import addons, desired, gateway_objects
from netlab.compile.config import ClusterConfig
from netlab.compile.gateway_attach import netlab_classes
from netlab.compile.services import Allocation, AllocationError
from netlab.compile.topology import NodeNet
from netlab.compile.workloads import PlacedPod, PlacementError
from netlab.model import crd
from netlab.runtime import state as statemod
from netlab.runtime.events import Involved


def naming(e: ApiError, changed: list[str]) -> ApiError:
    """An error that names no object gets the objects the request changed."""
    if e.causes or not changed:
        return e
    more = f" and {len(changed) - 5} more" if len(changed) > 5 else ""
    return ApiError(e.code, e.reason, f"{', '.join(changed[:5])}{more}: {e}")


def strip(obj: dict) -> dict:
    meta = {k: v for k, v in obj["metadata"].items()
            if k not in ("uid", "creationTimestamp", "resourceVersion", "generation")}
    return {**obj, "metadata": meta}


def _desired_part(obj: dict) -> dict:
    """What a change of bumps metadata.generation (upstream: the spec; for kinds without one, their data)."""
    return {k: v for k, v in obj.items() if k not in ("metadata", "status")}


def stamp(obj: dict, old: dict | None, rng: random.Random) -> dict:
    """The object as stored: uid, creationTimestamp and generation set by the server (the resourceVersion
    is the watch cache's, never stored)."""
    meta = {k: v for k, v in obj["metadata"].items() if k != "resourceVersion"}
    if old is not None:
        meta["uid"] = old["metadata"]["uid"]
        meta["creationTimestamp"] = old["metadata"]["creationTimestamp"]
        bump = _desired_part(old) != _desired_part(obj)
        meta["generation"] = old["metadata"].get("generation", 1) + (1 if bump else 0)
    else:
        meta["uid"] = f"{rng.getrandbits(128):032x}"
        meta["creationTimestamp"] = views.timestamp(time.time())
        meta["generation"] = 1
    return {**obj, "metadata": meta}


def without_instances(objects: dict[str, dict], crd_obj: dict) -> dict[str, dict]:
    """The store without the objects of the kind a deleted CRD defined."""
    info = crd.kind_of_crd(crd_obj)
    if info is None or info.group in crd.BUILTIN_GROUPS:  # e.g. the Gateway API's CRDs: its kinds are built in
        return objects
    return {k: o for k, o in objects.items()
            if not (o["kind"] == info.kind and str(o.get("apiVersion", "")).rpartition("/")[0] == info.group)}


def no_effect(kind: str) -> str | None:
    """The one line `describe` and an event give about a kind netlab stores but does not act on."""
    res = by_kind(kind)
    return res.no_effect_note() if res is not None else None


def check_namespaces(objects: dict[str, dict], applied: list[dict]) -> None:
    """Every namespaced object applied must name a namespace that exists (or comes with it)."""
    known = set(BUILTIN_NAMESPACES) | {o["metadata"]["name"] for o in objects.values() if o["kind"] == "Namespace"}
    causes = []
    for obj in applied:
        ns = obj["metadata"].get("namespace")
        if not is_cluster_scoped(obj["kind"]) and ns and ns not in known:
            causes.append({"object": f"{obj['kind']} {ns}/{obj['metadata']['name']}",
                           "field": "metadata.namespace", "message": f'namespaces "{ns}" not found'})
    if causes:
        raise ApiError(422, "Invalid", "; ".join(c["message"] for c in causes), causes)


def merge(current: dict[str, dict], objects: list[dict], rng: random.Random) -> tuple[dict[str, dict], list[dict]]:
    """The store with ``objects`` applied (new ones stamped, unchanged ones kept as they are), and what
    happened to each (kubectl's created/configured/unchanged)."""
    out = dict(current)
    results = []
    for obj in addons.default_ingress_class_names(current, objects):
        key = statemod.object_key(obj)
        old = out.get(key)
        if old is not None and strip(old) == strip(obj):
            action = "unchanged"
        else:
            action = "configured" if old is not None else "created"
            obj = stamp(obj, old, rng)
            out[key] = obj
        results.append({"kind": obj["kind"], "apiVersion": obj.get("apiVersion", ""), "name": obj["metadata"]["name"],
                        "namespace": obj["metadata"].get("namespace", ""), "action": action})
    return out, results


def allocations(objects: dict[str, dict], previous: dict[str, Allocation],
                config: ClusterConfig) -> dict[str, Allocation]:
    try:
        return desired.allocations(objects, previous, config)
    except AllocationError as e:
        causes = [{"object": o, "field": f, "message": m} for o, f, m in e.problems]
        raise ApiError(422, "Invalid", str(e), causes) from e


def placement(objects: dict[str, dict], previous: dict[str, PlacedPod], nodes: tuple[NodeNet, ...],
              rng: random.Random, cursor: dict[str, str],
              ready_since: Mapping[str, float] | None = None, job_view=None,
              terminating: Sequence[PlacedPod] = ()) -> dict[str, PlacedPod]:
    try:
        return desired.placement(objects, previous, nodes, rng, cursor, time.time(), ready_since, job_view,
                                 terminating)
    except PlacementError as e:
        causes = [{"object": o, "field": f, "message": m} for o, f, m in e.problems]
        raise ApiError(422, "Invalid", str(e), causes) from e


def with_addons(objects: dict[str, dict], enabled: list[str], config: ClusterConfig, dns_view: str,
                ingress_argv: list[str], rng: random.Random,
                api_endpoint: tuple[str, int] | None = None, gateway_root: str | None = None) -> dict[str, dict]:
    """Add (or update) the cluster's own objects where the user has none of the same name; remove the
    ingress controller when nothing needs it. `api_endpoint`: (host address, port) of the API server, for
    the `kubernetes` Service. `gateway_root`: where Gateways' proxies keep their files (None: no proxies)."""
    gateway_class = gateway_objects.gateway_class()
    wanted = addons.dns_objects(config, sys.executable, dns_view) + [gateway_class]
    if gateway_root is not None:
        present = [*objects.values(), *([gateway_class] if statemod.object_key(gateway_class) not in objects else [])]
        gateways = [o for o in objects.values() if o["kind"] == "Gateway"]
        wanted += gateway_objects.proxy_objects(gateways, netlab_classes(present), gateway_root)
    if api_endpoint is not None:
        wanted += addons.kubernetes_objects(config, *api_endpoint)
    if addons.ingress_wanted(list(objects.values()), "ingress-nginx" in enabled):
        wanted += addons.ingress_objects(ingress_argv)
    out, missing = addons.merge_addons(objects, wanted, statemod.object_key)
    for key, obj in missing:
        old = objects.get(key)
        out[key] = old if old is not None and strip(old) == strip(obj) else stamp(obj, old, rng)
    return out


# ----- the API's single-object writes (create, replace, scale) ----------------------------------------
def resource_name(kind: str) -> tuple[str, str]:
    """(plural[.group] as upstream's messages name a resource, group)."""
    res = by_kind(kind)
    if res is None:
        return kind.lower() + "s", ""
    group = res.api_version.rpartition("/")[0]
    return (f"{res.plural}.{group}" if group else res.plural), group


def _details(kind: str, name: str) -> dict:
    res = by_kind(kind)
    return {"name": name, "group": resource_name(kind)[1], "kind": res.plural if res else kind.lower() + "s"}


def not_found(kind: str, name: str) -> ApiError:
    return ApiError(404, "NotFound", f'{resource_name(kind)[0]} "{name}" not found', details=_details(kind, name))


def already_exists(kind: str, name: str) -> ApiError:
    return ApiError(409, "AlreadyExists", f'{resource_name(kind)[0]} "{name}" already exists',
                    details=_details(kind, name))


def conflict(kind: str, name: str, why: str = "the object has been modified; please apply your changes to "
             "the latest version and try again") -> ApiError:
    return ApiError(409, "Conflict", f'Operation cannot be fulfilled on {resource_name(kind)[0]} "{name}": {why}',
                    details=_details(kind, name))


def written(obj: dict) -> dict:
    """A written object as it is kept: without status (views compute it) and without the metadata the
    server sets (uid and resourceVersion are checked as preconditions by replace, then dropped)."""
    if not isinstance(obj, dict) or not isinstance(obj.get("metadata"), dict):
        return obj  # validation names what is wrong
    meta = {k: v for k, v in obj["metadata"].items()
            if k not in ("uid", "resourceVersion", "generation", "creationTimestamp", "selfLink")}
    return {**{k: v for k, v in obj.items() if k != "status"}, "metadata": meta}


def check_create(obj: dict) -> None:
    if isinstance(obj, dict) and (obj.get("metadata") or {}).get("resourceVersion"):
        raise ApiError(400, "BadRequest", "resourceVersion should not be set on objects to be created")


def check_preconditions(obj: dict, live: dict) -> None:
    """replace's optimistic concurrency: a given resourceVersion (and uid) must be the live one's."""
    meta, live_meta = obj.get("metadata") or {}, live["metadata"]
    kind, name = live["kind"], live_meta["name"]
    uid = meta.get("uid")
    if uid and uid != live_meta.get("uid"):
        raise conflict(kind, name, f"Precondition failed: UID in precondition: {uid}, "
                                   f"UID in object meta: {live_meta.get('uid')}")
    rv = meta.get("resourceVersion")
    if rv not in (None, "") and str(rv) != live_meta.get("resourceVersion"):
        raise conflict(kind, name)


def with_replicas(obj: dict, replicas: object) -> dict:
    if not isinstance(replicas, int) or isinstance(replicas, bool) or replicas < 0:
        raise ApiError(422, "Invalid", f'Scale.autoscaling "{obj["metadata"]["name"]}" is invalid: '
                       f"spec.replicas: Invalid value: {replicas!r}: must be greater than or equal to 0",
                       [{"reason": "FieldValueInvalid", "field": "spec.replicas",
                         "message": "must be greater than or equal to 0"}])
    return {**obj, "spec": {**obj["spec"], "replicas": replicas}}


# ----- what events are about ----------------------------------------------------------------------
def involved(ctl, kind: str, ref: str) -> Involved:
    """The ObjectReference of "Kind ns/name" (a cluster-scoped "Kind name"), with its uid when known; an
    event that names nothing is about the cluster (netlab's Cluster document)."""
    if not kind:
        return Involved("Cluster", ctl.cluster, api_version="netlab.dev/v1alpha1")
    ns, _, name = ref.rpartition("/")
    res = by_kind(kind)
    if res is not None and not res.namespaced:
        ns = ""
    uid = ""
    if kind == "Pod" and ref in ctl.live_pods:
        uid = ctl.live_pods[ref].uid
    else:
        stored = ctl.state.objects.get(f"{kind}/{ns}/{name}")
        uid = ((stored or {}).get("metadata") or {}).get("uid", "")
    return Involved(kind, name, ns, uid, res.api_version if res else "v1")
