"""Read link names and aliases with bare RTM_GETLINK requests (no pyroute2).

`down` reads the marker on `lo` in every namespace of the machine and lists the host's links;
a pyroute2 socket per namespace costs milliseconds and its import 150 ms, this costs microseconds.
"""

from __future__ import annotations

import socket
import struct

from netlab.kernel import netns as nsmod

RTM_NEWLINK, RTM_GETLINK = 16, 18
NLM_F_REQUEST, NLM_F_DUMP = 0x1, 0x300
NLMSG_ERROR, NLMSG_DONE = 2, 3
IFLA_IFNAME, IFLA_IFALIAS = 3, 20
_HDR = struct.Struct("=IHHII")
_IFINFO = struct.Struct("=BxHiII")


def _attrs(data: bytes, offset: int, end: int) -> dict[int, bytes]:
    out = {}
    while offset + 4 <= end:
        length, kind = struct.unpack_from("=HH", data, offset)
        if length < 4:
            break
        out[kind] = data[offset + 4:offset + length]
        offset += (length + 3) & ~3
    return out


def _text(raw: bytes | None) -> str | None:
    return raw.rstrip(b"\0").decode(errors="replace") if raw is not None else None


def _request(netns: str | None, index: int, dump: bool) -> list[tuple[int, str | None, str | None]]:
    with nsmod.entered(netns):
        sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
    links = []
    with sock:
        flags = NLM_F_REQUEST | (NLM_F_DUMP if dump else 0)
        body = _IFINFO.pack(0, 0, 0 if dump else index, 0, 0)
        sock.send(_HDR.pack(_HDR.size + len(body), RTM_GETLINK, flags, 1, 0) + body)
        while True:
            data = sock.recv(1 << 16)
            offset = 0
            while offset + _HDR.size <= len(data):
                length, kind, _flags, _seq, _pid = _HDR.unpack_from(data, offset)
                if kind in (NLMSG_DONE, NLMSG_ERROR) or length < _HDR.size:
                    return links
                if kind == RTM_NEWLINK:
                    _fam, _type, ifindex, _f, _c = _IFINFO.unpack_from(data, offset + _HDR.size)
                    attrs = _attrs(data, offset + _HDR.size + _IFINFO.size, offset + length)
                    links.append((ifindex, _text(attrs.get(IFLA_IFNAME)), _text(attrs.get(IFLA_IFALIAS))))
                offset += (length + 3) & ~3
            if not dump:
                return links


def link_alias(netns: str | None, index: int = 1) -> str | None:
    found = _request(netns, index, dump=False)
    return found[0][2] if found else None


def link_aliases(netns: str | None) -> dict[str, str | None]:
    """name -> alias of every link in the namespace."""
    return {name: alias for _index, name, alias in _request(netns, 0, dump=True) if name}
