"""Per-node nftables rulesets, LoadBalancer announcements and stale UDP flows, applied as the difference
of two Desired values.

The previous state is the Desired this process applied (kube-proxy's rule: never list the kernel's
table back to diff it). With none (a fresh controller, or after a failed transaction) every node gets
a full, atomic table replacement and its announcements are reconciled with the kernel.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from netlab.compile import names
from netlab.compile.desired import Desired
from netlab.compile.nftables import render_diff, render_full
from netlab.compile.stale_flows import stale_flows
from netlab.compile.topology import NodeNet
from netlab.kernel import conntrack, neighbours, nft
from netlab.kernel import netlink as nl

log = logging.getLogger("netlab.dataplane")


class Dataplane:
    def __init__(self, nft_apply: Callable[[str, str], object] = nft.apply) -> None:
        self.nft_apply = nft_apply  # (netns, transaction text); tests pass a recorder

    def apply(self, old: Desired | None, new: Desired) -> list[str]:
        """Take the kernel from ``old`` (what was applied) to ``new``; nodes whose table and announcements
        are the same in both are not touched."""
        changes = []
        work = []
        for node in new.topology.nodes:
            ruleset = new.rulesets[node.name]
            before = None if old is None else old.rulesets.get(node.name)
            if before == ruleset:
                continue
            text = render_full(ruleset) if before is None else render_diff(before, ruleset)
            if text:
                work.append((node, text, before is None))
        # One transaction per node; the nodes' transactions are independent, so run them side by side.
        with ThreadPoolExecutor(max_workers=max(1, min(len(work), 4))) as pool:
            for (node, text, fresh), _ in zip(work, pool.map(lambda w: self.nft_apply(w[0].netns, w[1]), work),
                                              strict=True):
                changes.append(f"node {node.name}: nftables {'loaded' if fresh else 'updated'}"
                               f" ({text.count(chr(10))} lines)")
        for node in new.topology.nodes:
            want = new.network.announcements.get(node.name, frozenset())
            if old is None or old.network.announcements.get(node.name) != want:
                changes += announce(node, want)
        flows = stale_flows(list(old.services.values()) if old else [], list(new.services.values()))
        if flows:
            gone = conntrack.forget([n.netns for n in new.topology.nodes], flows)
            changes.append(f"{gone} stale UDP conntrack entries removed ({len(flows)} endpoint changes)")
        return changes


def announce(node: NodeNet, want: frozenset[str]) -> list[str]:
    """Make the node's uplink carry exactly the LoadBalancer IPs it announces: /32s, which it answers ARP
    for, and IPv6 /128s (nodad), which it answers Neighbour Solicitations for (MetalLB L2's NDP)."""
    changes = []
    with nl.socket_in(node.netns) as ipr:
        index = nl.links(ipr)[names.NODE_UPLINK].index
        current = {a for a, plen in nl.addresses(ipr, index) if plen == (128 if ":" in a else 32)}
        for ip in sorted(want - current):
            nl.ensure_address(ipr, index, ip, 128 if ":" in ip else 32)
            changes.append(f"node {node.name}: announcing LoadBalancer IP {ip}")
        for ip in sorted(current - want):
            with nl.tolerate(99):  # EADDRNOTAVAIL
                ipr.addr("del", index=index, address=ip, prefixlen=128 if ":" in ip else 32)
            changes.append(f"node {node.name}: no longer announcing {ip}")
    for ip in sorted(a for a in want - current if ":" in a):
        try:   # neighbours that cached the previous announcer's MAC switch now, not when their entry ages
            neighbours.advertise6(node.netns, names.NODE_UPLINK, ip)
        except OSError as exc:
            log.warning("node %s: unsolicited neighbour advertisement for %s failed: %s", node.name, ip, exc)
    return changes
