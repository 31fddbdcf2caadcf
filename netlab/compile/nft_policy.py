"""NetworkPolicy as nftables data for one node: the pods local to the node, both directions.

Layout (everything in the node's `inet netlab` table, merged by the caller):

    chain filter-forward-policy            # hook forward, priority filter, policy accept
        ct state established,related accept
        ct state invalid drop
        ip saddr vmap @policy-egress-pods   # egress-isolated local pods -> jump egress-<hash8>-<ns>/<pod>
        ip daddr vmap @policy-ingress-pods  # ingress-isolated local pods -> jump ingress-<hash8>-<ns>/<pod>

    chain egress-<hash8>-<ns>/<pod>        # one rule per policy rule: allowed -> return (ingress is next)
    chain ingress-<hash8>-<ns>/<pod>       # one rule per policy rule: allowed -> accept
        ... each ends with `drop`

Peer addresses live in interval sets shared by every pod a policy selects
(`<dir>-peers-<hash8>-<ns>/<policy>/<rule#>`, pods as /32, ipBlocks with their `except` cut out);
ports in `typeof meta l4proto . th dport; flags interval;` sets (`<dir>-ports-...`, endPort as a
range); named ports are resolved on the destination pod: per pod for ingress (`.../<rule#>/<ns>/<pod>`),
as `ip daddr . meta l4proto . th dport` elements for egress (`egress-named-...`). The per-packet
cost is two map lookups plus one rule per policy rule that selects the pod; it does not grow with pods.

In a dual-stack cluster the same pod chains are also dispatched by IPv6 address (`policy-*-pods6`
maps) and selectors get a second, IPv6 peer set (`<dir>-peers6-...`); a family without peers gets no
rule, so it reaches the chain's `drop`.

Traffic between a pod and its own node crosses OUTPUT/INPUT, not FORWARD, so it is not filtered here,
as Kubernetes documents. Cross-node traffic is checked twice: egress on the source node, ingress on
the destination node.

Names are written bare in rules (`jump ingress-.../x/a`, `@ingress-peers-.../x/p/0`): nft 1.0.6 rejects
quoted identifiers, and DNS-1123 names with `/`, `.` and `-` parse unquoted.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from typing import Any

from netlab.compile import names
from netlab.compile.netpol import (
    EGRESS,
    INGRESS,
    PolicyNamespace,
    PolicyPod,
    named_port,
    named_ports,
    peer_networks,
    policies_for,
    policy_key,
    port_ranges,
    rules,
)
from netlab.compile.nftables import Chain, Ruleset, SetOrMap

BASE_CHAIN = names.CHAIN_POLICY
BASE_HOOK = "type filter hook forward priority filter; policy accept;"
INGRESS_MAP = names.SET_POLICY_INGRESS
EGRESS_MAP = names.SET_POLICY_EGRESS
MAX_COMMENT = 120  # nft keeps comments in 128 bytes of user data

_PEER_DECL = "type ipv4_addr; flags interval;"
_PEER6_DECL = "type ipv6_addr; flags interval;"
_PORT_DECL = "typeof meta l4proto . th dport; flags interval;"
_NAMED_DECL = "typeof ip daddr . meta l4proto . th dport;"
_VMAP_DECL = "type ipv4_addr : verdict;"
_VMAP6_DECL = "type ipv6_addr : verdict;"
IPNet = ipaddress.IPv4Network | ipaddress.IPv6Network


def pod_chain(direction: str, pod: PolicyPod) -> str:
    return names.nft_pod_chain(direction, pod.key)


def _rule_set(kind: str, direction: str, policy: Mapping[str, Any], index: int, pod: PolicyPod | None = None) -> str:
    return names.nft_policy_rule_set(kind, direction, policy_key(policy), index, pod.key if pod is not None else None)


def _comment(text: str) -> str:
    text = text.replace('"', "'")
    return text if len(text) <= MAX_COMMENT else text[:MAX_COMMENT - 3] + "..."


def _addr(net: IPNet) -> str:
    return str(net.network_address) if net.prefixlen == net.max_prefixlen else str(net)


def _port_element(proto: str, lo: int, hi: int) -> str:
    return f"{proto.lower()} . {lo}" if lo == hi else f"{proto.lower()} . {lo}-{hi}"


class _Builder:
    def __init__(self, pods: list[PolicyPod], namespaces: list[PolicyNamespace]) -> None:
        self.pods = pods
        self.namespaces = namespaces
        self.ruleset = Ruleset()
        self._nets: dict[tuple[str, str, int], list[ipaddress.IPv4Network] | None] = {}
        self.notes: list[str] = []  # of the last pod_rules call

    def _peer_networks(self, policy: Mapping[str, Any], rule: Mapping[str, Any], direction: str,
                       index: int) -> list[ipaddress.IPv4Network] | None:
        """`peer_networks` once per policy rule: it depends on the rule, not on the selected pod."""
        key = (policy_key(policy), direction, index)
        if key not in self._nets:
            self._nets[key] = peer_networks(policy, rule, direction, self.pods, self.namespaces)
        return self._nets[key]

    def _ensure_set(self, name: str, declaration: str, elements: Iterable[str], comment: str) -> str:
        if name not in self.ruleset.sets:
            self.ruleset.add_set(SetOrMap(name, declaration, frozenset(elements), _comment(comment)))
        return name

    def pod_rules(self, pod: PolicyPod, direction: str, policies: list[Mapping[str, Any]]) -> list[str]:
        """The pod chain's rules; `self.notes` gets the policy rule behind each, in the same order."""
        peer_dir, verdict = ("saddr", "accept") if direction == INGRESS else ("daddr", "return")
        out: list[str] = []
        self.notes = []
        note = ""

        def add(rule: str) -> None:
            out.append(rule)
            self.notes.append(note)

        for policy in policies:
            pkey = policy_key(policy)
            for i, rule in enumerate(rules(policy, direction)):
                what = f"policy {pkey} {direction.lower()} rule {i}"
                note = f"{pkey} {direction.lower()} rule {i}"
                nets = self._peer_networks(policy, rule, direction, i)
                if nets == []:
                    continue  # peers that match nothing (yet)
                for peer in self._peer_matches(nets, policy, direction, i, peer_dir, what):
                    self._rule(add, pod, policy, rule, direction, i, what, nets, peer, verdict)
        return out

    def _peer_matches(self, nets: list[IPNet] | None, policy: Mapping[str, Any], direction: str, index: int,
                      peer_dir: str, what: str) -> list[str]:
        """The peer match of each family the rule's peers have ("" for every address): `ip saddr @set `,
        and in a dual-stack cluster `ip6 saddr @set ` (a family without peers gets no rule, so it is
        dropped at the chain's end)."""
        if nets is None:
            return [""]
        out = []
        for version, kind, decl, proto in ((4, "peers", _PEER_DECL, "ip"), (6, "peers6", _PEER6_DECL, "ip6")):
            family = [n for n in nets if n.version == version]
            if family:
                name = self._ensure_set(_rule_set(kind, direction, policy, index), decl,
                                        (_addr(n) for n in family), f"{what} peers")
                out.append(f"{proto} {peer_dir} @{name} ")
        return out

    def _rule(self, add, pod: PolicyPod, policy: Mapping[str, Any], rule: Mapping[str, Any], direction: str,
              i: int, what: str, nets: list[IPNet] | None, peer: str, verdict: str) -> None:
        """One policy rule's nft rule(s) for one peer match."""
        if direction == INGRESS:
            ranges = port_ranges(rule, pod)
            if ranges is None:
                add(f"{peer}{verdict}")
            elif ranges:
                owner = pod if named_ports(rule) else None
                name = self._ensure_set(_rule_set("ports", direction, policy, i, owner), _PORT_DECL,
                                        (_port_element(*r) for r in ranges), f"{what} ports")
                add(f"{peer}meta l4proto . th dport @{name} {verdict}")
            return
        ranges = port_ranges(rule, None)
        if ranges is None:
            add(f"{peer}{verdict}")
            return
        if ranges:
            name = self._ensure_set(_rule_set("ports", direction, policy, i), _PORT_DECL,
                                    (_port_element(*r) for r in ranges), f"{what} ports")
            add(f"{peer}meta l4proto . th dport @{name} {verdict}")
        if peer.startswith("ip6 "):
            return   # egress named ports are resolved to IPv4 destinations only (IPv6: dropped, fail closed)
        name = _rule_set("named", direction, policy, i)
        if name not in self.ruleset.sets:  # shared by every pod the policy selects: resolve once
            elements = self._named_elements(rule, nets)
            if elements:
                self._ensure_set(name, _NAMED_DECL, elements, f"{what} named ports")
        if name in self.ruleset.sets:
            add(f"ip daddr . meta l4proto . th dport @{name} {verdict}")

    def _named_elements(self, rule: Mapping[str, Any], nets: list[ipaddress.IPv4Network] | None) -> list[str]:
        """Egress named ports: resolved on every destination pod inside the rule's peers."""
        out = []
        for pname, proto in named_ports(rule):
            for p in self.pods:
                number = named_port(p, pname, proto)
                if number is None or not p.ip:
                    continue
                if nets is not None and not any(ipaddress.IPv4Address(p.ip) in n for n in nets if n.version == 4):
                    continue
                out.append(f"{p.ip} . {proto.lower()} . {number}")
        return out


def policy_ruleset(node: str, pods: list[PolicyPod], namespaces: Iterable[PolicyNamespace],
                   policies: Iterable[Mapping[str, Any]]) -> Ruleset:
    """Chains, sets and maps enforcing every policy for the pods running on `node`."""
    pods = sorted(pods, key=lambda p: p.key)
    policies = sorted(policies, key=policy_key)
    b = _Builder(pods, list(namespaces))
    vmaps: dict[str, set[str]] = {INGRESS: set(), EGRESS: set()}
    vmaps6: dict[str, set[str]] = {INGRESS: set(), EGRESS: set()}
    for pod in pods:
        if pod.node != node:
            continue
        for direction in (INGRESS, EGRESS):
            applying = policies_for(pod, policies, direction)
            if not applying:
                continue
            chain = pod_chain(direction, pod)
            body = [*b.pod_rules(pod, direction, applying), "drop"]
            isolating = ", ".join(policy_key(p) for p in applying)
            # The comment says only what the chain's name does: the kernel keeps a chain's first comment
            # (`add chain` on an existing chain ignores a new one), so the policies go in the notes.
            b.ruleset.add_chain(Chain(chain, tuple(body), comment=_comment(f"{direction.lower()} {pod.key}"),
                                 notes=(*b.notes, f"isolated by {isolating}")))
            if pod.ip:   # an IPv6-only cluster's pods have no IPv4 address
                vmaps[direction].add(f"{pod.ip} : jump {chain}")
            if pod.ip6:
                vmaps6[direction].add(f"{pod.ip6} : jump {chain}")
    b.ruleset.add_set(SetOrMap(INGRESS_MAP, _VMAP_DECL, frozenset(vmaps[INGRESS]),
                          "ingress-isolated local pods by IP"))
    b.ruleset.add_set(SetOrMap(EGRESS_MAP, _VMAP_DECL, frozenset(vmaps[EGRESS]),
                          "egress-isolated local pods by IP"))
    dispatch6: tuple[str, ...] = ()
    ndp: tuple[str, ...] = ()
    if any(p.ip6 for p in pods):   # dual-stack: the same pod chains, found by the pods' IPv6 addresses
        b.ruleset.add_set(SetOrMap(names.SET_POLICY_INGRESS6, _VMAP6_DECL, frozenset(vmaps6[INGRESS]),
                                   "ingress-isolated local pods by IPv6 address"))
        b.ruleset.add_set(SetOrMap(names.SET_POLICY_EGRESS6, _VMAP6_DECL, frozenset(vmaps6[EGRESS]),
                                   "egress-isolated local pods by IPv6 address"))
        dispatch6 = (f"ip6 saddr vmap @{names.SET_POLICY_EGRESS6}", f"ip6 daddr vmap @{names.SET_POLICY_INGRESS6}")
        # Neighbour Discovery is IPv6's ARP: bridged between two pods of a node it crosses this hook, and
        # policy must not drop it (a dropped unicast solicitation, NUD's probe of a stale entry, leaves the
        # neighbour FAILED and the next allowed connection timing out). Not NetworkPolicy's to filter.
        ndp = ("icmpv6 type nd-neighbor-solicit accept", "icmpv6 type nd-neighbor-advert accept")
    b.ruleset.add_chain(Chain(BASE_CHAIN, (
        "ct state established,related accept",
        *ndp,
        "ct state invalid drop",
        f"ip saddr vmap @{EGRESS_MAP}",
        f"ip daddr vmap @{INGRESS_MAP}",
        *dispatch6,
    ), hook=BASE_HOOK, comment="NetworkPolicy dispatch"))
    return b.ruleset
