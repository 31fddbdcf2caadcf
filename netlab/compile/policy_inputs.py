"""What NetworkPolicy is compiled from: the pods (with their labels and named ports), the namespaces
(with their labels) and the policies. One builder for every caller (dataplane, graph, describe,
trace), whether it holds placed pods or the API's Pod objects."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from netlab.compile.netpol import PolicyNamespace, PolicyPod
from netlab.compile.workloads import PlacedPod

BUILTIN_NAMESPACES = ("default", "kube-node-lease", "kube-public", "kube-system")  # as api.resources


@dataclass(frozen=True)
class PolicyInputs:
    pods: tuple[PolicyPod, ...] = ()
    namespaces: tuple[PolicyNamespace, ...] = ()
    policies: tuple[Mapping[str, Any], ...] = ()


def container_ports(spec: Mapping[str, Any]) -> tuple[tuple[str | None, int, str], ...]:
    """(name, containerPort, protocol) of every port the pod spec declares (named ports resolve here)."""
    return tuple((cp.get("name"), cp["containerPort"], cp.get("protocol") or "TCP")
                 for c in spec.get("containers") or [] for cp in c.get("ports") or [])


def policy_pod(namespace: str, name: str, ip: str, node: str, labels: Mapping[str, str],
               spec: Mapping[str, Any]) -> PolicyPod:
    return PolicyPod(namespace, name, ip, node, dict(labels), container_ports(spec))


def placed_policy_pod(pod: PlacedPod) -> PolicyPod:
    return policy_pod(pod.namespace, pod.name, pod.ip, pod.node, pod.labels, pod.spec)


def object_policy_pod(obj: Mapping[str, Any]) -> PolicyPod:
    """From a Pod as the API serves it (an unscheduled pod has no IP and no node: empty strings)."""
    meta, spec, status = obj["metadata"], obj.get("spec") or {}, obj.get("status") or {}
    return policy_pod(meta.get("namespace") or "default", meta["name"], status.get("podIP") or "",
                      spec.get("nodeName") or "", meta.get("labels") or {}, spec)


def policy_namespaces(explicit: Iterable[Mapping[str, Any]], extra: Iterable[str] = ()) -> tuple[PolicyNamespace, ...]:
    """The Namespace objects with their labels, plus the built-in ones and any other named (unlabelled)."""
    by_name = {o["metadata"]["name"]: o for o in explicit}
    return tuple(PolicyNamespace(n, dict((by_name.get(n, {}).get("metadata") or {}).get("labels") or {}))
                 for n in sorted(set(by_name) | set(BUILTIN_NAMESPACES) | set(extra)))


def policy_inputs(objects: Iterable[Mapping[str, Any]], pods: Iterable[PlacedPod]) -> PolicyInputs:
    objects = list(objects)
    ppods = tuple(placed_policy_pod(p) for p in pods)
    namespaces = policy_namespaces([o for o in objects if o["kind"] == "Namespace"], {p.namespace for p in ppods})
    return PolicyInputs(ppods, namespaces, tuple(o for o in objects if o["kind"] == "NetworkPolicy"))
