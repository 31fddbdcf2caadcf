"""DNS over TCP under idle-connection floods (RFC 7766 §6.2): real sockets on 127.0.0.0/8 only, no root.

Other clients are other loopback source addresses (127.0.0.2, ...), which Linux accepts without set-up.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from dnslib import DNSRecord
from test_dns_server import running, view, write_view

from netlab.runtime import dnstcp

NAME = "app.default.svc.cluster.local"


@pytest.fixture()
def port(tmp_path: Path) -> Iterator[int]:
    path = tmp_path / "dns-view.json"
    write_view(path, view([]))
    with running(path) as p:
        yield p


def _connect(port: int, source: str = "127.0.0.1") -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.settimeout(5)
    sock.bind((source, 0))
    sock.connect(("127.0.0.1", port))
    return sock


def _query_tcp(port: int, source: str, timeout: float = 10.0) -> DNSRecord | None:
    """One TCP query from `source`; None when the server closes or does not answer in time."""
    q = DNSRecord.question(NAME).pack()
    try:
        with _connect(port, source) as sock:
            sock.settimeout(timeout)
            sock.sendall(struct.pack(">H", len(q)) + q)
            data = b""
            while len(data) < 2 or len(data) < 2 + struct.unpack(">H", data[:2])[0]:
                chunk = sock.recv(65535)
                if not chunk:
                    return None
                data += chunk
            return DNSRecord.parse(data[2:])
    except OSError:
        return None


def _still_open(socks: list[socket.socket]) -> int:
    """How many of these connections the server has not closed (a closed one reads EOF at once)."""
    count = 0
    for sock in socks:
        sock.setblocking(False)
        try:
            count += sock.recv(1) != b""
        except BlockingIOError:
            count += 1
        except OSError:
            pass
    return count


def _open_within(socks: list[socket.socket], limit: int, timeout: float = 10.0) -> bool:
    """Whether the server gets the open connections down to limit within timeout (on a loaded machine it
    accepts, and closes the ones over its limits, later than the flood's short pause)."""
    deadline = time.monotonic() + timeout
    while _still_open(socks) > limit:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


@contextlib.contextmanager
def _idle_flood(port: int, sources: list[str], per_source: int) -> Iterator[list[socket.socket]]:
    socks: list[socket.socket] = []
    try:
        for source in sources:
            for _ in range(per_source):
                socks.append(_connect(port, source))
        time.sleep(0.3)   # let the server accept (and refuse) them all
        yield socks
    finally:
        for sock in socks:
            sock.close()


def test_600_idle_connections_from_one_client_do_not_block_others(port: int, monkeypatch: pytest.MonkeyPatch) -> None:
    # Idle connections are held for 30 s: a query waiting behind them would take that long, far beyond the
    # 10 s a query may take on a loaded machine.
    monkeypatch.setattr(dnstcp, "TCP_FIRST_READ", 30.0)
    monkeypatch.setattr(dnstcp, "TCP_READ", 30.0)
    started = time.monotonic()
    with _idle_flood(port, ["127.0.0.1"], 600) as flood:
        assert _open_within(flood, dnstcp.MAX_TCP_PER_CLIENT)
        answers = []
        for i in range(10):
            t0 = time.monotonic()
            reply = _query_tcp(port, f"127.0.0.{i + 2}")
            answers.append(reply is not None and len(reply.rr) == 1 and time.monotonic() - t0 < 10.0)
    assert answers == [True] * 10
    assert time.monotonic() - started < 60


def test_idle_connections_from_many_clients_are_evicted_for_a_query(port: int) -> None:
    sources = [f"127.0.1.{i + 1}" for i in range(30)]          # 300 idle connections, 10 per client
    with _idle_flood(port, sources, 10) as flood:
        assert _open_within(flood, dnstcp.MAX_TCP_CONNECTIONS)
        replies = [_query_tcp(port, f"127.0.2.{i + 1}") for i in range(10)]
        assert all(r is not None and len(r.rr) == 1 for r in replies)
        assert _open_within(flood, dnstcp.MAX_TCP_CONNECTIONS - 1)   # the idlest made room


def test_silent_and_partial_connections_are_closed(port: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dnstcp, "TCP_FIRST_READ", 0.3)
    monkeypatch.setattr(dnstcp, "TCP_READ", 0.3)
    for sent in (b"", b"\x00", b"\x00\x20\x12\x34"):          # nothing, half a length, a started message
        with _connect(port) as sock:
            sock.sendall(sent)
            t0 = time.monotonic()
            assert sock.recv(1) == b""
            assert time.monotonic() - t0 < 1.5


def test_keep_alive_then_idle_close(port: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dnstcp, "TCP_IDLE", 0.3)
    q = DNSRecord.question(NAME).pack()
    with _connect(port) as sock:
        sock.sendall((struct.pack(">H", len(q)) + q) * 2)        # two pipelined queries on one connection
        data, replies = b"", []
        while len(replies) < 2:
            chunk = sock.recv(65535)
            assert chunk, "closed before both answers"
            data += chunk
            while len(data) >= 2 and len(data) >= 2 + struct.unpack(">H", data[:2])[0]:
                size = struct.unpack(">H", data[:2])[0]
                replies.append(DNSRecord.parse(data[2:2 + size]))
                data = data[2 + size:]
        assert [len(r.rr) for r in replies] == [1, 1]
        t0 = time.monotonic()
        assert sock.recv(1) == b""                                 # then closed once idle
        assert time.monotonic() - t0 < 1.5
