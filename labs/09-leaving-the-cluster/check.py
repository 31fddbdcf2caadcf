"""Lab 09 checks: leaving the cluster. Nothing here sends a packet beyond the lab's host: the egress packet
is a ping whose TTL runs out at the host (after the node's SNAT, before the host would forward it), and the
rest is the compiled rules, the kernel's conntrack and nftables state, a trace without probe, and traffic
between pods, nodes and the host."""

from __future__ import annotations

import re

from netlab.labs import LabContext, check, expect

OUTSIDE = "203.0.113.10"      # TEST-NET-3: SNATed on its way out
NO_MASQ = "192.0.2.10"        # in the cluster file's nonMasqueradeCIDRs: keeps the pod's address


def _node_of(ctx: LabContext, pod: str) -> str:
    return ctx.wait(lambda: ctx.pod(pod)["spec"].get("nodeName"), timeout=30, what=f"{pod} scheduled")


def _running(ctx: LabContext, pod: str) -> str:
    """The pod's IP once it is Running."""
    def ip() -> str:
        status = ctx.pod(pod)["status"]
        return status.get("phase") == "Running" and status.get("podIP")
    return ctx.wait(ip, timeout=60, what=f"{pod} Running with an IP")


def _ttl_ping(ctx: LabContext) -> str:
    """One ping from leaver with TTL 2: the node forwards it (TTL 1) and SNATs it, the host answers
    `Time to live exceeded` instead of forwarding it (or `Net Unreachable` when it has no route out at all),
    so it never leaves the machine."""
    return ctx.in_pod("leaver", "ping", "-n", "-c", "1", "-t", "2", "-W", "2", OUTSIDE).stdout


@check("the node's ip-masq-agent chain: no SNAT towards the cluster's CIDRs and 192.0.2.0/24, masquerade the rest")
def masq_chain(ctx: LabContext) -> None:
    node = _node_of(ctx, "leaver")
    chain = ctx.in_node(node, "nft", "list", "chain", "inet", "netlab", "ip-masq-agent").stdout
    expect("masquerade" in chain and "@no-masquerade" in chain, f"chain ip-masq-agent in {node}:\n{chain}")
    nomasq = ctx.in_node(node, "nft", "list", "set", "inet", "netlab", "no-masquerade").stdout
    for cidr in ("10.244.0.0/16", "10.96.0.0/16", "192.0.2.0/24"):
        expect(cidr in nomasq, f"{cidr} not in set no-masquerade of {node}:\n{nomasq}")


@check(f"trace leaver {OUTSIDE}:80 --no-probe: SNAT to the node's address, then the host's; {NO_MASQ} keeps the pod IP")
def trace_shows_snat(ctx: LabContext) -> None:
    pod_ip = _running(ctx, "leaver")
    node_ip = ctx.nodes()[_node_of(ctx, "leaver")]
    out = ctx.netlab("trace", "leaver", f"{OUTSIDE}:80", "--no-probe")
    expect(f"SNAT (masquerade) {pod_ip} -> {node_ip}" in out, f"no SNAT of {pod_ip} to {node_ip}:\n{out}")
    expect("[host]" in out and "SNAT (masquerade)" in out.split("[host]", 1)[1], f"no SNAT on the host:\n{out}")
    kept = ctx.netlab("trace", "leaver", f"{NO_MASQ}:80", "--no-probe")
    expect("no SNAT: ip-masq-agent returns" in kept, f"{NO_MASQ} is SNATed:\n{kept}")


@check(f"a real packet to {OUTSIDE}: leaves the node from the node's address; conntrack maps the reply back")
def snat_in_the_kernel(ctx: LabContext) -> None:
    pod_ip = _running(ctx, "leaver")
    node = _node_of(ctx, "leaver")
    node_ip = ctx.nodes()[node]
    lines = ctx.capture(node, f"icmp and host {OUTSIDE}", lambda: _ttl_ping(ctx), count=1)
    expect(lines and f"{node_ip} > {OUTSIDE}" in lines[0], f"on {node}'s eth0: {lines}")
    tracked = ctx.in_node(node, "conntrack", "-L", "-p", "icmp", "-d", OUTSIDE).stdout
    expect(re.search(rf"src={re.escape(pod_ip)} dst={re.escape(OUTSIDE)} .*src={re.escape(OUTSIDE)} "
                     rf"dst={re.escape(node_ip)}", tracked), f"conntrack in {node}:\n{tracked}")
    # The host's ICMP error went back to the node's address, and the node's conntrack delivered it to the pod.
    host_ip = next(r["gateway"] for r in ctx.ip_json(f"node:{node}", "route", "show", "default"))
    reply = _ttl_ping(ctx)
    expect(re.search(rf"From {re.escape(host_ip)} icmp_seq=1 (Time to live exceeded|Destination Net Unreachable)",
                     reply), f"ping -t 2 {OUTSIDE} from leaver, expected an ICMP error from {host_ip}:\n{reply}")


@check("pod to pod and pod to Service keep the client's own IP (no SNAT inside the cluster)")
def no_snat_inside(ctx: LabContext) -> None:
    leaver, peer = _running(ctx, "leaver"), _running(ctx, "peer")
    for url in (f"http://{peer}:3000/", "http://peer/"):
        reply = ctx.wait(lambda u=url: (r := ctx.curl("leaver", u)).code == 200 and r, timeout=10, what=url)
        client = reply.echo.get("client", "").rsplit(":", 1)[0]
        expect(client == leaver, f"{url}: peer saw {client!r}, leaver is {leaver}")


@check("hostNetwork: node-web's IP is its node's, it listens in the node's namespace, the host reaches it there")
def host_network(ctx: LabContext) -> None:
    node = _node_of(ctx, "node-web")
    node_ip = ctx.nodes()[node]
    expect(_running(ctx, "node-web") == node_ip, f"node-web's podIP is not {node}'s address {node_ip}")
    listening = ctx.in_node(node, "ss", "-Htln", "sport", "= :18080").stdout
    expect(":18080" in listening, f"nothing listens on 18080 in {node}: {listening!r}")
    reply = ctx.wait(lambda: (r := ctx.curl("host", f"http://{node_ip}:18080/")).code == 200 and r, timeout=15,
                     what=f"an answer at {node_ip}:18080")
    expect(reply.echo.get("pod") == "node-web", f"{node_ip}:18080 answered: {reply}")
    resolv = ctx.netlab("exec", "node-web", "--", "cat", "/etc/resolv.conf")
    expect("nameserver 10.96.0.10" in resolv, f"ClusterFirstWithHostNet, yet resolv.conf is:\n{resolv}")


@check("hostPort: the host reaches hostport-web at its node's address, port 8080 (DNAT to the pod's port 3000)")
def host_port(ctx: LabContext) -> None:
    pod_ip = _running(ctx, "hostport-web")
    node = _node_of(ctx, "hostport-web")
    nodes = ctx.nodes()
    reply = ctx.wait(lambda: (r := ctx.curl("host", f"http://{nodes[node]}:8080/")).code == 200 and r,
                     timeout=15, what=f"an answer at {nodes[node]}:8080")
    expect(reply.echo.get("pod") == "hostport-web", f"{nodes[node]}:8080 answered: {reply}")
    rules = ctx.in_node(node, "nft", "list", "ruleset").stdout
    expect(f"dnat ip to {pod_ip}:3000" in rules and "hostport-dispatch" in rules, f"no hostPort DNAT in {node}")
    for other, ip in nodes.items():
        if other != node:
            expect(ctx.curl("host", f"http://{ip}:8080/", max_time=1).code == 0, f"{other}:8080 answered too")


def _resolv(ctx: LabContext, pod: str) -> str:
    return ctx.netlab("exec", pod, "--", "cat", "/etc/resolv.conf")


@check("dnsPolicy: ClusterFirst, Default and None+dnsConfig each write their own resolv.conf, and dig follows it")
def dns_policies(ctx: LabContext) -> None:
    cluster = _resolv(ctx, "dns-cluster")
    expect(cluster.split("\n")[:3] == ["nameserver 10.96.0.10",
                                       "search default.svc.cluster.local svc.cluster.local cluster.local",
                                       "options ndots:5"], f"dns-cluster:\n{cluster}")
    default = _resolv(ctx, "dns-default")
    expect("10.96.0.10" not in default and "nameserver" in default and "search" not in default,
           f"dns-default:\n{default}")
    custom = _resolv(ctx, "dns-custom")
    expect(custom == "nameserver 10.96.0.10\nsearch svc.cluster.local lab.example\noptions ndots:2 edns0\n",
           f"dns-custom:\n{custom}")
    ip = ctx.service("peer")["spec"]["clusterIP"]
    got = ctx.wait(lambda: ctx.dig("dns-cluster", "+search", "peer"), timeout=10, what="dig +search peer")
    expect(got == [ip], f"dig +search peer in dns-cluster: {got}, expected [{ip}]")
    # dns-custom searches svc.cluster.local: `peer.default` (1 dot < ndots 2) is found through it.
    got = ctx.dig("dns-custom", "+search", "peer.default")
    expect(got == [ip], f"dig +search peer.default in dns-custom: {got}, expected [{ip}]")
