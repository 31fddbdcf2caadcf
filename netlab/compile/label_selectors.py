"""Kubernetes label selectors, matched in one place: the object form (matchLabels, matchExpressions) that
NetworkPolicies, Deployments and ReplicaSets carry, a Service's plain map, and kubectl's `-l` text."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist")


class SelectorError(ValueError):
    pass


def requirement_matches(key: str, operator: str, values: Iterable[str], labels: Mapping[str, str]) -> bool:
    """One requirement (apimachinery's labels.Requirement): NotIn and DoesNotExist match a missing key."""
    if operator == "In":
        return key in labels and labels[key] in values
    if operator == "NotIn":
        return key not in labels or labels[key] not in values
    if operator == "Exists":
        return key in labels
    if operator == "DoesNotExist":
        return key not in labels
    raise SelectorError(f"invalid label selector operator {operator!r}")


def matches(selector: Mapping[str, Any] | None, labels: Mapping[str, str]) -> bool:
    """A LabelSelector as Kubernetes JSON: matchLabels AND every matchExpression; `{}` matches everything.

    `None` is treated as `{}` here; callers decide what an absent selector means in their context."""
    if not selector:
        return True
    if not _labels_match(selector.get("matchLabels") or {}, labels):
        return False
    return all(requirement_matches(e.get("key"), e.get("operator"), e.get("values") or [], labels)
               for e in selector.get("matchExpressions") or [])


def matches_map(selector: Mapping[str, str] | None, labels: Mapping[str, str]) -> bool:
    """A Service's (or ReplicationController's) selector map: an empty one selects nothing."""
    return bool(selector) and _labels_match(selector, labels)


def _labels_match(required: Mapping[str, str], labels: Mapping[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in required.items())


def parse_text(selector: str) -> list[tuple[str, str, Sequence[str]]]:
    """kubectl's -l syntax: a=b, a==b, a!=b, a, !a, a in (x,y), a notin (x,y), comma-separated (AND)."""
    out: list[tuple[str, str, Sequence[str]]] = []
    for term in _split_terms(selector):
        term = term.strip()
        if not term:
            continue
        if " notin " in term or " in " in term:
            key, op, values = term.replace("(", " ").replace(")", " ").split(None, 2)
            allowed = [v.strip() for v in values.split(",") if v.strip()]
            out.append((key, "In" if op == "in" else "NotIn", allowed))
        elif "!=" in term:
            key, value = term.split("!=", 1)
            out.append((key.strip(), "NotIn", [value.strip()]))
        elif "=" in term:
            key, value = term.replace("==", "=").split("=", 1)
            out.append((key.strip(), "In", [value.strip()]))
        elif term.startswith("!"):
            out.append((term[1:].strip(), "DoesNotExist", []))
        else:
            out.append((term, "Exists", []))
    return out


def matches_text(selector: str, labels: Mapping[str, str]) -> bool:
    """kubectl's -l selector (see parse_text) against an object's labels."""
    return all(requirement_matches(key, op, values, labels) for key, op, values in parse_text(selector))


def _split_terms(selector: str) -> list[str]:
    terms, depth, current = [], 0, ""
    for ch in selector:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            terms.append(current)
            current = ""
        else:
            current += ch
    terms.append(current)
    return terms
