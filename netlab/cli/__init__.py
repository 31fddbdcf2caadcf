"""netlab's command line, in kubectl's shape: the `netlab` click group and its commands.

Each command group lives in its own module (lifecycle_cmds, apply, get, exec, graph, lab, trace, observe,
capture), sharing netlab.cli.common; commands parse, call the core through the API client, and print.
"""

from __future__ import annotations

import sys

import click

from netlab.api.client import ApiUnavailable
from netlab.cli import apply, capture, get, graph, lab, lifecycle_cmds, observe, trace
from netlab.cli import exec as exec_cmds


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--cluster", "cluster", default=None, help="Cluster name (default: the one running, else netlab).")
@click.pass_context
def main(ctx: click.Context, cluster: str | None) -> None:
    """A Kubernetes networking lab made of real namespaces, veths, bridges, routes and nftables."""
    ctx.obj = {"cluster_opt": cluster}


for _command in (lifecycle_cmds.up, lifecycle_cmds.down, lifecycle_cmds.doctor, lifecycle_cmds.addons,
                 lifecycle_cmds.kubeconfig_cmd,
                 apply.apply, apply.delete, get.get, get.describe, get.events,
                 exec_cmds.exec_, exec_cmds.logs, exec_cmds.run, graph.graph, lab.lab, trace.trace, observe.observe,
                 capture.capture):
    main.add_command(_command)


def entry() -> None:
    try:
        main()
    except ApiUnavailable as e:
        click.echo(f"error: {e}", err=True)
        sys.exit(1)


if __name__ == "__main__":
    entry()
