"""Field paths of Kubernetes objects in the upstream FieldsV1 spelling, for server-side apply's managedFields.

A path is a tuple: "f:<field>", 'k:{"name":"web"}' for an item of a keyed list (its patch merge key / list map
keys from netlab/api/patch_meta.py), 'v:"x"' for an item of a set, and "." for a keyed item itself. Other
lists are atomic: one leaf.
"""

from __future__ import annotations

import json
from typing import Any

from netlab.api.errors import ApiError
from netlab.api.patch_meta import list_meta

FieldPath = tuple[str, ...]
MISSING = object()
ITEM = object()
# Fields no manager owns: identity and bookkeeping the server sets (as upstream strips them), and status,
# which a write to the main resource does not set.
SYSTEM_METADATA = {"name", "namespace", "uid", "resourceVersion", "generation", "creationTimestamp",
                    "deletionTimestamp", "deletionGracePeriodSeconds", "managedFields", "selfLink"}
# Key fields the server defaults, so an item written without them is the same item as the live one.
_KEY_DEFAULTS = {"protocol": "TCP"}


def to_fields_v1(paths: set[FieldPath]) -> dict:
    tree: dict = {}
    for path in sorted(paths):
        node = tree
        for part in path:
            node = node.setdefault(part, {})
    return tree


def from_fields_v1(tree: dict, prefix: FieldPath = ()) -> set[FieldPath]:
    paths: set[FieldPath] = set()
    for part, sub in tree.items():
        if isinstance(sub, dict) and sub:
            paths |= from_fields_v1(sub, prefix + (part,))
        else:
            paths.add(prefix + (part,))
    return paths


def _item_identity(item: dict, keys: tuple[str, ...]) -> dict:
    return {key: item.get(key, _KEY_DEFAULTS.get(key)) for key in keys
            if key in item or (key in _KEY_DEFAULTS and key != keys[0])}


def list_keys(kind: str, schema: tuple[str, ...]) -> tuple[str, tuple[str, ...]]:
    """("keyed", keys), ("set", ()) or ("atomic", ()) for the list at `schema`."""
    meta = list_meta(kind, schema)
    if meta is not None and meta.map_keys and (meta.list_type == "map" or meta.merges):
        return "keyed", meta.map_keys
    if meta is not None and (meta.list_type == "set" or (meta.merges and not meta.merge_key)):
        return "set", ()
    return "atomic", ()


def element(item: Any, style: str, keys: tuple[str, ...]) -> str:
    if style == "keyed" and isinstance(item, dict):
        return "k:" + json.dumps(_item_identity(item, keys), separators=(",", ":"), sort_keys=True)
    return "v:" + json.dumps(item, separators=(",", ":"), sort_keys=True)


def object_fields(obj: dict, kind: str) -> set[FieldPath]:
    """The leaf field paths an object sets (system metadata, apiVersion, kind and status left out)."""
    return set(object_leaves(obj, kind))


def object_leaves(obj: dict, kind: str, *, strict: bool = False) -> dict[FieldPath, Any]:
    """Each leaf field path of an object with its value (ITEM for a keyed list item itself).
    strict (for an apply config): two items of a keyed list with the same key are a 422, as upstream;
    stored objects may have them (upstream lets updates keep duplicates), the later item wins."""
    out: dict[FieldPath, Any] = {}
    for key, value in obj.items():
        if key in ("apiVersion", "kind", "status") or value is None:
            continue
        if key == "metadata" and isinstance(value, dict):
            value = {k: v for k, v in value.items() if k not in SYSTEM_METADATA}
            if not value:
                continue
        _walk(value, kind, (key,), ("f:" + key,), out, strict)
    return out


def _walk(value: Any, kind: str, schema: tuple[str, ...], path: FieldPath, out: dict[FieldPath, Any],
          strict: bool) -> None:
    if isinstance(value, dict) and value:
        for key, sub in value.items():
            if sub is not None:
                _walk(sub, kind, schema + (key,), path + ("f:" + key,), out, strict)
        return
    style, keys = list_keys(kind, schema) if isinstance(value, list) else ("atomic", ())
    if style == "atomic":
        out[path] = value
        return
    for item in value:
        here = path + (element(item, style, keys),)
        if style == "set" or not isinstance(item, dict):
            out[here] = item
            continue
        if strict and here + (".",) in out:
            raise ApiError(422, "Invalid", f"{render(path)}: duplicate entries for key {render(here[-1:])}",
                           [{"reason": "FieldValueDuplicate", "field": render(path)[1:],
                             "message": f"duplicate entries for key {render(here[-1:])}"}])
        out[here + (".",)] = ITEM
        for key, sub in item.items():
            if sub is not None:
                _walk(sub, kind, schema + (key,), here + ("f:" + key,), out, strict)


def value_at(obj: Any, kind: str, path: FieldPath) -> Any:
    """The value at a field path, or MISSING."""
    schema: tuple[str, ...] = ()
    for part in path:
        if part == ".":
            continue
        if part.startswith("f:") and isinstance(obj, dict):
            schema += (part[2:],)
            obj = obj.get(part[2:], MISSING)
        elif isinstance(obj, list):
            style, keys = list_keys(kind, schema)
            obj = next((item for item in obj if element(item, style, keys) == part), MISSING)
        else:
            return MISSING
        if obj is MISSING:
            return MISSING
    return obj


def render(path: FieldPath) -> str:
    """A field path as the apiserver prints it in conflicts: .spec.ports[port=80,protocol="TCP"].name"""
    out = ""
    for part in path:
        if part.startswith("f:"):
            out += "." + part[2:]
        elif part.startswith("k:"):
            out += "[" + ",".join(f"{k}={json.dumps(v)}" for k, v in key_fields(part).items()) + "]"
        elif part.startswith("v:"):
            out += f"[={part[2:]}]"
    return out


def key_fields(part: str) -> dict:
    """The key fields of a 'k:{...}' path element ({} if a client sent a malformed one)."""
    try:
        keys = json.loads(part[2:])
    except ValueError:
        return {}
    return keys if isinstance(keys, dict) else {}


def remove_fields(obj: dict, kind: str, paths: set[FieldPath], kept: set[FieldPath]) -> None:
    """Delete the fields at `paths`: whole list items first (unless `kept` paths still reach into them), then
    single fields, deepest first, never the key fields of an item that stays; then drop the maps and lists
    that the deletion left empty."""
    items = sorted((p[:-1] for p in paths if p[-1] == "."), key=len, reverse=True)
    for target in items:
        if not any(other[:len(target)] == target for other in kept):
            _delete(obj, kind, target)
            _prune(obj, kind, target[:-1], kept)
    for path in sorted((p for p in paths if p[-1] != "."), key=len, reverse=True):
        if _is_item_key(path) or any(other[:len(path)] == path for other in kept):
            continue
        _delete(obj, kind, path)
        _prune(obj, kind, path[:-1], kept)


def _is_item_key(path: FieldPath) -> bool:
    return len(path) > 1 and path[-2].startswith("k:") and path[-1][2:] in key_fields(path[-2])


def _delete(obj: dict, kind: str, path: FieldPath) -> None:
    parent = value_at(obj, kind, path[:-1]) if path[:-1] else obj
    last = path[-1]
    if isinstance(parent, dict) and last.startswith("f:"):
        parent.pop(last[2:], None)
    elif isinstance(parent, list):
        item = value_at(obj, kind, path)
        if item is not MISSING:
            parent.remove(item)


def _prune(obj: dict, kind: str, path: FieldPath, kept: set[FieldPath]) -> None:
    while path and path[-1] != ".":
        value = value_at(obj, kind, path)
        if value not in ({}, []) or any(other[:len(path)] == path for other in kept):
            return
        _delete(obj, kind, path)
        path = path[:-1]
