"""Pods wanted by the manifests: Pods as written, Deployments expanded; then scheduled and addressed.

Pure: takes the objects and the previous assignments, returns the new ones. Pods that already
exist keep their node and IP, so re-applying the same manifests changes nothing.
"""

from __future__ import annotations

import hashlib
import json
import random
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

from netlab.compile import names, rollout
from netlab.compile.hostports import HostPortUse, fits, unschedulable_message, wanted_ports
from netlab.compile.ipam import CURSOR6, NodeRange
from netlab.compile.topology import NodeNet, order_by_family

# Kubernetes' SimpleNameGenerator: a generated name's base is cut to 63 - 5 characters, so pods stay DNS labels.
MAX_GENERATED_BASE = 58
# Kubernetes' rand.SafeEncodeString alphabet: no vowels, no look-alikes.
SAFE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


@dataclass(frozen=True)
class PlacedPod:
    namespace: str
    name: str
    node: str
    ip: str
    uid: str
    created: float
    labels: dict[str, str] = field(compare=False)
    spec: dict = field(compare=False)  # the PodSpec as Kubernetes JSON
    owner: str | None = None  # "Deployment/<name>"
    template_hash: str | None = None
    revision: int | None = None  # a Deployment's pods: the revision of the template they run
    # Not scheduled (node and ip ""): kube-scheduler's FailedScheduling message; placed again on every change
    unschedulable: str = ""
    ip6: str = ""  # dual-stack: the pod's IPv6 address ("" in an IPv4 cluster)

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"

    def ips(self, families: tuple[str, ...] = ("IPv4",)) -> list[str]:
        """The pod's addresses (ip: IPv4, ip6: IPv6, "" when it has none of that family), the cluster's
        primary family first, as status.podIPs lists them; the first is status.podIP and POD_IP."""
        return order_by_family([self.ip, self.ip6], families)

    @property
    def netns(self) -> str:
        """The pod's own network namespace (a hostNetwork pod has none: see run_netns)."""
        return names.pod_netns(self.namespace, self.name)

    @property
    def host_network(self) -> bool:
        return bool(self.spec.get("hostNetwork"))

    @property
    def run_netns(self) -> str:
        """The network namespace its containers run in: its own, or its node's with hostNetwork."""
        return names.pod_run_netns(self.namespace, self.name, self.node, self.host_network)

    def to_dict(self) -> dict:
        return {
            "namespace": self.namespace, "name": self.name, "node": self.node, "ip": self.ip,
            "uid": self.uid, "created": self.created, "labels": self.labels, "spec": self.spec,
            "owner": self.owner, "template_hash": self.template_hash, "revision": self.revision,
            **({"unschedulable": self.unschedulable} if self.unschedulable else {}),
            **({"ip6": self.ip6} if self.ip6 else {}),
        }

    @staticmethod
    def from_dict(d: dict) -> PlacedPod:
        return PlacedPod(**d)


@dataclass(frozen=True)
class WantedPod:
    namespace: str
    name: str | None  # None: a Deployment replica still to be named
    labels: dict[str, str]
    spec: dict
    owner: str | None
    template_hash: str | None
    source: str  # "Kind ns/name" of the object that asks for it, for error messages
    field_prefix: str  # "spec" for a Pod, "spec.template.spec" for a Deployment
    name_base: str = ""  # new replicas are named name_base + 5 random characters
    revision: int | None = None  # a Deployment's pods: their ReplicaSet's deployment.kubernetes.io/revision


class PlacementError(Exception):
    def __init__(self, problems: list[tuple[str, str, str]]):
        super().__init__("; ".join(f"{o}: {f}: {m}" for o, f, m in problems))
        self.problems = problems  # (object, field, message)


def template_hash(template: dict) -> str:
    digest = hashlib.sha256(json.dumps(template, sort_keys=True).encode()).digest()
    return "".join(SAFE_ALPHABET[b % len(SAFE_ALPHABET)] for b in digest[:10])


def random_suffix(rng: random.Random, length: int = 5) -> str:
    return "".join(rng.choice(SAFE_ALPHABET) for _ in range(length))


def node_labels(node: NodeNet) -> dict[str, str]:
    labels = {"kubernetes.io/hostname": node.name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64"}
    if node.role == "control-plane":
        labels["node-role.kubernetes.io/control-plane"] = ""
    labels.update(node.labels)
    return labels


def _tolerates_control_plane(spec: dict) -> bool:
    for t in spec.get("tolerations") or []:
        if t.get("operator") == "Exists" and not t.get("key"):
            return True
        if t.get("key") == "node-role.kubernetes.io/control-plane":
            return True
    return False


def eligible_nodes(spec: dict, nodes: tuple[NodeNet, ...]) -> list[NodeNet]:
    """kind taints the control-plane when workers exist; nodeSelector must match the node's labels."""
    has_workers = any(n.role != "control-plane" for n in nodes)
    selector = spec.get("nodeSelector") or {}
    out = []
    for node in nodes:
        if node.role == "control-plane" and has_workers and not _tolerates_control_plane(spec):
            continue
        labels = node_labels(node)
        if all(labels.get(k) == v for k, v in selector.items()):
            out.append(node)
    return out


def expand(pods: list[dict], deployments: list[dict], previous: dict[str, PlacedPod],
           replicasets: list[dict] = (), ready_since: Mapping[str, float] | None = None,
           now: float = 0.0) -> list[WantedPod]:
    """Pods as wanted; Deployment replicas already running with the current template keep their names.

    A Deployment names its pods <deploy>-<template hash>-<5 random>, and replaces them step by step
    (compile/rollout) when its template changes; ``ready_since`` (pod key -> when it became Ready; None:
    readiness unknown, as at apply time) lets old pods go. A bare ReplicaSet (or ReplicationController, in
    `replicasets` too) names them <rs>-<5 random> and, as in Kubernetes, only keeps the count."""
    wanted = []
    for pod in pods:
        meta = pod["metadata"]
        ns = meta.get("namespace", "default")
        wanted.append(WantedPod(ns, meta["name"], dict(meta.get("labels") or {}), pod["spec"], None, None,
                                f"Pod {ns}/{meta['name']}", "spec"))
    for deploy in deployments:
        wanted += _deployment_pods(deploy, previous, ready_since, now)
    for rs in replicasets:
        meta = rs["metadata"]
        ns = meta.get("namespace", "default")
        kind = rs.get("kind", "ReplicaSet")  # or a ReplicationController: the same controller
        owner = f"{kind}/{meta['name']}"
        template = rs["spec"]["template"]
        labels = dict((template.get("metadata") or {}).get("labels") or {})
        current = sorted((p for p in previous.values() if p.namespace == ns and p.owner == owner),
                         key=lambda p: (p.created, p.name))
        keep = current[:rs["spec"].get("replicas", 1)]
        source = f"{kind} {ns}/{meta['name']}"
        for p in keep:  # existing pods keep their own spec: a ReplicaSet does not roll out template changes
            wanted.append(WantedPod(ns, p.name, p.labels, p.spec, owner, None, source, "spec.template.spec"))
        for _ in range(rs["spec"].get("replicas", 1) - len(keep)):
            wanted.append(WantedPod(ns, None, labels, template["spec"], owner, None, source, "spec.template.spec",
                                    f"{meta['name']}-"))
    return wanted


def owned_pods(obj: Mapping, pods: Iterable[PlacedPod]) -> list[PlacedPod]:
    """The pods `obj` (a Deployment, ReplicaSet, StatefulSet, ...) owns, oldest first."""
    meta = obj["metadata"]
    ns, owner = meta.get("namespace", "default"), f"{obj.get('kind', 'Deployment')}/{meta['name']}"
    return sorted((p for p in pods if p.namespace == ns and p.owner == owner), key=lambda p: (p.created, p.name))


deployment_pods = owned_pods


def pod_infos(pods: Iterable[PlacedPod], ready_since: Mapping[str, float]) -> list[rollout.PodInfo]:
    return [rollout.PodInfo(p.name, p.template_hash, p.created, ready_since.get(p.key)) for p in pods]


def _deployments(objects: Iterable[dict]) -> list[dict]:
    return [o for o in objects if o["kind"] == "Deployment"]


def namespaced_name(obj: dict) -> str:
    return f"{obj['metadata'].get('namespace', 'default')}/{obj['metadata']['name']}"


def rollout_pending(objects: Iterable[dict], pods: Mapping[str, PlacedPod], ready_since: Mapping[str, float],
                    now: float) -> bool:
    """True if a Deployment's next rollout step would add or remove pods."""
    for deploy in _deployments(objects):
        infos = pod_infos(deployment_pods(deploy, pods.values()), ready_since)
        if rollout.plan(deploy["spec"], template_hash(deploy["spec"]["template"]), infos, now).changes:
            return True
    return False


def replica_counts(deploy: dict, pods: Iterable[PlacedPod]) -> dict[str, int]:
    """Template hash -> how many of the Deployment's pods run it (its ReplicaSets' sizes)."""
    counts: dict[str, int] = {}
    for p in deployment_pods(deploy, pods):
        counts[p.template_hash or ""] = counts.get(p.template_hash or "", 0) + 1
    return counts


def scaling_events(objects: Iterable[dict], before: Mapping[str, PlacedPod],
                   after: Mapping[str, PlacedPod]) -> list[tuple[str, str]]:
    """(object, message) for every ReplicaSet of a Deployment whose size changed from `before` to `after`."""
    return [(f"Deployment {namespaced_name(d)}", message) for d in _deployments(objects)
            for message in rollout.scaling_events(d["metadata"]["name"], replica_counts(d, before.values()),
                                                  replica_counts(d, after.values()))]


def deployment_statuses(objects: Iterable[dict], pods: Mapping[str, PlacedPod], ready_since: Mapping[str, float],
                        now: float, previous: Mapping[str, dict]) -> dict[str, dict]:
    """"ns/name" -> the status of every Deployment; `previous` (the last such map) keeps condition times."""
    return {namespaced_name(d): deployment_status(d, pods, ready_since, now, previous.get(namespaced_name(d)))
            for d in _deployments(objects)}


def deployment_status(deploy: dict, pods: Mapping[str, PlacedPod], ready_since: Mapping[str, float], now: float,
                      previous: dict | None = None) -> dict:
    infos = pod_infos(deployment_pods(deploy, pods.values()), ready_since)
    return rollout.deployment_status(deploy, template_hash(deploy["spec"]["template"]), infos, now, previous)


def _deployment_pods(deploy: dict, previous: dict[str, PlacedPod], ready_since: Mapping[str, float] | None,
                     now: float) -> list[WantedPod]:
    """The Deployment's pods after one rollout step: kept ones with their own template, new ones to name."""
    meta = deploy["metadata"]
    ns = meta.get("namespace", "default")
    owner, source = f"Deployment/{meta['name']}", f"Deployment {ns}/{meta['name']}"
    template = deploy["spec"]["template"]
    thash = template_hash(template)
    current = deployment_pods(deploy, previous.values())
    step = rollout.plan(deploy["spec"], thash, pod_infos(current, ready_since or {}), now, ready_since is not None)
    revision = next((p.revision for p in current if p.template_hash == thash and p.revision),
                    max((p.revision or 0 for p in current), default=0) + 1)
    labels = {**((template.get("metadata") or {}).get("labels") or {}), "pod-template-hash": thash}
    keep = set(step.keep)
    out = [WantedPod(ns, p.name, p.labels, p.spec, owner, p.template_hash, source, "spec.template.spec",
                     revision=p.revision) if p.template_hash != thash else
           WantedPod(ns, p.name, labels, template["spec"], owner, thash, source, "spec.template.spec",
                     revision=revision)
           for p in current if p.name in keep]
    base = f"{meta['name']}-{thash}-"
    out += [WantedPod(ns, None, labels, template["spec"], owner, thash, source, "spec.template.spec", base,
                      revision=revision) for _ in range(step.create)]
    return out


def place(
    wanted: list[WantedPod],
    nodes: tuple[NodeNet, ...],
    previous: dict[str, PlacedPod],
    now: float,
    rng: random.Random,
    last_reserved: dict[str, str] | None = None,
    terminating: Iterable[PlacedPod] = (),
) -> list[PlacedPod]:
    """Keep existing pods where they are; schedule new ones on the least loaded eligible node with room.

    `last_reserved` (node -> address) is host-local's cursor: it is read, and advanced in place as new
    pods get addresses, so the caller can keep it with the rest of the state. Pods being deleted (the
    `terminating` ones, and those of `previous` no longer wanted) keep their address and host ports until
    they are gone, as the kubelet and kube-scheduler count a terminating pod's."""
    cursor = last_reserved if last_reserved is not None else {}
    run = _Placement(nodes, {n.name: n for n in nodes}, {n.netns for n in nodes},
                     {n.name: NodeRange(n, (), cursor.get(n.name)) for n in nodes}, {n.name: 0 for n in nodes},
                     previous=previous,
                     ranges6={n.name: NodeRange.ipv6(n, cursor.get(n.name + CURSOR6)) for n in nodes if n.pod_cidr6})
    fresh = [w for w in wanted if not run.keep(w, previous)]
    for pod in [*terminating, *(p for k, p in previous.items() if k not in run.placed)]:
        run.occupy(pod)
    taken_names = set(run.placed) | {f"{w.namespace}/{w.name}" for w in fresh if w.name}
    for w in fresh:
        run.schedule(w, now, rng, taken_names)
    problems = run.problems + [_exhausted(source, field, count, full, run.ranges)
                               for (source, field), (count, full) in run.unplaced.items()]
    if problems:
        raise PlacementError(problems)
    for node, rng_ in run.ranges.items():
        if rng_.last_reserved is not None:
            cursor[node] = rng_.last_reserved
    for node, rng_ in run.ranges6.items():
        if rng_.last_reserved is not None:
            cursor[node + CURSOR6] = rng_.last_reserved
    return sorted(run.placed.values(), key=lambda p: (p.namespace, p.name))


@dataclass
class _Placement:
    """The state of one place() run: nodes, their address ranges and load, what is placed, the problems."""
    nodes: tuple[NodeNet, ...]
    node_by_name: dict[str, NodeNet]
    node_netns: set[str]
    ranges: dict[str, NodeRange]
    load: dict[str, int]
    placed: dict[str, PlacedPod] = field(default_factory=dict)
    problems: list[tuple[str, str, str]] = field(default_factory=list)
    unplaced: dict[tuple[str, str], list] = field(default_factory=dict)  # (object, field) -> [count, full nodes]
    eligible: dict[int, list[NodeNet]] = field(default_factory=dict)  # replicas share one spec: match once
    host_ports: dict[str, list[HostPortUse]] = field(default_factory=dict)  # node -> host ports its pods take
    previous: dict[str, PlacedPod] = field(default_factory=dict)
    # per spec, as `eligible`: (the host ports it wants, hostNetwork)
    port_plans: dict[int, tuple[list[HostPortUse], bool]] = field(default_factory=dict)
    ranges6: dict[str, NodeRange] = field(default_factory=dict)  # dual-stack: each node's IPv6 pod range

    def hold(self, pod: PlacedPod) -> None:
        """A pod keeps its addresses (one per family)."""
        if pod.ip:
            self.ranges[pod.node].hold(pod.ip)
        if pod.ip6 and pod.node in self.ranges6:
            self.ranges6[pod.node].hold(pod.ip6)

    def pod_range(self, node: NodeNet) -> NodeRange:
        """The range that limits how many pods the node takes: IPv4's, IPv6's in an IPv6-only cluster."""
        return self.ranges[node.name] if node.ipv4_pods else self.ranges6[node.name]

    def keep(self, w: WantedPod, previous: dict[str, PlacedPod]) -> bool:
        """True if `w` is a running pod that stays where it is (or is refused); False if it needs scheduling."""
        prev = previous.get(f"{w.namespace}/{w.name}") if w.name is not None else None
        if prev is None:
            return False
        want_node = w.spec.get("nodeName")
        if want_node and prev.node and want_node != prev.node:  # a Pending pod has no node yet
            self.problems.append((w.source, f"{w.field_prefix}.nodeName", "field is immutable on a running pod"))
            return True
        if prev.node not in self.node_by_name:
            return False
        self.placed[prev.key] = replace(prev, labels=w.labels, spec=w.spec, revision=w.revision)
        self.load[prev.node] += 1
        self.host_ports.setdefault(prev.node, []).extend(wanted_ports(w.spec))
        if not prev.host_network:
            self.hold(prev)
        return True

    def occupy(self, pod: PlacedPod) -> None:
        """A pod on its way out: its node keeps its host ports and its address until it is gone."""
        if pod.node not in self.node_by_name:
            return
        self.host_ports.setdefault(pod.node, []).extend(wanted_ports(pod.spec))
        if not pod.host_network and (pod.ip or pod.ip6):
            self.hold(pod)

    def candidates(self, w: WantedPod) -> list[NodeNet] | None:
        """The nodes `w` may run on, or None after recording why there are none."""
        node_name = w.spec.get("nodeName")
        if node_name:
            if node_name not in self.node_by_name:
                self.problems.append((w.source, f"{w.field_prefix}.nodeName",
                                      f"no node named {node_name!r} (nodes: {', '.join(self.node_by_name)})"))
                return None
            return [self.node_by_name[node_name]]
        if id(w.spec) not in self.eligible:
            self.eligible[id(w.spec)] = eligible_nodes(w.spec, self.nodes)
        if not self.eligible[id(w.spec)]:
            self.problems.append((w.source, f"{w.field_prefix}.nodeSelector",
                                  f"no node matches {w.spec.get('nodeSelector') or {}}"))
            return None
        return self.eligible[id(w.spec)]

    def schedule(self, w: WantedPod, now: float, rng: random.Random, taken_names: set[str]) -> None:
        candidates = self.candidates(w)
        if candidates is None:
            return
        plan = self.port_plans.get(id(w.spec))
        if plan is None:
            plan = self.port_plans[id(w.spec)] = (wanted_ports(w.spec), bool(w.spec.get("hostNetwork")))
        want, host = plan
        if want:  # kube-scheduler's NodePorts filter; no node: the pod stays Pending
            free = [n for n in candidates if fits(want, self.host_ports.get(n.name, ()))]
            if not free:
                self.add(w, "", "", w.name if w.name is not None else _generated_name(w, rng, taken_names), now, rng,
                         unschedulable_message(len(candidates)))
                return
            candidates = free
        # hostNetwork: the node's address, nothing to take from its range
        with_room = candidates if host else [n for n in candidates if self.pod_range(n).free > 0]
        if not with_room:
            self.unplaced.setdefault((w.source, "spec"), [0, [n.name for n in candidates]])[0] += 1
            return
        name = w.name if w.name is not None else _generated_name(w, rng, taken_names)
        netns = names.pod_netns(w.namespace, name)
        if netns in self.node_netns:
            self.problems.append((w.source, "metadata.name", f"network namespace {netns!r} would collide with a node"))
            return
        node = min(with_room, key=lambda n: (self.load[n.name], n.index))
        ip = "" if not node.ipv4_pods else node.underlay_ip if host else self.ranges[node.name].take()
        range6 = self.ranges6.get(node.name)
        ip6 = node.underlay_ip6 if host else (range6.take() or "") if range6 else ""
        self.load[node.name] += 1
        self.host_ports.setdefault(node.name, []).extend(want)
        self.add(w, node.name, ip, name, now, rng, ip6=ip6)

    def add(self, w: WantedPod, node: str, ip: str, name: str, now: float, rng: random.Random,
            unschedulable: str = "", ip6: str = "") -> None:
        """Record the placement; a pod that was Pending keeps its uid and creation time."""
        prev = self.previous.get(f"{w.namespace}/{name}")
        prev = prev if prev is not None and not prev.node else None
        uid = prev.uid if prev is not None else str(uuid.UUID(int=rng.getrandbits(128)))
        self.placed[f"{w.namespace}/{name}"] = PlacedPod(
            namespace=w.namespace, name=name, node=node, ip=ip, uid=uid, created=prev.created if prev else now,
            labels=w.labels, spec=w.spec, owner=w.owner, template_hash=w.template_hash, revision=w.revision,
            unschedulable=unschedulable, ip6=ip6,
        )


def _generated_name(w: WantedPod, rng: random.Random, taken_names: set[str]) -> str:
    """A replica's name: its base plus a random suffix not yet taken in its namespace."""
    base = w.name_base[:MAX_GENERATED_BASE]
    name = base + random_suffix(rng)
    while f"{w.namespace}/{name}" in taken_names:
        name = base + random_suffix(rng)
    taken_names.add(f"{w.namespace}/{name}")
    return name


def _exhausted(source: str, field: str, count: int, full: list[str],
               ranges: dict[str, NodeRange]) -> tuple[str, str, str]:
    """One problem per object, however many of its pods found no address (100,000 replicas: one line)."""
    where = ", ".join(f"{n} ({ranges[n].size - 1} pod addresses)" for n in full)
    return (source, field, f"{count} pod{'s' if count != 1 else ''} cannot get an address: "
                           f"the pod CIDR of every eligible node is exhausted: {where}")
