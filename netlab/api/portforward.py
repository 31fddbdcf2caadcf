"""`pods/NAME/portforward`: kubectl's SPDY/3.1 port-forward session, tunnelled through a WebSocket or
over the upgraded connection itself (netlab.api.tunnel).

Per forwarded connection kubectl opens two SPDY streams with the same `requestid` header: an error stream
(it only reads it) and a data stream, both naming the pod `port`. Once both are there we connect to
127.0.0.1:port inside the pod's network namespace (as kubelet does) and copy both ways; a half-close
from either side is passed on (DATA with FIN, shutdown(SHUT_WR)).

A connection the pod refuses is closed (its data and error streams end) without an error message:
kubectl 1.37 ends the whole port-forward on any message on an error stream, and the other connections
must keep working. The refusal is logged, and the client sees its connection closed.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import socket
from dataclasses import dataclass, field

from aiohttp import web

from netlab.api import spdy, tunnel
from netlab.api.errors import ApiError
from netlab.api.tunnel import SpdyUpgrade, WebSocketTunnel
from netlab.compile import names
from netlab.kernel import netns as nsmod

log = logging.getLogger("netlab.api.portforward")
MAX_QUEUED = 1 << 20   # bytes from the pod waiting to go to kubectl before the pod is paused
READ_SIZE = 1 << 20    # the most one read from the pod takes (asyncio's default is 256 KiB)


@dataclass
class Forward:
    """One forwarded connection: its two streams and, once connected, the pod-side socket."""
    port: int
    error_stream: int | None = None
    data_stream: int | None = None
    writer: PodLink | None = None
    tasks: list[asyncio.Task] = field(default_factory=list)
    pending: list[spdy.Frame] = field(default_factory=list)   # data that came before the connection


class PodLink(asyncio.Protocol):
    """The connection to the pod, as a protocol: what the pod sends is handed on as it arrives (no stream
    buffer to copy through, and the pieces are not joined: they go to the tunnel as they are, behind one
    frame head), reading pauses while MAX_QUEUED bytes wait for kubectl, and writes wait for the pod
    while more than MAX_QUEUED bytes are unsent."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self._chunks: collections.deque[bytes] = collections.deque()
        self._queued, self._eof, self._paused = 0, False, False
        self._arrived = asyncio.Event()
        self._writable = asyncio.Event()
        self._writable.set()

    # protocol callbacks
    def connection_made(self, transport) -> None:
        self.transport = transport
        if hasattr(transport, "max_size"):   # the selector transport's read size: fewer, larger pieces
            transport.max_size = READ_SIZE

    def data_received(self, data: bytes) -> None:
        self._chunks.append(data)
        self._queued += len(data)
        self._arrived.set()
        if self._queued > MAX_QUEUED and not self._paused and self.transport is not None:
            self.transport.pause_reading()
            self._paused = True

    def eof_received(self) -> bool:
        self._eof = True
        self._arrived.set()
        return True   # keep our sending side open (a half-close)

    def connection_lost(self, exc) -> None:
        self._eof = True
        self._arrived.set()
        self._writable.set()

    def pause_writing(self) -> None:
        self._writable.clear()

    def resume_writing(self) -> None:
        self._writable.set()

    # for the session
    async def received(self) -> list[bytes]:
        """The pieces the pod sent since the last call (at most MAX_QUEUED + READ_SIZE bytes, well within
        one SPDY frame); [] once it has closed its side."""
        while not self._chunks:
            if self._eof:
                return []
            self._arrived.clear()
            await self._arrived.wait()
        data = list(self._chunks)
        self._chunks.clear()
        self._queued = 0
        if self._paused and self.transport is not None:
            self.transport.resume_reading()
            self._paused = False
        return data

    def write(self, data: bytes) -> None:
        if self.transport is not None:
            self.transport.write(data)

    async def drain(self) -> None:
        await self._writable.wait()

    def can_write_eof(self) -> bool:
        return self.transport is not None and self.transport.can_write_eof()

    def write_eof(self) -> None:
        if self.transport is not None:
            self.transport.write_eof()

    def is_closing(self) -> bool:
        return self.transport is None or self.transport.is_closing()

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


async def _deliver(writer: PodLink, frame: spdy.Frame) -> None:
    """Client data (and its half-close) to the pod."""
    if writer.is_closing():
        return
    if frame.data:
        writer.write(frame.data)
        with contextlib.suppress(ConnectionError):
            await writer.drain()
    if frame.fin and writer.can_write_eof():
        with contextlib.suppress(OSError):
            writer.write_eof()


def connect_socket(netns: str) -> socket.socket:
    """A TCP socket of the pod's network namespace (created there by this thread, which then returns)."""
    with nsmod.entered(netns):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setblocking(False)
    return sock


class Session:
    """The SPDY session of one `kubectl port-forward`."""

    def __init__(self, tunnel: WebSocketTunnel | SpdyUpgrade, api, netns: str, pod: str) -> None:
        self.tunnel, self.api, self.netns, self.pod = tunnel, api, netns, pod
        self.codec = spdy.Codec()
        self.forwards: dict[str, Forward] = {}     # by requestid
        self.by_stream: dict[int, Forward] = {}
        self._send_lock = asyncio.Lock()

    async def send(self, *parts: bytes) -> None:
        async with self._send_lock:   # the reply's compression context must see blocks in send order
            if not self.tunnel.closed:
                await self.tunnel.send(*parts)

    async def run(self) -> None:
        try:
            async for data in self.tunnel.received():
                for frame in self.codec.feed(data):
                    await self.handle(frame)
        except spdy.SpdyError as e:
            log.warning("port-forward to %s: %s", self.pod, e)
            with contextlib.suppress(ConnectionError):
                await self.send(spdy.goaway(0, 1))
        finally:
            for fwd in list(self.forwards.values()):
                self._close(fwd)
            tasks = [t for fwd in self.forwards.values() for t in fwd.tasks]
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def handle(self, frame: spdy.Frame) -> None:
        if frame.type == spdy.SYN_STREAM:
            await self._syn_stream(frame)
        elif frame.type == 0:
            await self._data(frame)
        elif frame.type == spdy.PING:
            await self.send(spdy.ping(frame.value))
        elif frame.type == spdy.RST_STREAM:
            fwd = self.by_stream.get(frame.stream_id)
            if fwd is not None:
                self._close(fwd)

    async def _syn_stream(self, frame: spdy.Frame) -> None:
        headers, sid = frame.headers, frame.stream_id
        kind, request = headers.get("streamtype"), headers.get("requestid", "")
        try:
            port = int(headers.get("port", ""))
        except ValueError:
            await self.send(spdy.rst_stream(sid, spdy.PROTOCOL_ERROR))
            return
        # the reply comes under the lock too: its header block is compressed in sending order
        async with self._send_lock:
            await self.tunnel.send(self.codec.syn_reply(sid))
        fwd = self.forwards.setdefault(request, Forward(port))
        self.by_stream[sid] = fwd
        if kind == "error":
            fwd.error_stream = sid
        elif kind == "data":
            fwd.data_stream = sid
        else:
            await self.send(spdy.rst_stream(sid, spdy.PROTOCOL_ERROR))
            return
        if fwd.error_stream is not None and fwd.data_stream is not None:
            fwd.tasks.append(asyncio.create_task(self._connect(request, fwd)))

    async def _data(self, frame: spdy.Frame) -> None:
        fwd = self.by_stream.get(frame.stream_id)
        if fwd is None or frame.stream_id != fwd.data_stream:
            return
        if fwd.writer is None:   # still connecting: kept until the connection is there
            fwd.pending.append(frame)
            return
        await _deliver(fwd.writer, frame)

    async def _connect(self, request: str, fwd: Forward) -> None:
        assert fwd.data_stream is not None and fwd.error_stream is not None
        try:
            sock = await self.api.run(connect_socket, self.netns)
            try:
                await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", fwd.port))
            except OSError:
                sock.close()
                raise
            _, writer = await asyncio.get_running_loop().create_connection(PodLink, sock=sock)
            for early in fwd.pending:
                await _deliver(writer, early)
            fwd.writer, fwd.pending = writer, []
        except OSError as e:
            log.warning("port-forward to %s port %d: %s", self.pod, fwd.port, e)
            await self.send(spdy.data(fwd.data_stream, b"", fin=True) + spdy.data(fwd.error_stream, b"", fin=True))
            self.forwards.pop(request, None)
            return
        try:
            while pieces := await writer.received():
                await self.send(spdy.data_head(fwd.data_stream, sum(len(p) for p in pieces)), *pieces)
            await self.send(spdy.data(fwd.data_stream, b"", fin=True) + spdy.data(fwd.error_stream, b"", fin=True))
        except (ConnectionError, OSError):
            pass
        finally:
            self._close(fwd)
            self.forwards.pop(request, None)

    def _close(self, fwd: Forward) -> None:
        if fwd.writer is not None and not fwd.writer.is_closing():
            fwd.writer.close()
        for sid in (fwd.data_stream, fwd.error_stream):
            self.by_stream.pop(sid, None)


async def handle_portforward(request: web.Request, api, ns: str, name: str) -> web.StreamResponse:
    pod = await api.run(api.controller.get, "Pod", ns, name)
    if (pod.get("status") or {}).get("phase") != "Running":
        raise ApiError(400, "BadRequest", f"pod {name} is not running (phase "
                       f"{(pod.get('status') or {}).get('phase')})")
    spec = pod.get("spec") or {}
    netns = names.pod_run_netns(ns, name, spec.get("nodeName", ""), bool(spec.get("hostNetwork")))
    key = f"{ns}/{name}"
    if tunnel.wants_spdy_upgrade(request):
        upgrade = tunnel.SpdyUpgrade()
        await upgrade.prepare(request)
        tunnel.for_bulk_data(request)
        await Session(upgrade, api, netns, key).run()
        return upgrade
    offered = [p.strip() for h in request.headers.getall("Sec-WebSocket-Protocol", []) for p in h.split(",")]
    if tunnel.WS_SUBPROTOCOL not in offered:
        raise ApiError(400, "BadRequest", "port-forward needs a WebSocket upgrade with subprotocol "
                       f"{tunnel.WS_SUBPROTOCOL} or an Upgrade: SPDY/3.1")
    ws = web.WebSocketResponse(protocols=[tunnel.WS_SUBPROTOCOL], autoping=True, max_msg_size=1 << 25)
    await ws.prepare(request)
    tunnel.for_bulk_data(request)
    await Session(tunnel.WebSocketTunnel(ws, request), api, netns, key).run()
    return ws
