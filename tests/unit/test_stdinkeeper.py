"""stdinOnce: the container's stdin FIFO stays open until the first client lets go, then reads EOF."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from netlab.runtime import stdinkeeper


def _wait_gone(path: Path, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while path.exists():
        assert time.monotonic() < deadline, f"{path} still there"
        time.sleep(0.02)


def _started(tmp_path: Path) -> tuple[int, Path, Path]:
    fifo, log = tmp_path / "c.stdin", tmp_path / "c.log"
    os.mkfifo(fifo, 0o600)
    read_fd = stdinkeeper.start(str(fifo), str(log))
    sock = stdinkeeper.keeper_socket(log)
    deadline = time.monotonic() + 5
    while not sock.exists():
        assert time.monotonic() < deadline, "the keeper never listened"
        time.sleep(0.02)
    return read_fd, fifo, log


def test_stdin_is_open_and_empty_until_the_first_client_lets_go(tmp_path: Path) -> None:
    read_fd, fifo, log = _started(tmp_path)
    try:
        with pytest.raises(BlockingIOError):   # open (a writer exists) and empty: no EOF
            os.read(read_fd, 10)
        hold = stdinkeeper.hold(log)
        assert hold is not None
        writer = os.open(fifo, os.O_WRONLY)
        os.write(writer, b"typed")
        os.close(writer)
        assert os.read(read_fd, 10) == b"typed"
        with pytest.raises(BlockingIOError):   # one client's write end closing is no EOF
            os.read(read_fd, 10)
        hold.close()
        _wait_gone(stdinkeeper.keeper_socket(log))
        assert os.read(read_fd, 10) == b""   # EOF, for good: no keeper for a later client
        assert stdinkeeper.hold(log) is None
    finally:
        os.close(read_fd)


def test_the_keeper_ends_with_the_container(tmp_path: Path) -> None:
    read_fd, _, log = _started(tmp_path)
    os.close(read_fd)   # the container is gone: no reader left
    _wait_gone(stdinkeeper.keeper_socket(log))


def test_the_container_reads_blocking(tmp_path: Path) -> None:
    read_fd, _, log = _started(tmp_path)
    try:
        assert stdinkeeper.as_stdin(read_fd) == read_fd and os.get_blocking(read_fd)
    finally:
        os.close(read_fd)
        _wait_gone(stdinkeeper.keeper_socket(log))
