"""Shared pieces of the printers: time formatting, small accessors, Go's text/tabwriter."""

from __future__ import annotations

from datetime import UTC, datetime

NONE = "<none>"
CLUSTER_SCOPED = frozenset({"Node", "Namespace", "IngressClass", "PersistentVolume", "StorageClass",
                            "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition"})
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


# ----- time -------------------------------------------------------------------------------------
def _parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        t = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except (TypeError, ValueError):
        return None
    return t if t.tzinfo else t.replace(tzinfo=UTC)


def human_duration(seconds: float) -> str:
    """k8s.io/apimachinery/pkg/util/duration.HumanDuration for a duration in seconds."""
    s = int(seconds)
    if s < -1:
        return "<invalid>"
    if s < 0:
        return "0s"
    if s < 60 * 2:
        return f"{s}s"
    minutes = s // 60
    if minutes < 10:
        rest = s % 60
        return f"{minutes}m{rest}s" if rest else f"{minutes}m"
    if minutes < 60 * 3:
        return f"{minutes}m"
    hours = minutes // 60
    if hours < 8:
        rest = minutes % 60
        return f"{hours}h{rest}m" if rest else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        rest = hours % 24
        return f"{hours // 24}d{rest}h" if rest else f"{hours // 24}d"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        rest = (hours // 24) % 365
        return f"{hours // 24 // 365}y{rest}d" if rest else f"{hours // 24 // 365}y"
    return f"{hours // 24 // 365}y"


def format_age(created_iso: str | None, now: float) -> str:
    """Age of an RFC 3339 timestamp at `now`, like kubectl's AGE column ("<unknown>" when unset)."""
    t = _parse_time(created_iso)
    if t is None:
        return "<unknown>"
    return human_duration(now - t.timestamp())


def _rfc1123z(value: str | None) -> str:
    """Go's time.RFC1123Z, in UTC: "Mon, 02 Jan 2006 15:04:05 +0000"."""
    t = _parse_time(value)
    if t is None:
        return "<unknown>"
    t = t.astimezone(UTC)
    return f"{_DAYS[t.weekday()]}, {t.day:02d} {_MONTHS[t.month - 1]} {t.year} {t:%H:%M:%S} +0000"


# ----- small helpers ----------------------------------------------------------------------------
def _meta(obj: dict) -> dict:
    return obj.get("metadata") or {}


def _name(obj: dict) -> str:
    return _meta(obj).get("name", "")


def _age(obj: dict, now: float) -> str:
    return format_age(_meta(obj).get("creationTimestamp"), now)


def format_labels(labels: dict | None) -> str:
    """labels.FormatLabels: sorted "k=v,k2=v2", or <none>."""
    if not labels:
        return NONE
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items()))


def format_label_selector(selector: dict | None) -> str:
    """metav1.FormatLabelSelector: "app=api,tier in (a,b),!x", or <none> when it selects everything."""
    if selector is None:
        return NONE
    reqs: list[tuple[str, str]] = [(k, f"{k}={v}") for k, v in (selector.get("matchLabels") or {}).items()]
    for e in selector.get("matchExpressions") or []:
        key, op, values = e.get("key", ""), e.get("operator", ""), sorted(e.get("values") or [])
        if op == "In":
            reqs.append((key, f"{key} in ({','.join(values)})"))
        elif op == "NotIn":
            reqs.append((key, f"{key} notin ({','.join(values)})"))
        elif op == "Exists":
            reqs.append((key, key))
        elif op == "DoesNotExist":
            reqs.append((key, f"!{key}"))
        else:
            reqs.append((key, f"{key} {op} ({','.join(values)})"))
    text = ",".join(r for _, r in sorted(reqs, key=lambda r: r[0]))
    return text or NONE


def _lb_ingress(status: dict | None, wide: bool) -> str:
    """loadBalancerStatusStringer: sorted unique IPs/hostnames, truncated to 16 columns unless wide."""
    found = set()
    for ing in ((status or {}).get("loadBalancer") or {}).get("ingress") or []:
        if ing.get("ip"):
            found.add(ing["ip"])
        elif ing.get("hostname"):
            found.add(ing["hostname"])
    text = ",".join(sorted(found))
    if not wide and len(text) > 16:
        text = text[:13] + "..."
    return text


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


