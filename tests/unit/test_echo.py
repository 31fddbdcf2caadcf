"""The built-in echo container, run standalone in the current network namespace on loopback."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from netlab.images.echo import Identity, describe, parse_port, parse_text, render_text

ROOT = Path(__file__).resolve().parents[2]


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_tcp(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.02)


@pytest.fixture(scope="module")
def echo_server() -> Iterator[tuple[int, int, subprocess.Popen[bytes]]]:
    tcp, udp = free_port(), free_port(socket.SOCK_DGRAM)
    env = dict(
        os.environ,
        POD_NAME="web-1",
        POD_NAMESPACE="shop",
        POD_IP="10.244.1.5",
        NODE_NAME="worker",
        CONTAINER_NAME="app",
        PYTHONPATH=str(ROOT),
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "netlab.images.echo", "--port", str(tcp), "--port", f"{udp}/udp"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_tcp(tcp)
        yield tcp, udp, proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=5)
        if proc.stdout:
            proc.stdout.close()


Reply = tuple[int, dict[str, str], str, tuple]


def get(port: int, path: str, headers: dict[str, str] | None = None) -> Reply:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.connect()
        local = conn.sock.getsockname()
        conn.request("GET", path, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, dict(resp.getheaders()), resp.read().decode(), local
    finally:
        conn.close()


def test_text_answer_has_identity_and_client(echo_server) -> None:
    port = echo_server[0]
    status, headers, body, local = get(port, "/hello?x=1", {"Host": "web.shop"})
    assert status == 200
    assert headers["X-Pod-Name"] == "web-1"
    lines = body.splitlines()
    assert "pod: web-1" in lines
    assert "namespace: shop" in lines
    assert "ip: 10.244.1.5" in lines
    assert "node: worker" in lines
    assert "container: app" in lines
    assert f"client: {local[0]}:{local[1]}" in lines
    assert "request: GET /hello?x=1 HTTP/1.1" in lines
    assert "host: web.shop" in lines


def test_json_answer(echo_server) -> None:
    port = echo_server[0]
    for path, headers in (("/x?format=json", {}), ("/x", {"Accept": "application/json"})):
        status, hdrs, body, local = get(port, path, headers)
        assert status == 200 and hdrs["Content-Type"] == "application/json"
        data = json.loads(body)
        assert data["pod"] == "web-1" and data["namespace"] == "shop"
        assert (data["client_ip"], data["client_port"]) == (local[0], local[1])
    data = json.loads(get(port, "/x?format=json", {"X-Trace": "abc"})[2])
    assert data["headers"]["x-trace"] == "abc", "the JSON answer shows the request's headers (names lower-cased)"


def test_special_paths(echo_server) -> None:
    port = echo_server[0]
    assert get(port, "/healthz")[0::2] == (200, "ok\n")
    assert get(port, "/status/503")[0] == 503
    assert get(port, "/status/404")[1]["X-Pod-Name"] == "web-1"
    t = time.monotonic()
    assert get(port, "/delay/0.2")[0] == 200
    assert time.monotonic() - t >= 0.2


def test_keep_alive_and_post(echo_server) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", echo_server[0], timeout=5)
    try:
        for _ in range(2):
            conn.request("POST", "/submit", body=b"payload")
            resp = conn.getresponse()
            assert resp.status == 200 and "request: POST /submit HTTP/1.1" in resp.read().decode()
    finally:
        conn.close()


def test_udp_reply(echo_server) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(2)
        s.bind(("127.0.0.1", 0))
        s.sendto(b"ping", ("127.0.0.1", echo_server[1]))
        data, _ = s.recvfrom(65535)
        text = data.decode()
        assert "pod: web-1" in text
        assert f"client: 127.0.0.1:{s.getsockname()[1]}" in text


def test_sigterm_exits_cleanly_and_logs(echo_server) -> None:
    port, _, proc = echo_server
    get(port, "/logged")
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=5) == 0
    assert proc.stdout is not None
    out = proc.stdout.read().decode()
    assert '"GET /logged HTTP/1.1" 200' in out


def test_parse_port() -> None:
    assert parse_port("3000") == (3000, "TCP")
    assert parse_port("53/udp") == (53, "UDP")
    assert parse_port("8080/TCP") == (8080, "TCP")



def test_parse_text_reads_an_answer_back() -> None:
    identity = Identity(pod="web-1", namespace="shop", ip="10.244.1.5", node="worker", container="app")
    body = render_text(describe(identity, ("10.244.2.7", 40000), "GET /a: b HTTP/1.1", "web.shop"))
    facts = parse_text(body)
    assert facts["pod"] == "web-1" and facts["node"] == "worker" and facts["host"] == "web.shop"
    assert facts["client"] == "10.244.2.7:40000"
    assert facts["request"] == "GET /a: b HTTP/1.1"  # only the first ": " splits


def test_parse_text_finds_no_facts_in_other_bodies() -> None:
    assert parse_text("<html>503 Service Temporarily Unavailable</html>\n") == {}
    assert parse_text("NETLAB-HTTP-CODE: 000\n") == {}
    assert parse_text("pod: a\npod: b\n") == {"pod": "a"}
