"""Lab 11 checks: the walkthrough replayed. The seed's Ingress first, then the same routing through a
Gateway and an HTTPRoute (steps/gateway.yaml), the Ingress deleted, a weighted canary (steps/canary.yaml)
and a header match (steps/header.yaml), each checked with real HTTPS requests from the host.

These checks change the cluster: the first applies the Ingress again, the second the Gateway's first
step, so they can be run again; at the end the cluster is in the walkthrough's final state.
"""

from __future__ import annotations

from netlab.labs import Http, LabContext, check, expect

HOST = "learn.nextgenplayground.org"


def _gateway_address(ctx: LabContext) -> str:
    def programmed() -> str | None:
        status = ctx.json("gateway", "nextgen").get("status") or {}
        ok = any(c["type"] == "Programmed" and c["status"] == "True" for c in status.get("conditions") or [])
        return status["addresses"][0]["value"] if ok and status.get("addresses") else None
    return ctx.wait(programmed, timeout=60, interval=0.5, what="Gateway nextgen Programmed with an address")


def _https(ctx: LabContext, address: str, path: str, headers: dict[str, str] | None = None) -> Http:
    return ctx.curl("host", f"https://{HOST}{path}", resolve=f"{HOST}:443:{address}",
                    cacert=ctx.lab.manifests / "ca.crt", headers=headers)


def _names(ctx: LabContext, app: str) -> set[str]:
    return {p["metadata"]["name"] for p in ctx.pods(f"app={app}")}


def _answered_by(ctx: LabContext, address: str, app: str, path: str = "/") -> Http:
    pods = _names(ctx, app)
    return ctx.wait(lambda: (lambda r: r if r.code == 200 and r.echo.get("pod") in pods else None)(
        _https(ctx, address, path)), timeout=15, interval=0.2, what=f"https://{HOST}{path} answered by {app}")


def _count_v2(ctx: LabContext, address: str, n: int, headers: dict[str, str] | None = None) -> int:
    v1, v2 = _names(ctx, "nextgen-app"), _names(ctx, "nextgen-app-v2")
    seen = 0
    for _ in range(n):
        reply = _https(ctx, address, "/", headers)
        pod = reply.echo.get("pod")
        expect(reply.code == 200 and pod in v1 | v2, f"https://{HOST}/: {reply}")
        seen += pod in v2
    return seen


@check("the starting point: the seed's app-ingress sends https://learn.nextgenplayground.org/ to nextgen-app")
def ingress(ctx: LabContext) -> None:
    ctx.apply("manifests/30-ingress.yaml")
    lb = ctx.wait(lambda: ctx.load_balancer_ip("ingress-nginx-controller", "ingress-nginx"), timeout=30,
                  what="the ingress controller's LoadBalancer IP")
    _answered_by(ctx, lb, "nextgen-app")


@check("steps/gateway.yaml: Gateway nextgen is Programmed at an address of its own; each listener has its route")
def gateway(ctx: LabContext) -> None:
    ctx.apply("steps/gateway.yaml")
    address = _gateway_address(ctx)
    lb = ctx.load_balancer_ip("ingress-nginx-controller", "ingress-nginx")
    expect(address != lb, f"the Gateway's address {address} is the ingress controller's")
    listeners = {li["name"]: li["attachedRoutes"] for li in ctx.json("gateway", "nextgen")["status"]["listeners"]}
    expect(listeners == {"http": 1, "https": 1}, f"attachedRoutes: {listeners}")
    for name in ("app", "to-https"):
        conditions = {c["type"]: c["status"] for p in ctx.json("httproute", name)["status"]["parents"]
                      for c in p["conditions"]}
        expect(conditions == {"Accepted": "True", "ResolvedRefs": "True"}, f"HTTPRoute {name}: {conditions}")


@check("through the Gateway as through the Ingress: / to nextgen-app, /api/users to api as /users, HTTP -> 301")
def same_routing(ctx: LabContext) -> None:
    address = _gateway_address(ctx)
    _answered_by(ctx, address, "nextgen-app")
    api = _answered_by(ctx, address, "api", "/api/users")
    expect(api.echo.get("request") == "GET /users HTTP/1.1", f"/api/users arrived as {api.echo.get('request')!r}")
    other = _https(ctx, address, "/apixyz")
    expect(other.echo.get("pod") in _names(ctx, "nextgen-app"), f"/apixyz (not under /api): {other}")
    redirect = ctx.host("curl", "-sS", "--max-time", "3", "-o", "/dev/null", "-w", "%{http_code} %{redirect_url}",
                        "-H", f"Host: {HOST}", f"http://{address}/x?y=1")
    expect(redirect.stdout == f"301 https://{HOST}/x?y=1", f"plain HTTP: {redirect.stdout} {redirect.stderr}")


@check("netlab trace follows https://learn.nextgenplayground.org/api/x through the Gateway, listener and route")
def trace(ctx: LabContext) -> None:
    address = _gateway_address(ctx)
    out = ctx.netlab("trace", "host", f"https://{HOST}/api/x")
    expect(f"resolves to Gateway default/nextgen at {address}" in out, out)
    expect("listener https (HTTPS port 443" in out and "HTTPRoute default/app rule 1" in out, out)
    expect("The probe matches the explanation" in out, out)


@check("the Ingress can go: with app-ingress deleted, the Gateway still serves")
def ingress_deleted(ctx: LabContext) -> None:
    ctx.netlab("delete", "ingress", "app-ingress")
    ctx.wait(lambda: "app-ingress" not in ctx.netlab("get", "ingress"), timeout=10, what="app-ingress gone")
    _answered_by(ctx, _gateway_address(ctx), "nextgen-app")


@check("steps/canary.yaml: weights 80/20 send about 20 of 100 requests to nextgen-app-v2")
def canary(ctx: LabContext) -> None:
    ctx.apply("steps/canary.yaml")
    address = _gateway_address(ctx)
    _answered_by(ctx, address, "nextgen-app-v2")  # the new rule serves (seen once, however long it takes)
    v2 = _count_v2(ctx, address, 100)
    expect(5 <= v2 <= 40, f"{v2} of 100 requests reached v2 (expected about 20)")


@check("steps/header.yaml: X-Canary: always reaches v2 every time; without it the 80/20 split stays")
def header(ctx: LabContext) -> None:
    ctx.apply("steps/header.yaml")
    address = _gateway_address(ctx)
    pinned = ctx.wait(lambda: (lambda n: n if n == 20 else None)(_count_v2(ctx, address, 20, {"X-Canary": "always"})),
                      timeout=15, interval=0.2, what="20 of 20 requests with X-Canary: always on v2")
    expect(pinned == 20, f"{pinned} of 20")
    v2 = _count_v2(ctx, address, 40)
    expect(v2 <= 25, f"without the header {v2} of 40 requests reached v2 (expected about 8)")
    api = _https(ctx, address, "/api/x", {"X-Canary": "always"})
    expect(api.echo.get("pod") in _names(ctx, "api"), f"/api/x with the header (the longer path wins): {api}")
    out = ctx.netlab("trace", "host", f"https://{HOST}/", "-H", "X-Canary: always")
    expect("HTTPRoute default/app rule 2" in out and "The probe matches the explanation" in out, out)
