"""The launcher: a small single-threaded "zygote" that forks containers.

Starting a fresh interpreter per container costs ~40 ms and ~10 MB, so one launcher per cluster is
started once (``python -m netlab.runtime.launcher --socket PATH``) and forks containers cheaply.

Protocol: a Unix stream socket (mode 0600), one JSON request per line, one JSON reply per line.

- ``{"op": "ping"}`` -> ``{"ok": true, "pid": N}``
- ``{"op": "start", "netns", "argv" | "echo", "env", "cwd", "log", "exitfile"[, "pidfile", "record", "security",
  "stdin", "stdin_once", "tty"]}`` (stdin: a FIFO to read instead of /dev/null, with stdin_once read to EOF
  once netlab.runtime.stdinkeeper lets go; tty: true runs it on a pty of its own, whose master
  netlab.runtime.ttyrelay keeps)
  -> ``{"ok": true, "pid": N, "start_time": T}`` or ``{"ok": false, "error": "..."}``
- ``{"op": "children"}`` -> ``{"ok": true, "children": [{"pid", "start_time", "exitfile"}, ...]}``: every
  child not yet reaped.
- ``{"op": "stop"}`` -> the launcher exits; its children keep running.
- ``{"op": "exec", "cluster", "namespace", "pod", "container", "argv"[, "env", "tty"]}`` with three file
  descriptors (stdin, stdout, stderr) passed alongside (SCM_RIGHTS) -> ``{"ok": true, "pid": N}``, and later
  on the same connection ``{"exit": CODE}`` when that process ends: the command runs in the container as
  netlab.runtime.podexec runs it (`kubectl exec` through the API server, without a fresh interpreter).

With ``pidfile``, the launcher writes ``record`` plus the child's pid and start_time there (atomically)
before it replies: a supervisor killed while waiting for the reply still finds the container when it
comes back, instead of starting a second one next to it.

With "security" (a netlab.compile.security.Profile as a dict) the child confines itself with
netlab.runtime.sandbox before it execs; without it the child only joins the network namespace.

When a child is reaped its exit status (exit code, or 128+signal) is written atomically to its exitfile.
Containers outlive the launcher: after a launcher restart nobody writes their exitfile, so supervisors
also watch the pid (see :func:`proc_start_time`).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import selectors
import signal
import socket
import sys
from typing import Any

from netlab.runtime import podexec, sandbox, stdinkeeper
from netlab.runtime.files import write_atomic
from netlab.runtime.launcher_child import _CHILD_SIGNALS, _child, _start_relay, _validate_start
from netlab.runtime.launcher_client import LauncherError, proc_start_time

MAX_LINE = 1 << 20


class Launcher:
    """The server: a selectors loop over the listening socket, clients and the signal wakeup pipe."""

    def __init__(self, socket_path: str) -> None:
        self.socket_path = socket_path
        self.exitfiles: dict[int, str] = {}
        self.start_times: dict[int, int | None] = {}  # of every child not yet reaped
        self.running = True
        self.sel = selectors.DefaultSelector()
        self.buffers: dict[socket.socket, bytearray] = {}
        self.exec_waiters: dict[int, socket.socket] = {}  # exec children -> the connection told of their exit

    def _bind(self) -> socket.socket:
        path = self.socket_path
        if os.path.exists(path):
            probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                probe.connect(path)
            except OSError:
                os.unlink(path)  # stale socket from a dead launcher
            else:
                raise LauncherError(f"a launcher already listens on {path}")
            finally:
                probe.close()
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old = os.umask(0o177)
        try:
            sock.bind(path)
        finally:
            os.umask(old)
        os.chmod(path, 0o600)
        sock.listen(64)
        sock.setblocking(False)
        return sock

    def run(self) -> None:
        listener = self._bind()
        rpipe, wpipe = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        signal.set_wakeup_fd(wpipe)
        signal.signal(signal.SIGCHLD, lambda *_: None)
        signal.signal(signal.SIGTERM, self._on_term)
        signal.signal(signal.SIGINT, self._on_term)
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        self.sel.register(listener, selectors.EVENT_READ, "listen")
        self.sel.register(rpipe, selectors.EVENT_READ, "wakeup")
        print(f"launcher {os.getpid()} listening on {self.socket_path}", flush=True)
        try:
            while self.running:
                for key, _ in self.sel.select(timeout=5.0):
                    if key.data == "listen":
                        self._accept(listener)
                    elif key.data == "wakeup":
                        self._drain(rpipe)
                    else:
                        self._read(key.fileobj)  # type: ignore[arg-type]
                self._reap()
        finally:
            signal.set_wakeup_fd(-1)
            for conn in list(self.buffers):
                self._close(conn)
            self.sel.close()
            listener.close()
            try:
                os.unlink(self.socket_path)
            except OSError:
                pass
            print(f"launcher {os.getpid()} exiting", flush=True)

    def _on_term(self, signum: int, frame: object) -> None:
        self.running = False

    @staticmethod
    def _drain(fd: int) -> None:
        try:
            while os.read(fd, 4096):
                pass
        except BlockingIOError:
            pass

    def _accept(self, listener: socket.socket) -> None:
        try:
            conn, _ = listener.accept()
        except OSError:
            return
        conn.setblocking(False)
        self.buffers[conn] = bytearray()
        self.sel.register(conn, selectors.EVENT_READ, "conn")

    def _close(self, conn: socket.socket) -> None:
        self.buffers.pop(conn, None)
        for pid in [p for p, c in self.exec_waiters.items() if c is conn]:
            del self.exec_waiters[pid]
        try:
            self.sel.unregister(conn)
        except (KeyError, ValueError):
            pass
        conn.close()

    def _read(self, conn: socket.socket) -> None:
        fds: list[int] = []
        try:
            data, fds, _, _ = socket.recv_fds(conn, 65536, 3)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        try:
            self._read_data(conn, data, fds)
        finally:
            for fd in fds:
                os.close(fd)

    def _read_data(self, conn: socket.socket, data: bytes, fds: list[int]) -> None:
        if not data:
            self._close(conn)
            return
        buf = self.buffers[conn]
        buf += data
        while b"\n" in buf and self.running:
            line, _, rest = bytes(buf).partition(b"\n")
            buf[:] = rest
            reply = self._exec(conn, line, fds) if b'"exec"' in line else self._handle(line)
            try:
                conn.setblocking(True)
                conn.settimeout(2.0)
                conn.sendall(json.dumps(reply).encode() + b"\n")
                conn.setblocking(False)
            except OSError:
                self._close(conn)
                return
        if len(buf) > MAX_LINE:
            self._close(conn)

    def _handle(self, line: bytes) -> dict[str, Any]:
        try:
            req = json.loads(line)
            if not isinstance(req, dict):
                raise ValueError("request must be a JSON object")
        except ValueError as e:
            return {"ok": False, "error": f"bad request: {e}"}
        op = req.get("op")
        if op == "ping":
            return {"ok": True, "pid": os.getpid()}
        if op == "children":
            return {"ok": True, "children": [{"pid": pid, "start_time": self.start_times.get(pid), "exitfile": f}
                                             for pid, f in sorted(self.exitfiles.items())]}
        if op == "stop":
            self.running = False
            return {"ok": True, "pid": os.getpid()}
        if op == "start":
            try:
                return self._start(req)
            except Exception as e:  # noqa: BLE001 - report, never die
                return {"ok": False, "error": f"{type(e).__name__}: {e}"}
        if op == "start_many":
            try:
                return {"ok": True, "results": self._start_many(list(req.get("specs") or []))}
            except Exception as e:  # noqa: BLE001 - report, never die
                return {"ok": False, "error": f"{type(e).__name__}: {e}"}
        return {"ok": False, "error": f"unknown op {op!r}"}

    def _exec(self, conn: socket.socket, line: bytes, fds: list[int]) -> dict[str, Any]:
        """Fork a command into a container with the client's three descriptors; its exit is sent later."""
        try:
            req = json.loads(line)
        except ValueError as e:
            return {"ok": False, "error": f"bad request: {e}"}
        if not isinstance(req, dict) or req.get("op") != "exec":
            return self._handle(line)
        fields = ("cluster", "namespace", "pod", "container")
        if len(fds) != 3 or not all(isinstance(req.get(f), str) for f in fields) or not req.get("argv"):
            return {"ok": False, "error": "exec needs cluster, namespace, pod, container, argv and 3 descriptors"}
        sys.stdout.flush()
        sys.stderr.flush()
        old_mask = signal.pthread_sigmask(signal.SIG_BLOCK, _CHILD_SIGNALS)
        try:
            pid = os.fork()
            if pid == 0:
                podexec.forked_child(req, fds, (*_CHILD_SIGNALS, signal.SIGPIPE, signal.SIGXFSZ))  # never returns
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, old_mask)
        self.exec_waiters[pid] = conn
        return {"ok": True, "pid": pid}

    def _start(self, req: dict[str, Any]) -> dict[str, Any]:
        return self._start_many([req])[0]

    def _start_many(self, reqs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Fork every container first, then wait for each to lead its own session: the children start up
        side by side instead of one after another."""
        forked: list[tuple[dict[str, Any], int, int] | dict[str, Any]] = []
        for req in reqs:
            problem = _validate_start(req)
            if problem:
                forked.append({"ok": False, "error": problem})
                continue
            try:
                os.unlink(req["exitfile"])
            except FileNotFoundError:
                pass
            sys.stdout.flush()
            sys.stderr.flush()
            # Block signals across fork so none reaches the child before it resets the launcher's handlers.
            old_mask = signal.pthread_sigmask(signal.SIG_BLOCK, _CHILD_SIGNALS)
            ready_r, ready_w = os.pipe2(os.O_CLOEXEC)
            # a confined container is PID 1 of its own namespace (unless hostPID)
            own_pids = req.get("security") is not None and not req["security"].get("hostPID")
            tty_fd = _start_relay(req["log"]) if req.get("tty") else -1
            stdin_fd = stdinkeeper.start(req["stdin"], req["log"]) if req.get("stdin_once") else -1
            try:
                with sandbox.pid_namespace_for_child() if own_pids else contextlib.nullcontext():
                    pid = os.fork()
                    if pid == 0:
                        os.close(ready_r)
                        _child(req, ready_w, tty_fd, stdin_fd)  # never returns
            finally:
                signal.pthread_sigmask(signal.SIG_SETMASK, old_mask)
                os.close(ready_w)
                for fd in (tty_fd, stdin_fd):
                    if fd >= 0:
                        os.close(fd)
            forked.append((req, pid, ready_r))
        replies = []
        for item in forked:
            if isinstance(item, dict):
                replies.append(item)
                continue
            req, pid, ready_r = item
            try:
                os.read(ready_r, 1)  # EOF once the child has called setsid(): its pgid is then its pid
            finally:
                os.close(ready_r)
            self.exitfiles[pid] = req["exitfile"]
            start_time = proc_start_time(pid, zombies=True)  # readable even if it exited: not reaped yet
            self.start_times[pid] = start_time
            if req.get("pidfile"):
                record = {**(req.get("record") or {}), "pid": pid, "start_time": start_time}
                try:
                    write_atomic(req["pidfile"], json.dumps(record) + "\n")
                except OSError as e:
                    print(f"launcher: cannot write {req['pidfile']}: {e}", flush=True)
            replies.append({"ok": True, "pid": pid, "start_time": start_time})
        return replies

    def _reap(self) -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            code = os.waitstatus_to_exitcode(status)
            code = 128 - code if code < 0 else code
            waiter = self.exec_waiters.pop(pid, None)
            if waiter is not None:
                try:
                    waiter.setblocking(True)
                    waiter.settimeout(2.0)
                    waiter.sendall(json.dumps({"exit": code}).encode() + b"\n")
                except OSError:
                    pass
                self._close(waiter)
                continue
            exitfile = self.exitfiles.pop(pid, None)
            self.start_times.pop(pid, None)
            if exitfile:
                try:
                    write_atomic(exitfile, f"{code}\n")
                except OSError as e:
                    print(f"launcher: cannot write {exitfile}: {e}", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="netlab.runtime.launcher")
    parser.add_argument("--socket", required=True, help="Unix socket path to listen on")
    args = parser.parse_args(argv)
    try:
        Launcher(args.socket).run()
    except LauncherError as e:
        print(f"launcher: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
