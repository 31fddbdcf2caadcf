"""Server-side apply and field ownership (metadata.managedFields), scoped to what kubectl shows and needs.

Field paths (netlab/api/patch_fields.py) are in the upstream FieldsV1 spelling. Apply sets the fields of the
config, takes ownership of them, drops what this manager applied before and no longer does (unless another
manager owns it), and answers 409 when another manager owns a field the config would change (unless force moves
ownership).
Other writes (create, PUT, PATCH) record their manager with operation Update through record_update().
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from netlab.api.errors import ApiError
from netlab.api.patch_fields import (
    MISSING,
    SYSTEM_METADATA,
    FieldPath,
    element,
    from_fields_v1,
    list_keys,
    object_fields,
    object_leaves,
    remove_fields,
    render,
    to_fields_v1,
)
from netlab.api.patch_smp import ordered

BEFORE_FIRST_APPLY = "before-first-apply"
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


@dataclass
class Entry:
    manager: str
    operation: str
    api_version: str
    fields: set[FieldPath] = field(default_factory=set)
    time: str = ""
    subresource: str = ""

    def same_owner(self, manager: str, operation: str, subresource: str = "") -> bool:
        return self.manager == manager and self.operation == operation and self.subresource == subresource

    def to_dict(self) -> dict:
        out = {"manager": self.manager, "operation": self.operation, "apiVersion": self.api_version,
               "time": self.time or _now(), "fieldsType": "FieldsV1", "fieldsV1": to_fields_v1(self.fields)}
        if self.subresource:
            out["subresource"] = self.subresource
        return out


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def read_entries(obj: dict) -> list[Entry]:
    entries = []
    for raw in (obj.get("metadata") or {}).get("managedFields") or []:
        if isinstance(raw, dict) and raw.get("manager") is not None:
            entries.append(Entry(str(raw["manager"]), str(raw.get("operation", "Update")),
                                 str(raw.get("apiVersion", "")), from_fields_v1(_dict(raw.get("fieldsV1"))),
                                 str(raw.get("time", "")), str(raw.get("subresource", ""))))
    return entries


def _dict(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def _entries_or_first(obj: dict, kind: str) -> list[Entry]:
    """The live entries; an existing object nobody manages yet belongs to "before-first-apply"."""
    entries = read_entries(obj)
    if not entries and obj:
        fields = object_fields(obj, kind)
        if fields:
            entries = [Entry(BEFORE_FIRST_APPLY, "Update", str(obj.get("apiVersion", "")), fields)]
    return entries


def _store(obj: dict, entries: list[Entry]) -> dict:
    """Write the entries that still own something, in the apiserver's order (Apply before Update, then by time,
    manager, version)."""
    kept = sorted((e for e in entries if e.fields),
                  key=lambda e: (e.operation, e.time, e.manager, e.api_version, e.subresource))
    live = [entry.to_dict() for entry in kept]
    meta = obj.setdefault("metadata", {})
    if live:
        meta["managedFields"] = live
    else:
        meta.pop("managedFields", None)
    return obj


def _differs(live: dict[FieldPath, Any], config: dict[FieldPath, Any], path: FieldPath) -> bool:
    """Whether applying the config changes the live leaf at `path` (leaves from object_leaves)."""
    if path in live:
        return live[path] is not config.get(path) and live[path] != config.get(path)
    if config.get(path) == {}:  # an empty map in the config matches any map there
        return not any(other[:len(path)] == path for other in live)
    return True


def _who(entry: Entry) -> str:
    """A manager as the apiserver names it in conflicts: Update managers with their version and time."""
    who = json.dumps(entry.manager)
    if entry.subresource:
        who += f" with subresource {json.dumps(entry.subresource)}"
    if entry.operation == "Update":
        who += f" using {entry.api_version}" + (f" at {entry.time}" if entry.time else "")
    return who


def _conflict_error(conflicts: dict[int, list[FieldPath]], entries: list[Entry]) -> ApiError:
    total = sum(len(paths) for paths in conflicts.values())
    causes = [{"type": "FieldManagerConflict", "message": f"conflict with {_who(entries[index])}",
               "field": render(path)} for index, paths in conflicts.items() for path in paths]
    if total == 1:
        return ApiError(409, "Conflict", f"Apply failed with 1 conflict: {causes[0]['message']}: "
                        f"{causes[0]['field']}", causes)
    lines = []
    for index in sorted(conflicts, key=lambda i: (entries[i].manager, entries[i].operation)):
        lines.append(f"conflicts with {_who(entries[index])}:")
        lines += [f"- {render(path)}" for path in conflicts[index]]
    return ApiError(409, "Conflict", f"Apply failed with {total} conflicts: " + "\n".join(lines), causes)


def _check_precondition(live: dict, config: dict) -> None:
    wanted = (config.get("metadata") or {}).get("resourceVersion")
    current = (live.get("metadata") or {}).get("resourceVersion")
    if wanted and live and str(wanted) != str(current):
        raise ApiError(409, "Conflict", "Operation cannot be fulfilled: the object has been modified; please "
                       "apply your changes to the latest version and try again")


def _raise_unless_last_applied(live: dict, kind: str, manager: str, conflicts: dict[int, list[FieldPath]],
                               entries: list[Entry], live_leaves: dict[FieldPath, Any]) -> None:
    """The 409 for these conflicts, except that `kubectl apply --server-side` takes over, without conflicts,
    the fields client-side apply set (those of the last-applied annotation that still hold their value):
    the apiserver's upgrade path from client-side to server-side apply."""
    allowed: set[FieldPath] = set()
    annotation = ((live.get("metadata") or {}).get("annotations") or {}).get(LAST_APPLIED)
    if manager == "kubectl" and annotation:
        try:
            last = json.loads(annotation)
        except ValueError:
            last = None
        if isinstance(last, dict):
            leaves = object_leaves(last, kind)
            allowed = {p for p in leaves if p in live_leaves and not _differs(live_leaves, leaves, p)}
    left = {i: [p for p in paths if p not in allowed] for i, paths in conflicts.items()}
    left = {i: paths for i, paths in left.items() if paths}
    if left:
        raise _conflict_error(left, entries)


def apply(live: dict, config: dict, manager: str, *, force: bool = False) -> dict:
    """Server-side apply of `config` by `manager` to `live` ({} when the object does not exist yet)."""
    kind = str(config.get("kind", ""))
    if live and live.get("kind") and live.get("kind") != kind:
        raise ApiError(400, "BadRequest", f"the apply patch is a {kind}, the object is a {live.get('kind')}")
    _check_precondition(live, config)
    if (config.get("metadata") or {}).get("managedFields") is not None:
        raise ApiError(400, "BadRequest", "metadata.managedFields must be nil")
    config = {k: copy.deepcopy(v) for k, v in config.items() if k != "status"}  # apply does not set status
    meta = config.get("metadata")
    if isinstance(meta, dict):
        config["metadata"] = {k: v for k, v in meta.items() if k in ("name", "namespace")
                              or k not in SYSTEM_METADATA}
    config_leaves = object_leaves(config, kind, strict=True)
    live_leaves = object_leaves(live, kind)
    applied = set(config_leaves)
    entries = _entries_or_first(live, kind)
    mine = next((e for e in entries if e.same_owner(manager, "Apply")), None)
    conflicts = {i: sorted(p for p in applied & e.fields if _differs(live_leaves, config_leaves, p))
                 for i, e in enumerate(entries) if e is not mine}
    conflicts = {i: paths for i, paths in conflicts.items() if paths}
    if conflicts and not force:
        _raise_unless_last_applied(live, kind, manager, conflicts, entries, live_leaves)
    for index, paths in conflicts.items():
        entries[index].fields -= set(paths)
    others = set().union(*(e.fields for e in entries if e is not mine))
    result = merge_config(copy.deepcopy(live), config, kind, ())
    if mine is not None:
        remove_fields(result, kind, mine.fields - applied - others, others)
        entries.remove(mine)
    entries.append(Entry(manager, "Apply", str(config.get("apiVersion", "")), applied, _now()))
    return _store(result, entries)


def record_update(old: dict, new: dict, manager: str, operation: str = "Update", subresource: str = "") -> dict:
    """`new` (written by create, PUT or PATCH) with managedFields: `manager` owns what it changed, the
    other managers lose those fields and whatever the write removed.
    As the apiserver: managedFields the write sends replace the old ones, a missing or empty list keeps them
    (clients that do not know the field cannot drop it), and [{}] strips them altogether."""
    kind = str(new.get("kind") or old.get("kind") or "")
    new = copy.deepcopy(new)
    sent = (new.get("metadata") or {}).get("managedFields")
    if isinstance(sent, list) and sent and all(entry == {} for entry in sent):
        new["metadata"].pop("managedFields")
        return new
    entries = read_entries(new) if sent else _entries_or_first(old, kind)
    before, after = object_leaves(old, kind), object_leaves(new, kind)
    changed = {p for p, value in after.items() if p not in before or _differs(before, after, p)}
    removed = set(before) - set(after)
    mine = next((e for e in entries if e.same_owner(manager, operation, subresource)), None)
    for entry in entries:
        entry.fields -= removed
        if entry is not mine:
            entry.fields -= changed
    if changed:
        if mine is None:
            mine = Entry(manager, operation, str(new.get("apiVersion", "")), subresource=subresource)
            entries.append(mine)
        mine.fields |= changed
        mine.time = _now()
    return _store(new, entries)


def merge_config(live: Any, config: Any, kind: str, schema: tuple[str, ...]) -> Any:
    """The live value with the applied config merged in: maps by key, keyed lists by item, sets as a union,
    anything else replaced."""
    if isinstance(live, dict) and isinstance(config, dict):
        for key, value in config.items():
            if value is not None:
                live[key] = merge_config(live.get(key, MISSING), value, kind, schema + (key,))
        return live
    if isinstance(live, list) and isinstance(config, list):
        style, keys = list_keys(kind, schema)
        if style == "atomic":
            return copy.deepcopy(config)

        def name(item: Any) -> str:
            return element(item, style, keys)
        merged = list(live)
        where: dict[str, int] = {}
        for i, entry in enumerate(merged):
            where.setdefault(name(entry), i)
        for item in config:
            at = where.get(name(item))
            if at is None:
                where[name(item)] = len(merged)
                merged.append(copy.deepcopy(item))
            elif style == "keyed":
                merged[at] = merge_config(merged[at], item, kind, schema)
        # Applied items in the config's order, the others where they were (as SMP orders a merged list).
        return ordered(merged, config, live, name)
    return copy.deepcopy(config)


