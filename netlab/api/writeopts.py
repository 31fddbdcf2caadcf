"""What a write request (POST, PUT, PATCH, DELETE) carries besides its object, as the apiserver reads it:
the query options (dryRun, fieldValidation, fieldManager, force), the body (JSON or YAML, duplicate fields
noticed), DeleteOptions, and the object's identity checked against the URL. Pure: no server, no controller.

fieldValidation (upstream's server-side field validation): `Strict` answers 400 for an unknown or duplicate
field, `Warn` (the default when a client sends none) drops unknown fields and says so in `Warning` headers,
`Ignore` drops them silently. Which fields are unknown is what netlab's own validation (the models that also
check `netlab apply`) reports as `unknown field`, so there is one definition of the schema.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from netlab.api import protobuf
from netlab.api.errors import ApiError
from netlab.api.resources import Resource
from netlab.model.meta import json_type

STRICT, WARN, IGNORE = "Strict", "Warn", "Ignore"
FIELD_VALIDATIONS = (IGNORE, WARN, STRICT)
PROPAGATION_POLICIES = ("Orphan", "Background", "Foreground")
DELETE_OPTION_FIELDS = frozenset({"kind", "apiVersion", "gracePeriodSeconds", "preconditions", "orphanDependents",
                                  "propagationPolicy", "dryRun", "ignoreStoreReadErrorWithClusterBreakingPotential"})
UNKNOWN_FIELD = 'unknown field "'


@dataclass
class WriteOptions:
    dry_run: bool = False
    field_validation: str = WARN
    field_manager: str | None = None
    force: bool | None = None            # None: not given (only apply patches may give it)
    warnings: list[str] = field(default_factory=list)   # `Warning: 299 - "..."` headers of the answer


def _unsupported(name: str, value: str, supported: tuple[str, ...]) -> ApiError:
    listed = ", ".join(f'"{s}"' for s in supported)
    return ApiError(400, "BadRequest", f'{name}: Unsupported value: "{value}": supported values: {listed}')


def dry_run_value(values: list[str]) -> bool:
    """dryRun=All (the only value upstream knows) -> True; nothing -> False; anything else 400."""
    for value in values:
        if value != "All":
            raise _unsupported("dryRun", value, ("All",))
    return bool(values)


def parse_options(query: Mapping[str, str], all_dry_run: list[str] | None = None) -> WriteOptions:
    """The write options of a request's query string (`all_dry_run`: every dryRun value given)."""
    validation = query.get("fieldValidation") or WARN
    if validation not in FIELD_VALIDATIONS:
        raise _unsupported("fieldValidation", validation, FIELD_VALIDATIONS)
    force = query.get("force")
    if force not in (None, "", "true", "false", "1", "0"):
        raise ApiError(400, "BadRequest", f'force: Invalid value: "{force}": must be a boolean')
    dry = all_dry_run if all_dry_run is not None else ([query["dryRun"]] if "dryRun" in query else [])
    return WriteOptions(dry_run=dry_run_value(dry), field_validation=validation,
                        field_manager=query.get("fieldManager") or None,
                        force=None if force is None else force in ("", "true", "1"))


# ----- bodies -------------------------------------------------------------------------------------------
def _pairs_hook(dups: list[str]):
    """json's object_pairs_hook that notes the keys an object was given twice (the last one wins)."""

    def hook(pairs: list[tuple[str, Any]]) -> dict:
        out: dict = {}
        for key, value in pairs:
            if key in out:
                dups.append(key)
            out[key] = value
        return out

    return hook


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def decode_object(data: bytes, content_type: str, options: WriteOptions) -> dict:
    """A POST/PUT body (JSON, YAML or protobuf, as its Content-Type says; 415 for another type, which is how
    client-go learns to fall back from CBOR) as an object; 400 when malformed or not an object.
    Duplicate fields: 400 under Strict, a warning under Warn (the last one wins, as upstream)."""
    media = content_type.split(";", 1)[0].strip().lower()
    dups: list[str] = []
    if media == protobuf.MEDIA_TYPE:
        obj = protobuf.decode(data)
    elif media in ("application/yaml", "application/x-yaml", "text/yaml"):
        try:
            obj = yaml.safe_load(data)
        except yaml.YAMLError as e:
            raise ApiError(400, "BadRequest", f"error decoding YAML: {e}") from None
    elif media not in ("", "application/json"):
        raise ApiError(415, "UnsupportedMediaType", "the body of the request was in an unknown format - "
                       f"accepted media types include: application/json, application/yaml, {protobuf.MEDIA_TYPE}")
    else:
        try:
            obj = json.loads(data, object_pairs_hook=_pairs_hook(dups), parse_constant=_no_constant)
        except (ValueError, RecursionError) as e:
            raise ApiError(400, "BadRequest", f"the request body is not valid JSON: {e}") from None
    if not isinstance(obj, dict):
        raise ApiError(400, "BadRequest", f"the request body must be an object, got {json_type(obj)}")
    if dups:
        report_fields([f'duplicate field "{d}"' for d in dict.fromkeys(dups)], obj, options)
    return obj


def report_fields(problems: list[str], obj: dict, options: WriteOptions) -> None:
    """Unknown or duplicate fields as fieldValidation says: 400 (Strict), warnings (Warn) or nothing."""
    if not problems:
        return
    if options.field_validation == STRICT:
        kind, version = obj.get("kind") or "object", str(obj.get("apiVersion") or "").rpartition("/")[2]
        raise ApiError(400, "BadRequest", f'{kind} in version "{version}" cannot be handled as a {kind}: '
                       f"strict decoding error: {', '.join(problems)}")
    if options.field_validation == WARN:
        options.warnings += problems


def decode_delete_options(data: bytes, options: WriteOptions) -> dict:
    """A DELETE's optional DeleteOptions body: checked (400/422 as upstream) and merged into `options`
    (its dryRun); returns it. gracePeriodSeconds is a pod's grace period (graceful termination);
    propagationPolicy is accepted: netlab always takes an object's dependents (a Namespace's contents, a
    Deployment's pods) with it."""
    if not data.strip():
        return {}
    body = decode_object(data, "application/json", options)
    unknown = sorted(set(body) - DELETE_OPTION_FIELDS)
    if unknown:
        report_fields([f'unknown field "{k}"' for k in unknown], {"kind": "DeleteOptions", "apiVersion": "v1"},
                      options)
    causes = []
    policy = body.get("propagationPolicy")
    if policy is not None and policy not in PROPAGATION_POLICIES:
        causes.append(("propagationPolicy", f'Unsupported value: "{policy}": supported values: '
                       + ", ".join(f'"{p}"' for p in PROPAGATION_POLICIES)))
    grace = body.get("gracePeriodSeconds")
    if grace is not None and (not isinstance(grace, int) or isinstance(grace, bool)):
        causes.append(("gracePeriodSeconds", f"Invalid value: {json.dumps(grace)}: must be an integer"))
    if policy is not None and body.get("orphanDependents") is not None:
        causes.append(("propagationPolicy", "Invalid value: \"" + str(policy) + "\": orphanDependents and "
                       "deletionPropagation cannot be both set"))
    if causes:
        raise ApiError(422, "Invalid", "DeleteOptions.meta.k8s.io \"\" is invalid: "
                       + ", ".join(f"{f}: {m}" for f, m in causes),
                       [{"reason": "FieldValueInvalid", "field": f, "message": m} for f, m in causes],
                       {"group": "meta.k8s.io", "kind": "DeleteOptions"})
    dry = body.get("dryRun")
    if dry is not None:
        options.dry_run = options.dry_run or dry_run_value(dry if isinstance(dry, list) else [str(dry)])
    return body


# ----- an object against its URL ------------------------------------------------------------------------
def check_identity(obj: dict, resource: Resource, namespace: str | None, name: str | None) -> dict:
    """The object with apiVersion/kind/namespace filled in from the URL where it has none, as the apiserver
    defaults them; 400 where it contradicts the URL."""
    obj = dict(obj)
    obj.setdefault("apiVersion", resource.api_version)
    obj.setdefault("kind", resource.kind)
    if obj["kind"] != resource.kind or obj["apiVersion"] != resource.api_version:
        raise ApiError(400, "BadRequest", f'the API version in the data ({obj["apiVersion"]}) and kind '
                       f'({obj["kind"]}) do not match the URL ({resource.api_version}, {resource.kind})')
    meta = obj.get("metadata")
    if meta is None:
        meta = {}
    if not isinstance(meta, dict):
        return obj   # validation names it
    meta = dict(meta)
    if resource.namespaced and namespace:
        given = meta.get("namespace")
        if given not in (None, "") and given != namespace:
            raise ApiError(400, "BadRequest", "the namespace of the provided object does not match the "
                           "namespace sent on the request")
        meta["namespace"] = namespace
    if name is not None and meta.get("name") not in (None, "") and meta.get("name") != name:
        raise ApiError(400, "BadRequest", f"the name of the object ({meta.get('name')}) does not match the "
                       f"name on the URL ({name})")
    if name is not None:
        meta["name"] = name
    obj["metadata"] = meta
    return obj


# ----- unknown fields -------------------------------------------------------------------------------------
def unknown_fields(error: ApiError) -> list[str]:
    """The field paths a 422 from netlab's validation calls unknown (empty if it names other problems)."""
    if error.code != 422:
        return []
    return [c["field"] for c in error.causes if str(c.get("message", "")).startswith(UNKNOWN_FIELD)]


def only_unknown_fields(error: ApiError) -> bool:
    return bool(error.causes) and len(unknown_fields(error)) == len(error.causes)


def _steps(path: str) -> list[str]:
    """`spec.ports[0].foo` -> ["spec", "ports", "0", "foo"]; `data[a.b]` -> ["data", "a.b"]."""
    out, i = [], 0
    while i < len(path):
        if path[i] == "[":
            end = path.index("]", i)
            out.append(path[i + 1:end])
            i = end + 1
        elif path[i] == ".":
            i += 1
        else:
            j = i
            while j < len(path) and path[j] not in ".[":
                j += 1
            out.append(path[i:j])
            i = j
    return out


def without_fields(obj: Any, paths: list[str]) -> Any:
    """A deep copy of obj without the fields at `paths` (as validation names them)."""
    out = json.loads(json.dumps(obj))
    for path in paths:
        steps, node = _steps(path), out
        for step in steps[:-1]:
            if isinstance(node, list) and step.isdigit() and int(step) < len(node):
                node = node[int(step)]
            elif isinstance(node, dict) and step in node:
                node = node[step]
            else:
                node = None
                break
        if isinstance(node, dict) and steps:
            node.pop(steps[-1], None)
    return out


def warning_headers(warnings: list[str]) -> list[tuple[str, str]]:
    """`Warning: 299 - "<text>"` headers (RFC 7234), as kubectl prints them."""
    return [("Warning", '299 - ' + json.dumps(w)) for w in warnings]
