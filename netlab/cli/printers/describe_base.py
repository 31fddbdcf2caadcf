"""Pieces every `describe` text shares: labels, annotations, multi-line lists, events, the controller."""

from __future__ import annotations

import re

from netlab.api.humanize import NONE, _meta, _parse_time
from netlab.cli.printers.format import _Writer
from netlab.cli.printers.tables import event_times

SKIP_ANNOTATIONS = frozenset({"kubectl.kubernetes.io/last-applied-configuration"})


def _labels_multiline(w: _Writer, title: str, labels: dict | None, indent: str = "") -> None:
    w.write(0, f"{indent}{title}:\t")
    if not labels:
        w.write(0, NONE + "\n")
        return
    for i, key in enumerate(sorted(labels)):
        if i:
            w.write(0, f"{indent}\t")
        w.write(0, f"{key}={labels[key]}\n")


def _annotations_multiline(w: _Writer, title: str, annotations: dict | None, indent: str = "") -> None:
    w.write(0, f"{indent}{title}:\t")
    keys = sorted(k for k in (annotations or {}) if k not in SKIP_ANNOTATIONS)
    if not keys:
        w.write(0, NONE + "\n")
        return
    lead = indent + "\t"
    for i, key in enumerate(keys):
        if i:
            w.write(0, lead)
        value = str((annotations or {})[key]).removesuffix("\n")
        if len(value) + len(key) + 2 > 140 or "\n" in value:
            w.write(0, f"{key}:\n")
            for line in value.split("\n"):
                w.write(0, f"{lead}  {line[:138] + '...' if len(line) > 138 else line}\n")
        else:
            w.write(0, f"{key}: {value}\n")


def _header(w: _Writer, meta: dict) -> None:
    """The lines every namespaced object's description starts with."""
    w.write(0, f"Name:\t{meta.get('name', '')}\n")
    w.write(0, f"Namespace:\t{meta.get('namespace', '')}\n")
    _labels_multiline(w, "Labels", meta.get("labels"))
    _annotations_multiline(w, "Annotations", meta.get("annotations"))


def _multiline(w: _Writer, title: str, values: list[str], indent: str = "") -> None:
    w.write(0, f"{indent}{title}:\t")
    if not values:
        w.write(0, NONE + "\n")
        return
    for i, value in enumerate(values):
        if i:
            w.write(0, f"{indent}\t")
        w.write(0, f"{value}\n")


def _events(w: _Writer, events: list[dict] | None, now: float) -> None:
    if not events:
        w.write(0, "Events:\t<none>\n")
        return
    w.flush()
    w.write(0, "Events:\n  Type\tReason\tAge\tFrom\tMessage\n")
    w.write(1, "----\t------\t----\t----\t-------\n")

    def when(ev: dict) -> float:
        t = _parse_time(ev.get("lastTimestamp") or ev.get("eventTime") or _meta(ev).get("creationTimestamp"))
        return t.timestamp() if t else 0.0

    for ev in sorted(events, key=when):
        first, last = event_times(ev, now)
        count = (ev.get("series") or {}).get("count") or ev.get("count") or 1
        interval = f"{last} (x{count} over {first})" if count > 1 else first
        source = (ev.get("source") or {}).get("component") or ev.get("reportingComponent") or ""
        w.write(1, f"{ev.get('type', '')}\t{ev.get('reason', '')}\t{interval}\t{source}\t"
                   f"{(ev.get('message') or '').strip()}\n")


def smart_label(field: str) -> str:
    """kubectl's smartLabelFor: "podSelector" -> "Pod Selector", "apiVersion" -> "API Version"."""
    if not field or any(not (ch.isalpha() or ch == "-") for ch in field):
        return field
    parts = re.findall(r"[A-Z]+(?=[A-Z][a-z]|$)|[A-Z]?[a-z]+|[A-Z]+|-", field)
    words = []
    for part in parts:
        acronym = part.upper() in ("API", "URL", "UID", "OSB", "GUID")
        words.append(part.upper() if acronym else part[:1].upper() + part[1:])
    return " ".join(words)
