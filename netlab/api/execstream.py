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
import json
import os
import pty
import struct
import termios
from pathlib import Path

from aiohttp import web

from netlab.api import channels, execchannels, tunnel
from netlab.api.errors import ApiError
from netlab.compile import names
from netlab.runtime import podexec
from netlab.runtime.launcher_client import LauncherClient, LauncherError

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
                          f"{' or '.join(channels.PROTOCOLS)} (exec also takes an Upgrade: SPDY/3.1)")
    ws = web.WebSocketResponse(protocols=[protocol], autoping=True, max_msg_size=1 << 24)
    await ws.prepare(request)
    return ws, protocol


async def open_channels(request: web.Request, stdin: bool, stderr: bool, tty: bool) -> tuple[
        execchannels.WebSocketChannels | execchannels.SpdyChannels, web.StreamResponse]:
    """The client's channels: WebSocket, or SPDY streams after kubectl's fallback upgrade."""
    if execchannels.SPDY_VERSION in tunnel.spdy_versions(request):
        wanted = {channels.STDOUT} | ({channels.STDIN} if stdin else set()) | (
            {channels.STDERR} if stderr else set()) | ({channels.RESIZE} if tty else set())
        chans = await execchannels.open_spdy(request, wanted)
        return chans, chans.upgrade
    ws, protocol = await open_socket(request)
    return execchannels.WebSocketChannels(ws, protocol), ws


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
    chans, response = await open_channels(request, use_stdin, use_stderr, tty)
    spec = {"cluster": cluster, "namespace": ns, "pod": name, "container": container, "argv": argv,
            "tty": tty, "env": {"TERM": "xterm"} if tty else {}}
    process = Process(spec, tty, use_stdin, use_stderr)
    try:
        await process.start(LauncherClient(Path(names.run_dir(cluster)) / "launcher.sock"))
    except OSError as e:
        await chans.finish(channels.failure_status(f"cannot start the command: {e}"))
        return response
    code = await relay(chans, process)
    if code is not None and not chans.closed:
        with contextlib.suppress(ConnectionError):
            await chans.finish(channels.exit_status(code, argv))
    return response


class Process:
    """A command in a container: started by the cluster's launcher (a fork, no new interpreter), or by a
    podexec child process when the launcher cannot (an older launcher). Its stdin/stdout/stderr are pipes
    of ours, or one pty of ours for tty."""

    def __init__(self, request: dict, tty: bool, stdin: bool, stderr: bool) -> None:
        self.request, self.tty, self.stdin, self.stderr = request, tty, stdin, stderr
        self.pid = 0
        self.input = -1                       # where client stdin goes (pipe or pty master)
        self.outputs: list[tuple[int, int]] = []   # (channel, fd) pairs we read
        self._exit: asyncio.StreamReader | None = None   # the launcher's {"exit": CODE} line
        self._writer: asyncio.StreamWriter | None = None
        self._proc: asyncio.subprocess.Process | None = None

    def _descriptors(self) -> list[int]:
        """The child's three descriptors (ours are kept in self.input/self.outputs)."""
        if self.tty:
            master, slave = pty.openpty()
            self.input, self.outputs = master, [(channels.STDOUT, master)]
            return [slave, slave, slave]
        child: list[int] = []
        if self.stdin:
            r, self.input = os.pipe()
            child.append(r)
        else:
            child.append(os.open(os.devnull, os.O_RDONLY))
        r, w = os.pipe()
        self.outputs.append((channels.STDOUT, r))
        child.append(w)
        if self.stderr:
            r, w = os.pipe()
            self.outputs.append((channels.STDERR, r))
            child.append(w)
        else:
            child.append(os.open(os.devnull, os.O_WRONLY))
        return child

    async def start(self, launcher: LauncherClient) -> None:
        fds = self._descriptors()
        for fd in {self.input, *(fd for _, fd in self.outputs)} - {-1}:
            os.set_blocking(fd, False)
        try:
            try:
                self.pid, sock = await asyncio.to_thread(launcher.exec, self.request, fds)
                sock.setblocking(False)
                self._exit, self._writer = await asyncio.open_unix_connection(sock=sock)
            except (OSError, LauncherError):
                self._proc = await asyncio.create_subprocess_exec(
                    *podexec.command(self.request["cluster"], self.request["namespace"], self.request["pod"],
                                     self.request["container"], self.request["argv"], self.tty),
                    stdin=fds[0], stdout=fds[1], stderr=fds[2], start_new_session=True,
                    env={**os.environ, **self.request.get("env", {})})
                self.pid = self._proc.pid
        finally:
            for fd in set(fds):
                os.close(fd)

    async def wait(self) -> int:
        """The command's exit code (128+N for signal N)."""
        if self._proc is not None:
            return await self._proc.wait()
        assert self._exit is not None
        line = await self._exit.readline()
        try:
            return int(json.loads(line)["exit"])
        except (ValueError, KeyError, TypeError):
            return 1   # the launcher went away before the command ended

    async def write(self, data: bytes) -> None:
        if self.input >= 0:
            await _write_fd(self.input, data)

    def close_stdin(self) -> None:
        if self.input >= 0 and not self.tty:
            os.close(self.input)
            self.input = -1

    def resize(self, width: int, height: int) -> None:
        if self.tty and self.input >= 0:
            with contextlib.suppress(OSError):
                fcntl.ioctl(self.input, termios.TIOCSWINSZ, struct.pack("HHHH", height, width, 0, 0))

    def kill(self) -> None:
        if self.pid:
            podexec.kill_tree(self.pid)

    def close(self) -> None:
        for fd in {self.input, *(fd for _, fd in self.outputs)} - {-1}:
            with contextlib.suppress(OSError):
                os.close(fd)
        self.input, self.outputs = -1, []
        if self._writer is not None:
            self._writer.close()


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


async def _pump_out(chans, channel: int, fd: int) -> None:
    while True:
        data = await _read_fd(fd)
        if not data:
            return
        await chans.send(channel, data)


async def _pump_in(chans, process: Process) -> None:
    """Client messages until the client closes (then the process is killed by relay)."""
    async for parsed in chans.messages():
        if parsed.kind == "stdin":
            await process.write(parsed.data)
        elif parsed.kind == "resize" and parsed.size:
            process.resize(*parsed.size)
        elif parsed.kind == "close" and parsed.channel == channels.STDIN:
            process.close_stdin()


async def relay(chans, process: Process) -> int | None:
    """Copy between the client's channels (netlab.api.execchannels) and the process until it exits (its exit
    code) or the client goes away (None; the process tree is killed)."""
    outputs = [asyncio.create_task(_pump_out(chans, ch, fd)) for ch, fd in process.outputs]
    inputs = asyncio.create_task(_pump_in(chans, process))
    waiter = asyncio.create_task(process.wait())
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
