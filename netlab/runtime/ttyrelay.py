"""The terminal of a `tty: true` container: the pty master, kept by a small relay process.

The container opens a pty once confined (one of its own /dev/pts, as runc does) and takes the slave as its
controlling terminal and stdin/stdout/stderr; the master goes over a socket to a relay the launcher forked
beside it, which keeps it: it appends everything the
container prints to the container's log (as kubelet logs a tty container's raw output) and serves any
number of attach clients on a Unix socket beside the log (<container>.tty). A client reads the raw output
from the moment it connects, and writes frames: kind (1 byte), length (4 bytes, big endian), payload;
kind 0 is input for the terminal, kind 1 a window size (rows, cols as two unsigned shorts). A client that
closes its connection leaves the container running. The relay ends when the container's last process
holding the terminal is gone (the master then reads EIO); its clients then read EOF.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import selectors
import signal
import socket
import struct
import termios
from pathlib import Path

INPUT, RESIZE = 0, 1
HEADER = struct.Struct(">BI")
SIZE = struct.Struct(">HH")
MAX_FRAME = 1 << 20


def tty_socket(log: Path) -> Path:
    """The relay's socket beside the container's log."""
    return log.with_name(log.stem + ".tty")


def frame(kind: int, payload: bytes) -> bytes:
    """One client frame (pure)."""
    return HEADER.pack(kind, len(payload)) + payload


def resize_frame(rows: int, cols: int) -> bytes:
    return frame(RESIZE, SIZE.pack(max(0, min(rows, 0xFFFF)), max(0, min(cols, 0xFFFF))))


def parse_frames(buf: bytearray) -> list[tuple[int, bytes]]:
    """The complete frames at the start of buf, removed from it (pure but for buf). ValueError on a frame
    too large to be one of ours."""
    out = []
    while len(buf) >= HEADER.size:
        kind, length = HEADER.unpack_from(buf)
        if length > MAX_FRAME:
            raise ValueError(f"frame of {length} bytes")
        if len(buf) < HEADER.size + length:
            break
        out.append((kind, bytes(buf[HEADER.size:HEADER.size + length])))
        del buf[:HEADER.size + length]
    return out


def open_terminal(to_relay: int) -> None:
    """In the container's child, after setsid() and confinement (so the pty is one of the container's own
    /dev/pts, and its user's): the slave as stdin/stdout/stderr and controlling terminal, the master sent
    to the relay over to_relay."""
    master, slave = os.openpty()
    for fd in (0, 1, 2):
        os.dup2(slave, fd)
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)
    with socket.socket(fileno=to_relay) as sock:
        socket.send_fds(sock, [b"t"], [master])
    os.close(master)
    os.close(slave)


def bind(path: Path) -> socket.socket:
    """Bound by its name in its directory: a pod's directory can be longer than sun_path allows."""
    os.chdir(path.parent)
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path.name)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old = os.umask(0o177)
    try:
        sock.bind(path.name)
    finally:
        os.umask(old)
    sock.listen(16)
    sock.setblocking(False)
    return sock


def connect(path: Path) -> socket.socket:
    """A client connection to the relay listening on path (OSError if there is none)."""
    dir_fd = os.open(path.parent, os.O_PATH | os.O_DIRECTORY)   # by /proc: sun_path is short
    try:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.connect(f"/proc/self/fd/{dir_fd}/{path.name}")
        except OSError:
            sock.close()
            raise
        return sock
    finally:
        os.close(dir_fd)


class Relay:
    def __init__(self, master: int, log: Path) -> None:
        self.master = master
        self.log = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        self.sock_path = tty_socket(log)
        self.sel = selectors.DefaultSelector()
        self.clients: dict[socket.socket, bytearray] = {}
        self.listener = bind(self.sock_path)

    def run(self) -> None:
        listener = self.listener
        self.sel.register(listener, selectors.EVENT_READ, "listen")
        self.sel.register(self.master, selectors.EVENT_READ, "master")
        try:
            while True:
                for key, _ in self.sel.select():
                    if key.data == "listen":
                        self._accept(listener)
                    elif key.data == "master":
                        if not self._output():
                            return
                    else:
                        self._input(key.fileobj)  # type: ignore[arg-type]
        finally:
            with contextlib.suppress(OSError):
                os.unlink(self.sock_path.name)
            for client in list(self.clients):
                self._drop(client)

    def _accept(self, listener: socket.socket) -> None:
        with contextlib.suppress(OSError):
            conn, _ = listener.accept()
            conn.settimeout(2.0)   # a client that stops reading is dropped, the terminal goes on
            self.clients[conn] = bytearray()
            self.sel.register(conn, selectors.EVENT_READ, "client")

    def _drop(self, client: socket.socket) -> None:
        self.clients.pop(client, None)
        with contextlib.suppress(KeyError, ValueError):
            self.sel.unregister(client)
        client.close()

    def _output(self) -> bool:
        try:
            data = os.read(self.master, 65536)
        except OSError:   # EIO: nobody holds the terminal any more
            data = b""
        if not data:
            return False
        with contextlib.suppress(OSError):
            os.write(self.log, data)
        for client in list(self.clients):
            try:
                client.sendall(data)
            except OSError:
                self._drop(client)
        return True

    def _input(self, client: socket.socket) -> None:
        try:
            data = client.recv(65536)
        except OSError:
            data = b""
        if not data:
            self._drop(client)
            return
        buf = self.clients[client]
        buf += data
        try:
            frames = parse_frames(buf)
        except ValueError:
            self._drop(client)
            return
        for kind, payload in frames:
            with contextlib.suppress(OSError):
                if kind == INPUT:
                    os.write(self.master, payload)
                elif kind == RESIZE and len(payload) == SIZE.size:
                    rows, cols = SIZE.unpack(payload)
                    fcntl.ioctl(self.master, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


def _receive_master(sock: int) -> int | None:
    with socket.socket(fileno=sock) as conn:
        _, fds, _, _ = socket.recv_fds(conn, 1, 1)
    return fds[0] if fds else None


def detach_from_launcher(keep: int) -> None:
    """In a helper process the launcher forked: a session of its own, default signal handling, and of the
    launcher's descriptors only `keep` (and 0-2) open."""
    os.setsid()
    signal.set_wakeup_fd(-1)
    for sig in (signal.SIGCHLD, signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_SETMASK, [])
    os.closerange(3, keep)
    os.closerange(keep + 1, 65536)


def relay_child(sock: int, log: str) -> None:
    """In the relay's forked child (never returns): its own session, only the socket the container sends
    its pty master over open, then the relay loop (none if the container never got that far)."""
    code = 0
    try:
        detach_from_launcher(keep=sock)
        signal.signal(signal.SIGPIPE, signal.SIG_IGN)   # a vanished client is an error from send, not a death
        master = _receive_master(sock)
        if master is not None:
            Relay(master, Path(log)).run()
    except BaseException:  # noqa: BLE001 - never return into the launcher loop
        code = 1
    finally:
        os._exit(code)
