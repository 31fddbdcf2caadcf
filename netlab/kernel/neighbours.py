"""Neighbour (ARP) hygiene for pods that come and go, so a new pod is reachable at once.

When a pod is deleted, its node's cni0 and the pods beside it may hold a neighbour entry for its
address in state REACHABLE, which the kernel trusts without asking for base_reachable_time (15-45 s).
If a new pod gets that address, traffic goes to the old, vanished MAC until the entry ages. The
gratuitous ARP that `arp_notify` sends when eth0 comes up does not fix it: it leaves before the bridge
has made the new port forwarding (the port follows the veth's carrier), so the bridge drops it.

So, as real CNIs do:
- on delete, the deleted pods' addresses are removed from the neighbour tables that can hold them
  (cni0 in the node's namespace, eth0 in each pod on the same node; other nodes and the host reach the
  pod through its node, so they hold no entry for it);
- after a new pod's port is attached and forwarding, the pod announces itself with a gratuitous ARP
  (sender = target = its address), which the kernel applies to an existing entry even within
  `locktime`, repairing any entry made between the delete and the create.
"""

from __future__ import annotations

import errno
import socket
import struct
import time
from collections.abc import Iterable

from netlab.compile import names
from netlab.compile.topology import PodNet, Topology
from netlab.kernel import netlink as nl
from netlab.kernel import netns as nsmod

BR_STATE_FORWARDING = 3
ETH_P_ARP = 0x0806
PORT_WAIT_SECONDS = 2.0


def forget(topo: Topology, gone: Iterable[tuple[str, str]]) -> list[str]:
    """Remove neighbour entries for deleted pods' (node, ip) from their node and its remaining pods."""
    by_node: dict[str, set[str]] = {}
    for node, ip in gone:
        by_node.setdefault(node, set()).add(ip)
    changes = []
    for node_name, ips in by_node.items():
        try:
            node = topo.node(node_name)
        except KeyError:
            continue
        removed = _delete_entries(node.netns, ips)
        for pod in topo.pods_on(node_name):
            if pod.ip not in ips:
                removed += _delete_entries(pod.netns, ips)
        if removed:
            changes.append(f"node {node_name}: {removed} neighbour entries for deleted pods removed")
    return changes


def _delete_entries(netns: str, ips: set[str]) -> int:
    if not nsmod.exists(netns):
        return 0
    removed = 0
    with nl.socket_in(netns) as ipr:
        for entry in ipr.get_neighbours(family=socket.AF_INET):
            dst = entry.get("NDA_DST")
            if dst in ips:
                with nl.tolerate(errno.ENOENT):
                    ipr.neigh("del", dst=dst, ifindex=entry["ifindex"])
                    removed += 1
    return removed


def wait_forwarding(node_ipr, veths: Iterable[str], timeout: float = PORT_WAIT_SECONDS) -> list[str]:
    """Wait until each of these cni0 ports forwards; returns the ones that did not in time."""
    waiting = set(veths)
    deadline = time.monotonic() + timeout
    while waiting:
        for msg in node_ipr.get_links(family=socket.AF_BRIDGE):
            info = msg.get("protinfo")
            if msg.get("ifname") in waiting and info is not None and info.get("state") == BR_STATE_FORWARDING:
                waiting.discard(msg.get("ifname"))
        if not waiting or time.monotonic() > deadline:
            break
        time.sleep(0.002)
    return sorted(waiting)


def announce(pod: PodNet, mac: str) -> None:
    """Send one gratuitous ARP request from the pod's eth0 (RFC 5227 announcement shape)."""
    hw = bytes.fromhex(mac.replace(":", ""))
    ip = socket.inet_aton(pod.ip)
    frame = (b"\xff" * 6 + hw + struct.pack("!H", ETH_P_ARP)
             + struct.pack("!HHBBH", 1, 0x0800, 6, 4, 1) + hw + ip + b"\x00" * 6 + ip)
    with nsmod.entered(pod.netns):
        sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ARP))
    try:
        sock.bind((names.POD_IFACE, 0))
        sock.send(frame)
    finally:
        sock.close()


def advertise6(netns: str, ifname: str, address: str) -> None:
    """Send one unsolicited Neighbour Advertisement (RFC 4861 §7.2.6: Override set, to all-nodes) for an
    IPv6 address the interface has just taken, so neighbours that cached another node's MAC for it (a
    LoadBalancer IP whose announcing node changed) switch at once instead of when their entry ages."""
    with nl.socket_in(netns) as ipr:
        (link,) = ipr.get_links(ifname=ifname)
        index, mac = link["index"], link.get_attr("IFLA_ADDRESS")
    hw = bytes.fromhex(mac.replace(":", ""))
    # type 136, code 0, checksum (the kernel fills it in), flags O, target, option 2 (target link-layer address)
    packet = (struct.pack("!BBHI", 136, 0, 0, 0x20000000) + socket.inet_pton(socket.AF_INET6, address)
              + struct.pack("!BB", 2, 1) + hw)
    with nsmod.entered(netns):
        sock = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
    try:
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, 255)   # ND requires hop limit 255
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, index)
        sock.bind((address, 0, 0, index))
        sock.sendto(packet, ("ff02::1", 0, 0, index))
    finally:
        sock.close()
