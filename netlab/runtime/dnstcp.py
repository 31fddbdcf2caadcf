"""DNS over TCP for netlab.runtime.dns: who gets a connection and how long an idle one may stay.

Following RFC 7766 §6.2 and CoreDNS's server timeouts:
- a new connection must send its first query within TCP_FIRST_READ seconds, a started message must
  be complete within TCP_READ, and between queries a connection may idle for TCP_IDLE;
- one client address holds at most MAX_TCP_PER_CLIENT connections (much looser than the one or two
  a well-behaved client opens, as the RFC asks, since many processes may share an address);
- at most MAX_TCP_CONNECTIONS in all; when that is reached, the connection that has been idle longest
  (not one answering a query) is closed to make room, so idle connections, however many clients
  hold them, cannot lock out a client with a query.
"""

from __future__ import annotations

import asyncio
import collections
import sys
from typing import Any, Protocol


class QueryPipeline(Protocol):
    """What the transport needs from the DNS server (netlab.runtime.dns.DNSServer): answer a query at once,
    or finish one that needs upstream work. Declared here so the two modules do not import each other."""

    def respond(self, data: bytes, tcp: bool) -> bytes | tuple[Any, object] | None: ...

    async def resolve_slow(self, data: bytes, q: Any, marker: object, tcp: bool) -> bytes: ...


TCP_FIRST_READ = 3.0
TCP_READ = 3.0
TCP_IDLE = 10.0
TCP_WRITE = 5.0
MAX_TCP_CONNECTIONS = 256
MAX_TCP_PER_CLIENT = 32
TCP_BACKLOG = 1024


class _Connection:
    __slots__ = ("client", "writer", "busy", "idle_since")

    def __init__(self, client: str, writer: asyncio.StreamWriter, now: float) -> None:
        self.client, self.writer = client, writer
        self.busy = False
        self.idle_since = now


class TCPTransport:
    """Admits, times out and evicts TCP connections; each query goes to the DNSServer's pipeline."""

    def __init__(self, server: QueryPipeline) -> None:
        self.server = server
        self.open: dict[_Connection, None] = {}   # insertion-ordered set
        self.per_client: collections.Counter[str] = collections.Counter()
        self.refused = 0
        self.evicted = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        client = str(peer[0]) if peer else ""
        if self.per_client[client] >= MAX_TCP_PER_CLIENT or (
                len(self.open) >= MAX_TCP_CONNECTIONS and not self._evict_idlest()):
            self.refused += 1
            writer.transport.abort()
            return
        conn = _Connection(client, writer, asyncio.get_running_loop().time())
        self.open[conn] = None
        self.per_client[client] += 1
        try:
            await self._serve(conn, reader, writer)
        except (asyncio.IncompleteReadError, TimeoutError, OSError):
            pass
        except Exception as e:
            print(f"netlab-dns: internal error on a TCP connection: {type(e).__name__}: {e}", file=sys.stderr,
                  flush=True)
        finally:
            self._forget(conn)
            writer.close()

    async def _serve(self, conn: _Connection, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        loop = asyncio.get_running_loop()
        wait = TCP_FIRST_READ
        while True:
            size = int.from_bytes(await asyncio.wait_for(reader.readexactly(2), wait), "big")
            data = await asyncio.wait_for(reader.readexactly(size), TCP_READ)
            conn.busy = True
            reply = self.server.respond(data, tcp=True)
            if isinstance(reply, tuple):
                reply = await self.server.resolve_slow(data, reply[0], reply[1], tcp=True)
            if reply is None:
                return
            writer.write(len(reply).to_bytes(2, "big") + reply)
            await asyncio.wait_for(writer.drain(), TCP_WRITE)
            conn.busy, conn.idle_since = False, loop.time()
            wait = TCP_IDLE

    def _evict_idlest(self) -> bool:
        """Close the longest-idle connection that is not answering a query; False when all are busy."""
        idle = [c for c in self.open if not c.busy]
        if not idle:
            return False
        victim = min(idle, key=lambda c: c.idle_since)
        self._forget(victim)
        victim.writer.transport.abort()   # its handler sees the connection lost and ends
        self.evicted += 1
        return True

    def _forget(self, conn: _Connection) -> None:
        if conn in self.open:
            del self.open[conn]
            self.per_client[conn.client] -= 1
            if self.per_client[conn.client] <= 0:
                del self.per_client[conn.client]
