"""Where `netlab capture` listens: the hops of the path `trace` computes, and the tcpdump filter. Pure.

The hops are the client pod's eth0, its node's cni0, the underlay (the sending node's uplink, or the
receiving node's for a client outside the pod network), the receiving node's cni0 and each candidate
endpoint pod's eth0 (the DNAT picks one per connection, so all are watched).
"""

from __future__ import annotations

from dataclasses import dataclass

from netlab.compile import names
from netlab.compile.topology import Topology
from netlab.trace.result import Plan

VXLAN_PORT = 8472


@dataclass(frozen=True)
class Hop:
    label: str  # "default/web eth0", "netlab-worker cni0", "netlab-worker eth0 (underlay)"
    netns: str | None
    iface: str
    underlay: bool = False


def hops(plan: Plan, topology: Topology) -> list[Hop]:
    pods = {f"{p.namespace}/{p.name}": p for p in topology.pods}
    nodes = {n.name: n for n in topology.nodes}
    src = plan.source
    out: list[Hop] = []

    def node_hop(node: str | None, iface: str) -> None:
        if node not in nodes:
            return
        label = f"{node} {iface}" + (" (underlay)" if iface == names.NODE_UPLINK else "")
        hop = Hop(label, nodes[node].netns, iface, iface == names.NODE_UPLINK)
        if hop not in out:
            out.append(hop)

    if src.kind == "pod" and src.name in pods:
        out.append(Hop(f"{src.name} {names.POD_IFACE}", pods[src.name].netns, names.POD_IFACE))
        node_hop(src.node, names.NODE_BRIDGE)
    for c in plan.candidates:
        if c.node not in nodes:
            continue
        if c.node != src.node:
            node_hop(src.node if src.kind == "pod" and src.node in nodes else c.node, names.NODE_UPLINK)
        node_hop(c.node, names.NODE_BRIDGE)
        if c.pod in pods:
            hop = Hop(f"{c.pod} {names.POD_IFACE}", pods[c.pod].netns, names.POD_IFACE)
            if hop not in out:
                out.append(hop)
    return out


def bpf(plan: Plan, topology: Topology, proto: str, underlay: bool) -> str:
    """The flow at any hop: its ports before and after DNAT, from the client or a node (SNAT); on the
    underlay VXLAN frames too (their inner headers are not filtered)."""
    ports = sorted({plan.dport, *(c.port for c in plan.candidates)})
    hosts = sorted({plan.source.ip, *(n.underlay_ip for n in topology.nodes), *(n.gateway for n in topology.nodes)})
    flow = (f"{proto} and ({' or '.join(f'port {p}' for p in ports)}) "
            f"and ({' or '.join(f'host {h}' for h in hosts)})")
    return f"({flow}) or (udp port {VXLAN_PORT})" if underlay and topology.mode == "vxlan" else flow
