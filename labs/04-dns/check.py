"""Lab 04 checks: resolv.conf and search paths, service records, ExternalName, headless, SRV and PTR."""

from __future__ import annotations

from pathlib import Path

from netlab.labs import LabContext, check, expect

ZONE = "svc.cluster.local"


def _cluster_ip(ctx: LabContext, name: str, ns: str = "default") -> str:
    return ctx.service(name, ns)["spec"]["clusterIP"]


@check("kube-dns is 10.96.0.10 with ready coredns endpoints, and web's resolv.conf points at it")
def resolv_conf(ctx: LabContext) -> None:
    expect(_cluster_ip(ctx, "kube-dns", "kube-system") == "10.96.0.10", "kube-dns ClusterIP is not 10.96.0.10")
    expect(ctx.endpoint_ips("kube-dns", "kube-system"), "kube-dns has no ready endpoints")
    for pod, ns in (("web", "default"), ("client", "other")):
        path = Path("/etc/netns", ctx.pod_netns(pod, ns), "resolv.conf")
        lines = path.read_text().splitlines() if path.exists() else []
        want = ["nameserver 10.96.0.10", f"search {ns}.{ZONE} {ZONE} cluster.local", "options ndots:5"]
        expect(lines == want, f"{path}: {lines}, expected {want}")


@check("app-service's full name resolves to its ClusterIP, and so do the short forms through the search path")
def service_a_records(ctx: LabContext) -> None:
    ip = _cluster_ip(ctx, "app-service")
    for name in (f"app-service.default.{ZONE}", "app-service", "app-service.default", "app-service.default.svc"):
        args = (name,) if name.endswith(".local") else ("+search", name)
        got = ctx.dig("web", *args)
        expect(got == [ip], f"dig {' '.join(args)} from web: {got}, expected [{ip}]")
    reply = ctx.curl("web", "http://app-service.default.svc.cluster.local/")
    expect(reply.code == 200, f"curl by full name: {reply}")


@check("from namespace other, app-service expands to app-service.other.svc... (NXDOMAIN); app-service.default works")
def search_path_depends_on_namespace(ctx: LabContext) -> None:
    ip = _cluster_ip(ctx, "app-service")
    proc = ctx.in_pod("client", "dig", "+time=2", "+tries=1", f"app-service.other.{ZONE}", namespace="other")
    expect("status: NXDOMAIN" in proc.stdout, f"dig app-service.other.{ZONE} from other/client: {proc.stdout[-300:]}")
    got = ctx.dig("client", "+search", "app-service.default", namespace="other")
    expect(got == [ip], f"dig +search app-service.default from other/client: {got}, expected [{ip}]")
    reply = ctx.curl("client", "http://app-service.default/", namespace="other")
    expect(reply.code == 200, f"curl http://app-service.default from other/client: {reply}")


@check("the headless service app-headless answers with every nextgen-app pod IP, not a ClusterIP")
def headless(ctx: LabContext) -> None:
    expect(ctx.service("app-headless")["spec"].get("clusterIP") == "None", "app-headless is not headless")
    pods = sorted(p["status"]["podIP"] for p in ctx.pods("app=nextgen-app"))
    got = ctx.wait(lambda: (lambda a: a if a == pods else None)(sorted(ctx.dig("web", f"app-headless.default.{ZONE}"))),
                   timeout=10, what=f"A records of app-headless == {pods}")
    expect(got == pods, f"{got}")
    srv = ctx.dig("web", "SRV", f"_http._tcp.app-headless.default.{ZONE}")
    targets = sorted(line.split()[-1].rstrip(".") for line in srv)
    expect(len(targets) == len(pods) and all(t.endswith(f".app-headless.default.{ZONE}") for t in targets),
           f"SRV _http._tcp.app-headless: {srv}")


@check("SRV for a named port, PTR for a ClusterIP, CNAME for the ExternalName service docs")
def other_records(ctx: LabContext) -> None:
    srv = ctx.dig("web", "SRV", f"_http._tcp.api-service.default.{ZONE}")
    expect(srv == [f"0 100 80 api-service.default.{ZONE}."], f"SRV _http._tcp.api-service: {srv}")
    ip = _cluster_ip(ctx, "app-service")
    ptr = ctx.dig("web", "-x", ip)
    expect(ptr == [f"app-service.default.{ZONE}."], f"PTR of {ip}: {ptr}")
    cname = ctx.dig("web", "CNAME", f"docs.default.{ZONE}")
    expect(cname == ["kubernetes.io."], f"CNAME of docs: {cname}")


@check("a name that does not exist is NXDOMAIN, answered at once")
def nxdomain(ctx: LabContext) -> None:
    proc = ctx.in_pod("web", "dig", "+time=2", "+tries=1", f"nosuch.default.{ZONE}")
    expect("status: NXDOMAIN" in proc.stdout, f"dig nosuch.default.{ZONE}: {proc.stdout[-300:]}")
