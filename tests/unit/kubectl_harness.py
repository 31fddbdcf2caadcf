"""A tiny fake Kubernetes API (plain HTTP on 127.0.0.1, random port) for running real kubectl against
netlab's pure API modules (OpenAPI documents, Table output) without the real server.

It serves legacy discovery for the resources it is given, /version, the OpenAPI v2/v3 documents from
netlab.api.openapi, lists and gets (as Table when kubectl asks for one, through netlab.api.table) and
records every request, so a test can check what kubectl sent (e.g. fieldValidation=Strict on create).
Everything is bounded: the server thread stops when the `fake_api` context ends, and `kubectl()` runs
with a timeout, HOME and cache in a temporary directory (never the machine's ~/.kube).
"""

from __future__ import annotations

import asyncio
import copy
import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web

from netlab.api import openapi
from netlab.api.resources import BY_KIND, Resource
from netlab.api.table import to_table

KUBECTL = Path(sys.executable).parent / "kubectl"
_VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, str]
    accept: str
    content_type: str
    body: bytes


@dataclass
class FakeApi:
    url: str
    objects: dict[str, list[dict]]
    requests: list[Recorded] = field(default_factory=list)
    transform_v3: Callable[[dict], dict] | None = None  # to serve a changed v3 document (negative controls)

    def sent(self, method: str) -> list[Recorded]:
        return [r for r in self.requests if r.method == method]


API_KEY = web.AppKey("api", FakeApi)


def _resource_entry(r: Resource) -> dict:
    return {"name": r.plural, "singularName": r.singular, "namespaced": r.namespaced, "kind": r.kind,
            "verbs": _VERBS, "shortNames": list(r.short)}


def _discovery_routes(kinds: list[str], port_holder: list[int]) -> list[web.RouteDef]:
    resources = [BY_KIND[k] for k in kinds]
    by_gv: dict[str, list[Resource]] = {}
    for r in resources:
        by_gv.setdefault(r.api_version, []).append(r)

    async def api(_: web.Request) -> web.Response:
        return web.json_response({"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [
            {"clientCIDR": "0.0.0.0/0", "serverAddress": f"127.0.0.1:{port_holder[0]}"}]})

    async def apis(_: web.Request) -> web.Response:
        groups = []
        for gv in by_gv:
            if gv == "v1":
                continue
            group, version = gv.split("/")
            entry = {"groupVersion": gv, "version": version}
            groups.append({"name": group, "versions": [entry], "preferredVersion": entry})
        return web.json_response({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})

    async def resource_list(request: web.Request) -> web.Response:
        gv = "v1" if request.path == "/api/v1" else request.path.removeprefix("/apis/")
        if gv not in by_gv:
            raise web.HTTPNotFound()
        return web.json_response({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv,
                                  "resources": [_resource_entry(r) for r in by_gv[gv]]})

    async def version(_: web.Request) -> web.Response:
        return web.json_response({"major": "1", "minor": "37", "gitVersion": "v1.37.0-netlab",
                                  "platform": "linux/amd64"})

    return [web.get("/api", api), web.get("/apis", apis), web.get("/api/v1", resource_list),
            web.get("/apis/{group}/{version}", resource_list), web.get("/version", version)]


async def _openapi_v2(request: web.Request) -> web.Response:
    # kubectl asks for protobuf only; netlab serves JSON, and 406 tells a client to fall back.
    if "json" not in request.headers.get("Accept", "json") and "*/*" not in request.headers.get("Accept", ""):
        raise web.HTTPNotAcceptable()
    return web.Response(body=openapi.v2_json(), content_type="application/json")


async def _openapi_v3(request: web.Request) -> web.Response:
    path = request.match_info.get("path", "")
    if not path:
        return web.json_response(openapi.v3_index())
    transform = request.app[API_KEY].transform_v3
    if transform is not None and openapi.v3(path) is not None:
        return web.json_response(transform(copy.deepcopy(openapi.v3(path))))
    body = openapi.v3_json(path)
    if body is None:
        raise web.HTTPNotFound()
    return web.Response(body=body, content_type="application/json")


def _resource_routes(api: FakeApi) -> list[web.RouteDef]:
    def find(request: web.Request) -> tuple[Resource, list[dict]]:
        parts = request.path.strip("/").split("/")
        gv = "v1" if parts[0] == "api" else "/".join(parts[1:3])
        plural = request.match_info["plural"]
        for kind, items in api.objects.items():
            r = BY_KIND[kind]
            if r.plural == plural and r.api_version == gv:
                namespace = request.match_info.get("namespace")
                return r, [o for o in items if namespace is None
                           or (o.get("metadata") or {}).get("namespace") == namespace]
        raise web.HTTPNotFound()

    async def collection(request: web.Request) -> web.Response:
        r, items = find(request)
        if request.method == "POST":
            obj = json.loads(await request.read())
            return web.json_response(obj, status=201)
        if "as=Table" in request.headers.get("Accept", ""):
            include = request.query.get("includeObject", "Metadata")
            return web.json_response(to_table(r.kind, items, {"resourceVersion": "1"}, include))
        return web.json_response({"kind": r.kind + "List", "apiVersion": r.api_version,
                                  "metadata": {"resourceVersion": "1"}, "items": items})

    async def item(request: web.Request) -> web.Response:
        r, items = find(request)
        for obj in items:
            if obj["metadata"]["name"] == request.match_info["name"]:
                if "as=Table" in request.headers.get("Accept", ""):
                    return web.json_response(to_table(r.kind, [obj], {"resourceVersion": "1"}))
                return web.json_response(obj)
        return web.json_response({"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": 404,
                                  "reason": "NotFound", "message": f"{r.plural} not found"}, status=404)

    routes = []
    for prefix in ("/api/v1", "/apis/{group}/{version}"):
        for scope in ("", "/namespaces/{namespace}"):
            routes += [web.route("*", f"{prefix}{scope}/{{plural}}", collection),
                       web.get(f"{prefix}{scope}/{{plural}}/{{name}}", item)]
    return routes


@web.middleware
async def _record(request: web.Request, handler):  # noqa: ANN001, ANN201 - aiohttp's middleware signature
    api: FakeApi = request.app[API_KEY]
    body = await request.read() if request.can_read_body else b""
    api.requests.append(Recorded(request.method, request.path, dict(request.query),
                                 request.headers.get("Accept", ""), request.headers.get("Content-Type", ""),
                                 body))
    return await handler(request)


@contextmanager
def fake_api(objects: dict[str, list[dict]], start_timeout: float = 10.0,
             transform_v3: Callable[[dict], dict] | None = None) -> Iterator[FakeApi]:
    """Serve `objects` (kind -> objects; their kinds are what discovery lists) until the context ends."""
    port_holder = [0]
    api = FakeApi("", objects, transform_v3=transform_v3)
    app = web.Application(middlewares=[_record])
    app[API_KEY] = api
    app.add_routes([web.get("/openapi/v2", _openapi_v2), web.get("/openapi/v3", _openapi_v3),
                    web.get("/openapi/v3/{path:.+}", _openapi_v3)])
    app.add_routes(_discovery_routes(list(objects), port_holder))
    app.add_routes(_resource_routes(api))
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    runner = web.AppRunner(app)
    failure: list[BaseException] = []

    async def start() -> None:
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port_holder[0] = runner.addresses[0][1]

    def run() -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(start())
        except BaseException as exc:  # reported to the caller below
            failure.append(exc)
            ready.set()
            return
        ready.set()
        loop.run_forever()
        loop.run_until_complete(runner.cleanup())
        loop.close()

    thread = threading.Thread(target=run, name="fake-kube-api", daemon=True)
    thread.start()
    try:
        if not ready.wait(start_timeout) or failure:
            raise RuntimeError(f"fake API did not start: {failure}")
        api.url = f"http://127.0.0.1:{port_holder[0]}"
        yield api
    finally:
        if loop.is_running():
            loop.call_soon_threadsafe(loop.stop)
        thread.join(start_timeout)


def kubectl(api: FakeApi, home: Path, *args: str, stdin: str | None = None,
            timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
    """Run real kubectl against the fake API, with its own HOME, kubeconfig and cache under `home`."""
    home.mkdir(parents=True, exist_ok=True)
    config = home / "kubeconfig"
    config.touch()
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home), "KUBECONFIG": str(config)}
    cmd = [str(KUBECTL), "--server", api.url, "--cache-dir", str(home / "cache"), *args]
    return subprocess.run(cmd, input=stdin, capture_output=True, text=True, timeout=timeout, env=env,
                          check=False)
