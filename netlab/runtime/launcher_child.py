"""The launcher's child side: what a forked container does before it execs (join the pod's network
namespace, confine itself, take its terminal), and the check of a start request.

Split from netlab.runtime.launcher, which keeps the socket protocol, forking and reaping.
"""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import sys
import traceback
from typing import Any

import netlab.images.echo as echo  # imported up front so forked echo containers start instantly
from netlab.compile.security import Profile
from netlab.runtime import sandbox, stdinkeeper, ttyrelay

CLONE_NEWNET = 0x40000000
M_ARENA_MAX = -8  # mallopt(3)
_libc = ctypes.CDLL(None, use_errno=True)
_CHILD_SIGNALS = (signal.SIGCHLD, signal.SIGTERM, signal.SIGINT, signal.SIGHUP)  # handled by the launcher


def _setns(netns: str) -> None:
    fd = os.open(f"/run/netns/{netns}", os.O_RDONLY | os.O_CLOEXEC)
    try:
        if _libc.setns(fd, CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"setns({netns}): {os.strerror(err)}")
    finally:
        os.close(fd)


def _child(req: dict[str, Any], ready_fd: int, tty_fd: int = -1, stdin_fd: int = -1) -> None:
    """Runs in the forked child; never returns. Closes ready_fd once it leads its own session. With tty_fd
    (a `tty: true` container) it opens a pty once confined, takes the slave as stdin, stdout, stderr and
    controlling terminal, and sends the master over tty_fd to its relay.

    One straight sequence from fork to exec (about 60 lines): kept whole so the order of the steps shows."""
    code = 1
    try:
        os.setsid()
        os.close(ready_fd)
        signal.set_wakeup_fd(-1)
        for sig in (*_CHILD_SIGNALS, signal.SIGPIPE, signal.SIGXFSZ):
            signal.signal(sig, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_SETMASK, [])  # pending signals are delivered now
        os.umask(0o022)
        if stdin_fd >= 0:   # stdinOnce: the FIFO's read end, whose writer a keeper holds
            null = stdinkeeper.as_stdin(stdin_fd)
        elif req.get("stdin"):   # a FIFO opened read-write never reads EOF: stdin stays open, as kubelet keeps it
            null = os.open(req["stdin"], os.O_RDWR)
        else:
            null = os.open(os.devnull, os.O_RDONLY)
        log = os.open(req["log"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        os.dup2(null, 0)
        os.dup2(log, 1)
        os.dup2(log, 2)
        if tty_fd >= 0:
            tty_fd = os.dup2(tty_fd, 3, inheritable=False)
        os.closerange(3 if tty_fd < 0 else 4, 65536)  # the launcher's socket, connections, epoll, wakeup pipe
        env = {str(k): str(v) for k, v in (req.get("env") or {}).items()}
        netns = req.get("netns")
        if req.get("security") is not None:
            profile = Profile.from_dict(req["security"])
            try:
                if profile.uid != 0:
                    os.fchown(1, profile.uid, profile.gid)  # so it can reopen /dev/stdout
                sandbox.confine(netns, profile)
                sandbox.drop_privileges(profile)
            except OSError as e:  # as runc's start errors: one line, exit code 128
                os.write(2, f"netlab: cannot set up the container: {e}\n".encode())
                code = 128
                return
        elif netns:
            _setns(netns)
        if tty_fd >= 0:
            ttyrelay.open_terminal(tty_fd)
        os.chdir(req.get("cwd") or "/")
        if req.get("argv"):
            argv = [str(a) for a in req["argv"]]
            try:
                os.execvpe(argv[0], argv, env)
            except OSError as e:
                os.write(2, f"netlab: exec {argv[0]}: {e}\n".encode())
                code = 127
        else:
            spec = req["echo"]
            _libc.mallopt(M_ARENA_MAX, 1)  # the server's threads share one malloc arena: ~150 KB less per pod
            os.environ.clear()
            os.environ.update(env)
            sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
            sys.stderr.reconfigure(line_buffering=True)  # type: ignore[union-attr]
            ports = [(int(p), str(proto)) for p, proto in spec["ports"]]
            echo.serve(ports, echo.Identity.from_dict(spec.get("identity") or {}))
            code = 0
    except BaseException:  # noqa: BLE001 - the child must never return into the launcher loop
        try:
            os.write(2, traceback.format_exc().encode())
        except OSError:
            pass
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except (OSError, ValueError):
            pass
        os._exit(code)


def _start_relay(log: str) -> int:
    """A forked netlab.runtime.ttyrelay for a `tty: true` container; returned: our end of the socket the
    container sends its pty master over (it opens the pty inside its own /dev/pts, as runc does)."""
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        if os.fork() == 0:
            ours.close()
            ttyrelay.relay_child(theirs.fileno(), log)  # never returns
    finally:
        theirs.close()
    return ours.detach()


# --------------------------------------------------------------------------- server side


def _validate_start(req: dict[str, Any]) -> str | None:
    if not isinstance(req.get("log"), str) or not isinstance(req.get("exitfile"), str):
        return "start needs 'log' and 'exitfile' paths"
    if req.get("argv"):
        if not isinstance(req["argv"], list):
            return "'argv' must be a list"
    elif not isinstance(req.get("echo"), dict) or not req["echo"].get("ports"):
        return "start needs 'argv' or 'echo' with ports"
    if req.get("netns") is not None and (not isinstance(req["netns"], str) or "/" in req["netns"]):
        return "bad 'netns'"
    if req.get("env") is not None and not isinstance(req["env"], dict):
        return "'env' must be an object"
    if req.get("pidfile") is not None and not isinstance(req["pidfile"], str):
        return "'pidfile' must be a path"
    if req.get("record") is not None and not isinstance(req["record"], dict):
        return "'record' must be an object"
    if req.get("security") is not None and not isinstance(req["security"], dict):
        return "'security' must be an object"
    return None


