"""hostPort and hostNetwork ports as data: what a pod takes on its node, and what the node must DNAT. Pure.

- Scheduling (kube-scheduler's NodePorts filter): a pod wants the (protocol, hostIP, hostPort) of every
  container port with a hostPort; a hostNetwork pod wants every containerPort (the apiserver defaults
  its hostPort to the containerPort). Two wants conflict when protocol and port are equal and either
  hostIP is the wildcard (unset or 0.0.0.0) or both are the same address.
- Forwarding (the portmap CNI plugin): a pod on the pod network with hostPorts gets DNAT from the node's
  addresses (or only hostIP, when given) at hostPort to podIP:containerPort. A hostNetwork pod needs no
  DNAT: it listens on the node itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

WILDCARD = ""  # hostIP unset or 0.0.0.0: every address of the node
FREE_PORTS_MESSAGE = "node(s) didn't have free ports for the requested pod ports"  # kube-scheduler's words


@dataclass(frozen=True, order=True)
class HostPortUse:
    protocol: str  # TCP | UDP | SCTP
    host_ip: str  # WILDCARD or one address
    port: int

    def conflicts(self, other: HostPortUse) -> bool:
        if (self.protocol, self.port) != (other.protocol, other.port):
            return False
        return WILDCARD in (self.host_ip, other.host_ip) or self.host_ip == other.host_ip


@dataclass(frozen=True, order=True)
class HostPortMapping:
    """One DNAT of the portmap plugin: (hostIP or every node address):hostPort -> podIP:containerPort."""

    pod_key: str
    protocol: str
    host_ip: str
    host_port: int
    pod_ip: str
    container_port: int


def _ports(spec: Mapping[str, Any]) -> Iterable[dict]:
    for kind in ("initContainers", "containers"):
        for c in spec.get(kind) or []:
            yield from c.get("ports") or []


def _host_ip(port: Mapping[str, Any]) -> str:
    ip = port.get("hostIP") or WILDCARD
    return WILDCARD if ip in ("0.0.0.0", "::") else ip


def wanted_ports(spec: Mapping[str, Any]) -> list[HostPortUse]:
    """The host ports a pod takes on its node (scheduling), without repeats."""
    host_network = bool(spec.get("hostNetwork"))
    out = set()
    for p in _ports(spec):
        port = p.get("hostPort") or (p.get("containerPort") if host_network else None)
        if port:
            out.add(HostPortUse(p.get("protocol") or "TCP", _host_ip(p), int(port)))
    return sorted(out)


def fits(wanted: Iterable[HostPortUse], used: Iterable[HostPortUse]) -> bool:
    """True when none of `wanted` conflicts with a port already `used` on the node."""
    used = list(used)
    return not any(w.conflicts(u) for w in wanted for u in used)


def unschedulable_message(nodes: int) -> str:
    """kube-scheduler's FailedScheduling text when every candidate node lacks the ports."""
    return f"0/{nodes} nodes are available: {nodes} {FREE_PORTS_MESSAGE}."


def mappings(pod_key: str, pod_ip: str, spec: Mapping[str, Any]) -> list[HostPortMapping]:
    """The DNATs a pod on the pod network needs (none for a hostNetwork pod)."""
    if spec.get("hostNetwork"):
        return []
    out = {HostPortMapping(pod_key, p.get("protocol") or "TCP", _host_ip(p), int(p["hostPort"]), pod_ip,
                           int(p["containerPort"]))
           for p in _ports(spec) if p.get("hostPort")}
    return sorted(out)
