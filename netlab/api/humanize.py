"""Pure text for kubectl-shaped output, shared by the API's Table columns and the CLI printers:
ages (apimachinery's HumanDuration), label and selector strings, load-balancer addresses."""

from __future__ import annotations

from datetime import UTC, datetime

NONE = "<none>"


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
