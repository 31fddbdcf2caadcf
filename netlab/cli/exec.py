"""Running things in pods: `netlab exec`, `netlab logs` and `netlab run`."""

from __future__ import annotations

import os
import sys
import time
from urllib.parse import urlencode

import click

from netlab.api.client import ApiFailure, Client
from netlab.api.resources import APPLY_PATH
from netlab.cli import common
from netlab.cli.common import Fail


def _get_pod(client: Client, pod: str, namespace: str) -> dict:
    try:
        return client.get(f"/api/v1/namespaces/{namespace}/pods/{pod}")
    except ApiFailure as e:
        raise Fail(f"({e.status.get('reason')}) {e}") from e


@click.command(name="exec", context_settings={"ignore_unknown_options": True})
@click.argument("pod")
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
@click.option("-n", "--namespace", default="default", show_default=True)
@click.option("-c", "--container", default=None, help="The container (default: the pod's default or first one).")
@click.option("-i", "--stdin", "interactive", is_flag=True,
              help="Pass stdin to the command (always done when stdin is not a terminal).")
@click.option("-t", "--tty", is_flag=True, help="Give the command a terminal (when stdin is one).")
@click.pass_context
def exec_(ctx: click.Context, pod: str, command: tuple[str, ...], namespace: str, container: str | None,
          interactive: bool, tty: bool) -> None:
    """Run COMMAND inside a container of POD (the first one unless -c): in its network, PID and mount
    namespaces, as its user, with its capabilities and environment, through the API as `kubectl exec`."""
    from netlab.api import execclient

    client = common.client(ctx)
    obj = _get_pod(client, pod, namespace)
    names_ = [c["name"] for c in obj["spec"].get("containers", [])]
    container = container or (obj["metadata"].get("annotations") or {}).get(
        "kubectl.kubernetes.io/default-container") or (names_[0] if names_ else "")
    if container not in names_:
        raise Fail(f"container {container} is not valid for pod {pod}")
    stdin = interactive or tty or not os.isatty(0)
    try:
        code = execclient.run_exec(client, namespace, pod, container, list(command), stdin, tty and os.isatty(0))
    except ApiFailure as e:
        raise Fail(str(e)) from e
    sys.exit(code)


@click.command()
@click.argument("pod")
@click.option("-n", "--namespace", default="default", show_default=True)
@click.option("-c", "--container", default=None)
@click.option("-f", "--follow", is_flag=True)
@click.option("--tail", type=int, default=None, help="Only the last N lines.")
@click.option("--since", "since", type=int, default=None, help="Only lines of the last N seconds.")
@click.option("--timestamps", is_flag=True, help="Prefix each line with the time it was written.")
@click.option("-p", "--previous", is_flag=True, help="The output of the container's previous run.")
@click.pass_context
def logs(ctx: click.Context, pod: str, namespace: str, container: str | None, follow: bool, tail: int | None,
         since: int | None, timestamps: bool, previous: bool) -> None:
    """Print a container's output (stdout and stderr), as `kubectl logs`."""
    query = urlencode([(k, v) for k, v in (("container", container), ("follow", "true" if follow else None),
                                           ("tailLines", tail), ("sinceSeconds", since),
                                           ("timestamps", "true" if timestamps else None),
                                           ("previous", "true" if previous else None)) if v is not None])
    path = f"/api/v1/namespaces/{namespace}/pods/{pod}/log" + (f"?{query}" if query else "")
    client = Client(common.cluster(ctx), timeout=None if follow else 60)
    try:
        for chunk in client.stream(path):
            sys.stdout.buffer.write(chunk)
            sys.stdout.buffer.flush()
    except ApiFailure as e:
        raise Fail(str(e)) from e
    except KeyboardInterrupt:
        pass


@click.command(context_settings={"ignore_unknown_options": True})
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
    client = common.client(ctx)
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
            from netlab.api import execclient

            code = execclient.run_exec(client, namespace, name, name, list(command), True, tty and os.isatty(0))
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
