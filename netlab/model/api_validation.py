"""Validation of objects that arrive through the API, the same as `netlab apply` gives files.

The API server calls this for every write, whatever the client, so an object that `netlab apply`
would refuse is refused there too (with the same problems) and nothing reaches the controller.
"""

from __future__ import annotations

from typing import Any

from . import limits
from .loader import RawDoc
from .meta import json_type
from .problems import Problem, Source
from .validate import parse_objects

#: The file name that problems found in an API request carry (document i is the i-th object).
API_SOURCE = "<api>"
_CLUSTER_SOURCE = "<cluster>"


def validate_api_objects(objects: list[Any], cluster_doc: dict | None = None) -> tuple[list[dict], list[Problem]]:
    """Validate a batch of objects as one apply: (their normalised JSON, every problem).

    `cluster_doc` is the running cluster's Cluster document: its settings (the nodePort range) apply
    to the objects as they would to a manifest set that includes it. A Cluster sent through the API
    is refused: the cluster's shape is fixed by `netlab up`.
    """
    docs: list[RawDoc] = []
    problems: list[Problem] = []
    for i, data in enumerate(objects):
        source = Source(API_SOURCE, i)
        refused = (f"expected a mapping (object), got {json_type(data)}" if not isinstance(data, dict)
                   else limits.data_depth_problem(data))
        if refused is not None:
            problems.append(Problem(source, f"document {i + 1}", "", refused))
        elif data.get("kind") == "Cluster":
            problems.append(Problem(source, f"Cluster {data.get('name', 'netlab')}", "kind",
                                    "a Cluster cannot be applied to a running cluster; "
                                    "it is read by `netlab up` when the cluster is created"))
        else:
            docs.append(RawDoc(source, data))
    if cluster_doc:
        docs.insert(0, RawDoc(Source(_CLUSTER_SOURCE, 0), cluster_doc))
    parsed, found = parse_objects(docs)
    problems += [p for p in found if p.source is None or p.source.file != _CLUSTER_SOURCE]
    problems.sort(key=lambda p: p.source.doc if p.source is not None else -1)
    return [obj.to_dict() for obj in parsed if obj.kind != "Cluster"], problems
