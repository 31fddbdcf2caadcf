"""A stand-in for Kubernetes' e2e test image agnhost (registry.k8s.io/e2e-test-images/agnhost): the
subcommands the documentation and e2e tests use, with agnhost's flags, ports and answers.

- ``serve-hostname [--port 9376] [--http=true] [--tcp] [--udp]``: the hostname, over HTTP, TCP or UDP
- ``netexec [--http-port 8080] [--udp-port 8081]``: HTTP paths /, /hostname, /clientip, /echo?msg=,
  /healthz; UDP commands ``hostname``, ``echo <text>``, ``clientip``
- ``liveness``: /healthz on 8080 answers 200 for 10 s after the start, then 500
- ``pause``: sleeps until terminated
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import socketserver
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

Route = Callable[[BaseHTTPRequestHandler, dict[str, list[str]]], tuple[int, str]]


def hostname() -> str:
    """The pod's hostname (netlab sets HOSTNAME to it, as the kubelet sets the UTS name)."""
    return os.environ.get("HOSTNAME") or socket.gethostname()


def log(line: str) -> None:
    print(line, flush=True)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def http_server(port: int, routes: dict[str, Route], bind: str = "0.0.0.0") -> _Server:
    """An HTTP server answering GET/POST on `routes` (404 elsewhere)."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
            log(f"{self.client_address[0]} {format % args}")

        def _answer(self) -> None:
            url = urlsplit(self.path)
            route = routes.get(url.path) or routes.get("*")
            status, body = route(self, parse_qs(url.query)) if route else (404, "404 page not found\n")
            data = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

        do_GET = do_POST = do_HEAD = _answer

    return _Server((bind, port), Handler)


def start(server: socketserver.BaseServer) -> None:
    threading.Thread(target=server.serve_forever, daemon=True).start()


def wait_forever() -> None:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    while True:
        signal.pause()


def _udp(port: int, answer: Callable[[str, tuple[str, int]], str]) -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("0.0.0.0", port))

    def loop() -> None:
        while True:
            data, peer = sock.recvfrom(65535)
            try:
                sock.sendto(answer(data.decode(errors="replace").strip(), peer).encode(), peer)
            except OSError:
                continue

    threading.Thread(target=loop, daemon=True).start()


def netexec_routes(host: str) -> dict[str, Route]:
    """netexec's HTTP paths."""
    return {
        "/": lambda h, q: (200, f"NOW: {datetime.now(UTC).isoformat()}"),
        "/hostname": lambda h, q: (200, host),
        "/clientip": lambda h, q: (200, f"{h.client_address[0]}:{h.client_address[1]}"),
        "/echo": lambda h, q: (200, (q.get("msg") or [""])[0]),
        "/healthz": lambda h, q: (200, ""),
    }


def netexec(http_port: int, udp_port: int) -> None:
    host = hostname()
    start(http_server(http_port, netexec_routes(host)))

    def udp_answer(cmd: str, peer: tuple[str, int]) -> str:
        word, _, rest = cmd.partition(" ")
        return {"hostname": host, "echo": rest, "clientip": f"{peer[0]}:{peer[1]}"}.get(word, "")

    if udp_port > 0:
        _udp(udp_port, udp_answer)
    log(f"Started HTTP server on port {http_port}, UDP server on port {udp_port}")


def serve_hostname(port: int, http: bool, tcp: bool, udp: bool) -> None:
    host = hostname()
    if http:
        start(http_server(port, {"*": lambda h, q: (200, host)}))
    if tcp:
        class Tcp(socketserver.ThreadingTCPServer):
            daemon_threads = allow_reuse_address = True

        class Once(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                self.request.sendall(host.encode())

        start(Tcp(("0.0.0.0", port), Once))
    if udp:
        _udp(port, lambda cmd, peer: host)
    log(f"Serving hostname {host} on port {port}")


def liveness_route(healthy_for: float = 10.0, clock: Callable[[], float] = time.monotonic) -> Route:
    """liveness's /healthz: 200 until `healthy_for` seconds after this call, then 500."""
    started = clock()

    def healthz(h: BaseHTTPRequestHandler, q: dict[str, list[str]]) -> tuple[int, str]:
        elapsed = clock() - started
        if elapsed > healthy_for:
            return 500, f"error: {elapsed:.6f}"
        return 200, "ok"

    return healthz


def liveness(port: int = 8080) -> None:
    start(http_server(port, {"/healthz": liveness_route()}))


def go_flags(argv: list[str]) -> list[str]:
    """Go's flag package takes one dash as well as two (-port=9376): make them argparse's two."""
    return ["-" + a if a.startswith("-") and not a.startswith("--") and len(a) > 2 else a for a in argv]


def _flag(value: str) -> bool:
    return value.lower() in ("1", "t", "true", "yes")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="agnhost", description="netlab's stand-in for agnhost")
    sub = p.add_subparsers(dest="cmd")
    ne = sub.add_parser("netexec")
    ne.add_argument("--http-port", type=int, default=8080)
    ne.add_argument("--udp-port", type=int, default=8081)
    sh = sub.add_parser("serve-hostname")
    sh.add_argument("--port", type=int, default=9376)
    for name, default in (("--http", "true"), ("--tcp", "false"), ("--udp", "false")):
        sh.add_argument(name, nargs="?", const="true", default=default)
    sub.add_parser("liveness")
    sub.add_parser("pause")
    return p


def main(argv: list[str] | None = None) -> int:
    p = parser()
    args, _unknown = p.parse_known_args(go_flags(sys.argv[1:] if argv is None else argv))
    if args.cmd is None:
        p.print_help()
        return 0
    if args.cmd == "netexec":
        netexec(args.http_port, args.udp_port)
    elif args.cmd == "serve-hostname":
        serve_hostname(args.port, _flag(args.http), _flag(args.tcp), _flag(args.udp))
    elif args.cmd == "liveness":
        liveness()
    wait_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
