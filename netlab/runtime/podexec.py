"""`netlab exec`: run a command inside a running container, as `kubectl exec` does.

The command joins the container's network, PID and mount namespaces (so it sees what the container sees,
not the host) with the container's user, groups, capabilities, no_new_privs and environment, all read
from the container's pidfile, which the supervisor writes.

Run as ``python -m netlab.runtime.podexec --cluster C --namespace N --pod P --container X -- CMD...``
when the caller cannot exec itself (it must be single-threaded to join a mount namespace).
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import pty
import select
import signal
import sys
import termios
import tty
from pathlib import Path

from netlab.compile import names
from netlab.compile.security import Profile
from netlab.runtime import sandbox
from netlab.runtime.launcher_client import proc_start_time
from netlab.runtime.pidfiles import pod_dir


class ExecError(RuntimeError):
    pass


def pidfile(cluster: str, namespace: str, pod: str, container: str) -> Path:
    """Where the supervisor keeps the container's pid."""
    return pod_dir(Path(names.run_dir(cluster)) / "pods", f"{namespace}/{pod}") / f"{container}.pid"


def target(cluster: str, namespace: str, pod: str, container: str) -> tuple[int, Profile, dict[str, str]]:
    """(pid, profile, environment) of the running container; ExecError when it is not running.

    A pidfile without a profile (written before the supervisor saved one) gets Kubernetes' default
    profile (root, containerd's capabilities), never the host's privileges."""
    try:
        data = json.loads(pidfile(cluster, namespace, pod, container).read_text())
    except (OSError, ValueError) as e:
        raise ExecError(f'container "{container}" in pod "{pod}" is not running') from e
    pid = data.get("pid")
    if not isinstance(pid, int) or proc_start_time(pid) != data.get("start_time"):
        raise ExecError(f'container "{container}" in pod "{pod}" is not running')
    security = data.get("security")
    return pid, Profile.from_dict(security) if security is not None else Profile(), dict(data.get("env") or {})


def exec_in(cluster: str, namespace: str, pod: str, container: str, argv: list[str],
            extra_env: dict[str, str] | None = None, tty: bool = False) -> int:
    """Run argv inside the container; its exit status (128+N for signal N).

    With tty (and a terminal on stdin) the command gets a terminal of the container's own /dev/pts,
    relayed to ours, as `kubectl exec -t` does. This process must be single-threaded."""
    pid, profile, env = target(cluster, namespace, pod, container)
    env.update(extra_env or {})
    sandbox.join(pid)
    use_pty = tty and os.isatty(0)
    if use_pty and os.getsid(0) == os.getpid():
        # the API server started us as a session leader on its pty: make it our controlling terminal, so
        # that a window-size change there reaches us as SIGWINCH (and _relay passes it on)
        with contextlib.suppress(OSError):
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)
    child, master = pty.fork() if use_pty else (os.fork(), -1)
    if child == 0:
        _exec(profile, argv, env)
    for sig in (signal.SIGINT, signal.SIGQUIT):  # the terminal's keys are for the command
        signal.signal(sig, signal.SIG_IGN)
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda signum, frame: os.kill(child, signum))
    if use_pty:
        _relay(master)
    _, status = os.waitpid(child, 0)
    code = os.waitstatus_to_exitcode(status)
    return 128 - code if code < 0 else code


def _exec(profile: Profile, argv: list[str], env: dict[str, str]) -> None:
    """In the forked child: become the container's user and run argv; never returns."""
    code = 126
    try:
        sandbox.drop_privileges(profile)
        os.execvpe(argv[0], argv, env)
    except OSError as e:
        code = 127 if isinstance(e, FileNotFoundError) else 126
        os.write(2, f"netlab exec: {argv[0]}: {e.strerror}\n".encode())
    finally:
        os._exit(code)


def _relay(master: int) -> None:
    """Copy our terminal to the command's and back (raw mode, window size) until it closes."""
    def resize(*_: object) -> None:
        fcntl.ioctl(master, termios.TIOCSWINSZ, fcntl.ioctl(0, termios.TIOCGWINSZ, b"\0" * 8))

    saved = termios.tcgetattr(0)
    resize()
    signal.signal(signal.SIGWINCH, resize)
    tty.setraw(0)
    try:
        while True:
            try:
                ready, _, _ = select.select([0, master], [], [])
            except InterruptedError:
                continue
            if master in ready:
                try:
                    data = os.read(master, 65536)
                except OSError:  # EIO: the command's side is closed
                    return
                if not data:
                    return
                os.write(1, data)
            if 0 in ready:
                data = os.read(0, 65536)
                if not data:
                    return
                os.write(master, data)
    finally:
        termios.tcsetattr(0, termios.TCSAFLUSH, saved)


def forked_child(req: dict, fds: list[int], reset_signals: tuple[int, ...]) -> None:
    """In a child the launcher forked for op "exec": the given stdin/stdout/stderr, a session of its own
    (so that a pty among them becomes its terminal), the launcher's signal handlers undone, then
    exec_in; never returns."""
    code = 1
    try:
        os.setsid()
        signal.set_wakeup_fd(-1)
        for sig in reset_signals:
            signal.signal(sig, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_SETMASK, [])
        for target_fd, fd in enumerate(fds):
            os.dup2(fd, target_fd)
        os.closerange(3, 65536)
        code = exec_in(req["cluster"], req["namespace"], req["pod"], req["container"],
                       [str(a) for a in req["argv"]], dict(req.get("env") or {}), bool(req.get("tty")))
    except BaseException as e:  # noqa: BLE001 - the child must never return into the launcher loop
        with contextlib.suppress(OSError):
            os.write(2, f"netlab exec: {e}\n".encode())
    finally:
        os._exit(code)


def command(cluster: str, namespace: str, pod: str, container: str, argv: list[str],
            tty: bool = False) -> list[str]:
    """The argv that runs argv in the container through this module (for callers with threads)."""
    return [sys.executable, "-m", "netlab.runtime.podexec", "--cluster", cluster, "--namespace", namespace,
            "--pod", pod, "--container", container, *(["--tty"] if tty else []), "--", *argv]


def descendants(pid: int) -> list[int]:
    """pid's living descendants (as the host sees them, also those inside a pod's PID namespace)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                data = f.read()
        except OSError:
            continue
        ppid = int(data[data.rfind(b")") + 2 :].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def kill_tree(pid: int) -> None:
    """SIGKILL pid and everything it started (a vanished exec client leaves no process behind)."""
    for victim in [pid, *descendants(pid)]:
        with contextlib.suppress(OSError):
            os.kill(victim, signal.SIGKILL)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="netlab.runtime.podexec")
    for opt in ("--cluster", "--namespace", "--pod", "--container"):
        parser.add_argument(opt, required=True)
    parser.add_argument("--tty", action="store_true", help="give the command a terminal")
    parser.add_argument("command", nargs="+")
    args = parser.parse_args(argv)
    extra = {"TERM": os.environ["TERM"]} if args.tty and "TERM" in os.environ else {}
    try:
        return exec_in(args.cluster, args.namespace, args.pod, args.container, args.command, extra, args.tty)
    except (ExecError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
