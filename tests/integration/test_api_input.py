"""Issue 11 §4: whatever the client, a write through the API is validated as `netlab apply` validates it,
and the controller's API neither trusts nor starves.

curl posts straight to the controller's socket; a refused write answers 422 (or 400, 413) and changes
nothing: no stored object, no pod namespace, the running pod keeps answering. Then 100 connections at
once are all answered, and a 1-byte request held open is closed by the server.
"""

from __future__ import annotations

import json
import socket
import subprocess
import time
from pathlib import Path

from conftest import echo_answer
from netlab.api.httpbase import MAX_REQUEST_BODY, READ_TIMEOUT

from netlab.api.resources import APPLY_PATH
from netlab.compile import names

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


def _socket_path(lab) -> str:
    return str(Path(names.run_dir(lab.cluster)) / "api.sock")


def _curl(lab, body: Path, *extra: str) -> tuple[int, dict]:
    sock = _socket_path(lab)
    proc = subprocess.run(["curl", "-sS", "--max-time", "20", "--unix-socket", sock, "-o", "-", "-w", "\n%{http_code}",
                           "-H", "Content-Type: application/json", *extra, "--data-binary", f"@{body}",
                           f"http://localhost{APPLY_PATH}"], capture_output=True, text=True, timeout=30)
    text, _, code = proc.stdout.rpartition("\n")
    return int(code), json.loads(text) if text.strip() else {}


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

    # `netlab run` posts a Pod the CLI builds itself: the server validates it all the same.
    run = lab.netlab("run", f"{lab.cluster}-Bad_Name", check=False)
    assert run.returncode != 0 and "metadata.name" in run.stderr, run.stderr

    assert _stored(lab) == before
    assert not {names.pod_netns("default", fresh), names.pod_netns("default", f"{lab.cluster}-Bad_Name")} & _netns()
    answer = lab.curl(None, f"http://{ip}:8080/")
    assert answer.returncode == 0 and echo_answer(answer.stdout)["pod"] == f"{lab.cluster}-web", answer.stderr


def _connect(path: str) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(READ_TIMEOUT + 10)   # with a timeout, connect fails at once (EAGAIN) on a full backlog
    sock.connect(path)
    return sock


def test_the_api_takes_a_burst_and_drops_a_stalled_request(lab) -> None:
    lab.netlab("up", str(lab.write("lab.yaml", MANIFEST)), timeout=180)
    path = _socket_path(lab)
    stalled = _connect(path)
    stalled.sendall(b"G")
    started = time.monotonic()
    socks = []
    try:
        for _ in range(100):
            socks.append(_connect(path))
        for sock in socks:
            sock.sendall(b"GET /api/v1/namespaces/default/pods HTTP/1.1\r\nHost: x\r\n\r\n")
        heads = [sock.recv(64).split(b"\r\n", 1)[0] for sock in socks]
        assert heads == [b"HTTP/1.1 200 OK"] * 100
        assert stalled.recv(1) == b""                      # closed by the server, without an answer
        assert time.monotonic() - started < READ_TIMEOUT + 5
    finally:
        stalled.close()
        for sock in socks:
            sock.close()
