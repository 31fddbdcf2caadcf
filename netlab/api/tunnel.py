"""The byte pipe a SPDY session runs over: a WebSocket (kubectl 1.31+ tunnels SPDY/3.1 in binary messages,
subprotocol `SPDY/3.1+portforward.k8s.io`) or the connection itself after a plain `Upgrade: SPDY/3.1`
(101 Switching Protocols), which kubectl falls back to when the WebSocket upgrade fails
(KUBECTL_PORT_FORWARD_WEBSOCKETS=false makes it start there)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from aiohttp import WSMsgType, web

WS_SUBPROTOCOL = "SPDY/3.1+portforward.k8s.io"
STREAM_PROTOCOL = "portforward.k8s.io"


class WebSocketTunnel:
    def __init__(self, ws: web.WebSocketResponse) -> None:
        self.ws = ws

    @property
    def closed(self) -> bool:
        return self.ws.closed

    async def send(self, data: bytes) -> None:
        await self.ws.send_bytes(data)

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

    async def send(self, data: bytes) -> None:
        if self.closed:
            raise ConnectionResetError("the SPDY connection is closed")
        assert self._request is not None and self._request.transport is not None
        self._request.transport.write(data)
        await self._request.protocol._drain_helper()   # noqa: SLF001 - aiohttp's write flow control

    async def received(self) -> AsyncIterator[bytes]:
        while data := await self._incoming.get():
            yield data
        self._closed = True

    async def close(self) -> None:
        self._closed = True
        if self._request is not None and self._request.transport is not None:
            self._request.transport.close()


def spdy_versions(request: web.Request) -> list[str]:
    """The stream protocols a plain SPDY/3.1 upgrade offers (empty: no such upgrade)."""
    if not request.headers.get("Upgrade", "").lower().startswith("spdy/3.1"):
        return []
    return [v.strip() for h in request.headers.getall("X-Stream-Protocol-Version", []) for v in h.split(",")]


def wants_spdy_upgrade(request: web.Request) -> bool:
    return STREAM_PROTOCOL in spdy_versions(request)
