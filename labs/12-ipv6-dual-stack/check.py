"""Lab 12 checks: a dual-stack cluster, family by family: addresses, routes, NDP, the ip6 rules, a Service's two
ClusterIPs and EndpointSlices, AAAA/PTR/NODATA, and one NetworkPolicy holding for IPv4 and IPv6.

They only read and probe; they change nothing in the cluster.
"""

from __future__ import annotations

import ipaddress
import json

from netlab.labs import LabContext, check, expect

ZONE = "svc.cluster.local"
POD_SUBNET6 = ipaddress.ip_network("fd00:10:244::/56")
SERVICE_SUBNET6 = ipaddress.ip_network("fd00:10:96::/112")
BLOCKED_AFTER = 1.5  # seconds without an answer that count as "dropped"


def _ips(ctx: LabContext, pod: str) -> tuple[str, str]:
    """(IPv4, IPv6) from status.podIPs, which lists the primary family (IPv4) first."""
    status = ctx.pod(pod)["status"]
    ips = [entry["ip"] for entry in status.get("podIPs") or []]
    expect(len(ips) == 2 and status.get("podIP") == ips[0], f"{pod}: podIP {status.get('podIP')}, podIPs {ips}")
    return ips[0], ips[1]


def _node_of(ctx: LabContext, pod: str) -> str:
    return ctx.pod(pod)["spec"]["nodeName"]


def _cni0_mac(ctx: LabContext, node: str) -> str:
    (link,) = ctx.ip_json(f"node:{node}", "link", "show", "cni0")
    return link["address"]


@check("every pod has one address per family: status.podIPs is [IPv4, IPv6], and eth0 carries the IPv6 one")
def addresses(ctx: LabContext) -> None:
    for pod in ("client6", "web6-1", "web6-2", "stranger6"):
        v4, v6 = _ips(ctx, pod)
        expect(ipaddress.ip_address(v4).version == 4, f"{pod}: first podIP {v4} is not IPv4 (the primary)")
        expect(ipaddress.ip_address(v6) in POD_SUBNET6, f"{pod}: {v6} is not in {POD_SUBNET6}")
        (eth0,) = ctx.ip_json(pod, "-6", "addr", "show", "dev", "eth0")
        found = {(a["local"], a["prefixlen"], a["scope"]) for a in eth0.get("addr_info", [])}
        expect((v6, 64, "global") in found, f"{pod}: eth0 has {sorted(found)}, not {v6}/64 scope global")
        expect(any(scope == "link" for _, _, scope in found), f"{pod}: eth0 has no fe80:: link-local address")


@check("IPv6 routes mirror IPv4's: the pod's default via cni0's ::1, the node's other /64 via the other node")
def routes(ctx: LabContext) -> None:
    v6 = _ips(ctx, "client6")[1]
    own = ipaddress.ip_network(f"{v6}/64", strict=False)
    gateway = str(own.network_address + 1)
    default = [r for r in ctx.ip_json("client6", "-6", "route") if r["dst"] == "default"]
    expect([r.get("gateway") for r in default] == [gateway],
           f"client6: IPv6 default route {default}, want via {gateway}")
    node = _node_of(ctx, "client6").removeprefix(f"{ctx.cluster}-")
    other = ipaddress.ip_network(f"{_ips(ctx, 'web6-2')[1]}/64", strict=False)
    node_routes = {r["dst"]: r for r in ctx.ip_json(f"node:{node}", "-6", "route")}
    expect(str(other) in node_routes and node_routes[str(other)].get("dev") in ("eth0", "nlvxlan0"),
           f"{node}: no route to web6-2's {other}: {sorted(node_routes)}")
    host = {r["dst"] for r in _host_routes(ctx)}
    expect({str(own), str(other)} <= host, f"the host routes {sorted(host)}, not both pod /64s")


def _host_routes(ctx: LabContext) -> list[dict]:
    proc = ctx.host("ip", "-j", "-6", "route")
    expect(proc.returncode == 0, f"ip -6 route on the host: {proc.stderr.strip()}")
    return json.loads(proc.stdout or "[]")


@check("NDP instead of ARP: after ping -6, client6's neighbour table has cni0's IPv6 address with cni0's MAC")
def ndp(ctx: LabContext) -> None:
    stranger = _ips(ctx, "stranger6")[1]
    ping = ctx.in_pod("client6", "ping", "-6", "-c", "1", "-W", "2", stranger)
    expect(ping.returncode == 0, f"ping -6 {stranger} from client6: {ping.stdout.strip()[-200:]}")
    gateway = str(ipaddress.ip_network(f"{_ips(ctx, 'client6')[1]}/64", strict=False).network_address + 1)
    mac = _cni0_mac(ctx, _node_of(ctx, "client6").removeprefix(f"{ctx.cluster}-"))
    neigh = {n["dst"]: n for n in ctx.ip_json("client6", "-6", "neigh")}
    expect(gateway in neigh, f"client6 has no neighbour entry for {gateway}: {sorted(neigh)}")
    expect(neigh[gateway].get("lladdr") == mac and "router" in neigh[gateway],
           f"client6's entry for {gateway}: {neigh[gateway]}, expected lladdr {mac} (cni0) flagged router")


@check("pod to pod over IPv6 across nodes: no NAT, web6-2 sees client6's own IPv6 address")
def pod_to_pod(ctx: LabContext) -> None:
    client, server = _ips(ctx, "client6")[1], _ips(ctx, "web6-2")[1]
    reply = ctx.curl("client6", f"http://[{server}]:3000/", extra=("-6",))
    expect(reply.code == 200, f"curl -6 [{server}]:3000 from client6: {reply}")
    seen = reply.echo.get("client", "").rpartition(":")[0]
    expect(seen == f"[{client}]", f"web6-2 saw {seen}, expected [{client}] (no NAT)")


@check("web6 has two ClusterIPs and two EndpointSlices (IPv4 and IPv6); web4 is single-stack IPv4")
def service_families(ctx: LabContext) -> None:
    spec = ctx.service("web6")["spec"]
    expect(spec.get("ipFamilies") == ["IPv4", "IPv6"], f"web6 ipFamilies {spec.get('ipFamilies')}")
    ips = spec.get("clusterIPs") or []
    expect(len(ips) == 2 and spec.get("clusterIP") == ips[0] and ipaddress.ip_address(ips[1]) in SERVICE_SUBNET6,
           f"web6 clusterIP {spec.get('clusterIP')}, clusterIPs {ips}")
    want = {"IPv4": sorted(_ips(ctx, p)[0] for p in ("web6-1", "web6-2")),
            "IPv6": sorted(_ips(ctx, p)[1] for p in ("web6-1", "web6-2"))}
    slices = ctx.json("endpointslices", selector="kubernetes.io/service-name=web6")
    got = {s["addressType"]: sorted(a for e in s.get("endpoints") or [] for a in e["addresses"]) for s in slices}
    expect(len(slices) == 2 and got == want, f"web6's EndpointSlices: {got}, expected {want}")
    web4 = ctx.service("web4")["spec"]
    expect(web4.get("ipFamilies") == ["IPv4"] and len(web4.get("clusterIPs") or []) == 1,
           f"web4: ipFamilies {web4.get('ipFamilies')}, clusterIPs {web4.get('clusterIPs')}")
    reply = ctx.curl("client6", f"http://[{ips[1]}]/", extra=("-6",))
    expect(reply.code == 200 and reply.echo.get("pod") in ("web6-1", "web6-2"),
           f"curl -6 to web6's IPv6 ClusterIP from client6: {reply}")


@check("the same inet netlab table holds the IPv6 rules: @service-ips6 maps web6's IPv6 ClusterIP, dnat ip6")
def ip6_rules(ctx: LabContext) -> None:
    cip6 = ctx.service("web6")["spec"]["clusterIPs"][1]
    rules = ctx.in_node("worker", "nft", "list", "table", "inet", "netlab").stdout
    expect("ip6 daddr . meta l4proto . th dport vmap @service-ips6" in rules, "no ip6 dispatch through @service-ips6")
    expect(f"{cip6} . tcp . 80 : goto service-" in rules and "default/web6/tcp/80/ipv6" in rules,
           f"@service-ips6 has no element for {cip6} . tcp . 80")
    for pod in ("web6-1", "web6-2"):
        v4, v6 = _ips(ctx, pod)
        expect(f"dnat ip6 to [{v6}]:3000" in rules and f"dnat ip to {v4}:3000" in rules,
               f"no dnat ip/ip6 rules for {pod} ({v4}, {v6})")
    expect("ip6 daddr vmap @policy-ingress-pods6" in rules, "no IPv6 NetworkPolicy dispatch (@policy-ingress-pods6)")


@check("DNS: AAAA and A for web6, PTR in ip6.arpa, NODATA (NOERROR, no answer) for web4's AAAA")
def dns(ctx: LabContext) -> None:
    v4, v6 = ctx.service("web6")["spec"]["clusterIPs"]
    name = f"web6.default.{ZONE}"
    expect(ctx.dig("client6", "AAAA", name) == [v6], f"AAAA {name}: {ctx.dig('client6', 'AAAA', name)}")
    expect(ctx.dig("client6", "A", name) == [v4], f"A {name}: {ctx.dig('client6', 'A', name)}")
    expect(ctx.dig("client6", "-x", v6) == [f"{name}."], f"PTR of {v6}: {ctx.dig('client6', '-x', v6)}")
    proc = ctx.in_pod("client6", "dig", "+time=2", "+tries=2", "AAAA", f"web4.default.{ZONE}")
    expect("status: NOERROR" in proc.stdout and "ANSWER: 0," in proc.stdout,
           f"AAAA web4.default.{ZONE} is not NODATA: {proc.stdout[-300:]}")


@check("one NetworkPolicy, both families: client6 reaches web6 over IPv4 and IPv6, stranger6 over neither")
def policy_both_families(ctx: LabContext) -> None:
    v4, v6 = ctx.service("web6")["spec"]["clusterIPs"]
    for url, flag in ((f"http://{v4}/", "-4"), (f"http://[{v6}]/", "-6")):
        ok = ctx.curl("client6", url, extra=(flag,), max_time=3)
        expect(ok.code == 200, f"client6 -> {url}: {ok} (web6-from-clients allows role=client)")
        blocked = ctx.curl("stranger6", url, extra=(flag,), max_time=BLOCKED_AFTER)
        expect(blocked.code == 0 and "timed out" in blocked.error.lower(),
               f"stranger6 -> {url}: {blocked}, expected a timeout (dropped by web6-from-clients)")
    out = ctx.netlab("trace", "--no-probe", "-6", "stranger6", "web6:80")
    expect(f"-> [{v6}]:80/tcp" in out and "DENIED by default/web6-from-clients" in out
           and "Prediction: timeout" in out, f"netlab trace -6 stranger6 web6:80 says:\n{out}")
