"""`pods/NAME/exec` over WebSocket (channel protocol v5/v4, netlab.api.channels), as kubelet serves it.

The command runs through netlab.runtime.podexec in a child process (joining a mount namespace needs a
single-threaded process, and the API server has threads): in the container's network, PID and mount
namespaces, as its user. Without a terminal its stdin/stdout/stderr are pipes; with one (tty=true) it gets
a pty of ours, whose window size follows the client's resize messages. When the client goes away the
process and everything it started are killed.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import pty
import struct
import termios

from aiohttp import WSMsgType, web

from netlab.api import channels
from netlab.api.errors import ApiError
from netlab.runtime import podexec

READ_CHUNK = 65536


def bad_request(message: str) -> ApiError:
    return ApiError(400, "BadRequest", message)


def _flag(query, name: str, default: bool = False) -> bool:
    value = query.get(name)
    return default if value is None else value.lower() in ("1", "true")


async def pod_container(api, ns: str, name: str, container: str | None) -> tuple[dict, str]:
    """The pod and the container a stream is for; ApiErrors worded as kube-apiserver's."""
    pod = await api.run(api.controller.get, "Pod", ns, name)
    names = [c["name"] for c in pod["spec"].get("containers", [])]
    if not container:
        if len(names) != 1:
            raise bad_request(f"a container name must be specified for pod {name}, choose one of: "
                              f"[{' '.join(names)}]")
        container = names[0]
    if container not in names:
        raise bad_request(f"container {container} is not valid for pod {name}")
    phase = (pod.get("status") or {}).get("phase")
    if phase in ("Succeeded", "Failed"):
        raise bad_request(f"cannot exec into a container in a completed pod; current phase is {phase}")
    return pod, container


async def open_socket(request: web.Request) -> tuple[web.WebSocketResponse, str]:
    """The WebSocket upgrade with one of our channel subprotocols; 400 before upgrading without one."""
    offered = [p for h in request.headers.getall("Sec-WebSocket-Protocol", []) for p in h.split(",")]
    protocol = channels.choose_protocol(offered)
    if protocol is None:
        raise bad_request("exec and attach need a WebSocket upgrade with subprotocol "
                          f"{' or '.join(channels.PROTOCOLS)} (SPDY is not served)")
    ws = web.WebSocketResponse(protocols=[protocol], autoping=True, max_msg_size=1 << 24)
    await ws.prepare(request)
    return ws, protocol


async def handle_exec(request: web.Request, api, ns: str, name: str) -> web.StreamResponse:
    query = request.query
    argv = query.getall("command", [])
    if not argv:
        raise bad_request("you must specify at least 1 command")
    _, container = await pod_container(api, ns, name, query.get("container"))
    cluster = api.controller.cluster
    try:
        await api.run(podexec.target, cluster, ns, name, container)
    except podexec.ExecError as e:
        raise bad_request(str(e)) from e
    tty = _flag(query, "tty")
    use_stdin, use_stderr = _flag(query, "stdin"), _flag(query, "stderr", True) and not tty
    ws, protocol = await open_socket(request)
    process = Process(podexec.command(cluster, ns, name, container, argv, tty), tty, use_stdin, use_stderr)
    try:
        await process.start()
    except OSError as e:
        await ws.send_bytes(channels.status_frame(channels.failure_status(f"cannot start the command: {e}")))
        await ws.close()
        return ws
    code = await relay(ws, protocol, process)
    if code is not None and not ws.closed:
        with contextlib.suppress(ConnectionError):
            await ws.send_bytes(channels.status_frame(channels.exit_status(code, argv)))
            await ws.close()
    return ws


class Process:
    """A podexec child with pipes, or with a pty of ours for tty."""

    def __init__(self, argv: list[str], tty: bool, stdin: bool, stderr: bool) -> None:
        self.argv, self.tty, self.stdin, self.stderr = argv, tty, stdin, stderr
        self.proc: asyncio.subprocess.Process | None = None
        self.master = -1

    async def start(self) -> None:
        env = {**os.environ, **({"TERM": "xterm"} if self.tty else {})}
        if self.tty:
            self.master, slave = pty.openpty()
            os.set_blocking(self.master, False)
            try:
                self.proc = await asyncio.create_subprocess_exec(
                    *self.argv, stdin=slave, stdout=slave, stderr=slave, start_new_session=True, env=env)
            finally:
                os.close(slave)
            return
        pipe = asyncio.subprocess.PIPE
        self.proc = await asyncio.create_subprocess_exec(
            *self.argv, stdin=pipe if self.stdin else asyncio.subprocess.DEVNULL, stdout=pipe,
            stderr=pipe if self.stderr else asyncio.subprocess.DEVNULL, start_new_session=True, env=env)

    def outputs(self) -> list[tuple[int, object]]:
        """(channel, reader) pairs: a StreamReader, or the pty master fd."""
        assert self.proc is not None
        if self.tty:
            return [(channels.STDOUT, self.master)]
        pairs: list[tuple[int, object]] = [(channels.STDOUT, self.proc.stdout)]
        if self.proc.stderr is not None:
            pairs.append((channels.STDERR, self.proc.stderr))
        return pairs

    async def write(self, data: bytes) -> None:
        assert self.proc is not None
        if self.tty:
            await _write_fd(self.master, data)
        elif self.proc.stdin is not None and not self.proc.stdin.is_closing():
            self.proc.stdin.write(data)
            with contextlib.suppress(ConnectionError):
                await self.proc.stdin.drain()

    def close_stdin(self) -> None:
        if self.proc is not None and self.proc.stdin is not None and not self.tty:
            self.proc.stdin.close()

    def resize(self, width: int, height: int) -> None:
        if self.tty and self.master >= 0:
            with contextlib.suppress(OSError):
                fcntl.ioctl(self.master, termios.TIOCSWINSZ, struct.pack("HHHH", height, width, 0, 0))

    def kill(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            podexec.kill_tree(self.proc.pid)

    def close(self) -> None:
        if self.master >= 0:
            os.close(self.master)
            self.master = -1


async def _read_fd(fd: int) -> bytes:
    """Read a non-blocking fd (a pty master) without a thread; b"" at its end (EIO from a pty)."""
    loop = asyncio.get_running_loop()
    while True:
        try:
            return os.read(fd, READ_CHUNK)
        except BlockingIOError:
            ready = loop.create_future()
            loop.add_reader(fd, ready.set_result, None)
            try:
                await ready
            finally:
                loop.remove_reader(fd)
        except OSError:
            return b""


async def _write_fd(fd: int, data: bytes) -> None:
    loop = asyncio.get_running_loop()
    while data:
        try:
            data = data[os.write(fd, data):]
        except BlockingIOError:
            ready = loop.create_future()
            loop.add_writer(fd, ready.set_result, None)
            try:
                await ready
            finally:
                loop.remove_writer(fd)
        except OSError:
            return


async def _pump_out(ws: web.WebSocketResponse, channel: int, source) -> None:
    while True:
        data = await (_read_fd(source) if isinstance(source, int) else source.read(READ_CHUNK))
        if not data:
            return
        await ws.send_bytes(channels.frame(channel, data))


async def _pump_in(ws: web.WebSocketResponse, protocol: str, process: Process) -> None:
    """Client messages until the client closes (then the process is killed by relay)."""
    async for msg in ws:
        if msg.type != WSMsgType.BINARY:
            continue
        parsed = channels.parse(msg.data, protocol)
        if parsed.kind == "stdin":
            await process.write(parsed.data)
        elif parsed.kind == "resize" and parsed.size:
            process.resize(*parsed.size)
        elif parsed.kind == "close" and parsed.channel == channels.STDIN:
            process.close_stdin()


async def relay(ws: web.WebSocketResponse, protocol: str, process: Process) -> int | None:
    """Copy between the WebSocket and the process until it exits (its exit code) or the client goes
    away (None; the process tree is killed)."""
    assert process.proc is not None
    outputs = [asyncio.create_task(_pump_out(ws, ch, src)) for ch, src in process.outputs()]
    inputs = asyncio.create_task(_pump_in(ws, protocol, process))
    waiter = asyncio.create_task(process.proc.wait())
    try:
        done, _ = await asyncio.wait([inputs, waiter], return_when=asyncio.FIRST_COMPLETED)
        if waiter not in done:   # the client went away first
            return None
        if process.tty:          # the pty's output may still be buffered: read what is left
            await asyncio.wait(outputs, timeout=0.5)
        else:
            await asyncio.wait(outputs)
        return waiter.result()
    except ConnectionError:
        return None
    finally:
        process.kill()
        for task in [*outputs, inputs, waiter]:
            task.cancel()
        await asyncio.gather(*outputs, inputs, waiter, return_exceptions=True)
        process.close()
