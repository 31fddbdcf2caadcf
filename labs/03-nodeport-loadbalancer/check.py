"""Lab 03 checks: NodePort on every node's address, LoadBalancer IP announced on the underlay, from the host."""

from __future__ import annotations

import json

from netlab.labs import LabContext, check, expect

NODE_PORT = 30080


def _app_pods(ctx: LabContext) -> dict[str, dict]:
    return {p["metadata"]["name"]: p for p in ctx.pods("app=nextgen-app")}


@check("app-nodeport is a NodePort service on 30080 and app-lb got an EXTERNAL-IP from 172.18.255.200-250")
def service_types(ctx: LabContext) -> None:
    np = ctx.service("app-nodeport")
    expect(np["spec"]["type"] == "NodePort" and np["spec"]["ports"][0].get("nodePort") == NODE_PORT,
           f"app-nodeport spec: {np['spec']}")
    lb_ip = ctx.wait(lambda: ctx.load_balancer_ip("app-lb"), timeout=10, what="app-lb's LoadBalancer IP")
    last = int(lb_ip.rsplit(".", 1)[1])
    expect(lb_ip.startswith("172.18.255.") and 200 <= last <= 250, f"app-lb EXTERNAL-IP {lb_ip}")
    port = ctx.service("app-lb")["spec"]["ports"][0].get("nodePort")
    expect(port and 30000 <= port <= 32767, f"app-lb has no node port in 30000-32767: {port}")


@check("from the host, <node-ip>:30080 answers on every node, also one with no nextgen-app pod")
def nodeport_on_every_node(ctx: LabContext) -> None:
    pods = _app_pods(ctx)
    hosting = {p["spec"]["nodeName"] for p in pods.values()}
    for node, ip in ctx.nodes().items():
        reply = ctx.curl("host", f"http://{ip}:{NODE_PORT}/")
        expect(reply.code == 200 and reply.echo.get("pod") in pods,
               f"host -> {node} ({ip}):{NODE_PORT}: {reply}" + ("" if node in hosting else " (no local endpoint)"))


@check("a NodePort connection forwarded to another node is SNATed to the node's address (policy Cluster)")
def nodeport_snat(ctx: LabContext) -> None:
    pods = _app_pods(ctx)
    nodes = ctx.nodes()
    hosting = {p["spec"]["nodeName"] for p in pods.values()}
    empty = [n for n in nodes if n not in hosting]
    expect(empty, f"every node hosts a nextgen-app pod ({sorted(hosting)}); cannot show the SNAT")
    node = empty[0]
    reply = ctx.curl("host", f"http://{nodes[node]}:{NODE_PORT}/")
    client = reply.echo.get("client", "").rsplit(":", 1)[0]
    expect(reply.code == 200 and client == nodes[node],
           f"host -> {node}:{NODE_PORT}: {reply}; the pod saw {client!r}, expected {node}'s {nodes[node]}")


@check("the host reaches app-lb's EXTERNAL-IP on port 80; exactly one node answers ARP for it")
def load_balancer_from_host(ctx: LabContext) -> None:
    lb_ip = ctx.load_balancer_ip("app-lb")
    pods = _app_pods(ctx)
    reply = ctx.curl("host", f"http://{lb_ip}/")
    expect(reply.code == 200 and reply.echo.get("pod") in pods, f"host -> {lb_ip}:80: {reply}")
    owners = []
    for node in ctx.nodes():
        addrs = [a["local"] for link in ctx.ip_json(f"node:{node}", "addr", "show", "dev", "eth0")
                 for a in link.get("addr_info", []) if a.get("family") == "inet"]
        if lb_ip in addrs:
            owners.append(node)
    expect(len(owners) == 1, f"{lb_ip} is on eth0 of {owners or 'no node'}; expected exactly one announcing node")
    neigh = json.loads(ctx.host("ip", "-j", "neigh", "show", lb_ip).stdout or "[]")
    mac = json.loads(ctx.in_node(owners[0], "ip", "-j", "link", "show", "eth0").stdout)[0]["address"]
    expect(neigh and neigh[0].get("lladdr") == mac,
           f"host's ARP entry for {lb_ip}: {neigh}; {owners[0]}'s eth0 is {mac}")


@check("repeated requests to the LoadBalancer IP are spread over all three pods")
def load_balancer_spreads(ctx: LabContext) -> None:
    lb_ip = ctx.load_balancer_ip("app-lb")
    want = set(_app_pods(ctx))
    seen: set[str] = set()
    for _ in range(60):
        reply = ctx.curl("host", f"http://{lb_ip}/")
        expect(reply.code == 200, f"host -> {lb_ip}: {reply}")
        seen.add(reply.echo.get("pod", "?"))
        if seen >= want:
            break
    expect(seen == want, f"60 requests reached {sorted(seen)}, expected {sorted(want)}")


@check("a node port nothing listens on is refused at once")
def unused_nodeport(ctx: LabContext) -> None:
    ip = next(iter(ctx.nodes().values()))
    reply = ctx.curl("host", f"http://{ip}:32555/", max_time=2)
    expect(reply.code == 0 and "timed out" not in reply.error.lower(), f"{ip}:32555 -> {reply}")
