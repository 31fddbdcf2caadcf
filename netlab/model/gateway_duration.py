"""Gateway API Durations (GEP-2257): 1-4 groups of up to 5 digits with a unit h, m, s or ms ("1h30m",
"500ms"), as HTTPRoute rule `timeouts` take them, with the CRD's pattern and CEL rule."""

from __future__ import annotations

import re

DURATION_RE = re.compile(r"^([0-9]{1,5}(h|m|s|ms)){1,4}$")
_PART = re.compile(r"([0-9]{1,5})(ms|h|m|s)")
_MS = {"h": 3_600_000, "m": 60_000, "s": 1000, "ms": 1}


def milliseconds(duration: str) -> int:
    """A valid Duration in milliseconds."""
    return sum(int(n) * _MS[unit] for n, unit in _PART.findall(duration))


def timeout_problems(timeouts: object, path: str) -> list[tuple[str, str]]:
    """The CRD's pattern and CEL rule on a rule's `timeouts`."""
    if timeouts is None:
        return []
    if not isinstance(timeouts, dict):
        return [(path, "Invalid value: must be an object")]
    out = []
    for name in ("request", "backendRequest"):
        value = timeouts.get(name)
        if value is not None and (not isinstance(value, str) or not DURATION_RE.match(value)):
            out.append((f"{path}.{name}", f"Invalid value: {value!r}: spec.rules.timeouts.{name} in body should "
                                          f"match '{DURATION_RE.pattern}'"))
    if not out and timeouts.get("request") and timeouts.get("backendRequest"):
        request, backend = milliseconds(timeouts["request"]), milliseconds(timeouts["backendRequest"])
        if request != 0 and backend > request:
            out.append((path, "Invalid value: backendRequest timeout cannot be longer than request timeout"))
    return out
