"""Per-node nftables rulesets and LoadBalancer announcements, applied as diffs.

The previous state is what this process applied (kube-proxy's rule: never list the kernel's table
back to diff it). A fresh controller starts with a full, atomic table replacement per node.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor

from netlab.api.resources import BUILTIN_NAMESPACES
from netlab.compile import names
from netlab.compile.netpol import PolicyNamespace, PolicyPod, container_ports
from netlab.compile.nft_policy import policy_ruleset
from netlab.compile.nft_services import services_ruleset
from netlab.compile.nftables import Ruleset, render_diff, render_full
from netlab.compile.services import ResolvedService, announcer
from netlab.compile.stale_flows import stale_flows
from netlab.compile.topology import Topology
from netlab.kernel import conntrack, nft
from netlab.kernel import netlink as nl

log = logging.getLogger("netlab.dataplane")


def policy_inputs(state) -> tuple[list[PolicyPod], list[PolicyNamespace], list[dict]]:
    pods = [
        PolicyPod(p.namespace, p.name, p.ip, p.node, dict(p.labels), container_ports(p.spec))
        for p in state.pods.values()
    ]
    explicit = {o["metadata"]["name"]: o for o in state.objects.values() if o["kind"] == "Namespace"}
    namespaces = [PolicyNamespace(n, dict((explicit.get(n, {}).get("metadata") or {}).get("labels") or {}))
                  for n in sorted(set(explicit) | set(BUILTIN_NAMESPACES) | {p.namespace for p in pods})]
    policies = [o for o in state.objects.values() if o["kind"] == "NetworkPolicy"]
    return pods, namespaces, policies


def policy_rulesets(topo: Topology, state) -> dict[str, Ruleset]:
    """NetworkPolicy rules per node, for the pods on that node (each node enforces its own side)."""
    pods, namespaces, policies = policy_inputs(state)
    return {n.name: policy_ruleset(n.name, pods, namespaces, policies) for n in topo.nodes}


class Dataplane:
    def __init__(self) -> None:
        self.applied: dict[str, Ruleset] = {}
        self.announced: dict[str, set[str]] = {}
        self.services: list[ResolvedService] = []  # what the applied rules were made from

    def rulesets(self, topo: Topology, cluster_cidr: str, services: list[ResolvedService],
                 extra: dict[str, Ruleset] | None = None) -> dict[str, Ruleset]:
        out = {}
        for node in topo.nodes:
            rs = services_ruleset(node.name, [node.underlay_ip], cluster_cidr, services)
            if extra and node.name in extra:
                rs.merge(extra[node.name])
            out[node.name] = rs
        return out

    def sync(self, topo: Topology, cluster_cidr: str, services: list[ResolvedService],
             extra: dict[str, Ruleset] | None = None) -> list[str]:
        changes = []
        wanted = self.rulesets(topo, cluster_cidr, services, extra)
        work = []
        for node in topo.nodes:
            rs = wanted[node.name]
            old = self.applied.get(node.name)
            text = render_full(rs) if old is None else render_diff(old, rs)
            if text:
                work.append((node, rs, text, old is None))
        # One transaction per node; the nodes' transactions are independent, so run them side by side.
        with ThreadPoolExecutor(max_workers=max(1, min(len(work), 4))) as pool:
            for (node, rs, text, fresh), _ in zip(work, pool.map(lambda w: nft.apply(w[0].netns, w[2]), work),
                                                  strict=True):
                self.applied[node.name] = rs
                changes.append(f"node {node.name}: nftables {'loaded' if fresh else 'updated'}"
                               f" ({text.count(chr(10))} lines)")
        changes += self._announce(topo, services)
        flows = stale_flows(self.services, services)
        self.services = list(services)
        if flows:
            gone = conntrack.forget([n.netns for n in topo.nodes], flows)
            changes.append(f"{gone} stale UDP conntrack entries removed ({len(flows)} endpoint changes)")
        return changes

    def _announce(self, topo: Topology, services: list[ResolvedService]) -> list[str]:
        want: dict[str, set[str]] = {n.name: set() for n in topo.nodes}
        for svc in services:
            node = announcer(svc, [n.name for n in topo.nodes])
            if node:
                want[node].add(svc.load_balancer_ip)
        changes = []
        for node in topo.nodes:
            have = self.announced.get(node.name)
            if have == want[node.name]:
                continue
            with nl.socket_in(node.netns) as ipr:
                index = nl.links(ipr)[names.NODE_UPLINK].index
                current = {a for a, plen in nl.addresses(ipr, index) if plen == 32}
                for ip in sorted(want[node.name] - current):
                    nl.ensure_address(ipr, index, ip, 32)
                    changes.append(f"node {node.name}: announcing LoadBalancer IP {ip}")
                for ip in sorted(current - want[node.name]):
                    with nl.tolerate(99):  # EADDRNOTAVAIL
                        ipr.addr("del", index=index, address=ip, prefixlen=32)
                    changes.append(f"node {node.name}: no longer announcing {ip}")
            self.announced[node.name] = want[node.name]
        return changes
