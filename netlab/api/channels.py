"""The Kubernetes remote-command channel protocol (exec and attach over WebSocket), as pure functions.

Every binary WebSocket message starts with a channel byte: 0 stdin, 1 stdout, 2 stderr, 3 error (the
final Status as JSON), 4 resize (`{"Width": W, "Height": H}` from the client). `v5.channel.k8s.io` adds
message [255, channel]: that channel is closed (the client's stdin reached EOF). `v4.channel.k8s.io` is the
same without the close message; kubectl 1.37 offers v5 first, then v4.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

STDIN, STDOUT, STDERR, ERROR, RESIZE, CLOSE = 0, 1, 2, 3, 4, 255
V5, V4 = "v5.channel.k8s.io", "v4.channel.k8s.io"
PROTOCOLS = (V5, V4)   # ours, best first


def choose_protocol(offered: Iterable[str]) -> str | None:
    """The subprotocol to answer, from the client's Sec-WebSocket-Protocol list; None when none fits."""
    wanted = {p.strip() for p in offered}
    return next((p for p in PROTOCOLS if p in wanted), None)


def frame(channel: int, data: bytes) -> bytes:
    return bytes((channel,)) + data


@dataclass(frozen=True)
class Message:
    """A client message: data for stdin, a new terminal size, or the close of a channel."""
    kind: str                  # "stdin" | "resize" | "close" | "ignored"
    data: bytes = b""
    size: tuple[int, int] | None = None   # (width, height)
    channel: int | None = None


def parse(message: bytes, protocol: str) -> Message:
    """One binary message from the client."""
    if not message:
        return Message("ignored")
    channel, data = message[0], message[1:]
    if channel == STDIN:
        return Message("stdin", data)
    if channel == RESIZE:
        try:
            size = json.loads(data)
            return Message("resize", size=(int(size["Width"]), int(size["Height"])))
        except (ValueError, KeyError, TypeError):
            return Message("ignored")
    if channel == CLOSE and protocol == V5 and data:
        return Message("close", channel=data[0])
    return Message("ignored")


def exit_status(code: int, argv: list[str]) -> dict:
    """The Status the error channel carries when the command ended: Success, or the exit code as
    kubelet reports it (kubectl exits with that code)."""
    if code == 0:
        return {"metadata": {}, "status": "Success"}
    return {"metadata": {}, "status": "Failure",
            "message": f"command terminated with non-zero exit code: error executing command {_go_list(argv)}, "
                       f"exit code {code}",
            "reason": "NonZeroExitCode",
            "details": {"causes": [{"reason": "ExitCode", "message": str(code)}]}}


def failure_status(message: str) -> dict:
    """A Status for a command that could not run at all (kubectl prints the message, exits 1)."""
    return {"metadata": {}, "status": "Failure", "message": message, "reason": "InternalError",
            "code": 500}


def status_frame(status: dict) -> bytes:
    return frame(ERROR, json.dumps(status).encode())


def _go_list(argv: list[str]) -> str:
    return "[" + " ".join(argv) + "]"
