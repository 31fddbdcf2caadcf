"""Field selectors (`?fieldSelector=spec.nodeName=node-1,status.phase!=Running`) as the apiserver
evaluates them: `=`, `==`, `!=`, terms ANDed by commas, backslash escapes in values, and per kind only
the fields upstream makes selectable (anything else answers 400 "field label not supported")."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from netlab.api.errors import ApiError


def _path(*keys: str) -> Callable[[dict], str]:
    def get(obj: dict) -> str:
        cur = obj
        for k in keys:
            cur = cur.get(k) if isinstance(cur, dict) else None
            if cur is None:
                return ""
        if isinstance(cur, bool):
            return "true" if cur else "false"
        return str(cur)
    return get


def _pod_ips(obj: dict) -> str:
    return ",".join(p.get("ip", "") for p in (obj.get("status") or {}).get("podIPs") or [])


_METADATA = {"metadata.name": _path("metadata", "name"), "metadata.namespace": _path("metadata", "namespace")}

# Per kind, the selectable fields upstream's registries declare (besides metadata.name/namespace).
_FIELDS: dict[str, dict[str, Callable[[dict], str]]] = {
    "Pod": {"spec.nodeName": _path("spec", "nodeName"), "spec.restartPolicy": _path("spec", "restartPolicy"),
            "spec.schedulerName": _path("spec", "schedulerName"),
            "spec.serviceAccountName": _path("spec", "serviceAccountName"),
            "spec.hostNetwork": lambda o: "true" if (o.get("spec") or {}).get("hostNetwork") else "false",
            "status.phase": _path("status", "phase"), "status.podIP": _path("status", "podIP"),
            "status.podIPs": _pod_ips, "status.nominatedNodeName": _path("status", "nominatedNodeName")},
    "Event": {f"involvedObject.{f}": _path("involvedObject", f)
              for f in ("kind", "namespace", "name", "uid", "apiVersion", "resourceVersion", "fieldPath")}
    | {"reason": _path("reason"), "reportingComponent": _path("reportingComponent"),
       "source": _path("source", "component"), "type": _path("type")},
    "Node": {"spec.unschedulable": lambda o: "true" if (o.get("spec") or {}).get("unschedulable") else "false"},
    "Namespace": {"status.phase": _path("status", "phase")},
    "Secret": {"type": _path("type")},
    "ReplicaSet": {"status.replicas": _path("status", "replicas")},
    "Service": {"spec.clusterIP": _path("spec", "clusterIP"), "spec.type": _path("spec", "type")},
}


@dataclass(frozen=True)
class Term:
    field: str
    op: str  # "=" or "!="
    value: str


def _split(text: str, sep: str) -> list[str]:
    """Split on sep where it is not backslash-escaped (escapes are kept for the next step)."""
    parts, cur, i = [], [], 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            cur += [ch, text[i + 1]]
            i += 2
            continue
        if ch == sep:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
        i += 1
    parts.append("".join(cur))
    return parts


def _unescape(value: str, whole: str) -> str:
    out, i = [], 0
    while i < len(value):
        if value[i] == "\\":
            if i + 1 >= len(value) or value[i + 1] not in "\\,=":
                raise ApiError(400, "BadRequest", f"invalid field selector: {whole!r}: invalid escape sequence")
            out.append(value[i + 1])
            i += 2
        else:
            out.append(value[i])
            i += 1
    return "".join(out)


def _operator(term: str) -> tuple[str, str, str] | None:
    """(field, op, raw value) at the first unescaped operator, trying != and == before =."""
    i = 0
    while i < len(term):
        if term[i] == "\\":
            i += 2
            continue
        for op in ("!=", "==", "="):
            if term.startswith(op, i):
                return term[:i], "!=" if op == "!=" else "=", term[i + len(op):]
        i += 1
    return None


def parse(selector: str) -> list[Term]:
    """Terms of a field selector; raises ApiError 400 on syntax errors (an empty selector selects all)."""
    terms = []
    for part in _split(selector.strip(), ","):
        if not part.strip():
            continue
        found = _operator(part)
        if found is None:
            raise ApiError(400, "BadRequest", f"invalid selector: '{selector}'; can't understand '{part}'")
        field, op, value = found
        terms.append(Term(field.strip(), op, _unescape(value, selector)))
    return terms


def supported(kind: str) -> dict[str, Callable[[dict], str]]:
    return {**_METADATA, **_FIELDS.get(kind, {})}


def compile_selector(kind: str, selector: str | None) -> Callable[[dict], bool]:
    """A predicate over objects of kind; raises ApiError 400 for bad syntax or an unsupported field,
    before any object is looked at (as upstream, even on an empty list)."""
    terms = parse(selector or "")
    fields = supported(kind)
    checks = []
    for t in terms:
        getter = fields.get(t.field)
        if getter is None:
            raise ApiError(400, "BadRequest", f"field label not supported: {t.field}")
        checks.append((getter, t.op == "=", t.value))

    def match(obj: dict) -> bool:
        return all((getter(obj) == value) == equal for getter, equal, value in checks)
    return match


def select(kind: str, objects: list[dict], selector: str | None) -> list[dict]:
    match = compile_selector(kind, selector)
    return [o for o in objects if match(o)]
