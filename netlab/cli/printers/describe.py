"""`describe` text in kubectl's layout."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from typing import Any

from netlab.api.humanize import _meta
from netlab.cli.printers.describe_base import _annotations_multiline, _events, _header, _labels_multiline, smart_label
from netlab.cli.printers.describe_network import (
    _describe_endpoints,
    _describe_ingress,
    _describe_networkpolicy,
    _describe_service,
)
from netlab.cli.printers.describe_workloads import _describe_deployment, _describe_node, _describe_pod
from netlab.cli.printers.format import _Writer


def _describe_secret(secret: dict, now: float, related: dict) -> str:
    meta = _meta(secret)
    w = _Writer()
    _header(w, meta)
    w.write(0, f"\nType:\t{secret.get('type') or 'Opaque'}\n")
    w.write(0, "\nData\n====\n")
    sizes: dict[str, int] = {}
    for key, value in (secret.get("data") or {}).items():
        try:
            sizes[key] = len(base64.b64decode(str(value), validate=True))
        except (binascii.Error, ValueError):
            sizes[key] = len(str(value))
    for key, value in (secret.get("stringData") or {}).items():
        sizes[key] = len(str(value).encode())
    for key in sorted(sizes):
        w.write(0, f"{key}:\t{sizes[key]} bytes\n")
    return w.render()


def _describe_namespace(ns: dict, now: float, related: dict) -> str:
    meta = _meta(ns)
    w = _Writer()
    w.write(0, f"Name:\t{meta.get('name', '')}\n")
    _labels_multiline(w, "Labels", meta.get("labels"))
    _annotations_multiline(w, "Annotations", meta.get("annotations"))
    w.write(0, f"Status:\t{(ns.get('status') or {}).get('phase') or 'Active'}\n")
    w.write(0, "\nNo resource quota.\n\nNo LimitRange resource.\n")
    return w.render()


GENERIC_SKIP = frozenset({".metadata.managedFields", ".metadata.name", ".metadata.namespace",
                          ".metadata.labels", ".metadata.annotations"})


def _unstructured(w: _Writer, level: int, content: dict, prefix: str) -> None:
    for field in sorted(content):
        value, path = content[field], f"{prefix}.{field}"
        if path in GENERIC_SKIP:
            continue
        if isinstance(value, dict):
            w.write(level, f"{smart_label(field)}:\n")
            _unstructured(w, level + 1, value, path)
        elif isinstance(value, list):
            w.write(level, f"{smart_label(field)}:\n")
            for child in value:
                if isinstance(child, dict):
                    _unstructured(w, level + 1, child, path)
                else:
                    w.write(level + 1, f"{_go_value(child)}\n")
        else:
            w.write(level, f"{smart_label(field)}:\t{_go_value(value)}\n")


def _go_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "<nil>"
    return str(value)


def _describe_generic(obj: dict, now: float, related: dict) -> str:
    meta = _meta(obj)
    w = _Writer()
    _header(w, meta)
    _unstructured(w, 0, obj, "")
    if related.get("note"):   # a kind netlab stores but does not act on says so
        w.write(0, f"Note:\t{related['note']}\n")
    if "events" in related:
        _events(w, related.get("events"), now)
    return w.render()


DESCRIBERS: dict[str, Callable[[dict, float, dict], str]] = {
    "Ingress": _describe_ingress,
    "Pod": _describe_pod, "Node": _describe_node, "Deployment": _describe_deployment,
    "Service": _describe_service,
    "Secret": _describe_secret, "Namespace": _describe_namespace, "Endpoints": _describe_endpoints,
    "NetworkPolicy": _describe_networkpolicy,
}


def describe(kind: str, obj: dict, now: float, related: dict | None = None) -> str:
    """`kubectl describe` text for one object. `related` may hold "events" (Event objects about it),
    "pods" (for a Node), "endpoints" (an Endpoints object, for a Service), "dns_names" (Service),
    "replicasets" (for a Deployment). Secret values are never printed, only their sizes."""
    return DESCRIBERS.get(kind, _describe_generic)(obj, now, related or {})
