"""Small idempotent netlink steps over pyroute2, each run inside one namespace."""

from __future__ import annotations

import contextlib
import errno
import os
from collections.abc import Iterator
from dataclasses import dataclass

from pyroute2 import IPRoute
from pyroute2.netlink.exceptions import NetlinkError

from netlab.kernel import netns as nsmod

RTNH_F_ONLINK = 4
NUD_PERMANENT = 0x80
NTF_SELF = 0x02
AF_INET6 = 10
# IPv6 addresses are added without Duplicate Address Detection: every address is netlab's own, unique by
# construction, and DAD would keep a fresh pod's address "tentative" (unusable) for about a second.
IFA_F_NODAD = 0x02


@contextlib.contextmanager
def socket_in(netns: str | None) -> Iterator[IPRoute]:
    """A netlink socket bound to `netns` (opened after setns, so no helper process is forked)."""
    with nsmod.entered(netns):
        ipr = IPRoute()
    try:
        yield ipr
    finally:
        ipr.close()


@dataclass
class Link:
    index: int
    name: str
    alias: str | None
    master: int | None
    up: bool
    kind: str | None


def links(ipr: IPRoute) -> dict[str, Link]:
    out = {}
    for msg in ipr.get_links():
        info = msg.get("linkinfo")
        kind = info.get("kind") if info is not None else None
        out[msg.get("ifname")] = Link(
            index=msg["index"],
            name=msg.get("ifname"),
            alias=msg.get("ifalias"),
            master=msg.get("master"),
            up=bool(msg["flags"] & 1),
            kind=kind,
        )
    return out


def addresses(ipr: IPRoute, index: int) -> set[tuple[str, int]]:
    """(address, prefixlen) of one link, both families."""
    return {(a.get("address"), a["prefixlen"]) for a in ipr.get_addr(index=index)}


def add_address(ipr: IPRoute, index: int, address: str, prefixlen: int) -> None:
    flags = {"flags": IFA_F_NODAD} if ":" in address else {}
    ipr.addr("add", index=index, address=address, prefixlen=prefixlen, **flags)


def tolerate(*codes: int):
    return _Tolerate(codes)


class _Tolerate(contextlib.AbstractContextManager):
    def __init__(self, codes: tuple[int, ...]):
        self.codes = codes

    def __exit__(self, exc_type, exc, tb):
        return isinstance(exc, NetlinkError) and exc.code in self.codes


def ensure_address(ipr: IPRoute, index: int, address: str, prefixlen: int) -> bool:
    if (address, prefixlen) in addresses(ipr, index):
        return False
    with tolerate(errno.EEXIST):
        add_address(ipr, index, address, prefixlen)
    return True


def ensure_up(ipr: IPRoute, link: Link) -> bool:
    if link.up:
        return False
    ipr.link("set", index=link.index, state="up")
    return True


def ensure_mac(ipr: IPRoute, index: int, mac: str) -> bool:
    if ipr.link("get", index=index)[0].get("address") == mac:
        return False
    ipr.link("set", index=index, address=mac)
    return True


def set_alias(ipr: IPRoute, index: int, alias: str) -> None:
    ipr.link("set", index=index, ifalias=alias)


def routes(ipr: IPRoute, ipv6: bool = False) -> set[tuple[str, str | None, int | None]]:
    """(dst/len, gateway, oif) of main-table IPv4 routes (and IPv6 ones with ipv6; "::/0" is their default)."""
    out = set()
    for family, default in ((2, "default"), (AF_INET6, "::/0")) if ipv6 else ((2, "default"),):
        for r in ipr.get_routes(family=family, table=254):
            dst = r.get("dst")
            out.add((f"{dst}/{r['dst_len']}" if dst else default, r.get("gateway"), r.get("oif")))
    return out


def ensure_route(ipr: IPRoute, have: set, dst: str, via: str | None, oif: int, onlink: bool = False) -> bool:
    if (dst, via, oif) in have:
        return False
    kwargs: dict = {"dst": dst, "oif": oif}
    if ":" in dst:
        kwargs["family"] = AF_INET6
    if via is None:
        kwargs["scope"] = 253  # link
    else:
        kwargs["gateway"] = via
    if onlink:
        kwargs["flags"] = RTNH_F_ONLINK
    ipr.route("replace", **kwargs)
    return True


def ensure_neigh(ipr: IPRoute, index: int, ip: str, mac: str) -> None:
    ipr.neigh("replace", dst=ip, lladdr=mac, ifindex=index, state=NUD_PERMANENT)


def ensure_fdb(ipr: IPRoute, index: int, mac: str, dst: str) -> None:
    ipr.fdb("replace", ifindex=index, lladdr=mac, dst=dst, state=NUD_PERMANENT, flags=NTF_SELF)


def index_of(ipr: IPRoute, name: str) -> int:
    """One RTM_GETLINK by name (link_lookup dumps every link of the namespace to filter them)."""
    return ipr.link("get", ifname=name)[0]["index"]


def delete_link(ipr: IPRoute, name: str) -> bool:
    found = ipr.link_lookup(ifname=name)
    if not found:
        return False
    with tolerate(errno.ENODEV, errno.ENOENT):
        ipr.link("del", index=found[0])
    return True


def open_netns_fd(name: str) -> int:
    return os.open(nsmod.netns_path(name), os.O_RDONLY)

