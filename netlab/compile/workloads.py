"""Pods wanted by the manifests: Pods as written, Deployments expanded; then scheduled and addressed.

Pure: takes the objects and the previous assignments, returns the new ones. Pods that already
exist keep their node and IP, so re-applying the same manifests changes nothing.
"""

from __future__ import annotations

import hashlib
import json
import random
import uuid
from dataclasses import dataclass, field, replace

from netlab.compile import names
from netlab.compile.ipam import NodeRange
from netlab.compile.topology import NodeNet

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

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"

    @property
    def netns(self) -> str:
        return names.pod_netns(self.namespace, self.name)

    def to_dict(self) -> dict:
        return {
            "namespace": self.namespace, "name": self.name, "node": self.node, "ip": self.ip,
            "uid": self.uid, "created": self.created, "labels": self.labels, "spec": self.spec,
            "owner": self.owner, "template_hash": self.template_hash,
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
           replicasets: list[dict] = ()) -> list[WantedPod]:
    """Pods as wanted; Deployment replicas already running with the current template keep their names.

    A Deployment names its pods <deploy>-<template hash>-<5 random>, and replaces them when its template
    changes; a bare ReplicaSet names them <rs>-<5 random> and, as in Kubernetes, only keeps the count."""
    wanted = []
    for pod in pods:
        meta = pod["metadata"]
        ns = meta.get("namespace", "default")
        wanted.append(WantedPod(ns, meta["name"], dict(meta.get("labels") or {}), pod["spec"], None, None,
                                f"Pod {ns}/{meta['name']}", "spec"))
    for deploy in deployments:
        meta = deploy["metadata"]
        ns = meta.get("namespace", "default")
        owner = f"Deployment/{meta['name']}"
        template = deploy["spec"]["template"]
        thash = template_hash(template)
        replicas = deploy["spec"].get("replicas", 1)
        labels = dict((template.get("metadata") or {}).get("labels") or {})
        labels["pod-template-hash"] = thash
        current = sorted(
            (p for p in previous.values() if p.namespace == ns and p.owner == owner and p.template_hash == thash),
            key=lambda p: (p.created, p.name),
        )
        keep = current[:replicas]
        source = f"Deployment {ns}/{meta['name']}"
        base = f"{meta['name']}-{thash}-"
        for p in keep:
            wanted.append(WantedPod(ns, p.name, labels, template["spec"], owner, thash, source, "spec.template.spec",
                                    base))
        for _ in range(replicas - len(keep)):
            wanted.append(WantedPod(ns, None, labels, template["spec"], owner, thash, source, "spec.template.spec",
                                    base))
    for rs in replicasets:
        meta = rs["metadata"]
        ns = meta.get("namespace", "default")
        owner = f"ReplicaSet/{meta['name']}"
        template = rs["spec"]["template"]
        labels = dict((template.get("metadata") or {}).get("labels") or {})
        current = sorted((p for p in previous.values() if p.namespace == ns and p.owner == owner),
                         key=lambda p: (p.created, p.name))
        keep = current[:rs["spec"].get("replicas", 1)]
        source = f"ReplicaSet {ns}/{meta['name']}"
        for p in keep:  # existing pods keep their own spec: a ReplicaSet does not roll out template changes
            wanted.append(WantedPod(ns, p.name, p.labels, p.spec, owner, None, source, "spec.template.spec"))
        for _ in range(rs["spec"].get("replicas", 1) - len(keep)):
            wanted.append(WantedPod(ns, None, labels, template["spec"], owner, None, source, "spec.template.spec",
                                    f"{meta['name']}-"))
    return wanted


def place(
    wanted: list[WantedPod],
    nodes: tuple[NodeNet, ...],
    previous: dict[str, PlacedPod],
    now: float,
    rng: random.Random,
    last_reserved: dict[str, str] | None = None,
) -> list[PlacedPod]:
    """Keep existing pods where they are; schedule new ones on the least loaded eligible node with room.

    `last_reserved` (node -> address) is host-local's cursor: it is read, and advanced in place as new
    pods get addresses, so the caller can keep it with the rest of the state."""
    problems: list[tuple[str, str, str]] = []
    node_by_name = {n.name: n for n in nodes}
    node_netns = {n.netns for n in nodes}
    placed: dict[str, PlacedPod] = {}
    load = {n.name: 0 for n in nodes}
    cursor = last_reserved if last_reserved is not None else {}
    ranges = {n.name: NodeRange(n, (), cursor.get(n.name)) for n in nodes}
    fresh: list[WantedPod] = []

    for w in wanted:
        if w.name is not None and f"{w.namespace}/{w.name}" in previous:
            prev = previous[f"{w.namespace}/{w.name}"]
            want_node = w.spec.get("nodeName")
            if want_node and want_node != prev.node:
                problems.append((w.source, f"{w.field_prefix}.nodeName", "field is immutable on a running pod"))
                continue
            if prev.node in node_by_name:
                placed[prev.key] = replace(prev, labels=w.labels, spec=w.spec)
                load[prev.node] += 1
                ranges[prev.node].hold(prev.ip)
                continue
        fresh.append(w)

    unplaced: dict[tuple[str, str], list] = {}  # (object, field) -> [pods without an address, the full nodes]
    taken_names = set(placed) | {f"{w.namespace}/{w.name}" for w in fresh if w.name}
    eligible: dict[int, list[NodeNet]] = {}  # replicas share one spec: match nodes once per spec
    for w in fresh:
        node_name = w.spec.get("nodeName")
        if node_name:
            if node_name not in node_by_name:
                problems.append((w.source, f"{w.field_prefix}.nodeName",
                                 f"no node named {node_name!r} (nodes: {', '.join(node_by_name)})"))
                continue
            candidates = [node_by_name[node_name]]
        else:
            if id(w.spec) not in eligible:
                eligible[id(w.spec)] = eligible_nodes(w.spec, nodes)
            candidates = eligible[id(w.spec)]
            if not candidates:
                problems.append((w.source, f"{w.field_prefix}.nodeSelector",
                                 f"no node matches {w.spec.get('nodeSelector') or {}}"))
                continue
        with_room = [n for n in candidates if ranges[n.name].free > 0]
        if not with_room:
            if (w.source, "spec") not in unplaced:
                unplaced[(w.source, "spec")] = [0, [n.name for n in candidates]]
            unplaced[(w.source, "spec")][0] += 1
            continue
        name = w.name
        if name is None:
            base = w.name_base[:MAX_GENERATED_BASE]
            name = base + random_suffix(rng)
            while f"{w.namespace}/{name}" in taken_names:
                name = base + random_suffix(rng)
            taken_names.add(f"{w.namespace}/{name}")
        netns = names.pod_netns(w.namespace, name)
        if netns in node_netns:
            problems.append((w.source, "metadata.name", f"network namespace {netns!r} would collide with a node"))
            continue
        node = min(with_room, key=lambda n: (load[n.name], n.index))
        ip = ranges[node.name].take()
        load[node.name] += 1
        placed[f"{w.namespace}/{name}"] = PlacedPod(
            namespace=w.namespace, name=name, node=node.name, ip=ip, uid=str(uuid.UUID(int=rng.getrandbits(128))),
            created=now, labels=w.labels, spec=w.spec, owner=w.owner, template_hash=w.template_hash,
        )
    problems += [_exhausted(source, field, count, full, ranges)
                 for (source, field), (count, full) in unplaced.items()]
    if problems:
        raise PlacementError(problems)
    for node, rng_ in ranges.items():
        if rng_.last_reserved is not None:
            cursor[node] = rng_.last_reserved
    return sorted(placed.values(), key=lambda p: (p.namespace, p.name))


def _exhausted(source: str, field: str, count: int, full: list[str],
               ranges: dict[str, NodeRange]) -> tuple[str, str, str]:
    """One problem per object, however many of its pods found no address (100,000 replicas: one line)."""
    where = ", ".join(f"{n} ({ranges[n].size - 1} pod addresses)" for n in full)
    return (source, field, f"{count} pod{'s' if count != 1 else ''} cannot get an address: "
                           f"the pod CIDR of every eligible node is exhausted: {where}")
