"""Turn raw documents into typed objects, collecting every problem."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TextIO

from .cluster import Cluster
from .core import NODE_PORT_RANGE
from .crd import kind_of_crd
from .loader import RawDoc, read_paths
from .model import KINDS, K8sObject, describe, parse_one
from .problems import ManifestError, Problem, Source


def _node_port_range(docs: list[RawDoc]) -> tuple[int, int]:
    """The nodePortRange of the (first valid) Cluster in the input, else the Kubernetes default."""
    for doc in docs:
        if doc.data.get("kind") == "Cluster":
            obj, problems = parse_one(doc.data, doc.source)
            if isinstance(obj, Cluster) and not problems:
                return obj.node_port_bounds()
    return NODE_PORT_RANGE


def parse_objects(docs: list[RawDoc], *, skip_unknown_kinds: bool = False
                  ) -> tuple[list[K8sObject], list[Problem]]:
    """Validate every document; return the valid objects and all problems (in input order)."""
    sourced, problems = parse_sourced(docs, skip_unknown_kinds=skip_unknown_kinds)
    return [obj for obj, _source in sourced], problems


def parse_sourced(docs: list[RawDoc], *, skip_unknown_kinds: bool = False
                  ) -> tuple[list[tuple[K8sObject, Source]], list[Problem]]:
    """Like parse_objects, with the Source of each object (to name the file in later errors)."""
    node_ports = _node_port_range(docs)
    batch = tuple(k for k in (kind_of_crd(doc.data) for doc in docs) if k is not None)
    objects: list[tuple[K8sObject, Source]] = []
    problems: list[Problem] = []
    seen: dict[tuple[str, str, str], Source] = {}
    cluster_at: Source | None = None
    for doc in docs:
        kind = doc.data.get("kind")
        if skip_unknown_kinds and isinstance(kind, str) and kind not in KINDS:
            continue
        obj, found = parse_one(doc.data, doc.source, node_ports, batch)
        problems += found
        if obj is None or found:
            continue
        if obj.key in seen:
            field = "name" if isinstance(obj, Cluster) else "metadata.name"
            problems.append(Problem(doc.source, describe(doc.data, doc.source), field,
                                    f"duplicate {obj.kind} {obj.ref.split(' ', 1)[1]}: "
                                    f"also defined at {seen[obj.key]}"))
            continue
        if isinstance(obj, Cluster):
            if cluster_at is not None:
                problems.append(Problem(doc.source, obj.ref, "", f"only one Cluster may be given; "
                                                                 f"another is defined at {cluster_at}"))
                continue
            cluster_at = doc.source
        seen[obj.key] = doc.source
        objects.append((obj, doc.source))
    return objects, problems


def load(paths: Sequence[str], stdin: TextIO | None = None, *, skip_unknown_kinds: bool = False
         ) -> list[K8sObject]:
    """Read and validate manifests; raise ManifestError listing every problem at once."""
    return [obj for obj, _source in load_sourced(paths, stdin, skip_unknown_kinds=skip_unknown_kinds)]


def load_sourced(paths: Sequence[str], stdin: TextIO | None = None, *, skip_unknown_kinds: bool = False
                 ) -> list[tuple[K8sObject, Source]]:
    """load(), keeping where each object was read from."""
    docs, problems = read_paths(paths, stdin)
    objects, more = parse_sourced(docs, skip_unknown_kinds=skip_unknown_kinds)
    problems += more
    if problems:
        raise ManifestError(problems)
    return objects
