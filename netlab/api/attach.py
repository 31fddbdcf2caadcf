"""`pods/NAME/attach` over WebSocket: the container's own output, live, and its exit status.

A `tty: true` container runs on a terminal of its own (netlab.runtime.ttyrelay): attach connects to that
terminal's relay, so the client reads what the container prints from then on (as kubelet's attach does),
and its input (with `stdin: true`) and window resizes go to the terminal. Closing the client leaves the
container running; several clients may attach at once.

Any other container:
netlab's containers write to a log file, not to a terminal the server holds, so attach streams that file
from its start (what the container printed before the client came, then what it prints) on the stdout
channel until the container ends, then sends its exit status as exec does. A container started with
`stdin: true` reads a FIFO (<container>.stdin beside its log) that the client's stdin is written to;
without it, input is dropped. With `stdinOnce` the container reads EOF once the first client's stdin ends
(netlab.runtime.stdinkeeper). There is no terminal: with `tty` (the client's terminal is then raw) the
server does the little a terminal would: Enter (\r) becomes \n, typed input is echoed, output newlines
become \r\n.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import select
import time
from pathlib import Path

from aiohttp import web

from netlab.api import channels, execstream
from netlab.runtime import podexec, stdinkeeper, ttyrelay
from netlab.runtime.start_request import stdin_fifo

CHUNK = 65536
POLL = 0.05
STALL = 30.0   # seconds a container may leave its stdin unread before input is dropped


def _running(cluster: str, ns: str, name: str, container: str) -> bool:
    try:
        podexec.target(cluster, ns, name, container)
        return True
    except podexec.ExecError:
        return False


async def _exit_code(api, ns: str, name: str, container: str) -> int:
    """The container's exit code, once the controller has seen it end (0 if it never says)."""
    for _ in range(40):
        pod = await api.run(api.controller.get, "Pod", ns, name)
        for status in (pod.get("status") or {}).get("containerStatuses") or []:
            terminated = (status.get("state") or {}).get("terminated") or (
                status.get("lastState") or {}).get("terminated")
            if status.get("name") == container and terminated:
                return int(terminated.get("exitCode") or 0)
        await asyncio.sleep(POLL)
    return 0


async def _follow(chans, api, path: Path, alive, tty: bool) -> None:
    """The log from its start until the container is gone and everything is sent."""
    while not path.exists() and await alive():
        await asyncio.sleep(POLL)
    with contextlib.suppress(FileNotFoundError), open(path, "rb") as f:
        while True:
            chunk = await api.run(f.read, CHUNK)
            if chunk:
                await chans.send(channels.STDOUT, _crlf(chunk) if tty else chunk)
            elif not await alive():
                if not (rest := await api.run(f.read)):
                    return
                await chans.send(channels.STDOUT, _crlf(rest) if tty else rest)
            else:
                await asyncio.sleep(POLL)


def _crlf(data: bytes) -> bytes:
    """Newlines as a terminal's output processing sends them (the client's terminal is raw with -t)."""
    return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def _write_fifo(path: Path, data: bytes) -> None:
    """All of data, as a pipe takes it: waiting while the container has not read what came before (input
    is dropped only when it reads nothing for STALL seconds, or has no stdin)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
    except OSError as e:
        if e.errno in (errno.ENOENT, errno.ENXIO):   # no stdin for this container, or nobody reads it
            return
        raise
    try:
        view = memoryview(data)
        while view:
            try:
                view = view[os.write(fd, view):]
            except BlockingIOError:
                if not select.select([], [fd], [], STALL)[1]:
                    return
            except BrokenPipeError:
                return
    finally:
        os.close(fd)


class _Stdin:
    """Where a client's input goes: the container's FIFO, while its stdin is open. With stdinOnce the first
    client holds it open through the keeper (netlab.runtime.stdinkeeper) and closes it for good when its own
    stdin ends; without, stdin stays open whatever the client does."""

    def __init__(self, fifo: Path, once: bool, hold) -> None:
        self.fifo, self.once, self.hold = fifo, once, hold

    @property
    def open(self) -> bool:
        return not self.once or self.hold is not None

    def close(self) -> None:
        if self.hold is not None:
            self.hold.close()
            self.hold = None


async def _input(chans, api, stdin: _Stdin, tty: bool) -> None:
    async for parsed in chans.messages():
        if parsed.kind == "stdin" and parsed.data and stdin.open:
            data = parsed.data
            if tty:   # the client's terminal is raw and ours is no terminal: Enter is \r, and we echo
                data = data.replace(b"\r", b"\n")
                await chans.send(channels.STDOUT, data.replace(b"\n", b"\r\n"))
            await api.run(_write_fifo, stdin.fifo, data)
        elif parsed.kind == "close" and parsed.channel == channels.STDIN:
            stdin.close()


async def _terminal_output(chans, reader: asyncio.StreamReader) -> None:
    while chunk := await reader.read(CHUNK):
        await chans.send(channels.STDOUT, chunk)


async def _terminal_input(chans, writer: asyncio.StreamWriter, stdin: bool) -> None:
    async for parsed in chans.messages():
        if parsed.kind == "stdin" and parsed.data and stdin:
            writer.write(ttyrelay.frame(ttyrelay.INPUT, parsed.data))
        elif parsed.kind == "resize" and parsed.size:
            width, height = parsed.size
            writer.write(ttyrelay.resize_frame(height, width))
        await writer.drain()


async def _bridge(chans, api, output, inputs, ns: str, name: str, container: str) -> None:
    """Run the output and input coroutines until either ends; once the output has ended (the container
    has), the container's exit status goes to the client."""
    out_task, in_task = asyncio.create_task(output), asyncio.create_task(inputs)
    try:
        done, _ = await asyncio.wait([out_task, in_task], return_when=asyncio.FIRST_COMPLETED)
        if out_task in done and not chans.closed:
            out_task.result()
            code = await _exit_code(api, ns, name, container)
            await chans.finish(channels.exit_status(code, []))
    except ConnectionError:
        pass
    finally:
        for task in (out_task, in_task):
            task.cancel()
        await asyncio.gather(out_task, in_task, return_exceptions=True)


def _spec(pod: dict, container: str) -> dict:
    return next((c for c in (pod.get("spec") or {}).get("containers") or [] if c.get("name") == container), {})


def _terminal(cluster: str, ns: str, pod: dict, container: str, log: Path):
    """A connection to a `tty: true` container's terminal, or None (no tty, or it has ended)."""
    if not _spec(pod, container).get("tty"):
        return None
    deadline = time.monotonic() + 2.0
    while True:   # a container started a moment ago hands its terminal to the relay within milliseconds
        try:
            return ttyrelay.connect(ttyrelay.tty_socket(log))
        except OSError:
            if time.monotonic() > deadline or not _running(cluster, ns, pod["metadata"]["name"], container):
                return None
        time.sleep(0.02)


async def handle_attach(request: web.Request, api, ns: str, name: str) -> web.StreamResponse:
    pod, container = await execstream.pod_container(api, ns, name, request.query.get("container"))
    ctl, cluster = api.controller, api.controller.cluster
    path = ctl.supervisor.log_path(f"{ns}/{name}", container)
    tty = request.query.get("tty") == "true"
    stdin = request.query.get("stdin") == "true"
    sock = await api.run(_terminal, cluster, ns, pod, container, path)
    try:
        chans, response = await execstream.open_channels(request, stdin=stdin,
                                                         stderr=request.query.get("stderr") == "true" and not tty,
                                                         tty=tty)
    except BaseException:
        if sock is not None:
            sock.close()
        raise
    if sock is not None:   # the container's own terminal
        reader, writer = await asyncio.open_unix_connection(sock=sock)
        try:
            await _bridge(chans, api, _terminal_output(chans, reader), _terminal_input(chans, writer, stdin),
                          ns, name, container)
        finally:
            writer.close()
        return response

    async def alive() -> bool:
        return await api.run(_running, cluster, ns, name, container)

    once = stdin and bool(_spec(pod, container).get("stdinOnce"))
    feed = _Stdin(stdin_fifo(path), once, await api.run(stdinkeeper.hold, path) if once else None)
    try:
        await _bridge(chans, api, _follow(chans, api, path, alive, tty), _input(chans, api, feed, tty),
                      ns, name, container)
    finally:
        feed.close()
    return response
