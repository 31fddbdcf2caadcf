"""What a trace returns: the steps, the endpoints a packet may reach, the predicted outcome. Pure data."""

from __future__ import annotations

from dataclasses import dataclass, field

from netlab.compile.addons import INGRESS_NAMESPACE as INGRESS_NAMESPACE  # its home is compile/
from netlab.compile.policy_inputs import PolicyInputs as PolicyInputs  # its home is compile/

CONNECTED, REFUSED, TIMEOUT, UNREACHABLE, MIXED = "connected", "refused", "timeout", "unreachable", "mixed"


class TraceError(ValueError):
    """The source or destination does not name anything in the cluster."""


@dataclass(frozen=True)
class Step:
    where: str  # a node, a pod ("pod-a", "ns/pod") or "host"
    what: str  # one line
    detail: str  # the longer story
    rule: str = ""  # the nft chain/rule or the route that does it


@dataclass(frozen=True)
class Source:
    kind: str  # pod | node | host
    name: str  # "ns/pod", node name or "host"
    ip: str
    netns: str | None  # None: the namespace the caller runs in (the host)
    node: str | None  # the node the pod runs on / the node itself


@dataclass(frozen=True)
class Candidate:
    """One place the packet can end up (a service has one per serving endpoint)."""

    ip: str
    port: int
    pod: str | None  # "ns/name"
    node: str | None
    source_seen: str  # the client address the endpoint sees
    outcome: str
    reason: str


@dataclass(frozen=True)
class TracePoint:
    """Where the kernel tracer should mark the packet: as it arrives in `node` at `hook`."""

    node: str
    hook: str  # prerouting | output
    saddr: str | None
    daddr: str
    dport: int


@dataclass
class Plan:
    source: Source
    dst_ip: str
    dport: int
    proto: str  # tcp | udp
    steps: list[Step] = field(default_factory=list)
    candidates: list[Candidate] = field(default_factory=list)
    outcome: str = CONNECTED
    reason: str = ""
    trace_points: list[TracePoint] = field(default_factory=list)
    url: str | None = None  # ingress probes: the URL, sent with --resolve to dst_ip

    def predicted(self) -> set[str]:
        """Outcomes that agree with this plan (several when endpoints differ)."""
        return {c.outcome for c in self.candidates} or {self.outcome}


def hostport(ip: str, port: int) -> str:
    """`10.96.0.1:80`, `[fd00:10:96::1]:80`: an IPv6 address is bracketed, as in a URL or a dnat rule."""
    return f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"


def display(namespace: str, name: str) -> str:
    return name if namespace == "default" else f"{namespace}/{name}"
