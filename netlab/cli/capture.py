"""`netlab capture SRC DST`: tcpdump at every hop `trace` computes, merged into one pcapng, summarized."""

from __future__ import annotations

import os
import signal
import tempfile
import time
from pathlib import Path

import click


def _changes(prev, cur) -> str:
    notes = []
    if prev is None:
        return ""
    if cur.text.startswith("VXLAN") and not prev.text.startswith("VXLAN"):
        notes.append("encapsulated (VXLAN)")
    if not cur.text.startswith("VXLAN") and prev.text.startswith("VXLAN"):
        notes.append("decapsulated")
    if cur.dst != prev.dst:
        notes.append(f"destination {prev.dst} -> {cur.dst} (DNAT)")
    if cur.src != prev.src:
        notes.append(f"source {prev.src} -> {cur.src} (SNAT)")
    return f"   <- {'; '.join(notes)}" if notes else ""


def _summary(hops: list[tuple[str, int, list]], limit: int = 40) -> None:
    from netlab.trace.pcap import summarize

    click.echo("First packet at each hop (addresses as seen there):")
    width = max(len(label) for label, _, _ in hops) + 2
    prev = None
    for i, (label, linktype, records) in enumerate(hops, 1):
        first = next((s for r in records if (s := summarize(r.data, linktype)) is not None), None)
        if first is None:
            click.echo(f"{i:>2}. {label:<{width}}(nothing captured)")
            continue
        click.echo(f"{i:>2}. {label:<{width}}{first.text}{_changes(prev, first)}")
        prev = first
    merged = sorted((r.ts_ns, label, r, lt) for label, lt, records in hops for r in records)
    click.echo(f"All packets in time order ({len(merged)}" + (f", first {limit} shown):" if len(merged) > limit
                                                               else "):"))
    for ts, label, r, lt in merged[:limit]:
        s = summarize(r.data, lt)
        click.echo(f"  {time.strftime('%H:%M:%S', time.localtime(ts / 1e9))}.{ts // 1000 % 1_000_000:06d} "
                   f"{label:<{width}}{s.text if s else f'{r.length} bytes'}")


@click.command()
@click.argument("src")
@click.argument("dst")
@click.option("-p", "--protocol", "proto", type=click.Choice(["tcp", "udp"]), default="tcp", show_default=True)
@click.option("--port", type=int, default=None, help="Destination port, when DST does not say it.")
@click.option("-w", "--write", "out", type=click.Path(dir_okay=False), default=None,
              help="Write the merged capture here (pcapng: one interface per hop; Wireshark and tcpdump -r read it).")
@click.option("-c", "--count", type=click.IntRange(1, 100000), default=20, show_default=True,
              help="Stop a hop's tcpdump after this many packets.")
@click.option("--timeout", type=click.FloatRange(0.1, 3600), default=10.0, show_default=True,
              help="Stop every capture after this many seconds.")
@click.pass_context
def capture(ctx: click.Context, src: str, dst: str, proto: str, port: int | None, out: str | None, count: int,
            timeout: float) -> None:
    """Capture the SRC -> DST flow at every hop of its path (client eth0, node cni0, underlay, receiving
    node cni0, endpoint eth0) while you send traffic, then show how the addresses change on the way.

    SRC and DST as for `netlab trace`. Stops after COUNT packets per hop or TIMEOUT seconds, or Ctrl-C."""
    from netlab.cli.common import Fail
    from netlab.cli.common import cluster as _cluster
    from netlab.cli.trace import _dataplane, _parse_dst, _parse_src
    from netlab.kernel.tcpdump import Captures
    from netlab.trace import model
    from netlab.trace.capture_plan import bpf, hops
    from netlab.trace.pcap import read_pcap, write_pcapng

    if os.geteuid() != 0:
        raise Fail("netlab capture needs root: it runs tcpdump in the pod and node namespaces")
    cluster = _cluster(ctx)
    target, dport = _parse_dst(dst)
    compiled = _dataplane(cluster)
    try:
        plan = model.plan(_parse_src(src), target, dport or port, proto, compiled.topology, compiled.services,
                          compiled.policy, ingress_rows=list(compiled.ingress_rows), rulesets=compiled.rulesets)
    except model.TraceError as e:
        raise Fail(str(e)) from e
    where = hops(plan, compiled.topology)
    if not where:
        raise Fail(f"no hop to capture on between {src} and {dst}")
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    with tempfile.TemporaryDirectory(prefix="netlab-capture-") as tmp:
        caps = Captures(Path(tmp))
        try:
            for hop in where:
                caps.start(hop.label, hop.netns, hop.iface, bpf(plan, compiled.topology, proto, hop.underlay), count)
            errors = caps.wait_listening()
            if errors:
                raise Fail("tcpdump did not start: " + "; ".join(errors))
            click.echo(f"capturing {plan.source.name} -> {plan.dst_ip}:{plan.dport}/{proto} at {len(where)} hop(s) "
                       f"(up to {count} packets each, {timeout:g} s; Ctrl-C stops)", err=True)
            caps.wait(timeout)
        except KeyboardInterrupt:
            pass
        finally:
            caps.stop()
        captured = []
        for label, path in caps.files():
            linktype, records = read_pcap(path.read_bytes() if path.exists() else b"")
            captured.append((label, linktype, records))
    _summary(captured)
    if out:
        Path(out).write_bytes(write_pcapng(captured))
        click.echo(f"wrote {sum(len(r) for _, _, r in captured)} packets from {len(captured)} hops to {out}")
