"""What every command shares: the error type, which cluster and API client to use, reading manifests and
applying them, and kubectl's spellings of kinds."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from netlab.api import resources
from netlab.api.client import ApiFailure, Client
from netlab.api.resources import APPLY_PATH
from netlab.compile import names


class Fail(click.ClickException):
    """An error printed as `error: ...` on stderr with exit code 1, as kubectl does."""

    def format_message(self) -> str:
        return self.message

    def show(self, file=None) -> None:
        click.echo(f"error: {self.format_message()}", err=True)


def current_cluster(explicit: str | None) -> str:
    if explicit:
        return explicit
    env = os.environ.get("NETLAB_CLUSTER")
    if env:
        return env
    try:
        running = sorted(p.name for p in Path(names.STATE_ROOT).iterdir() if Path(names.state_file(p.name)).exists())
    except OSError:
        running = []
    return running[0] if len(running) == 1 else "netlab"


def cluster(ctx: click.Context) -> str:
    return current_cluster(ctx.obj["cluster_opt"])


def client(ctx: click.Context) -> Client:
    return Client(cluster(ctx))


def load(paths: tuple[str, ...], verb: str) -> list:
    """Objects with their sources (file:line) attached, for naming the file in server-side errors.

    Like kubectl, input without a single object is an error ("no objects passed to apply"): an empty
    file or a directory without manifests is more likely a wrong path than a wish to change nothing."""
    from netlab.model import validate as manifest_validate
    from netlab.model.problems import ManifestError

    try:
        sourced = manifest_validate.load_sourced(list(paths), stdin=sys.stdin)
    except ManifestError as e:
        raise Fail("invalid manifests, nothing applied:\n" + "\n".join(f"  {p}" for p in e.problems)) from e
    if not sourced:
        raise Fail(f"no objects passed to {verb} (read {', '.join(paths)})")
    return [Sourced(obj, source) for obj, source in sourced]


class Sourced:
    def __init__(self, obj, source):
        self.obj, self.source = obj, source
        self.kind, self.ref = obj.kind, obj.ref

    def to_dict(self) -> dict:
        return self.obj.to_dict()


def split_cluster(objects: list) -> tuple[dict | None, list]:
    cluster_docs = [o for o in objects if o.kind == "Cluster"]
    if len(cluster_docs) > 1:
        raise Fail("more than one Cluster document: " + ", ".join(str(getattr(o, "source", "")) for o in cluster_docs))
    rest = [o for o in objects if o.kind != "Cluster"]
    return (cluster_docs[0].to_dict() if cluster_docs else None), rest


def apply_objects(client: Client, objects: list, dry_run: bool = False) -> list[dict]:
    sources = {o.ref: getattr(o, "source", None) for o in objects}
    try:
        reply = client.request("POST", APPLY_PATH, {"objects": [o.to_dict() for o in objects], "dryRun": dry_run})
    except KeyboardInterrupt:
        raise Fail("interrupted: the controller finishes or rolls back the change on its own; "
                   "check with `netlab get pods` and apply again") from None
    except ApiFailure as e:
        if e.causes:
            lines = []
            for c in e.causes:
                src = sources.get(c.get("object", ""))
                prefix = f"{src}: " if src else ""
                lines.append(f"  {prefix}{c.get('object', '')}: {c.get('field', '')}: {c.get('message', '')}")
            raise Fail("nothing applied:\n" + "\n".join(lines)) from e
        raise Fail(str(e)) from e
    return reply["items"]


def kind_ref(kind: str) -> str:
    """kubectl's resource.group spelling of a kind: service, deployment.apps, ingress.networking.k8s.io."""
    res = resources.BY_KIND.get(kind)
    group = res.api_version.split("/")[0] if res and "/" in res.api_version else ""
    return f"{kind.lower()}{'.' + group if group else ''}"


def ref(item: dict) -> str:
    group = str(item.get("apiVersion") or "").rpartition("/")[0]
    if item["kind"] not in resources.BY_KIND and group:   # a CRD's kind: its group from the object
        return f"{item['kind'].lower()}.{group}/{item['name']}"
    return f"{kind_ref(item['kind'])}/{item['name']}"


def step(message: str) -> None:
    click.echo(f" \u2713 {message}")


def resource(word: str) -> resources.Resource:
    res = resources.lookup(word) or _custom_resource(word)
    if res is None:
        raise Fail(f'the server doesn\'t have a resource type "{word}"')
    return res


def _custom_resource(word: str) -> resources.Resource | None:
    """A kind a CustomResourceDefinition defines, found through the server's discovery documents."""
    from netlab.api import discovery
    from netlab.model.crd import BUILTIN_GROUPS

    try:
        api = client(click.get_current_context())
        found: tuple[resources.Resource, ...] = ()
        for group in api.get("/apis").get("groups") or []:
            if group["name"] not in BUILTIN_GROUPS:
                gv = group["preferredVersion"]["groupVersion"]
                found += discovery.served_resources(gv, api.get(f"/apis/{gv}"))
    except (ApiFailure, RuntimeError, OSError):
        return None
    return resources.lookup(word, found)
