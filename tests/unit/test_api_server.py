"""The API server's input handling over a real Unix socket, with a fake controller (no root, no kernel).

Each test is one promise of issue 11 §4: every write validated as `netlab apply` validates, 400 for the
wrong shape, 413 before reading, a read deadline, 100 simultaneous connections, bounded threads.
"""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest

from netlab.api.client import ApiFailure, Client
from netlab.api.httpbase import MAX_REQUEST_BODY, MAX_REQUEST_HEAD
from netlab.api.resources import APPLY_PATH
from netlab.api.server import serve

READ_TIMEOUT = 0.5


class FakeController:
    """Records what reaches it; the server must hand it validated objects only."""

    def __init__(self) -> None:
        self.state = SimpleNamespace(cluster={}, resource_version=7, addons=[])
        self.applied: list[tuple[list[dict], bool]] = []
        self.fail: Exception | None = None

    def apply(self, objects: list[dict], dry_run: bool = False) -> list[dict]:
        if self.fail is not None:
            raise self.fail
        self.applied.append((objects, dry_run))
        return [{"kind": o["kind"], "name": o["metadata"]["name"], "namespace": o["metadata"].get("namespace", ""),
                 "action": "created"} for o in objects]

    def list(self, kind: str, namespace: str | None) -> list[dict]:
        return [{"metadata": {"name": "default"}}] if kind == "Namespace" else []


@pytest.fixture()
def api(tmp_path: Path) -> Iterator[SimpleNamespace]:
    yield from _running(tmp_path, max_connections=256)


@pytest.fixture()
def small_api(tmp_path: Path) -> Iterator[SimpleNamespace]:
    yield from _running(tmp_path, max_connections=4)


def _running(tmp_path: Path, max_connections: int) -> Iterator[SimpleNamespace]:
    ctl = FakeController()
    path = str(tmp_path / "api.sock")
    server = serve(ctl, path, max_connections=max_connections, read_timeout=READ_TIMEOUT, write_timeout=2.0)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield SimpleNamespace(path=path, ctl=ctl, server=server)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def _connect(path: str, timeout: float = 5.0) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    sock.connect(path)
    return sock


def _read_response(sock: socket.socket) -> tuple[int, dict, bytes]:
    """One HTTP response read off a raw socket: (status, headers, body)."""
    resp = http.client.HTTPResponse(sock)
    resp.begin()
    return resp.status, dict(resp.getheaders()), resp.read()


def _raw(path: str, request: bytes) -> tuple[int, dict, bytes]:
    with _connect(path) as sock:
        sock.sendall(request)
        return _read_response(sock)


def _post(path: str, body: bytes, target: str = APPLY_PATH) -> tuple[int, dict]:
    head = f"POST {target} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    status, _, data = _raw(path, head.encode() + body)
    return status, json.loads(data)


def _client(path: str) -> Client:
    client = Client("unit", timeout=5)
    client.socket_path = path
    return client


def _pod(name: str, **spec) -> dict:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"containers": [{"name": "c", "image": "busybox"}], **spec}}


# -- every write is validated as `netlab apply` validates -------------------------------------------------------
def test_valid_objects_reach_the_controller_normalised(api) -> None:
    reply = _client(api.path).request("POST", APPLY_PATH, {"objects": [_pod("ok-pod")], "dryRun": True})
    assert [i["name"] for i in reply["items"]] == ["ok-pod"]
    [(objects, dry_run)] = api.ctl.applied
    assert dry_run is True
    assert objects[0]["metadata"]["namespace"] == "default"   # defaulted as `netlab apply` does


def test_invalid_objects_get_422_naming_every_field_and_reach_nothing(api) -> None:
    bad_pod = _pod("Bad_Name")
    bad_svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "svc", "namespace": "x"},
               "spec": {"selector": {"app": "a"}, "ports": [{"port": 70000}]}}
    bad_type = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "svc2", "namespace": "x"},
                "spec": {"ports": [{"port": 80, "protocol": "ICMP"}]}}
    body = {"objects": [_pod("fine"), bad_pod, bad_svc, bad_type]}
    status, body = _post(api.path, json.dumps(body).encode())
    assert status == 422
    assert body["kind"] == "Status" and body["reason"] == "Invalid" and body["code"] == 422
    fields = {(c["object"], c["field"]) for c in body["details"]["causes"]}
    assert ("Pod default/Bad_Name", "metadata.name") in fields
    assert ("Service x/svc", "spec.ports[0].port") in fields
    assert ("Service x/svc2", "spec.ports[0].protocol") in fields
    assert all(c["reason"].startswith("FieldValue") for c in body["details"]["causes"])
    assert api.ctl.applied == []


def test_a_run_shaped_pod_is_validated_too(api) -> None:
    # What `netlab run` posts, with what its flags can carry: a bad name and a bad label value.
    pod = {"apiVersion": "v1", "kind": "Pod",
           "metadata": {"name": "x" * 254, "namespace": "default", "labels": {"run": "not a label value!"}},
           "spec": {"containers": [{"name": "run", "image": "busybox", "command": ["true"]}],
                    "restartPolicy": "Never"}}
    with pytest.raises(ApiFailure) as err:
        _client(api.path).request("POST", APPLY_PATH, {"objects": [pod]})
    assert err.value.code == 422
    assert {c["field"] for c in err.value.causes} >= {"metadata.name", "metadata.labels"}
    assert err.value.status["details"]["kind"] == "Pod" and err.value.status["details"]["name"] == "x" * 254
    assert api.ctl.applied == []


def test_the_running_clusters_node_port_range_applies(api) -> None:
    api.ctl.state.cluster = {"apiVersion": "netlab.dev/v1alpha1", "kind": "Cluster", "nodePortRange": "20000-20100"}

    def service(node_port: int) -> dict:
        return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": f"np-{node_port}"},
                "spec": {"type": "NodePort", "selector": {"app": "a"}, "ports": [{"port": 80, "nodePort": node_port}]}}

    assert _post(api.path, json.dumps({"objects": [service(20050)]}).encode())[0] == 200
    status, body = _post(api.path, json.dumps({"objects": [service(30080)]}).encode())
    assert status == 422 and body["details"]["causes"][0]["field"] == "spec.ports[0].nodePort"
    assert [objects[0]["metadata"]["name"] for objects, _ in api.ctl.applied] == ["np-20050"]


def test_a_cluster_cannot_be_applied_through_the_api(api) -> None:
    cluster = {"apiVersion": "kind.x-k8s.io/v1alpha4", "kind": "Cluster", "nodes": [{"role": "control-plane"}]}
    status, body = _post(api.path, json.dumps({"objects": [cluster]}).encode())
    assert status == 422 and body["details"]["causes"][0]["field"] == "kind"
    assert api.ctl.applied == []


# -- well-formed JSON of the wrong shape is a 400 Status, not a 500 --------------------------------------------
@pytest.mark.parametrize("body,field", [
    (b"[]", None),
    (b"5", None),
    (b'{"objects": 5}', "objects"),
    (b'{"objects": {"kind": "Pod"}}', "objects"),
    (b"{}", "objects"),
    (b'{"objects": [5, "pod"]}', "objects[0]"),
    (b'{"objects": [], "dryRun": "yes"}', "dryRun"),
    (b'{"objects": [], "dry_run": true}', "dry_run"),
    (b"not json", None),
    (b'{"objects": [NaN]}', None),
    (b"\xff\xfe", None),
    (b"[" * 20000 + b"]" * 20000, None),
])
def test_wrong_shape_is_400(api, body: bytes, field: str | None) -> None:
    status, reply = _post(api.path, body)
    assert status == 400, reply
    assert reply["kind"] == "Status" and reply["reason"] == "BadRequest"
    if field:
        assert field in {c["field"] for c in reply["details"]["causes"]}
    assert api.ctl.applied == []


@pytest.mark.parametrize("error", [ConnectionRefusedError(111, "launcher gone"), TimeoutError("launcher slow"),
                                   KeyError("x")])
def test_a_controller_failure_is_a_500_status_not_a_hang_up(api, error: Exception) -> None:
    api.ctl.fail = error
    status, body = _post(api.path, json.dumps({"objects": [_pod("ok-pod")]}).encode())
    assert status == 500 and body["reason"] == "InternalError"


def test_unsupported_method_is_a_405_status(api) -> None:
    status, _, data = _raw(api.path, b"PUT /api/v1/namespaces/default/pods/x HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}")
    assert status == 405 and json.loads(data)["kind"] == "Status"


# -- body size --------------------------------------------------------------------------------------------------
def test_body_over_the_limit_is_413_before_reading(api) -> None:
    with _connect(api.path) as sock:
        started = time.monotonic()
        # Only the headers: a server that tried to read the body would wait for it (and time out, no 413).
        sock.sendall(f"POST {APPLY_PATH} HTTP/1.1\r\nContent-Length: {MAX_REQUEST_BODY + 1}\r\n\r\n".encode())
        status, headers, data = _read_response(sock)
        assert time.monotonic() - started < READ_TIMEOUT
    assert status == 413 and json.loads(data)["reason"] == "RequestEntityTooLarge"
    assert headers.get("Connection") == "close"


def test_body_at_the_limit_is_read(api) -> None:
    padding = " " * (MAX_REQUEST_BODY - len(b'{"objects": []}'))
    status, _ = _post(api.path, ('{"objects": []}' + padding).encode())
    assert status == 200


def test_client_sees_the_413_for_a_big_apply(api) -> None:
    pod = _pod("big", nodeName="n")
    pod["metadata"]["annotations"] = {"a": "x" * (MAX_REQUEST_BODY + 10)}
    with pytest.raises(ApiFailure) as err:
        _client(api.path).request("POST", APPLY_PATH, {"objects": [pod]})
    assert err.value.code == 413


@pytest.mark.parametrize("headers,code", [
    ("Transfer-Encoding: chunked\r\n", 411),
    ("Content-Length: -1\r\n", 400),
    ("Content-Length: 5\r\nContent-Length: 6\r\n", 400),
])
def test_bad_framing_is_refused(api, headers: str, code: int) -> None:
    status, _, data = _raw(api.path, f"POST {APPLY_PATH} HTTP/1.1\r\n{headers}\r\n".encode())
    assert status == code and json.loads(data)["kind"] == "Status"


def test_oversized_request_head_is_cut_off(api) -> None:
    header = "X-Pad: " + "a" * 60000 + "\r\n"
    request = ("GET /api/v1/namespaces HTTP/1.1\r\n" + header * 20 + "\r\n").encode()
    assert MAX_REQUEST_HEAD < len(request)
    with _connect(api.path) as sock:
        try:
            sock.sendall(request)
        except (BrokenPipeError, ConnectionResetError):
            pass   # the server stopped reading: what this test wants
        try:
            answer = sock.recv(65536)
        except ConnectionResetError:
            answer = b""
    assert answer == b""


# -- read deadline ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("sent", [b"", b"G", b"GET /api/v1/namespaces HTTP/1.1\r\nHost: x\r\n",
                                  f"POST {APPLY_PATH} HTTP/1.1\r\nContent-Length: 100\r\n\r\n{{\"obj".encode()])
def test_idle_and_partial_requests_are_closed(api, sent: bytes) -> None:
    with _connect(api.path) as sock:
        sock.sendall(sent)
        started = time.monotonic()
        assert sock.recv(65536) == b""          # closed, without an answer
        assert time.monotonic() - started < READ_TIMEOUT + 1.5
    assert api.ctl.applied == []


def test_a_byte_a_time_does_not_extend_the_deadline(api) -> None:
    with _connect(api.path) as sock:
        started = time.monotonic()
        with pytest.raises(OSError):
            for ch in b"GET /api/v1/namespaces HTTP/1.1\r\n" * 10:
                sock.send(bytes([ch]))
                time.sleep(READ_TIMEOUT / 5)
        assert time.monotonic() - started < READ_TIMEOUT * 3


def test_keep_alive_connection_is_closed_when_idle(api) -> None:
    with _connect(api.path) as sock:
        sock.sendall(b"GET /api/v1/namespaces HTTP/1.1\r\nHost: x\r\n\r\n")
        assert _read_response(sock)[0] == 200
        sock.sendall(b"GET /api/v1/namespaces HTTP/1.1\r\nHost: x\r\n\r\n")   # a second request is served
        assert _read_response(sock)[0] == 200
        started = time.monotonic()
        assert sock.recv(1) == b""
        assert time.monotonic() - started < READ_TIMEOUT + 1.5


def test_held_requests_do_not_block_others(api) -> None:
    held = [_connect(api.path) for _ in range(50)]
    try:
        for sock in held:
            sock.sendall(b"G")
        started = time.monotonic()
        assert _client(api.path).get("/api/v1/namespaces")["items"]
        assert time.monotonic() - started < 1.0
    finally:
        for sock in held:
            sock.close()


# -- connections ------------------------------------------------------------------------------------------------
def test_100_simultaneous_connections_are_accepted(api) -> None:
    socks = []
    try:
        for _ in range(100):          # connect all first, as fast as possible: they queue in the backlog
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(5)        # a socket with a timeout connects non-blocking: EAGAIN when the backlog is full
            sock.connect(api.path)
            socks.append(sock)
        for sock in socks:
            sock.sendall(b"GET /api/v1/namespaces HTTP/1.1\r\nHost: x\r\n\r\n")
        statuses = [_read_response(sock)[0] for sock in socks]
    finally:
        for sock in socks:
            sock.close()
    assert statuses == [200] * 100


def test_connections_beyond_the_bound_get_429_at_once(small_api) -> None:
    held = [_connect(small_api.path) for _ in range(4)]
    try:
        time.sleep(0.2)   # let the server take all four
        started = time.monotonic()
        status, headers, data = _raw(small_api.path, b"GET /api/v1/namespaces HTTP/1.1\r\nHost: x\r\n\r\n")
        assert status == 429 and headers.get("Retry-After") == "1"
        assert json.loads(data)["reason"] == "TooManyRequests"
        assert time.monotonic() - started < READ_TIMEOUT
    finally:
        for sock in held:
            sock.close()
    # the slots come back once those connections end
    deadline = time.monotonic() + 3
    while (status := _raw(small_api.path, b"GET /api/v1/namespaces HTTP/1.1\r\nHost: x\r\n\r\n")[0]) != 200:
        assert time.monotonic() < deadline, status
        time.sleep(0.05)


# -- the CLI's client -------------------------------------------------------------------------------------------
