"""The client side of `pods/NAME/exec` (netlab's own `exec` and `run -it`): the WebSocket channel protocol
kubectl speaks (netlab.api.channels), with our stdin/stdout/stderr, and our terminal in raw mode with its
window size for tty."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import os
import signal
import struct
import sys
import termios
import threading
import tty as ttymod
from urllib.parse import quote, urlencode

import aiohttp

from netlab.api import channels
from netlab.api.client import ApiFailure, Client, client_ssl_context
from netlab.api.endpoint import load as load_endpoint


def exec_path(namespace: str, pod: str, container: str, argv: list[str], stdin: bool, tty: bool) -> str:
    query = [("container", container), ("stdout", "true"), ("stderr", "false" if tty else "true"),
             ("stdin", "true" if stdin else "false"), ("tty", "true" if tty else "false")]
    query += [("command", a) for a in argv]
    return f"/api/v1/namespaces/{quote(namespace)}/pods/{quote(pod)}/exec?{urlencode(query)}"


def exit_code(status: dict) -> int:
    """The command's exit code from the error channel's Status (1 for a failure without one)."""
    if status.get("status") == "Success":
        return 0
    for cause in (status.get("details") or {}).get("causes") or []:
        if cause.get("reason") == "ExitCode":
            with contextlib.suppress(ValueError, TypeError):
                return int(cause["message"])
    return 1


def run_exec(client: Client, namespace: str, pod: str, container: str, argv: list[str], stdin: bool,
             tty: bool) -> int:
    """Run argv in the container through the API; its exit code. ApiFailure when the server refuses."""
    ep = client.endpoint or load_endpoint(client.cluster)
    if ep is None:
        raise ApiFailure({"code": 503, "message": f"cluster {client.cluster!r} is not running"})
    url = ep.url + exec_path(namespace, pod, container, argv, stdin, tty)
    raw = tty and os.isatty(0)
    saved = termios.tcgetattr(0) if raw else None
    try:
        if raw:
            ttymod.setraw(0)
        return asyncio.run(_session(url, client_ssl_context(client.pki), stdin, raw))
    finally:
        if saved is not None:
            termios.tcsetattr(0, termios.TCSAFLUSH, saved)


def _size() -> bytes:
    rows, cols, _, _ = struct.unpack("HHHH", fcntl.ioctl(0, termios.TIOCGWINSZ, b"\0" * 8))
    return json.dumps({"Width": cols, "Height": rows}).encode()


async def _session(url: str, ssl_ctx, stdin: bool, raw: bool) -> int:
    loop = asyncio.get_running_loop()
    async with aiohttp.ClientSession() as session:
        try:
            ws = await session.ws_connect(url, protocols=channels.PROTOCOLS, ssl=ssl_ctx, max_msg_size=0,
                                          autoping=True)
        except aiohttp.WSServerHandshakeError as e:
            raise ApiFailure({"code": e.status, "message": f"exec refused ({e.status}): {e.message}"}) from e
        async with ws:
            if raw:
                await ws.send_bytes(channels.frame(channels.RESIZE, _size()))
                loop.add_signal_handler(signal.SIGWINCH, lambda: loop.create_task(
                    ws.send_bytes(channels.frame(channels.RESIZE, _size()))))
            if stdin:
                _pump_stdin(loop, ws)
            return await _receive(ws)


def _pump_stdin(loop: asyncio.AbstractEventLoop, ws: aiohttp.ClientWebSocketResponse) -> None:
    """Our stdin to the stdin channel, from a daemon thread (a blocked read must not keep us alive)."""
    def send(message: bytes) -> None:
        if not ws.closed:
            loop.create_task(ws.send_bytes(message))

    def read() -> None:
        while True:
            try:
                data = os.read(0, 65536)
            except OSError:
                data = b""
            message = channels.frame(channels.STDIN, data) if data else bytes((channels.CLOSE, channels.STDIN))
            try:
                if data or ws.protocol == channels.V5:
                    loop.call_soon_threadsafe(send, message)
            except RuntimeError:   # the session is over
                return
            if not data:
                return

    threading.Thread(target=read, name="exec-stdin", daemon=True).start()


async def _receive(ws: aiohttp.ClientWebSocketResponse) -> int:
    code = 1
    async for msg in ws:
        if msg.type != aiohttp.WSMsgType.BINARY or not msg.data:
            continue
        channel, data = msg.data[0], msg.data[1:]
        if channel in (channels.STDOUT, channels.STDERR):
            out = sys.stdout.buffer if channel == channels.STDOUT else sys.stderr.buffer
            out.write(data)
            out.flush()
        elif channel == channels.ERROR:
            status = json.loads(data)
            code = exit_code(status)
            if code != 0 and status.get("reason") != "NonZeroExitCode":
                sys.stderr.write(f"error: {status.get('message')}\n")
    return code
