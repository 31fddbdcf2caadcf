"""Checks a commit passes before it changes anything: the names the kernel and the file system will be
given for each pod must be legal, must not collide and must not belong to someone else, and every
node's would-be nftables table must load (`nft --check`). Validation should have caught most of this
earlier; this is the controller's own guard for whatever reaches it (an API client that skipped it).
"""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor

from netlab.compile import names
from netlab.compile.config import ClusterConfig
from netlab.compile.desired import Observed, compile_network, compile_topology
from netlab.compile.nftables import Ruleset, render_full
from netlab.compile.services import Allocation
from netlab.compile.topology import Topology
from netlab.compile.workloads import PlacedPod
from netlab.kernel import netns as nsmod
from netlab.kernel import nft, teardown

NAME_MAX = 255  # longest file name (one path component) on Linux file systems
# iproute2 refuses a namespace name of NAME_MAX or more characters, or one with "/" (it is a file name).
NETNS_MAX = NAME_MAX - 1
# The longest suffix a container file gets: "<container>.exit", and the launcher's "<file>.tmp.<pid>".
FILE_SUFFIX = len(".exit.tmp.4194304")


def pod_dir_name(pod: PlacedPod) -> str:
    """The per-pod run directory's name (pidfiles.pod_dir)."""
    return f"{pod.namespace}_{pod.name}"


def _netns_problem(netns: str) -> str | None:
    if len(netns) > NETNS_MAX:
        return f"network namespace name {netns[:40]}... is {len(netns)} characters, the kernel allows {NETNS_MAX}"
    if "/" in netns or "\0" in netns or netns in (".", ".."):
        return f"{netns!r} cannot be a network namespace name"
    return None


def name_problems(pods: dict[str, PlacedPod], new: Iterable[str]) -> list[dict]:
    """Problems (API causes) with the derived names of the pods in ``new`` (keys of ``pods``), against
    every pod of the would-be state: too long, illegal, or the same as another pod's."""
    causes = []
    owners: dict[tuple[str, str], list[str]] = {}
    for key, pod in sorted(pods.items()):
        for what in (("netns", pod.netns), ("dir", pod_dir_name(pod))):
            owners.setdefault(what, []).append(key)
    for key in sorted(new):
        pod = pods[key]
        obj = f"Pod {pod.namespace}/{pod.name}"
        problem = _netns_problem(pod.netns)
        if problem:
            causes.append({"object": obj, "field": "metadata.name", "message": problem})
        containers = [c.get("name", "") for c in pod.spec.get("containers", [])]
        longest = max([len(c) for c in containers] or [0]) + FILE_SUFFIX
        if len(pod_dir_name(pod)) > NAME_MAX or longest > NAME_MAX:
            causes.append({"object": obj, "field": "metadata.name",
                           "message": f"its run-time file names would exceed {NAME_MAX} characters"})
        for what, label in ((("netns", pod.netns), "network namespace"), (("dir", pod_dir_name(pod)), "run directory")):
            others = [k for k in owners[what] if k != key]
            if others:
                causes.append({"object": obj, "field": "metadata.name",
                               "message": f"its {label} {what[1]!r} would be the same as pod {others[0]}'s"})
    return causes


def foreign_netns_problems(cluster: str, pods: dict[str, PlacedPod], known: Iterable[str]) -> list[dict]:
    """A new pod's network namespace name must not belong to someone else (another cluster, a user)."""
    causes = []
    known = set(known)
    for key, pod in pods.items():
        if key in known or pod.host_network or not nsmod.exists(pod.netns):  # hostNetwork: makes none
            continue
        owner = names.cluster_of_alias(teardown.lo_alias(pod.netns))
        if owner != cluster:
            whose = f"cluster {owner!r}" if owner else "something outside netlab"
            causes.append({"object": f"Pod {pod.namespace}/{pod.name}", "field": "metadata.name",
                           "message": f"network namespace {pod.netns!r} already exists and belongs to {whose}"})
    return causes


def rules_problems(topo: Topology, wanted: dict[str, Ruleset], passed: dict[str, Ruleset]) -> list[str]:
    """`nft --check` each node's whole would-be table, side by side; ``passed`` (node -> the last table
    that loaded) spares checking one again and is updated with the tables that pass."""
    todo = [(node, ruleset) for node, ruleset in wanted.items() if passed.get(node) != ruleset]

    def check(item: tuple[str, Ruleset]) -> str | None:
        node, ruleset = item
        try:
            nft.apply(topo.node(node).netns, render_full(ruleset), check_only=True)
        except nft.NftError as e:
            return f"the rules for node {node} would not load: {e}"
        return None

    with ThreadPoolExecutor(max_workers=max(1, min(len(todo), 4))) as pool:
        problems = [p for p in pool.map(check, todo) if p]
    if not problems:
        passed.update(todo)
    return problems


def would_be_rules(objects: dict[str, dict], config: ClusterConfig, pods: dict[str, PlacedPod],
                   allocations: dict[str, Allocation], passed: dict[str, Ruleset]) -> tuple[Topology, list[str]]:
    """The would-be state's topology, and the problems `nft --check` finds in its tables, compiled with
    every pod ready (so every endpoint the state can produce is in them)."""
    topo = compile_topology(config, pods)
    network = compile_network(objects, config, Observed(all_ready=True), pods=pods, allocations=allocations,
                              topology=topo)
    return topo, rules_problems(topo, dict(network.rulesets), passed)
