"""Issue 11 §4 and issue 13's bad input: whatever the client, a write through the API is validated as
`netlab apply` validates it, and the controller's API neither trusts nor starves.

curl posts over HTTPS with the admin certificate; a refused write answers 422 (or 400, 413) and changes
nothing: no stored object, no pod namespace, the running pod keeps answering. Without a client certificate
the answer is 401; an unknown resource is a 404 Status. Then 100 connections at once are all answered, and
a 1-byte request held open is closed by the server.
"""

from __future__ import annotations

import ctypes
import json
import os
import socket
import ssl
import subprocess
import time
from pathlib import Path

from conftest import echo_answer

from netlab.api import endpoint
from netlab.api.client import client_ssl_context
from netlab.api.pki import Pki
from netlab.api.resources import APPLY_PATH
from netlab.api.server import MAX_REQUEST_BODY, READ_TIMEOUT
from netlab.compile import names

CLONE_NEWNET = 0x40000000

MANIFEST = """
kind: Cluster
apiVersion: netlab.dev/v1alpha1
nodes:
  - role: control-plane
  - role: worker
---
apiVersion: v1
kind: Pod
metadata:
  name: CLUSTER-web
  labels: {app: web}
spec:
  containers:
    - name: echo
      image: echo
      ports: [{containerPort: 8080}]
"""


def _curl(lab, body: Path | None, *extra: str, path: str = APPLY_PATH, cert: bool = True) -> tuple[int, dict]:
    return lab.api_curl(path, *extra, body=body.read_text() if body else None, cert=cert, timeout=20)


def _stored(lab) -> dict:
    state = json.loads((Path(names.state_dir(lab.cluster)) / "state.json").read_text())
    return {"objects": state["objects"], "pods": sorted(state["pods"]), "rv": state["resourceVersion"]}


def _netns() -> set[str]:
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True).stdout
    return {line.split()[0] for line in out.splitlines() if line.strip()}


def test_invalid_writes_through_the_api_change_nothing(lab) -> None:
    lab.netlab("up", str(lab.write("lab.yaml", MANIFEST)), timeout=180)
    ip = lab.pod_ip(f"{lab.cluster}-web")
    before = _stored(lab)

    fresh = f"{lab.cluster}-fresh"     # valid, but in a batch with invalid objects: must not be created
    objects = [
        {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": fresh},
         "spec": {"containers": [{"name": "c", "image": "echo"}]}},
        {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": f"{lab.cluster}-" + "x" * 250},
         "spec": {"containers": [{"name": "c", "image": "echo"}]}},
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": f"{lab.cluster}-svc"},
         "spec": {"selector": {"app": "web"}, "ports": [{"port": 70000, "targetPort": 8080}]}},
    ]
    invalid = lab.write("invalid.json", json.dumps({"objects": objects}))
    code, status = _curl(lab, invalid)
    assert code == 422, status
    assert status["kind"] == "Status" and status["reason"] == "Invalid"
    fields = {(c["object"].split()[0], c["field"]) for c in status["details"]["causes"]}
    assert {("Pod", "metadata.name"), ("Service", "spec.ports[0].port")} <= fields

    code, status = _curl(lab, lab.write("shape.json", '{"objects": 5}'))
    assert code == 400 and status["reason"] == "BadRequest"
    code, status = _curl(lab, lab.write("big.json", "{}"), "-H", f"Content-Length: {MAX_REQUEST_BODY + 1}")
    assert code == 413
    code, status = _curl(lab, None, path="/api/v1/namespaces/default/widgets")
    assert code == 404 and status["kind"] == "Status" and status["reason"] == "NotFound"
    code, status = _curl(lab, invalid, cert=False)     # no client certificate: not even validated
    assert code == 401 and status["reason"] == "Unauthorized"

    # `netlab run` posts a Pod the CLI builds itself: the server validates it all the same.
    run = lab.netlab("run", f"{lab.cluster}-Bad_Name", check=False)
    assert run.returncode != 0 and "metadata.name" in run.stderr, run.stderr

    assert _stored(lab) == before
    assert not {names.pod_netns("default", fresh), names.pod_netns("default", f"{lab.cluster}-Bad_Name")} & _netns()
    answer = lab.curl(None, f"http://{ip}:8080/")
    assert answer.returncode == 0 and echo_answer(answer.stdout)["pod"] == f"{lab.cluster}-web", answer.stderr


def _connect(lab, ctx: ssl.SSLContext) -> ssl.SSLSocket:
    """A TLS connection from inside the lab's host namespace (the API listens there)."""
    where = endpoint.load(lab.cluster)
    libc = ctypes.CDLL(None, use_errno=True)    # os.setns is Python 3.12+
    with open(f"/run/netns/{lab.host_ns}") as ns, open("/proc/self/ns/net") as mine:
        assert libc.setns(ns.fileno(), CLONE_NEWNET) == 0, os.strerror(ctypes.get_errno())
        try:
            sock = socket.create_connection((where.address, where.port), timeout=READ_TIMEOUT + 10)
        finally:
            assert libc.setns(mine.fileno(), CLONE_NEWNET) == 0, os.strerror(ctypes.get_errno())
    return ctx.wrap_socket(sock, server_hostname=where.address)


def _closed(sock: ssl.SSLSocket) -> bool:
    try:
        return sock.recv(1) == b""
    except (ConnectionResetError, ssl.SSLEOFError, ssl.SSLZeroReturnError):
        return True


def test_the_api_takes_a_burst_and_drops_a_stalled_request(lab) -> None:
    lab.netlab("up", str(lab.write("lab.yaml", MANIFEST)), timeout=180)
    ctx = client_ssl_context(Pki(names.pki_dir(lab.cluster)))
    stalled = _connect(lab, ctx)
    stalled.sendall(b"G")
    started = time.monotonic()
    socks = []
    try:
        for _ in range(100):
            socks.append(_connect(lab, ctx))
        for sock in socks:
            sock.sendall(b"GET /api/v1/namespaces/default/pods HTTP/1.1\r\nHost: x\r\n\r\n")
        heads = [sock.recv(64).split(b"\r\n", 1)[0] for sock in socks]
        assert heads == [b"HTTP/1.1 200 OK"] * 100
        assert _closed(stalled)                            # closed by the server, without an answer
        assert time.monotonic() - started < READ_TIMEOUT + 5
    finally:
        stalled.close()
        for sock in socks:
            sock.close()
