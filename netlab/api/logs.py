"""`GET pods/NAME/log`: a container's output, with kubectl's options (container, follow, tailLines,
limitBytes, previous, timestamps, sinceSeconds, sinceTime).

The supervisor appends a container's stdout and stderr to one file per container and moves it aside
when the container restarts (`previous`). The time of each line comes from netlab.api.logtimes.
"""

from __future__ import annotations

import asyncio
import os
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from aiohttp import web

from netlab.api.errors import ApiError
from netlab.api.logtimes import LogTimes, rfc3339
from netlab.runtime.containers import previous_log

CHUNK = 65536
FOLLOW_POLL = 0.1   # seconds between looks at a followed file


def tail_offset(data: bytes, lines: int) -> int:
    """Where the last `lines` lines of data begin (a last line without newline counts)."""
    if lines <= 0:
        return len(data)
    end = len(data) - 1 if data.endswith(b"\n") else len(data)
    pos = end
    for _ in range(lines):
        pos = data.rfind(b"\n", 0, pos)
        if pos < 0:
            return 0
    return pos + 1


def _int(query, name: str) -> int | None:
    value = query.get(name)
    if value is None:
        return None
    try:
        number = int(value)
    except ValueError as e:
        raise ApiError(400, "BadRequest", f"{name}: invalid value {value!r}: must be an integer") from e
    if number < 0:
        raise ApiError(422, "Invalid", f"PodLogOptions is invalid: {name}: Invalid value: {number}: "
                       "must be greater than or equal to 0")
    return number


def start_offset(path: Path, tail: int | None) -> int:
    """The byte offset a request starts reading at."""
    if tail is None:
        return 0
    size = path.stat().st_size
    window = min(size, max(CHUNK, tail * 512))
    while True:   # read back from the end until enough lines are in the window (or the whole file is)
        with open(path, "rb") as f:
            f.seek(size - window)
            data = f.read(window)
        offset = tail_offset(data, tail)
        if offset > 0 or window == size:
            return size - window + offset
        window = min(size, window * 4)


async def handle_log(request: web.Request, api, ns: str, name: str) -> web.StreamResponse:
    ctl, query = api.controller, request.query
    pod = await api.run(ctl.get, "Pod", ns, name)
    containers = [c["name"] for c in pod["spec"].get("containers", [])]
    container = query.get("container") or (containers[0] if len(containers) == 1 else None)
    if container is None:
        raise ApiError(400, "BadRequest", f"a container name must be specified for pod {name}, "
                       f"choose one of: [{' '.join(containers)}]")
    if container not in containers:
        raise ApiError(400, "BadRequest", f"container {container} is not valid for pod {name}")
    stamp, since = query.get("timestamps") == "true", _since(query)
    tail, limit = _int(query, "tailLines"), _int(query, "limitBytes")
    previous, follow = query.get("previous") == "true", query.get("follow") == "true"
    path = ctl.supervisor.log_path(f"{ns}/{name}", container)
    if previous:
        path = previous_log(path)
        follow = False
        if not path.exists():
            raise ApiError(400, "BadRequest", f'previous terminated container "{container}" in pod "{name}" '
                           "not found")
    response = web.StreamResponse(headers={"Content-Type": "text/plain"})
    response.enable_chunked_encoding()
    await response.prepare(request)
    try:
        if stamp or since is not None:
            await _stream_lines(response, api, path, Window(tail, limit, follow, f"{ns}/{name}"), stamp, since)
        else:
            await _stream(response, api, path, Window(tail, limit, follow, f"{ns}/{name}"))
        await response.write_eof()
    except ConnectionError:   # the client went away (e.g. Ctrl-C on `logs -f`)
        pass
    return response


@dataclass(frozen=True)
class Window:
    tail: int | None      # lines from the end to start with (None: the start of the file)
    limit: int | None     # bytes to send at most
    follow: bool
    pod_key: str


async def _stream(response: web.StreamResponse, api, path: Path, w: Window) -> None:
    async for chunk in _chunks(api, path, w):
        await response.write(chunk)


async def _chunks(api, path: Path, w: Window, limited: bool = True):
    """The file's bytes from the window's start, then (follow) what is appended, until the pod goes or
    the container restarts."""
    ctl = api.controller
    try:
        f = open(path, "rb")
    except FileNotFoundError:
        return
    with f:
        f.seek(await api.run(start_offset, path, w.tail))
        inode = os.fstat(f.fileno()).st_ino
        left = w.limit if limited else None
        while left is None or left > 0:
            chunk = await api.run(f.read, CHUNK if left is None else min(CHUNK, left))
            if chunk:
                yield chunk
                left = None if left is None else left - len(chunk)
                continue
            if not w.follow or w.pod_key not in ctl.state.pods or _replaced(path, inode):
                return
            await asyncio.sleep(FOLLOW_POLL)


async def _stream_lines(response: web.StreamResponse, api, path: Path, w: Window, stamp: bool,
                        since: float | None) -> None:
    """Line by line, each with the time it was written (netlab.api.logtimes): prefixed with it (stamp),
    and/or only those written at or after `since`."""
    times: LogTimes = getattr(api, "log_times", None) or LogTimes()
    offset = await api.run(start_offset, path, w.tail) if path.exists() else 0
    pending, left = b"", w.limit
    async for chunk in _chunks(api, path, w, limited=False):
        await api.run(times.observe, path)
        time_at = await api.run(times.lookup, path)
        *lines, pending = (pending + chunk).split(b"\n")
        out = []
        for line in lines:
            offset += len(line) + 1
            t = time_at(offset)
            if since is None or t >= since:
                out.append((f"{rfc3339(t)} ".encode() if stamp else b"") + line + b"\n")
        data = b"".join(out)
        if left is not None:
            data, left = data[:left], left - len(data[:left])
        if data:
            await response.write(data)
        if left == 0:
            return
    if pending and (since is None or times.clock() >= since):
        data = (f"{rfc3339(times.clock())} ".encode() if stamp else b"") + pending
        await response.write(data if left is None else data[:left])


def _since(query) -> float | None:
    """The epoch time from sinceSeconds or sinceTime (RFC 3339), None without either."""
    seconds, when = _int(query, "sinceSeconds"), query.get("sinceTime")
    if seconds is not None and when is not None:
        raise ApiError(422, "Invalid", "PodLogOptions is invalid: at most one of `sinceTime` or `sinceSeconds` "
                       "may be specified")
    if seconds is not None:
        return time.time() - seconds
    if when is None:
        return None
    try:
        return datetime.fromisoformat(when.replace("Z", "+00:00")).timestamp()
    except ValueError as e:
        raise ApiError(400, "BadRequest", f"sinceTime: invalid RFC 3339 time {when!r}") from e


def _replaced(path: Path, inode: int) -> bool:
    """The container restarted: its log was moved aside (follow ends, as kubelet's does)."""
    try:
        return path.stat().st_ino != inode
    except FileNotFoundError:
        return True
