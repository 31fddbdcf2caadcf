"""`netlab lab ...`: find, start, check and read the teaching labs in labs/NN-topic/."""

from __future__ import annotations

import sys

import click


def _find(number: str):
    from netlab import labs
    from netlab.cli.common import Fail

    try:
        return labs.find_lab(number)
    except LookupError as e:
        raise Fail(str(e)) from e


@click.group()
def lab() -> None:
    """Teaching labs: a walkthrough, its manifests and an automatic check each."""


@lab.command(name="list")
def list_() -> None:
    """List the labs."""
    from netlab import labs

    found = labs.list_labs()
    if not found:
        raise click.ClickException(f"no labs found in {labs.LABS_DIR} (set NETLAB_LABS to the labs directory)")
    width = max(len(item.slug) for item in found)
    click.echo(f"{'NUMBER':<8}{'TOPIC':<{width + 3}}TITLE")
    for item in found:
        click.echo(f"{item.number:02d}      {item.slug:<{width + 3}}{item.title}")


@lab.command()
@click.argument("number")
@click.option("--timeout", default=120.0, show_default=True, help="Seconds to wait for pods to be Running.")
@click.pass_context
def start(ctx: click.Context, number: str, timeout: float) -> None:
    """Bring up lab NUMBER's manifests (the same as `netlab up labs/NN-topic/manifests`)."""
    from netlab.cli.lifecycle_cmds import up

    found = _find(number)
    ctx.invoke(up, paths=(str(found.manifests),), timeout=timeout)
    click.echo(f"Lab {found.number:02d} ({found.title}) is ready: read it with `netlab lab show {found.number:02d}`, "
               f"verify with `netlab lab check {found.number:02d}`.")


@lab.command(name="check")
@click.argument("number")
@click.pass_context
def check_(ctx: click.Context, number: str) -> None:
    """Run lab NUMBER's checks against the running cluster; exit 1 if any fails."""
    from netlab import labs
    from netlab.cli.common import Fail
    from netlab.cli.common import cluster as cluster_of

    found = _find(number)
    cluster = cluster_of(ctx)
    if not labs.cluster_running(cluster):
        raise Fail(f'cluster "{cluster}" is not running: start the lab with `netlab lab start {found.number:02d}`')
    click.echo(f'Lab {found.number:02d}: {found.title} (cluster "{cluster}")')
    results = labs.run_checks(found, cluster, echo=lambda line: click.echo(line))
    failed = [r for r in results if not r.ok]
    click.echo(f"{len(results) - len(failed)}/{len(results)} checks passed")
    if failed:
        sys.exit(1)


@lab.command()
@click.argument("number")
def show(number: str) -> None:
    """Print lab NUMBER's walkthrough."""
    found = _find(number)
    click.echo(found.readme.read_text(encoding="utf-8"))
