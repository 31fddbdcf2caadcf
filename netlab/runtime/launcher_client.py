"""Talking to the launcher (netlab.runtime.launcher, whose docstring gives the protocol): the client, starting
a launcher when none answers, and the process start times both sides use to tell a pid's owner."""

from __future__ import annotations

import errno
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any


class LauncherError(RuntimeError):
    """The launcher refused a request or could not be reached."""


def proc_start_time(pid: int, zombies: bool = False) -> int | None:
    """Field 22 of /proc/<pid>/stat (clock ticks since boot); None if the process is gone (or a zombie,
    unless ``zombies``)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
    except OSError:
        return None
    rest = data[data.rfind(b")") + 2 :].split()  # fields 3.. (the comm field may contain spaces)
    if len(rest) < 20 or (rest[0] in (b"Z", b"X") and not zombies):
        return None
    return int(rest[19])



class LauncherClient:
    """Talks to a launcher; one short connection per request.

    With ``log_path`` (as returned by :func:`ensure_launcher`) a launcher that has gone away is
    started again on the next ``start``.
    """

    def __init__(
        self,
        socket_path: str | os.PathLike[str],
        log_path: str | os.PathLike[str] | None = None,
        timeout: float = 5.0,
    ) -> None:
        self.socket_path = os.fspath(socket_path)
        self.log_path = os.fspath(log_path) if log_path is not None else None
        self.timeout = timeout

    def request(self, req: dict[str, Any]) -> dict[str, Any]:
        """Send one request, return the reply; raises OSError when the launcher cannot be reached."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(self.timeout)
            sock.connect(self.socket_path)
            sock.sendall(json.dumps(req).encode() + b"\n")
            buf = b""
            while b"\n" not in buf:
                chunk = sock.recv(65536)
                if not chunk:
                    raise ConnectionError("launcher closed the connection")
                buf += chunk
        reply = json.loads(buf.partition(b"\n")[0])
        if not isinstance(reply, dict):
            raise LauncherError(f"bad reply {reply!r}")
        return reply

    def ping(self) -> int:
        """The launcher's pid; raises OSError when nothing answers."""
        return int(self.request({"op": "ping"})["pid"])

    def _request_restarting(self, req: dict[str, Any]) -> dict[str, Any]:
        """A request that starts the launcher again (when this client may) if it has gone away."""
        try:
            reply = self.request(req)
        except (ConnectionRefusedError, FileNotFoundError):
            if self.log_path is None:
                raise
            ensure_launcher(self.socket_path, self.log_path)
            reply = self.request(req)
        if not reply.get("ok"):
            raise LauncherError(str(reply.get("error", "start failed")))
        return reply

    def start(self, spec: dict[str, Any]) -> tuple[int, int]:
        """Start a container (netlab.runtime.launcher's docstring describes spec); returns (pid, start_time)."""
        reply = self._request_restarting({"op": "start", **spec})
        return int(reply["pid"]), int(reply["start_time"] or 0)

    def start_many(self, specs: list[dict[str, Any]]) -> list[tuple[int, int] | Exception]:
        """Start several containers in one request; per spec (pid, start_time) or the error."""
        reply = self._request_restarting({"op": "start_many", "specs": specs})
        return [(int(r["pid"]), int(r["start_time"] or 0)) if r.get("ok")
                else LauncherError(str(r.get("error", "start failed"))) for r in reply["results"]]

    def children(self) -> list[dict[str, Any]]:
        """The launcher's children not yet reaped: pid, start_time and exitfile of each."""
        reply = self.request({"op": "children"})
        if not reply.get("ok"):
            raise LauncherError(str(reply.get("error", "children failed")))
        return list(reply["children"])

    def exec(self, req: dict[str, Any], fds: list[int]) -> tuple[int, socket.socket]:
        """Start a command in a container with stdin/stdout/stderr = fds (op "exec"); returns its pid and the
        connection on which the launcher sends ``{"exit": CODE}`` when it ends (the caller closes it)."""
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.settimeout(self.timeout)
            sock.connect(self.socket_path)
            socket.send_fds(sock, [json.dumps({"op": "exec", **req}).encode() + b"\n"], fds)
            line = b""
            while not line.endswith(b"\n"):   # byte by byte: the exit line may follow at once
                chunk = sock.recv(1)
                if not chunk:
                    raise ConnectionError("launcher closed the connection")
                line += chunk
            reply = json.loads(line)
            if not isinstance(reply, dict) or not reply.get("ok"):
                raise LauncherError(str(reply.get("error") if isinstance(reply, dict) else reply))
            return int(reply["pid"]), sock
        except BaseException:
            sock.close()
            raise

    def stop(self) -> None:
        """Ask the launcher to exit (its containers keep running)."""
        try:
            self.request({"op": "stop"})
        except OSError:
            pass


# How long a live helper process may take to start listening. Generous: its imports take tens of seconds on an
# emulated CPU (a VM without KVM); a process that exits is reported at once.
SLOW_START_TIMEOUT = 120.0


def ensure_launcher(
    socket_path: str | os.PathLike[str], log_path: str | os.PathLike[str], timeout: float = SLOW_START_TIMEOUT
) -> LauncherClient:
    """Return a client for the launcher on socket_path, starting one (detached) if nothing answers.

    A launcher that exits is reported at once; the timeout only bounds one that is alive but slow to
    listen (its imports take seconds on an emulated CPU, as in a VM without KVM)."""
    client = LauncherClient(socket_path, log_path)
    try:
        client.ping()
        return client
    except OSError:
        pass
    Path(client.socket_path).parent.mkdir(parents=True, exist_ok=True)
    Path(log_path).parent.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    src = str(Path(__file__).resolve().parents[2])  # so `-m netlab...` works from any cwd
    env["PYTHONPATH"] = os.pathsep.join(p for p in (src, env.get("PYTHONPATH")) if p)
    with open(os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600), "ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "netlab.runtime.launcher", "--socket", client.socket_path],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            cwd="/",
            env=env,
        )
    deadline = time.monotonic() + timeout
    while True:
        try:
            client.ping()
            return client
        except OSError as e:
            if proc.poll() is not None:
                try:  # lost a race with another starter? then its launcher answers
                    client.ping()
                    return client
                except OSError:
                    pass
                raise LauncherError(f"launcher exited with {proc.returncode}; see {log_path}") from e
            if time.monotonic() > deadline:
                msg = f"launcher did not answer on {client.socket_path} within {timeout}s"
                raise LauncherError(msg) from e
            if e.errno not in (errno.ENOENT, errno.ECONNREFUSED, None):
                raise
            time.sleep(0.02)
