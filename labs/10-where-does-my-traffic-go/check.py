"""Lab 10 checks: which endpoints a connection may reach, by the Service's traffic fields, proved with real
connections from pods on chosen nodes and from the host; then a rolling update under a bounded load that
must lose no request while the old pods drain (Terminating in their EndpointSlice)."""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import time

from netlab.labs import CheckFailed, LabContext, check, expect

BACKENDS = {"backend-1", "backend-2", "backend-3"}


def _node_of(ctx: LabContext, pod: str) -> str:
    return ctx.wait(lambda: ctx.pod(pod)["spec"].get("nodeName"), timeout=30, what=f"{pod} scheduled")


def _slice(ctx: LabContext, service: str) -> list[dict]:
    """The endpoints of the Service's EndpointSlices."""
    slices = ctx.json("endpointslices", selector=f"kubernetes.io/service-name={service}")
    return [ep for s in slices for ep in s.get("endpoints") or []]


def _ready_backends(ctx: LabContext) -> bool:
    ready = {ep["targetRef"]["name"] for ep in _slice(ctx, "zonal") if ep["conditions"].get("ready")}
    return ready == BACKENDS


def _answered_by(ctx: LabContext, client: str, url: str, tries: int = 15) -> set[str]:
    """The backends that answered `tries` connections from `client` (random choice per connection)."""
    ctx.wait(lambda: _ready_backends(ctx), timeout=60, what="backend-1..3 ready")
    seen = set()
    for _ in range(tries):
        reply = ctx.curl(client, url, max_time=2)
        expect(reply.code == 200, f"{client} -> {url}: {reply}")
        seen.add(reply.echo.get("pod", "?"))
    return seen


@check("internalTrafficPolicy: Local: client-1 and client-2 reach only their own node's backend")
def internal_local(ctx: LabContext) -> None:
    for client, want in (("client-1", {"backend-1"}), ("client-2", {"backend-2"})):
        seen = _answered_by(ctx, client, "http://node-local/")
        expect(seen == want, f"{client} -> node-local reached {sorted(seen)}, expected {sorted(want)}")


@check("internalTrafficPolicy: Local: client-cp's node has no backend, so the connection is dropped (a timeout)")
def internal_local_dropped(ctx: LabContext) -> None:
    ip = ctx.service("node-local")["spec"]["clusterIP"]
    node = _node_of(ctx, "client-cp")
    drops = ctx.in_node(node, "nft", "list", "map", "inet", "netlab", "no-endpoint-services").stdout
    expect(f"{ip} . tcp . 80 : goto no-local-endpoints" in drops,
           f"{node}: {ip} does not go to no-local-endpoints in no-endpoint-services:\n{drops}")
    chain = ctx.in_node(node, "nft", "list", "chain", "inet", "netlab", "no-local-endpoints").stdout
    expect("drop" in chain, f"{node}: no-local-endpoints does not drop:\n{chain}")
    reply = ctx.curl("client-cp", "http://node-local/", max_time=2)
    expect(reply.code == 0 and "timed out" in reply.error.lower(), f"client-cp -> node-local: {reply}")


@check("externalTrafficPolicy: Local: NodePort 30810 answers on a backend's node with the client's own address")
def external_local(ctx: LabContext) -> None:
    nodes = ctx.nodes()
    host_ip = next(r["gateway"] for r in ctx.ip_json(f"node:{_node_of(ctx, 'backend-1')}", "route", "show",
                                                      "default"))
    for backend in sorted(BACKENDS):
        node_ip = nodes[_node_of(ctx, backend)]
        ctx.wait(lambda: _ready_backends(ctx), timeout=60, what="backend-1..3 ready")
        for _ in range(5):
            reply = ctx.curl("host", f"http://{node_ip}:30810/", max_time=2)
            expect(reply.echo.get("pod") == backend, f"{node_ip}:30810 from the host: {reply}, expected {backend}")
            client = reply.echo.get("client", "").rsplit(":", 1)[0]
            expect(client == host_ip, f"{backend} saw client {client!r}, the host is {host_ip}")


@check("externalTrafficPolicy: Local: NodePort 30810 on the control-plane node (no backend) drops")
def external_local_dropped(ctx: LabContext) -> None:
    node_ip = ctx.nodes()[_node_of(ctx, "client-cp")]
    reply = ctx.curl("host", f"http://{node_ip}:30810/", max_time=2)
    expect(reply.code == 0 and "timed out" in reply.error.lower(), f"{node_ip}:30810 from the host: {reply}")


@check("trafficDistribution: the EndpointSlice of zonal carries zones and forZones hints, nodal forNodes too")
def hints(ctx: LabContext) -> None:
    ctx.wait(lambda: _ready_backends(ctx), timeout=60, what="backend-1..3 ready")
    zones = {"backend-1": "zone-a", "backend-2": "zone-b", "backend-3": "zone-b"}
    for ep in _slice(ctx, "zonal"):
        name = ep["targetRef"]["name"]
        expect(ep.get("zone") == zones[name] and ep.get("hints") == {"forZones": [{"name": zones[name]}]},
               f"zonal's endpoint {name}: zone {ep.get('zone')}, hints {ep.get('hints')}")
    for ep in _slice(ctx, "nodal"):
        node = _node_of(ctx, ep["targetRef"]["name"])
        expect(ep.get("hints", {}).get("forNodes") == [{"name": node}], f"nodal's endpoint: {ep}")


@check("PreferSameZone: client-1 (zone-a) reaches backend-1, client-2 (zone-b) backend-2 and -3, client-cp all")
def prefer_same_zone(ctx: LabContext) -> None:
    for client, want, tries in (("client-1", {"backend-1"}, 12), ("client-2", {"backend-2", "backend-3"}, 40),
                                ("client-cp", BACKENDS, 60)):
        seen = _answered_by(ctx, client, "http://zonal/", tries)
        expect(seen == want, f"{client} -> zonal reached {sorted(seen)} in {tries} tries, expected {sorted(want)}")


@check("PreferSameNode: client-2 reaches only backend-2, the one on its node")
def prefer_same_node(ctx: LabContext) -> None:
    seen = _answered_by(ctx, "client-2", "http://nodal/", 15)
    expect(seen == {"backend-2"}, f"client-2 -> nodal reached {sorted(seen)}")
    out = ctx.netlab("trace", "client-2", "nodal:80", "--no-probe")
    expect("trafficDistribution PreferSameNode: 1 of the service's 3" in out, f"trace client-2 nodal:80:\n{out}")


def _deployment_done(ctx: LabContext, old: set[str]) -> bool:
    """Rolled out: every replica updated and available, and none of the old pods left (drained and gone)."""
    status = ctx.json("deployment", "web").get("status", {})
    names = {p["metadata"]["name"] for p in ctx.pods("app=web")}
    return (status.get("updatedReplicas") == status.get("availableReplicas") == status.get("replicas") == 3
            and not names & old)


def _restart_manifest(ctx: LabContext) -> str:
    """steps/restart.yaml with a fresh restartedAt, so each run is a new template (as `rollout restart`)."""
    text = (ctx.lab.path / "steps" / "restart.yaml").read_text(encoding="utf-8")
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()) + f"-{os.getpid()}"
    return text.replace('restartedAt: "2026-12-01T12:00:00Z"', f'restartedAt: "{stamp}"')


# The load: at most this many requests, for at most this many seconds, one HTTP code per line.
REQUESTS, SECONDS = 1500, 90


@check("a rolling update under load: old pods are Terminating (ready false, serving true) and no request fails")
def rollout_drains(ctx: LabContext) -> None:
    ctx.wait(lambda: _deployment_done(ctx, set()), timeout=60, what="deployment web rolled out")
    old = {p["metadata"]["name"] for p in ctx.pods("app=web")}
    ip = ctx.service("web")["spec"]["clusterIP"]
    stop = os.path.join(tempfile.mkdtemp(prefix="netlab-lab10-"), "stop")
    loop = (f"i=0; while [ $i -lt {REQUESTS} ] && [ ! -e {stop} ]; do i=$((i+1)); "
            f"curl -s -o /dev/null -w '%{{http_code}}\\n' --max-time 3 http://{ip}/; done")
    load = subprocess.Popen(["timeout", str(SECONDS), "ip", "netns", "exec", ctx.pod_netns("client-1"),
                             "sh", "-c", loop], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seen_terminating: list[dict] = []
    try:
        time.sleep(1)
        ctx.netlab("apply", "-f", "-", input=_restart_manifest(ctx))

        def progress() -> bool:
            seen_terminating.extend(ep for ep in _slice(ctx, "web") if ep["conditions"].get("terminating"))
            return _deployment_done(ctx, old)
        ctx.wait(progress, timeout=SECONDS - 10, interval=0.3, what="the rollout to finish and the old pods to go")
        time.sleep(1)
    finally:
        open(stop, "w").close()
        try:
            out, _ = load.communicate(timeout=SECONDS + 10)
        except subprocess.TimeoutExpired as e:
            load.kill()
            raise CheckFailed("the request loop did not stop") from e
        os.unlink(stop)
        os.rmdir(os.path.dirname(stop))
    codes = out.split()
    expect(len(codes) >= 30, f"only {len(codes)} requests were sent during the rollout")
    failed = [c for c in codes if c != "200"]
    expect(not failed, f"{len(failed)} of {len(codes)} requests failed: {sorted(set(failed))}")
    expect(seen_terminating, "no endpoint of web was seen terminating during the rollout")
    # At first a terminating pod still serves (its readiness holds while its preStop hook runs).
    first = seen_terminating[0]["conditions"]
    expect(first == {"ready": False, "serving": True, "terminating": True},
           f"a terminating endpoint's conditions: {json.dumps(first)}")
    expect({ep["targetRef"]["name"] for ep in seen_terminating} <= old, "a new pod was terminating")
