"""`netlab trace SRC DST`: explain a packet's path from the compiled rules, then probe and watch the kernel.

Registered by the CLI with `main.add_command(trace)`.
"""

from __future__ import annotations

import json
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import click

from netlab.compile import names
from netlab.images.echo import parse_text


@dataclass
class ProbeResult:
    outcome: str  # connected | refused | timeout | unreachable | error
    elapsed_ms: float
    answer: dict[str, str]
    message: str


def https_redirect_hosts(ing: dict) -> set[str]:
    """Hosts for which ingress-nginx answers plain HTTP with a 308 to HTTPS: hosts with TLS, unless
    ssl-redirect is "false" (force-ssl-redirect forces it for every host)."""
    notes = (ing["metadata"].get("annotations") or {})
    prefix = "nginx.ingress.kubernetes.io/"
    hosts = {r.get("host") or "*" for r in (ing.get("spec") or {}).get("rules") or []}
    if notes.get(prefix + "force-ssl-redirect") == "true":
        return hosts
    if notes.get(prefix + "ssl-redirect") == "false":
        return set()
    return {h for t in (ing.get("spec") or {}).get("tls") or [] for h in t.get("hosts") or []}


def _parse_dst(dst: str) -> tuple[str, int | None]:
    if dst.startswith(("http://", "https://")):
        return dst, None
    target, sep, port = dst.rpartition(":")
    if not sep:
        return dst, None
    if not port.isdigit():
        raise click.BadParameter(f"port must be a number in {dst!r}", param_hint="DST")
    return target, int(port)


def _parse_src(src: str) -> str:
    if src == "host" or src.startswith("node:") or "/" in src:
        return src
    return f"default/{src}"


def _in_netns(netns: str | None, argv: list[str], timeout: float) -> subprocess.CompletedProcess:
    from netlab.kernel import netns as nsmod

    with nsmod.entered(netns):
        return subprocess.run(argv, capture_output=True, text=True, timeout=timeout)


def probe_tcp(netns: str | None, ip: str, port: int, url: str | None = None) -> ProbeResult:
    """curl --max-time 2 from `netns` (None: here); an Ingress URL is sent to `ip` with --resolve."""
    argv = ["curl", "-sS", "--max-time", "2", "-w", "\n__time_connect=%{time_connect} __code=%{http_code}"]
    if url:
        from urllib.parse import urlparse

        u = urlparse(url)
        uport = u.port or (443 if u.scheme == "https" else 80)
        argv += ["-k", "--resolve", f"{u.hostname}:{uport}:{ip}", url]
    else:
        argv.append(f"http://{ip}:{port}/")
    start = time.monotonic()
    proc = _in_netns(netns, argv, timeout=10)
    elapsed = (time.monotonic() - start) * 1000
    body, _, tail = proc.stdout.rpartition("\n__time_connect=")
    err = proc.stderr.strip()
    if proc.returncode == 0 or proc.returncode in (52, 56):
        connect = tail.split()[0] if tail else ""
        ms = float(connect) * 1000 if connect else elapsed
        code = tail.split("__code=")[-1].strip() if "__code=" in tail else ""
        return ProbeResult("connected", ms, parse_text(body), f"HTTP {code}" if code and code != "000" else err)
    if proc.returncode == 7:
        outcome = "unreachable" if "No route" in err or "unreachable" in err.lower() else "refused"
        return ProbeResult(outcome, elapsed, {}, err)
    if proc.returncode == 28:
        return ProbeResult("timeout", elapsed, {}, err)
    return ProbeResult("error", elapsed, {}, f"curl exit {proc.returncode}: {err}")


def probe_udp(netns: str | None, ip: str, port: int) -> ProbeResult:
    """One datagram from `netns`; an answer within 2 s means connected, ICMP unreachable means refused."""
    from netlab.kernel import netns as nsmod

    with nsmod.entered(netns):
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.settimeout(2)
    start = time.monotonic()
    try:
        sock.connect((ip, port))
        sock.send(b"netlab trace\n")
        data = sock.recv(65536)
        return ProbeResult("connected", (time.monotonic() - start) * 1000, parse_text(data.decode(errors="replace")),
                           "")
    except ConnectionRefusedError as e:
        return ProbeResult("refused", (time.monotonic() - start) * 1000, {}, str(e))
    except TimeoutError:
        return ProbeResult("timeout", (time.monotonic() - start) * 1000, {}, "no answer within 2 s")
    except OSError as e:
        return ProbeResult("unreachable", (time.monotonic() - start) * 1000, {}, str(e))
    finally:
        sock.close()


def _gather(cluster: str) -> dict:
    """Everything the model needs, from the API and the (read-only) state file."""
    from netlab.api.client import ApiFailure, Client
    from netlab.cli.common import Fail

    client = Client(cluster)
    out: dict = {}
    for key, path in (("pods", "/api/v1/pods"), ("services", "/api/v1/services"),
                      ("endpoints", "/api/v1/endpoints"), ("nodes", "/api/v1/nodes"),
                      ("namespaces", "/api/v1/namespaces"),
                      ("policies", "/apis/networking.k8s.io/v1/networkpolicies"),
                      ("ingresses", "/apis/networking.k8s.io/v1/ingresses")):
        out[key] = client.get(path)["items"]
    rows: list[dict] = []
    for ing in out["ingresses"]:
        meta = ing["metadata"]
        try:
            found = client.get(f"/apis/networking.k8s.io/v1/namespaces/{meta.get('namespace', 'default')}"
                               f"/ingresses/{meta['name']}/netlab").get("rules") or []
        except ApiFailure:
            continue
        redirect = https_redirect_hosts(ing)
        rows += [{**row, "httpsRedirect": row["host"] in redirect} for row in found]
    out["ingress_rows"] = rows
    path = Path(names.state_file(cluster))
    try:
        out["state"] = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise Fail(f"cannot read {path}: {e}") from e
    return out


def _build(data: dict):
    from netlab.compile.config import ClusterConfig
    from netlab.compile.netpol import PolicyNamespace, policy_pod
    from netlab.compile.services import Endpoint, ResolvedService, ServicePortView
    from netlab.trace.model import PolicyInputs

    state = data["state"]
    config = ClusterConfig.from_manifest(state.get("cluster") or {}, state.get("clusterName"))
    pods = [p for p in data["pods"] if p["status"].get("podIP")]
    topo = config.topology([(p["metadata"]["namespace"], p["metadata"]["name"], p["spec"]["nodeName"],
                             p["status"]["podIP"]) for p in pods])
    eps_by_svc = {(e["metadata"].get("namespace", "default"), e["metadata"]["name"]): e for e in data["endpoints"]}
    services = []
    for s in data["services"]:
        meta, spec = s["metadata"], s.get("spec") or {}
        ns = meta.get("namespace", "default")
        ep_obj = eps_by_svc.get((ns, meta["name"])) or {}
        endpoints: dict[str, Endpoint] = {}
        targets: dict[str, dict[str, int]] = {}
        for subset in ep_obj.get("subsets") or []:
            sub_ports = subset.get("ports") or []
            for bucket, ready in (("addresses", True), ("notReadyAddresses", False)):
                for a in subset.get(bucket) or []:
                    ref = a.get("targetRef") or {}
                    endpoints[a["ip"]] = Endpoint(a["ip"], ref.get("name"), a.get("nodeName"), ready,
                                                  a.get("hostname"))
                    for sp in spec.get("ports") or []:
                        match = [p for p in sub_ports if (p.get("name") or "") == (sp.get("name") or "")
                                 and p.get("protocol", "TCP") == sp.get("protocol", "TCP")]
                        if match:
                            targets.setdefault(f"{sp['port']}/{sp.get('protocol', 'TCP')}", {})[a["ip"]] = \
                                match[0]["port"]
        lb = ((s.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
        cip = spec.get("clusterIP")
        affinity = None
        if spec.get("sessionAffinity") == "ClientIP":
            affinity = ((spec.get("sessionAffinityConfig") or {}).get("clientIP") or {}).get("timeoutSeconds", 10800)
        services.append(ResolvedService(
            namespace=ns, name=meta["name"], type=spec.get("type", "ClusterIP"),
            cluster_ip=None if cip in (None, "None") else cip, load_balancer_ip=lb[0]["ip"] if lb else None,
            ports=tuple(ServicePortView(sp.get("name") or "", sp.get("protocol", "TCP"), sp["port"],
                                        sp.get("nodePort"),
                                        targets.get(f"{sp['port']}/{sp.get('protocol', 'TCP')}", {}))
                        for sp in spec.get("ports") or []),
            endpoints=tuple(endpoints.values()), external_local=spec.get("externalTrafficPolicy") == "Local",
            affinity_timeout=affinity, external_name=spec.get("externalName"),
            publish_not_ready=bool(spec.get("publishNotReadyAddresses"))))
    ppods = tuple(policy_pod(p) for p in pods)
    namespaces = tuple(PolicyNamespace(n["metadata"]["name"], dict(n["metadata"].get("labels") or {}))
                       for n in data["namespaces"])
    return config, topo, services, PolicyInputs(ppods, namespaces, tuple(data["policies"]))


def _print_steps(steps, start: int = 1) -> None:
    for i, s in enumerate(steps, start):
        click.echo(f"{i:>2}. [{s.where}] {s.what}")
        if s.detail:
            click.echo(f"      {s.detail}")
        if s.rule:
            click.echo(f"      rule: {s.rule}")


def _print_kernel(events: dict, problems: list[str]) -> list[str]:
    """Print the trace per node (first traced packet of the flow); return the endpoint chains the kernel took."""
    from netlab.trace.kernel import summarize

    chosen: list[str] = []
    for node in sorted(events):
        evs = events[node]
        ids = list(dict.fromkeys(e.id for e in evs))
        click.echo(f"  [{node}] {len(ids)} packet(s) traced" + (":" if ids else " (none reached this node)"))
        if not ids:
            continue
        first = [e for e in evs if e.id == ids[0]]
        pkt = next((e for e in first if e.kind == "packet"), None)
        if pkt is not None:
            click.echo(f"      packet: {pkt.rule[:160]}")
        for chain, rule, verdict in summarize(first):
            click.echo(f"      {chain}: {rule} (verdict {verdict})")
            if verdict.startswith(("goto endpoint-", "jump endpoint-")):
                chosen.append(verdict.split(None, 1)[1])
    for p in problems:
        click.echo(f"  problem: {p}")
    return chosen


@click.command()
@click.argument("src")
@click.argument("dst")
@click.option("-p", "--protocol", "proto", type=click.Choice(["tcp", "udp"]), default="tcp", show_default=True)
@click.option("--no-probe", is_flag=True, help="Only explain from the compiled rules; send nothing.")
@click.option("--kernel/--no-kernel", default=True, show_default=True,
              help="Trace the probe in the kernel (nftables meta nftrace + nft monitor trace).")
@click.pass_context
def trace(ctx: click.Context, src: str, dst: str, proto: str, no_probe: bool, kernel: bool) -> None:
    """Explain what happens to a packet from SRC to DST, then send a real one and compare.

    SRC: pod-a, ns/pod, node:<name> or host. DST: svc:port, svc.ns:port, ip:port, <node-ip>:<nodePort>,
    <lb-ip>:port, ns/pod:port or http://host/path (through the ingress).
    """
    from netlab.cli.common import Fail
    from netlab.cli.common import cluster as _cluster
    from netlab.trace import model
    from netlab.trace.nft_eval import NftSyntaxError

    cluster = _cluster(ctx)
    target, port = _parse_dst(dst)
    data = _gather(cluster)
    config, topo, services, pi = _build(data)
    try:
        plan = model.plan(_parse_src(src), target, port, proto, topo, services, pi,
                          ingress_rows=data["ingress_rows"], cluster_cidr=config.pod_subnet)
    except model.TraceError as e:
        raise Fail(str(e)) from e
    except NftSyntaxError as e:
        raise Fail(f"netlab trace cannot interpret the compiled rules: {e}") from e
    click.echo(f"{plan.source.name} ({plan.source.ip}) -> {plan.dst_ip}:{plan.dport}/{plan.proto}"
               + (f"  [{plan.url}]" if plan.url else ""))
    click.echo(f"From netlab's compiled rules (topology routes, {names.NFT_TABLE} service and policy chains):")
    _print_steps(plan.steps)
    predicted = plan.predicted()
    click.echo(f"Prediction: {plan.outcome} ({plan.reason})")
    if no_probe:
        return
    netns = plan.source.netns

    def send() -> ProbeResult:
        if proto == "udp":
            return probe_udp(netns, plan.dst_ip, plan.dport)
        return probe_tcp(netns, plan.dst_ip, plan.dport, plan.url)

    chosen: list[str] = []
    if kernel and plan.trace_points:
        from netlab.trace.kernel import traced

        result, events, problems = traced(plan.trace_points, proto, send)
        click.echo("From the kernel's own trace (nft monitor trace, meta nftrace set for this flow only):")
        chosen = _print_kernel(events, problems)
    else:
        result = send()
    ok, verdict = _judge(plan, result, predicted)
    click.echo(f"Probe: {verdict}")
    if chosen:
        click.echo(f"The kernel chose {', '.join(dict.fromkeys(chosen))}")
    if not ok:
        raise Fail(f"the probe ({result.outcome}) does not match the prediction ({plan.outcome}): {result.message}")
    click.echo("The probe matches the explanation.")


def _judge(plan, result: ProbeResult, predicted: set[str]) -> tuple[bool, str]:
    if result.outcome == "connected":
        pod, client = result.answer.get("pod"), result.answer.get("client", "").rsplit(":", 1)[0]
        text = f"connected in {result.elapsed_ms:.1f} ms"
        if pod:
            text += f"; the echo server saw client {client} and answered from pod {pod}"
        if result.message:
            text += f" ({result.message})"
        match = [c for c in plan.candidates if c.outcome == "connected"
                 and (not pod or not c.pod or c.pod.split("/", 1)[1] == pod)]
        if pod and match and client and all(c.source_seen != client for c in match):
            return False, text + f"; expected the endpoint to see {', '.join(c.source_seen for c in match)}"
        return ("connected" in predicted and bool(match or not plan.candidates)), text
    if result.outcome == "timeout":
        blocker = next((c.reason for c in plan.candidates if c.outcome == "timeout"), plan.reason)
        return "timeout" in predicted, f"timed out after {result.elapsed_ms:.0f} ms: dropped ({blocker})"
    return result.outcome in predicted, f"{result.outcome} after {result.elapsed_ms:.1f} ms ({result.message})"
