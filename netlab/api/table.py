"""Server-side `meta.k8s.io/v1` Table output (`Accept: application/json;as=Table;g=meta.k8s.io;v=v1`):
kubectl's columns per kind from netlab.api.columns, so `kubectl get` and `netlab get` print the same."""

from __future__ import annotations

import time
from typing import Any

from netlab.api.columns import kind_columns
from netlab.api.errors import ApiError

INCLUDE_OBJECT = ("None", "Metadata", "Object")


def _cell(value: str, column_type: str) -> Any:
    # The printers give text; integer columns carry numbers in a Table, as upstream's do.
    if column_type == "integer" and value.isdigit():
        return int(value)
    return value


def partial_metadata(obj: dict) -> dict:
    """The object as a PartialObjectMetadata (what includeObject=Metadata returns per row)."""
    return {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": obj.get("metadata") or {}}


def _row_object(obj: dict, include_object: str) -> dict | None:
    if include_object == "Object":
        return obj
    if include_object == "Metadata":
        return partial_metadata(obj)
    return None


def to_table(kind: str, objects: list[dict], list_meta: dict, include_object: str = "Metadata",
             now: float | None = None) -> dict:
    """A Table of `objects` of `kind` with every column (the server always renders the wide ones; kubectl shows
    priority-1 columns only with `-o wide`). Kinds without their own columns get NAME and AGE.
    include_object is the `includeObject` query parameter: None, Metadata (default) or Object."""
    if include_object not in INCLUDE_OBJECT:
        raise ApiError(400, "BadRequest",
                       f"includeObject must be one of {', '.join(INCLUDE_OBJECT)}, got {include_object!r}")
    now = time.time() if now is None else now
    kc = kind_columns(kind)
    columns = kc.all_columns()
    rows = []
    for obj in objects:
        cells = [_cell(v, c.type) for v, c in zip(kc.row_cells(obj, now, True), columns, strict=True)]
        row: dict[str, Any] = {"cells": cells}
        included = _row_object(obj, include_object)
        if included is not None:
            row["object"] = included
        rows.append(row)
    return {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": dict(list_meta),
            "columnDefinitions": [c.definition() for c in columns], "rows": rows}
