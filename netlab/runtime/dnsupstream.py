"""Forwarding for netlab.runtime.dns: names outside the cluster zone go to the upstream resolvers.

Every upstream is asked at once over UDP (the same upstream again over TCP when the reply is
truncated); the first reply that matches the query wins. A reply must carry the query's ID and
question, so a late or spoofed datagram for another query is never taken.
"""

from __future__ import annotations

import asyncio
import random
import socket


def parse_upstream(text: str) -> tuple[str, int]:
    text = text.strip()
    if text.startswith("["):
        host, _, port = text[1:].partition("]")
        return host, int(port.lstrip(":") or 53)
    if text.count(":") == 1:
        host, port = text.split(":")
        return host, int(port)
    return text, 53


async def forward(data: bytes, upstreams: list[tuple[str, int]], timeout: float) -> bytes | None:
    """Ask every upstream at once; the first answer wins. None when none answers within `timeout` seconds."""
    if not upstreams:
        return None
    qid = random.getrandbits(16).to_bytes(2, "big")
    query = qid + data[2:]
    tasks = [asyncio.create_task(_ask(query, up)) for up in upstreams]
    try:
        deadline = asyncio.get_running_loop().time() + timeout
        pending = set(tasks)
        while pending:
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                return None
            done, pending = await asyncio.wait(pending, timeout=left, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                if not task.cancelled() and task.exception() is None and task.result() is not None:
                    return task.result()
        return None
    finally:
        for task in tasks:
            task.cancel()


async def _ask(query: bytes, upstream: tuple[str, int]) -> bytes | None:
    loop = asyncio.get_running_loop()
    family = socket.AF_INET6 if ":" in upstream[0] else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_DGRAM)
    sock.setblocking(False)
    try:
        sock.connect(upstream)
        await loop.sock_sendall(sock, query)
        while True:
            reply = await loop.sock_recv(sock, 65535)
            if _matches(query, reply):
                break
    except OSError:
        return None
    finally:
        sock.close()
    if reply[2] & 0x02:   # truncated: the same upstream over TCP
        return await _ask_tcp(query, upstream)
    return reply


async def _ask_tcp(query: bytes, upstream: tuple[str, int]) -> bytes | None:
    try:
        reader, writer = await asyncio.open_connection(upstream[0], upstream[1])
    except OSError:
        return None
    try:
        writer.write(len(query).to_bytes(2, "big") + query)
        await writer.drain()
        size = int.from_bytes(await reader.readexactly(2), "big")
        reply = await reader.readexactly(size)
        return reply if _matches(query, reply) else None
    except (OSError, asyncio.IncompleteReadError):
        return None
    finally:
        writer.close()


def _matches(query: bytes, reply: bytes) -> bool:
    """Same ID, a response, and the same question (case-insensitively)."""
    if len(reply) < 12 or reply[:2] != query[:2] or not reply[2] & 0x80:
        return False
    end = 12
    while end < len(query) and query[end]:
        end += query[end] + 1
    end += 5
    return reply[12:end].lower() == query[12:end].lower()
