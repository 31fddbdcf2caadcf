"""The CLI's API client when the controller goes away mid-request (killed, or crashed)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from netlab.api import pki as pkimod
from netlab.api.client import ApiUnavailable, Client
from netlab.api.endpoint import Endpoint
from netlab.api.server import server_ssl_context


def _server_that_hangs_up(pki: pkimod.Pki) -> tuple[threading.Thread, int]:
    """Accepts one TLS connection, reads its request, and closes without answering (as a controller killed
    by SIGKILL)."""
    srv = socket.create_server(("127.0.0.1", 0))
    ctx = server_ssl_context(pki)

    def serve() -> None:
        with srv:
            conn, _ = srv.accept()
            with ctx.wrap_socket(conn, server_side=True) as tls:
                tls.recv(65536)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return thread, srv.getsockname()[1]


def test_lost_connection_is_an_api_error_not_a_traceback(tmp_path: Path) -> None:
    pki = pkimod.ensure(tmp_path / "pki", ["127.0.0.1"])
    thread, port = _server_that_hangs_up(pki)
    client = Client("c1", timeout=5, endpoint=Endpoint("127.0.0.1", port), pki=pki)
    with pytest.raises(ApiUnavailable, match="the connection was lost.*not applied.*apply again"):
        client.request("POST", "/apis/netlab.dev/v1alpha1/apply", {"objects": []})
    thread.join(timeout=5)


def test_no_recorded_endpoint_says_the_cluster_is_not_running(tmp_path: Path, monkeypatch) -> None:
    from netlab.compile import names

    monkeypatch.setattr(names, "run_dir", lambda cluster: str(tmp_path))
    with pytest.raises(ApiUnavailable, match="cluster 'c1' is not running.*netlab up"):
        Client("c1", timeout=5).get("/api/v1/pods")


def test_cli_prints_an_error_line(tmp_path: Path) -> None:
    """The whole CLI, as a user runs it, against a run directory whose controller hangs up."""
    run = tmp_path / "run"
    run.mkdir()
    pki = pkimod.ensure(tmp_path / "pki", ["127.0.0.1"])
    _thread, port = _server_that_hangs_up(pki)
    (run / "apiserver.json").write_text(json.dumps({"address": "127.0.0.1", "port": port}))
    manifest = tmp_path / "pod.yaml"
    manifest.write_text("apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec:\n  containers: [{name: c, image: x}]\n")
    code = (
        "import sys; from netlab import cli; from netlab.compile import names\n"
        f"names.run_dir = lambda cluster: {str(run)!r}\n"
        f"names.pki_dir = lambda cluster: {str(pki.dir)!r}\n"
        "sys.argv = ['netlab', '--cluster', 'c1', 'apply', '-f', sys.argv[1]]\n"
        "cli.entry()\n"
    )
    proc = subprocess.run([sys.executable, "-c", code, str(manifest)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    assert proc.stderr.startswith("error: POST /apis/netlab.dev/v1alpha1/apply: the connection was lost")
    assert "Traceback" not in proc.stderr


class _Pods:
    """A client whose pod list follows a script: each get returns the next state (the last one repeats)."""

    def __init__(self, states: list[list[tuple[bool, int]]], waiting: str = ""):
        self.states, self.calls, self.waiting = states, 0, waiting

    def get(self, path: str) -> dict:
        state = self.states[min(self.calls, len(self.states) - 1)]
        self.calls += 1
        return {"items": [
            {"metadata": {"namespace": "default", "name": f"p{i}"},
             "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": str(ready)}],
                        "containerStatuses": [{"restartCount": restarts, "state": {} if ready or not self.waiting
                                               else {"waiting": {"reason": self.waiting}}}]}}
            for i, (ready, restarts) in enumerate(state)]}


def test_up_waits_until_pods_stay_ready(monkeypatch, capsys) -> None:
    from netlab.cli import lifecycle_cmds as cli

    monkeypatch.setattr(cli, "SETTLE", 0.2)
    client = _Pods([[(True, 0), (False, 0)], [(True, 0), (True, 0)]])
    cli._wait_running(client, timeout=5)
    assert client.calls >= 4  # it looked again after both were Ready
    assert "2 pods Ready" in capsys.readouterr().out


def test_up_does_not_count_a_crash_looping_pod(monkeypatch) -> None:
    """Ready for a moment after each restart, never for long: `up` times out instead of reporting it."""
    from netlab.cli import lifecycle_cmds as cli

    monkeypatch.setattr(cli, "SETTLE", 0.3)
    states = [[(True, 0), (n % 2 == 0, n // 2)] for n in range(1000)]
    with pytest.raises(cli.Fail, match="waiting for pods: default/p1"):
        cli._wait_running(_Pods(states), timeout=1.0)


def test_up_reports_crash_looping_pods_as_not_ready(monkeypatch, capsys) -> None:
    from netlab.cli import lifecycle_cmds as cli

    monkeypatch.setattr(cli, "SETTLE", 0.2)
    states = [[(True, 0), (False, 0)], [(True, 0), (False, 1)]]
    cli._wait_running(_Pods(states, waiting="CrashLoopBackOff"), timeout=5)
    out = capsys.readouterr().out
    assert "1 pods Ready" in out
    assert "1 pods not Ready, their containers crash-looping (see `netlab logs`): default/p1" in out


def test_unreadable_certificates_say_so(monkeypatch) -> None:
    """As a user without sudo: the key is root's (0600), and the error says what to do instead."""
    from netlab.api import client as clientmod

    def unreadable(pki):
        raise PermissionError(13, "Permission denied", str(pki.admin_key))

    monkeypatch.setattr(clientmod, "client_ssl_context", unreadable)
    client = Client("c1", timeout=5, endpoint=Endpoint("127.0.0.1", 1), pki=pkimod.Pki("/var/lib/netlab/c1/pki"))
    with pytest.raises(ApiUnavailable, match=r"admin certificate \(/var/lib/netlab/c1/pki/admin.key\).*sudo"):
        client.get("/api/v1/pods")
