"""The desired state on disk: cluster config, applied objects and pod placements, written atomically."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from netlab.compile import names
from netlab.compile.services import Allocation
from netlab.compile.termination import Termination
from netlab.compile.workloads import PlacedPod
from netlab.runtime.files import private_dir, write_atomic


@dataclass
class State:
    cluster: dict = field(default_factory=dict)  # the Cluster document as given (may be empty: defaults)
    cluster_name: str = "netlab"
    objects: dict[str, dict] = field(default_factory=dict)  # "Kind/namespace/name" -> Kubernetes JSON
    pods: dict[str, PlacedPod] = field(default_factory=dict)  # "namespace/name" -> placement
    allocations: dict[str, Allocation] = field(default_factory=dict)  # "namespace/name" of a Service
    addons: list[str] = field(default_factory=list)  # enabled with `netlab addons enable`
    last_reserved: dict[str, str] = field(default_factory=dict)  # node -> last pod IP handed out (host-local)
    replicasets: dict[str, dict] = field(default_factory=dict)  # "ns/deployment" -> its ReplicaSet history
    resource_version: int = 0
    # pod uid -> {"metadata": {labels, annotations, managedFields}} a client wrote on a pod netlab derives
    # (a Deployment's): labels and annotations of a managed pod are the user's to change, as upstream
    pod_meta: dict[str, dict] = field(default_factory=dict)
    terminating: dict[str, Termination] = field(default_factory=dict)  # "ns/name" -> a deleted pod draining

    def to_dict(self) -> dict:
        return {
            "clusterName": self.cluster_name,
            "cluster": self.cluster,
            "objects": self.objects,
            "pods": {k: p.to_dict() for k, p in self.pods.items()},
            "allocations": {k: a.to_dict() for k, a in self.allocations.items()},
            "addons": sorted(self.addons),
            "lastReserved": self.last_reserved,
            "replicaSets": self.replicasets,
            "resourceVersion": self.resource_version,
            "podMeta": self.pod_meta,
            "terminating": {k: t.to_dict() for k, t in self.terminating.items()},
        }

    @staticmethod
    def from_dict(d: dict) -> State:
        return State(
            cluster=d.get("cluster") or {},
            cluster_name=d.get("clusterName", "netlab"),
            objects=d.get("objects") or {},
            pods={k: PlacedPod.from_dict(v) for k, v in (d.get("pods") or {}).items()},
            allocations={k: Allocation.from_dict(v) for k, v in (d.get("allocations") or {}).items()},
            addons=list(d.get("addons") or []),
            last_reserved=dict(d.get("lastReserved") or {}),
            replicasets=dict(d.get("replicaSets") or {}),
            resource_version=int(d.get("resourceVersion", 0)),
            pod_meta=dict(d.get("podMeta") or {}),
            terminating={k: Termination.from_dict(v) for k, v in (d.get("terminating") or {}).items()},
        )


class CorruptState(Exception):
    pass


def state_file(cluster: str) -> Path:
    return Path(names.state_file(cluster))


def load(cluster: str) -> State | None:
    path = state_file(cluster)
    try:
        return State.from_dict(json.loads(path.read_text()))
    except FileNotFoundError:
        return None
    except (ValueError, TypeError, KeyError) as e:
        raise CorruptState(f"{path}: {e}") from e


def save(cluster: str, state: State) -> None:
    path = state_file(cluster)
    private_dir(path.parent)
    write_atomic(path, json.dumps(state.to_dict(), indent=1, sort_keys=True), durable=True)


def object_key(obj: dict) -> str:
    meta = obj.get("metadata") or {}
    return f"{obj['kind']}/{meta.get('namespace', '')}/{meta['name']}"
