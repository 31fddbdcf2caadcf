"""The API's write verbs as kube-apiserver answers them: POST create, PUT replace, PATCH (JSON, merge,
strategic-merge and server-side apply), DELETE (one object or a collection), and the scale subresource.

The server (netlab/api/server.py) routes here; the controller's Backend does the writing (the same
validation and atomic commit as `netlab apply`), netlab/api/patch.py the patch semantics and
netlab/api/writeopts.py the request's options. Every write honours dryRun=All (validated, nothing changes),
fieldValidation (Strict/Warn/Ignore) and fieldManager (managedFields).
"""

from __future__ import annotations

import copy
import json
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from aiohttp import web

from netlab.api import patch as patchmod
from netlab.api import writeopts
from netlab.api.errors import ApiError
from netlab.api.paths import parse_path
from netlab.api.resources import Resource, served
from netlab.api.writeopts import WriteOptions
from netlab.compile.addons import is_addon
from netlab.compile.label_selectors import matches_text
from netlab.runtime.store import check_preconditions, with_replicas

SCALE = "scale"
GENERATED_NAME_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"   # upstream's: no vowels, no look-alikes


class ApiServer(Protocol):
    """What the handlers need of netlab.api.server.ApiServer."""

    @property
    def controller(self) -> Any: ...

    async def body(self, request: web.Request) -> bytes: ...

    def run(self, fn: Callable[..., Any], *args: Any) -> Awaitable[Any]: ...


def options(request: web.Request) -> WriteOptions:
    return writeopts.parse_options(request.query, request.query.getall("dryRun", []))


def answer(code: int, body: dict, opts: WriteOptions) -> web.Response:
    response = web.json_response(body, status=code)
    for name, value in writeopts.warning_headers(opts.warnings):
        response.headers.add(name, value)
    return response


def _manager(request: web.Request, opts: WriteOptions) -> str:
    return patchmod.manager_for(opts.field_manager, request.headers.get("User-Agent", ""))


def _namespace(resource: Resource, ns: str | None) -> str | None:
    return (ns or "default") if resource.namespaced else None


def _strictly(resource: Resource, opts: WriteOptions, write: Callable[[Callable[[dict], dict]], Any]) -> Any:
    """write(clean) with fieldValidation applied (in a worker thread): when validation finds unknown fields,
    Strict answers 400 as upstream's strict decoder; Warn and Ignore write again with clean() dropping them
    (Warn says so in Warning headers)."""
    try:
        return write(lambda obj: obj)
    except ApiError as e:
        unknown = writeopts.unknown_fields(e)
        if not unknown:
            raise
    writeopts.report_fields([f'unknown field "{f}"' for f in unknown],
                            {"kind": resource.kind, "apiVersion": resource.api_version}, opts)
    return write(lambda obj: writeopts.without_fields(obj, unknown))


def as_if_written(result: dict, live: dict) -> dict:
    """A dry-run replace or patch answers the object as it would be stored: the server's metadata and the
    status carried over from the live object (what `kubectl diff` compares), generation bumped when the
    desired part changed."""
    meta, live_meta = dict(result.get("metadata") or {}), live.get("metadata") or {}
    for key in ("uid", "creationTimestamp", "resourceVersion", "generation"):
        if key in live_meta:
            meta[key] = live_meta[key]
    desired = {k: v for k, v in result.items() if k not in ("metadata", "status")}
    if "generation" in meta and desired != {k: v for k, v in live.items() if k not in ("metadata", "status")}:
        meta["generation"] = int(meta["generation"]) + 1
    out = {**result, "metadata": meta}
    if "status" in live:
        out["status"] = live["status"]
    return out


# ----- POST --------------------------------------------------------------------------------------------
async def create(request: web.Request, api: ApiServer, path: str) -> web.StreamResponse:
    resource, ns, name, sub = parse_path(path)
    if name is not None or sub is not None:
        raise ApiError(405, "MethodNotAllowed", f"POST is not supported on {path}")
    opts = options(request)
    obj = writeopts.decode_object(await api.body(request), request.headers.get("Content-Type", ""), opts)
    obj = writeopts.check_identity(obj, resource, _namespace(resource, ns), None)
    obj = _generated_name(obj)
    obj = patchmod.record_update({}, obj, _manager(request, opts))
    ctl = api.controller
    created = await api.run(_strictly, resource, opts, lambda clean: ctl.create(clean(obj), opts.dry_run))
    return answer(201, created, opts)


def _generated_name(obj: dict) -> dict:
    """metadata.generateName without a name: the name is the prefix and five random characters."""
    meta = obj.get("metadata")
    if isinstance(meta, dict) and not meta.get("name") and isinstance(meta.get("generateName"), str):
        suffix = "".join(secrets.choice(GENERATED_NAME_ALPHABET) for _ in range(5))
        meta = {k: v for k, v in meta.items() if k != "generateName"}
        obj = {**obj, "metadata": {**meta, "name": obj["metadata"]["generateName"] + suffix}}
    return obj


# ----- PUT ---------------------------------------------------------------------------------------------
async def replace(request: web.Request, api: ApiServer, path: str) -> web.StreamResponse:
    resource, ns, name, sub = parse_path(path)
    if name is None or sub not in (None, SCALE):
        raise ApiError(405, "MethodNotAllowed", f"PUT is not supported on {path}")
    opts, ctl = options(request), api.controller
    body = writeopts.decode_object(await api.body(request), request.headers.get("Content-Type", ""), opts)
    namespace = _namespace(resource, ns) or ""
    if sub == SCALE:
        replicas = (body.get("spec") or {}).get("replicas") if isinstance(body.get("spec"), dict) else None
        rv = (body.get("metadata") or {}).get("resourceVersion") if isinstance(body.get("metadata"), dict) else None
        return answer(200, await api.run(_scale, ctl, resource.kind, namespace, name, replicas, rv, opts), opts)
    obj = writeopts.check_identity(body, resource, _namespace(resource, ns), name)
    manager = _manager(request, opts)

    def write(clean: Callable[[dict], dict]) -> dict:
        live = ctl.get(resource.kind, namespace, name)
        result = ctl.replace(clean(patchmod.record_update(live, obj, manager)), opts.dry_run)
        return as_if_written(result, live) if opts.dry_run else result

    return answer(200, await api.run(_strictly, resource, opts, write), opts)


def _scale(ctl, kind: str, namespace: str, name: str, replicas: object, rv: str | None,
           opts: WriteOptions) -> dict:
    if opts.dry_run:   # what the Scale would be, nothing written
        scale = copy.deepcopy(ctl.get_scale(kind, namespace, name))
        if rv:
            check_preconditions({"metadata": {"resourceVersion": rv}}, ctl.get(kind, namespace, name))
        with_replicas({"metadata": {"name": name}, "spec": {}}, replicas)
        scale["spec"]["replicas"] = replicas
        return scale
    return ctl.scale(kind, namespace, name, replicas, rv)


def is_scale(path: str) -> bool:
    """Whether path is a scale subresource (not, say, a pod named "scale")."""
    if not path.endswith("/" + SCALE):
        return False
    try:
        return parse_path(path)[3] == SCALE
    except ApiError:
        return False


async def get_scale(request: web.Request, api: ApiServer, path: str) -> web.StreamResponse:
    """GET .../deployments/NAME/scale: the autoscaling/v1 Scale."""
    resource, ns, name, sub = parse_path(path)
    if name is None or sub != SCALE:
        raise ApiError(404, "NotFound", f"the server could not find the requested resource ({path})")
    return web.json_response(await api.run(api.controller.get_scale, resource.kind, _namespace(resource, ns) or "",
                                           name))


# ----- PATCH -------------------------------------------------------------------------------------------
async def patch(request: web.Request, api: ApiServer, path: str) -> web.StreamResponse:
    resource, ns, name, sub = parse_path(path)
    if name is None or sub not in (None, SCALE):
        raise ApiError(405, "MethodNotAllowed", f"PATCH is not supported on {path}")
    opts, ctl = options(request), api.controller
    content_type = request.headers.get("Content-Type", "")
    patchmod.check_patch_options(content_type, opts.field_manager, force_given=opts.force is not None)
    body = await api.body(request)
    namespace = _namespace(resource, ns) or ""
    is_apply = content_type.split(";", 1)[0].strip().lower() == patchmod.APPLY_PATCH
    if sub == SCALE:
        def scale_patch() -> dict:
            scale = ctl.get_scale(resource.kind, namespace, name)
            new = patchmod.apply_patch(copy.deepcopy(scale), body, content_type)
            rv = (new.get("metadata") or {}).get("resourceVersion")
            rv = rv if rv != scale["metadata"].get("resourceVersion") else None
            return _scale(ctl, resource.kind, namespace, name, (new.get("spec") or {}).get("replicas"), rv, opts)

        return answer(200, await api.run(scale_patch), opts)
    manager = _manager(request, opts)

    def change(live: dict) -> dict:
        if is_apply:
            new = patchmod.apply_patch(live, body, content_type, field_manager=opts.field_manager,
                                       force=bool(opts.force))
        else:
            new = _taken_over(live, body, content_type) or patchmod.apply_patch(live, body, content_type)
            new = patchmod.record_update(live, new, manager)
        _same_object(live, new, resource)
        return new

    created = False

    def write(clean: Callable[[dict], dict]) -> dict:
        nonlocal created
        if is_apply and not _exists(ctl, resource, namespace, name):
            new = patchmod.create_with_apply(body, str(opts.field_manager))
            new = writeopts.check_identity(new, resource, _namespace(resource, ns), name)
            created = True
            return ctl.create(clean(new), opts.dry_run)
        seen: list[dict] = []

        def patched(live: dict) -> dict:
            seen.append(copy.deepcopy(live))
            return clean(change(live))

        result = ctl.patch(resource.kind, namespace, name, patched, opts.dry_run)
        return as_if_written(result, seen[-1]) if opts.dry_run and seen else result

    result = await api.run(_strictly, resource, opts, write)
    return answer(201 if created else 200, result, opts)


def _exists(ctl, resource: Resource, namespace: str, name: str) -> bool:
    try:
        ctl.get(resource.kind, namespace, name)
        return True
    except ApiError as e:
        if e.code == 404:
            return False
        raise


LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
_IDENTITY = ("name", "namespace", "uid", "resourceVersion", "creationTimestamp", "generation")


def _taken_over(live: dict, body: bytes, content_type: str) -> dict | None:
    """Where `kubectl apply` writes over an add-on's object (netlab.compile.addons) of the same name, the
    object it applies (its patch carries it whole, as the last-applied annotation) replaces the add-on's, as
    the add-on promises: only the identity is kept. None for every other patch."""
    if not is_addon(live) or not content_type.startswith(patchmod.STRATEGIC_MERGE_PATCH):
        return None
    try:
        annotations = ((json.loads(body) or {}).get("metadata") or {}).get("annotations") or {}
        applied = json.loads(annotations[LAST_APPLIED])
    except (ValueError, AttributeError, KeyError, TypeError):
        return None
    if not isinstance(applied, dict) or not isinstance(applied.get("metadata") or {}, dict):
        return None
    meta, old = dict(applied.get("metadata") or {}), live.get("metadata") or {}
    meta.update({k: old[k] for k in _IDENTITY if k in old})
    meta["annotations"] = {**(meta.get("annotations") or {}), LAST_APPLIED: annotations[LAST_APPLIED]}
    return {**applied, "metadata": meta}


def _same_object(live: dict, new: dict, resource: Resource) -> None:
    """A patch may not move an object: its kind, name and namespace stay the URL's (400 as upstream)."""
    if not isinstance(new, dict) or not isinstance(new.get("metadata"), dict):
        raise ApiError(400, "BadRequest", "the patched object has no metadata")
    old_meta, meta = live["metadata"], new["metadata"]
    if meta.get("name") != old_meta.get("name"):
        raise ApiError(400, "BadRequest", f"the name of the object ({meta.get('name')}) does not match the "
                       f"name on the URL ({old_meta.get('name')})")
    if resource.namespaced and (meta.get("namespace") or "default") != (old_meta.get("namespace") or "default"):
        raise ApiError(400, "BadRequest", "the namespace of the provided object does not match the namespace "
                       "sent on the request")
    if new.get("kind") != live.get("kind") or new.get("apiVersion") != live.get("apiVersion"):
        raise ApiError(400, "BadRequest", f"the patch changed the object's kind or apiVersion (to "
                       f"{new.get('apiVersion')}, {new.get('kind')})")


# ----- DELETE ------------------------------------------------------------------------------------------
async def delete(request: web.Request, api: ApiServer, path: str) -> web.StreamResponse:
    resource, ns, name, sub = parse_path(path)
    if sub is not None:
        raise ApiError(405, "MethodNotAllowed", f"DELETE is not supported on {path}")
    opts, ctl = options(request), api.controller
    delete_options = writeopts.decode_delete_options(await api.body(request), opts)
    namespace = _namespace(resource, ns)
    if name is None:   # deletecollection
        selector = request.query.get("labelSelector")
        items = await api.run(_delete_collection, ctl, resource, namespace, selector, opts.dry_run)
        return answer(200, {"kind": f"{resource.kind}List", "apiVersion": resource.api_version,
                            "metadata": {}, "items": items}, opts)
    preconditions = delete_options.get("preconditions") or {}
    grace = delete_options.get("gracePeriodSeconds")
    if grace is None and request.query.get("gracePeriodSeconds", "").lstrip("-").isdigit():
        grace = int(request.query["gracePeriodSeconds"])
    return answer(200, await api.run(_delete_one, ctl, resource.kind, namespace or "", name, preconditions,
                                      opts.dry_run, grace), opts)


#: Seconds a deleted Namespace's contents still answer a DELETE as deleted. Upstream a Namespace is
#: Terminating while its controller deletes what is in it, so `kubectl delete -f` of a file that lists the
#: Namespace first still deletes the objects after it; netlab deletes a Namespace and its contents at once.
TERMINATING_WINDOW = 30.0
_gone_with_namespace: dict[tuple[int, str, str, str], tuple[float, dict]] = {}


def _remember_contents(ctl, namespace: str) -> None:
    now = time.monotonic()
    for key in [k for k, (until, _) in _gone_with_namespace.items() if until < now]:
        del _gone_with_namespace[key]
    for resource in served():
        if resource.namespaced:
            for obj in ctl.watchcache.list(resource.kind, namespace)[0]:
                key = (id(ctl), resource.kind, namespace, obj["metadata"]["name"])
                _gone_with_namespace[key] = (now + TERMINATING_WINDOW, obj)


def _delete_one(ctl, kind: str, namespace: str, name: str, preconditions: dict, dry_run: bool,
                grace: int | None = None) -> dict:
    try:
        return _delete_live(ctl, kind, namespace, name, preconditions, dry_run, grace)
    except ApiError as e:
        until, obj = _gone_with_namespace.get((id(ctl), kind, namespace, name), (0.0, {}))
        if e.code == 404 and until > time.monotonic():
            return obj
        raise


#: Namespaces the apiserver's NamespaceLifecycle admission never lets go
IMMORTAL_NAMESPACES = frozenset({"default", "kube-system", "kube-public"})


def _delete_live(ctl, kind: str, namespace: str, name: str, preconditions: dict, dry_run: bool,
                 grace: int | None = None) -> dict:
    if kind == "Namespace" and name in IMMORTAL_NAMESPACES:
        raise ApiError(403, "Forbidden", f'namespaces "{name}" is forbidden: this namespace may not be deleted',
                       details={"name": name, "kind": "namespaces"})
    if kind == "Namespace" and not dry_run:
        _remember_contents(ctl, name)
    if preconditions or dry_run:
        live = ctl.get(kind, namespace, name)
        if isinstance(preconditions, dict) and preconditions:
            check_preconditions({"metadata": {k: preconditions.get(k) for k in ("uid", "resourceVersion")}}, live)
        if dry_run:
            return live
    return ctl.delete(kind, namespace, name, grace) if grace is not None else ctl.delete(kind, namespace, name)


def _delete_collection(ctl, resource: Resource, namespace: str | None, selector: str | None,
                       dry_run: bool) -> list[dict]:
    """DELETE on a collection: every object of it (matching labelSelector) deleted one by one; those that
    netlab derives and cannot delete alone (a Service's Endpoints) are left, as are ones already gone."""
    out = []
    for obj in ctl.list(resource.kind, namespace):
        if selector and not matches_text(selector, obj["metadata"].get("labels") or {}):
            continue
        try:
            out.append(_delete_one(ctl, resource.kind, obj["metadata"].get("namespace") or "",
                                   obj["metadata"]["name"], {}, dry_run))
        except ApiError as e:
            if e.code not in (404, 405):
                raise
    return out
