"""The cluster's life: `netlab up` (and waiting for its pods), `down`, `doctor` and `addons`."""

from __future__ import annotations

import os
import sys
import time
from typing import TYPE_CHECKING

import click

from netlab.api.client import ApiFailure, ApiUnavailable, Client
from netlab.api.resources import APPLY_PATH
from netlab.cli import common
from netlab.cli.common import Fail

if TYPE_CHECKING:
    from netlab.compile.config import ClusterConfig

# Heavier modules (pydantic models, pyroute2) are imported inside the commands that use them, so quick
# commands such as `down` start fast.


@click.command()
@click.argument("paths", nargs=-1)
@click.option("--timeout", default=120.0, show_default=True, help="Seconds to wait for pods to be Running.")
@click.pass_context
def up(ctx: click.Context, paths: tuple[str, ...], timeout: float) -> None:
    """Create the cluster (if needed) and apply the manifests in PATHS; wait until pods run.

    Without PATHS the cluster starts empty. Every manifest is validated before the first change to
    the machine, and a new cluster whose manifests the controller refuses is removed again."""
    from netlab.compile.config import ClusterConfig
    from netlab.runtime import lifecycle

    objects = common.load(paths, "up") if paths else []
    cluster_doc, objects = common.split_cluster(objects)
    name = ctx.obj["cluster_opt"] or os.environ.get("NETLAB_CLUSTER") or (cluster_doc or {}).get("name") or "netlab"
    config = ClusterConfig.from_manifest(cluster_doc, name)
    click.echo(f'Creating cluster "{config.name}" ...')
    if paths:
        common.step(f"Validated {len(objects)} objects from {', '.join(paths)}")
    failed = [c for c in lifecycle.preflight(config) if not c.ok]
    if failed:
        raise Fail("\n".join(f"{c.name}: {c.detail} (fix: {c.fix})" for c in failed))
    try:
        new = lifecycle.ensure_state(config, cluster_doc)
    except RuntimeError as e:
        raise Fail(str(e)) from e
    try:
        client = _start_and_apply(config, objects, new)
    except (Fail, RuntimeError, ApiUnavailable, KeyboardInterrupt) as e:
        if not new:
            raise
        from netlab.kernel import teardown

        teardown.teardown(config.name)
        detail = e.format_message() if isinstance(e, Fail) else str(e) or type(e).__name__
        raise Fail(f"{detail}\ncluster {config.name!r} was not created (what up had made is removed)") from e
    _wait_running(client, timeout)
    click.echo(f"Cluster {config.name!r} is up. Try: netlab get pods -o wide")


def _start_and_apply(config: ClusterConfig, objects: list, new: bool) -> Client:
    from netlab.runtime import lifecycle

    try:
        lifecycle.ensure_pki(config)
        pid = lifecycle.start_controller(config.name)
    except RuntimeError as e:
        raise Fail(str(e)) from e
    common.step(f"Controller running (pid {pid}); nodes: {', '.join(n.name for n in config.nodes)}"
          + (f" ({config.mode})" if new else ""))
    _install_kubeconfig(config.name)
    client = Client(config.name)
    if not objects:
        # an empty batch still brings the cluster's own objects (kube-dns, the `kubernetes` Service), as a
        # fresh kind cluster has them
        client.request("POST", APPLY_PATH, {"objects": []})
        return client
    results = common.apply_objects(client, objects)
    counts = {a: sum(1 for r in results if r["action"] == a) for a in ("created", "configured", "unchanged")}
    for r in results:
        if r["action"] != "unchanged":
            click.echo(f"   {common.ref(r)} {r['action']}")
    if not counts["created"] and not counts["configured"]:
        common.step(f"Nothing changed: {counts['unchanged']} objects already applied")
    else:
        common.step("Applied: " + ", ".join(f"{n} {a}" for a, n in counts.items() if n))
    return client


def _install_kubeconfig(cluster: str) -> None:
    from netlab.api import endpoint
    from netlab.api.pki import Pki
    from netlab.compile import names
    from netlab.runtime import kubeconfig

    where = endpoint.load(cluster)
    if where is None:
        raise Fail(f"the controller of cluster {cluster!r} recorded no API endpoint")
    try:
        path = kubeconfig.install(cluster, where.url, Pki(names.pki_dir(cluster)))
    except (OSError, ValueError) as e:
        click.echo(f" ! kubeconfig not written: {e}", err=True)
        return
    common.step(f"API at {where.url}; kubectl context {kubeconfig.context_name(cluster)!r} in {path}")


def _settled(pod: dict) -> bool:
    """Ready, or finished for good (a Never/OnFailure pod that completed)."""
    status = pod["status"]
    ready = any(c["type"] == "Ready" and c["status"] == "True" for c in status.get("conditions", []))
    return ready or status["phase"] in ("Succeeded", "Failed")


SETTLE = 1.0  # seconds a pod must stay Ready, without a restart, before `up` counts it


def _restarts(pod: dict) -> int:
    return sum(c.get("restartCount", 0) for c in pod["status"].get("containerStatuses") or [])


def _crash_looping(pod: dict) -> bool:
    """Restarted and failed again: waiting out a back-off after its second start at least."""
    return any(c.get("restartCount", 0) >= 1
               and ((c.get("state") or {}).get("waiting") or {}).get("reason") == "CrashLoopBackOff"
               for c in pod["status"].get("containerStatuses") or [])


def _wait_running(client: Client, timeout: float) -> None:
    """Wait until every pod is Ready (or finished) and has stayed so for SETTLE seconds: a container that
    crashes at once (a port already taken, say) looks Ready for a moment after each start. Pods whose
    containers crash-loop are not waited for; they are reported as not Ready."""
    start = time.monotonic()
    since: dict[str, tuple[float, int]] = {}  # pod -> (first seen settled, its restarts then)
    try:
        while True:
            now = time.monotonic()
            pods = client.get("/api/v1/pods")["items"]
            waiting, looping = [], []
            for p in pods:
                key = f"{p['metadata']['namespace']}/{p['metadata']['name']}"
                if not _settled(p):
                    since.pop(key, None)
                    (looping if _crash_looping(p) else waiting).append(p)
                    continue
                first, restarts = since.setdefault(key, (now, _restarts(p)))
                if restarts != _restarts(p):
                    since[key] = (now, _restarts(p))
                    waiting.append(p)
                elif now - first < SETTLE and p["status"]["phase"] not in ("Succeeded", "Failed"):
                    waiting.append(p)
            if not waiting:
                done = sum(1 for p in pods if p["status"]["phase"] in ("Succeeded", "Failed"))
                common.step(f"{len(pods) - done - len(looping)} pods Ready" + (f", {done} completed" if done else "")
                      + f" ({time.monotonic() - start:.1f}s)")
                if looping:
                    click.echo(f" ! {len(looping)} pods not Ready, their containers crash-looping (see `netlab "
                               "logs`): " + ", ".join(f"{p['metadata']['namespace']}/{p['metadata']['name']}"
                                                    for p in looping[:10]) + (" ..." if len(looping) > 10 else ""))
                return
            if now - start > timeout:
                raise Fail(f"timed out after {timeout:.0f}s waiting for pods: "
                           + ", ".join(f"{p['metadata']['namespace']}/{p['metadata']['name']}" for p in waiting[:10]))
            time.sleep(0.05)
    except KeyboardInterrupt:
        raise Fail("interrupted while waiting for pods; the cluster keeps running (see `netlab get pods`)") from None


@click.command()
@click.pass_context
def down(ctx: click.Context) -> None:
    """Delete the cluster: every namespace, link, route, table, process and file netlab made."""
    from netlab.kernel import teardown
    from netlab.runtime import kubeconfig

    cluster = common.cluster(ctx)
    try:
        kubeconfig.uninstall(cluster)
    except (OSError, ValueError) as e:
        click.echo(f" ! kubeconfig not cleaned: {e}", err=True)
    removed = teardown.teardown(cluster)
    click.echo(f'Deleted cluster "{cluster}": {len(removed)} objects removed.' if removed
               else f'Cluster "{cluster}" had nothing left to remove.')


@click.command(name="kubeconfig")
@click.pass_context
def kubeconfig_cmd(ctx: click.Context) -> None:
    """Print the running cluster's kubeconfig (context netlab-<cluster>, admin certificate embedded)."""
    import yaml

    from netlab.api import endpoint
    from netlab.api.pki import Pki
    from netlab.compile import names
    from netlab.runtime import kubeconfig

    cluster = common.cluster(ctx)
    where = endpoint.load(cluster)
    if where is None:
        raise Fail(f"cluster {cluster!r} is not running (no API endpoint recorded); start it with "
                   "`sudo netlab up <manifests>`")
    try:
        doc = kubeconfig.entry_from_pki(cluster, where.url, Pki(names.pki_dir(cluster)))
    except OSError as e:
        raise Fail(f"cannot read the cluster's certificates: {e} (run as root)") from e
    click.echo(yaml.safe_dump(doc, default_flow_style=False, sort_keys=False), nl=False)


@click.command()
@click.pass_context
def doctor(ctx: click.Context) -> None:
    """Check this machine for what netlab needs, with the fix for each failure."""
    from netlab.compile.config import ClusterConfig
    from netlab.runtime import lifecycle

    config = ClusterConfig.from_manifest(None, common.cluster(ctx))
    failed = 0
    for c in lifecycle.doctor_checks(config):
        mark = "ok  " if c.ok else "FAIL"
        click.echo(f"[{mark}] {c.name}: {c.detail}" + ("" if c.ok else f"\n       fix: {c.fix}"))
        failed += 0 if c.ok or "optional" in c.detail else 1
    if failed:
        sys.exit(1)


@click.command()
@click.argument("action", type=click.Choice(["enable", "disable", "list"]))
@click.argument("name", required=False)
@click.pass_context
def addons(ctx: click.Context, action: str, name: str | None) -> None:
    """Cluster add-ons: `addons enable ingress-nginx` runs the ingress controller before any Ingress exists."""
    from netlab.api.resources import ADDONS_PATH

    client = common.client(ctx)
    try:
        if action == "list":
            for item in client.get(ADDONS_PATH)["items"]:
                click.echo(f"{item['name']}\t{'enabled' if item['enabled'] else 'disabled'}")
            return
        if not name:
            raise Fail("give the add-on's name, e.g. ingress-nginx")
        client.request("POST" if action == "enable" else "DELETE", f"{ADDONS_PATH}/{name}")
    except ApiFailure as e:
        raise Fail(str(e)) from e
    click.echo(f"addon {name} {action}d")
