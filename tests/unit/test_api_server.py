"""The API server's input handling over real HTTPS connections, with a fake controller (no root, no kernel).

Each test is one promise of issue 11 §4 (and issue 13's bad input): every write validated as `netlab apply`
validates, 400 for the wrong shape, 413 before reading, a read deadline, 100 simultaneous connections,
bounded connections, and no access without a client certificate of the cluster CA.
"""

from __future__ import annotations

import http.client
import json
import socket
import ssl
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest

from netlab.api import pki as pkimod
from netlab.api.client import ApiFailure, Client, client_ssl_context
from netlab.api.endpoint import Endpoint
from netlab.api.errors import ApiError
from netlab.api.resources import APPLY_PATH
from netlab.api.server import MAX_REQUEST_BODY, ApiServer

READ_TIMEOUT = 0.5


class FakeController:
    """Records what reaches it; the server must hand it validated objects only."""

    def __init__(self) -> None:
        self.state = SimpleNamespace(cluster={}, resource_version=7, addons=[], pods={})
        self.applied: list[tuple[list[dict], bool]] = []
        self.fail: Exception | None = None
        self.watchcache = SimpleNamespace(list=lambda kind, ns: (self.list(kind, ns), 7))

    def apply(self, objects: list[dict], dry_run: bool = False) -> list[dict]:
        if self.fail is not None:
            raise self.fail
        self.applied.append((objects, dry_run))
        return [{"kind": o["kind"], "name": o["metadata"]["name"], "namespace": o["metadata"].get("namespace", ""),
                 "action": "created"} for o in objects]

    def list(self, kind: str, namespace: str | None) -> list[dict]:
        return [{"metadata": {"name": "default"}}] if kind == "Namespace" else []

    def get(self, kind: str, namespace: str | None, name: str) -> dict:
        pod = self.state.pods.get(f"{namespace}/{name}") if kind == "Pod" else None
        if pod is None:
            raise ApiError(404, "NotFound", f'pods "{name}" not found')
        return {"metadata": {"name": name, "namespace": namespace}, "spec": pod.spec, "status": {"phase": "Running"}}


@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> pkimod.Pki:
    return pkimod.ensure(tmp_path_factory.mktemp("pki"), ["127.0.0.1"])


@pytest.fixture()
def api(pki) -> Iterator[SimpleNamespace]:
    yield from _running(pki, max_connections=256)


@pytest.fixture()
def small_api(pki) -> Iterator[SimpleNamespace]:
    yield from _running(pki, max_connections=4)


def _running(pki: pkimod.Pki, max_connections: int, read_timeout: float = READ_TIMEOUT) -> Iterator[SimpleNamespace]:
    ctl = FakeController()
    server = ApiServer(ctl, pki, read_timeout=read_timeout, max_connections=max_connections)
    port = server.start("127.0.0.1", 0)
    try:
        yield SimpleNamespace(port=port, ctl=ctl, server=server, pki=pki, ssl=client_ssl_context(pki))
    finally:
        server.stop()


def _connect(api, timeout: float = 5.0, ctx: ssl.SSLContext | None = None) -> ssl.SSLSocket:
    sock = socket.create_connection(("127.0.0.1", api.port), timeout=timeout)
    return (ctx or api.ssl).wrap_socket(sock, server_hostname="127.0.0.1")


def _closed(sock: ssl.SSLSocket) -> bool:
    """The server closed the connection (with or without a TLS close_notify)."""
    try:
        return sock.recv(65536) == b""
    except (ConnectionResetError, ssl.SSLEOFError, ssl.SSLZeroReturnError):
        return True


def _read_response(sock) -> tuple[int, dict, bytes]:
    """One HTTP response read off a raw socket: (status, headers, body)."""
    resp = http.client.HTTPResponse(sock)
    resp.begin()
    return resp.status, dict(resp.getheaders()), resp.read()


def _raw(api, request: bytes) -> tuple[int, dict, bytes]:
    with _connect(api) as sock:
        sock.sendall(request)
        return _read_response(sock)


def _post(api, body: bytes, target: str = APPLY_PATH) -> tuple[int, dict]:
    head = f"POST {target} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    status, _, data = _raw(api, head.encode() + body)
    return status, json.loads(data)


def _client(api) -> Client:
    return Client("unit", timeout=5, endpoint=Endpoint("127.0.0.1", api.port), pki=api.pki)


def _pod(name: str, **spec) -> dict:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"containers": [{"name": "c", "image": "busybox"}], **spec}}


# -- every write is validated as `netlab apply` validates -------------------------------------------------------
def test_valid_objects_reach_the_controller_normalised(api) -> None:
    reply = _client(api).request("POST", APPLY_PATH, {"objects": [_pod("ok-pod")], "dryRun": True})
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
    status, body = _post(api, json.dumps(body).encode())
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
        _client(api).request("POST", APPLY_PATH, {"objects": [pod]})
    assert err.value.code == 422
    assert {c["field"] for c in err.value.causes} >= {"metadata.name", "metadata.labels"}
    assert err.value.status["details"]["kind"] == "Pod" and err.value.status["details"]["name"] == "x" * 254
    assert api.ctl.applied == []


def test_the_running_clusters_node_port_range_applies(api) -> None:
    api.ctl.state.cluster = {"apiVersion": "netlab.dev/v1alpha1", "kind": "Cluster", "nodePortRange": "20000-20100"}

    def service(node_port: int) -> dict:
        return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": f"np-{node_port}"},
                "spec": {"type": "NodePort", "selector": {"app": "a"}, "ports": [{"port": 80, "nodePort": node_port}]}}

    assert _post(api, json.dumps({"objects": [service(20050)]}).encode())[0] == 200
    status, body = _post(api, json.dumps({"objects": [service(30080)]}).encode())
    assert status == 422 and body["details"]["causes"][0]["field"] == "spec.ports[0].nodePort"
    assert [objects[0]["metadata"]["name"] for objects, _ in api.ctl.applied] == ["np-20050"]


def test_a_cluster_cannot_be_applied_through_the_api(api) -> None:
    cluster = {"apiVersion": "kind.x-k8s.io/v1alpha4", "kind": "Cluster", "nodes": [{"role": "control-plane"}]}
    status, body = _post(api, json.dumps({"objects": [cluster]}).encode())
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
    status, reply = _post(api, body)
    assert status == 400, reply
    assert reply["kind"] == "Status" and reply["reason"] == "BadRequest"
    if field:
        assert field in {c["field"] for c in reply["details"]["causes"]}
    assert api.ctl.applied == []


@pytest.mark.parametrize("error", [ConnectionRefusedError(111, "launcher gone"), TimeoutError("launcher slow"),
                                   KeyError("x")])
def test_a_controller_failure_is_a_500_status_not_a_hang_up(api, error: Exception) -> None:
    api.ctl.fail = error
    status, body = _post(api, json.dumps({"objects": [_pod("ok-pod")]}).encode())
    assert status == 500 and body["reason"] == "InternalError"


def test_unsupported_method_is_a_405_status(api) -> None:
    request = b"OPTIONS /api/v1/namespaces/default/pods/x HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}"
    status, _, data = _raw(api, request)
    assert status == 405 and json.loads(data)["kind"] == "Status"


# -- body size --------------------------------------------------------------------------------------------------
def test_body_over_the_limit_is_413_before_reading(api) -> None:
    with _connect(api) as sock:
        started = time.monotonic()
        # Only the headers: a server that tried to read the body would wait for it (and time out, no 413).
        head = f"POST {APPLY_PATH} HTTP/1.1\r\nHost: x\r\nContent-Length: {MAX_REQUEST_BODY + 1}\r\n\r\n"
        sock.sendall(head.encode())
        status, headers, data = _read_response(sock)
        assert time.monotonic() - started < READ_TIMEOUT
    assert status == 413 and json.loads(data)["reason"] == "RequestEntityTooLarge"


def test_body_at_the_limit_is_read(api) -> None:
    padding = " " * (MAX_REQUEST_BODY - len(b'{"objects": []}'))
    status, _ = _post(api, ('{"objects": []}' + padding).encode())
    assert status == 200


def test_client_sees_the_413_for_a_big_apply(api) -> None:
    pod = _pod("big", nodeName="n")
    pod["metadata"]["annotations"] = {"a": "x" * (MAX_REQUEST_BODY + 10)}
    with pytest.raises(ApiFailure) as err:
        _client(api).request("POST", APPLY_PATH, {"objects": [pod]})
    assert err.value.code == 413


@pytest.mark.parametrize("headers", ["Content-Length: -1\r\n", "Content-Length: 5\r\nContent-Length: 6\r\n"])
def test_bad_framing_is_refused(api, headers: str) -> None:
    status, _, _ = _raw(api, f"POST {APPLY_PATH} HTTP/1.1\r\n{headers}\r\n".encode())
    assert status == 400
    assert api.ctl.applied == []


def test_a_chunked_body_over_the_limit_is_413(api) -> None:
    chunk = b"x" * 65536
    with _connect(api) as sock:
        sock.sendall(f"POST {APPLY_PATH} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n".encode())
        try:
            for _ in range(MAX_REQUEST_BODY // len(chunk) + 2):
                sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        except (BrokenPipeError, ConnectionResetError):
            pass   # the server stopped reading once over the limit
        status, _, data = _read_response(sock)
    assert status == 413 and json.loads(data)["reason"] == "RequestEntityTooLarge"


def test_oversized_request_head_is_refused(api) -> None:
    header = "X-Pad: " + "a" * 60000 + "\r\n"
    request = ("GET /api/v1/namespaces HTTP/1.1\r\n" + header * 20 + "\r\n").encode()
    with _connect(api) as sock:
        try:
            sock.sendall(request)
            status = _read_response(sock)[0]
        except (BrokenPipeError, ConnectionResetError, ssl.SSLEOFError, http.client.RemoteDisconnected):
            status = None   # the server stopped reading: fine too
    assert status is None or 400 <= status < 500


# -- read deadline ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("sent", [b"", b"G", b"GET /api/v1/namespaces HTTP/1.1\r\nHost: x\r\n",
                                  f"GET {APPLY_PATH} HTTP/1.1\r\nHost: x\r\n".encode()])
def test_idle_and_partial_requests_are_closed(api, sent: bytes) -> None:
    with _connect(api) as sock:
        sock.sendall(sent)
        started = time.monotonic()
        assert _closed(sock)          # closed, without an answer
        assert time.monotonic() - started < READ_TIMEOUT + 1.5
    assert api.ctl.applied == []


def test_a_body_that_stops_arriving_is_answered_408(api) -> None:
    with _connect(api) as sock:
        sock.sendall(f"POST {APPLY_PATH} HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{{\"obj".encode())
        started = time.monotonic()
        status, _, data = _read_response(sock)
        assert time.monotonic() - started < READ_TIMEOUT + 1.5
    assert status == 408 and json.loads(data)["kind"] == "Status"
    assert api.ctl.applied == []


def test_a_byte_a_time_does_not_extend_the_deadline(api) -> None:
    with _connect(api) as sock:
        started = time.monotonic()
        with pytest.raises(OSError):
            for ch in b"GET /api/v1/namespaces HTTP/1.1\r\n" * 10:
                sock.send(bytes([ch]))
                time.sleep(READ_TIMEOUT / 5)
        assert time.monotonic() - started < READ_TIMEOUT * 3


def test_a_stalled_tls_handshake_is_dropped(api) -> None:
    with socket.create_connection(("127.0.0.1", api.port), timeout=5) as sock:
        started = time.monotonic()
        assert sock.recv(1) == b""
        assert time.monotonic() - started < READ_TIMEOUT + 1.5


def test_keep_alive_connection_is_closed_when_idle(api) -> None:
    with _connect(api) as sock:
        sock.sendall(b"GET /api/v1/namespaces HTTP/1.1\r\nHost: x\r\n\r\n")
        assert _read_response(sock)[0] == 200
        sock.sendall(b"GET /api/v1/namespaces HTTP/1.1\r\nHost: x\r\n\r\n")   # a second request is served
        assert _read_response(sock)[0] == 200
        started = time.monotonic()
        assert _closed(sock)
        assert time.monotonic() - started < READ_TIMEOUT + 1.5


def test_held_requests_do_not_block_others(api) -> None:
    held = [_connect(api) for _ in range(50)]
    try:
        for sock in held:
            sock.sendall(b"G")
        started = time.monotonic()
        assert _client(api).get("/api/v1/namespaces")["items"]
        assert time.monotonic() - started < 1.0
    finally:
        for sock in held:
            sock.close()


# -- connections ------------------------------------------------------------------------------------------------
def test_100_simultaneous_connections_are_accepted(pki) -> None:
    running = _running(pki, max_connections=256, read_timeout=10.0)
    api = next(running)
    socks = []
    try:
        for _ in range(100):          # connect all first, as fast as possible: they queue in the backlog
            socks.append(_connect(api))
        for sock in socks:
            sock.sendall(b"GET /api/v1/namespaces HTTP/1.1\r\nHost: x\r\n\r\n")
        statuses = [_read_response(sock)[0] for sock in socks]
    finally:
        for sock in socks:
            sock.close()
        running.close()
    assert statuses == [200] * 100


def test_connections_beyond_the_bound_get_429_at_once(small_api) -> None:
    held = [_connect(small_api) for _ in range(4)]
    try:
        time.sleep(0.2)   # let the server take all four
        started = time.monotonic()
        status, headers, data = _raw(small_api, b"GET /api/v1/namespaces HTTP/1.1\r\nHost: x\r\n\r\n")
        assert status == 429 and headers.get("Retry-After") == "1"
        assert json.loads(data)["reason"] == "TooManyRequests"
        assert time.monotonic() - started < READ_TIMEOUT
    finally:
        for sock in held:
            sock.close()
    # the slots come back once those connections end
    deadline = time.monotonic() + 3
    while (status := _raw(small_api, b"GET /api/v1/namespaces HTTP/1.1\r\nHost: x\r\n\r\n")[0]) != 200:
        assert time.monotonic() < deadline, status
        time.sleep(0.05)


# -- the CLI's client -------------------------------------------------------------------------------------------


# -- authentication ---------------------------------------------------------------------------------------------
def test_no_client_certificate_is_401(api) -> None:
    ctx = ssl.create_default_context(cafile=str(api.pki.ca_cert))
    status, _, data = _raw(SimpleNamespace(port=api.port, ssl=ctx), b"GET /api/v1/pods HTTP/1.1\r\nHost: x\r\n\r\n")
    body = json.loads(data)
    assert status == 401 and body["kind"] == "Status" and body["reason"] == "Unauthorized"


def test_a_certificate_of_another_ca_gets_no_answer(api, tmp_path: Path) -> None:
    other = pkimod.ensure(tmp_path / "other", ["127.0.0.1"])
    ctx = ssl.create_default_context(cafile=str(api.pki.ca_cert))
    ctx.load_cert_chain(other.admin_cert, other.admin_key)
    with pytest.raises((ssl.SSLError, ConnectionResetError)):
        with _connect(api, ctx=ctx) as sock:
            sock.sendall(b"GET /api/v1/pods HTTP/1.1\r\nHost: x\r\n\r\n")
            _read_response(sock)
    assert api.ctl.applied == []


# -- discovery, health, unknown paths -----------------------------------------------------------------------------
@pytest.mark.parametrize("path,kind", [("/api", "APIVersions"), ("/api/v1", "APIResourceList"),
                                       ("/apis", "APIGroupList"), ("/apis/apps", "APIGroup"),
                                       ("/apis/networking.k8s.io/v1", "APIResourceList")])
def test_discovery_documents(api, path: str, kind: str) -> None:
    assert _client(api).get(path)["kind"] == kind


def test_health_and_version(api) -> None:
    for path in ("/healthz", "/livez", "/readyz"):
        status, _, data = _raw(api, f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        assert (status, data) == (200, b"ok")
    assert _client(api).get("/version")["gitVersion"].endswith("-netlab")


@pytest.mark.parametrize("path", ["/api/v1/widgets", "/apis/apps/v1/namespaces/x/widgets", "/apis/nope",
                                  "/apis/nope/v1", "/nothing"])
def test_unknown_resource_is_a_404_status(api, path: str) -> None:
    with pytest.raises(ApiFailure) as err:
        _client(api).get(path)
    assert err.value.code == 404 and err.value.status["kind"] == "Status"


def test_a_slow_controller_call_does_not_block_others(api) -> None:
    import threading

    release = threading.Event()
    original = api.ctl.list

    def slow_list(kind: str, namespace: str | None) -> list[dict]:
        if kind == "Pod":
            release.wait(5)
        return original(kind, namespace)

    api.ctl.list = slow_list
    stuck = threading.Thread(target=lambda: _client(api).get("/api/v1/pods"), daemon=True)
    stuck.start()
    try:
        time.sleep(0.1)
        started = time.monotonic()
        assert _client(api).get("/api/v1/namespaces")["items"]
        assert time.monotonic() - started < 1.0
    finally:
        release.set()
        stuck.join(5)


def test_a_taken_port_moves_to_the_next_free_one() -> None:
    from netlab.api.server import bind

    with bind("127.0.0.1", 0) as first:
        first.listen()
        port = first.getsockname()[1]
        with pytest.raises(OSError):
            bind("127.0.0.1", port)             # a configured port is exact
        with bind("127.0.0.1", port, search=20) as second:
            assert second.getsockname()[1] > port


def test_a_starting_controller_answers_503(pki) -> None:
    server = ApiServer(FakeController(), pki)
    port = server.start("127.0.0.1", 0, ready=False)
    try:
        api = SimpleNamespace(port=port, pki=pki)
        with pytest.raises(ApiFailure) as err:
            _client(api).get("/api/v1/namespaces")
        assert err.value.code == 503
        server.ready.set()
        assert _client(api).get("/api/v1/namespaces")["items"]
    finally:
        server.stop()


def test_pod_logs_stream_and_follow_until_the_pod_goes(api, tmp_path: Path) -> None:
    import threading

    log = tmp_path / "c.log"
    log.write_bytes(b"first line\n")
    api.ctl.state.pods = {"default/p": SimpleNamespace(key="default/p", spec={"containers": [{"name": "c"}]})}
    api.ctl.supervisor = SimpleNamespace(log_path=lambda key, container: log)
    client = _client(api)
    assert b"".join(client.stream("/api/v1/namespaces/default/pods/p/log")) == b"first line\n"

    def later() -> None:
        time.sleep(0.3)
        with log.open("ab") as f:
            f.write(b"second line\n")
        time.sleep(0.5)
        api.ctl.state.pods = {}

    threading.Thread(target=later, daemon=True).start()
    followed = b"".join(client.stream("/api/v1/namespaces/default/pods/p/log?follow=true"))
    assert followed == b"first line\nsecond line\n"
    with pytest.raises(ApiFailure) as err:
        list(client.stream("/api/v1/namespaces/default/pods/nope/log"))
    assert err.value.code == 404


def test_many_idle_connections_do_not_exhaust_the_server(pki) -> None:
    running = _running(pki, max_connections=512, read_timeout=10.0)
    api = next(running)
    idle = []
    try:
        for _ in range(300):          # TLS done, then silence: each costs the server a socket, no thread
            idle.append(_connect(api))
        started = time.monotonic()
        assert _client(api).get("/api/v1/namespaces")["items"]
        assert time.monotonic() - started < 1.0
    finally:
        for sock in idle:
            sock.close()
        running.close()
