"""The byte pipe a SPDY session runs over: a WebSocket (kubectl 1.31+ tunnels SPDY/3.1 in binary messages,
subprotocol `SPDY/3.1+portforward.k8s.io`) or the connection itself after a plain `Upgrade: SPDY/3.1`
(101 Switching Protocols), which kubectl falls back to when the WebSocket upgrade fails
(KUBECTL_PORT_FORWARD_WEBSOCKETS=false makes it start there).

`send(*parts)` hands the pieces of one write (a frame head and its payload) to the connection's
transport in one `writelines`: TLS encrypts them into one buffer that goes out in one send(), and a
payload is never copied behind its head first (the port-forward throughput, bench/api_stream.py).
"""

from __future__ import annotations

import asyncio
import socket
import struct
from collections.abc import AsyncIterator

from aiohttp import WSMsgType, web

WS_SUBPROTOCOL = "SPDY/3.1+portforward.k8s.io"
STREAM_PROTOCOL = "portforward.k8s.io"


def ws_binary_head(length: int) -> bytes:
    """RFC 6455 section 5.2: FIN with the binary opcode, then the payload length in 7, 7+16 or 7+64 bits
    (a server's frames are not masked)."""
    if length < 126:
        return bytes((0x82, length))
    if length < 1 << 16:
        return struct.pack("!BBH", 0x82, 126, length)
    return struct.pack("!BBQ", 0x82, 127, length)


async def _write(request: web.BaseRequest, parts: tuple[bytes, ...]) -> None:
    """The pieces in one write to the connection, then aiohttp's write flow control."""
    transport = request.transport
    if transport is None or transport.is_closing():
        raise ConnectionResetError("the connection is closed")
    transport.writelines(parts)
    await request.protocol._drain_helper()   # noqa: SLF001 - aiohttp's write flow control


class WebSocketTunnel:
    """Binary messages of a prepared WebSocketResponse. Data goes out as whole frames written here (one
    message per send, never compressed: permessage-deflate allows uncompressed messages); aiohttp's
    writer still sends its pings, pongs and the close, each in one synchronous write, so frames never
    interleave."""

    def __init__(self, ws: web.WebSocketResponse, request: web.BaseRequest) -> None:
        self.ws, self.request = ws, request

    @property
    def closed(self) -> bool:
        return self.ws.closed

    async def send(self, *parts: bytes) -> None:
        if self.ws.closed:
            raise ConnectionResetError("the WebSocket is closed")
        await _write(self.request, (ws_binary_head(sum(len(p) for p in parts)), *parts))

    async def received(self) -> AsyncIterator[bytes]:
        async for msg in self.ws:
            if msg.type == WSMsgType.BINARY:
                yield msg.data


class SpdyUpgrade(web.StreamResponse):
    """101 Switching Protocols to SPDY/3.1; afterwards the connection's bytes are the session's. It takes the
    place of aiohttp's request parser on the connection (feed_data/feed_eof), as aiohttp's WebSocketResponse
    does, so nothing else reads them."""

    def __init__(self, stream_protocol: str = STREAM_PROTOCOL) -> None:
        super().__init__(status=101, headers={"Connection": "Upgrade", "Upgrade": "SPDY/3.1",
                                              "X-Stream-Protocol-Version": stream_protocol})
        self._incoming: asyncio.Queue[bytes] = asyncio.Queue()
        self._request: web.BaseRequest | None = None
        self._closed = False

    async def prepare(self, request: web.BaseRequest):
        self.force_close()
        writer = await super().prepare(request)
        request.protocol.set_parser(self)
        request.protocol.keep_alive(False)
        self._request = request
        return writer

    # the parser interface of aiohttp's connection protocol
    def feed_data(self, data: bytes) -> tuple[bool, bytes]:
        self._incoming.put_nowait(bytes(data))
        return False, b""

    def feed_eof(self) -> None:
        self._incoming.put_nowait(b"")

    @property
    def closed(self) -> bool:
        transport = self._request.transport if self._request is not None else None
        return self._closed or transport is None or transport.is_closing()

    async def send(self, *parts: bytes) -> None:
        if self.closed:
            raise ConnectionResetError("the SPDY connection is closed")
        assert self._request is not None
        await _write(self._request, parts)

    async def received(self) -> AsyncIterator[bytes]:
        while data := await self._incoming.get():
            yield data
        self._closed = True

    async def close(self) -> None:
        self._closed = True
        if self._request is not None and self._request.transport is not None:
            self._request.transport.close()


def for_bulk_data(request: web.BaseRequest) -> None:
    """A connection that carries port-forwarded data: up to 1 MiB may wait in the transport before a
    sender waits, and the kernel takes up to 4 MiB of it at once (fewer partial sends, whose rest asyncio
    copies into its buffer)."""
    transport = request.transport
    if transport is None:
        return
    transport.set_write_buffer_limits(high=1 << 20)
    sock = transport.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)


def spdy_versions(request: web.Request) -> list[str]:
    """The stream protocols a plain SPDY/3.1 upgrade offers (empty: no such upgrade)."""
    if not request.headers.get("Upgrade", "").lower().startswith("spdy/3.1"):
        return []
    return [v.strip() for h in request.headers.getall("X-Stream-Protocol-Version", []) for v in h.split(",")]


def wants_spdy_upgrade(request: web.Request) -> bool:
    return STREAM_PROTOCOL in spdy_versions(request)
