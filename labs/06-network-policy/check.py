"""Lab 06 checks: the walkthrough's steps, replayed: no policy, default deny, allow web to api, allow the ingress.

These checks change the cluster: they first delete the lab's three policies, then apply each step's file
from steps/ and check what it allows. Run them when you have finished (or to catch up); at the end the
cluster is in the walkthrough's final state.
"""

from __future__ import annotations

from netlab.labs import Http, LabContext, check, expect

HOST = "learn.nextgenplayground.org"
POLICIES = ("default-deny", "allow-web-to-api", "allow-from-ingress")
BLOCKED_AFTER = 1.5  # seconds without an answer that count as "dropped"


def _app_pod(ctx: LabContext) -> str:
    return ctx.pods("app=nextgen-app")[0]["metadata"]["name"]


def _probe(ctx: LabContext, src: str, url: str) -> Http:
    return ctx.curl(src, url, max_time=BLOCKED_AFTER)


def _ingress(ctx: LabContext, path: str) -> Http:
    lb = ctx.load_balancer_ip("ingress-nginx-controller", "ingress-nginx")
    return ctx.curl("host", f"https://{HOST}{path}", resolve=f"{HOST}:443:{lb}", cacert=ctx.lab.manifests / "ca.crt",
                    max_time=3)


def _becomes(ctx: LabContext, what: str, probe, allowed: bool) -> Http:
    """Wait (bounded) until `probe()` is answered with 200 (allowed) or not at all (blocked)."""
    def settled() -> Http | None:
        reply = probe()
        return reply if (reply.code == 200) == allowed else None
    return ctx.wait(settled, timeout=10, interval=0.3, what=f"{what} {'allowed' if allowed else 'blocked'}")


def _restart_ingress_controller(ctx: LabContext) -> None:
    """Replace the ingress controller pod. nginx keeps idle upstream connections open (keepalive) and policies
    are stateful, so a connection opened before a policy keeps working; a fresh pod has none."""
    old = {p["metadata"]["name"] for p in ctx.pods(ns="ingress-nginx")}
    for name in old:
        ctx.netlab("delete", "pod", name, "-n", "ingress-nginx")

    def ready() -> bool:
        pods = [p for p in ctx.pods(ns="ingress-nginx") if p["metadata"]["name"] not in old]
        ips = {p["status"].get("podIP") for p in pods}
        return bool(pods) and ctx.endpoint_ips("ingress-nginx-controller", "ingress-nginx") == ips
    ctx.wait(ready, timeout=90, interval=0.5, what="a new, ready ingress controller pod")


@check("with no policy (the lab's policies removed), web and the nextgen-app pods all reach api-service")
def no_policy(ctx: LabContext) -> None:
    present = {p["metadata"]["name"] for p in ctx.json("networkpolicies")}
    for name in POLICIES:
        if name in present:
            ctx.netlab("delete", "networkpolicy", name)
    if present & set(POLICIES):  # a re-run: drop the controller's upstream connections of the last run
        _restart_ingress_controller(ctx)
    _becomes(ctx, "web -> api-service", lambda: _probe(ctx, "web", "http://api-service"), True)
    for app in ctx.pods("app=nextgen-app"):
        name = app["metadata"]["name"]
        _becomes(ctx, f"{name} -> api-service", lambda name=name: _probe(ctx, name, "http://api-service"), True)


@check("steps/default-deny.yaml: web can reach neither api-service nor app-service (dropped), DNS still works")
def default_deny(ctx: LabContext) -> None:
    ctx.apply("steps/default-deny.yaml")
    reply = _becomes(ctx, "web -> api-service", lambda: _probe(ctx, "web", "http://api-service"), False)
    expect("timed out" in reply.error.lower(), f"blocked, but not by a silent drop: {reply}")
    _becomes(ctx, "web -> app-service", lambda: _probe(ctx, "web", "http://app-service"), False)
    ip = ctx.service("api-service")["spec"]["clusterIP"]
    got = ctx.dig("web", "api-service.default.svc.cluster.local")
    expect(got == [ip], f"DNS from web under default deny: {got}, expected [{ip}]")


@check("steps/allow-web-to-api.yaml: web reaches api again; a nextgen-app pod still cannot")
def allow_web_to_api(ctx: LabContext) -> None:
    ctx.apply("steps/allow-web-to-api.yaml")
    apis = {p["metadata"]["name"] for p in ctx.pods("app=api")}
    reply = _becomes(ctx, "web -> api-service", lambda: _probe(ctx, "web", "http://api-service"), True)
    expect(reply.echo.get("pod") in apis, f"answered by {reply.echo.get('pod')}")
    for api in ctx.pods("app=api"):  # every api pod, whichever node it is on, not just the one DNAT picked
        _becomes(ctx, f"web -> {api['metadata']['name']}",
                 lambda ip=api["status"]["podIP"]: _probe(ctx, "web", f"http://{ip}:3000/"), True)
    app = _app_pod(ctx)
    _becomes(ctx, f"{app} -> api-service", lambda: _probe(ctx, app, "http://api-service"), False)
    _becomes(ctx, "web -> app-service", lambda: _probe(ctx, "web", "http://app-service"), False)


@check("the api pods' nodes enforce it in nftables: api pod IPs in map policy-ingress-pods, web's IP a peer")
def rules_in_kernel(ctx: LabContext) -> None:
    web_ip = ctx.pod_ip("web")
    for api in ctx.pods("app=api"):
        ip, node = api["status"]["podIP"], api["spec"]["nodeName"]
        table = ctx.in_node(node, "nft", "list", "table", "inet", "netlab").stdout
        pods_map = table.split("map policy-ingress-pods", 1)[-1].split("}", 2)[:2]
        expect(f"{ip} : jump ingress-" in "".join(pods_map), f"{node}: {ip} not in map policy-ingress-pods")
        expect("allow-web-to-api" in table and web_ip in table,
               f"{node}: no allow-web-to-api peer set with web's IP {web_ip}")


@check("through the ingress /api is still blocked: nginx connects from its own pod in ingress-nginx, not app: web")
def ingress_blocked(ctx: LabContext) -> None:
    # No request went through the ingress since the controller started (fresh cluster, or restarted above),
    # so nginx has no upstream connection from before the policies: each request opens a new, judged one.
    reply = _becomes(ctx, "ingress /api", lambda: _ingress(ctx, "/api"), False)
    expect(reply.code in (0, 502, 504), f"ingress /api: {reply}")
    _becomes(ctx, "ingress /", lambda: _ingress(ctx, "/"), False)


@check("steps/allow-from-ingress.yaml: / and /api work through the ingress; nextgen-app -> api is still blocked")
def allow_from_ingress(ctx: LabContext) -> None:
    ctx.apply("steps/allow-from-ingress.yaml")
    apis = {p["metadata"]["name"] for p in ctx.pods("app=api")}
    apps = {p["metadata"]["name"] for p in ctx.pods("app=nextgen-app")}
    reply = _becomes(ctx, "ingress /api", lambda: _ingress(ctx, "/api"), True)
    expect(reply.echo.get("pod") in apis, f"/api answered by {reply.echo.get('pod')}")
    reply = _becomes(ctx, "ingress /", lambda: _ingress(ctx, "/"), True)
    expect(reply.echo.get("pod") in apps, f"/ answered by {reply.echo.get('pod')}")
    app = _app_pod(ctx)
    _becomes(ctx, f"{app} -> api-service", lambda: _probe(ctx, app, "http://api-service"), False)
    _becomes(ctx, "web -> app-service", lambda: _probe(ctx, "web", "http://app-service"), False)
