"""The controller's API side: the events it records, the views it feeds the watch cache, and the
single-object verbs (get, create, replace, scale) as the apiserver answers them.

A mixin of netlab.runtime.controller.Controller: every write validates only the object written and goes
through Controller.apply, the same validation and atomic commit as `netlab apply`. Reads come from the
watch cache, so what they return carries the resourceVersion a watch reports.
"""

from __future__ import annotations

import copy
import dataclasses
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from netlab.api import views
from netlab.api.errors import ApiError
from netlab.api.request import validated_objects
from netlab.api.resources import RESOURCES, is_cluster_scoped, served
from netlab.api.watchcache import WatchCache
from netlab.compile.images import container_plan
from netlab.compile.workloads import PlacedPod
from netlab.model.meta import check_annotations, check_labels
from netlab.runtime import events as evmod
from netlab.runtime import state as statemod
from netlab.runtime import store
from netlab.runtime.events import EventLog

log = logging.getLogger("netlab.controller")
ALL_KINDS = frozenset(r.kind for r in RESOURCES)
RV_BLOCK = 100_000  # resourceVersions reserved in the state file at a time

SCALABLE = ("Deployment", "ReplicaSet", "StatefulSet", "ReplicationController")


def scope(kind: str, namespace: str | None) -> str:
    """The namespace an object of kind lives under in the cache ("" when cluster-scoped)."""
    return "" if is_cluster_scoped(kind) else (namespace or "default")


def identity(obj: Any) -> tuple[str, str, str] | None:
    """(kind, namespace, name) of a written object, None when it is too malformed to say."""
    if not isinstance(obj, dict) or not isinstance(obj.get("metadata"), dict):
        return None
    kind, name = obj.get("kind"), obj["metadata"].get("name")
    if not isinstance(kind, str) or not isinstance(name, str) or not name:
        return None
    ns = obj["metadata"].get("namespace")
    return kind, scope(kind, ns if isinstance(ns, str) else None), name


class ApiSide:
    # provided by the Controller (besides apply: _commit, _place, _with_addons, _allocate, topology)
    lock: threading.RLock
    watchcache: WatchCache
    state: Any
    eventlog: EventLog
    started: float
    _dirty: set[str]
    _rv_reserved: int
    _terminating: dict[str, float]
    _draining_namespaces: dict[str, dict]
    _custom_shown: set[str] = set()   # the custom kinds the watch cache holds (replaced, never changed in place)
    cluster: str

    # ----- what the API shows: events and the watch cache's views --------------------------
    def event(self, reason: str, message: str, obj: str = "", *, component: str = evmod.CONTROLLER,
              type: str | None = None, container: str = "") -> None:
        """Record a core/v1 Event about obj ("Kind ns/name"; a kernel change may name its node or pod in
        its message instead; otherwise it is about the cluster), or about one of its containers."""
        kind, ref, message = evmod.parse_object(obj, message)
        involved = store.involved(self, kind, ref)
        if container:
            involved = involved.part(f"spec.containers{{{container}}}")
        live = self.live_pods if kind == "Pod" else {}
        host = live[ref].node if ref in live else ""
        self.eventlog.record(involved, reason, message, type=type, component=component,
                             host=host if component == evmod.KUBELET else "")
        self._dirty.add("Event")

    def _container_event(self, pod_key: str, container: str, reason: str, message: str) -> None:
        self._dirty |= views.POD_KINDS  # a container changed state
        pod = self.live_pods.get(pod_key)
        spec = next((c for c in (pod.spec.get("containers", []) if pod else []) if c["name"] == container), {})
        name = pod_key.replace("/", "_")
        note = container_plan(spec).note if spec and reason == "Started" else ""
        for r, m in evmod.kubelet_events(reason, container, message, spec.get("image", ""), name, note):
            self.event(r, m, f"Pod {pod_key}", component=evmod.KUBELET, container=container)

    def _refresh_views(self, only: set[str] | None = None) -> None:
        """Feed the watch cache the views of every kind (or of those in `only`). resourceVersions are
        reserved in blocks in the state file before they are handed out, so they keep growing across
        controller restarts."""
        t0 = time.monotonic()
        # custom kinds change only with the store: refreshed when every built-in kind is
        kinds = list(dict.fromkeys(r.kind for r in served() if only is None or r.kind in only
                                   or (r.custom and ALL_KINDS <= only)))
        gone = self._custom_shown - set(kinds) if only is None or ALL_KINDS <= only else set()
        self._custom_shown = (self._custom_shown - gone) | {r.kind for r in served() if r.custom}
        self._dirty -= set(kinds)
        if self.watchcache.rv + RV_BLOCK // 2 > self._rv_reserved:
            self._rv_reserved = self.watchcache.rv + RV_BLOCK
            self.state.resource_version = self._rv_reserved
            statemod.save(self.cluster, self.state)
        snap = {**views.snapshot(self, kinds), **{kind: [] for kind in gone}}   # a deleted CRD's kind empties
        if self._terminating and "Namespace" in snap:
            listed = {n["metadata"]["name"] for n in snap["Namespace"]}
            snap["Namespace"] = [views.namespace(n["metadata"]["name"], n, self.started,
                                                 self._terminating.get(n["metadata"]["name"]))
                                 for n in snap["Namespace"]] + [
                views.namespace(name, shown, self.started, self._terminating[name])
                for name, shown in self._draining_namespaces.items() if name not in listed]
        changed = self.watchcache.refresh(snap)
        log.debug("views: %d changed in %.3fs", changed, time.monotonic() - t0)

    # ----- single-object verbs ---------------------------------------------------------------
    def apply(self, objects: list[dict], dry_run: bool = False) -> list[dict]:
        raise NotImplementedError

    def get(self, kind: str, namespace: str | None, name: str) -> dict:
        """One object as the API shows it; ApiError 404 when absent."""
        obj = self.watchcache.get(kind, scope(kind, namespace), name)
        if obj is None:
            raise store.not_found(kind, name)
        return obj

    def _stored(self, kind: str, namespace: str, name: str) -> dict | None:
        return self.state.objects.get(f"{kind}/{namespace}/{name}")

    def create(self, obj: dict, dry_run: bool = False) -> dict:
        """POST: 409 AlreadyExists when an object of that kind and name is there (stored or derived)."""
        store.check_create(obj)
        with self.lock:
            [valid] = validated_objects([store.written(obj)], self.state.cluster)
            kind, ns, name = identity(valid) or ("", "", "")
            if ns and self.watchcache.get("Namespace", "", ns) is None:
                raise store.not_found("Namespace", ns)  # as upstream: 404 for the namespace, before anything
            if (self._stored(kind, ns, name) is not None or self.watchcache.get(kind, ns, name) is not None
                    or (kind == "Pod" and f"{ns}/{name}" in self.state.pods)):
                raise store.already_exists(kind, name)
            self.apply([valid], dry_run)
            return valid if dry_run else self.get(kind, ns, name)

    def replace(self, obj: dict, dry_run: bool = False) -> dict:
        """PUT: 404 when absent, 409 Conflict when metadata.resourceVersion (or uid) is given and stale."""
        with self.lock:
            ident = identity(obj)
            if ident is None:
                validated_objects([obj], self.state.cluster)  # names what is missing
                raise ApiError(400, "BadRequest", "the object has no kind or name")
            kind, ns, name = ident
            live = self.watchcache.get(kind, ns, name)
            if live is None:
                raise store.not_found(kind, name)
            if self._stored(kind, ns, name) is None and kind == "Pod" and f"{ns}/{name}" in self.state.pods:
                store.check_preconditions(obj, live)
                return self._relabel_pod(self.state.pods[f"{ns}/{name}"], obj, live, dry_run)
            # a built-in namespace (default, kube-system ...) takes labels and annotations as upstream: the
            # write stores it (e.g. for a NetworkPolicy's namespaceSelector)
            if self._stored(kind, ns, name) is None and kind != "Namespace":
                raise ApiError(405, "MethodNotAllowed", f'{store.resource_name(kind)[0]} "{name}" is derived by '
                               "netlab from other objects (its Deployment, Service or node): change those instead")
            store.check_preconditions(obj, live)
            [valid] = validated_objects([store.written(obj)], self.state.cluster)
            self.apply([valid], dry_run)
            return valid if dry_run else self.get(kind, ns, name)

    def _with_pod_meta(self, pods: dict[str, PlacedPod]) -> dict[str, PlacedPod]:
        """Placed pods with the labels a client wrote on them (pod_meta), over their template's."""
        if not self.state.pod_meta:
            return pods
        out = {}
        for key, p in pods.items():
            labels = ((self.state.pod_meta.get(p.uid) or {}).get("metadata") or {}).get("labels")
            out[key] = dataclasses.replace(p, labels=dict(labels)) if labels is not None else p
        return out

    def _relabel_pod(self, pod: PlacedPod, obj: dict, live: dict, dry_run: bool) -> dict:
        """A write to a pod netlab derives (a Deployment's): its labels and annotations are the client's to
        change, as upstream, and the data plane follows the labels (Service endpoints, policies); anything
        else is immutable (422, as upstream's pod update validation). Kept in the state's pod_meta."""
        body = {k: v for k, v in obj.items() if k not in ("metadata", "status")}
        if body.get("spec") != live.get("spec"):
            message = "pod updates may not change fields other than metadata.labels and metadata.annotations"
            raise ApiError(422, "Invalid", f'Pod "{pod.name}" is invalid: spec: Forbidden: {message}',
                           [{"reason": "FieldValueForbidden", "field": "spec", "message": f"Forbidden: {message}"}],
                           {"name": pod.name, "kind": "Pod"})
        meta = obj.get("metadata") or {}
        labels, annotations = meta.get("labels") or {}, meta.get("annotations") or {}
        issues = check_labels(labels, "metadata.labels") + check_annotations(annotations, "metadata.annotations")
        if issues:
            raise ApiError(422, "Invalid", f'Pod "{pod.name}" is invalid: '
                           + "; ".join(f"{path}: {message}" for path, message in issues),
                           [{"reason": "FieldValueInvalid", "field": f, "message": m} for f, m in issues],
                           {"name": pod.name, "kind": "Pod"})
        written = {"metadata": {"labels": dict(labels), "annotations": dict(annotations),
                                "managedFields": meta.get("managedFields") or []}}
        if dry_run:
            return {**live, "metadata": {**live["metadata"], **written["metadata"]}}
        before = dict(self.state.pod_meta)
        self.state.pod_meta = {uid: m for uid, m in before.items()
                               if any(p.uid == uid for p in self.state.pods.values())}
        self.state.pod_meta[pod.uid] = written
        try:
            self._commit(self.state.objects, self._place(self.state.objects), self.state.allocations)
        except Exception:
            self.state.pod_meta = before
            raise
        return self.get("Pod", pod.namespace, pod.name)

    def patch(self, kind: str, namespace: str | None, name: str, change: Callable[[dict], dict],
              dry_run: bool = False) -> dict:
        """PATCH: change(live view) -> the new object, then replace, all under the controller's lock so no
        write slips in between (the live resourceVersion the result carries cannot be stale). change
        raises ApiError for a bad patch; the result is validated as replace validates."""
        with self.lock:
            live = copy.deepcopy(self.get(kind, namespace, name))  # the cache's copy is shared: not to be changed
            return self.replace(change(live), dry_run)

    def delete(self, kind: str, namespace: str, name: str, grace: int | None = None) -> dict:
        """Delete one object; returns it as the API shows it then (a Pod: Terminating for its grace period,
        `grace` seconds when given; a Namespace: Terminating, then gone with everything in it)."""
        with self.lock:
            if kind == "Pod" and grace is not None:
                self._grace_requests = {f"{scope(kind, namespace)}/{name}": grace}
            try:
                return self._delete(kind, namespace, name)
            finally:
                self._grace_requests = {}

    def _delete(self, kind: str, namespace: str, name: str) -> dict:
        with self.lock:
            ns = scope(kind, namespace)
            key = f"{kind}/{ns}/{name}"
            shown = self.watchcache.get(kind, ns, name)
            new_objects = dict(self.state.objects)
            if key in new_objects:
                removed = new_objects.pop(key)
                if kind == "Namespace":
                    new_objects = {k: o for k, o in new_objects.items()
                                   if (o["metadata"].get("namespace") or "") != name}
                elif kind == "CustomResourceDefinition":   # its objects go with it, as upstream
                    new_objects = store.without_instances(new_objects, removed)
            elif kind == "Pod" and f"{ns}/{name}" in self.state.pods:
                # A controller's pod: delete it and let its controller replace it.
                pod = self.state.pods[f"{ns}/{name}"]
                pods = {k: p for k, p in self.state.pods.items() if k != pod.key}
                # A StatefulSet's pod comes back under its name at the next step, once this one is gone.
                new_pods = {k: p for k, p in self._place(new_objects, pods).items() if k != pod.key}
                self._commit(new_objects, new_pods, self.state.allocations)  # the kubelet's Killing follows
                return self.watchcache.get(kind, ns, name) or shown or views.pod(pod, [], self.topology())
            elif kind == "Pod" and f"{ns}/{name}" in self.state.terminating:
                self._hasten_termination(f"{ns}/{name}")   # a second delete may only shorten the grace period
                self._refresh_views()
                return self.watchcache.get(kind, ns, name) or shown
            else:
                raise store.not_found(kind, name)
            if kind == "Namespace":
                self._terminating[name] = time.time()
                self._refresh_views()
                shown = self.watchcache.get(kind, ns, name)
            committed = False
            try:
                new_objects = self._with_addons(new_objects)
                new_pods = self._place(new_objects)
                self._commit(new_objects, new_pods, self._allocate(new_objects))
                committed = True
            finally:
                if kind == "Namespace":
                    if committed and self._draining_in(name):
                        self._draining_namespaces[name] = shown   # Terminating until its last pod is gone
                    else:
                        del self._terminating[name]
                    self._refresh_views({"Namespace"})
            if kind == "Namespace":
                self.eventlog.drop_namespace(name)
            self.event("Deleted", f"{kind} {ns}/{name} deleted", f"{kind} {ns + '/' if ns else ''}{name}")
            return (self.watchcache.get(kind, ns, name) if kind == "Pod" else None) or shown or removed

    def get_scale(self, kind: str, namespace: str, name: str) -> dict:
        """The autoscaling/v1 Scale of a Deployment, ReplicaSet, StatefulSet or ReplicationController."""
        if kind not in SCALABLE:
            raise store.not_found(kind, name)
        return views.scale(self.get(kind, namespace, name))

    def scale(self, kind: str, namespace: str, name: str, replicas: int,
              resource_version: str | None = None) -> dict:
        """Set spec.replicas (PUT/PATCH of the scale subresource); returns the new Scale."""
        with self.lock:
            stored = self._stored(kind, scope(kind, namespace), name) if kind in SCALABLE else None
            if stored is None:
                raise store.not_found(kind, name)
            if resource_version:
                store.check_preconditions({"metadata": {"resourceVersion": resource_version}},
                                          self.get(kind, namespace, name))
            self.apply([store.with_replicas(stored, replicas)])
            return self.get_scale(kind, namespace, name)
