"""The two ways exec's streams reach kubectl: WebSocket channels (v5/v4.channel.k8s.io, what kubectl 1.37
uses) and, as its fallback (KUBECTL_REMOTE_COMMAND_WEBSOCKETS=false), one SPDY/3.1 stream per channel
after a plain `Upgrade: SPDY/3.1` (X-Stream-Protocol-Version v4.channel.k8s.io; each stream names its
`streamtype`: error, stdin, stdout, stderr, resize). Both give execstream the same interface: send(channel,
data), messages() and finish(status)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

from aiohttp import WSMsgType, web

from netlab.api import channels, spdy
from netlab.api.tunnel import SpdyUpgrade

SPDY_VERSION = "v4.channel.k8s.io"
STREAM_TYPES = {"error": channels.ERROR, "stdin": channels.STDIN, "stdout": channels.STDOUT,
                "stderr": channels.STDERR, "resize": channels.RESIZE}
HANDSHAKE_TIMEOUT = 10.0


class WebSocketChannels:
    def __init__(self, ws: web.WebSocketResponse, protocol: str) -> None:
        self.ws, self.protocol = ws, protocol

    @property
    def closed(self) -> bool:
        return self.ws.closed

    async def send(self, channel: int, data: bytes) -> None:
        await self.ws.send_bytes(channels.frame(channel, data))

    async def messages(self) -> AsyncIterator[channels.Message]:
        async for msg in self.ws:
            if msg.type == WSMsgType.BINARY:
                yield channels.parse(msg.data, self.protocol)

    async def finish(self, status: dict) -> None:
        await self.ws.send_bytes(channels.status_frame(status))
        await self.ws.close()


class SpdyChannels:
    """One SPDY stream per channel; the client opens them all before anything runs."""

    def __init__(self, upgrade: SpdyUpgrade) -> None:
        self.upgrade, self.codec = upgrade, spdy.Codec()
        self.streams: dict[int, int] = {}    # channel -> stream id
        self._frames: asyncio.Queue[spdy.Frame | None] = asyncio.Queue()
        self._reader: asyncio.Task | None = None
        self._lock = asyncio.Lock()

    @property
    def closed(self) -> bool:
        return self.upgrade.closed

    async def open(self, wanted: set[int]) -> None:
        """Read frames until the client has opened a stream for every wanted channel (and error)."""
        self._reader = asyncio.create_task(self._read())
        async with asyncio.timeout(HANDSHAKE_TIMEOUT):
            while not wanted | {channels.ERROR} <= set(self.streams):
                frame = await self._frames.get()
                if frame is None:
                    raise ConnectionResetError("the client went away before opening its streams")
                await self._control(frame)

    async def _read(self) -> None:
        try:
            async for data in self.upgrade.received():
                for frame in self.codec.feed(data):
                    self._frames.put_nowait(frame)
        except spdy.SpdyError:
            pass
        self._frames.put_nowait(None)

    async def _send(self, data: bytes) -> None:
        async with self._lock:
            await self.upgrade.send(data)

    async def _control(self, frame: spdy.Frame) -> bool:
        """Handle a control frame; False for frames that are not (data)."""
        if frame.type == spdy.SYN_STREAM:
            channel = STREAM_TYPES.get(frame.headers.get("streamtype", ""))
            if channel is None:
                await self._send(spdy.rst_stream(frame.stream_id, spdy.PROTOCOL_ERROR))
            else:
                self.streams[channel] = frame.stream_id
                async with self._lock:   # header blocks are compressed in sending order
                    await self.upgrade.send(self.codec.syn_reply(frame.stream_id))
            return True
        if frame.type == spdy.PING:
            await self._send(spdy.ping(frame.value))
            return True
        return frame.type != 0

    async def send(self, channel: int, data: bytes) -> None:
        if channel in self.streams:
            await self._send(spdy.data(self.streams[channel], data))

    async def messages(self) -> AsyncIterator[channels.Message]:
        decoder, pending = json.JSONDecoder(), ""
        by_stream = {sid: ch for ch, sid in self.streams.items()}
        while (frame := await self._frames.get()) is not None:
            if await self._control(frame):
                continue
            channel = by_stream.get(frame.stream_id)
            if channel == channels.STDIN:
                if frame.data:
                    yield channels.Message("stdin", frame.data)
                if frame.fin:
                    yield channels.Message("close", channel=channels.STDIN)
            elif channel == channels.RESIZE:   # a stream of JSON objects, one per size change
                pending += frame.data.decode(errors="replace")
                while pending.strip():
                    try:
                        size, end = decoder.raw_decode(pending.lstrip())
                    except ValueError:
                        break
                    pending = pending.lstrip()[end:]
                    yield channels.Message("resize", size=(int(size.get("Width", 0)), int(size.get("Height", 0))))

    async def finish(self, status: dict) -> None:
        try:
            if status.get("status") != "Success":   # kubectl reads an empty error stream as success
                await self.send(channels.ERROR, json.dumps(status).encode())
            for sid in self.streams.values():
                await self._send(spdy.data(sid, b"", fin=True))
        finally:
            if self._reader is not None:
                self._reader.cancel()
            await self.upgrade.close()


async def open_spdy(request: web.Request, wanted: set[int]) -> SpdyChannels:
    upgrade = SpdyUpgrade(SPDY_VERSION)
    await upgrade.prepare(request)
    chans = SpdyChannels(upgrade)
    await chans.open(wanted)
    return chans
