"""The cluster DNS server: `python -m netlab.runtime.dns --view PATH --listen 0.0.0.0 --port 53`.

One asyncio process serving UDP and TCP on the same port. Answers for the cluster zone come from
netlab.compile.dnszone; each (name, type, RD, EDNS) answer is packed once with dnslib and cached until the
view changes, so the hot path only parses the header and question by hand, patches the query ID and
echoes the question bytes (and so the client's letter case). Other names go to the upstreams (UDP,
then TCP when truncated; netlab.runtime.dnsupstream); when none answers in time the client gets
SERVFAIL, never silence.
The view file is polled (stat only) every 100 ms and the zone rebuilt when it changes; a view that
does not parse keeps the old zone. TCP connections are admitted, timed out and evicted by
netlab.runtime.dnstcp.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ipaddress
import json
import os
import random
import socket
import struct
import sys
import time
from dataclasses import dataclass

from dnslib import EDNS0, QTYPE, DNSHeader, DNSLabel, DNSQuestion, DNSRecord

from netlab.compile import dnszone as zonelib
from netlab.runtime.dnstcp import TCP_BACKLOG, TCPTransport
from netlab.runtime.dnsupstream import forward, parse_upstream

POLL_INTERVAL = 0.1
UDP_MIN = 512
UDP_MAX = 65507
EDNS_SIZE = 1232           # what we advertise back (the DNS flag day 2020 value)
CACHE_LIMIT = 200_000      # packed answers kept before the cache starts over
MAX_FORWARDS = 512         # concurrent forwarded queries; beyond it, SERVFAIL at once
FORWARD = object()         # cache marker: not our zone, forward the query
CHASE = object()           # cache marker: a CNAME out of the zone, resolve its target upstream

_HDR = struct.Struct(">HBBHHHH")
_TYPECLASS = struct.Struct(">HH")


def log(message: str) -> None:
    print(f"netlab-dns: {message}", file=sys.stderr, flush=True)


@dataclass
class Query:
    """What the hand parser extracted from a query: enough to answer without dnslib."""

    qid: bytes          # the 2 ID bytes, as received
    flags: int          # header byte 2 (QR, opcode, AA, TC, RD)
    qend: int           # offset just past the question
    name_end: int       # offset just past the question name
    qtype: int
    qclass: int
    edns: bool
    udp_limit: int
    key: bytes


class Malformed(Exception):
    pass


def parse_query(data: bytes) -> Query | None:
    """Parse header and question by hand. None means drop silently; Malformed means FORMERR."""
    n = len(data)
    if n < 12:
        return None
    _, flags, _, qd, an, ns, ar = _HDR.unpack_from(data)
    if flags & 0x80:                     # a response: never answer those (no reflection loops)
        return None
    if (flags >> 3) & 0x0F:
        raise NotImplementedError
    if qd != 1 or an or ns or ar > 1:
        raise Malformed
    pos = 12
    while True:
        if pos >= n:
            raise Malformed
        length = data[pos]
        if length == 0:
            pos += 1
            break
        if length > 63:                  # compression pointer or extended label: not in a question
            raise Malformed
        pos += length + 1
    if pos - 12 > 255 or pos + 4 > n:
        raise Malformed
    qtype, qclass = _TYPECLASS.unpack_from(data, pos)
    qend = pos + 4
    edns = False
    limit = UDP_MIN
    if ar:
        # one OPT RR: root owner, type 41, class = UDP payload size, ttl = ext-rcode/version/flags, rdata
        if qend + 11 > n or data[qend] != 0 or data[qend + 1:qend + 3] != b"\x00\x29":
            raise Malformed
        size = (data[qend + 3] << 8) | data[qend + 4]
        rdlen = (data[qend + 9] << 8) | data[qend + 10]
        if qend + 11 + rdlen > n:
            raise Malformed
        edns = True
        limit = min(max(size, UDP_MIN), UDP_MAX)
    key = data[12:pos].lower() + data[pos:qend] + bytes(((flags & 1) | (2 if edns else 0),))
    return Query(data[:2], flags, qend, pos, qtype, qclass, edns, limit, key)


def _name_of(data: bytes, end: int) -> DNSLabel:
    labels = []
    pos = 12
    while pos < end - 1:
        length = data[pos]
        labels.append(data[pos + 1:pos + 1 + length].lower())
        pos += length + 1
    return DNSLabel(labels)


def _zone_name(label: DNSLabel) -> str:
    """The zone's text form of a wire name; a label containing a dot cannot match any record."""
    return ".".join(x.decode("latin-1").replace(".", "\\046") for x in label.label)


def error_reply(data: bytes, rcode: int, q: Query | None = None) -> bytes:
    """A header-only (plus question, when it parsed) error reply built by hand."""
    flags = (data[2] & 0x79) | 0x80 if len(data) > 2 else 0x80     # keep opcode and RD, set QR
    byte3 = 0x80 | (rcode & 0x0F)                                    # RA + rcode
    if q is None:
        return data[:2] + bytes((flags, byte3)) + b"\x00" * 8
    return data[:2] + bytes((flags, byte3)) + b"\x00\x01\x00\x00\x00\x00\x00\x00" + data[12:q.qend]


def truncated_reply(data: bytes, q: Query) -> bytes:
    """TC set, question only (and OPT when the client used EDNS): retry over TCP."""
    flags = (data[2] & 0x79) | 0x82
    opt = b"\x00\x00\x29" + struct.pack(">H", EDNS_SIZE) + b"\x00\x00\x00\x00\x00\x00" if q.edns else b""
    return data[:2] + bytes((flags, 0x80)) + struct.pack(">HHHH", 1, 0, 0, 1 if q.edns else 0) + \
        data[12:q.qend] + opt


def pack_answer(answer: zonelib.Answer, name: DNSLabel, qtype: int, qclass: int, rd: int, edns: bool) -> bytes:
    header = DNSHeader(id=0, qr=1, aa=int(answer.authoritative), ra=1, rd=rd, rcode=answer.rcode)
    record = DNSRecord(header, q=DNSQuestion(name, qtype, qclass))
    for rr in answer.answer:
        record.add_answer(rr)
    for rr in answer.authority:
        record.add_auth(rr)
    for rr in answer.additional:
        record.add_ar(rr)
    if edns:
        record.add_ar(EDNS0(udp_len=EDNS_SIZE))
    return bytes(record.pack())


def patch(data: bytes, q: Query, packed: bytes) -> bytes:
    """The cached reply with this query's ID and question bytes (the client's letter case)."""
    return data[:2] + packed[2:12] + data[12:q.qend] + packed[q.qend:]


class DNSServer:
    """Zone state, the packed-answer cache, and the query pipeline shared by UDP and TCP."""

    def __init__(self, view_path: str, upstream_timeout: float = 1.5) -> None:
        self.view_path = view_path
        self.upstream_timeout = upstream_timeout
        self.zone = zonelib.build_zone({})
        self.upstreams: list[tuple[str, int]] = []
        self.cache: dict[bytes, object] = {}
        self.signature: tuple[int, int, int] | None = None
        self.forwards = 0
        self.tasks: set[asyncio.Task] = set()

    # -- the view --------------------------------------------------------------------------------------------
    def reload(self) -> bool:
        """Rebuild the zone when the view file changed (stat first). True when a new zone is in place."""
        try:
            st = os.stat(self.view_path)
        except OSError:
            return False
        signature = (st.st_mtime_ns, st.st_size, st.st_ino)
        if signature == self.signature:
            return False
        self.signature = signature
        started = time.monotonic()
        try:
            with open(self.view_path, encoding="utf-8") as f:
                view = json.load(f)
            if not isinstance(view, dict):
                raise ValueError("the view is not a JSON object")
            view.setdefault("serial", int(st.st_mtime))
            zone = zonelib.build_zone(view)
            upstreams = [parse_upstream(str(u)) for u in view.get("upstreams") or []]
        except Exception as e:  # a half-written or bad view: keep serving the old zone
            log(f"view {self.view_path} not loaded, keeping the previous zone: {type(e).__name__}: {e}")
            return False
        self.zone, self.upstreams, self.cache = zone, upstreams, {}
        log(f"loaded view {self.view_path}: zone {zone.domain}, {len(view.get('services') or [])} services, "
            f"{len(view.get('pods') or [])} pods, {len(zone.rrsets)} names, {len(upstreams)} upstreams, "
            f"{(time.monotonic() - started) * 1000:.1f} ms")
        return True

    async def poll(self) -> None:
        while True:
            try:
                self.reload()
            except Exception as e:  # never let the poller die
                log(f"reload failed: {type(e).__name__}: {e}")
            await asyncio.sleep(POLL_INTERVAL)

    # -- answering -------------------------------------------------------------------------------------------
    def respond(self, data: bytes, tcp: bool) -> bytes | tuple[Query, object] | None:
        """The reply bytes, None to drop, or (query, marker) when it needs upstream work."""
        q = None
        try:
            q = parse_query(data)
            if q is None:
                return None
            packed = self.cache.get(q.key)
            if packed is None:
                packed = self._build(data, q)
            if packed is FORWARD or packed is CHASE:
                return q, packed
            reply = patch(data, q, packed)  # type: ignore[arg-type]
            if len(reply) > (65535 if tcp else q.udp_limit):
                return truncated_reply(data, q)
            return reply
        except NotImplementedError:
            return error_reply(data, zonelib.NOTIMP)
        except Malformed:
            return error_reply(data, zonelib.FORMERR)
        except Exception as e:
            log(f"internal error answering a query: {type(e).__name__}: {e}")
            return error_reply(data, zonelib.SERVFAIL, q)

    def _build(self, data: bytes, q: Query) -> object:
        label = _name_of(data, q.name_end)
        name = _zone_name(label)
        zone = self.zone
        if not zone.owns(name):
            result: object = FORWARD
        elif q.qclass not in (1, 255) or q.qtype in (251, 252):   # only IN; no zone transfers
            result = pack_answer(zonelib.Answer(zonelib.REFUSED), label, q.qtype, q.qclass, q.flags & 1, q.edns)
        else:
            answer = zone.lookup(name, q.qtype)
            if answer.rcode == zonelib.NOERROR and answer.cname_target and q.qtype not in (QTYPE.CNAME, 255):
                result = CHASE
            else:
                result = pack_answer(answer, label, q.qtype, q.qclass, q.flags & 1, q.edns)
        if len(self.cache) >= CACHE_LIMIT:
            self.cache = {}
        self.cache[q.key] = result
        return result

    async def resolve_slow(self, data: bytes, q: Query, marker: object, tcp: bool) -> bytes:
        """Forwarding and CNAME chasing; always returns a reply (SERVFAIL when upstreams fail)."""
        if self.forwards >= MAX_FORWARDS:
            return error_reply(data, zonelib.SERVFAIL, q)
        self.forwards += 1
        try:
            if marker is FORWARD:
                reply = await self.forward(data)
                if reply is None:
                    return error_reply(data, zonelib.SERVFAIL, q)
                reply = data[:2] + reply[2:]
            else:
                reply = await self.chase(data, q)
            if not tcp and len(reply) > q.udp_limit:
                return truncated_reply(data, q)
            return reply
        except Exception as e:
            log(f"internal error forwarding a query: {type(e).__name__}: {e}")
            return error_reply(data, zonelib.SERVFAIL, q)
        finally:
            self.forwards -= 1

    async def chase(self, data: bytes, q: Query) -> bytes:
        """An ExternalName CNAME: append the target's records from upstream (NOERROR with the CNAME alone
        when upstream cannot resolve it)."""
        label = _name_of(data, q.name_end)
        answer = self.zone.lookup(_zone_name(label), q.qtype)
        target = answer.cname_target
        if target and self.upstreams:
            sub = DNSRecord(DNSHeader(id=random.getrandbits(16), rd=1), q=DNSQuestion(target, q.qtype))
            raw = await self.forward(bytes(sub.pack()))
            answer = zonelib.complete_cname(answer, None if raw is None else DNSRecord.parse(raw))
        packed = pack_answer(answer, label, q.qtype, q.qclass, q.flags & 1, q.edns)
        return patch(data, q, packed)

    async def forward(self, data: bytes) -> bytes | None:
        """The upstreams' reply to `data` (netlab.runtime.dnsupstream), None when none answers in time."""
        return await forward(data, self.upstreams, self.upstream_timeout)


class UDPProtocol(asyncio.DatagramProtocol):
    def __init__(self, server: DNSServer) -> None:
        self.server = server
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple) -> None:
        try:
            reply = self.server.respond(data, tcp=False)
            if reply is None:
                return
            if isinstance(reply, tuple):
                task = asyncio.get_running_loop().create_task(self._slow(data, reply[0], reply[1], addr))
                self.server.tasks.add(task)
                task.add_done_callback(self.server.tasks.discard)
                return
            self.transport.sendto(reply, addr)  # type: ignore[union-attr]
        except Exception as e:
            log(f"internal error on UDP: {type(e).__name__}: {e}")

    async def _slow(self, data: bytes, q: Query, marker: object, addr: tuple) -> None:
        reply = await self.server.resolve_slow(data, q, marker, tcp=False)
        with contextlib.suppress(Exception):
            self.transport.sendto(reply, addr)  # type: ignore[union-attr]

    def error_received(self, exc: Exception) -> None:  # ICMP errors from earlier sends: nothing to do
        pass


async def serve(view: str, listen: str, port: int, upstream_timeout: float = 1.5,
                ready: asyncio.Event | None = None, stop: asyncio.Event | None = None) -> None:
    """Serve until cancelled (or until `stop` is set). `ready` is set once both sockets listen."""
    server = DNSServer(view, upstream_timeout)
    server.reload()
    loop = asyncio.get_running_loop()
    family = socket.AF_INET6 if ipaddress.ip_address(listen).version == 6 else socket.AF_INET
    transport, _ = await loop.create_datagram_endpoint(lambda: UDPProtocol(server), local_addr=(listen, port),
                                                       family=family, reuse_port=False)
    tcp = await asyncio.start_server(TCPTransport(server).handle, host=listen, port=port, family=family,
                                     reuse_address=True, backlog=TCP_BACKLOG)
    poller = loop.create_task(server.poll())
    log(f"serving DNS on {listen}:{port} (udp, tcp), view {view}")
    if ready is not None:
        ready.set()
    try:
        if stop is None:
            await asyncio.Future()
        else:
            await stop.wait()
    finally:
        poller.cancel()
        transport.close()
        tcp.close()
        for task in list(server.tasks):
            task.cancel()
        with contextlib.suppress(Exception):
            await asyncio.gather(poller, *server.tasks, return_exceptions=True)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(tcp.wait_closed(), 1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m netlab.runtime.dns", description="netlab cluster DNS server")
    parser.add_argument("--view", required=True, help="cluster view JSON written by the controller")
    parser.add_argument("--listen", default="0.0.0.0")
    parser.add_argument("--port", type=int, default=53)
    parser.add_argument("--upstream-timeout", type=float, default=1.5)
    args = parser.parse_args(argv)
    try:
        asyncio.run(serve(args.view, args.listen, args.port, args.upstream_timeout))
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
