"""Container supervision through a real launcher, in the current network namespace (no root needed)."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from netlab.runtime.containers import ContainerSpec, Event, Supervisor
from netlab.runtime.launcher_client import LauncherClient, ensure_launcher, proc_start_time
from netlab.runtime.pidfiles import kill_tree_by_pidfiles

ENV = {"PATH": "/usr/local/bin:/usr/bin:/bin"}


def kill(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


@pytest.fixture
def launcher(tmp_path: Path) -> Iterator[LauncherClient]:
    client = ensure_launcher(tmp_path / "l.sock", tmp_path / "launcher.log")
    launcher_pid = client.ping()
    try:
        yield client
    finally:
        kill_tree_by_pidfiles(tmp_path / "run", grace=0.5)
        client.stop()
        deadline = time.monotonic() + 2
        while proc_start_time(launcher_pid) is not None and time.monotonic() < deadline:
            time.sleep(0.02)
        if proc_start_time(launcher_pid) is not None:
            os.kill(launcher_pid, signal.SIGKILL)


@pytest.fixture
def make_sup(launcher: LauncherClient, tmp_path: Path) -> Iterator[Callable[[], Supervisor]]:
    """Supervisors over one run_dir, with short back-off; every container they know is killed at the end."""
    made: list[Supervisor] = []

    def make() -> Supervisor:
        sup = Supervisor(launcher, tmp_path / "run", backoff_initial=0.2, backoff_max=0.8, stop_grace=0.3)
        made.append(sup)
        return sup

    try:
        yield make
    finally:
        for sup in made:
            for c in sup._containers.values():
                if c.pid is not None and proc_start_time(c.pid) == c.start_time:
                    kill(c.pid)


def spec(name: str, argv: list[str] | None, policy: str = "Always", pod: str = "default/a") -> ContainerSpec:
    return ContainerSpec(
        pod_key=pod,
        netns=None,
        name=name,
        argv=argv,
        echo_ports=[],
        identity={},
        env=ENV,
        restart_policy=policy,
    )


def tick_until(sup: Supervisor, pred: Callable[[], bool], timeout: float = 4.0) -> list[Event]:
    events: list[Event] = []
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out; events so far: {events}")
        time.sleep(0.02)
        events += sup.tick()
    return events


def tick_for(sup: Supervisor, seconds: float) -> list[Event]:
    events: list[Event] = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        events += sup.tick()
        time.sleep(0.02)
    return events


def test_always_restarts_with_growing_backoff(make_sup) -> None:
    sup = make_sup()
    sup.sync([spec("c", ["sh", "-c", "echo run; exit 1"])])
    st = lambda: sup.status("default/a")[0]  # noqa: E731

    events = sup.tick()
    events += tick_until(sup, lambda: st().reason == "CrashLoopBackOff")
    exited_at = time.monotonic()
    assert [e.reason for e in events] == ["Started", "Exited", "BackOff"]
    assert st().state == "waiting" and st().exit_code == 1 and st().restart_count == 0
    tick_until(sup, lambda: st().restart_count == 1)
    first_wait = time.monotonic() - exited_at
    assert first_wait >= 0.18  # not at once: kubelet-style back-off

    tick_until(sup, lambda: st().reason == "CrashLoopBackOff")
    exited_at = time.monotonic()
    tick_until(sup, lambda: st().restart_count == 2)
    assert time.monotonic() - exited_at >= 0.38  # doubled
    log = Path(sup.log_path("default/a", "c"))
    assert (log.read_text() if log.exists() else "").count("run") <= 1   # each run its own log; the last
    # one's is kept for `kubectl logs -p`
    assert log.with_name("c.previous.log").read_text().count("run") == 1


def test_onfailure_and_never(make_sup) -> None:
    sup = make_sup()
    sup.sync(
        [
            spec("ok", ["sh", "-c", "exit 0"], "OnFailure"),
            spec("bad", ["sh", "-c", "exit 2"], "OnFailure"),
            spec("never", ["sh", "-c", "exit 1"], "Never"),
        ]
    )
    by_name = lambda: {s.name: s for s in sup.status("default/a")}  # noqa: E731
    tick_until(sup, lambda: by_name()["bad"].restart_count >= 1 and by_name()["never"].state == "terminated")
    tick_for(sup, 0.3)
    s = by_name()
    assert (s["ok"].state, s["ok"].reason, s["ok"].exit_code, s["ok"].restart_count) == (
        "terminated",
        "Completed",
        0,
        0,
    )
    assert (s["never"].state, s["never"].reason, s["never"].exit_code, s["never"].restart_count) == (
        "terminated",
        "Error",
        1,
        0,
    )
    assert s["bad"].restart_count >= 1 and s["bad"].finished_at is not None


def test_second_supervisor_adopts_running_container(make_sup) -> None:
    first = make_sup()
    first.sync([spec("sleeper", ["sleep", "30"])])
    first.tick()
    pid = first.status("default/a")[0].pid
    assert pid is not None

    second = make_sup()  # the controller restarted
    second.sync([spec("sleeper", ["sleep", "30"])])
    events = tick_for(second, 0.3)
    assert [e for e in events if e.reason == "Started"] == []
    s = second.status("default/a")[0]
    assert (s.state, s.pid, s.restart_count) == ("running", pid, 0)


def test_stop_pod_kills_its_processes(make_sup, tmp_path: Path) -> None:
    sup = make_sup()
    child_file = tmp_path / "child.pid"
    sup.sync(
        [
            spec("sh", ["sh", "-c", f"sleep 30 & echo $! > {child_file}; wait"]),
            spec("stubborn", ["sh", "-c", "trap '' TERM; sleep 30"]),
            spec("other", ["sleep", "30"], pod="default/pod-b"),
        ]
    )
    sup.tick()
    tick_until(sup, lambda: child_file.exists() and child_file.read_text().strip() != "")
    child = int(child_file.read_text())
    pids = [s.pid for s in sup.status("default/a")]
    assert all(pids)

    sup.stop_pod("default/a")
    assert sup.status("default/a") == []
    gone = lambda: all(proc_start_time(p) is None for p in [*pids, child])  # noqa: E731
    events = tick_until(sup, gone)  # the stubborn one needs SIGKILL after stop_grace
    assert sup.status("default/pod-b")[0].state == "running"
    assert not any(e.reason == "Started" for e in events)


def test_sync_stops_undesired_and_echo_container(make_sup) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    sup = make_sup()
    echo = ContainerSpec(
        pod_key="default/web",
        netns=None,
        name="echo",
        argv=None,
        echo_ports=[(port, "TCP")],
        identity={"pod": "web", "namespace": "default"},
        env=ENV,
        restart_policy="Always",
    )
    sup.sync([echo])
    sup.tick()

    def answer() -> bool:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            conn.request("GET", "/")
            ok = "container: echo" in conn.getresponse().read().decode()
            conn.close()
            return ok
        except OSError:
            return False

    tick_until(sup, answer)
    pid = sup.status("default/web")[0].pid
    assert pid is not None
    sup.sync([])
    events = sup.tick()
    assert any(e.reason == "Killing" for e in events)
    tick_until(sup, lambda: proc_start_time(pid) is None)
    assert sup.status("default/web") == []


def test_kill_tree_by_pidfiles(make_sup, tmp_path: Path) -> None:
    sup = make_sup()
    sup.sync([spec("a", ["sleep", "30"]), spec("b", ["sleep", "30"], pod="kube-system/dns")])
    pids = [s.pid for pod in ("default/a", "kube-system/dns") for s in sup.status(pod)]
    assert kill_tree_by_pidfiles(tmp_path / "run", grace=1.0) == 2
    deadline = time.monotonic() + 2
    while any(proc_start_time(p) is not None for p in pids if p) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert all(proc_start_time(p) is None for p in pids if p)


def test_adopted_container_that_died_meanwhile_is_restarted(make_sup) -> None:
    first = make_sup()
    first.sync([spec("c", ["sleep", "30"])])
    pid = first.status("default/a")[0].pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)  # dies while no controller watches

    second = make_sup()
    second.sync([spec("c", ["sleep", "30"])])
    st = lambda: second.status("default/a")[0]  # noqa: E731
    events = tick_until(second, lambda: st().restart_count == 1)
    assert [e.reason for e in events][:2] == ["Exited", "BackOff"]
    assert st().exit_code == 128 + signal.SIGKILL and st().pid not in (None, pid)


def _launched(launcher: LauncherClient, sup: Supervisor, s: ContainerSpec) -> tuple[int, int]:
    """Start a container exactly as sup would, then "crash" before sup hears the answer."""
    c = sup._containers.get((s.pod_key, s.name))
    req = sup._request(s)
    Path(req["log"]).parent.mkdir(parents=True, exist_ok=True)
    record = {"restart_count": c.restart_count if c else 0}
    result = launcher.start_many([{**req, "record": record}])[0]
    assert not isinstance(result, Exception)
    return result


def _alive_children(launcher: LauncherClient, sup: Supervisor, s: ContainerSpec) -> list[int]:
    exitfile = str(sup._files(s)[2])
    return [ch["pid"] for ch in launcher.children()
            if ch["exitfile"] == exitfile and proc_start_time(ch["pid"]) == ch["start_time"]]


def test_launcher_writes_the_pidfile_before_it_answers(launcher, make_sup) -> None:
    s = spec("c", ["sleep", "30"])
    first = make_sup()
    pid, start_time = _launched(launcher, first, s)  # the controller dies here, before saving anything
    record = json.loads(first._files(s)[1].read_text())
    assert (record["pid"], record["start_time"]) == (pid, start_time)

    second = make_sup()
    second.sync([s])
    events = tick_for(second, 0.3)
    assert not [e for e in events if e.reason == "Started"]
    assert second.status("default/a")[0].pid == pid
    assert _alive_children(launcher, second, s) == [pid]


def test_unrecorded_child_is_adopted_and_duplicates_stopped(launcher, make_sup) -> None:
    s = spec("c", ["sleep", "30"])
    first = make_sup()
    older, _ = _launched(launcher, first, s)
    first._files(s)[1].unlink()  # no record of it at all: only the launcher knows it
    second = make_sup()
    second.sync([s])
    assert second.status("default/a")[0].pid == older

    # Two processes for one container (what an old controller left behind): the pidfile's one stays.
    third_pid, _ = _launched(launcher, second, s)
    third = make_sup()
    third.sync([s])
    events = tick_until(third, lambda: proc_start_time(older) is None)
    events += third.tick()   # the duplicate may be gone before the first tick: its event is still queued
    assert any(e.reason == "Killing" and str(older) in e.message for e in events)
    tick_for(third, 0.3)  # the stopped duplicate's exit file must not end the adopted container
    st = third.status("default/a")[0]
    assert (st.state, st.pid) == ("running", third_pid)
    assert _alive_children(launcher, third, s) == [third_pid]


def test_unwanted_launcher_child_is_stopped(launcher, make_sup) -> None:
    s = spec("c", ["sleep", "30"], pod="default/gone")
    pid, _ = _launched(launcher, make_sup(), s)
    Path(make_sup()._files(s)[1]).unlink()
    sup = make_sup()
    sup.sync([])
    tick_until(sup, lambda: proc_start_time(pid) is None)
def test_a_container_kubelet_would_refuse_is_never_started(make_sup, tmp_path: Path) -> None:
    sup = make_sup()
    refused = spec("app", ["sleep", "30"])
    refused.config_error = "container has runAsNonRoot and image will run as root"
    sup.sync([refused])
    events = tick_for(sup, 0.3)
    [status] = sup.status("default/a")
    assert (status.state, status.reason, status.pid) == ("waiting", "CreateContainerConfigError", None)
    assert status.message == refused.config_error
    assert [(e.reason, e.message) for e in events] == [("Failed", f"Error: {refused.config_error}")]
    assert not (tmp_path / "run" / "default_a" / "app.pid").exists()


def test_a_container_waiting_for_its_volume_starts_once_it_is_there(make_sup, tmp_path: Path) -> None:
    sup = make_sup()
    waiting = spec("app", ["sleep", "30"])
    waiting.config_error = 'MountVolume.SetUp failed for volume "cfg" : configmap "cfg" not found'
    sup.sync([waiting])
    events = tick_for(sup, 0.3)
    [status] = sup.status("default/a")
    assert (status.state, status.reason, status.pid) == ("waiting", "ContainerCreating", None)
    assert [(e.reason, e.message) for e in events] == [("FailedMount", waiting.config_error)]
    sup.sync([spec("app", ["sleep", "30"])])   # the ConfigMap was applied: the next compile has no error
    tick_until(sup, lambda: sup.status("default/a")[0].state == "running")


def test_runtime_files_are_root_only(make_sup, tmp_path: Path) -> None:
    sup = make_sup()
    sup.sync([spec("app", ["sleep", "30"])])
    pod = tmp_path / "run" / "default_a"
    tick_until(sup, lambda: (pod / "app.pid").exists() and (pod / "app.log").exists())
    assert (pod.stat().st_mode & 0o777, (tmp_path / "run").stat().st_mode & 0o777) == (0o700, 0o700)
    assert (pod / "app.pid").stat().st_mode & 0o777 == 0o600
    assert (pod / "app.log").stat().st_mode & 0o777 == 0o600


def test_stdin_container_reads_its_fifo(make_sup) -> None:
    """`stdin: true`: the container reads a FIFO beside its log (what `kubectl attach -i` writes to), which
    stays open: no EOF while nothing is written."""
    sup = make_sup()
    c = spec("r", ["sh", "-c", "while read line; do echo got:$line; done"])
    c.stdin = True
    sup.sync([c])
    log = Path(sup.log_path("default/a", "r"))
    fifo = log.with_name("r.stdin")
    tick_until(sup, lambda: fifo.exists() and sup.status("default/a")[0].state == "running")
    time.sleep(0.2)
    assert sup.status("default/a")[0].state == "running"     # no EOF: still reading
    fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
    os.write(fd, b"hello\n")
    os.close(fd)
    tick_until(sup, lambda: log.exists() and log.read_text() == "got:hello\n")


def test_a_draining_pods_containers_are_signalled_and_not_restarted(make_sup) -> None:
    sup = make_sup()
    sup.sync([spec("c", ["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 0.05; done"])])
    tick_until(sup, lambda: sup.running("default/a") == {"c"})
    sup.drain("default/a")
    assert sup.signal_container("default/a", "c", signal.SIGTERM)
    events = tick_until(sup, lambda: sup.status("default/a")[0].state == "terminated")
    assert "BackOff" not in [e.reason for e in events]
    assert sup.running("default/a") == set()
    assert [e.reason for e in tick_for(sup, 0.5)] == []   # Always, but the pod is going: no restart
