"""When each part of a container's log was written, for `kubectl logs --timestamps` and `--since`.

Containers write straight into their log file (no shim reads their output), so lines carry no time of
their own. The API server looks at every log file's size a few times a second (`watch`) and remembers, per
file (by inode, so a log moved aside for `-p` keeps its times), the time each new stretch of bytes was
first seen: a line's time is that of the first look that saw its end, at most POLL seconds late. Bytes
already there at the first look (written before the server started) get the file's modification time.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import logging
import os
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path

from netlab.runtime.containers import previous_log

log = logging.getLogger("netlab.api.logtimes")
POLL = 0.25
MAX_MARKS = 4096   # per file; beyond, the oldest stretch is merged into the next


class LogTimes:
    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self._marks: dict[tuple[int, int], tuple[list[int], list[float]]] = {}   # (dev, ino) -> offsets, times

    def observe(self, path: Path) -> None:
        """Note the file's current size (new bytes are stamped now)."""
        try:
            st = os.stat(path)
        except OSError:
            return
        key = (st.st_dev, st.st_ino)
        offsets, times = self._marks.setdefault(key, ([], []))
        if offsets and st.st_size <= offsets[-1]:
            if st.st_size < offsets[-1]:     # truncated: what is there now was written now
                offsets[:], times[:] = [st.st_size], [self.clock()]
            return
        offsets.append(st.st_size)
        times.append(st.st_mtime if len(offsets) == 1 else self.clock())
        if len(offsets) > MAX_MARKS:
            del offsets[0], times[0]   # the oldest stretch joins the next (its lines take that later time)

    def observe_all(self, paths: Iterable[Path]) -> None:
        for path in paths:
            self.observe(path)

    def lookup(self, path: Path) -> Callable[[int], float]:
        """offset -> when the byte before it was first seen (now, if not yet), for the file at path now."""
        try:
            st = os.stat(path)
        except OSError:
            return lambda end: self.clock()
        offsets, times = self._marks.get((st.st_dev, st.st_ino), ([], []))
        offsets, times = list(offsets), list(times)

        def time_at(end: int) -> float:
            i = bisect.bisect_left(offsets, end)
            return times[i] if i < len(times) else self.clock()

        return time_at

    def forget_except(self, paths: Iterable[Path]) -> None:
        """Drop the marks of files no longer watched (deleted pods)."""
        keep = set()
        for path in paths:
            with contextlib.suppress(OSError):
                st = os.stat(path)
                keep.add((st.st_dev, st.st_ino))
        for key in set(self._marks) - keep:
            del self._marks[key]


def rfc3339(t: float) -> str:
    """kubelet's timestamp format: RFC 3339 with nanoseconds, UTC."""
    whole = datetime.fromtimestamp(int(t), UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{whole}.{int(round((t % 1) * 1e9)) % 1_000_000_000:09d}Z"


def watched_paths(ctl) -> list[Path]:
    """Every container's current and previous log."""
    paths = []
    for key, pod in list(ctl.state.pods.items()):
        for container in pod.spec.get("containers", []):
            current = ctl.supervisor.log_path(key, container["name"])
            paths += [current, previous_log(current)]
    return paths


async def watch(api, times: LogTimes) -> None:
    """Look at every log a few times a second, for as long as the server runs."""
    rounds = 0
    while True:
        try:
            paths = await api.run(watched_paths, api.controller)
            await api.run(times.observe_all, paths)
            rounds += 1
            if rounds % 240 == 0:
                await api.run(times.forget_except, paths)
        except asyncio.CancelledError:
            raise
        except Exception:   # a controller without pods or logs (tests), or a file vanishing mid-look
            log.debug("log times: look failed", exc_info=True)
        await asyncio.sleep(POLL)
