"""`get` tables with kubectl's columns (netlab.api.columns, shared with the API's Table output), and `-o name`."""

from __future__ import annotations

from netlab.api.columns import kind_columns
from netlab.api.humanize import _meta, _name
from netlab.api.rows import event_times, format_endpoints, node_roles
from netlab.cli.printers.format import CLUSTER_SCOPED, _kind_resource, _tabwrite, resource_name

__all__ = ["event_times", "format_endpoints", "names_output", "node_roles", "table"]


def table(kind: str, items: list[dict], now: float, wide: bool = False, all_namespaces: bool = False,
          show_kind: bool = False) -> str:
    """`kubectl get` output for `items` of `kind` ("" for no items). -A adds NAMESPACE for namespaced kinds;
    `show_kind` prefixes names with their resource ("pod/web-1", "deployment.apps/web") as `get all` does."""
    if not items:
        return ""
    namespaced = all_namespaces and kind not in CLUSTER_SCOPED
    kc = kind_columns(kind)
    header = [c.name.upper() for c in kc.all_columns() if wide or c.priority == 0]
    prefix = _kind_resource(kind) + "/" if show_kind and kc.named else ""
    rows = [kc.row_cells(obj, now, wide) for obj in items]
    if prefix:
        rows = [[prefix + row[0]] + row[1:] for row in rows]
    if namespaced:
        header = ["NAMESPACE"] + header
        rows = [[_meta(obj).get("namespace") or ""] + row for obj, row in zip(items, rows, strict=True)]
    text = "\n".join("\t".join(cell.replace("\t", " ").replace("\n", " ") for cell in row)
                     for row in [header] + rows)
    return "\n".join(_tabwrite(text, 6, 3)) + "\n"


def names_output(items: list[dict]) -> str:
    """`-o name`: one "resource/name" per line ("pod/web-1", "service/web", "deployment.apps/web")."""
    return "".join(f"{resource_name(obj)}/{_name(obj)}\n" for obj in items)


