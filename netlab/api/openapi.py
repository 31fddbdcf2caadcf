"""The API's OpenAPI documents: Swagger 2.0 at /openapi/v2, and OpenAPI 3.0 per group-version at
/openapi/v3/<api/v1|apis/GROUP/VERSION> with the index at /openapi/v3.

Schemas come from netlab's pydantic models (netlab.api.openapi_schema); paths list each resource's operations
with upstream's extensions. kubectl reads them: `explain` walks the v3 schemas, and before sending an object
kubectl looks in the v3 document for a PATCH operation of that group/version/kind whose parameters include
`fieldValidation` (cli-runtime's query_param_verifier_v3): then it leaves validation to the server and sends
`fieldValidation=Strict` instead of validating against the (protobuf-only, for kubectl) v2 document.

The documents are fixed for a netlab version, so they are built once and cached; the v3 index names each one
with a hash of its content, as the apiserver does, so clients can cache them for good.
"""

from __future__ import annotations

import functools
import hashlib
import json
from typing import Any

from netlab.api import resources
from netlab.api.openapi_schema import (
    META_V1,
    build_definitions,
    custom_definitions,
    gvk,
    kind_definition_name,
)
from netlab.api.resources import RESOURCES, Resource

V2_REF = "#/definitions/"
V3_REF = "#/components/schemas/"
_INFO = {"title": "Kubernetes", "version": "netlab"}
_PATCH_TYPES = ("application/json-patch+json", "application/merge-patch+json",
                "application/strategic-merge-patch+json", "application/apply-patch+yaml")

# (name, where, description) of the parameters operations take; "path" ones are required.
_PARAMS = {
    "name": ("path", "name of the object"),
    "namespace": ("path", "object name and auth scope, such as for teams and projects"),
    "pretty": ("query", "If 'true', then the output is pretty printed."),
    "dryRun": ("query", "When present, indicates that modifications should not be persisted. Valid values: All"),
    "fieldManager": ("query", "A name associated with the actor or entity that is making these changes."),
    "fieldValidation": ("query", "How the server handles unknown or duplicate fields in the object: Ignore, "
                        "Warn or Strict (an unknown or duplicate field fails the request)."),
    "force": ("query", "Force is going to \"force\" Apply requests: re-acquire fields owned by other managers."),
    "labelSelector": ("query", "A selector to restrict the list of returned objects by their labels."),
    "fieldSelector": ("query", "A selector to restrict the list of returned objects by their fields."),
    "limit": ("query", "The maximum number of responses to return for a list call."),
    "continue": ("query", "The continue token of a previous list call, to fetch the next page."),
    "resourceVersion": ("query", "Which version of the resource the request may be served from."),
    "resourceVersionMatch": ("query", "How resourceVersion is applied to list calls."),
    "timeoutSeconds": ("query", "Timeout for the list/watch call."),
    "watch": ("query", "Watch for changes to the described resources and return them as a stream."),
    "allowWatchBookmarks": ("query", "Requests watch events with type BOOKMARK."),
    "gracePeriodSeconds": ("query", "The duration in seconds before the object should be deleted."),
    "propagationPolicy": ("query", "Whether and how garbage collection will be performed: Orphan, Background "
                          "or Foreground."),
}
_INTEGER_PARAMS = {"limit", "timeoutSeconds", "gracePeriodSeconds"}
_BOOLEAN_PARAMS = {"watch", "allowWatchBookmarks", "force"}
_WRITE = ("dryRun", "fieldManager", "fieldValidation")
_LIST = ("labelSelector", "fieldSelector", "limit", "continue", "resourceVersion", "resourceVersionMatch",
         "timeoutSeconds", "watch", "allowWatchBookmarks")


def _prefix(resource: Resource) -> str:
    return "/api/v1" if resource.api_version == "v1" else f"/apis/{resource.api_version}"


def _operation_id(verb: str, resource: Resource, scope: str) -> str:
    group, _, version = resource.api_version.rpartition("/")
    group_word = "".join(w.capitalize() for w in group.split(".")[0:1]) or "Core"
    return f"{verb}{group_word}{version.capitalize()}{scope}{resource.kind}"


class _Ops:
    """Builds operations in one dialect: Swagger 2.0 (body/type parameters) or OpenAPI 3 (requestBody/schema)."""

    def __init__(self, v3: bool) -> None:
        self.v3 = v3
        self.ref_prefix = V3_REF if v3 else V2_REF

    def ref(self, name: str) -> dict:
        return {"$ref": self.ref_prefix + name}

    def param(self, name: str) -> dict:
        where, description = _PARAMS[name]
        kind = "integer" if name in _INTEGER_PARAMS else "boolean" if name in _BOOLEAN_PARAMS else "string"
        param: dict[str, Any] = {"name": name, "in": where, "description": description}
        if where == "path":
            param["required"] = True
        if self.v3:
            param["schema"] = {"type": kind, "uniqueItems": True}
        else:
            param.update({"type": kind, "uniqueItems": True})
        return param

    def operation(self, action: str, verb: str, resource: Resource, scope: str, path_params: tuple[str, ...],
                  query: tuple[str, ...], body: str | None, response: str) -> dict:
        op: dict[str, Any] = {
            "description": f"{verb} {resource.kind}",
            "operationId": _operation_id(verb, resource, scope),
            "tags": [resource.api_version.replace("/", "_")],
            "parameters": [self.param(p) for p in (*path_params, "pretty", *query)],
            "x-kubernetes-action": action,
            "x-kubernetes-group-version-kind": gvk(resource),
        }
        content_types = _PATCH_TYPES if action == "patch" else ("application/json", "application/yaml")
        if body is not None:
            if self.v3:
                schema = self.ref(body)
                op["requestBody"] = {"required": True,
                                     "content": {t: {"schema": schema} for t in content_types}}
            else:
                op["consumes"] = list(content_types)
                op["parameters"].append({"name": "body", "in": "body", "required": True,
                                         "schema": self.ref(body)})
        ok = {"description": "OK"}
        if self.v3:
            ok["content"] = {"application/json": {"schema": self.ref(response)},
                             "application/yaml": {"schema": self.ref(response)}}
        else:
            ok["schema"] = self.ref(response)
            op["produces"] = ["application/json", "application/yaml"]
        op["responses"] = {"200": ok, "401": {"description": "Unauthorized"}}
        if action == "post":
            op["responses"]["201"] = ok
        return op

    def paths(self, resource: Resource) -> dict[str, dict]:
        name = kind_definition_name(resource)
        prefix = _prefix(resource)
        scope = "Namespaced" if resource.namespaced else ""
        base = ("namespace",) if resource.namespaced else ()
        collection = prefix + ("/namespaces/{namespace}" if resource.namespaced else "") + "/" + resource.plural
        status = f"{META_V1}.Status"
        paths = {
            collection: {
                "get": self.operation("list", "list", resource, scope, base, _LIST, None, name + "List"),
                "post": self.operation("post", "create", resource, scope, base, _WRITE, name, name),
                "delete": self.operation("deletecollection", "deletecollection", resource, scope, base,
                                         ("dryRun", "gracePeriodSeconds", "propagationPolicy", *_LIST),
                                         f"{META_V1}.DeleteOptions", status),
            },
            collection + "/{name}": {
                "get": self.operation("get", "read", resource, scope, (*base, "name"), (), None, name),
                "put": self.operation("put", "replace", resource, scope, (*base, "name"), _WRITE, name, name),
                "patch": self.operation("patch", "patch", resource, scope, (*base, "name"), (*_WRITE, "force"),
                                        f"{META_V1}.Patch", name),
                "delete": self.operation("delete", "delete", resource, scope, (*base, "name"),
                                         ("dryRun", "gracePeriodSeconds", "propagationPolicy"),
                                         f"{META_V1}.DeleteOptions", status),
            },
        }
        if resource.namespaced:
            paths[f"{prefix}/{resource.plural}"] = {"get": self.operation(
                "list", "list", resource, "ForAllNamespaces", (), _LIST, None, name + "List")}
        return paths


def _document_paths(v3: bool, resources: tuple[Resource, ...]) -> dict[str, dict]:
    ops = _Ops(v3)
    paths: dict[str, dict] = {}
    for resource in resources:
        paths.update(ops.paths(resource))
    return dict(sorted(paths.items()))


def _refs(value: Any) -> set[str]:
    found: set[str] = set()
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            ref = item.get("$ref")
            if isinstance(ref, str):
                found.add(ref.rpartition("/")[2])
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return found


def _reachable(roots: set[str], definitions: dict[str, dict]) -> dict[str, dict]:
    """The definitions `roots` refer to, transitively: a group-version's document carries only what it uses."""
    seen: set[str] = set()
    todo = list(roots)
    while todo:
        name = todo.pop()
        if name in seen or name not in definitions:
            continue
        seen.add(name)
        todo.extend(_refs(definitions[name]))
    return {n: definitions[n] for n in sorted(seen)}


def group_version_path(api_version: str) -> str:
    """"v1" -> "api/v1", "apps/v1" -> "apis/apps/v1": the key of a document in the v3 index."""
    return "api/v1" if api_version == "v1" else f"apis/{api_version}"


def _content_hash(doc: dict) -> str:
    return hashlib.sha512(_dumps(doc)).hexdigest().upper()


def _dumps(doc: dict) -> bytes:
    return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()


@functools.cache
def v2() -> dict:
    """The Swagger 2.0 document of every resource (cached: treat it as read-only)."""
    return {"swagger": "2.0", "info": dict(_INFO), "paths": _document_paths(False, RESOURCES),
            "definitions": build_definitions(V2_REF)}


@functools.cache
def _v3_definitions() -> dict[str, dict]:
    return build_definitions(V3_REF)


def _group_version_documents(members_of: tuple[Resource, ...], definitions: dict[str, dict]) -> dict[str, dict]:
    docs: dict[str, dict] = {}
    for path in dict.fromkeys(group_version_path(r.api_version) for r in members_of):
        members = tuple(r for r in members_of if group_version_path(r.api_version) == path)
        paths = _document_paths(True, members)
        docs[path] = {"openapi": "3.0.0", "info": dict(_INFO), "paths": paths,
                      "components": {"schemas": _reachable(_refs(paths), definitions)}}
    return docs


@functools.cache
def _v3_documents() -> dict[str, dict]:
    return _group_version_documents(RESOURCES, _v3_definitions())


@functools.cache
def _v3_hashes() -> dict[str, str]:
    return {path: _content_hash(doc) for path, doc in _v3_documents().items()}


def _custom_documents() -> dict[str, dict]:
    """The documents of the group-versions stored CRDs serve (they change with the CRDs: not cached), their
    kinds' schemas taken from the CRDs' openAPIV3Schema, as the apiextensions server publishes them."""
    custom = tuple(r for r in resources.served() if r.custom)
    if not custom:
        return {}
    definitions = dict(_v3_definitions())
    for r in custom:
        definitions.update(custom_definitions(r, V3_REF))
    return _group_version_documents(custom, definitions)


def v3_index() -> dict:
    """/openapi/v3: each group-version's document with the hash that names its current content."""
    hashes = {**_v3_hashes(), **{path: _content_hash(doc) for path, doc in _custom_documents().items()}}
    return {"paths": {path: {"serverRelativeURL": f"/openapi/v3/{path}?hash={digest}"}
                      for path, digest in hashes.items()}}


def v3(path: str) -> dict | None:
    """The OpenAPI 3.0 document of one group-version ("api/v1", "apis/apps/v1"), None if netlab has none
    (cached: treat it as read-only)."""
    path = path.strip("/")
    return _v3_documents().get(path) or _custom_documents().get(path)


def v3_hash(path: str) -> str | None:
    """The hash of a v3 document (its ETag, and the `hash` query the index links with)."""
    path = path.strip("/")
    found = _v3_hashes().get(path)
    if found is None:
        doc = _custom_documents().get(path)
        found = _content_hash(doc) if doc is not None else None
    return found


@functools.cache
def v2_json() -> bytes:
    return _dumps(v2())


def v3_json(path: str) -> bytes | None:
    path = path.strip("/")
    if path in _v3_documents():
        return _v3_json(path)
    doc = _custom_documents().get(path)
    return None if doc is None else _dumps(doc)


@functools.cache
def _v3_json(path: str) -> bytes:
    return _dumps(_v3_documents()[path])
