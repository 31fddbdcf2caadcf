"""Container supervision for the controller: start, watch, restart (kubelet-style back-off), stop.

Containers are started through the launcher and identified by (pid, start_time) so that a reused pid
is never mistaken for a container. Everything needed to pick containers up again lives in files, so a
restarted controller re-adopts running containers instead of starting duplicates. The launcher writes
the pidfile itself before it answers a start, so a supervisor that dies while waiting for the answer
loses nothing; and on its first sync a supervisor also asks the launcher for its living children, to
adopt one it has no record of and to stop any second process of the same container:

    <run_dir>/<ns>_<pod>/<container>.log    output of the current run (the last run's: <container>.previous.log)
    <run_dir>/<ns>_<pod>/<container>.pid    and .exit: see netlab.runtime.pidfiles

A Supervisor is not thread-safe: the controller calls it from one loop.
"""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from netlab.compile.containerspec import ContainerSpec
from netlab.compile.volumes import MOUNT_FAILED
from netlab.runtime import phases, volumes
from netlab.runtime.files import private_dir, write_atomic
from netlab.runtime.launcher_client import LauncherClient, proc_start_time
from netlab.runtime.pidfiles import pidfile_records, pod_dir, read_exit, read_json, signal_group
from netlab.runtime.start_request import start_request, stdin_fifo

UNKNOWN_EXIT = 137  # exit code reported when a container vanished without an exit file
GONE_GRACE = 1.0  # how long a vanished pid waits for its exit file before it is declared dead


@dataclass
class ContainerStatus:
    name: str
    state: str  # waiting | running | terminated
    reason: str  # ContainerCreating | CrashLoopBackOff | Completed | Error | ""
    exit_code: int | None  # of the last termination
    restart_count: int
    started_at: float | None  # wall clock
    finished_at: float | None  # wall clock, of the last termination
    pid: int | None
    message: str = ""  # why it is waiting, when kubelet would say


@dataclass
class Event:
    pod_key: str
    container: str
    reason: str  # Started | Exited | BackOff | Killing | Failed
    message: str


@dataclass
class _Container:
    spec: ContainerSpec
    state: str = "waiting"
    reason: str = "ContainerCreating"
    message: str = ""
    pid: int | None = None
    start_time: int | None = None
    restart_count: int = 0
    started_at: float | None = None
    started_mono: float | None = None
    finished_at: float | None = None
    exit_code: int | None = None
    backoff: float | None = None  # the next back-off delay; None = backoff_initial
    next_start: float | None = None  # clock time of the next (re)start while waiting
    gone_since: float | None = None  # clock time the pid was first seen gone without an exit file


def previous_log(log: Path) -> Path:
    """Where a container's log goes when it restarts (`kubectl logs -p` reads it)."""
    return log.with_name(log.stem + ".previous.log")


class Supervisor:
    """Keeps the desired containers running according to their restartPolicy."""

    def __init__(
        self,
        launcher: LauncherClient,
        run_dir: Path,
        backoff_initial: float = 10.0,
        backoff_max: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
        backoff_reset: float = 600.0,
        stop_grace: float = 2.0,
    ) -> None:
        self.launcher = launcher
        self.run_dir = Path(run_dir)
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.backoff_reset = backoff_reset
        self.stop_grace = stop_grace
        self.clock = clock
        self.wall = wall
        self._containers: dict[tuple[str, str], _Container] = {}
        self._dying: list[tuple[int, int, float]] = []  # (pid, start_time, SIGKILL deadline)
        self._events: list[Event] = []
        self._synced = False
        self._draining: set[str] = set()  # pods being deleted: their containers are not restarted

    # ------------------------------------------------------------------ public API

    def sync(self, desired: list[ContainerSpec]) -> None:
        """Make the supervised set equal to ``desired`` (the complete list).

        New containers are adopted from their pidfile when one exists (controller restart), otherwise
        started. Containers no longer desired are stopped. On the first call, containers found on disk
        that are not desired are stopped too.
        """
        wanted = {(s.pod_key, s.name): s for s in desired}
        for key, c in list(self._containers.items()):
            if key not in wanted:
                self._stop(c)
                del self._containers[key]
        first = not self._synced
        if first:
            self._synced = True
            self._stop_orphans(set(wanted))
        to_start = []
        for key, spec in wanted.items():
            c = self._containers.get(key)
            if c is not None:
                refused = bool(c.spec.config_error) and c.pid is None   # it was refused, not started
                if spec.volumes != c.spec.volumes and c.pid is not None:   # the kubelet updates them in place
                    volumes.materialize(pod_dir(self.run_dir, spec.pod_key), spec.volumes)
                c.spec = spec
                if refused and not spec.config_error:   # the missing ConfigMap or Secret is there now
                    to_start.append(c)
                continue
            c = _Container(spec=spec)
            self._containers[key] = c
            if not self._adopt(c):
                to_start.append(c)
        if first:
            self._reconcile_launcher_children()
            to_start = [c for c in to_start if c.pid is None]
        self._start_many(to_start)

    def tick(self) -> list[Event]:
        """Detect exits, apply restart policies and back-off, escalate stops; return what happened."""
        now = self.clock()
        for c in self._containers.values():
            if c.state == "running":
                self._check_exit(c, now)
            if c.state == "waiting" and c.spec.pod_key in self._draining:
                c.state, c.reason, c.next_start = "terminated", "Completed" if not c.exit_code else "Error", None
            if c.state == "waiting" and c.next_start is not None and now >= c.next_start:
                self._start(c, restart=True)
        self._reap_dying(now)
        events, self._events = self._events, []
        return events

    def status(self, pod_key: str) -> list[ContainerStatus]:
        """Statuses of the pod's containers, in the order they were given to sync."""
        return [
            ContainerStatus(
                name=c.spec.name,
                state=c.state,
                reason=c.reason,
                exit_code=c.exit_code,
                restart_count=c.restart_count,
                started_at=c.started_at,
                finished_at=c.finished_at,
                pid=c.pid,
                message=c.message,
            )
            for (pk, _), c in self._containers.items()
            if pk == pod_key
        ]

    def stop_pod(self, pod_key: str) -> None:
        """Stop every container of the pod (SIGTERM now, SIGKILL from tick after the grace period)."""
        self._draining.discard(pod_key)
        for key in [k for k in self._containers if k[0] == pod_key]:
            self._stop(self._containers.pop(key))

    def drain(self, pod_key: str) -> None:
        """The pod is being deleted: its containers run on until signalled, and are not restarted."""
        self._draining.add(pod_key)

    def resume(self, pod_key: str) -> None:
        """The pod is not being deleted after all (a rolled-back change): restartPolicy applies again."""
        self._draining.discard(pod_key)

    def running(self, pod_key: str) -> set[str]:
        """Names of the pod's containers that are running."""
        return {name for (pk, name), c in self._containers.items() if pk == pod_key and c.state == "running"}

    def signal_container(self, pod_key: str, container: str, sig: int) -> bool:
        """Send a signal to a running container's process group (graceful termination)."""
        c = self._containers.get((pod_key, container))
        if c is None or c.pid is None or c.state != "running":
            return False
        return signal_group(c.pid, c.start_time, sig)

    def kill_container(self, pod_key: str, container: str) -> bool:
        """SIGKILL one running container (a failed liveness probe); tick sees the exit and applies
        the restartPolicy as for any other exit."""
        c = self._containers.get((pod_key, container))
        if c is None or c.pid is None or c.state != "running":
            return False
        return signal_group(c.pid, c.start_time, signal.SIGKILL)

    def log_path(self, pod_key: str, container: str) -> Path:
        """Where the container's output goes."""
        return pod_dir(self.run_dir, pod_key) / f"{container}.log"

    # ------------------------------------------------------------------ internals

    def _files(self, spec: ContainerSpec) -> tuple[Path, Path, Path]:
        d = pod_dir(self.run_dir, spec.pod_key)
        return d / f"{spec.name}.log", d / f"{spec.name}.pid", d / f"{spec.name}.exit"

    def _request(self, spec: ContainerSpec) -> dict[str, Any]:
        req = start_request(spec, *self._files(spec))
        if spec.volumes and req.get("security") is not None:   # configMap, secret, downwardAPI, emptyDir
            mounts = volumes.materialize(pod_dir(self.run_dir, spec.pod_key), spec.volumes)
            req["security"] = {**req["security"], "mounts": [*req["security"].get("mounts", []), *mounts]}
        return req

    def _emit(self, c: _Container, reason: str, message: str) -> None:
        self._events.append(Event(c.spec.pod_key, c.spec.name, reason, message))

    def _save(self, c: _Container) -> None:
        _, pidfile, _ = self._files(c.spec)
        write_atomic(pidfile, json.dumps(self._record(c)) + "\n")

    def _record(self, c: _Container) -> dict[str, Any]:
        return {
            "pid": c.pid,
            "start_time": c.start_time,
            "restart_count": c.restart_count,
            "started_at": c.started_at,
            "backoff": c.backoff,
            "exit_code": c.exit_code,
            "finished_at": c.finished_at,
            # a pending restart, as wall time so that it survives a controller restart
            "next_start_at": None if c.next_start is None else self.wall() + c.next_start - self.clock(),
            # how `netlab exec` joins it: the same identity and environment
            "security": c.spec.security,
            "env": c.spec.env,
        }

    def _launch_record(self, c: _Container, restart: bool) -> dict[str, Any]:
        """What the pidfile will say once the container runs; the launcher writes it with the pid."""
        record = self._record(c)
        record.update(restart_count=c.restart_count + (1 if restart else 0), started_at=self.wall(),
                      next_start_at=None)
        return record

    def _start(self, c: _Container, restart: bool = False) -> None:
        self._start_many([c], restart)

    def _start_many(self, cs: list[_Container], restart: bool = False) -> None:
        """Start containers with one launcher request (they fork side by side)."""
        refused = [c for c in cs if c.spec.config_error]
        for c in refused:
            self._refuse(c)
        cs = [c for c in cs if not c.spec.config_error]
        if not cs:
            return
        for c in cs:
            log, _, exitfile = self._files(c.spec)
            private_dir(log.parent)  # logs, pidfiles, exit codes: root's only
            exitfile.unlink(missing_ok=True)
            if restart and log.exists():  # the last run's output stays readable (`kubectl logs -p`)
                log.replace(previous_log(log))
            if c.spec.stdin and not c.spec.tty and not stdin_fifo(log).exists():
                os.mkfifo(stdin_fifo(log), 0o600)
        try:
            results = self.launcher.start_many([{**self._request(c.spec), "record": self._launch_record(c, restart)}
                                                for c in cs])
        except (OSError, RuntimeError, ValueError) as e:
            results = [e] * len(cs)
        phases.reached(phases.CONTAINERS)
        for c, result in zip(cs, results, strict=True):
            self._started(c, result, restart)

    def _refuse(self, c: _Container) -> None:
        """As kubelet does with a container it cannot create: Waiting with the reason, one Failed event (a
        volume it cannot set up: ContainerCreating, and a FailedMount event)."""
        error = c.spec.config_error or ""
        mount = error.startswith(MOUNT_FAILED)
        c.state, c.message, c.next_start = "waiting", error, None
        c.reason = "ContainerCreating" if mount else "CreateContainerConfigError"
        self._emit(c, "FailedMount" if mount else "Failed", error if mount else f"Error: {error}")

    def _started(self, c: _Container, result, restart: bool) -> None:
        if isinstance(result, Exception):
            delay = self._next_backoff(c)
            c.state, c.next_start = "waiting", self.clock() + delay
            self._emit(c, "BackOff", f"failed to start container {c.spec.name}: {result}; retry in {delay:g}s")
            return
        pid, start_time = result
        if restart:
            c.restart_count += 1
        c.state, c.reason, c.message = "running", "", ""
        c.pid, c.start_time = pid, start_time
        c.started_at, c.started_mono = self.wall(), self.clock()
        c.next_start = c.gone_since = None
        self._save(c)
        self._emit(c, "Started", f"Started container {c.spec.name} (pid {pid})")

    def _adopt(self, c: _Container) -> bool:
        """Pick up a container from its pidfile; its liveness is then checked by tick as usual."""
        _, pidfile, exitfile = self._files(c.spec)
        data = read_json(pidfile)
        if not data:
            return False
        c.restart_count = int(data.get("restart_count") or 0)
        c.started_at = data.get("started_at")
        c.backoff = data.get("backoff")
        c.exit_code, c.finished_at = data.get("exit_code"), data.get("finished_at")
        if not isinstance(data.get("pid"), int):
            if data.get("next_start_at") is not None:  # was waiting out a back-off
                c.state, c.reason = "waiting", "CrashLoopBackOff"
                c.next_start = self.clock() + max(0.0, float(data["next_start_at"]) - self.wall())
            else:
                c.state, c.reason = "terminated", "Completed" if c.exit_code == 0 else "Error"
            return True
        c.pid, c.start_time = data["pid"], data.get("start_time")
        c.state, c.reason = "running", ""
        # How long it has been running, for the back-off reset (wall clock is all the file has).
        ran = self.wall() - c.started_at if c.started_at else 0.0
        c.started_mono = self.clock() - max(ran, 0.0)
        if proc_start_time(c.pid) != c.start_time and not exitfile.exists():
            c.gone_since = self.clock() - GONE_GRACE  # died while nobody was watching
        return True

    def _check_exit(self, c: _Container, now: float) -> None:
        assert c.pid is not None
        _, _, exitfile = self._files(c.spec)
        if proc_start_time(c.pid) == c.start_time:
            # Still running: an exit file can only be a stopped duplicate's (after a controller crash).
            c.gone_since = None
            return
        code = read_exit(exitfile)
        if code is None:
            if c.gone_since is None:
                c.gone_since = now  # reaped a moment ago? give the launcher time to write the exit file
                return
            if now - c.gone_since < GONE_GRACE:
                return
            code = read_exit(exitfile)
            if code is None:
                code = UNKNOWN_EXIT
        self._exited(c, code, now)

    def _next_backoff(self, c: _Container) -> float:
        delay = c.backoff if c.backoff is not None else self.backoff_initial
        c.backoff = min(delay * 2, self.backoff_max)
        return delay

    def _exited(self, c: _Container, code: int, now: float) -> None:
        _, _, exitfile = self._files(c.spec)
        try:
            c.finished_at = exitfile.stat().st_mtime
        except OSError:
            c.finished_at = self.wall()
        c.exit_code, c.pid, c.start_time, c.gone_since = code, None, None, None
        self._emit(c, "Exited", f"Container {c.spec.name} exited with code {code}")
        policy = "Never" if c.spec.pod_key in self._draining else c.spec.restart_policy
        if policy == "Always" or (policy == "OnFailure" and code != 0):
            if c.started_mono is not None and now - c.started_mono >= self.backoff_reset:
                c.backoff = None
            delay = self._next_backoff(c)
            c.state, c.reason, c.next_start = "waiting", "CrashLoopBackOff", now + delay
            self._save(c)
            self._emit(c, "BackOff", f"Back-off {delay:g}s restarting failed container {c.spec.name}")
        else:
            c.state, c.reason, c.next_start = "terminated", "Completed" if code == 0 else "Error", None
            self._save(c)

    def _stop(self, c: _Container) -> None:
        _, pidfile, exitfile = self._files(c.spec)
        if c.pid is not None and c.start_time is not None and c.state == "running":
            self._emit(c, "Killing", f"Stopping container {c.spec.name}")
            if signal_group(c.pid, c.start_time, signal.SIGTERM):
                self._dying.append((c.pid, c.start_time, self.clock() + self.stop_grace))
        pidfile.unlink(missing_ok=True)
        exitfile.unlink(missing_ok=True)
        try:
            pidfile.parent.rmdir()  # only when empty: the log stays for inspection
        except OSError:
            pass

    def _stop_orphans(self, wanted: set[tuple[str, str]]) -> None:
        for pod_key, name, data in pidfile_records(self.run_dir):
            if (pod_key, name) in wanted:
                continue
            spec = ContainerSpec(pod_key=pod_key, netns=None, name=name, argv=None)
            self._stop(_Container(spec=spec, state="running", pid=data.get("pid"), start_time=data.get("start_time")))

    def _reconcile_launcher_children(self) -> None:
        """Adopt the launcher's children that no pidfile names (started just before a crash), and stop
        every second process of a container, so that exactly one process runs per container."""
        try:
            children = self.launcher.children()
        except (OSError, RuntimeError, ValueError, KeyError):
            return  # no launcher yet (nothing to adopt) or one too old to tell
        by_exitfile = {str(self._files(c.spec)[2]): c for c in self._containers.values()}
        for child in children:
            pid, start_time = child.get("pid"), child.get("start_time")
            if not isinstance(pid, int) or proc_start_time(pid) != start_time:
                continue
            exitfile = str(child.get("exitfile"))
            if Path(exitfile).parent.parent != self.run_dir:
                continue  # not one of this supervisor's containers
            c = by_exitfile.get(exitfile)
            if c is not None and (c.pid, c.start_time) == (pid, start_time):
                continue
            if c is not None and (c.pid is None or proc_start_time(c.pid) != c.start_time):
                c.pid, c.start_time, c.gone_since = pid, start_time, None
                c.state, c.reason = "running", ""
                c.next_start = None
                c.started_at, c.started_mono = self.wall(), self.clock()
                self._save(c)
                self._emit(c, "Adopted", f"Adopted container {c.spec.name} (pid {pid})")
                continue
            what = f"{c.spec.pod_key}/{c.spec.name}" if c else exitfile
            self._events.append(Event(c.spec.pod_key if c else "", c.spec.name if c else "", "Killing",
                                      f"Stopping unsupervised process {pid} of {what}"))
            if signal_group(pid, start_time, signal.SIGTERM):
                self._dying.append((pid, start_time, self.clock() + self.stop_grace))

    def _reap_dying(self, now: float) -> None:
        still = []
        for pid, start_time, deadline in self._dying:
            if proc_start_time(pid) != start_time:
                continue
            if now >= deadline:
                signal_group(pid, start_time, signal.SIGKILL)
                deadline = now + self.stop_grace  # should be gone by then; keep checking
            still.append((pid, start_time, deadline))
        self._dying = still
