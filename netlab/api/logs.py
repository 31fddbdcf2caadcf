"""`GET pods/NAME/log`: a container's output, with kubectl's options (container, follow, tailLines,
limitBytes, previous).

The supervisor appends a container's stdout and stderr to one file per container and moves it aside
when the container restarts (`previous`). Lines carry no time of their own, so `timestamps` and
`sinceSeconds`/`sinceTime` are refused with 400 instead of answered wrongly.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from aiohttp import web

from netlab.api.errors import ApiError

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
    for unsupported in ("timestamps", "sinceSeconds", "sinceTime"):
        if query.get(unsupported) not in (None, "false"):
            raise ApiError(400, "BadRequest", f"{unsupported} is not supported by netlab: container "
                           "output is stored without the time of each line")
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
        await _stream(response, api, path, tail, limit, follow, f"{ns}/{name}")
        await response.write_eof()
    except ConnectionError:   # the client went away (e.g. Ctrl-C on `logs -f`)
        pass
    return response


def previous_log(path: Path) -> Path:
    """Where the supervisor keeps the output of the container's previous run."""
    return path.with_name(path.stem + ".previous.log")


async def _stream(response: web.StreamResponse, api, path: Path, tail: int | None, limit: int | None,
                  follow: bool, pod_key: str) -> None:
    ctl = api.controller
    try:
        f = open(path, "rb")
    except FileNotFoundError:
        return
    with f:
        f.seek(await api.run(start_offset, path, tail))
        inode = os.fstat(f.fileno()).st_ino
        left = limit
        while left is None or left > 0:
            chunk = await api.run(f.read, CHUNK if left is None else min(CHUNK, left))
            if chunk:
                await response.write(chunk)
                left = None if left is None else left - len(chunk)
                continue
            if not follow or pod_key not in ctl.state.pods or _replaced(path, inode):
                return
            await asyncio.sleep(FOLLOW_POLL)


def _replaced(path: Path, inode: int) -> bool:
    """The container restarted: its log was moved aside (follow ends, as kubelet's does)."""
    try:
        return path.stat().st_ino != inode
    except FileNotFoundError:
        return True
