"""Limits on hostile or oversized input, as Kubernetes sets them.

Each check returns a message (or None): the loader and the validator turn them into Problems.
"""

from __future__ import annotations

import json
from typing import Any

import yaml

# The API server refuses a request body over 3 MiB (apiserver's MaxRequestBodyBytes = 3 * 1024 * 1024),
# and etcd one over 1.5 MiB (its default --max-request-bytes = 1572864), which is what bounds a stored
# object: "etcdserver: request is too large". A YAML document is refused unread above the first,
# an object (as compact JSON) above the second.
MAX_DOCUMENT_BYTES = 3 * 1024 * 1024
MAX_OBJECT_BYTES = 1536 * 1024

# apimachinery's ValidateAnnotations: keys and values together, TotalAnnotationSizeLimitB = 256 * 1024.
MAX_ANNOTATION_BYTES = 256 * 1024

# Go's decoders allow 10000 levels; Python recurses per level (PyYAML's composer, pydantic's
# serializer stops near 250), so netlab stops at 100, far deeper than any Kubernetes object.
MAX_DEPTH = 100

# go-yaml (used by sigs.k8s.io/yaml, so by kubectl and the API server) fails a document with
# "excessive aliasing" once over 100 values came from aliases, over 1000 were decoded, and the share
# that came from aliases is above a ratio that falls from 99% (up to 400,000 values decoded) to 10%
# (from 4,000,000): a billion-laughs document fails within a few thousand values.
_ALIAS_MIN = 100
_DECODE_MIN = 1000
_RATIO_LOW, _RATIO_HIGH = 400_000, 4_000_000


def allowed_alias_ratio(decoded: int) -> float:
    if decoded <= _RATIO_LOW:
        return 0.99
    if decoded >= _RATIO_HIGH:
        return 0.10
    return 0.99 - 0.89 * (decoded - _RATIO_LOW) / (_RATIO_HIGH - _RATIO_LOW)


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def yaml_expansion_problem(root: yaml.Node) -> str | None:
    """Walk the document as a decoder would expand it (aliases copied in), without building it.

    PyYAML shares an aliased value instead of copying it, so a billion-laughs document loads small
    and explodes later (validation, JSON). This walk stops as soon as go-yaml would, and also
    refuses an anchor that contains itself and nesting deeper than MAX_DEPTH after expansion.
    """
    decoded = aliased = 0
    defined: set[int] = set()  # nodes met once already: meeting one again is an alias
    on_path: set[int] = set()
    stack: list[tuple[yaml.Node, bool, int, bool]] = [(root, False, 1, False)]
    while stack:
        node, in_alias, depth, leaving = stack.pop()
        if leaving:
            on_path.discard(id(node))
            continue
        if id(node) in on_path:
            return f"an anchor contains itself (line {node.start_mark.line + 1})"
        in_alias = in_alias or id(node) in defined
        defined.add(id(node))
        decoded += 1
        aliased += in_alias
        if aliased > _ALIAS_MIN and decoded > _DECODE_MIN and aliased / decoded > allowed_alias_ratio(decoded):
            return (f"document contains excessive aliasing: {aliased} of the first {decoded} values come "
                    f"from aliases (Kubernetes' YAML decoder refuses it too)")
        if depth > MAX_DEPTH:
            return f"nesting deeper than {MAX_DEPTH} levels (line {node.start_mark.line + 1})"
        children = _children(node)
        if children:
            on_path.add(id(node))
            stack.append((node, in_alias, depth, True))
            stack.extend((child, in_alias, depth + 1, False) for child in reversed(children))
    return None


def data_depth_problem(data: Any) -> str | None:
    """Nesting depth of parsed JSON, without recursion."""
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_DEPTH:
            return f"nesting deeper than {MAX_DEPTH} levels"
        if isinstance(value, dict):
            stack.extend((v, depth + 1) for v in value.values())
        elif isinstance(value, list):
            stack.extend((v, depth + 1) for v in value)
    return None


def object_size_problem(data: dict) -> str | None:
    size = len(json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode())
    if size > MAX_OBJECT_BYTES:
        return (f"object is too large: {size} bytes as JSON, the limit is {MAX_OBJECT_BYTES} "
                f"(1.5 MiB, etcd's request limit)")
    return None


def annotations_size_problem(annotations: dict[str, str]) -> str | None:
    total = sum(len(k.encode()) + len(v.encode()) for k, v in annotations.items())
    if total > MAX_ANNOTATION_BYTES:
        return f"Too long: must have at most {MAX_ANNOTATION_BYTES} bytes, got {total}"
    return None
