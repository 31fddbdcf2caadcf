"""What the API makes of a request body: JSON of the right shape (400 otherwise), objects that pass
the same validation as `netlab apply` (422 with every problem as a Status cause otherwise).

No HTTP server in here, so any server that serves the API can call it.
"""

from __future__ import annotations

import json
from typing import Any

from netlab.api.errors import ApiError
from netlab.model.api_validation import validate_api_objects
from netlab.model.meta import json_type
from netlab.model.problems import Problem

APPLY_FIELDS = {"objects": "a list of objects", "dryRun": "a boolean"}


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def parse_json(data: bytes) -> Any:
    """The body as JSON, or ApiError 400 (also for NaN/Infinity and for nesting too deep to parse)."""
    try:
        return json.loads(data, parse_constant=_no_constant)
    except (ValueError, RecursionError) as e:   # UnicodeDecodeError is a ValueError
        message = "nested too deeply" if isinstance(e, RecursionError) else str(e)
        raise ApiError(400, "BadRequest", f"request body is not valid JSON: {message}") from e


def parse_apply_body(data: bytes) -> tuple[list[dict], bool]:
    """`{"objects": [...], "dryRun": false}` -> (objects, dry_run); ApiError 400 naming every wrong field."""
    body = parse_json(data)
    if not isinstance(body, dict):
        raise ApiError(400, "BadRequest", f"request body must be a JSON object, got {json_type(body)}")
    causes = [_cause("FieldValueNotSupported", key, f'unknown field "{key}"')
              for key in body if key not in APPLY_FIELDS]
    objects = body.get("objects")
    if "objects" not in body:
        causes.append(_cause("FieldValueRequired", "objects", "required field is missing"))
    elif not isinstance(objects, list):
        causes.append(_cause("FieldValueTypeInvalid", "objects",
                             f"expected a list of objects, got {json_type(objects)}"))
    else:
        causes += [_cause("FieldValueTypeInvalid", f"objects[{i}]", f"expected an object, got {json_type(o)}")
                   for i, o in enumerate(objects) if not isinstance(o, dict)]
    dry_run = body.get("dryRun", False)
    if not isinstance(dry_run, bool):
        causes.append(_cause("FieldValueTypeInvalid", "dryRun", f"expected a boolean, got {json_type(dry_run)}"))
    if causes:
        raise ApiError(400, "BadRequest", "malformed apply request: "
                       + "; ".join(f"{c['field']}: {c['message']}" for c in causes), causes)
    return objects, dry_run  # type: ignore[return-value]


def validated_objects(objects: list[Any], cluster_doc: dict | None = None) -> list[dict]:
    """The objects, validated and normalised exactly as `netlab apply` does; ApiError 422 otherwise."""
    valid, problems = validate_api_objects(objects, cluster_doc)
    if problems:
        raise invalid(problems)
    return valid


def invalid(problems: list[Problem]) -> ApiError:
    """A Kubernetes `Invalid` Status (422) whose causes name the object and field of each problem."""
    causes = [{"reason": _reason(p.message), "object": p.obj, "field": p.field, "message": p.message}
              for p in problems]
    objects = sorted({p.obj for p in problems if p.obj})
    head = f"{objects[0]} is invalid" if len(objects) == 1 else f"{len(objects) or 'the'} objects are invalid"
    detail = "; ".join(": ".join(x for x in (p.obj if len(objects) > 1 else "", p.field, p.message) if x)
                       for p in problems)
    details = {}
    if len(objects) == 1 and objects[0][:1].isupper():   # "Kind ns/name", as Kubernetes' NewInvalid gives
        kind, ref = objects[0].split(" ", 1)
        details = {"kind": kind, "name": ref.rsplit("/", 1)[-1]}
    return ApiError(422, "Invalid", f"{head}: {detail}", causes, details)


def _reason(message: str) -> str:
    """The Kubernetes StatusCause type closest to a problem's message."""
    if message.startswith("required"):
        return "FieldValueRequired"
    if message.startswith("unsupported") or message.startswith("unknown"):
        return "FieldValueNotSupported"
    if message.startswith("duplicate"):
        return "FieldValueDuplicate"
    if message.startswith("expected"):
        return "FieldValueTypeInvalid"
    return "FieldValueInvalid"


def _cause(reason: str, field: str, message: str) -> dict:
    return {"reason": reason, "field": field, "message": message}
