"""`netlab apply` and `netlab delete`: change the running cluster's objects."""

from __future__ import annotations

import sys

import click

from netlab.api import resources
from netlab.api.client import ApiFailure
from netlab.cli import common
from netlab.cli.common import Fail


@click.command()
@click.option("-f", "--filename", "paths", multiple=True, required=True, help="File, directory or - for stdin.")
@click.option("--dry-run", is_flag=True, help="Validate and report, change nothing.")
@click.pass_context
def apply(ctx: click.Context, paths: tuple[str, ...], dry_run: bool) -> None:
    """Apply manifests to the running cluster; only what differs changes."""
    _cluster_doc, objects = common.split_cluster(common.load(paths, "apply"))
    if not objects:
        raise Fail("no objects passed to apply (a Cluster document is read only by `netlab up`)")
    for r in common.apply_objects(common.client(ctx), objects, dry_run):
        click.echo(f"{common.ref(r)} {r['action']}{' (dry run)' if dry_run else ''}")


@click.command()
@click.argument("args", nargs=-1)
@click.option("-f", "--filename", "paths", multiple=True, help="Delete the objects in these manifests.")
@click.option("-n", "--namespace", default="default", show_default=True)
@click.pass_context
def delete(ctx: click.Context, args: tuple[str, ...], paths: tuple[str, ...], namespace: str) -> None:
    """Delete objects: `delete -f FILE` or `delete KIND NAME...`."""
    client = common.client(ctx)
    targets: list[tuple[resources.Resource, str, str]] = []
    if paths:
        _doc, objects = common.split_cluster(common.load(paths, "delete"))
        for o in objects:
            res = common.resource(o.kind)
            targets.append((res, o.to_dict()["metadata"].get("namespace", namespace), o.to_dict()["metadata"]["name"]))
    elif len(args) >= 2:
        res = common.resource(args[0])
        targets = [(res, namespace, n) for n in args[1:]]
    else:
        raise Fail("give -f FILE or KIND NAME")
    failed = False
    deleted_namespaces: set[str] = set()
    for res, ns, name in targets:
        try:
            client.request("DELETE", res.path(ns if res.namespaced else None, name))
        except ApiFailure as e:
            if not (e.code == 404 and res.namespaced and ns in deleted_namespaces):
                click.echo(f"Error from server ({e.status.get('reason')}): {e}", err=True)
                failed = True
                continue
            # The Namespace deleted earlier in this command took the object with it. In Kubernetes the
            # namespace is still Terminating then, the object's own DELETE succeeds and kubectl reports it.
        if res.kind == "Namespace":
            deleted_namespaces.add(name)
        click.echo(f'{common.kind_ref(res.kind)} "{name}" deleted')
    if failed:
        sys.exit(1)
