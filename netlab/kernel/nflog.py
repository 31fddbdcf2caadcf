"""Read nftables `log group N` messages (NFLOG over nfnetlink) from a network namespace.

pyroute2 0.9 speaks ctnetlink and nftables but not nfnetlink_log, and the PyPI NFLOG bindings are
either unmaintained or need libnetfilter_log; the protocol is small (one config request, then one
message per logged packet), so it is spoken here with a raw netlink socket. Each message carries the
rule's prefix and the first bytes of the packet (and, with NFULNL_CFG_F_CONNTRACK, the conntrack entry:
`NflogSocket(..., conntrack=True)`; the observer does not need it, and the kernel then builds less per
logged packet). The kernel batches messages: it sends them when BATCH are queued or after FLUSH_CS
hundredths of a second, so a burst of new connections costs a few socket wake-ups instead of one each.
"""

from __future__ import annotations

import errno
import socket
import struct
from dataclasses import dataclass

from netlab.kernel import netns as nsmod

NETLINK_NETFILTER = 12
_SUBSYS_ULOG = 4
_MSG_PACKET, _MSG_CONFIG = 0, 1
_NLM_F_REQUEST, _NLM_F_ACK = 0x1, 0x4
_NLMSG_ERROR, _NLMSG_DONE = 2, 3
_CFG_CMD, _CFG_MODE, _CFG_TIMEOUT, _CFG_QTHRESH, _CFG_FLAGS = 1, 2, 4, 5, 6
_CMD_BIND, _CMD_UNBIND = 1, 2
_COPY_PACKET = 2
_F_CONNTRACK = 0x4  # NFULNL_CFG_F_CONNTRACK (0x1 SEQ, 0x2 SEQ_GLOBAL)
_ATTR_MARK, _ATTR_INDEV, _ATTR_OUTDEV, _ATTR_PAYLOAD, _ATTR_PREFIX, _ATTR_CT = 2, 4, 5, 9, 10, 18
_NLA_TYPE_MASK = 0x3FFF
_SO_RCVBUFFORCE = 33  # asm-generic/socket.h; not exported by Python's socket module
COPY_RANGE = 96  # IPv4 (or IPv6) + TCP headers with options: addresses, ports and flags
BATCH = 32  # NFLOG messages the kernel queues before it sends them (NFULA_CFG_QTHRESH)
FLUSH_CS = 1  # ... or this many 1/100 s after the first one (NFULA_CFG_TIMEOUT): 10 ms
_CTA_TIMESTAMP = 20  # nested: CTA_TIMESTAMP_START 1, _STOP 2 (ns since the epoch, with nf_conntrack_timestamp)


class NflogError(OSError):
    pass


@dataclass(frozen=True)
class CtTuple:
    src: str
    dst: str
    proto: int
    sport: int
    dport: int


@dataclass(frozen=True)
class CtInfo:
    """A conntrack entry as ctnetlink describes it (in an NFLOG record or a conntrack event)."""

    orig: CtTuple | None
    reply: CtTuple | None
    status: int  # IPS_* bits: 0x10 SRC_NAT, 0x20 DST_NAT (done so far)
    tcp_state: int | None
    id: int = 0
    counters: tuple[int, int, int, int] | None = None  # packets, bytes original; packets, bytes reply (acct on)
    started: float | None = None  # when the entry was made, seconds since the epoch (timestamps on)


@dataclass(frozen=True)
class NflogRecord:
    prefix: str
    payload: bytes  # the packet from its IP header, at most COPY_RANGE bytes
    mark: int
    indev: int
    outdev: int
    ct: CtInfo | None


def _big_buffer(sock: socket.socket, size: int = 8 << 20) -> None:
    """A receive buffer for bursts of events; SO_RCVBUFFORCE (root) passes net.core.rmem_max."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, _SO_RCVBUFFORCE, size)
    except OSError:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, size)


def _attr(kind: int, data: bytes) -> bytes:
    length = 4 + len(data)
    return struct.pack("=HH", length, kind) + data + b"\0" * ((4 - length % 4) % 4)


def _config(group: int, seq: int, *attrs: bytes) -> bytes:
    body = struct.pack("=BBH", socket.AF_UNSPEC, 0, socket.htons(group)) + b"".join(attrs)
    return struct.pack("=IHHII", 16 + len(body), (_SUBSYS_ULOG << 8) | _MSG_CONFIG,
                       _NLM_F_REQUEST | _NLM_F_ACK, seq, 0) + body


def attrs(data: bytes) -> dict[int, bytes]:
    """Netlink attributes (type with the nested/byte-order flags masked off -> payload)."""
    out: dict[int, bytes] = {}
    i = 0
    while i + 4 <= len(data):
        length, kind = struct.unpack_from("=HH", data, i)
        if length < 4:
            break
        out[kind & _NLA_TYPE_MASK] = data[i + 4:i + length]
        i += (length + 3) & ~3
    return out


def _tuple(data: bytes) -> CtTuple | None:
    a = attrs(data)
    ip, proto = attrs(a.get(1, b"")), attrs(a.get(2, b""))
    if 1 not in proto:
        return None
    if 1 in ip and 2 in ip:   # CTA_IP_V4_SRC / _DST
        src, dst = socket.inet_ntoa(ip[1]), socket.inet_ntoa(ip[2])
    elif 3 in ip and 4 in ip:   # CTA_IP_V6_SRC / _DST
        src, dst = socket.inet_ntop(socket.AF_INET6, ip[3]), socket.inet_ntop(socket.AF_INET6, ip[4])
    else:
        return None

    def port(key: int) -> int:
        return struct.unpack("!H", proto[key])[0] if key in proto else 0

    return CtTuple(src, dst, proto[1][0], port(2), port(3))


def _counters(a: dict[int, bytes]) -> tuple[int, int, int, int] | None:
    orig, reply = attrs(a.get(9, b"")), attrs(a.get(10, b""))  # CTA_COUNTERS_ORIG / _REPLY
    if 1 not in orig or 2 not in orig:
        return None
    values = [struct.unpack("!Q", d.get(k, bytes(8)))[0] for d in (orig, reply) for k in (1, 2)]
    return values[0], values[1], values[2], values[3]


def parse_ct(data: bytes) -> CtInfo:
    """ctnetlink attributes: CTA_TUPLE_ORIG 1, CTA_TUPLE_REPLY 2, CTA_STATUS 3, CTA_PROTOINFO 4, CTA_ID 12."""
    a = attrs(data)
    status = struct.unpack("!I", a[3])[0] if 3 in a else 0
    tcp = attrs(attrs(a.get(4, b"")).get(1, b""))
    stamps = attrs(a.get(_CTA_TIMESTAMP, b""))
    started = struct.unpack("!Q", stamps[1])[0] / 1e9 if len(stamps.get(1, b"")) == 8 else None
    return CtInfo(_tuple(a[1]) if 1 in a else None, _tuple(a[2]) if 2 in a else None, status,
                  tcp[1][0] if 1 in tcp else None, struct.unpack("!I", a[12])[0] if 12 in a else 0, _counters(a),
                  started)


def parse_packet(body: bytes) -> NflogRecord:
    """One NFULNL_MSG_PACKET's attributes (after the 4-byte nfgenmsg)."""
    a = attrs(body[4:])

    def u32(key: int) -> int:
        return struct.unpack("!I", a[key])[0] if key in a else 0

    prefix = a.get(_ATTR_PREFIX, b"").split(b"\0", 1)[0].decode(errors="replace")
    ct = parse_ct(a[_ATTR_CT]) if _ATTR_CT in a else None
    return NflogRecord(prefix, a.get(_ATTR_PAYLOAD, b""), u32(_ATTR_MARK), u32(_ATTR_INDEV), u32(_ATTR_OUTDEV), ct)


class NflogSocket:
    """A bound NFLOG group in one namespace: `records()` yields what the kernel sent since the last call."""

    def __init__(self, netns: str | None, group: int, conntrack: bool = False) -> None:
        self.netns, self.group = netns, group
        with nsmod.entered(netns):  # a netlink socket belongs to the namespace it was made in
            self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
        _big_buffer(self.sock)
        self.sock.bind((0, 0))
        self._seq = 0
        self.lost = 0  # messages the kernel could not queue for us (ENOBUFS)
        try:
            self._request(struct.pack("=B", _CMD_BIND), _CFG_CMD)
            self._request(struct.pack("!IBB", COPY_RANGE, _COPY_PACKET, 0), _CFG_MODE)
            self._request(struct.pack("!I", BATCH), _CFG_QTHRESH)
            self._request(struct.pack("!I", FLUSH_CS), _CFG_TIMEOUT)
            if conntrack:
                try:
                    self._request(struct.pack("!H", _F_CONNTRACK), _CFG_FLAGS)
                except NflogError:
                    pass  # nf_conntrack_netlink not loaded: records come without conntrack data
        except BaseException:
            self.sock.close()
            raise

    def fileno(self) -> int:
        return self.sock.fileno()

    def _request(self, payload: bytes, kind: int) -> None:
        self._seq += 1
        self.sock.send(_config(self.group, self._seq, _attr(kind, payload)))
        while True:
            data = self.sock.recv(65536)
            for mtype, seq, body in _messages(data):
                if mtype == _NLMSG_ERROR and seq == self._seq:
                    code = -struct.unpack_from("=i", body)[0]
                    if code:
                        hint = " (another observer holds this group)" if code in (errno.EBUSY, errno.EPERM) else ""
                        raise NflogError(code, f"NFLOG group {self.group} in {self.netns or 'host'}: "
                                               f"{errno.errorcode.get(code, code)}{hint}")
                    return

    def records(self) -> list[NflogRecord]:
        out, lost = _drain(self.sock, (_SUBSYS_ULOG << 8) | _MSG_PACKET)
        self.lost += lost
        return [parse_packet(body) for _, body in out]

    def close(self) -> None:
        try:
            self._seq += 1
            self.sock.send(_config(self.group, self._seq, _attr(_CFG_CMD, struct.pack("=B", _CMD_UNBIND))))
        except OSError:
            pass
        self.sock.close()


def _drain(sock: socket.socket, *types: int) -> tuple[list[tuple[int, bytes]], int]:
    """Every queued message of these types without blocking, and how many times the queue overflowed
    (ENOBUFS: the kernel dropped messages, counted rather than hidden)."""
    out, lost = [], 0
    while True:
        try:
            data = sock.recv(1 << 20, socket.MSG_DONTWAIT)
        except BlockingIOError:
            return out, lost
        except OSError as e:
            if e.errno != errno.ENOBUFS:
                raise
            lost += 1
            continue
        out += [(mtype, body) for mtype, _seq, body in _messages(data) if mtype in types]


def _messages(data: bytes):
    i = 0
    while i + 16 <= len(data):
        length, mtype, _flags, seq, _pid = struct.unpack_from("=IHHII", data, i)
        if length < 16:
            return
        yield mtype, seq, data[i + 16:i + length]
        i += (length + 3) & ~3


_SUBSYS_CTNETLINK = 1
_CT_NEW, _CT_DELETE = 0, 2
_GROUP_NEW, _GROUP_DESTROY = 1, 3  # NFNLGRP_CONNTRACK_NEW / _DESTROY


class CtEventSocket:
    """Conntrack DESTROY (and with new=True also NEW) events of one namespace (ctnetlink multicast
    groups): `events()` gives ("NEW" | "DESTROY", CtInfo) for what happened since the last call. The
    kernel only generates them while someone listens (net.netfilter.nf_conntrack_events=2, the default),
    so leaving NEW out halves the events a connection costs; with nf_conntrack_timestamp on, DESTROY
    says when the connection started."""

    def __init__(self, netns: str | None, new: bool = False) -> None:
        self.netns = netns
        with nsmod.entered(netns):
            self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
        try:
            _big_buffer(self.sock)
            self.sock.bind((0, (1 << (_GROUP_NEW - 1)) * new | (1 << (_GROUP_DESTROY - 1))))
        except BaseException:
            self.sock.close()
            raise
        self.lost = 0

    def fileno(self) -> int:
        return self.sock.fileno()

    def events(self) -> list[tuple[str, CtInfo]]:
        kinds = {(_SUBSYS_CTNETLINK << 8) | _CT_NEW: "NEW", (_SUBSYS_CTNETLINK << 8) | _CT_DELETE: "DESTROY"}
        out, lost = _drain(self.sock, *kinds)
        self.lost += lost
        return [(kinds[mtype], parse_ct(body[4:])) for mtype, body in out]

    def close(self) -> None:
        self.sock.close()
