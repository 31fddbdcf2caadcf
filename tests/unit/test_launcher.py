"""The launcher zygote, in the current network namespace (no root needed)."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from netlab.runtime.launcher_client import LauncherClient, LauncherError, ensure_launcher, proc_start_time

ENV = {"PATH": "/usr/local/bin:/usr/bin:/bin"}


def wait_for(pred: Callable[[], object], timeout: float = 5.0) -> object:
    deadline = time.monotonic() + timeout
    while True:
        value = pred()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.02)


def kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


@pytest.fixture
def launcher(tmp_path: Path) -> Iterator[tuple[LauncherClient, list[int]]]:
    """A launcher; the test appends the pids it starts so they are killed afterwards."""
    client = ensure_launcher(tmp_path / "l.sock", tmp_path / "launcher.log")
    launcher_pid = client.ping()
    started: list[int] = []
    try:
        yield client, started
    finally:
        for pid in started:
            kill(pid)
        client.stop()
        try:
            wait_for(lambda: proc_start_time(launcher_pid) is None, 2.0)
        except AssertionError:
            kill(launcher_pid)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_ping_and_reuse(launcher, tmp_path: Path) -> None:
    client, _ = launcher
    pid = client.ping()
    assert pid > 0 and pid != os.getpid()
    assert oct(os.stat(tmp_path / "l.sock").st_mode & 0o777) == "0o600"
    # ensure_launcher finds the running one instead of starting another
    assert ensure_launcher(tmp_path / "l.sock", tmp_path / "launcher.log").ping() == pid


def test_start_argv_log_and_exit_code(launcher, tmp_path: Path) -> None:
    client, started = launcher
    log, exitfile = tmp_path / "c.log", tmp_path / "c.exit"
    pid, start_time = client.start(
        {
            "netns": None,
            "argv": ["sh", "-c", "echo hi; echo $FOO >&2; exit 3"],
            "env": {**ENV, "FOO": "bar"},
            "cwd": None,
            "log": str(log),
            "exitfile": str(exitfile),
        }
    )
    started.append(pid)
    assert start_time > 0
    wait_for(exitfile.exists)
    assert exitfile.read_text().strip() == "3"
    assert log.read_text().split() == ["hi", "bar"]


def test_exec_failure_and_bad_request(launcher, tmp_path: Path) -> None:
    client, started = launcher
    exitfile = tmp_path / "x.exit"
    pid, _ = client.start(
        {
            "netns": None,
            "argv": ["/nonexistent/binary"],
            "env": ENV,
            "log": str(tmp_path / "x.log"),
            "exitfile": str(exitfile),
        }
    )
    started.append(pid)
    wait_for(exitfile.exists)
    assert exitfile.read_text().strip() == "127"
    assert "nonexistent" in (tmp_path / "x.log").read_text()
    with pytest.raises(LauncherError):
        client.start({"netns": None, "argv": None, "echo": None, "env": ENV})


def test_killed_by_signal_and_survives_launcher_stop(launcher, tmp_path: Path) -> None:
    client, started = launcher
    exitfile = tmp_path / "s.exit"
    pid, start_time = client.start(
        {
            "netns": None,
            "argv": ["sleep", "30"],
            "env": ENV,
            "log": str(tmp_path / "s.log"),
            "exitfile": str(exitfile),
        }
    )
    started.append(pid)
    assert os.getsid(pid) == pid  # its own session
    os.kill(pid, signal.SIGTERM)
    wait_for(exitfile.exists)
    assert exitfile.read_text().strip() == str(128 + signal.SIGTERM)

    pid2, start2 = client.start(
        {
            "netns": None,
            "argv": ["sleep", "30"],
            "env": ENV,
            "log": str(tmp_path / "s2.log"),
            "exitfile": str(tmp_path / "s2.exit"),
        }
    )
    started.append(pid2)
    launcher_pid = client.ping()
    client.stop()
    wait_for(lambda: proc_start_time(launcher_pid) is None, 2.0)
    assert proc_start_time(pid2) == start2  # the container outlives the launcher


def test_start_echo(launcher, tmp_path: Path) -> None:
    client, started = launcher
    port = free_port()
    exitfile = tmp_path / "e.exit"
    pid, _ = client.start(
        {
            "netns": None,
            "argv": None,
            "env": ENV,
            "cwd": None,
            "echo": {"ports": [[port, "TCP"]], "identity": {"pod": "pod-a", "namespace": "default"}},
            "log": str(tmp_path / "e.log"),
            "exitfile": str(exitfile),
        }
    )
    started.append(pid)

    def answer() -> str | None:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/")
            body = conn.getresponse().read().decode()
            conn.close()
            return body
        except OSError:
            return None

    body = wait_for(answer)
    assert "pod: pod-a" in str(body)
    os.kill(pid, signal.SIGTERM)
    wait_for(exitfile.exists)
    assert exitfile.read_text().strip() == "0"
    wait_for(lambda: '"GET / HTTP/1.1" 200' in (tmp_path / "e.log").read_text())
