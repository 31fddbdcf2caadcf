"""A `tty: true` container on the launcher: its own terminal, kept by netlab.runtime.ttyrelay; the relay's
client framing."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from netlab.runtime import ttyrelay
from tests.unit.test_launcher import ENV, launcher, wait_for  # noqa: F401 - the fixture

__all__ = ["launcher"]


def test_frames_round_trip_and_partial() -> None:
    buf = bytearray(ttyrelay.frame(ttyrelay.INPUT, b"ls\r") + ttyrelay.resize_frame(41, 132))
    tail = ttyrelay.frame(ttyrelay.INPUT, b"abc")
    buf += tail[:4]
    assert ttyrelay.parse_frames(buf) == [(0, b"ls\r"), (1, b"\x00\x29\x00\x84")]
    assert buf == tail[:4]
    buf += tail[4:]
    assert ttyrelay.parse_frames(buf) == [(0, b"abc")] and not buf
    with pytest.raises(ValueError):
        ttyrelay.parse_frames(bytearray(b"\x00\xff\xff\xff\xff"))


def _read_until(conn: socket.socket, want: bytes, timeout: float = 5.0) -> bytes:
    conn.settimeout(timeout)
    out = b""
    while want not in out:
        chunk = conn.recv(4096)
        if not chunk:
            break
        out += chunk
    return out


def _connect(path: Path) -> socket.socket | None:
    try:
        return ttyrelay.connect(path)
    except OSError:   # the container has not handed its terminal over yet
        return None


def test_tty_container_has_a_terminal_and_outlives_clients(launcher, tmp_path: Path) -> None:  # noqa: F811
    client, started = launcher
    log, exitfile = tmp_path / "c.log", tmp_path / "c.exit"
    pid, _ = client.start({"netns": None, "argv": ["sh"], "env": ENV, "cwd": None, "log": str(log),
                           "exitfile": str(exitfile), "tty": True})
    started.append(pid)
    first = wait_for(lambda: _connect(ttyrelay.tty_socket(log)))
    first.sendall(ttyrelay.resize_frame(33, 111) + ttyrelay.frame(ttyrelay.INPUT, b"tty; stty size\n"))
    out = _read_until(first, b"33 111")
    assert b"/dev/pts/" in out and b"33 111\r\n" in out, out
    first.close()   # a client going away leaves the container running
    second = ttyrelay.connect(ttyrelay.tty_socket(log))
    second.sendall(ttyrelay.frame(ttyrelay.INPUT, b"echo still-$((1+1)); exit 5\n"))
    assert b"still-2" in _read_until(second, b"still-2")
    assert _read_until(second, b"never") is not None   # EOF once the shell is gone
    second.close()
    wait_for(exitfile.exists)
    assert exitfile.read_text().strip() == "5"
    assert b"33 111" in log.read_bytes() and b"still-2" in log.read_bytes()
    wait_for(lambda: not ttyrelay.tty_socket(log).exists())
