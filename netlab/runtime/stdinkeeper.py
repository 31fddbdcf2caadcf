"""`stdinOnce` for a container with `stdin: true` and no tty, as the kubelet's runtime keeps it.

The container reads a FIFO beside its log (netlab.runtime.start_request.stdin_fifo) that `kubectl attach -i`
writes to. Without stdinOnce the container opens it read-write, so it never reads EOF: its stdin stays open
across attach sessions. With stdinOnce the container opens it read-only and a small keeper process, forked
by the launcher beside it, holds its only other write end: stdin is open, and empty, until the first client
attaches. That client holds a connection to the keeper (a Unix socket beside the log); when the client's
stdin ends or the client goes, the connection closes, the keeper closes its end and exits, and the
container reads what is left, then EOF. Stdin then stays closed until the container restarts: a later
client finds no keeper and its input goes nowhere. The keeper also ends when the container is gone (its
write end then polls POLLERR: no reader left).
"""

from __future__ import annotations

import contextlib
import os
import select
import socket
from pathlib import Path

from netlab.runtime import ttyrelay


def keeper_socket(log: Path) -> Path:
    return log.with_name(log.stem + ".stdin-once")


def start(fifo: str, log: str) -> int:
    """Open the FIFO for the container and fork its keeper; returned: the container's read end."""
    read_fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)   # a reader first, so the writer's open succeeds
    write_fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
    try:
        if os.fork() == 0:
            os.close(read_fd)
            _keeper_child(write_fd, log)   # never returns
    except BaseException:
        os.close(read_fd)
        raise
    finally:
        os.close(write_fd)
    return read_fd


def as_stdin(read_fd: int) -> int:
    """In the container's child: the read end, blocking again (a read waits for input, as on a pipe)."""
    os.set_blocking(read_fd, True)
    return read_fd


def hold(log: Path) -> socket.socket | None:
    """A client's hold on the container's stdin; None when it is closed already (or never was once-only)."""
    try:
        return ttyrelay.connect(keeper_socket(log))
    except OSError:
        return None


def _keeper_child(write_fd: int, log: str) -> None:
    code = 0
    try:
        ttyrelay.detach_from_launcher(keep=write_fd)
        _keep(write_fd, keeper_socket(Path(log)))
    except BaseException:  # noqa: BLE001 - never return into the launcher loop
        code = 1
    finally:
        os._exit(code)


def _keep(write_fd: int, path: Path) -> None:
    """Until the first client's connection closes, or the container's read end is gone."""
    listener = ttyrelay.bind(path)
    poll = select.poll()
    poll.register(write_fd, 0)   # only POLLERR: no reader left
    poll.register(listener, select.POLLIN)
    first: socket.socket | None = None
    try:
        while True:
            for fd, events in poll.poll():
                if fd == write_fd and events & (select.POLLERR | select.POLLHUP):
                    return
                if fd == listener.fileno():
                    with contextlib.suppress(OSError):
                        conn, _ = listener.accept()
                        if first is None:
                            first = conn
                            poll.register(conn, select.POLLIN)
                        else:
                            conn.close()   # stdin belongs to the first client
                elif first is not None and fd == first.fileno():
                    try:
                        if not first.recv(4096):
                            return
                    except OSError:
                        return
    finally:
        os.close(write_fd)   # before the socket goes: whoever sees it gone may expect EOF
        with contextlib.suppress(OSError):
            os.unlink(path.name)
        listener.close()
