"""Lab 05 checks: one LoadBalancer IP, nginx routing by Host and path, TLS with the lab's CA."""

from __future__ import annotations

from netlab.labs import LabContext, check, expect

HOST = "learn.nextgenplayground.org"
API_HOST = "api.nextgenplayground.org"


def _lb(ctx: LabContext) -> str:
    return ctx.wait(lambda: ctx.load_balancer_ip("ingress-nginx-controller", "ingress-nginx"), timeout=20,
                    what="the ingress controller's LoadBalancer IP")


def _https(ctx: LabContext, path: str):
    lb = _lb(ctx)
    return ctx.curl("host", f"https://{HOST}{path}", resolve=f"{HOST}:443:{lb}",
                    cacert=ctx.lab.manifests / "ca.crt")


@check("the ingress controller runs in ingress-nginx behind a LoadBalancer IP, and app-ingress shows it")
def controller(ctx: LabContext) -> None:
    lb = _lb(ctx)
    pods = ctx.pods(ns="ingress-nginx")
    expect(pods and all(p["status"]["phase"] == "Running" for p in pods), f"ingress-nginx pods: {pods}")
    ingress = ctx.wait(lambda: ctx.json("ingress", "app-ingress").get("status", {}).get("loadBalancer", {})
                       .get("ingress"), timeout=10, what="app-ingress's ADDRESS")
    expect(ingress[0].get("ip") == lb, f"app-ingress ADDRESS {ingress}, controller service EXTERNAL-IP {lb}")


@check("HTTPS to learn.nextgenplayground.org verifies against the lab's ca.crt and / reaches a nextgen-app pod")
def https_root(ctx: LabContext) -> None:
    apps = {p["metadata"]["name"] for p in ctx.pods("app=nextgen-app")}
    reply = ctx.wait(lambda: (lambda r: r if r.code == 200 else None)(_https(ctx, "/")), timeout=15,
                     what=f"HTTPS https://{HOST}/ answered 200")
    expect(reply.echo.get("pod") in apps and reply.echo.get("host") == HOST, f"{reply}")
    controller_ips = {p["status"]["podIP"] for p in ctx.pods(ns="ingress-nginx")}
    client = reply.echo.get("client", "").rsplit(":", 1)[0]
    expect(client in controller_ips, f"the app saw client {client}; the controller pod is {sorted(controller_ips)}")


@check("the path /api goes to an api pod (rewritten to /), the rest to nextgen-app")
def paths(ctx: LabContext) -> None:
    apis = {p["metadata"]["name"] for p in ctx.pods("app=api")}
    apps = {p["metadata"]["name"] for p in ctx.pods("app=nextgen-app")}
    reply = _https(ctx, "/api/users")
    expect(reply.code == 200 and reply.echo.get("pod") in apis, f"/api/users: {reply}")
    expect(reply.echo.get("request") == "GET / HTTP/1.1", f"/api/users arrived as {reply.echo.get('request')!r}")
    reply = _https(ctx, "/apixyz")
    expect(reply.code == 200 and reply.echo.get("pod") in apps, f"/apixyz (not under the /api prefix): {reply}")


@check("plain HTTP to the TLS host is redirected to HTTPS (308)")
def http_redirects(ctx: LabContext) -> None:
    lb = _lb(ctx)
    reply = ctx.curl("host", f"http://{lb}/", headers={"Host": HOST})
    expect(reply.code == 308, f"http://{lb}/ with Host {HOST}: {reply}")


@check("the Host header picks the rule: api.nextgenplayground.org reaches api over HTTP, an unknown host gets 404")
def hosts(ctx: LabContext) -> None:
    lb = _lb(ctx)
    apis = {p["metadata"]["name"] for p in ctx.pods("app=api")}
    reply = ctx.curl("host", f"http://{lb}/v1/items", headers={"Host": API_HOST})
    expect(reply.code == 200 and reply.echo.get("pod") in apis, f"Host {API_HOST}: {reply}")
    expect(reply.echo.get("request") == "GET /v1/items HTTP/1.1", f"request seen: {reply.echo.get('request')!r}")
    reply = ctx.curl("host", f"http://{lb}/", headers={"Host": "nosuch.example"})
    expect(reply.code == 404, f"Host nosuch.example: {reply}")


@check("without the lab CA the certificate is not trusted; its name is learn.nextgenplayground.org")
def certificate(ctx: LabContext) -> None:
    lb = _lb(ctx)
    reply = ctx.curl("host", f"https://{HOST}/", resolve=f"{HOST}:443:{lb}", extra=("--capath", "/nonexistent",
                                                                                      "--cacert", "/dev/null"))
    expect(reply.code == 0, f"HTTPS without the lab CA was accepted: {reply}")
    proc = ctx.host("openssl", "s_client", "-connect", f"{lb}:443", "-servername", HOST,
                    "-CAfile", str(ctx.lab.manifests / "ca.crt"), "-verify_return_error", timeout=10)
    expect("Verify return code: 0 (ok)" in proc.stdout and f"CN = {HOST}" in proc.stdout,
           f"openssl s_client: {proc.stdout[-400:] or proc.stderr[-400:]}")
