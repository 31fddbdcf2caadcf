"""The controller's store operations: merging applied objects (uid, generation), namespace checks,
service allocation and pod placement as API errors, error naming."""

from __future__ import annotations

import random
import sys
import time
from collections.abc import Mapping

from netlab.api import views
from netlab.api.errors import ApiError
from netlab.api.resources import BUILTIN_NAMESPACES, CLUSTER_SCOPED
from netlab.compile import addons, desired
from netlab.compile.config import ClusterConfig
from netlab.compile.services import Allocation, AllocationError
from netlab.compile.topology import NodeNet
from netlab.compile.workloads import PlacedPod, PlacementError
from netlab.runtime import state as statemod


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


def stamp(obj: dict, old: dict | None, rng: random.Random) -> dict:
    meta = dict(obj["metadata"])
    if old is not None:
        meta["uid"] = old["metadata"]["uid"]
        meta["creationTimestamp"] = old["metadata"]["creationTimestamp"]
        meta["generation"] = old["metadata"].get("generation", 1) + 1
    else:
        meta["uid"] = f"{rng.getrandbits(128):032x}"
        meta["creationTimestamp"] = views.timestamp(time.time())
        meta["generation"] = 1
    return {**obj, "metadata": meta}


def check_namespaces(objects: dict[str, dict], applied: list[dict]) -> None:
    """Every namespaced object applied must name a namespace that exists (or comes with it)."""
    known = set(BUILTIN_NAMESPACES) | {o["metadata"]["name"] for o in objects.values() if o["kind"] == "Namespace"}
    causes = []
    for obj in applied:
        ns = obj["metadata"].get("namespace")
        if obj["kind"] not in CLUSTER_SCOPED and ns and ns not in known:
            causes.append({"object": f"{obj['kind']} {ns}/{obj['metadata']['name']}",
                           "field": "metadata.namespace", "message": f'namespaces "{ns}" not found'})
    if causes:
        raise ApiError(422, "Invalid", "; ".join(c["message"] for c in causes), causes)


def merge(current: dict[str, dict], objects: list[dict], rng: random.Random) -> tuple[dict[str, dict], list[dict]]:
    """The store with ``objects`` applied (new ones stamped, unchanged ones kept as they are), and what
    happened to each (kubectl's created/configured/unchanged)."""
    out = dict(current)
    results = []
    for obj in objects:
        key = statemod.object_key(obj)
        old = out.get(key)
        if old is not None and strip(old) == strip(obj):
            action = "unchanged"
        else:
            action = "configured" if old is not None else "created"
            obj = stamp(obj, old, rng)
            out[key] = obj
        results.append({"kind": obj["kind"], "name": obj["metadata"]["name"],
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
              ready_since: Mapping[str, float] | None = None) -> dict[str, PlacedPod]:
    try:
        return desired.placement(objects, previous, nodes, rng, cursor, time.time(), ready_since)
    except PlacementError as e:
        causes = [{"object": o, "field": f, "message": m} for o, f, m in e.problems]
        raise ApiError(422, "Invalid", str(e), causes) from e


def with_addons(objects: dict[str, dict], enabled: list[str], config: ClusterConfig, dns_view: str,
                ingress_argv: list[str], rng: random.Random) -> dict[str, dict]:
    """Add (or update) the cluster's own objects where the user has none of the same name; remove the
    ingress controller when nothing needs it."""
    wanted = addons.dns_objects(config, sys.executable, dns_view)
    if addons.ingress_wanted(list(objects.values()), "ingress-nginx" in enabled):
        wanted += addons.ingress_objects(ingress_argv)
    out, missing = addons.merge_addons(objects, wanted, statemod.object_key)
    for key, obj in missing:
        old = objects.get(key)
        out[key] = old if old is not None and strip(old) == strip(obj) else stamp(obj, old, rng)
    return out
