"""PATCH semantics of the Kubernetes API, transport-free: the server hands in the live object and the
request body and gets the patched object back (validation of the result is the server's job).

Content types as the apiserver takes them: application/json-patch+json (RFC 6902, the jsonpatch library),
application/merge-patch+json (RFC 7386), application/strategic-merge-patch+json (netlab/api/patch_smp.py) and
application/apply-patch+yaml (server-side apply with managedFields, netlab/api/patch_apply.py).

For the server: check_patch_options() first (as the apiserver validates PatchOptions before the lookup), then
apply_patch() on an existing object or create_with_apply() for an apply to a missing one, and for every
write that is not an apply (create, PUT, PATCH) record_update(old, new, manager_for(fieldManager, User-Agent)).
"""

from __future__ import annotations

import copy
import json
from typing import Any

import jsonpatch
import jsonpointer
import yaml

from netlab.api import patch_apply
from netlab.api.errors import ApiError
from netlab.api.patch_smp import bad_request, strategic_merge

JSON_PATCH = "application/json-patch+json"
MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_MERGE_PATCH = "application/strategic-merge-patch+json"
APPLY_PATCH = "application/apply-patch+yaml"
CONTENT_TYPES = (JSON_PATCH, MERGE_PATCH, APPLY_PATCH, STRATEGIC_MERGE_PATCH)  # the apiserver's order

record_update = patch_apply.record_update


def apply_patch(live: dict, body: bytes, content_type: str, *, field_manager: str | None = None,
                force: bool = False) -> dict:
    """`live` with the patch in `body` applied; `live` itself is not changed.
    Raises ApiError: 415 for an unknown content type, 400 for a malformed patch, 422 for a JSON patch that
    does not apply, 409 for a server-side apply conflict."""
    media = content_type.split(";", 1)[0].strip().lower()
    try:
        return _dispatch(live, body, media, field_manager, force)
    except RecursionError:
        raise bad_request("the patch nests too deeply") from None


def _dispatch(live: dict, body: bytes, media: str, field_manager: str | None, force: bool) -> dict:
    if media == JSON_PATCH:
        return _json_patch(live, _decode_json(body, media))
    if media == MERGE_PATCH:
        patch = _decode_json(body, media)
        if not isinstance(patch, dict):
            raise bad_request("a JSON merge patch for an object must be a JSON object")
        return merge_patch(live, patch)
    if media == STRATEGIC_MERGE_PATCH:
        return strategic_merge(str(live.get("kind", "")), live, _decode_json(body, media))
    if media == APPLY_PATCH:
        check_patch_options(media, field_manager, force_given=False)
        return patch_apply.apply(live, decode_apply_body(body), str(field_manager), force=force)
    raise ApiError(415, "UnsupportedMediaType",
                   f"the body of the request was in an unknown format - accepted media types include: "
                   f"{', '.join(CONTENT_TYPES)}")


def create_with_apply(body: bytes, field_manager: str) -> dict:
    """The object server-side apply creates when nothing of that name exists yet."""
    check_patch_options(APPLY_PATCH, field_manager, force_given=False)
    try:
        return patch_apply.apply({}, decode_apply_body(body), field_manager, force=True)
    except RecursionError:
        raise bad_request("the object nests too deeply") from None


FIELD_MANAGER_MAX_LENGTH = 128


def check_patch_options(content_type: str, field_manager: str | None, *, force_given: bool) -> None:
    """The apiserver's PatchOptions validation (before it looks the object up): apply needs a fieldManager,
    only apply takes `force`, a fieldManager is at most 128 printable characters. 422 Invalid otherwise."""
    media = content_type.split(";", 1)[0].strip().lower()
    causes = []
    if media != APPLY_PATCH and force_given:
        causes.append(("FieldValueForbidden", "force", "Forbidden: may not be specified for non-apply patch"))
    if media == APPLY_PATCH and not field_manager:
        causes.append(("FieldValueRequired", "fieldManager", "Required value: is required for apply patch"))
    if field_manager and len(field_manager) > FIELD_MANAGER_MAX_LENGTH:
        causes.append(("FieldValueTooLong", "fieldManager",
                       f"Too long: may not be more than {FIELD_MANAGER_MAX_LENGTH} bytes"))
    if field_manager and not field_manager.isprintable():
        causes.append(("FieldValueInvalid", "fieldManager", "Invalid value: must only contain printable characters"))
    if causes:
        listed = ", ".join(f"{name}: {message}" for _, name, message in causes)
        raise ApiError(422, "Invalid", f'PatchOptions.meta.k8s.io "" is invalid: {listed}',
                       [{"reason": reason, "message": message, "field": name} for reason, name, message in causes],
                       {"group": "meta.k8s.io", "kind": "PatchOptions"})


def manager_for(field_manager: str | None, user_agent: str) -> str:
    """Who a write that is not an apply is recorded for: the fieldManager query parameter, else the
    User-Agent up to its first "/" (printable characters, at most 128), as the apiserver does."""
    if field_manager:
        return field_manager
    prefix = "".join(ch for ch in user_agent.split("/", 1)[0] if ch.isprintable())
    return prefix.encode()[:FIELD_MANAGER_MAX_LENGTH].decode(errors="ignore")


def _decode_json(body: bytes, media: str) -> Any:
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise bad_request(f"error decoding {media} body: {exc}") from None


_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def decode_apply_body(body: bytes) -> dict:
    """An apply body is YAML; kubectl sends JSON (a subset), which the json module reads much faster."""
    try:
        config = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        try:
            config = yaml.load(body, Loader=_YAML_LOADER)  # noqa: S506 - a safe loader
        except yaml.YAMLError as exc:
            raise bad_request(f"error decoding YAML: {exc}") from None
    if not isinstance(config, dict):
        raise bad_request("the apply patch must be a YAML or JSON object")
    missing = [field for field in ("apiVersion", "kind") if not config.get(field)]
    if missing:
        raise bad_request(f"the apply patch is missing {' and '.join(missing)}")
    return config


def _json_patch(live: dict, operations: Any) -> dict:
    if not isinstance(operations, list):
        raise bad_request("a JSON patch must be a list of operations")
    for index, op in enumerate(operations):
        if not isinstance(op, dict):
            raise bad_request(f"JSON patch operation {index} is not an object")
    try:
        return jsonpatch.JsonPatch(operations).apply(copy.deepcopy(live))
    except (jsonpatch.JsonPatchException, jsonpointer.JsonPointerException) as exc:
        op = _failing_operation(live, operations)
        raise ApiError(422, "Invalid", f"JSON patch operation {op} does not apply: {exc}") from None


def _failing_operation(live: dict, operations: list) -> str:
    """The first operation that fails, as `op path`, so the error names the field."""
    doc = copy.deepcopy(live)
    for op in operations:
        try:
            doc = jsonpatch.JsonPatch([op]).apply(doc)
        except (jsonpatch.JsonPatchException, jsonpointer.JsonPointerException):
            return f"{op.get('op', '<no op>')!s} {op.get('path', '<no path>')!s}"
    return ""


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch: objects merge recursively, null deletes, anything else replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result
