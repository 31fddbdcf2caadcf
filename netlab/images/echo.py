"""netlab's built-in echo container.

A container without a command runs this on each declared port: every TCP port gets an HTTP/1.1
server that answers any method and path with the pod's identity and the request it saw (so load
balancing and source addresses are visible); every UDP port answers each datagram with the same text.

Standalone: ``python -m netlab.images.echo --port 3000 --port 53/udp`` (identity from POD_NAME,
POD_NAMESPACE, POD_IP, NODE_NAME, CONTAINER_NAME).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import sys
import threading
import time
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

MAX_DELAY = 10.0
MAX_BODY = 1 << 20  # request bodies larger than this are not read; the connection is closed instead


@dataclass(frozen=True)
class Identity:
    """Who this echo server is: shown in every answer."""

    pod: str = ""
    namespace: str = ""
    ip: str = ""
    node: str = ""
    container: str = ""
    ips: str = ""  # POD_IPS, comma-separated: a dual-stack pod's addresses (it then listens on IPv6 too)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Identity:
        """Build from a dict, ignoring unknown keys."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: str(v) for k, v in data.items() if k in known and v is not None})

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Identity:
        """Build from the downward-API environment variables."""
        env = dict(os.environ) if env is None else env
        return cls(
            pod=env.get("POD_NAME", "") or env.get("HOSTNAME", ""),
            namespace=env.get("POD_NAMESPACE", ""),
            ip=env.get("POD_IP", ""),
            node=env.get("NODE_NAME", ""),
            container=env.get("CONTAINER_NAME", ""),
            ips=env.get("POD_IPS", ""),
        )

    @property
    def dual_stack(self) -> bool:
        return ":" in self.ips

    @property
    def listen_hosts(self) -> tuple[str, ...]:
        """One wildcard address per family the pod has (IPv4 when it knows no address of its own)."""
        addrs = [a for a in (self.ip, *self.ips.split(",")) if a]
        v4 = not addrs or any(":" not in a for a in addrs)
        return (*(("0.0.0.0",) if v4 else ()), *(("::",) if any(":" in a for a in addrs) else ()))


def describe(identity: Identity, client: tuple[str, int], request: str, host: str) -> dict[str, Any]:
    """The facts an answer reports, in display order."""
    return {
        "pod": identity.pod,
        "namespace": identity.namespace,
        "ip": identity.ip,
        **({"ips": identity.ips} if identity.dual_stack else {}),
        "node": identity.node,
        "container": identity.container,
        "client": f"[{client[0]}]:{client[1]}" if ":" in client[0] else f"{client[0]}:{client[1]}",
        "client_ip": client[0],
        "client_port": client[1],
        "request": request,
        "host": host,
    }


def render_text(info: dict[str, Any]) -> str:
    """Plain-text form: one ``key: value`` line per fact (client_ip/client_port folded into client)."""
    skip = {"client_ip", "client_port"}
    return "".join(f"{k}: {v}\n" for k, v in info.items() if k not in skip)


def parse_text(text: str) -> dict[str, str]:
    """An answer's facts back from its plain-text form (pod, namespace, ip, node, client, request, host).

    Only `key: value` lines whose key is a name count, and the first one wins, so a body that is not an
    echo answer (an error page, curl's own output) yields no facts rather than wrong ones."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition(": ")
        if sep and key.isidentifier():
            out.setdefault(key, value.strip())
    return out


_log_lock = threading.Lock()


def _log(line: str) -> None:
    with _log_lock:
        try:
            sys.stdout.write(line + "\n")
            sys.stdout.flush()
        except (OSError, ValueError):
            pass


class EchoHandler(BaseHTTPRequestHandler):
    """Answers every method and path; see the module docstring."""

    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes; without TCP_NODELAY, Nagle plus the client's delayed
    # ACK add 40 ms to every keep-alive response.
    disable_nagle_algorithm = True
    server_version = "netlab-echo/1"
    identity: Identity = Identity()

    def __getattr__(self, name: str) -> Any:
        # BaseHTTPRequestHandler dispatches to do_<METHOD>; answer any method the same way.
        if name.startswith("do_"):
            return self._handle
        raise AttributeError(name)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass  # we log ourselves once the body size is known

    def parse_request(self) -> bool:
        self.server.begin_request()  # type: ignore[attr-defined]
        self._counted = True
        return super().parse_request()

    def handle_one_request(self) -> None:
        self._counted = False
        try:
            super().handle_one_request()
        finally:
            if self._counted:
                self.server.end_request()  # type: ignore[attr-defined]
            if self.server.stopping.is_set():  # type: ignore[attr-defined]
                self.close_connection = True  # draining: no keep-alive past the answer in flight

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        _log(f"{self.client_address[0]} - - {format % args}")

    def _drain_body(self) -> None:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = 0
        if length > MAX_BODY or self.headers.get("Transfer-Encoding"):
            self.close_connection = True
        elif length > 0:
            self.rfile.read(length)

    def _handle(self) -> None:
        self._drain_body()
        url = urlsplit(self.path)
        path = url.path
        status = 200
        if path == "/healthz":
            self._respond(200, b"ok\n", "text/plain; charset=utf-8")
            return
        if path.startswith("/status/"):
            try:
                status = int(path.split("/")[2])
            except ValueError:
                status = 400
            if not 200 <= status <= 599:
                status = 400
        elif path.startswith("/delay/"):
            try:
                seconds = float(path.split("/")[2])
            except ValueError:
                seconds = 0.0
            time.sleep(min(max(seconds, 0.0), MAX_DELAY))
        host = self.headers.get("Host", "")
        info = describe(self.identity, self.client_address[:2], self.requestline, host)
        wants_json = "json" in parse_qs(url.query).get("format", []) or "application/json" in (
            self.headers.get("Accept") or ""
        )
        if wants_json:  # the JSON answer also shows the request's headers (what a proxy added or changed)
            info["headers"] = {name.lower(): value for name, value in self.headers.items()}
            body = (json.dumps(info, indent=2) + "\n").encode()
            ctype = "application/json"
        else:
            body = render_text(info).encode()
            ctype = "text/plain; charset=utf-8"
        self._respond(status, body, ctype)

    def _respond(self, status: int, body: bytes, ctype: str) -> None:
        if status in (204, 304):
            body = b""
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Pod-Name", self.identity.pod)
        self.send_header("X-Pod-Namespace", self.identity.namespace)
        self.send_header("X-Pod-IP", self.identity.ip)
        self.send_header("X-Node-Name", self.identity.node)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        self._access_log(status, len(body))

    def _access_log(self, status: int, size: int) -> None:
        now = datetime.now(UTC).strftime("%d/%b/%Y:%H:%M:%S +0000")
        referer = self.headers.get("Referer", "-")
        agent = self.headers.get("User-Agent", "-")
        client = self.client_address[0]
        _log(f'{client} - - [{now}] "{self.requestline}" {status} {size} "{referer}" "{agent}"')


class EchoHTTPServer(ThreadingHTTPServer):
    """Counts the requests in flight, so that SIGTERM can let them finish (drain) before the exit."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.stopping = threading.Event()
        self._inflight = 0
        self._idle = threading.Condition()

    def begin_request(self) -> None:
        with self._idle:
            self._inflight += 1

    def end_request(self) -> None:
        with self._idle:
            self._inflight -= 1
            self._idle.notify_all()

    def drain(self, timeout: float) -> bool:
        """Stop accepting; wait (at most `timeout` s) for the requests in flight; True when none is left."""
        self.stopping.set()
        self.shutdown()
        self.server_close()
        with self._idle:
            return self._idle.wait_for(lambda: self._inflight == 0, timeout)


class EchoHTTPServer6(EchoHTTPServer):
    """The IPv6 listener of a dual-stack pod, next to the IPv4 one (IPv6-only, so IPv4 clients keep
    appearing as plain IPv4 addresses rather than ::ffff:a.b.c.d)."""

    address_family = socket.AF_INET6

    def server_bind(self) -> None:
        self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        super().server_bind()


def make_http_server(port: int, identity: Identity, host: str = "0.0.0.0") -> EchoHTTPServer:
    """Bind an echo HTTP server (not yet serving); host "::" binds the IPv6 listener."""
    handler = type("BoundEchoHandler", (EchoHandler,), {"identity": identity})
    return (EchoHTTPServer6 if ":" in host else EchoHTTPServer)((host, port), handler)


def make_udp_socket(port: int, host: str = "0.0.0.0") -> socket.socket:
    """Bind the UDP echo socket (host "::": the IPv6 one)."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if ":" in host:
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    sock.bind((host, port))
    return sock


def serve_udp(sock: socket.socket, identity: Identity) -> None:
    """Answer every datagram with the identity text (runs until the socket is closed)."""
    port = sock.getsockname()[1]
    while True:
        try:
            data, peer = sock.recvfrom(65535)
        except OSError:
            return
        info = describe(identity, peer[:2], f"UDP {port} {len(data)} bytes", "")
        try:
            sock.sendto(render_text(info).encode(), peer)
        except OSError:
            continue
        _log(f'{peer[0]} - - "UDP {port}" {len(data)} bytes')


DRAIN_TIMEOUT = 60.0  # longest wait for requests in flight after SIGTERM (the kubelet's SIGKILL comes first)


class _Stop(Exception):
    pass


def _raise_stop(signum: int, frame: object) -> None:
    raise _Stop()


def serve(ports: list[tuple[int, str]], identity: Identity) -> None:
    """Serve every port until SIGTERM/SIGINT (then return). Raises OSError when a port cannot be bound."""
    http_servers: list[EchoHTTPServer] = []  # only servers whose serve_forever thread was started
    udp_socks: list[socket.socket] = []
    main_thread = threading.current_thread() is threading.main_thread()
    if main_thread:
        signal.signal(signal.SIGTERM, _raise_stop)
        signal.signal(signal.SIGINT, _raise_stop)
    hosts = identity.listen_hosts
    try:
        for (port, proto), host in ((p, h) for p in ports for h in hosts):
            if proto.upper() == "UDP":
                sock = make_udp_socket(int(port), host)
                udp_socks.append(sock)
                threading.Thread(target=serve_udp, args=(sock, identity), daemon=True).start()
            else:
                srv = make_http_server(int(port), identity, host)
                threading.Thread(target=srv.serve_forever, args=(0.2,), daemon=True).start()
                http_servers.append(srv)
        _log(f"echo: serving {', '.join(f'{p}/{proto.lower()}' for p, proto in ports)} as {identity.pod}")
        while True:
            if main_thread:
                signal.pause()
            else:
                time.sleep(3600)
    except _Stop:
        if main_thread:
            signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second SIGTERM must not cut the drain short
        _log("echo: terminating: finishing the requests in flight")
    finally:
        for srv in http_servers:   # as real servers do on SIGTERM (Go's Shutdown): stop accepting, then drain
            srv.drain(DRAIN_TIMEOUT)
        for sock in udp_socks:
            sock.close()


def parse_port(text: str) -> tuple[int, str]:
    """``3000`` or ``3000/tcp`` or ``53/udp`` -> (port, "TCP"|"UDP")."""
    port, _, proto = text.partition("/")
    proto = (proto or "tcp").upper()
    if proto not in ("TCP", "UDP"):
        raise argparse.ArgumentTypeError(f"unknown protocol {proto!r}")
    try:
        number = int(port)
    except ValueError:
        raise argparse.ArgumentTypeError(f"bad port {port!r}") from None
    if not 0 < number < 65536:
        raise argparse.ArgumentTypeError(f"port out of range: {number}")
    return number, proto


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="netlab.images.echo", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--port",
        action="append",
        type=parse_port,
        default=[],
        help="PORT[/tcp|/udp], repeatable (default 80)",
    )
    args = parser.parse_args(argv)
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    serve(args.port or [(80, "TCP")], Identity.from_env())
    return 0


if __name__ == "__main__":
    sys.exit(main())
