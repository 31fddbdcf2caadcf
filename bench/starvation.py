#!/usr/bin/env python3
"""Issue 11 §4 in numbers: can a burst or a flood of idle connections starve the API or the DNS server?

Runs on loopback and temporary Unix sockets only, no root. Each figure is measured `--runs` times
(default 5) and printed as a range, next to a baseline measured in the same run:
- 100 simultaneous connections to the API server: answered with 200, at backlog 5 (the old
  socketserver default) and at netlab's backlog;
- 10 DNS-over-TCP queries from other clients while one client holds 600 idle connections: answered,
  and the slowest answer's latency;
- the server-side validation of an apply of 100 pods, against the JSON parse of the same body.
Usage: python3 bench/starvation.py [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import socket
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "unit"))

from test_api_server import FakeController  # noqa: E402
from test_dns_server import running, view, write_view  # noqa: E402
from test_dns_tcp_limits import _idle_flood, _query_tcp  # noqa: E402

from netlab.api import pki as pkimod  # noqa: E402
from netlab.api import server as apiserver  # noqa: E402
from netlab.api.client import client_ssl_context  # noqa: E402
from netlab.api.request import parse_apply_body, validated_objects  # noqa: E402


def burst(backlog: int) -> int:
    """How many of 100 HTTPS connections made at once get a 200."""
    with tempfile.TemporaryDirectory() as tmp:
        pki = pkimod.ensure(tmp, ["127.0.0.1"])
        old = apiserver.LISTEN_BACKLOG
        apiserver.LISTEN_BACKLOG = backlog
        server = apiserver.ApiServer(FakeController(), pki)
        try:
            port = server.start("127.0.0.1", 0)
        finally:
            apiserver.LISTEN_BACKLOG = old
        ctx = client_ssl_context(pki)
        ok, socks = 0, []
        try:
            for _ in range(100):
                try:
                    raw = socket.create_connection(("127.0.0.1", port), timeout=5)
                    socks.append(ctx.wrap_socket(raw, server_hostname="127.0.0.1"))
                except OSError:
                    pass
            for sock in socks:
                sock.sendall(b"GET /api/v1/namespaces HTTP/1.1\r\nHost: x\r\n\r\n")
            for sock in socks:
                ok += sock.recv(64).split(b"\r\n", 1)[0].endswith(b" 200 OK")
        finally:
            for sock in socks:
                sock.close()
            server.stop()
        return ok


def dns_flood() -> tuple[int, float]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "view.json"
        write_view(path, view([]))
        with running(path) as port, _idle_flood(port, ["127.0.0.1"], 600):
            answered, slowest = 0, 0.0
            for i in range(10):
                t0 = time.monotonic()
                answered += _query_tcp(port, f"127.0.0.{i + 2}") is not None
                slowest = max(slowest, time.monotonic() - t0)
            return answered, slowest


def validation(pods: int = 100) -> tuple[float, float]:
    body = json.dumps({"objects": [
        {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": f"echo-{i}", "labels": {"app": "echo"}},
         "spec": {"containers": [{"name": "echo", "image": "echo", "ports": [{"containerPort": 8080}]}]}}
        for i in range(pods)]}).encode()
    t0 = time.perf_counter()
    json.loads(body)
    parse = time.perf_counter() - t0
    t0 = time.perf_counter()
    objects, _ = parse_apply_body(body)
    validated_objects(objects)
    return parse, time.perf_counter() - t0


def span(values: list[float], fmt: str = "{:.0f}") -> str:
    return f"{fmt.format(min(values))}-{fmt.format(max(values))}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    old = [burst(5) for _ in range(args.runs)]
    new = [burst(apiserver.LISTEN_BACKLOG) for _ in range(args.runs)]
    print(f"API, 100 simultaneous connections answered: backlog 5: {span(old)}/100; "
          f"backlog {apiserver.LISTEN_BACKLOG}: {span(new)}/100")
    floods = [dns_flood() for _ in range(args.runs)]
    print(f"DNS/TCP under 600 idle connections from one client: {span([a for a, _ in floods])}/10 other clients "
          f"answered, slowest answer {span([s * 1000 for _, s in floods])} ms")
    times = [validation() for _ in range(args.runs)]
    print(f"apply of 100 pods: JSON parse {span([p * 1000 for p, _ in times], '{:.1f}')} ms, server-side "
          f"validation {span([v * 1000 for _, v in times], '{:.1f}')} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
