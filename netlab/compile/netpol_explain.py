"""What `describe networkpolicy` shows about a policy, as plain data: the pods it selects, then per rule the
peers (pods, CIDRs) and the ports resolved per destination pod (pure; the rules are netlab.compile.netpol's)."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from typing import Any

from netlab.compile.netpol import (
    EGRESS,
    INGRESS,
    PolicyNamespace,
    PolicyPod,
    _ns_labels,
    peer_networks,
    peer_selects_pod,
    policy_name,
    policy_namespace,
    policy_spec,
    policy_types,
    port_ranges,
    rule_peers,
    rules,
    selects,
)


def _port_text(proto: str, lo: int, hi: int) -> str:
    if (lo, hi) == (0, 65535):
        return f"{proto}/*"
    return f"{proto}/{lo}" if lo == hi else f"{proto}/{lo}-{hi}"


def explain(policy: Mapping[str, Any], pods: Iterable[PolicyPod],
            namespaces: Iterable[PolicyNamespace]) -> dict[str, Any]:
    """What `describe networkpolicy` shows, as plain data.

    {"namespace", "name", "podSelector", "policyTypes": [...], "selectedPods": [{"pod", "ip", "node"}],
     "ingress"/"egress": [{"rule": i, "peers": "all" | [{"pod", "ip"} | {"cidr", "except"}], "peerCidrs":
     [...] | "all", "ports": "all" | [{"pod", "ports": ["TCP/80", "UDP/53-60", ...]}]}]}
    Ports are resolved per destination pod (named ports differ between pods); for ingress the
    destinations are the selected pods, for egress every pod (plus "*" for non-pod addresses).
    """
    pods = sorted(pods, key=lambda p: p.key)
    namespaces = list(namespaces)
    pns = policy_namespace(policy)
    ing, eg = policy_types(policy)
    selected = [p for p in pods if selects(policy, p)]
    out: dict[str, Any] = {
        "namespace": pns,
        "name": policy_name(policy),
        "podSelector": policy_spec(policy).get("podSelector") or {},
        "policyTypes": [t for t, on in ((INGRESS, ing), (EGRESS, eg)) if on],
        "selectedPods": [{"pod": p.key, "ip": p.ip, "node": p.node} for p in selected],
    }
    for direction, key in ((INGRESS, "ingress"), (EGRESS, "egress")):
        out[key] = [_describe_rule(policy, i, rule, direction, pods, namespaces, selected)
                    for i, rule in enumerate(rules(policy, direction))]
    return out


def _describe_rule(policy: Mapping[str, Any], index: int, rule: Mapping[str, Any], direction: str,
                   pods: list[PolicyPod], namespaces: list[PolicyNamespace], selected: list[PolicyPod]
                   ) -> dict[str, Any]:
    pns = policy_namespace(policy)
    peers = rule_peers(rule, direction)
    peer_list: Any = "all"
    if peers:
        ns_labels = _ns_labels(namespaces)
        peer_list = []
        for peer in peers:
            if peer.get("ipBlock") is not None:
                block = peer["ipBlock"]
                peer_list.append({"cidr": block.get("cidr"), "except": list(block.get("except") or [])})
            else:
                peer_list += [{"pod": p.key, "ip": p.ip} for p in pods if peer_selects_pod(peer, pns, p, ns_labels)]
    nets = peer_networks(policy, rule, direction, pods, namespaces)
    dsts: list[PolicyPod | None] = list(selected) if direction == INGRESS else [*pods, None]
    ports: Any = "all"
    if rule.get("ports"):
        ports = []
        for d in dsts:
            if direction == EGRESS and d is not None and nets is not None \
                    and not any(ipaddress.ip_address(d.ip) in n for n in nets):
                continue
            ranges = port_ranges(rule, d) or []
            if ranges:
                ports.append({"pod": d.key if d else "*", "ports": [_port_text(*r) for r in ranges]})
    return {"rule": index, "peers": peer_list, "peerCidrs": "all" if nets is None else [str(n) for n in nets],
            "ports": ports}
