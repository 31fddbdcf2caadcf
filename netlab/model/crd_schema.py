"""Validation of a custom resource against its CRD's `openAPIV3Schema` (a structural schema), as the API
server does with `fieldValidation=Strict`: types, required fields, enums, bounds, patterns, and unknown
fields (an error naming the field, unless `x-kubernetes-preserve-unknown-fields`). `metadata`,
`apiVersion` and `kind` at the root are the API server's, checked elsewhere."""

from __future__ import annotations

import re
from typing import Any

from .meta import Issue, json_type, key_path

_ROOT_FIELDS = ("apiVersion", "kind", "metadata")


def _type_ok(value: Any, schema: dict) -> bool:
    if schema.get("x-kubernetes-int-or-string"):
        return isinstance(value, int | str) and not isinstance(value, bool)
    kind = schema.get("type")
    return {
        "object": lambda v: isinstance(v, dict), "array": lambda v: isinstance(v, list),
        "string": lambda v: isinstance(v, str), "boolean": lambda v: isinstance(v, bool),
        "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    }.get(kind, lambda v: True)(value)


def _bounds(value: Any, schema: dict, path: str) -> list[Issue]:
    issues: list[Issue] = []
    if "enum" in schema and value not in schema["enum"]:
        allowed = ", ".join(f'"{e}"' if isinstance(e, str) else str(e) for e in schema["enum"])
        got = f'"{value}"' if isinstance(value, str) else json_type(value)
        issues.append((path, f"Unsupported value: {got}: supported values: {allowed}"))
    if isinstance(value, int | float) and not isinstance(value, bool):
        if "minimum" in schema and (value < schema["minimum"] or
                                    (schema.get("exclusiveMinimum") and value == schema["minimum"])):
            issues.append((path, f"should be greater than or equal to {schema['minimum']}"))
        if "maximum" in schema and (value > schema["maximum"] or
                                    (schema.get("exclusiveMaximum") and value == schema["maximum"])):
            issues.append((path, f"should be less than or equal to {schema['maximum']}"))
    if isinstance(value, str):
        if "minLength" in schema and len(value) < schema["minLength"]:
            issues.append((path, f"should be at least {schema['minLength']} chars long"))
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            issues.append((path, f"may not be more than {schema['maxLength']} bytes"))
        if "pattern" in schema:
            try:
                if re.search(schema["pattern"], value) is None:
                    issues.append((path, f"should match '{schema['pattern']}'"))
            except re.error:
                pass
    if isinstance(value, list):
        if "minItems" in schema and len(value) < schema["minItems"]:
            issues.append((path, f"should have at least {schema['minItems']} items"))
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            issues.append((path, f"must have at most {schema['maxItems']} items"))
    return issues


def check(value: Any, schema: dict, path: str = "", root: bool = False) -> list[Issue]:
    """Every problem of value against schema, with its field path."""
    if not isinstance(schema, dict) or value is None:
        return []   # null: not set (nullable or pruned)
    if not _type_ok(value, schema):
        expected = "integer or string" if schema.get("x-kubernetes-int-or-string") else schema.get("type")
        return [(path, f"expected {expected}, got {json_type(value)}")]
    issues = _bounds(value, schema, path)
    if isinstance(value, dict):
        props = schema.get("properties") or {}
        extra = schema.get("additionalProperties")
        preserve = schema.get("x-kubernetes-preserve-unknown-fields")
        for key in schema.get("required") or []:
            if key not in value:
                issues.append((key_path(path, key), "Required value"))
        for key, item in value.items():
            if root and key in _ROOT_FIELDS:
                continue
            sub = key_path(path, key)
            if key in props:
                issues += check(item, props[key], sub)
            elif isinstance(extra, dict):
                issues += check(item, extra, sub)
            elif not preserve and extra is not True:
                issues.append((sub, f'unknown field "{sub}"'))
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for i, item in enumerate(value):
            issues += check(item, schema["items"], f"{path}[{i}]")
    return issues
