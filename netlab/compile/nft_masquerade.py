"""Egress to the outside: SNAT of pods' traffic with ip-masq-agent's semantics, as nftables data. Pure.

Two hops, as in kind: each node masquerades its pods' traffic to anything outside the non-masquerade
CIDRs to its underlay address (ip-masq-agent's IP-MASQ-AGENT chain: RETURN for each non-masquerade
CIDR, then MASQUERADE), and the host masquerades the nodes' traffic leaving the underlay to the
address of the interface it leaves by (Docker's rule for kind's network).

The cluster's own CIDRs (pods, services, underlay) are never masqueraded, whatever the config says:
pod-to-pod and pod-to-node traffic keeps the pod IP. 169.254.0.0/16 is not masqueraded unless
`masqLinkLocal` (ip-masq-agent's default).
"""

from __future__ import annotations

import ipaddress
from dataclasses import replace

from netlab.compile import names
from netlab.compile.nftables import Chain, Ruleset, SetOrMap

LINK_LOCAL = "169.254.0.0/16"


def non_masquerade(cluster_cidrs: list[str], extra: tuple[str, ...] | list[str], masq_link_local: bool) -> list[str]:
    """The destinations pods reach with their own IP, merged into disjoint prefixes (an nft interval set
    refuses overlapping elements)."""
    cidrs = [*cluster_cidrs, *extra] + ([] if masq_link_local else [LINK_LOCAL])
    nets = ipaddress.collapse_addresses(ipaddress.IPv4Network(c, strict=False) for c in cidrs)
    return [str(n) for n in sorted(nets)]


def add_node_egress(ruleset: Ruleset, pod_subnet: str, no_masq: list[str], ipv6: bool = False) -> None:
    """Give a node's table the ip-masq-agent chain, after kube-proxy's masquerading in nat-postrouting.

    ipv6 (a dual-stack cluster): IPv6 packets leave the chain first. Its `ip` matches never match them,
    so they would reach `masquerade` and lose the pod's address on their way to another node; netlab has
    no IPv6 egress beyond the cluster, so every IPv6 packet keeps its pod address."""
    six = (("meta nfproto ipv6 return",), ("IPv6: pods keep their address",)) if ipv6 else ((), ())
    ruleset.add_set(SetOrMap(names.SET_NO_MASQUERADE, "type ipv4_addr; flags interval;", frozenset(no_masq),
                             comment="ip-masq-agent: destinations pods reach with their own IP"))
    ruleset.add_chain(Chain(names.CHAIN_IP_MASQ_AGENT, (
        *six[0],
        f"ip saddr != {pod_subnet} return",
        f"ip daddr @{names.SET_NO_MASQUERADE} return",
        "masquerade",
    ), notes=(*six[1], "not from a pod", "a non-masquerade destination", "outbound: SNAT to the node's address")))
    post = ruleset.chains[names.CHAIN_NAT_POSTROUTING]
    ruleset.chains[names.CHAIN_NAT_POSTROUTING] = replace(
        post, rules=(*post.rules, f"jump {names.CHAIN_IP_MASQ_AGENT}"))


def host_ruleset(cluster: str, underlay: str, bridge: str) -> Ruleset:
    """The host's own table for one cluster: the nodes' traffic leaving the underlay is masqueraded to the
    host's address on the way out, so replies find their way back (the node de-NATs them in turn)."""
    ruleset = Ruleset(table=names.host_nft_table(cluster))
    ruleset.add_chain(Chain(names.CHAIN_NAT_POSTROUTING, (
        f'ip saddr {underlay} ip daddr != {underlay} oifname != "{bridge}" masquerade',
    ), "type nat hook postrouting priority srcnat; policy accept;"))
    return ruleset
