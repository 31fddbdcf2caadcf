"""`netlab observe`: one line per flow event, with the rule that decided it (runtime.flowlog)."""

from __future__ import annotations

import os
import re
import signal
import time

import click

from netlab.trace.flows import VERDICTS, Filter, FlowEvent

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)(s|m|h)?$")


def _seconds(text: str) -> float:
    m = _DURATION.match(text.strip())
    if not m:
        raise click.BadParameter(f"{text!r} is not a duration such as 30s, 5m or 1h", param_hint="--since")
    return float(m[1]) * {"s": 1, "m": 60, "h": 3600, None: 1}[m[2]]


def _print(ev: FlowEvent, output: str) -> None:
    click.echo(ev.to_json() if output == "json" else ev.text())


@click.command()
@click.option("--pod", "pods", multiple=True, help="Only flows from or to this pod (NAME or NS/NAME).")
@click.option("-n", "--namespace", "namespaces", multiple=True, help="Only flows from or to this namespace.")
@click.option("--service", "services", multiple=True, help="Only flows to this Service (NAME or NS/NAME).")
@click.option("--verdict", "verdicts", multiple=True, type=click.Choice(VERDICTS, case_sensitive=False))
@click.option("--protocol", "protocols", multiple=True,
              type=click.Choice(["tcp", "udp", "icmp", "sctp"], case_sensitive=False))
@click.option("--port", "ports", multiple=True, type=int, help="Source, destination or Service port.")
@click.option("--since", default=None, help="First print the recorded events of the last DURATION (30s, 5m, 1h).")
@click.option("--last", type=int, default=None, help="First print the last N recorded events.")
@click.option("--follow/--no-follow", default=None,
              help="Keep printing new events (the default, unless --since or --last is given).")
@click.option("--timeout", type=float, default=None, help="Stop following after this many seconds.")
@click.option("-o", "--output", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.pass_context
def observe(ctx: click.Context, pods, namespaces, services, verdicts, protocols, ports, since: str | None,
            last: int | None, follow: bool | None, timeout: float | None, output: str) -> None:
    """Show every new connection's fate as the kernel decided it: FORWARDED (and by which policy
    rule), DROPPED (the policy rule, or the policies that isolate the pod), REJECTED (a Service
    without endpoints), with the Service and endpoint a DNAT chose. Ctrl-C ends it.

    While it runs, each node's verdict rules carry `log group` statements; they go when it ends."""
    from netlab.cli.common import Fail
    from netlab.cli.common import cluster as _cluster
    from netlab.cli.trace import _dataplane
    from netlab.runtime import flowlog

    if os.geteuid() != 0:
        raise Fail("netlab observe needs root: it reads each node's NFLOG group and conntrack events")
    cluster = _cluster(ctx)
    flt = Filter(tuple(pods), tuple(namespaces), tuple(services), tuple(v.upper() for v in verdicts),
                 tuple(p.upper() for p in protocols), tuple(ports))
    if since is not None or last is not None:
        cutoff = time.time() - _seconds(since) if since is not None else 0.0
        recorded = [ev for ev in flowlog.history(cluster) if ev.time >= cutoff and flt.matches(ev)]
        for ev in recorded[-last:] if last is not None else recorded:
            _print(ev, output)
        if not follow:
            return
    # SIGTERM ends it as Ctrl-C does: the attach file and the sockets go either way.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        with flowlog.Observer(cluster, lambda: _dataplane(cluster)) as obs:
            if not obs.wait_ready():
                raise Fail("the controller did not add the log statements within 15 s")
            click.echo(f"observing {len(obs.sockets)} node(s) of cluster {cluster} (Ctrl-C to stop)", err=True)
            deadline = time.monotonic() + timeout if timeout is not None else None
            lost = 0
            while deadline is None or time.monotonic() < deadline:
                for ev in obs.poll(0.2):
                    if flt.matches(ev):
                        _print(ev, output)
                if obs.lost != lost:
                    lost = obs.lost
                    click.echo(f"warning: {lost} NFLOG message batch(es) lost (socket buffer full)", err=True)
    except KeyboardInterrupt:
        pass
    except OSError as e:
        raise Fail(str(e)) from e
