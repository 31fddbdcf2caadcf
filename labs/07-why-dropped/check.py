"""Lab 07 checks: the walkthrough replayed. They first apply the lab's broken manifests again, then use
`netlab observe` and `netlab capture` to see each mistake, apply each fix from steps/ and check the result."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable

from netlab.labs import CheckFailed, LabContext, check, expect

SHOP = "manifests/10-shop.yaml"


def _observed(ctx: LabContext, action: Callable[[], object]) -> list[dict]:
    """The flow events `netlab observe -o json` printed while `action` ran."""
    argv = [sys.executable, "-m", "netlab.cli", "--cluster", ctx.cluster, "observe", "-o", "json", "--timeout", "60"]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        started = proc.stderr.readline()
        expect("observing" in started, f"netlab observe did not start: {started.strip()}")
        action()
        time.sleep(1.0)  # events are shown within a second
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    expect(proc.returncode == 0, f"netlab observe failed: {err.strip()}")
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def _request(ctx: LabContext):
    return ctx.curl("shop-client", "http://shop-backend", max_time=1.5)


def _refused(error: str) -> bool:
    """curl's words for a reset to its SYN (older and newer curl releases)."""
    return any(w in error.lower() for w in ("connection refused", "couldn't connect to server"))


def _backends(ctx: LabContext) -> set[str]:
    return {f"default/{p['metadata']['name']}" for p in ctx.pods("app=shop-backend")}


@check("the broken shop: the client's request times out; observe names the policy that isolates the backend")
def dropped_by_policy(ctx: LabContext) -> None:
    ctx.apply(SHOP)
    ctx.wait(lambda: "timed out" in _request(ctx).error.lower(), timeout=10, what="the request to time out")
    events = _observed(ctx, lambda: _request(ctx))
    drops = [e for e in events if e["verdict"] == "DROPPED" and e["source"]["pod"] == "default/shop-client"]
    expect(drops, f"no DROPPED event from shop-client: {events}")
    expect(drops[0]["reason"] == "default deny: pod isolated for ingress by policies default/allow-shop-clients",
           f"reason: {drops[0]['reason']}")
    expect(drops[0]["destination"]["pod"] in _backends(ctx), f"dropped on its way to {drops[0]['destination']}")
    expect(drops[0]["service"] == "default/shop-backend", f"service: {drops[0]['service']}")


@check("steps/fix-policy.yaml: now refused at once; observe shows it allowed and DNATed to port 8000")
def refused_by_the_endpoint(ctx: LabContext) -> None:
    ctx.apply("steps/fix-policy.yaml")
    ctx.wait(lambda: _refused(_request(ctx).error), timeout=10, what="the request to be refused")
    events = _observed(ctx, lambda: _request(ctx))
    ok = [e for e in events if e["verdict"] == "FORWARDED" and e["service"] == "default/shop-backend"]
    expect(ok, f"no FORWARDED event to shop-backend: {events}")
    expect(ok[0]["policy"] == "default/allow-shop-clients ingress rule 0", f"policy: {ok[0]['policy']}")
    expect(ok[0]["destination"]["port"] == 8000, f"DNAT to {ok[0]['destination']}, expected port 8000")


@check("capture: the endpoint's own eth0 answers the SYN to port 8000 with a reset (nothing listens there)")
def capture_shows_the_reset(ctx: LabContext) -> None:
    argv = [sys.executable, "-m", "netlab.cli", "--cluster", ctx.cluster, "capture", "shop-client", "shop-backend:80",
            "-c", "2", "--timeout", "8"]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        started = proc.stderr.readline()
        expect("capturing" in started, f"netlab capture did not start: {started.strip()}")
        _request(ctx)
        out, err = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired as e:
        raise CheckFailed("netlab capture did not stop by itself") from e
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    expect(proc.returncode == 0, f"netlab capture failed: {err.strip()}")
    resets = [line for line in out.splitlines() if ":8000 > " in line and "[R" in line and " eth0 " in line]
    expect(resets, f"no reset from port 8000 captured:\n{out}")


@check("steps/fix-target-port.yaml: the client gets its answer from a backend pod")
def answered(ctx: LabContext) -> None:
    ctx.apply("steps/fix-target-port.yaml")
    reply = ctx.wait(lambda: (r := _request(ctx)).code == 200 and r, timeout=10, what="an answer")
    expect(f"default/{reply.echo.get('pod')}" in _backends(ctx), f"answered by {reply.echo.get('pod')}")
