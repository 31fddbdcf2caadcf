"""`netlab trace SRC DST`: explain a packet's path from the controller's compiled rules, then probe it.

The explanation walks the rulesets and topology the API serves at DATAPLANE_PATH; the probe is traced
in the kernel (nftrace). Registered by the CLI with `main.add_command(trace)`.
"""

from __future__ import annotations

import socket
import subprocess
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import click

from netlab.compile import names
from netlab.images.echo import parse_text

if TYPE_CHECKING:
    from netlab.api.dataplane_view import Dataplane


@dataclass
class ProbeResult:
    outcome: str  # connected | refused | timeout | unreachable | error
    elapsed_ms: float
    answer: dict[str, str]
    message: str


def _parse_dst(dst: str) -> tuple[str, int | None]:
    """`svc:80`, `10.96.0.1:80`, `[fd00:10:96::1]:80`, a bare address or name (no port), or a URL."""
    from netlab.trace.places import ip_version

    if dst.startswith(("http://", "https://")):
        return dst, None
    if dst.startswith("["):
        addr, sep, rest = dst[1:].partition("]")
        if not sep or ip_version(addr) != 6 or (rest and not rest.startswith(":")):
            raise click.BadParameter(f"{dst!r}: write an IPv6 destination as [addr]:port", param_hint="DST")
        dst = addr + (rest if rest else "")
        if not rest:
            return addr, None
    elif ip_version(dst) == 6:
        return dst, None
    target, sep, port = dst.rpartition(":")
    if not sep:
        return dst, None
    if not port.isdigit():
        raise click.BadParameter(f"port must be a number in {dst!r}", param_hint="DST")
    return target, int(port)


def _parse_headers(headers: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for h in headers:
        name, sep, value = h.partition(":")
        if not sep or not name.strip():
            raise click.BadParameter(f"a header is 'Name: value', not {h!r}", param_hint="-H")
        out[name.strip()] = value.strip()
    return out


def _parse_src(src: str) -> str:
    if src == "host" or src.startswith("node:") or "/" in src:
        return src
    return f"default/{src}"


def _in_netns(netns: str | None, argv: list[str], timeout: float) -> subprocess.CompletedProcess:
    from netlab.kernel import netns as nsmod

    with nsmod.entered(netns):
        return subprocess.run(argv, capture_output=True, text=True, timeout=timeout)


def probe_tcp(netns: str | None, ip: str, port: int, url: str | None = None,
              headers: dict[str, str] | None = None) -> ProbeResult:
    """curl --max-time 2 from `netns` (None: here); an Ingress or Gateway URL is sent to `ip` with --resolve,
    with `headers`."""
    argv = ["curl", "-sS", "--max-time", "2", "-w", "\n__time_connect=%{time_connect} __code=%{http_code}"]
    if url:
        from urllib.parse import urlparse

        u = urlparse(url)
        uport = u.port or (443 if u.scheme == "https" else 80)
        for name, value in (headers or {}).items():
            argv += ["-H", f"{name}: {value}"]
        argv += ["-k", "--resolve", f"{u.hostname}:{uport}:{ip}", url]
    else:
        from netlab.trace.result import hostport

        argv.append(f"http://{hostport(ip, port)}/")
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
        sock = socket.socket(socket.AF_INET6 if ":" in ip else socket.AF_INET, socket.SOCK_DGRAM)
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


def _dataplane(cluster: str) -> Dataplane:
    """The controller's compiled rulesets, topology, services and policy inputs, from the API."""
    from netlab.api.client import Client
    from netlab.api.dataplane_view import from_json
    from netlab.api.resources import DATAPLANE_PATH

    return from_json(Client(cluster).get(DATAPLANE_PATH))


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
@click.option("-H", "--header", "headers", multiple=True, metavar="'NAME: VALUE'",
              help="A request header for an http(s):// DST (a Gateway's header matches see it). Repeatable.")
@click.option("-4", "--ipv4", "family", flag_value="IPv4",
              help="Trace an IPv4 packet to a Service or pod name (dual-stack clusters).")
@click.option("-6", "--ipv6", "family", flag_value="IPv6",
              help="Trace an IPv6 packet to a Service or pod name: its IPv6 ClusterIP or pod address, from the "
                   "source's IPv6 address (default: a Service's spec.clusterIP family, a pod's primary).")
@click.option("--no-probe", is_flag=True, help="Only explain from the compiled rules; send nothing.")
@click.option("--kernel/--no-kernel", default=True, show_default=True,
              help="Trace the probe in the kernel (nftables meta nftrace + nft monitor trace).")
@click.pass_context
def trace(ctx: click.Context, src: str, dst: str, proto: str, headers: tuple[str, ...], family: str | None,
          no_probe: bool, kernel: bool) -> None:
    """Explain what happens to a packet from SRC to DST, then send a real one and compare.

    SRC: pod-a, ns/pod, node:<name> or host. DST: svc:port, svc.ns:port, ip:port, [ipv6]:port,
    <node-ip>:<nodePort>, <lb-ip>:port, ns/pod:port or http://host/path (through the Gateway that routes it,
    else the ingress). An IPv6 destination is traced from the source's IPv6 address.
    """
    from netlab.cli.common import Fail
    from netlab.cli.common import cluster as _cluster
    from netlab.trace import model
    from netlab.trace.nft_eval import NftSyntaxError
    from netlab.trace.result import hostport

    cluster = _cluster(ctx)
    target, port = _parse_dst(dst)
    header_map = _parse_headers(headers)
    compiled = _dataplane(cluster)
    try:
        plan = model.plan(_parse_src(src), target, port, proto, compiled.topology, compiled.services,
                          compiled.policy, ingress_rows=list(compiled.ingress_rows), rulesets=compiled.rulesets,
                          gateway_rows=compiled.gateway_rows, headers=header_map, family=family)
    except model.TraceError as e:
        raise Fail(str(e)) from e
    except NftSyntaxError as e:
        raise Fail(f"netlab trace cannot interpret the compiled rules: {e}") from e
    click.echo(f"{plan.source.name} ({plan.source.ip}) -> {hostport(plan.dst_ip, plan.dport)}/{plan.proto}"
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
        return probe_tcp(netns, plan.dst_ip, plan.dport, plan.url, header_map)

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
        pod = result.answer.get("pod")
        client = result.answer.get("client", "").rsplit(":", 1)[0].strip("[]")  # [addr]:port for IPv6
        text = f"connected in {result.elapsed_ms:.1f} ms"
        if pod:
            text += f"; the echo server saw client {client} and answered from pod {pod}"
        if result.message:
            text += f" ({result.message})"
        match = [c for c in plan.candidates if c.outcome == "connected"
                 and (not pod or not c.pod or c.pod.split("/", 1)[1] == pod)]
        known = [c for c in match if c.source_seen]  # "": an address netlab cannot know (the host's way out)
        if pod and known and client and all(c.source_seen != client for c in known):
            return False, text + f"; expected the endpoint to see {', '.join(c.source_seen for c in known)}"
        return ("connected" in predicted and bool(match or not plan.candidates)), text
    if result.outcome == "timeout":
        blocker = next((c.reason for c in plan.candidates if c.outcome == "timeout"), plan.reason)
        return "timeout" in predicted, f"timed out after {result.elapsed_ms:.0f} ms: dropped ({blocker})"
    return result.outcome in predicted, f"{result.outcome} after {result.elapsed_ms:.1f} ms ({result.message})"
