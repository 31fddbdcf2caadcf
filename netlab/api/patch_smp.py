"""Kubernetes strategic merge patch (application/strategic-merge-patch+json), as apimachinery's
strategicpatch applies it on the server.

Maps merge key by key and a null deletes. Lists whose field has patchStrategy "merge" (netlab/api/patch_meta.py)
merge: lists of maps by their patchMergeKey, lists of scalars as a set; every other list is replaced.
Directives: {"$patch": "replace"|"delete"} in a map or list item, "$retainKeys", "$setElementOrder/<field>"
and "$deleteFromPrimitiveList/<field>". Item order follows the patch, then the live list (upstream's rule).
"""

from __future__ import annotations

import copy
from typing import Any

from netlab.api.errors import ApiError
from netlab.api.patch_meta import ListMeta, list_meta

DIRECTIVE = "$patch"
RETAIN_KEYS = "$retainKeys"
SET_ORDER = "$setElementOrder/"
DELETE_PRIMITIVE = "$deleteFromPrimitiveList/"

Path = tuple[str, ...]


def bad_request(message: str) -> ApiError:
    return ApiError(400, "BadRequest", message)


def where(path: Path) -> str:
    return ".".join(path) or "<root>"


def strategic_merge(kind: str, live: dict, patch: dict) -> dict:
    """The live object with the patch applied (neither argument is changed)."""
    if not isinstance(patch, dict):
        raise bad_request("strategic merge patch body must be a JSON object")
    return _merge_map(copy.deepcopy(live), copy.deepcopy(patch), kind, ())


def strip_directives(value: Any) -> tuple[Any, bool]:
    """`value` without directives and null map values (as upstream takes a patch value that has no live
    counterpart); False when the value itself is a directive and must be dropped."""
    if isinstance(value, dict):
        if DIRECTIVE in value:
            return None, False
        out = {}
        for key, item in value.items():
            if item is None or key.startswith("$"):
                continue
            item, keep = strip_directives(item)
            if keep:
                out[key] = item
        return out, True
    if isinstance(value, list):
        return [item for item, keep in map(strip_directives, value) if keep], True
    return value, True


def _map_directive(patch: dict, path: Path) -> dict:
    directive = patch.pop(DIRECTIVE)
    if directive == "replace":
        return strip_directives(patch)[0]
    if directive == "delete":
        return {}
    raise bad_request(f"unknown patch type: {directive!r} in map at {where(path)}")


def _retain_keys(live: dict, patch: dict, path: Path) -> None:
    retain = patch.pop(RETAIN_KEYS)
    if not isinstance(retain, list):
        raise bad_request(f"invalid patch: $retainKeys at {where(path)} must be a list of field names")
    kept = set(map(str, retain))
    for key, value in patch.items():
        if value is not None and not key.startswith("$") and key not in kept:
            raise bad_request(f"invalid patch: field {where(path + (key,))} is not in the $retainKeys list")
    for key in [k for k in live if k not in kept]:
        del live[key]


def _kind_of(value: Any) -> str:
    if isinstance(value, dict):
        return "map"
    if isinstance(value, list):
        return "list"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    return "string" if isinstance(value, str) else "null"


def _merge_map(live: dict, patch: dict, kind: str, path: Path) -> dict:
    if DIRECTIVE in patch:
        return _map_directive(patch, path)
    if RETAIN_KEYS in patch:
        _retain_keys(live, patch, path)
    for key in [k for k in patch if k.startswith(SET_ORDER)]:
        _apply_element_order(live, patch, key, kind, path)
    for key, value in patch.items():
        if key.startswith(DELETE_PRIMITIVE):
            _delete_from_primitive_list(live, key[len(DELETE_PRIMITIVE):], value, path)
            continue
        if value is None:
            live.pop(key, None)
            continue
        field = path + (key,)
        current = live.get(key)
        if key not in live or _kind_of(current) != _kind_of(value):
            value, keep = strip_directives(value)
            if keep:
                live[key] = value
            else:
                live.pop(key, None)
        elif isinstance(value, dict):
            live[key] = _merge_map(current, value, kind, field)
        elif isinstance(value, list):
            meta = list_meta(kind, field)
            if meta is not None and meta.merges:
                live[key] = _merge_list(current, value, meta, kind, field)
            else:
                live[key] = strip_directives(value)[0]
        else:
            live[key] = value
    return live


def _delete_from_primitive_list(live: dict, field: str, values: Any, path: Path) -> None:
    if not field:
        raise bad_request(f"invalid patch: bad $deleteFromPrimitiveList directive at {where(path)}")
    if not isinstance(values, list):
        raise bad_request(f"invalid patch: {DELETE_PRIMITIVE}{field} at {where(path)} must be a list")
    current = live.get(field)
    if isinstance(current, list):
        live[field] = [item for item in current if item not in values]


def _apply_element_order(live: dict, patch: dict, key: str, kind: str, path: Path) -> None:
    order = patch.pop(key)
    field = key[len(SET_ORDER):]
    if not field or not isinstance(order, list):
        raise bad_request(f"invalid patch: bad {key} directive at {where(path)}")
    here = path + (field,)
    meta = list_meta(kind, here) or ListMeta()
    current, incoming = live.get(field), patch.pop(field, None)
    if current is not None and not isinstance(current, list):
        raise bad_request(f"{where(here)} is not a list in the live object")
    if incoming is not None and not isinstance(incoming, list):
        raise bad_request(f"{where(here)} must be a list in the patch")
    if incoming is None:
        merged = current
    elif current is None:
        merged = strip_directives(incoming)[0]
    elif meta.merges:
        merged = _merge_list(current, incoming, meta, kind, here)
    else:
        merged = strip_directives(incoming)[0]
    if merged is None:
        return
    key_of = _key_function(meta.merge_key, here, merged + order)
    live[field] = ordered(merged, order, current or [], key_of)


def _key_function(merge_key: str | None, path: Path, items: list):
    if not items or not isinstance(items[0], dict):
        return lambda item: _hashable(item)

    def key_of(item: Any) -> Any:
        if not isinstance(item, dict):
            raise bad_request(f"the elements of {where(path)} are not all of the same type")
        if merge_key not in item:
            raise bad_request(f"an item of {where(path)} does not contain the merge key {merge_key!r}: {item}")
        return _hashable(item[merge_key])
    return key_of


def _hashable(value: Any) -> Any:
    return (type(value).__name__, repr(value)) if isinstance(value, (dict, list, bool)) else value


def _check_elements(items: list, path: Path) -> str:
    kinds = {_kind_of(item) for item in items}
    if "list" in kinds:
        raise ApiError(422, "Invalid", f"lists of lists are not supported ({where(path)})")
    if len(kinds) > 1:
        raise bad_request(f"the elements of {where(path)} are not all of the same type")
    return kinds.pop() if kinds else "map"


def _merge_list(live: list, patch: list, meta: ListMeta, kind: str, path: Path) -> list:
    if not live and not patch:
        return live
    if _check_elements(live + patch, path) != "map":
        merged = list(dict.fromkeys(map(_hashable, live + patch)))
        values = {_hashable(item): item for item in live + patch}
        return ordered([values[k] for k in merged], patch, live, _hashable)
    if not meta.merge_key:
        raise bad_request(f"cannot merge lists without merge key for {where(path)}")
    key_of = _key_function(meta.merge_key, path, live + patch)
    original = list(live)
    plain: list[dict] = []
    replace = False
    for item in patch:
        directive = item.get(DIRECTIVE)
        if DIRECTIVE not in item:
            plain.append(item)
        elif directive == "delete":
            gone = key_of(item)
            live = [entry for entry in live if key_of(entry) != gone]
        elif directive == "replace":
            replace = True
        elif directive == "merge":
            raise bad_request(f"merging lists cannot yet be specified in the patch ({where(path)})")
        else:
            raise bad_request(f"unknown patch type: {directive!r} in list {where(path)}")
    if replace:
        return [strip_directives(item)[0] for item in plain]
    merged = list(live)
    for item in plain:
        wanted = key_of(item)
        at = next((i for i, entry in enumerate(merged) if key_of(entry) == wanted), None)
        if at is None:
            merged.append(strip_directives(item)[0])
        else:
            merged[at] = _merge_map(merged[at], item, kind, path)
    return ordered(merged, plain, original, key_of)


def ordered(merged: list, patch_order: list, server_order: list, key_of) -> list:
    """Items named in `patch_order` in that order, the others in live order, interleaved where both are
    in the live list (upstream's normalizeElementOrder/mergeSortedSlice)."""
    patch_rank: dict = {}
    for item in patch_order:
        if not (isinstance(item, dict) and DIRECTIVE in item):
            patch_rank.setdefault(key_of(item), len(patch_rank))
    server_rank: dict = {}
    for item in server_order:
        server_rank.setdefault(key_of(item), len(server_rank))
    keyed = [(key_of(item), item) for item in merged]
    last = len(server_rank)
    from_patch = sorted((pair for pair in keyed if pair[0] in patch_rank), key=lambda pair: patch_rank[pair[0]])
    server_only = sorted((pair for pair in keyed if pair[0] not in patch_rank),
                         key=lambda pair: server_rank.get(pair[0], last))
    out: list = []
    i = j = 0
    while i < len(server_only) and j < len(from_patch):
        left, right = server_rank.get(server_only[i][0]), server_rank.get(from_patch[j][0])
        if left is not None and right is not None and left < right:
            out.append(server_only[i][1])
            i += 1
        else:
            out.append(from_patch[j][1])
            j += 1
    return out + [item for _, item in from_patch[j:]] + [item for _, item in server_only[i:]]
