"""hostPort DNAT in a node's `inet netlab` table, as the portmap CNI plugin does it. Pure.

Chains of their own, hooked before the service proxy's (dstnat - 5, and -105 for the node's own
traffic), so a hostPort works whatever the services do:

    hostport-prerouting / hostport-output -> hostports:
        ip daddr . meta l4proto . th dport vmap @hostport-dispatch
    hostport-<hash8>-<ns>/<pod>/<proto>/<hostIP|any>/<port>:
        ip saddr <this node's pod CIDR> jump mark-for-masquerade   (hairpin: a pod of this node)
        meta l4proto tcp dnat ip to <podIP>:<containerPort>

A hostPort without hostIP answers on the node's underlay address and its cni0 gateway address. Traffic
from this node's pods is masqueraded (the CNI plugin's hairpin SNAT): the reply of a pod on the same
bridge would otherwise go straight back to the client, past the conntrack entry that undoes the DNAT.
The tables only get these chains on nodes that have hostPorts.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, MutableMapping

from netlab.compile import names
from netlab.compile.hostports import HostPortMapping, mappings
from netlab.compile.nftables import Chain, Ruleset, SetOrMap
from netlab.compile.topology import NodeNet, Topology
from netlab.compile.workloads import PlacedPod

PREROUTING_HOOK = "type nat hook prerouting priority dstnat - 5; policy accept;"
OUTPUT_HOOK = "type nat hook output priority -105; policy accept;"


def hostport_chain(m: HostPortMapping) -> str:
    return names.nft_hostport_chain(m.pod_key, m.protocol, m.host_ip, m.host_port)


def _ipv4(ip: str) -> bool:
    try:
        return ipaddress.ip_address(ip).version == 4
    except ValueError:
        return False


def hostports_ruleset(node: NodeNet, maps: Iterable[HostPortMapping]) -> Ruleset:
    """The node's hostPort chains; an empty Ruleset when it has no hostPorts."""
    ruleset = Ruleset()
    maps = [m for m in maps if _ipv4(m.pod_ip) and (not m.host_ip or _ipv4(m.host_ip))]
    if not maps:
        return ruleset
    elements = set()
    for m in sorted(maps):
        chain = hostport_chain(m)
        proto = m.protocol.lower()
        ruleset.add_chain(Chain(chain, (
            f"ip saddr {node.pod_cidr} jump {names.CHAIN_MARK_FOR_MASQUERADE}",
            f"meta l4proto {proto} dnat ip to {m.pod_ip}:{m.container_port}",
        ), notes=(f"{m.pod_key} hostPort hairpin", f"{m.pod_key} hostPort {m.host_port}/{m.protocol}")))
        for ip in [m.host_ip] if m.host_ip else [node.underlay_ip, node.gateway]:
            elements.add(f"{ip} . {proto} . {m.host_port} : goto {chain}")
    ruleset.add_set(SetOrMap(names.SET_HOSTPORTS, "type ipv4_addr . inet_proto . inet_service : verdict;",
                             frozenset(elements), comment="hostPort dispatch (portmap)"))
    ruleset.add_chain(Chain(names.CHAIN_HOSTPORTS, (
        f"ip daddr . meta l4proto . th dport vmap @{names.SET_HOSTPORTS}",)))
    ruleset.add_chain(Chain(names.CHAIN_HOSTPORT_PREROUTING, (f"jump {names.CHAIN_HOSTPORTS}",), PREROUTING_HOOK))
    ruleset.add_chain(Chain(names.CHAIN_HOSTPORT_OUTPUT, (f"jump {names.CHAIN_HOSTPORTS}",), OUTPUT_HOOK))
    return ruleset


def add_hostports(rulesets: MutableMapping[str, Ruleset], topology: Topology, pods: Iterable[PlacedPod]) -> None:
    """Merge each node's hostPort chains into its table (rulesets: node name -> table)."""
    by_node: dict[str, list[HostPortMapping]] = {}
    for p in pods:
        if p.ip:   # hostPort maps IPv4 only (an IPv6-only cluster's pods have none)
            by_node.setdefault(p.node, []).extend(mappings(p.key, p.ip, p.spec))
    for node in topology.nodes:
        if by_node.get(node.name) and node.name in rulesets:
            rulesets[node.name].merge(hostports_ruleset(node, by_node[node.name]))
