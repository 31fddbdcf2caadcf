"""pcap in, one pcapng out (an interface per hop, packets in time order), and a line per packet. Pure.

tcpdump writes one classic pcap per hop; Wireshark's mergecap would merge them but lives in
wireshark-common (a large package for one call), and the two block types needed here (interface
description, enhanced packet) are a few struct calls, so the merge is done here.
"""

from __future__ import annotations

import socket
import struct
from dataclasses import dataclass

LINKTYPE_ETHERNET = 1
VXLAN_PORTS = (8472, 4789)
_PROTOS = {6: "TCP", 17: "UDP", 1: "ICMP"}
_FLAGS = ((0x02, "S"), (0x01, "F"), (0x04, "R"), (0x08, "P"), (0x10, "."))


@dataclass(frozen=True)
class Record:
    ts_ns: int
    data: bytes
    length: int  # on the wire


def read_pcap(blob: bytes) -> tuple[int, list[Record]]:
    """(link type, records) of a classic pcap file (micro- or nanosecond, either byte order)."""
    if len(blob) < 24:
        return LINKTYPE_ETHERNET, []
    magic = blob[:4]
    order, nano = {b"\xd4\xc3\xb2\xa1": ("<", False), b"\xa1\xb2\xc3\xd4": (">", False),
                   b"\x4d\x3c\xb2\xa1": ("<", True), b"\xa1\xb2\x3c\x4d": (">", True)}.get(magic, ("<", False))
    linktype = struct.unpack_from(order + "I", blob, 20)[0] & 0x0FFFFFFF
    out, i = [], 24
    while i + 16 <= len(blob):
        sec, frac, incl, orig = struct.unpack_from(order + "IIII", blob, i)
        data = blob[i + 16:i + 16 + incl]
        if len(data) < incl:
            break  # cut short by a stopped tcpdump
        out.append(Record(sec * 1_000_000_000 + frac * (1 if nano else 1000), data, orig))
        i += 16 + incl
    return linktype, out


def _block(kind: int, body: bytes) -> bytes:
    body += b"\0" * ((4 - len(body) % 4) % 4)
    return struct.pack("<II", kind, len(body) + 12) + body + struct.pack("<I", len(body) + 12)


def _option(code: int, value: bytes) -> bytes:
    return struct.pack("<HH", code, len(value)) + value + b"\0" * ((4 - len(value) % 4) % 4)


def write_pcapng(hops: list[tuple[str, int, list[Record]]]) -> bytes:
    """One pcapng: an interface per hop (named after it), every packet in time order."""
    shb = _block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1)
                 + _option(4, b"netlab capture") + _option(0, b""))
    out = [shb]
    for name, linktype, _ in hops:
        out.append(_block(1, struct.pack("<HHI", linktype, 0, 262144) + _option(2, name.encode()[:250])
                          + _option(9, b"\x09") + _option(0, b"")))  # if_tsresol 10^-9
    merged = sorted((r.ts_ns, idx, r) for idx, (_, _, records) in enumerate(hops) for r in records)
    for ts, idx, r in merged:
        out.append(_block(6, struct.pack("<IIIII", idx, ts >> 32, ts & 0xFFFFFFFF, len(r.data), r.length) + r.data))
    return b"".join(out)


@dataclass(frozen=True)
class Summary:
    src: str
    dst: str
    proto: str
    text: str  # "10.244.1.2:40000 > 10.96.0.20:80 TCP [S]"


def summarize(data: bytes, linktype: int = LINKTYPE_ETHERNET) -> Summary | None:
    """The addresses of one captured frame; a VXLAN frame as `VXLAN <outer> | <inner>`."""
    if linktype != LINKTYPE_ETHERNET or len(data) < 14 or data[12:14] != b"\x08\x00":
        return None
    return _ip(data[14:])


def _ip(p: bytes) -> Summary | None:
    if len(p) < 20 or p[0] >> 4 != 4:
        return None
    ihl, proto = (p[0] & 0x0F) * 4, p[9]
    src, dst = socket.inet_ntoa(p[12:16]), socket.inet_ntoa(p[16:20])
    l4, name = p[ihl:], _PROTOS.get(proto, str(proto))
    if proto in (6, 17) and len(l4) >= 4:
        sport, dport = struct.unpack("!HH", l4[:4])
        if proto == 17 and dport in VXLAN_PORTS and len(l4) >= 16:
            inner = summarize(l4[16:])
            if inner is not None:
                return Summary(inner.src, inner.dst, inner.proto, f"VXLAN {src} > {dst} | {inner.text}")
        flags = ""
        if proto == 6 and len(l4) >= 14:
            flags = " [" + "".join(f for bit, f in _FLAGS if l4[13] & bit) + "]"
        return Summary(f"{src}:{sport}", f"{dst}:{dport}", name, f"{src}:{sport} > {dst}:{dport} {name}{flags}")
    return Summary(src, dst, name, f"{src} > {dst} {name}")
