"""NetworkPolicy semantics (networking.k8s.io/v1), pure.

Policies are the Kubernetes JSON dicts (camelCase). This module answers "is this connection allowed?"
exactly as the API reference describes, and provides the resolved pieces (peer address ranges, port
elements) that `netlab.compile.nft_policy` compiles to nftables, so the two cannot drift apart.

Semantics, in short:
- A policy selects the pods of its own namespace matching `spec.podSelector` (`{}` selects all).
- `policyTypes` absent/empty: Ingress always, Egress when the policy has egress rules.
- A pod selected by at least one policy of a type is isolated for that direction; what the union of the
  rules of those policies allows is allowed, everything else is denied. Pods no policy selects are open.
- In a rule, absent or empty `from`/`to` means every peer; absent or empty `ports` means every port.
- A peer is an `ipBlock` (any address, pods included, minus `except`), or pods chosen by `podSelector`
  and/or `namespaceSelector` (both present: AND; `namespaceSelector` absent: the policy's namespace).
- A named port is resolved on the destination pod (`containerPort` with that name and protocol).
- A connection needs the egress of its source (if a pod) AND the ingress of its destination (if a pod).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from netlab.compile import label_selectors

NS_NAME_LABEL = "kubernetes.io/metadata.name"
PROTOCOLS = ("TCP", "UDP", "SCTP")
INGRESS = "Ingress"
EGRESS = "Egress"
IPv4Net = ipaddress.IPv4Network


class PolicyError(ValueError):
    """A policy the compiler cannot interpret (validation should have caught it first)."""


@dataclass(frozen=True)
class PolicyPod:
    namespace: str
    name: str
    ip: str
    node: str
    labels: dict[str, str] = field(default_factory=dict, hash=False)
    ports: tuple[tuple[str | None, int, str], ...] = ()  # (port name, containerPort, protocol)
    ip6: str = ""  # dual-stack: the pod's IPv6 address, selected by the same selectors

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"


def container_ports(spec: Mapping[str, Any]) -> tuple[tuple[str | None, int, str], ...]:
    """(name, containerPort, protocol) of every container port of a PodSpec (Kubernetes JSON)."""
    return tuple((cp.get("name"), cp["containerPort"], cp.get("protocol") or "TCP")
                 for c in spec.get("containers") or [] for cp in c.get("ports") or [])


def policy_pod(pod: Mapping[str, Any]) -> PolicyPod:
    """A Pod as the API returns it (Kubernetes JSON), as NetworkPolicy sees it."""
    meta, spec, status = pod.get("metadata") or {}, pod.get("spec") or {}, pod.get("status") or {}
    ips = [str(e.get("ip") or "") for e in status.get("podIPs") or []] or [str(status.get("podIP") or "")]
    ip4 = next((ip for ip in ips if ip and ":" not in ip), "")   # podIP is IPv6 in an IPv6-primary cluster
    ip6 = next((ip for ip in ips if ":" in ip), "")
    return PolicyPod(meta.get("namespace") or "default", meta.get("name") or "",
                     ip4, spec.get("nodeName") or "",
                     dict(meta.get("labels") or {}), container_ports(spec), ip6)


@dataclass(frozen=True)
class PolicyNamespace:
    name: str
    labels: dict[str, str] = field(default_factory=dict, hash=False)


# ---------------------------------------------------------------------------------------------- selectors


def match_selector(selector: Mapping[str, Any] | None, labels: Mapping[str, str]) -> bool:
    """Kubernetes label selector (see netlab.compile.label_selectors.matches); `None` is treated as `{}`."""
    try:
        return label_selectors.matches(selector, labels)
    except label_selectors.SelectorError as e:
        raise PolicyError(str(e)) from e


# ---------------------------------------------------------------------------------------------- policy parts


def policy_namespace(policy: Mapping[str, Any]) -> str:
    return (policy.get("metadata") or {}).get("namespace") or "default"


def policy_name(policy: Mapping[str, Any]) -> str:
    return (policy.get("metadata") or {}).get("name") or ""


def policy_key(policy: Mapping[str, Any]) -> str:
    return f"{policy_namespace(policy)}/{policy_name(policy)}"


def policy_spec(policy: Mapping[str, Any]) -> Mapping[str, Any]:
    return policy.get("spec") or {}


def policy_types(policy: Mapping[str, Any]) -> tuple[bool, bool]:
    """(applies to ingress, applies to egress), with the API server's defaulting."""
    spec = policy_spec(policy)
    types = spec.get("policyTypes")
    if types:
        return INGRESS in types, EGRESS in types
    return True, bool(spec.get("egress"))


def rules(policy: Mapping[str, Any], direction: str) -> list[Mapping[str, Any]]:
    """The rules of one direction (`Ingress` or `Egress`); [] when the policy does not apply to it."""
    ing, eg = policy_types(policy)
    if direction == INGRESS:
        return list(policy_spec(policy).get("ingress") or []) if ing else []
    return list(policy_spec(policy).get("egress") or []) if eg else []


def rule_peers(rule: Mapping[str, Any], direction: str) -> list[Mapping[str, Any]]:
    return list(rule.get("from" if direction == INGRESS else "to") or [])


def selects(policy: Mapping[str, Any], pod: PolicyPod) -> bool:
    """Does `policy` select `pod` (same namespace, podSelector matches)?"""
    if pod.namespace != policy_namespace(policy):
        return False
    return match_selector(policy_spec(policy).get("podSelector") or {}, pod.labels)


def _applies(policy: Mapping[str, Any], direction: str) -> bool:
    ing, eg = policy_types(policy)
    return ing if direction == INGRESS else eg


def policies_for(pod: PolicyPod, policies: Iterable[Mapping[str, Any]], direction: str) -> list[Mapping[str, Any]]:
    """The policies of `direction` that select `pod`, sorted by namespace/name."""
    found = [p for p in policies if _applies(p, direction) and selects(p, pod)]
    return sorted(found, key=policy_key)


def isolation(pod: PolicyPod, policies: Iterable[Mapping[str, Any]]) -> tuple[bool, bool]:
    """(ingress isolated, egress isolated)."""
    policies = list(policies)
    return bool(policies_for(pod, policies, INGRESS)), bool(policies_for(pod, policies, EGRESS))


# ---------------------------------------------------------------------------------------------- peers


def _ns_labels(namespaces: Iterable[PolicyNamespace]) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for ns in namespaces:
        out[ns.name] = {**ns.labels, NS_NAME_LABEL: ns.name}
    return out


def _labels_of_ns(name: str, ns_labels: Mapping[str, Mapping[str, str]]) -> Mapping[str, str]:
    return ns_labels.get(name) or {NS_NAME_LABEL: name}


def ip_block_networks(block: Mapping[str, Any]) -> list[IPv4Net]:
    """`cidr` minus every `except`, in the block's family (an IPv6 block matches dual-stack pods' IPv6)."""
    try:
        cidr = ipaddress.ip_network(block["cidr"], strict=False)
        excepts = [ipaddress.ip_network(e, strict=False) for e in block.get("except") or []]
    except (KeyError, ValueError) as e:
        raise PolicyError(f"invalid ipBlock {dict(block)!r}: {e}") from e
    nets: list[IPv4Net] = [cidr]  # type: ignore[list-item]
    for exc in excepts:
        if exc.version != cidr.version:
            continue
        nxt: list[IPv4Net] = []
        for n in nets:
            if not n.overlaps(exc):
                nxt.append(n)
            elif exc.subnet_of(n):  # type: ignore[arg-type]
                nxt.extend(n.address_exclude(exc))  # type: ignore[arg-type]
            # else n lies inside exc: removed whole
        nets = nxt
    return sorted(ipaddress.collapse_addresses(nets))


def _in_ip_block(ip: str, block: Mapping[str, Any]) -> bool:
    addr = ipaddress.ip_address(ip)
    return any(addr in n for n in ip_block_networks(block))


def peer_selects_pod(peer: Mapping[str, Any], policy_ns: str, pod: PolicyPod,
                     ns_labels: Mapping[str, Mapping[str, str]]) -> bool:
    """Does a podSelector/namespaceSelector peer choose `pod`? (ipBlock peers are handled by address.)"""
    pod_sel = peer.get("podSelector")
    ns_sel = peer.get("namespaceSelector")
    if pod_sel is None and ns_sel is None:
        return False
    if ns_sel is None:
        if pod.namespace != policy_ns:
            return False
    elif not match_selector(ns_sel, _labels_of_ns(pod.namespace, ns_labels)):
        return False
    return pod_sel is None or match_selector(pod_sel, pod.labels)


def peer_matches(peer: Mapping[str, Any], policy_ns: str, ip: str, pod: PolicyPod | None,
                 ns_labels: Mapping[str, Mapping[str, str]]) -> bool:
    if "ipBlock" in peer and peer["ipBlock"] is not None:
        return _in_ip_block(ip, peer["ipBlock"])
    return pod is not None and peer_selects_pod(peer, policy_ns, pod, ns_labels)


def peer_networks(policy: Mapping[str, Any], rule: Mapping[str, Any], direction: str, pods: Iterable[PolicyPod],
                  namespaces: Iterable[PolicyNamespace]) -> list[IPv4Net] | None:
    """Addresses a rule's peers stand for, collapsed and sorted; None means "every address"."""
    peers = rule_peers(rule, direction)
    if not peers:
        return None
    ns_labels = _ns_labels(namespaces)
    pns = policy_namespace(policy)
    pods = list(pods)
    nets: list[IPv4Net] = []
    for peer in peers:
        if peer.get("ipBlock") is not None:
            nets += ip_block_networks(peer["ipBlock"])
        else:
            selected = [p for p in pods if peer_selects_pod(peer, pns, p, ns_labels)]
            nets += [ipaddress.ip_network(ip) for p in selected for ip in (p.ip, p.ip6) if ip]
    # collapsed per family (collapse_addresses refuses a mix), IPv4 first
    return [n for version in (4, 6) for n in sorted(ipaddress.collapse_addresses(
        [n for n in nets if n.version == version]))]


# ---------------------------------------------------------------------------------------------- ports


def _protocol(entry: Mapping[str, Any]) -> str:
    proto = str(entry.get("protocol") or "TCP").upper()
    if proto not in PROTOCOLS:
        raise PolicyError(f"unknown protocol {entry.get('protocol')!r}")
    return proto


def _port_value(entry: Mapping[str, Any]) -> int | str | None:
    port = entry.get("port")
    if isinstance(port, str) and port.isdigit():
        return int(port)
    return port


def named_port(pod: PolicyPod | None, name: str, protocol: str) -> int | None:
    """The containerPort called `name` for `protocol` on `pod`, or None."""
    if pod is None:
        return None
    for pname, number, proto in pod.ports:
        if pname == name and (proto or "TCP").upper() == protocol:
            return number
    return None


def port_ranges(rule: Mapping[str, Any], dst: PolicyPod | None) -> list[tuple[str, int, int]] | None:
    """The rule's ports as sorted, merged (protocol, first, last) ranges, named ports resolved on `dst`.

    None means every port of every protocol. With `dst` None, named ports are left out (the caller
    resolves them per destination pod; see `named_ports`).
    """
    entries = rule.get("ports") or []
    if not entries:
        return None
    ranges: dict[str, list[tuple[int, int]]] = {}
    for entry in entries:
        proto = _protocol(entry)
        port = _port_value(entry)
        if port is None:
            ranges.setdefault(proto, []).append((0, 65535))
        elif isinstance(port, int):
            end = entry.get("endPort")
            ranges.setdefault(proto, []).append((port, int(end) if end is not None else port))
        else:
            number = named_port(dst, port, proto)
            if number is not None:
                ranges.setdefault(proto, []).append((number, number))
    out: list[tuple[str, int, int]] = []
    for proto in sorted(ranges):
        merged: list[list[int]] = []
        for lo, hi in sorted(ranges[proto]):
            if merged and lo <= merged[-1][1] + 1:
                merged[-1][1] = max(merged[-1][1], hi)
            else:
                merged.append([lo, hi])
        out += [(proto, lo, hi) for lo, hi in merged]
    return out


def named_ports(rule: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(name, protocol) of the rule's named ports, sorted."""
    out = set()
    for entry in rule.get("ports") or []:
        port = _port_value(entry)
        if isinstance(port, str):
            out.add((port, _protocol(entry)))
    return sorted(out)


def _port_matches(rule: Mapping[str, Any], dst: PolicyPod | None, port: int, protocol: str) -> bool:
    ranges = port_ranges(rule, dst)
    if ranges is None:
        return True
    return any(proto == protocol and lo <= port <= hi for proto, lo, hi in ranges)


# ---------------------------------------------------------------------------------------------- verdicts


def _rule_allows(policy: Mapping[str, Any], rule: Mapping[str, Any], direction: str, peer_ip: str,
                 peer_pod: PolicyPod | None, dst: PolicyPod | None, port: int, protocol: str,
                 ns_labels: Mapping[str, Mapping[str, str]]) -> bool:
    if not _port_matches(rule, dst, port, protocol):
        return False
    peers = rule_peers(rule, direction)
    if not peers:
        return True
    pns = policy_namespace(policy)
    return any(peer_matches(peer, pns, peer_ip, peer_pod, ns_labels) for peer in peers)


def _direction_allows(pod: PolicyPod, direction: str, peer_ip: str, peer_pod: PolicyPod | None,
                      dst: PolicyPod | None, port: int, protocol: str, policies: Sequence[Mapping[str, Any]],
                      ns_labels: Mapping[str, Mapping[str, str]]) -> bool:
    applying = policies_for(pod, policies, direction)
    if not applying:
        return True
    return any(_rule_allows(p, r, direction, peer_ip, peer_pod, dst, port, protocol, ns_labels)
               for p in applying for r in rules(p, direction))


def _resolve(end: PolicyPod | str, by_ip: Mapping[str, PolicyPod]) -> tuple[str, PolicyPod | None]:
    if isinstance(end, PolicyPod):
        return end.ip, end
    return end, by_ip.get(end)


def allowed(src: PolicyPod | str, dst: PolicyPod | str, port: int, protocol: str, pods: Iterable[PolicyPod],
            namespaces: Iterable[PolicyNamespace], policies: Iterable[Mapping[str, Any]], *,
            node_ips: Mapping[str, Iterable[str]] | None = None) -> bool:
    """Is a new connection src -> dst:port/protocol allowed?

    `src`/`dst` are pods or bare IPs (a bare IP that is a pod's IP counts as that pod). A pod reaching
    itself is always allowed (loopback never leaves the pod, and upstream leaves it undefined). With
    `node_ips` (node name -> its addresses), traffic between a pod and its own node is allowed, as the
    Kubernetes documentation states (netlab: it crosses INPUT/OUTPUT, not FORWARD).
    """
    pods = list(pods)
    policies = list(policies)
    protocol = protocol.upper()
    by_ip = {ip: p for p in pods for ip in (p.ip, p.ip6) if ip}
    src_ip, src_pod = _resolve(src, by_ip)
    dst_ip, dst_pod = _resolve(dst, by_ip)
    if src_pod is not None and dst_pod is not None and src_pod.key == dst_pod.key:
        return True
    ns_labels = _ns_labels(namespaces)
    own = {n: set(ips) for n, ips in (node_ips or {}).items()}
    if src_pod is not None and not (dst_pod is None and dst_ip in own.get(src_pod.node, ())):
        if not _direction_allows(src_pod, EGRESS, dst_ip, dst_pod, dst_pod, port, protocol, policies, ns_labels):
            return False
    if dst_pod is not None and not (src_pod is None and src_ip in own.get(dst_pod.node, ())):
        if not _direction_allows(dst_pod, INGRESS, src_ip, src_pod, dst_pod, port, protocol, policies, ns_labels):
            return False
    return True
