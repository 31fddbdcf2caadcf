"""Reading the cluster: `netlab get` (with -w), `netlab describe` and `netlab events`."""

from __future__ import annotations

import time

import click

from netlab.api import resources
from netlab.api.client import ApiFailure, Client
from netlab.cli import common
from netlab.cli.common import Fail

# Heavier modules (printers, compile) are imported inside the commands that use them.


ALL_KINDS = ("pods", "services", "deployments", "replicasets")


@click.command()
@click.argument("what")
@click.argument("name", required=False)
@click.option("-n", "--namespace", default="default", show_default=True)
@click.option("-A", "--all-namespaces", is_flag=True)
@click.option("-l", "--selector", default=None, help="Label selector, e.g. app=web,tier!=db")
@click.option("-o", "--output", type=click.Choice(["wide", "yaml", "json", "name"]), default=None)
@click.option("-w", "--watch", is_flag=True, help="After the list, print each object again as it changes.")
@click.pass_context
def get(ctx: click.Context, what: str, name: str | None, namespace: str, all_namespaces: bool,
        selector: str | None, output: str | None, watch: bool) -> None:
    """Show objects: `get pods`, `get svc -o wide`, `get all -A`, `get pod NAME -o yaml`, `get pods -w`."""
    from netlab.cli import printers

    client = common.client(ctx)
    if watch:
        _watch(client, common.resource(what), name, None if all_namespaces else namespace, selector, output == "wide",
               all_namespaces)
        return
    words = ALL_KINDS if what == "all" else tuple(what.split(","))
    show_kind = len(words) > 1
    blocks, everything = [], []
    now = time.time()
    for word in words:
        res = common.resource(word)
        ns = None if (all_namespaces or not res.namespaced) else namespace
        path = res.path(ns, name) if name else res.path(ns)
        if selector and not name:
            path += "?labelSelector=" + selector
        try:
            reply = client.get(path)
        except ApiFailure as e:
            raise Fail(f"({e.status.get('reason')}) {e}") from e
        items = [reply] if name else reply["items"]
        everything += items
        if output in (None, "wide") and items:
            blocks.append(printers.table(res.kind, items, now, wide=output == "wide",
                                         all_namespaces=all_namespaces, show_kind=show_kind))
    if output == "yaml":
        click.echo(printers.to_yaml(everything if not name else everything[0]), nl=False)
    elif output == "json":
        click.echo(printers.to_json(everything if not name else everything[0]))
    elif output == "name":
        click.echo(printers.names_output(everything), nl=False)
    elif not everything:
        where = "" if all_namespaces else f" in {namespace} namespace"
        click.echo(f"No resources found{where}.", err=True)
    else:
        click.echo("\n\n".join(b.rstrip("\n") for b in blocks))


def _watch(client: Client, res: resources.Resource, name: str | None, namespace: str | None,
           selector: str | None, wide: bool, all_namespaces: bool, interval: float = 0.3) -> None:
    """kubectl's -w: the table once, then one row per object each time its row changes (Ctrl-C ends)."""
    from netlab.cli import printers

    path = res.path(namespace if res.namespaced else None) + (f"?labelSelector={selector}" if selector else "")
    seen: dict[str, str] = {}
    first = True
    try:
        while True:
            items = [o for o in client.get(path)["items"] if name is None or o["metadata"]["name"] == name]
            lines = printers.table(res.kind, items, time.time(), wide=wide, all_namespaces=all_namespaces)
            rows = lines.splitlines()[1:] if lines else []
            keys = [f"{o['metadata'].get('namespace', '')}/{o['metadata']['name']}" for o in items]
            if first:
                click.echo(lines.rstrip("\n") if lines else "No resources found.")
            for key, row in zip(keys, rows, strict=True):
                # Compare rows without the AGE column's drift: the name and the state columns matter.
                state = " ".join(row.split()[:-1]) if not wide else row
                if not first and seen.get(key) != state:
                    click.echo(row)
                seen[key] = state
            for key in set(seen) - set(keys):
                if not first:
                    click.echo(f"{key.split('/', 1)[1]}   (deleted)")
                del seen[key]
            first = False
            time.sleep(interval)
    except KeyboardInterrupt:
        pass


@click.command()
@click.option("-n", "--namespace", default="default", show_default=True)
@click.option("-A", "--all-namespaces", is_flag=True)
@click.option("-w", "--watch", is_flag=True, help="Keep printing new events (Ctrl-C ends).")
@click.pass_context
def events(ctx: click.Context, namespace: str, all_namespaces: bool, watch: bool) -> None:
    """What the controller did and why: pods started, endpoints changed, rules reloaded."""
    from netlab.cli import printers

    client = common.client(ctx)
    path = "/api/v1/events" if all_namespaces else f"/api/v1/namespaces/{namespace}/events"
    shown: set[str] = set()
    try:
        while True:
            items = client.get(path)["items"]
            fresh = [e for e in items if e["metadata"]["name"] not in shown]
            if fresh:
                table = printers.table("Event", fresh, time.time(), all_namespaces=all_namespaces)
                click.echo(table.rstrip("\n") if not shown else "\n".join(table.rstrip("\n").splitlines()[1:]))
            elif not shown and not watch:
                click.echo("No events found.", err=True)
            shown |= {e["metadata"]["name"] for e in items}
            if not watch:
                return
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass


@click.command()
@click.argument("what")
@click.argument("name")
@click.option("-n", "--namespace", default="default", show_default=True)
@click.pass_context
def describe(ctx: click.Context, what: str, name: str, namespace: str) -> None:
    """Show one object in detail, with its events."""
    from netlab.cli import printers

    client = common.client(ctx)
    res = common.resource(what)
    try:
        obj = client.get(res.path(namespace if res.namespaced else None, name))
    except ApiFailure as e:
        raise Fail(f"({e.status.get('reason')}) {e}") from e
    related: dict = {"events": [e for e in client.get("/api/v1/events")["items"]
                                if e["involvedObject"]["name"] == name]}
    if res.stored_only:
        related["note"] = res.no_effect_note()
    if res.kind == "Node":
        related["pods"] = [p for p in client.get("/api/v1/pods")["items"] if p["spec"].get("nodeName") == name]
    if res.kind == "Ingress":
        related.update(client.get(res.path(namespace, name) + "/netlab"))
    if res.kind == "Service":
        try:
            related["endpoints"] = client.get(f"/api/v1/namespaces/{namespace}/endpoints/{name}")
        except ApiFailure:
            related["endpoints"] = None
        related["dns_names"] = _service_dns_names(obj)
    if res.kind == "NetworkPolicy":
        from netlab.compile import netpol
        from netlab.compile.netpol_explain import explain

        pods = [netpol.policy_pod(p) for p in client.get("/api/v1/pods")["items"]]
        namespaces = [netpol.PolicyNamespace(n["metadata"]["name"], dict(n["metadata"].get("labels") or {}))
                      for n in client.get("/api/v1/namespaces")["items"]]
        related["explain"] = explain(obj, [p for p in pods if p.ip or p.ip6], namespaces)
    if res.kind in ("NetworkPolicy", "Service"):
        from netlab.cli.counters import rule_counters

        related["counters"] = rule_counters(common.cluster(ctx), res.kind, obj)
    click.echo(printers.describe(res.kind, obj, time.time(), related), nl=False)


def _service_dns_names(svc: dict, domain: str = "cluster.local") -> list[str]:
    """The names cluster DNS answers for a Service (Kubernetes DNS specification)."""
    name, ns = svc["metadata"]["name"], svc["metadata"].get("namespace", "default")
    fqdn = f"{name}.{ns}.svc.{domain}"
    kind = "CNAME" if svc["spec"].get("type") == "ExternalName" else "A"
    out = [f"{fqdn} ({kind}; from pods in {ns}: {name}, elsewhere: {name}.{ns})"]
    for p in svc["spec"].get("ports") or []:
        if p.get("name"):
            out.append(f"_{p['name']}._{p.get('protocol', 'TCP').lower()}.{fqdn} (SRV, port {p['port']})")
    return out
