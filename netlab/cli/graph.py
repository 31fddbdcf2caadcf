"""`netlab graph`: draw the running cluster (nodes, bridges, pods, services, ingress, Gateways, policies).

Registered by the CLI with `main.add_command(graph)`. Fetches the objects through the API, builds the graph
with the pure `netlab.compile.graph`, and writes DOT or Mermaid text, or SVG/PNG through graphviz's `dot`.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import click

FORMATS = ("dot", "mermaid", "svg", "png")
EXTENSIONS = {".dot": "dot", ".gv": "dot", ".mmd": "mermaid", ".mermaid": "mermaid", ".svg": "svg", ".png": "png"}
PATHS = {
    "nodes": "/api/v1/nodes",
    "pods": "/api/v1/pods",
    "services": "/api/v1/services",
    "endpoints": "/api/v1/endpoints",
    "ingresses": "/apis/networking.k8s.io/v1/ingresses",
    "policies": "/apis/networking.k8s.io/v1/networkpolicies",
}

GATEWAY_API = {  # kind -> list path: what the Gateway part of the graph is computed from
    "GatewayClass": "/apis/gateway.networking.k8s.io/v1/gatewayclasses",
    "Gateway": "/apis/gateway.networking.k8s.io/v1/gateways",
    "HTTPRoute": "/apis/gateway.networking.k8s.io/v1/httproutes",
    "GRPCRoute": "/apis/gateway.networking.k8s.io/v1/grpcroutes",
    "ReferenceGrant": "/apis/gateway.networking.k8s.io/v1beta1/referencegrants",
    "Namespace": "/api/v1/namespaces",
}


def _gateway_objects(client) -> list[dict]:
    """Every object the Gateway part needs, each with its kind (a List's items may leave it out)."""
    from netlab.api.client import ApiFailure

    out = []
    for kind, path in GATEWAY_API.items():
        try:
            out += [{**o, "kind": kind} for o in client.get(path).get("items") or []]
        except ApiFailure as e:
            if e.code != 404:
                raise
    return out


def choose_format(fmt: str | None, output: str | None) -> str:
    """--format wins; else the output file's extension; else DOT."""
    if fmt:
        return fmt
    if output:
        return EXTENSIONS.get(Path(output).suffix.lower(), "dot")
    return "dot"


def render_image(dot_text: str, fmt: str) -> bytes:
    """Run graphviz `dot -T<fmt>`; RuntimeError with a readable reason when it is missing or fails."""
    exe = shutil.which("dot")
    if exe is None:
        raise RuntimeError(f"--format {fmt} needs graphviz's `dot`, which is not installed: install the Debian "
                           "package graphviz (sudo apt-get install graphviz), or use --format dot or mermaid")
    proc = subprocess.run([exe, f"-T{fmt}"], input=dot_text.encode(), capture_output=True, timeout=120)
    if proc.returncode != 0:
        raise RuntimeError(f"dot -T{fmt} failed: {proc.stderr.decode(errors='replace').strip()}")
    return proc.stdout


@click.command()
@click.option("-o", "--output", "output", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Write to FILE (format from its extension: .svg .png .dot/.gv .mmd/.mermaid); default stdout.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default=None,
              help="dot, mermaid, svg or png (svg/png need graphviz). Default: from -o's extension, else dot.")
@click.pass_context
def graph(ctx: click.Context, output: str | None, fmt: str | None) -> None:
    """Draw the cluster: host, underlay, nodes, cni0 bridges, pods with IPs, services, ingress, Gateways with
    their listeners and routes, and policies."""
    from netlab.api.client import ApiFailure, ApiUnavailable
    from netlab.cli import common
    from netlab.cli.common import Fail
    from netlab.compile import graph as render
    from netlab.compile import graph_render

    client = common.client(ctx)
    objects: dict[str, list] = {}
    try:
        for key, path in PATHS.items():
            try:
                objects[key] = client.get(path).get("items") or []
            except ApiFailure as e:
                if e.code == 404 and key in ("ingresses", "policies"):
                    objects[key] = []
                else:
                    raise
        gateway_api = _gateway_objects(client)
    except ApiUnavailable as e:
        raise Fail(str(e)) from e
    except ApiFailure as e:
        raise Fail(str(e)) from e

    g = render.build(**objects, **render.underlay_of(objects["nodes"]), title=f"netlab cluster {client.cluster}",
                     gateway_api=gateway_api)
    kind = choose_format(fmt, output)
    if kind == "mermaid":
        data: bytes = graph_render.to_mermaid(g).encode()
    elif kind == "dot":
        data = graph_render.to_dot(g).encode()
    else:
        try:
            data = render_image(graph_render.to_dot(g), kind)
        except RuntimeError as e:
            raise Fail(str(e)) from e

    if output:
        Path(output).write_bytes(data)
        click.echo(f"wrote {output} ({kind}, {len(g.vertices)} boxes, {len(g.edges)} links)", err=True)
    elif kind == "png" and sys.stdout.isatty():
        raise Fail("refusing to write a PNG to a terminal; give -o FILE.png")
    else:
        stream = sys.stdout.buffer
        stream.write(data)
        stream.flush()
