"""What the API layer needs from whoever holds the cluster's state (the controller, netlab.runtime.controller).

The API server and views depend on these Protocols only, never on the controller's module, so the runtime
can import the API (to serve it) without an import circle, and a test can serve the API from a fake.
The controller satisfies them structurally: nothing here is inherited.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Protocol

from netlab.api.watchcache import WatchCache
from netlab.compile.desired import Desired
from netlab.compile.services import Allocation, ResolvedService
from netlab.compile.termination import Termination
from netlab.compile.topology import Topology
from netlab.compile.workloads import PlacedPod
from netlab.runtime.containers import ContainerStatus


class PodRecord(Protocol):
    """A placed pod, as far as the server reads it (its key and its PodSpec)."""

    @property
    def key(self) -> str: ...

    @property
    def spec(self) -> dict: ...


class ServerState(Protocol):
    """The stored state the server reads: the Cluster document writes are validated against, the
    enabled add-ons and the pods whose logs it streams. resource_version is the high-water mark of the
    resourceVersions reserved in the state file, not a list's: lists and watches take theirs from
    Backend.watchcache."""

    @property
    def cluster(self) -> dict: ...

    @property
    def resource_version(self) -> int: ...

    @property
    def addons(self) -> list[str]: ...

    @property
    def pods(self) -> Mapping[str, PodRecord]: ...


class LogFiles(Protocol):
    def log_path(self, pod_key: str, container: str) -> Path: ...


class Backend(Protocol):
    """Everything the API server (netlab.api.server) reads and calls."""

    @property
    def state(self) -> ServerState: ...

    @property
    def cluster(self) -> str:
        """The cluster's name (where its containers' pidfiles are: netlab.runtime.podexec)."""
        ...

    @property
    def supervisor(self) -> LogFiles: ...

    @property
    def watchcache(self) -> WatchCache:
        """Every object the API shows, with resourceVersions, and the history watches stream from."""
        ...

    def apply(self, objects: list[dict], dry_run: bool = False) -> list[dict]:
        """Apply validated objects as one change; one result row (kind, name, namespace, action) each."""
        ...

    def delete(self, kind: str, namespace: str, name: str, grace: int | None = None) -> dict:
        """Delete one object; returns it as it was (a pod: Terminating). `grace`: DeleteOptions'
        gracePeriodSeconds. Raises netlab.api.errors.ApiError (404) when absent."""
        ...

    def list(self, kind: str, namespace: str | None) -> list[dict]:
        """Objects of kind in namespace (None: all), as Kubernetes JSON."""
        ...

    def get(self, kind: str, namespace: str | None, name: str) -> dict:
        """One object as lists show it; ApiError 404 when absent."""
        ...

    def create(self, obj: dict, dry_run: bool = False) -> dict:
        """POST one object (validated alone); ApiError 409 AlreadyExists, 422 Invalid."""
        ...

    def replace(self, obj: dict, dry_run: bool = False) -> dict:
        """PUT one object; ApiError 404, 409 Conflict for a stale metadata.resourceVersion, 422 Invalid."""
        ...

    def patch(self, kind: str, namespace: str | None, name: str, change: Callable[[dict], dict],
              dry_run: bool = False) -> dict:
        """PATCH: change(live object) -> new object (e.g. netlab.api.patch.apply_patch), replaced atomically."""
        ...

    def get_scale(self, kind: str, namespace: str, name: str) -> dict:
        """The autoscaling/v1 Scale of a Deployment or ReplicaSet."""
        ...

    def scale(self, kind: str, namespace: str, name: str, replicas: int,
              resource_version: str | None = None) -> dict:
        """Set spec.replicas; returns the new Scale."""
        ...

    def ingress_detail(self, namespace: str, name: str) -> dict: ...

    def set_addon(self, name: str, enabled: bool) -> dict: ...

    def compiled(self) -> Desired | None:
        """The last compiled desired state (None before the first compile): what `netlab trace` walks."""
        ...


class StoreState(Protocol):
    @property
    def objects(self) -> Mapping[str, dict]: ...

    @property
    def pod_meta(self) -> Mapping[str, dict]:
        """pod uid -> the metadata a client wrote on a pod netlab derives (labels, annotations)."""
        ...

    @property
    def pods(self) -> Mapping[str, PlacedPod]: ...

    @property
    def allocations(self) -> Mapping[str, Allocation]: ...

    @property
    def terminating(self) -> Mapping[str, Termination]:
        """"ns/name" -> a deleted pod still terminating (graceful termination)."""
        ...


class ContainerStatuses(Protocol):
    def status(self, pod_key: str) -> list[ContainerStatus]: ...


class IngressRules(Protocol):
    @property
    def rules(self) -> list[dict]: ...

    @property
    def publish_service(self) -> str | None: ...

    @property
    def served(self) -> frozenset[str]: ...


class StoreView(Protocol):
    """What netlab.api.views reads to build the objects the API lists."""

    @property
    def state(self) -> StoreState: ...

    @property
    def supervisor(self) -> ContainerStatuses: ...

    @property
    def ready(self) -> Mapping[str, bool]: ...

    @property
    def started(self) -> float: ...

    @property
    def resolved(self) -> Mapping[str, ResolvedService]: ...

    @property
    def ingress(self) -> IngressRules: ...

    @property
    def events(self) -> Iterable[dict]: ...

    def topology(self) -> Topology: ...

    def probe_ready(self, pod: PlacedPod, container: str) -> bool: ...
