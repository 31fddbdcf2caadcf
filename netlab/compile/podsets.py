"""StatefulSet and DaemonSet pods as workloads.WantedPod, their pending steps and statuses. Pure.

The controllers' rules are in compile/statefulsets.py and compile/daemonsets.py; this applies them to the
placed pods (PlacedPod.owner "StatefulSet/<name>" or "DaemonSet/<name>").
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from netlab.compile import daemonsets, statefulsets
from netlab.compile.topology import NodeNet
from netlab.compile.workloads import PlacedPod, WantedPod, namespaced_name, node_labels, owned_pods, template_hash

KINDS = ("StatefulSet", "DaemonSet")
REVISION_LABEL = statefulsets.REVISION_LABEL
TEMPLATE_GENERATION_LABEL = "pod-template-generation"
FIELD = "spec.template.spec"


def revision(obj: Mapping) -> str:
    """The controller-revision-hash of the object's current template: the ControllerRevision's name."""
    return f"{obj['metadata']['name']}-{template_hash(obj['spec']['template'])}"


def _template_labels(obj: Mapping) -> dict[str, str]:
    return dict(((obj["spec"]["template"].get("metadata") or {}).get("labels")) or {})


def _kept(obj: Mapping, p: PlacedPod) -> WantedPod:
    return WantedPod(p.namespace, p.name, p.labels, p.spec, p.owner, None, f"{obj['kind']} {namespaced_name(obj)}",
                     FIELD)


def statefulset_pods(sts: Mapping, previous: Mapping[str, PlacedPod],
                     ready: Mapping[str, object]) -> list[WantedPod]:
    """The StatefulSet's pods after one step; `ready` holds the keys of the pods that are Ready."""
    meta, spec = sts["metadata"], sts["spec"]
    ns, name, rev = meta.get("namespace", "default"), meta["name"], revision(sts)
    mine = {p.name: p for p in owned_pods(sts, previous.values())}
    step = statefulsets.plan(spec, name, {n: p.labels.get(REVISION_LABEL, "") for n, p in mine.items()},
                             {n: p.key in ready for n, p in mine.items()}, rev)
    out = [_kept(sts, mine[n]) for n in step.keep]
    template = spec["template"]
    for o in step.create:
        pod_name = f"{name}-{o}"
        out.append(WantedPod(ns, pod_name, statefulsets.pod_labels(_template_labels(sts), name, o, rev),
                             statefulsets.pod_spec(template["spec"], spec, pod_name), f"StatefulSet/{name}", None,
                             f"StatefulSet {ns}/{name}", FIELD))
    return out


def node_taints(node: NodeNet, nodes: Iterable[NodeNet]) -> list[dict]:
    """As in kind: the control-plane node is tainted NoSchedule when the cluster has workers."""
    if node.role == "control-plane" and any(n.role != "control-plane" for n in nodes):
        return [dict(daemonsets.CONTROL_PLANE_TAINT)]
    return []


def daemonset_nodes(ds: Mapping, nodes: tuple[NodeNet, ...]) -> list[NodeNet]:
    spec = ds["spec"]["template"].get("spec") or {}
    return [n for n in nodes if daemonsets.node_matches(spec, n.name, node_labels(n), node_taints(n, nodes))]


def daemonset_pods(ds: Mapping, previous: Mapping[str, PlacedPod], ready: Mapping[str, object],
                   nodes: tuple[NodeNet, ...]) -> list[WantedPod]:
    """One pod per qualifying node; a changed template replaces one pod at a time once all are Ready."""
    meta, spec = ds["metadata"], ds["spec"]
    ns, name, rev = meta.get("namespace", "default"), meta["name"], revision(ds)
    by_node: dict[str, PlacedPod] = {}
    for p in owned_pods(ds, previous.values()):
        by_node.setdefault(p.node or p.spec.get("nodeName", ""), p)  # a Pending pod: the node it waits for
    targets = daemonset_nodes(ds, nodes)
    kept = [by_node[n.name] for n in targets if n.name in by_node]
    rolling = (spec.get("updateStrategy") or {}).get("type", "RollingUpdate") == "RollingUpdate"
    stale = [p for p in kept if p.labels.get(REVISION_LABEL) != rev]
    if rolling and stale and len(kept) == len(targets) and all(p.key in ready for p in kept):
        kept.remove(stale[0])  # the next step recreates it from the current template
    out = [_kept(ds, p) for p in kept]
    labels = {**_template_labels(ds), REVISION_LABEL: rev,
              TEMPLATE_GENERATION_LABEL: str(meta.get("generation", 1))}
    for n in targets:
        if n.name not in by_node:
            out.append(WantedPod(ns, None, labels, {**spec["template"]["spec"], "nodeName": n.name},
                                 f"DaemonSet/{name}", None, f"DaemonSet {ns}/{name}", FIELD, f"{name}-"))
    return out


def wanted(objects: Iterable[Mapping], previous: Mapping[str, PlacedPod], ready: Mapping[str, object],
           nodes: tuple[NodeNet, ...]) -> list[WantedPod]:
    out: list[WantedPod] = []
    for obj in objects:
        if obj["kind"] == "StatefulSet":
            out += statefulset_pods(obj, previous, ready)
        elif obj["kind"] == "DaemonSet":
            out += daemonset_pods(obj, previous, ready, nodes)
    return out


def pending(objects: Iterable[Mapping], pods: Mapping[str, PlacedPod], ready: Mapping[str, object],
            nodes: tuple[NodeNet, ...]) -> bool:
    """True if a StatefulSet's or DaemonSet's next step would add or remove pods."""
    for obj in objects:
        if obj["kind"] not in KINDS:
            continue
        want = wanted([obj], pods, ready, nodes)
        have = {p.name for p in owned_pods(obj, pods.values())}
        if any(w.name is None for w in want) or {w.name for w in want} != have:
            return True
    return False


def statefulset_status(sts: Mapping, pods: Mapping[str, PlacedPod], ready: Mapping[str, bool]) -> dict:
    return statefulsets.status(sts, revision(sts), [(p.labels, bool(ready.get(p.key))) for p in
                                                    owned_pods(sts, pods.values())])


def daemonset_status(ds: Mapping, pods: Mapping[str, PlacedPod], ready: Mapping[str, bool],
                     nodes: tuple[NodeNet, ...]) -> dict:
    rev = revision(ds)
    return daemonsets.status(ds, len(daemonset_nodes(ds, nodes)),
                             [(bool(ready.get(p.key)), p.labels.get(REVISION_LABEL) == rev)
                              for p in owned_pods(ds, pods.values())])
