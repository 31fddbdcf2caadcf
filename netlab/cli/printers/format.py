"""Shared pieces of the printers: time formatting, small accessors, Go's text/tabwriter."""

from __future__ import annotations

from datetime import UTC

from netlab.api import resources
from netlab.api.humanize import _parse_time

CLUSTER_SCOPED = frozenset({"Node", "Namespace", "IngressClass", "PersistentVolume", "StorageClass",
                            "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition", *resources.CLUSTER_SCOPED})
# kubectl's "resource.group" spelling for `-o name` and `get all`.
RESOURCE_NAMES = {
    "Pod": "pod", "Service": "service", "Endpoints": "endpoints", "Node": "node", "Namespace": "namespace",
    "Secret": "secret", "ConfigMap": "configmap", "Event": "event", "ServiceAccount": "serviceaccount",
    "Deployment": "deployment.apps", "ReplicaSet": "replicaset.apps", "DaemonSet": "daemonset.apps",
    "StatefulSet": "statefulset.apps", "EndpointSlice": "endpointslice.discovery.k8s.io",
    "Ingress": "ingress.networking.k8s.io", "IngressClass": "ingressclass.networking.k8s.io",
    "NetworkPolicy": "networkpolicy.networking.k8s.io",
}
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _rfc1123z(value: str | None) -> str:
    """Go's time.RFC1123Z, in UTC: "Mon, 02 Jan 2006 15:04:05 +0000"."""
    t = _parse_time(value)
    if t is None:
        return "<unknown>"
    t = t.astimezone(UTC)
    return f"{_DAYS[t.weekday()]}, {t.day:02d} {_MONTHS[t.month - 1]} {t.year} {t:%H:%M:%S} +0000"


def resource_name(obj: dict) -> str:
    """kubectl's "resource.group" for an object: pod, service, deployment.apps, ..."""
    kind = obj.get("kind", "")
    if kind in RESOURCE_NAMES:
        return RESOURCE_NAMES[kind]
    group = obj.get("apiVersion", "").rpartition("/")[0]
    return f"{kind.lower()}.{group}" if group else kind.lower()


def _kind_resource(kind: str) -> str:
    return RESOURCE_NAMES.get(kind, kind.lower())


# ----- Go text/tabwriter ------------------------------------------------------------------------
def _tabwrite(text: str, minwidth: int, padding: int) -> list[str]:
    """Align tab-separated cells like Go's text/tabwriter (left-aligned, trailing blanks trimmed)."""
    rows = [line.split("\t") for line in text.split("\n")]
    if rows and rows[-1] == [""]:
        rows.pop()
    out: list[str] = []
    widths: list[int] = []

    def write_lines(start: int, end: int) -> None:
        for cells in rows[start:end]:
            parts = [c.ljust(widths[j]) if j < len(widths) else c for j, c in enumerate(cells)]
            out.append("".join(parts).rstrip())

    def fmt(start: int, end: int) -> None:
        column = len(widths)
        this = start
        while this < end:
            if column >= len(rows[this]) - 1:
                this += 1
                continue
            write_lines(start, this)
            start = this
            width = minwidth
            while this < end and column < len(rows[this]) - 1:
                width = max(width, len(rows[this][column]) + padding)
                this += 1
            widths.append(width)
            fmt(start, this)
            widths.pop()
            start = this
        write_lines(start, end)

    fmt(0, len(rows))
    return out


class _Writer:
    """kubectl describe's PrefixWriter: levels indent by two spaces; flush() ends column blocks."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.buf = ""

    def write(self, level: int, text: str) -> None:
        self.buf += "  " * level + text

    def flush(self) -> None:
        self.parts.append(self.buf)
        self.buf = ""

    def render(self) -> str:
        self.flush()
        lines: list[str] = []
        for part in self.parts:
            lines += _tabwrite(part, 0, 2)
        return "\n".join(lines) + "\n" if lines else ""


