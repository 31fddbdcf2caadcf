"""Pod addresses from each node's pod CIDR, handed out the way the host-local CNI plugin does.

host-local remembers the last address it reserved in a range and gives out the next free one after
it, wrapping round at the end. A freed address is therefore not handed out again until the whole
range has been used once. Reusing it at once is what makes churn dangerous: the node's cni0 and the
pods beside it may still hold a REACHABLE neighbour entry for the address, pointing at the deleted
pod's MAC, and send the new pod's traffic into the void for up to base_reachable_time (15-45 s).
Rotation makes that rare; the kernel layer makes it harmless (see netlab.kernel.neighbours).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from netlab.compile.topology import NodeNet

# The key of a node's IPv6 cursor in the saved cursors (node name + this); the IPv4 one is the node name.
CURSOR6 = "/IPv6"


class NodeRange:
    """The free addresses of one node's pod CIDR, with host-local's last-reserved cursor."""

    def __init__(self, node: NodeNet, used: Iterable[str], last_reserved: str | None,
                 cidr: str = "", gateway: str = "") -> None:
        """cidr and gateway: another family's range of the node (see ipv6()); the IPv4 one by default."""
        net = ipaddress.ip_network(cidr or node.pod_cidr)
        self.node = node.name
        self._address = type(net.network_address)   # int -> address in the range's family
        self._first = int(net.network_address) + 1
        self._last = int(net.broadcast_address) - 1
        self._used = {int(ipaddress.ip_address(ip)) for ip in used} | {
            int(ipaddress.ip_address(gateway or node.gateway))}
        self._used = {ip for ip in self._used if self._first <= ip <= self._last}
        self.free = self._last - self._first + 1 - len(self._used)
        cursor = int(ipaddress.ip_address(last_reserved)) if last_reserved else 0
        # A cursor outside the range (first allocation, or a changed plan) starts before its first address.
        self._cursor = cursor if self._first <= cursor <= self._last else self._first - 1

    @classmethod
    def ipv6(cls, node: NodeNet, last_reserved: str | None) -> NodeRange:
        """The node's IPv6 pod range (a /64: host-local's rotation never runs out in practice)."""
        return cls(node, (), last_reserved, node.pod_cidr6, node.gateway6)

    @property
    def size(self) -> int:
        return self._last - self._first + 1

    @property
    def last_reserved(self) -> str | None:
        return str(self._address(self._cursor)) if self._cursor >= self._first else None

    def take(self) -> str | None:
        """The next free address after the last one reserved, wrapping round; None when the range is full."""
        if self.free <= 0:
            return None
        candidate = self._cursor
        while True:
            candidate = candidate + 1 if candidate < self._last else self._first
            if candidate not in self._used:
                break
        self._used.add(candidate)
        self._cursor = candidate
        self.free -= 1
        return str(self._address(candidate))

    def hold(self, ip: str) -> None:
        """Mark an address that a running pod keeps as used (it does not move the cursor)."""
        value = int(ipaddress.ip_address(ip))
        if self._first <= value <= self._last and value not in self._used:
            self._used.add(value)
            self.free -= 1
