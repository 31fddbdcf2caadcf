"""Delete stale UDP conntrack entries in the node namespaces (see netlab.compile.stale_flows)."""

from __future__ import annotations

import socket
from collections.abc import Iterable

from pyroute2 import Conntrack
from pyroute2.netlink.nfnetlink.nfctsocket import NFCTAttrTuple

from netlab.compile.stale_flows import StaleFlow
from netlab.kernel import netns as nsmod


def _matches(entry, flow: StaleFlow) -> bool:
    orig, reply = entry.tuple_orig, entry.tuple_reply
    if orig.dport != flow.port:
        return False
    if flow.dst is not None and orig.daddr != flow.dst:
        return False
    if flow.dst is None and reply.saddr == orig.daddr:
        return False  # a NodePort flow is one that was DNATed away from the node's address
    return flow.endpoint is None or reply.saddr == flow.endpoint


def forget(netns_names: Iterable[str], flows: list[StaleFlow]) -> int:
    """Delete the UDP entries (both families) matching `flows` in each namespace; returns how many were
    deleted."""
    if not flows:
        return 0
    deleted = 0
    for netns in netns_names:
        # pyroute2 opens the netlink socket on first use, not in the constructor: stay in the namespace.
        with nsmod.entered(netns):
            for family in (socket.AF_INET, socket.AF_INET6):   # a socket dumps (and deletes in) one family
                deleted += _forget_family(Conntrack(nfgen_family=family), family, flows)
    return deleted


def _forget_family(ct: Conntrack, family: int, flows: list[StaleFlow]) -> int:
    deleted = 0
    try:
        for entry in list(ct.dump_entries(tuple_orig=NFCTAttrTuple(family=family, proto=socket.IPPROTO_UDP))):
            if any(_matches(entry, f) for f in flows):
                try:
                    ct.delete(entry)
                    deleted += 1
                except OSError:  # gone already (expired, or deleted by the kernel)
                    pass
    finally:
        ct.close()
    return deleted
