"""netlab's command line, in kubectl's shape. Commands parse, call the core, and print."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import click

from netlab.api import resources
from netlab.api.client import APPLY_PATH, ApiFailure, ApiUnavailable, Client

if TYPE_CHECKING:
    from netlab.compile.config import ClusterConfig

# Heavier modules (pydantic models, pyroute2, printers) are imported inside the commands that use
# them, so quick commands such as `down`, `exec` and `logs` start fast.


class Fail(click.ClickException):
    """An error printed as `error: ...` on stderr with exit code 1, as kubectl does."""

    def format_message(self) -> str:
        return self.message

    def show(self, file=None) -> None:
        click.echo(f"error: {self.format_message()}", err=True)


def _current_cluster(explicit: str | None) -> str:
    if explicit:
        return explicit
    env = os.environ.get("NETLAB_CLUSTER")
    if env:
        return env
    try:
        running = sorted(p.name for p in Path("/var/lib/netlab").iterdir() if (p / "state.json").exists())
    except OSError:
        running = []
    return running[0] if len(running) == 1 else "netlab"


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--cluster", "cluster", default=None, help="Cluster name (default: the one running, else netlab).")
@click.pass_context
def main(ctx: click.Context, cluster: str | None) -> None:
    """A Kubernetes networking lab made of real namespaces, veths, bridges, routes and nftables."""
    ctx.obj = {"cluster_opt": cluster}


def _cluster(ctx: click.Context) -> str:
    return _current_cluster(ctx.obj["cluster_opt"])


def _client(ctx: click.Context) -> Client:
    return Client(_cluster(ctx))


def _load(paths: tuple[str, ...], verb: str) -> list:
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
    return [_Sourced(obj, source) for obj, source in sourced]


class _Sourced:
    def __init__(self, obj, source):
        self.obj, self.source = obj, source
        self.kind, self.ref = obj.kind, obj.ref

    def to_dict(self) -> dict:
        return self.obj.to_dict()


def _split_cluster(objects: list) -> tuple[dict | None, list]:
    cluster_docs = [o for o in objects if o.kind == "Cluster"]
    if len(cluster_docs) > 1:
        raise Fail("more than one Cluster document: " + ", ".join(str(getattr(o, "source", "")) for o in cluster_docs))
    rest = [o for o in objects if o.kind != "Cluster"]
    return (cluster_docs[0].to_dict() if cluster_docs else None), rest


def _apply(client: Client, objects: list, dry_run: bool = False) -> list[dict]:
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


def _kind_ref(kind: str) -> str:
    """kubectl's resource.group spelling of a kind: service, deployment.apps, ingress.networking.k8s.io."""
    res = resources.BY_KIND.get(kind)
    group = res.api_version.split("/")[0] if res and "/" in res.api_version else ""
    return f"{kind.lower()}{'.' + group if group else ''}"


def _ref(item: dict) -> str:
    return f"{_kind_ref(item['kind'])}/{item['name']}"


def _step(message: str) -> None:
    click.echo(f" \u2713 {message}")


@main.command()
@click.argument("paths", nargs=-1)
@click.option("--timeout", default=120.0, show_default=True, help="Seconds to wait for pods to be Running.")
@click.pass_context
def up(ctx: click.Context, paths: tuple[str, ...], timeout: float) -> None:
    """Create the cluster (if needed) and apply the manifests in PATHS; wait until pods run.

    Without PATHS the cluster starts empty. Every manifest is validated before the first change to
    the machine, and a new cluster whose manifests the controller refuses is removed again."""
    from netlab.compile.config import ClusterConfig
    from netlab.runtime import lifecycle

    objects = _load(paths, "up") if paths else []
    cluster_doc, objects = _split_cluster(objects)
    name = ctx.obj["cluster_opt"] or os.environ.get("NETLAB_CLUSTER") or (cluster_doc or {}).get("name") or "netlab"
    config = ClusterConfig.from_manifest(cluster_doc, name)
    click.echo(f'Creating cluster "{config.name}" ...')
    if paths:
        _step(f"Validated {len(objects)} objects from {', '.join(paths)}")
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
        pid = lifecycle.start_controller(config.name)
    except RuntimeError as e:
        raise Fail(str(e)) from e
    _step(f"Controller running (pid {pid}); nodes: {', '.join(n.name for n in config.nodes)}"
          + (f" ({config.mode})" if new else ""))
    client = Client(config.name)
    if not objects:
        return client
    results = _apply(client, objects)
    counts = {a: sum(1 for r in results if r["action"] == a) for a in ("created", "configured", "unchanged")}
    for r in results:
        if r["action"] != "unchanged":
            click.echo(f"   {_ref(r)} {r['action']}")
    if not counts["created"] and not counts["configured"]:
        _step(f"Nothing changed: {counts['unchanged']} objects already applied")
    else:
        _step("Applied: " + ", ".join(f"{n} {a}" for a, n in counts.items() if n))
    return client


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
                _step(f"{len(pods) - done - len(looping)} pods Ready" + (f", {done} completed" if done else "")
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


@main.command()
@click.option("-f", "--filename", "paths", multiple=True, required=True, help="File, directory or - for stdin.")
@click.option("--dry-run", is_flag=True, help="Validate and report, change nothing.")
@click.pass_context
def apply(ctx: click.Context, paths: tuple[str, ...], dry_run: bool) -> None:
    """Apply manifests to the running cluster; only what differs changes."""
    _cluster_doc, objects = _split_cluster(_load(paths, "apply"))
    if not objects:
        raise Fail("no objects passed to apply (a Cluster document is read only by `netlab up`)")
    for r in _apply(_client(ctx), objects, dry_run):
        click.echo(f"{_ref(r)} {r['action']}{' (dry run)' if dry_run else ''}")


def _resource(word: str) -> resources.Resource:
    res = resources.lookup(word)
    if res is None:
        raise Fail(f'the server doesn\'t have a resource type "{word}"')
    return res


@main.command()
@click.argument("args", nargs=-1)
@click.option("-f", "--filename", "paths", multiple=True, help="Delete the objects in these manifests.")
@click.option("-n", "--namespace", default="default", show_default=True)
@click.pass_context
def delete(ctx: click.Context, args: tuple[str, ...], paths: tuple[str, ...], namespace: str) -> None:
    """Delete objects: `delete -f FILE` or `delete KIND NAME...`."""
    client = _client(ctx)
    targets: list[tuple[resources.Resource, str, str]] = []
    if paths:
        _doc, objects = _split_cluster(_load(paths, "delete"))
        for o in objects:
            res = _resource(o.kind)
            targets.append((res, o.to_dict()["metadata"].get("namespace", namespace), o.to_dict()["metadata"]["name"]))
    elif len(args) >= 2:
        res = _resource(args[0])
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
        click.echo(f'{_kind_ref(res.kind)} "{name}" deleted')
    if failed:
        sys.exit(1)


ALL_KINDS = ("pods", "services", "deployments", "replicasets")


@main.command()
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

    client = _client(ctx)
    if watch:
        _watch(client, _resource(what), name, None if all_namespaces else namespace, selector, output == "wide",
               all_namespaces)
        return
    words = ALL_KINDS if what == "all" else tuple(what.split(","))
    show_kind = len(words) > 1
    blocks, everything = [], []
    now = time.time()
    for word in words:
        res = _resource(word)
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


@main.command()
@click.option("-n", "--namespace", default="default", show_default=True)
@click.option("-A", "--all-namespaces", is_flag=True)
@click.option("-w", "--watch", is_flag=True, help="Keep printing new events (Ctrl-C ends).")
@click.pass_context
def events(ctx: click.Context, namespace: str, all_namespaces: bool, watch: bool) -> None:
    """What the controller did and why: pods started, endpoints changed, rules reloaded."""
    from netlab.cli import printers

    client = _client(ctx)
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


@main.command()
@click.argument("what")
@click.argument("name")
@click.option("-n", "--namespace", default="default", show_default=True)
@click.pass_context
def describe(ctx: click.Context, what: str, name: str, namespace: str) -> None:
    """Show one object in detail, with its events."""
    from netlab.cli import printers

    client = _client(ctx)
    res = _resource(what)
    try:
        obj = client.get(res.path(namespace if res.namespaced else None, name))
    except ApiFailure as e:
        raise Fail(f"({e.status.get('reason')}) {e}") from e
    related: dict = {"events": [e for e in client.get("/api/v1/events")["items"]
                                if e["involvedObject"]["name"] == name]}
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
        from netlab.compile.policy_inputs import object_policy_pod

        pods = [object_policy_pod(p) for p in client.get("/api/v1/pods")["items"]]
        namespaces = [netpol.PolicyNamespace(n["metadata"]["name"], dict(n["metadata"].get("labels") or {}))
                      for n in client.get("/api/v1/namespaces")["items"]]
        related["explain"] = netpol.explain(obj, [p for p in pods if p.ip], namespaces)
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


def _get_pod(client: Client, pod: str, namespace: str) -> dict:
    try:
        return client.get(f"/api/v1/namespaces/{namespace}/pods/{pod}")
    except ApiFailure as e:
        raise Fail(f"({e.status.get('reason')}) {e}") from e


@main.command(name="exec", context_settings={"ignore_unknown_options": True})
@click.argument("pod")
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
@click.option("-n", "--namespace", default="default", show_default=True)
@click.option("-c", "--container", default=None,
              help="Accepted for kubectl compatibility: containers share the pod's network.")
@click.option("-i", "--stdin", "interactive", is_flag=True, help="Accepted for kubectl compatibility.")
@click.option("-t", "--tty", is_flag=True, help="Give the command a terminal of its own (when stdin is one).")
@click.pass_context
def exec_(ctx: click.Context, pod: str, command: tuple[str, ...], namespace: str, container: str | None,
          interactive: bool, tty: bool) -> None:
    """Run COMMAND inside a container of POD (the first one unless -c): in its network, PID and mount
    namespaces, as its user, with its capabilities and environment (as `kubectl exec` does)."""
    from netlab.runtime import podexec

    obj = _get_pod(_client(ctx), pod, namespace)
    names_ = [c["name"] for c in obj["spec"].get("containers", [])]
    container = container or (obj["metadata"].get("annotations") or {}).get(
        "kubectl.kubernetes.io/default-container") or (names_[0] if names_ else "")
    if container not in names_:
        raise Fail(f"container {container} is not valid for pod {pod}")
    extra = {"TERM": os.environ["TERM"]} if tty and "TERM" in os.environ else {}
    try:
        code = podexec.exec_in(_cluster(ctx), namespace, pod, container, list(command), extra, tty)
    except (podexec.ExecError, OSError) as e:
        raise Fail(str(e)) from e
    sys.exit(code)


@main.command()
@click.argument("pod")
@click.option("-n", "--namespace", default="default", show_default=True)
@click.option("-c", "--container", default=None)
@click.option("-f", "--follow", is_flag=True)
@click.pass_context
def logs(ctx: click.Context, pod: str, namespace: str, container: str | None, follow: bool) -> None:
    """Print a container's output (stdout and stderr)."""
    query = "&".join(q for q in (f"container={container}" if container else "", "follow=true" if follow else "") if q)
    path = f"/api/v1/namespaces/{namespace}/pods/{pod}/log" + (f"?{query}" if query else "")
    client = Client(_cluster(ctx), timeout=None if follow else 60)
    try:
        for chunk in client.stream(path):
            sys.stdout.buffer.write(chunk)
            sys.stdout.buffer.flush()
    except ApiFailure as e:
        raise Fail(str(e)) from e
    except KeyboardInterrupt:
        pass


@main.command(context_settings={"ignore_unknown_options": True})
@click.argument("name")
@click.argument("command", nargs=-1, type=click.UNPROCESSED)
@click.option("--image", default="busybox", show_default=True, help="Recorded on the pod; images are not pulled.")
@click.option("-n", "--namespace", default="default", show_default=True)
@click.option("-i", "--stdin", "interactive", is_flag=True, help="Keep stdin open (run the command attached).")
@click.option("-t", "--tty", is_flag=True, help="Allocate a terminal (with -i).")
@click.option("--rm", is_flag=True, help="Delete the pod when the command ends.")
@click.option("-l", "--labels", default="", help="Labels, e.g. app=web,tier=front.")
@click.option("--timeout", default=60.0, show_default=True, help="Seconds to wait for the pod.")
@click.pass_context
def run(ctx: click.Context, name: str, command: tuple[str, ...], image: str, namespace: str, interactive: bool,
        tty: bool, rm: bool, labels: str, timeout: float) -> None:
    """Start a one-off pod, as `kubectl run NAME --image=IMG [-it] [--rm] -- CMD` does.

    With -i/-t the command runs attached to your terminal inside the pod's network namespace (the
    pod holds the namespace with a sleeping container); without, it runs as the pod's container and
    its output is printed when it ends. Without a command the pod runs the echo server and stays.
    """
    client = _client(ctx)
    label_map = dict(kv.split("=", 1) for kv in labels.split(",") if "=" in kv) or {"run": name}
    attached = bool(command) and (interactive or tty)
    container: dict = {"name": name, "image": image}
    if attached:
        container["command"] = ["sleep", "infinity"]
    elif command:
        container["command"] = list(command)
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": namespace, "labels": label_map},
           "spec": {"containers": [container], "restartPolicy": "Never" if command else "Always"}}
    try:
        client.request("POST", APPLY_PATH, {"objects": [pod]})
    except ApiFailure as e:
        raise Fail(str(e)) from e
    path = f"/api/v1/namespaces/{namespace}/pods/{name}"
    code = 0
    try:
        if not command:
            click.echo(f"pod/{name} created")
            return
        done = ("Running",) if attached else ("Succeeded", "Failed")
        deadline = time.monotonic() + timeout
        while (phase := client.get(path)["status"]["phase"]) not in done:
            if time.monotonic() > deadline:
                raise Fail(f"pod {name} did not reach {'/'.join(done)} within {timeout:.0f}s (phase {phase})")
            time.sleep(0.05)
        if attached:
            code = subprocess.call([sys.executable, "-m", "netlab.runtime.podexec", "--cluster", _cluster(ctx),
                                    "--namespace", namespace, "--pod", name, "--container", name,
                                    *(["--tty"] if tty else []), "--", *command])
        else:
            for chunk in client.stream(path + "/log"):
                sys.stdout.buffer.write(chunk)
            sys.stdout.flush()
            status = client.get(path)["status"]["containerStatuses"][0]["state"]
            code = (status.get("terminated") or {}).get("exitCode", 0) or 0
    finally:
        if rm and command:
            client.request("DELETE", path)
            click.echo(f'pod "{name}" deleted', err=True)
    sys.exit(code)


@main.command()
@click.argument("action", type=click.Choice(["enable", "disable", "list"]))
@click.argument("name", required=False)
@click.pass_context
def addons(ctx: click.Context, action: str, name: str | None) -> None:
    """Cluster add-ons: `addons enable ingress-nginx` runs the ingress controller before any Ingress exists."""
    from netlab.api.client import ADDONS_PATH

    client = _client(ctx)
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


@main.command()
@click.pass_context
def down(ctx: click.Context) -> None:
    """Delete the cluster: every namespace, link, route, table, process and file netlab made."""
    from netlab.kernel import teardown

    cluster = _cluster(ctx)
    removed = teardown.teardown(cluster)
    click.echo(f'Deleted cluster "{cluster}": {len(removed)} objects removed.' if removed
               else f'Cluster "{cluster}" had nothing left to remove.')


@main.command()
@click.pass_context
def doctor(ctx: click.Context) -> None:
    """Check this machine for what netlab needs, with the fix for each failure."""
    from netlab.compile.config import ClusterConfig
    from netlab.runtime import lifecycle

    config = ClusterConfig.from_manifest(None, _cluster(ctx))
    failed = 0
    for c in lifecycle.doctor_checks(config):
        mark = "ok  " if c.ok else "FAIL"
        click.echo(f"[{mark}] {c.name}: {c.detail}" + ("" if c.ok else f"\n       fix: {c.fix}"))
        failed += 0 if c.ok or "optional" in c.detail else 1
    if failed:
        sys.exit(1)


def _register_subcommands() -> None:
    """Commands that live in their own modules (they import their heavy parts lazily)."""
    from netlab.cli.graph import graph
    from netlab.cli.lab import lab
    from netlab.cli.trace import trace

    main.add_command(graph)
    main.add_command(lab)
    main.add_command(trace)


_register_subcommands()


def entry() -> None:
    try:
        main()
    except ApiUnavailable as e:
        click.echo(f"error: {e}", err=True)
        sys.exit(1)


if __name__ == "__main__":
    entry()
