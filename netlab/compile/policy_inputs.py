"""What NetworkPolicy is compiled from: the pods (with their labels and named ports), the namespaces
(with their labels) and the policies, for placed pods (the controller's Desired). A Pod as the API
serves it goes through netpol.policy_pod; both take the ports from netpol.container_ports."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from netlab.compile.netpol import PolicyNamespace, PolicyPod, container_ports
from netlab.compile.workloads import PlacedPod
from netlab.model.core import BUILTIN_NAMESPACES


@dataclass(frozen=True)
class PolicyInputs:
    pods: tuple[PolicyPod, ...] = ()
    namespaces: tuple[PolicyNamespace, ...] = ()
    policies: tuple[Mapping[str, Any], ...] = ()


def placed_policy_pod(pod: PlacedPod) -> PolicyPod:
    return PolicyPod(pod.namespace, pod.name, pod.ip, pod.node, dict(pod.labels), container_ports(pod.spec),
                     pod.ip6)


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
