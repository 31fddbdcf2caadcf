"""Lab 02 checks: a ClusterIP is a DNAT rule in every node, to the endpoints, chosen at random."""

from __future__ import annotations

import ipaddress
import re
import time

from netlab.labs import LabContext, check, expect

SERVICE = "app-service"


def _app_ips(ctx: LabContext) -> set[str]:
    return {p["status"]["podIP"] for p in ctx.pods("app=nextgen-app") if p["status"].get("podIP")}


def _chain(table: str, name: str) -> str:
    """The body of chain `name` in `nft list table` output."""
    m = re.search(r"^\s*chain " + re.escape(name) + r" \{\n(.*?)^\s*\}", table, re.M | re.S)
    return m.group(1) if m else ""


def dnat_targets(ctx: LabContext, node: str, cluster_ip: str, port: int) -> set[str]:
    """Follow `ip daddr . proto . port vmap @service-ips` to the endpoints' `dnat ip to` targets on `node`."""
    table = ctx.in_node(node, "nft", "list", "table", "inet", "netlab").stdout
    m = re.search(re.escape(f"{cluster_ip} . tcp . {port} : goto ") + r"(\S+?)[,\s]", table)
    expect(m, f"{node}: no `{cluster_ip} . tcp . {port} : goto service-...` element in map service-ips")
    service_chain = _chain(table, m.group(1))
    targets = set()
    for endpoint_chain in re.findall(r"goto (endpoint-\S+?)[,\s}]", service_chain):
        targets.update(re.findall(r"dnat ip to (\S+)", _chain(table, endpoint_chain)))
    return targets


@check("app-service has a ClusterIP in 10.96.0.0/16 and its endpoints are the nextgen-app pods on port 3000")
def endpoints_are_pods(ctx: LabContext) -> None:
    ip = ctx.service(SERVICE)["spec"]["clusterIP"]
    expect(ipaddress.ip_address(ip) in ipaddress.ip_network("10.96.0.0/16"), f"ClusterIP {ip}")
    pods = _app_ips(ctx)
    expect(len(pods) == 3, f"expected 3 nextgen-app pod IPs, got {sorted(pods)}")
    ctx.wait(lambda: ctx.endpoint_ips(SERVICE) == pods, timeout=10,
             what=f"endpoints of {SERVICE} == {sorted(pods)} (got {sorted(ctx.endpoint_ips(SERVICE))})")
    ports = {p["port"] for s in ctx.json("endpoints", SERVICE).get("subsets") or [] for p in s.get("ports") or []}
    expect(ports == {3000}, f"endpoint ports {ports}, expected the targetPort 3000")


@check("every node's table inet netlab maps ClusterIP:80 to a chain that DNATs to each endpoint's :3000")
def dnat_rules(ctx: LabContext) -> None:
    ip = ctx.service(SERVICE)["spec"]["clusterIP"]
    want = {f"{a}:3000" for a in _app_ips(ctx)}
    for node in ctx.nodes():
        got = dnat_targets(ctx, node, ip, 80)
        expect(got == want, f"{node}: DNAT targets {sorted(got)}, expected {sorted(want)}")


@check("curl http://app-service from web reaches all three pods (random choice per connection)")
def load_balancing(ctx: LabContext) -> None:
    want = {p["metadata"]["name"] for p in ctx.pods("app=nextgen-app")}
    seen: dict[str, int] = {}
    for _ in range(60):
        reply = ctx.curl("web", f"http://{SERVICE}/")
        expect(reply.code == 200, f"web -> {SERVICE}: {reply}")
        seen[reply.echo.get("pod", "?")] = seen.get(reply.echo.get("pod", "?"), 0) + 1
        if set(seen) >= want:
            break
    expect(set(seen) == want, f"60 requests reached {seen}, expected all of {sorted(want)}")


@check("the endpoint sees web's own IP: ClusterIP DNAT changes only the destination")
def no_snat(ctx: LabContext) -> None:
    web_ip = ctx.pod_ip("web")
    reply = ctx.curl("web", f"http://{SERVICE}/")
    client = reply.echo.get("client", "").rsplit(":", 1)[0]
    expect(reply.code == 200 and client == web_ip, f"{reply}; client {client!r}, web is {web_ip}")


@check("a port the service does not define is refused at once, not left to time out")
def other_port_rejected(ctx: LabContext) -> None:
    ip = ctx.service(SERVICE)["spec"]["clusterIP"]
    start = time.monotonic()
    reply = ctx.curl("web", f"http://{ip}:8080/", max_time=5)
    took = time.monotonic() - start
    expect(reply.code == 0 and took < 2, f"{ip}:8080 -> {reply} after {took:.1f}s")


@check("deleting a pod takes it out of the endpoints and the DNAT rules; its replacement is added")
def endpoints_follow_pods(ctx: LabContext) -> None:
    ip = ctx.service(SERVICE)["spec"]["clusterIP"]
    node = ctx.pod("web")["spec"]["nodeName"]
    victim = ctx.pods("app=nextgen-app")[0]["metadata"]["name"]
    ctx.netlab("delete", "pod", victim)

    def replaced() -> bool:
        names = {p["metadata"]["name"] for p in ctx.pods("app=nextgen-app")}
        pods = _app_ips(ctx)
        return len(names) == 3 and victim not in names and ctx.endpoint_ips(SERVICE) == pods
    ctx.wait(replaced, timeout=20, what=f"a replacement for {victim} in the endpoints")
    want = {f"{a}:3000" for a in _app_ips(ctx)}
    ctx.wait(lambda: dnat_targets(ctx, node, ip, 80) == want, timeout=10,
             what=f"{node}: DNAT targets == {sorted(want)}")
