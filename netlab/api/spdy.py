"""A small SPDY/3.1 framer: the frames kubectl's port-forward sends and expects, as pure functions.

kubectl 1.37 tunnels a SPDY/3.1 session through a WebSocket (subprotocol `SPDY/3.1+portforward.k8s.io`):
the session's bytes go in binary messages whose borders mean nothing. No maintained Python SPDY library
exists (SPDY was superseded by HTTP/2), so the few frame types are written here, after the SPDY/3.1
draft (https://www.chromium.org/spdy/spdy-protocol/spdy-protocol-draft3-1/): every frame has an 8-byte
head; control frames carry version 3 and a type, data frames a 31-bit stream id. Header blocks are
zlib-compressed with the draft's fixed dictionary, one compression context per direction and session.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field

VERSION = 3
SYN_STREAM, SYN_REPLY, RST_STREAM, SETTINGS, PING, GOAWAY, HEADERS, WINDOW_UPDATE = 1, 2, 3, 4, 6, 7, 8, 9
FLAG_FIN = 0x01
MAX_FRAME = (1 << 24) - 1
# RST_STREAM status codes used here
PROTOCOL_ERROR, INVALID_STREAM, REFUSED_STREAM, CANCEL, INTERNAL_ERROR = 1, 2, 3, 5, 6

# The header-compression dictionary of the SPDY/3 draft (section 2.6.10.1): length-prefixed header names
# and values, then a run of common strings.
_WORDS = (
    "options head post put delete trace accept accept-charset accept-encoding accept-language "
    "accept-ranges age allow authorization cache-control connection content-base content-encoding "
    "content-language content-length content-location content-md5 content-range content-type date etag "
    "expect expires from host if-match if-modified-since if-none-match if-range if-unmodified-since "
    "last-modified location max-forwards pragma proxy-authenticate proxy-authorization range referer "
    "retry-after server te trailer transfer-encoding upgrade user-agent vary via warning www-authenticate "
    "method get status 200|OK version HTTP/1.1 url public set-cookie keep-alive origin"
)
_TAIL = (
    "100101201202205206300302303304305306307402405406407408409410411412413414415416417502504505"
    "203 Non-Authoritative Information204 No Content301 Moved Permanently400 Bad Request401 Unauthorized"
    "403 Forbidden404 Not Found500 Internal Server Error501 Not Implemented503 Service Unavailable"
    "Jan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMT"
    "chunked,text/html,image/png,image/jpg,image/gif,application/xml,application/xhtml+xml,text/plain,"
    "text/javascript,publicprivatemax-age=gzip,deflate,sdchcharset=utf-8charset=iso-8859-1,utf-,*,enq=0."
)


def _dictionary() -> bytes:
    words = [w.replace("|", " ") for w in _WORDS.split()]   # "200|OK" is the one word with a space
    return b"".join(struct.pack(">I", len(w)) + w.encode() for w in words) + _TAIL.encode()


DICTIONARY = _dictionary()


class SpdyError(ValueError):
    """The peer broke the protocol (the session ends with GOAWAY)."""


@dataclass
class Frame:
    """One parsed frame. Control frames: type (and stream_id, headers, status, ping id... by type);
    data frames: type 0, stream_id and data."""
    type: int
    flags: int = 0
    stream_id: int = 0
    data: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    value: int = 0          # RST_STREAM/GOAWAY status, PING id, WINDOW_UPDATE delta

    @property
    def fin(self) -> bool:
        return bool(self.flags & FLAG_FIN)


class Codec:
    """Frames to bytes and back for one session (it owns both zlib contexts)."""

    def __init__(self) -> None:
        self._inflate = zlib.decompressobj(zdict=DICTIONARY)
        self._deflate = zlib.compressobj(zlib.Z_BEST_COMPRESSION, zlib.DEFLATED, 15, zdict=DICTIONARY)
        self._buffer = bytearray()

    # ----- reading --------------------------------------------------------------------------------
    def feed(self, data: bytes) -> list[Frame]:
        """The complete frames in the bytes received so far (a partial one waits for more)."""
        if self._buffer:
            self._buffer += data
            src: bytes | bytearray = self._buffer
        else:   # the usual case: the message starts a frame; no copy into the buffer first
            src = data
        frames, pos = [], 0
        with memoryview(src) as buf:
            while len(buf) - pos >= 8:
                length = int.from_bytes(buf[pos + 5:pos + 8], "big")
                if len(buf) - pos < 8 + length:
                    break
                frames.append(self._parse(bytes(buf[pos:pos + 8]), bytes(buf[pos + 8:pos + 8 + length])))
                pos += 8 + length
            if src is not self._buffer:
                self._buffer = bytearray(buf[pos:])
        if src is self._buffer and pos:
            del self._buffer[:pos]
        return frames

    def _parse(self, head: bytes, body: bytes) -> Frame:
        word, flags = struct.unpack(">I", head[:4])[0], head[4]
        if not word & 0x80000000:
            return Frame(0, flags, word & 0x7FFFFFFF, body)
        version, kind = (word >> 16) & 0x7FFF, word & 0xFFFF
        if version != VERSION:
            raise SpdyError(f"SPDY version {version} is not supported")
        if kind in (SYN_STREAM, SYN_REPLY, HEADERS):
            skip = 10 if kind == SYN_STREAM else 4
            if len(body) < skip:
                raise SpdyError("short control frame")
            stream = struct.unpack(">I", body[:4])[0] & 0x7FFFFFFF
            return Frame(kind, flags, stream, headers=self._headers(body[skip:]))
        if kind in (RST_STREAM, WINDOW_UPDATE, GOAWAY):
            if len(body) < 8:
                raise SpdyError("short control frame")
            stream, value = struct.unpack(">II", body[:8])
            return Frame(kind, flags, stream & 0x7FFFFFFF, value=value & (0x7FFFFFFF if kind == WINDOW_UPDATE
                                                                          else 0xFFFFFFFF))
        if kind == PING:
            if len(body) != 4:
                raise SpdyError("a PING frame carries 4 bytes")
            return Frame(kind, flags, value=struct.unpack(">I", body)[0])
        return Frame(kind, flags, data=body)   # SETTINGS and unknown types: ignored by the session

    def _headers(self, block: bytes) -> dict[str, str]:
        try:
            raw = self._inflate.decompress(block)
        except zlib.error as e:
            raise SpdyError(f"bad header block: {e}") from e
        try:
            count, pos, headers = struct.unpack(">I", raw[:4])[0], 4, {}
            for _ in range(count):
                n = struct.unpack(">I", raw[pos:pos + 4])[0]
                name = raw[pos + 4:pos + 4 + n].decode()
                pos += 4 + n
                n = struct.unpack(">I", raw[pos:pos + 4])[0]
                headers[name] = raw[pos + 4:pos + 4 + n].decode()
                pos += 4 + n
        except (struct.error, UnicodeDecodeError) as e:
            raise SpdyError("malformed header block") from e
        return headers

    # ----- writing --------------------------------------------------------------------------------
    def _block(self, headers: dict[str, str]) -> bytes:
        raw = struct.pack(">I", len(headers)) + b"".join(
            struct.pack(">I", len(k)) + k.encode() + struct.pack(">I", len(v.encode())) + v.encode()
            for k, v in headers.items())
        return self._deflate.compress(raw) + self._deflate.flush(zlib.Z_SYNC_FLUSH)

    def syn_reply(self, stream_id: int, headers: dict[str, str] | None = None, fin: bool = False) -> bytes:
        return control(SYN_REPLY, FLAG_FIN if fin else 0,
                       struct.pack(">I", stream_id) + self._block(headers or {}))

    def syn_stream(self, stream_id: int, headers: dict[str, str], fin: bool = False) -> bytes:
        """(What a client sends; used by tests to play kubectl's part.)"""
        return control(SYN_STREAM, FLAG_FIN if fin else 0,
                       struct.pack(">IIH", stream_id, 0, 0) + self._block(headers))


def control(kind: int, flags: int, body: bytes) -> bytes:
    return struct.pack(">HHI", 0x8000 | VERSION, kind, flags << 24 | len(body)) + body


def data_head(stream_id: int, length: int, fin: bool = False) -> bytes:
    """The 8-byte head of one DATA frame carrying `length` (<= MAX_FRAME) bytes."""
    return struct.pack(">II", stream_id & 0x7FFFFFFF, (FLAG_FIN if fin else 0) << 24 | length)


def data_parts(stream_id: int, payload: bytes, fin: bool = False) -> list[bytes]:
    """DATA frames for payload as pieces to write one after the other: a payload that fits one frame is
    not copied behind its head (the tunnel writes the pieces in one go)."""
    if len(payload) <= MAX_FRAME:
        return [data_head(stream_id, len(payload), fin), payload]
    return [data_head(stream_id, min(MAX_FRAME, len(payload) - start), fin and start + MAX_FRAME >= len(payload))
            + payload[start:start + MAX_FRAME] for start in range(0, len(payload), MAX_FRAME)]


def data(stream_id: int, payload: bytes, fin: bool = False) -> bytes:
    """DATA frames for payload (split at the frame size limit); an empty payload with fin closes."""
    return b"".join(data_parts(stream_id, payload, fin))


def rst_stream(stream_id: int, status: int) -> bytes:
    return control(RST_STREAM, 0, struct.pack(">II", stream_id, status))


def ping(ping_id: int) -> bytes:
    return control(PING, 0, struct.pack(">I", ping_id))


def goaway(last_stream: int, status: int = 0) -> bytes:
    return control(GOAWAY, 0, struct.pack(">II", last_stream, status))
