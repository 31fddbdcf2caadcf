"""What the supervisor asks the launcher for to start one container. Pure."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from netlab.compile.containerspec import ContainerSpec

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def stdin_fifo(log: Path) -> Path:
    """The FIFO a container with `stdin: true` reads (beside its log; `kubectl attach -i` writes to it)."""
    return log.with_name(log.stem + ".stdin")


def start_request(spec: ContainerSpec, log: Path, pidfile: Path, exitfile: Path) -> dict[str, Any]:
    """The launcher's start request: namespace, environment, files, and either argv or the echo server."""
    env = dict(spec.env)
    env.setdefault("PATH", DEFAULT_PATH)
    req: dict[str, Any] = {
        "netns": spec.netns,
        "env": env,
        "cwd": spec.working_dir,
        "log": str(log),
        "exitfile": str(exitfile),
        "pidfile": str(pidfile),
    }
    if spec.security is not None:
        req["security"] = spec.security
    if spec.tty:   # its stdin is the terminal
        req["tty"] = True
    elif spec.stdin:
        req["stdin"] = str(stdin_fifo(log))
        if spec.stdin_once:
            req["stdin_once"] = True
    if spec.argv:
        req["argv"] = list(spec.argv)
    else:
        identity = {"container": spec.name, **spec.identity}
        ports = [[int(p), str(proto).upper()] for p, proto in spec.echo_ports] or [[80, "TCP"]]
        req["echo"] = {"ports": ports, "identity": identity}
    return req
