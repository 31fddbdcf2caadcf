"""Lab 01 checks: pod namespaces, veths on the cni0 bridge, routes between nodes, no NAT between pods."""

from __future__ import annotations

import ipaddress
import json

from netlab.labs import LabContext, check, expect


def _pods(ctx: LabContext) -> list[dict]:
    pods = [p for p in ctx.pods() if p["status"].get("podIP")]
    expect(len(pods) >= 4, f"expected web and 3 nextgen-app pods with IPs, got {[p['metadata']['name'] for p in pods]}")
    return pods


def _peer_on_other_node(ctx: LabContext) -> tuple[dict, dict]:
    web = ctx.pod("web")
    others = [p for p in ctx.pods("app=nextgen-app") if p["spec"]["nodeName"] != web["spec"]["nodeName"]]
    expect(others, f"no nextgen-app pod on a node other than web's ({web['spec']['nodeName']})")
    return web, others[0]


@check("every pod has eth0 with its own IP from its node's pod CIDR, and a default route via the node's cni0")
def pod_addresses(ctx: LabContext) -> None:
    cidrs = ctx.node_cidrs()
    for pod in _pods(ctx):
        name, ip, node = pod["metadata"]["name"], pod["status"]["podIP"], pod["spec"]["nodeName"]
        net = ipaddress.ip_network(cidrs[node])
        expect(ipaddress.ip_address(ip) in net, f"{name}: IP {ip} is not in {node}'s pod CIDR {net}")
        addrs = [a["local"] for link in ctx.ip_json(name, "addr", "show", "dev", "eth0")
                 for a in link.get("addr_info", []) if a.get("family") == "inet"]
        expect(addrs == [ip], f"{name}: eth0 has {addrs}, the API says {ip}")
        default = ctx.ip_json(name, "route", "show", "default")
        gateway = str(next(net.hosts()))
        expect(default and default[0].get("gateway") == gateway,
               f"{name}: default route {default}, expected via {gateway} (cni0 on {node})")


@check("each pod's veth peer is in its node's namespace, attached to the bridge cni0")
def veths_on_bridge(ctx: LabContext) -> None:
    for pod in _pods(ctx):
        name, node = pod["metadata"]["name"], pod["spec"]["nodeName"]
        links = ctx.ip_json(f"node:{node}", "-d", "link", "show", "master", "cni0")
        mine = [link for link in links if (link.get("ifalias") or "").endswith(f":pod:default/{name}")]
        expect(len(mine) == 1, f"{name}: no veth with alias ...:pod:default/{name} on cni0 in {node}; "
                               f"cni0 ports: {[(link['ifname'], link.get('ifalias')) for link in links]}")
        kind = mine[0].get("linkinfo", {}).get("info_kind")
        expect(kind == "veth", f"{name}: {mine[0]['ifname']} is a {kind}, not a veth")


@check("every node routes each other node's pod CIDR via that node's underlay IP")
def routes_between_nodes(ctx: LabContext) -> None:
    ips, cidrs = ctx.nodes(), ctx.node_cidrs()
    for node in ips:
        routes = {r["dst"]: r for r in ctx.ip_json(f"node:{node}", "route")}
        for other, cidr in cidrs.items():
            if other == node:
                expect(routes.get(cidr, {}).get("dev") == "cni0", f"{node}: its own {cidr} is not on cni0: "
                                                                  f"{routes.get(cidr)}")
                continue
            route = routes.get(cidr)
            expect(route and route.get("gateway") == ips[other],
                   f"{node}: route to {other}'s pods {cidr} is {route}, expected via {ips[other]}")


@check("web reaches a nextgen-app pod on another node, and that pod sees web's own IP (no NAT)")
def pod_to_pod_no_nat(ctx: LabContext) -> None:
    web, peer = _peer_on_other_node(ctx)
    reply = ctx.curl("web", f"http://{peer['status']['podIP']}:3000/")
    expect(reply.code == 200, f"web -> {peer['status']['podIP']}:3000: {reply}")
    client = reply.echo.get("client", "").rsplit(":", 1)[0]
    expect(client == web["status"]["podIP"], f"the pod saw client {client!r}, web's IP is {web['status']['podIP']}")
    expect(reply.echo.get("pod") == peer["metadata"]["name"], f"answered by {reply.echo.get('pod')}")


@check("tcpdump on the receiving node's eth0 shows web's pod IP talking to the pod's IP (un-NATed)")
def tcpdump_shows_pod_ips(ctx: LabContext) -> None:
    web, peer = _peer_on_other_node(ctx)
    src, dst, node = web["status"]["podIP"], peer["status"]["podIP"], peer["spec"]["nodeName"]
    lines = ctx.capture(node, f"tcp and src host {src} and dst host {dst} and dst port 3000",
                        lambda: ctx.curl("web", f"http://{dst}:3000/"))
    expect(lines and f"IP {src}." in lines[0] and f"> {dst}.3000:" in lines[0],
           f"tcpdump -ni eth0 in {node} saw {lines or 'nothing'}; expected {src}.<port> > {dst}.3000")


@check("the host reaches every pod through its route to the pod's node, and the pod sees the host's address")
def host_to_pods(ctx: LabContext) -> None:
    routes = {r["dst"]: r.get("gateway") for r in json.loads(ctx.host("ip", "-j", "route").stdout)}
    ips, cidrs = ctx.nodes(), ctx.node_cidrs()
    for node, cidr in cidrs.items():
        expect(routes.get(cidr) == ips[node], f"host: route to {cidr} is via {routes.get(cidr)}, expected {ips[node]}")
    for pod in ctx.pods("app=nextgen-app"):
        ip = pod["status"]["podIP"]
        source = json.loads(ctx.host("ip", "-j", "route", "get", ip).stdout)[0].get("prefsrc")
        reply = ctx.curl("host", f"http://{ip}:3000/")
        expect(reply.code == 200, f"host -> {pod['metadata']['name']}: {reply}")
        client = reply.echo.get("client", "").rsplit(":", 1)[0]
        expect(client == source,
               f"host -> {pod['metadata']['name']}: pod saw client {client}, the host sent from {source}")
