"""Checks of a pod's volumes and volumeMounts as the API server makes them (volumes stay free-form in the
models: many volume types are accepted and only some are filled by netlab, see netlab.compile.volumes)."""

from __future__ import annotations

from typing import Any

from . import dns1123 as names
from .meta import Issue, check_name, json_type

_SOURCES = ("configMap", "secret", "downwardAPI", "projected")
_NAME_FIELD = {"configMap": "name", "secret": "secretName"}


def _mode(value: Any, path: str) -> list[Issue]:
    if isinstance(value, bool) or not isinstance(value, int):
        return [(path, f"expected integer (a file mode such as 0644), got {json_type(value)}")]
    if not 0 <= value <= 0o777:
        return [(path, f"must be a number between 0 and 0777 (octal), both inclusive, got {value}")]
    return []


def _source_issues(kind: str, src: Any, path: str) -> list[Issue]:
    if not isinstance(src, dict):
        return [(path, f"expected object, got {json_type(src)}")]
    issues: list[Issue] = []
    if "defaultMode" in src:
        issues += _mode(src["defaultMode"], f"{path}.defaultMode")
    field = _NAME_FIELD.get(kind)
    if field is not None and not src.get(field):
        issues.append((f"{path}.{field}", "Required value"))
    items = src.get("items") or []
    for i, item in enumerate(items if isinstance(items, list) else []):
        if isinstance(item, dict):
            if "mode" in item:
                issues += _mode(item["mode"], f"{path}.items[{i}].mode")
            rel = str(item.get("path") or "")
            if not rel or rel.startswith("/") or ".." in rel.split("/"):
                issues.append((f"{path}.items[{i}].path", f"must be a relative path without '..', got {rel!r}"))
    for i, source in enumerate(src.get("sources") or [] if kind == "projected" else []):
        for sub in ("configMap", "secret", "downwardAPI"):
            if isinstance(source, dict) and sub in source:
                issues += [(p, m) for p, m in _source_issues(sub, source[sub], f"{path}.sources[{i}].{sub}")
                           if not p.endswith(".secretName") and not p.endswith(".defaultMode")]
    return issues


def volume_issues(volumes: list[dict], containers: list[tuple[str, list[dict]]], path: str) -> list[Issue]:
    """volumes: the pod's; containers: (path of each container, its volumeMounts)."""
    issues: list[Issue] = []
    seen: set[str] = set()
    for i, vol in enumerate(volumes):
        vpath = f"{path}.volumes[{i}]"
        name = vol.get("name")
        if not isinstance(name, str) or not name:
            issues.append((f"{vpath}.name", "Required value"))
            continue
        issues += check_name(name, f"{vpath}.name", names.check_dns1123_label)
        if name in seen:
            issues.append((f"{vpath}.name", f'Duplicate value: "{name}"'))
        seen.add(name)
        types = [k for k in vol if k != "name"]
        if len(types) > 1:
            issues.append((vpath, f"may not specify more than 1 volume type (got {', '.join(sorted(types))})"))
        for kind in _SOURCES:
            if kind in vol:
                issues += _source_issues(kind, vol[kind], f"{vpath}.{kind}")
    for cpath, mounts in containers:
        for j, vm in enumerate(mounts):
            mpath = f"{cpath}.volumeMounts[{j}]"
            if vm.get("name") not in seen:
                issues.append((f"{mpath}.name", f'Not found: "{vm.get("name")}"'))
            if not vm.get("mountPath"):
                issues.append((f"{mpath}.mountPath", "Required value"))
            sub = str(vm.get("subPath") or "")
            if sub.startswith("/") or ".." in sub.split("/"):
                issues.append((f"{mpath}.subPath", "must be a relative path without '..'"))
    return issues
