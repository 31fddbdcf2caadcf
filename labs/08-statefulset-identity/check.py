"""Lab 08 checks: a StatefulSet's pods have stable names, hostnames and DNS names through the headless
Service that governs it, are created in order, and a replaced pod comes back under the same name."""

from __future__ import annotations

from netlab.labs import LabContext, check, expect

ZONE = "nginx.default.svc.cluster.local"


def _ready(pod: dict) -> bool:
    return any(c["type"] == "Ready" and c["status"] == "True" for c in pod["status"].get("conditions") or [])


def _web_pods(ctx: LabContext) -> dict[str, dict]:
    return {p["metadata"]["name"]: p for p in ctx.pods("app=nginx")}


def _all_ready(ctx: LabContext) -> dict[str, dict] | None:
    pods = _web_pods(ctx)
    return pods if sorted(pods) == ["web-0", "web-1"] and all(map(_ready, pods.values())) else None


@check("web-0 and web-1 run and are Ready, web-1 created only after web-0 (OrderedReady)")
def ordered_pods(ctx: LabContext) -> None:
    pods = ctx.wait(lambda: _all_ready(ctx), timeout=60, what="web-0 and web-1 Ready")
    created = {name: p["metadata"]["creationTimestamp"] for name, p in pods.items()}
    expect(created["web-0"] <= created["web-1"], f"creation times: {created}")
    for name, pod in pods.items():
        expect(pod["spec"].get("hostname") == name and pod["spec"].get("subdomain") == "nginx",
               f"{name}: hostname {pod['spec'].get('hostname')}, subdomain {pod['spec'].get('subdomain')}")
        expect(pod["metadata"]["labels"].get("statefulset.kubernetes.io/pod-name") == name, f"{name}: labels")


@check("the container's hostname is its pod's name")
def hostnames(ctx: LabContext) -> None:
    for name in ("web-0", "web-1"):
        got = ctx.netlab("exec", name, "--", "hostname").strip()
        expect(got == name, f"hostname in {name}: {got!r}")


@check("web-0.nginx and web-1.nginx resolve (through the search path) to each pod's own IP")
def pod_dns_names(ctx: LabContext) -> None:
    ctx.wait(lambda: _all_ready(ctx), timeout=60, what="web-0 and web-1 Ready")
    for name in ("web-0", "web-1"):
        ip = ctx.pod_ip(name)
        got = ctx.wait(lambda n=name: ctx.dig("dns-test", "+search", f"{n}.nginx"), timeout=10,
                       what=f"A record of {name}.nginx")
        expect(got == [ip], f"dig +search {name}.nginx from dns-test: {got}, expected [{ip}]")
        expect(ctx.dig("dns-test", f"{name}.{ZONE}") == [ip], f"{name}.{ZONE} does not resolve to {ip}")


@check("the headless Service nginx has no ClusterIP: its name answers with both pod IPs")
def headless_service(ctx: LabContext) -> None:
    expect(ctx.service("nginx")["spec"].get("clusterIP") == "None", "nginx is not headless")
    want = sorted(ctx.pod_ip(n) for n in ("web-0", "web-1"))
    def records() -> list[str] | None:
        got = sorted(ctx.dig("dns-test", "nginx.default.svc.cluster.local"))
        return got if got == want else None

    got = ctx.wait(records, timeout=10, what=f"A records of nginx == {want}")
    expect(got == want, f"{got}")


@check("curl web-0.nginx from a pod reaches web-0's nginx")
def curl_by_name(ctx: LabContext) -> None:
    reply = ctx.curl("dns-test", "http://web-0.nginx/")
    expect(reply.code == 200 and "Welcome to nginx!" in reply.body, f"curl http://web-0.nginx/: {reply}")


@check("a deleted web-0 comes back as web-0, with the same DNS name, which follows its new IP")
def replaced_pod_keeps_identity(ctx: LabContext) -> None:
    old = ctx.pod("web-0")
    ctx.netlab("delete", "pod", "web-0")

    def replaced() -> dict | None:
        pods = _all_ready(ctx)
        pod = (pods or {}).get("web-0")
        return pod if pod and pod["metadata"]["uid"] != old["metadata"]["uid"] else None

    new = ctx.wait(replaced, timeout=60, what="a new Ready web-0")
    expect(new["spec"].get("hostname") == "web-0", f"new web-0's hostname: {new['spec'].get('hostname')}")
    ip = new["status"]["podIP"]
    got = ctx.wait(lambda: (lambda a: a if a == [ip] else None)(ctx.dig("dns-test", f"web-0.{ZONE}")),
                   timeout=15, what=f"web-0.{ZONE} -> {ip}")
    expect(got == [ip], f"{got}")
    reply = ctx.wait(lambda: (lambda r: r if r.code == 200 else None)(ctx.curl("dns-test", "http://web-0.nginx/")),
                     timeout=15, what="curl http://web-0.nginx/ after the replacement")
    expect("Welcome to nginx!" in reply.body, f"{reply}")
