"""A container's files under the run directory, and ending containers by what their pidfiles say.

    <run_dir>/<ns>_<pod>/<container>.pid    json: pid, start_time, restart_count, started_at, backoff
    <run_dir>/<ns>_<pod>/<container>.exit   exit code written by the launcher when it reaps the process

A process is signalled only while (pid, start_time) still names it, so a reused pid is never hit.
"""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path
from typing import Any

from netlab.runtime.launcher_client import proc_start_time


def pod_dir(run_dir: Path, pod_key: str) -> Path:
    """The per-pod directory: ``<run_dir>/<ns>_<pod>``."""
    ns, _, name = pod_key.partition("/")
    return Path(run_dir) / f"{ns}_{name}"


def read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def read_exit(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def signal_group(pid: int, start_time: int | None, sig: int) -> bool:
    """Signal the container's process group, only if pid is still the process we started."""
    if start_time is None or proc_start_time(pid) != start_time:
        return False
    try:
        os.killpg(pid, sig)  # the container called setsid(): its pgid is its pid
    except (ProcessLookupError, PermissionError):
        try:
            os.kill(pid, sig)
        except OSError:
            return False
    return True



def pidfile_records(run_dir: Path) -> list[tuple[str, str, dict[str, Any]]]:
    """(pod key, container, the pidfile's JSON or {}) for every pidfile under run_dir, in path order."""
    records = []
    for pidfile in sorted(Path(run_dir).glob("*/*.pid")):
        ns, _, name = pidfile.parent.name.partition("_")
        records.append((f"{ns}/{name}", pidfile.stem, read_json(pidfile) or {}))
    return records


def kill_tree_by_pidfiles(run_dir: Path, grace: float = 2.0) -> int:
    """End every container whose pidfile under run_dir names a live process; returns how many.

    SIGTERM to each container's process group, then SIGKILL to what is left after ``grace`` seconds.
    Blocking; meant for teardown.
    """
    victims: list[tuple[int, int]] = []
    killed = 0
    for _, _, data in pidfile_records(run_dir):
        pid, start_time = data.get("pid"), data.get("start_time")
        if isinstance(pid, int) and isinstance(start_time, int):
            if signal_group(pid, start_time, signal.SIGTERM):
                victims.append((pid, start_time))
                killed += 1
    deadline = time.monotonic() + grace
    while victims and time.monotonic() < deadline:
        victims = [(p, s) for p, s in victims if proc_start_time(p) == s]
        if victims:
            time.sleep(0.05)
    for pid, start_time in victims:
        signal_group(pid, start_time, signal.SIGKILL)
    return killed
