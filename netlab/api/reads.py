"""The API's read side, transport-free: content negotiation (plain JSON, a meta.k8s.io Table, or
PartialObjectMetadata), label and field selectors, and the bodies of list and get answers.

The server (netlab.api.server) calls `negotiate` with the request's Accept header, then `list_body` or
`get_body` in a worker thread: selecting and JSON-encoding a long list never holds up the event loop.
Lists and gets read the watch cache (every object with its resourceVersion), never the controller's state.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from netlab.api import fieldselect
from netlab.api.backend import Backend
from netlab.api.errors import ApiError
from netlab.api.resources import Resource
from netlab.api.table import partial_metadata, to_table
from netlab.compile.label_selectors import SelectorError, parse_text, requirement_matches

JSON, TABLE, PARTIAL = "json", "table", "partial"
# label keys ([prefix/]name) and values as apimachinery's validation accepts them
_LABEL_KEY = re.compile(r"([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?")
_LABEL_VALUE = re.compile(r"([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?")
META_GROUP = "meta.k8s.io"
META_VERSIONS = ("v1", "v1beta1")   # Table and PartialObjectMetadata exist in both


@dataclass(frozen=True)
class Target:
    """What the answer is encoded as: plain objects (JSON), a Table, or PartialObjectMetadata(List), in
    meta.k8s.io/`version`."""

    form: str = JSON
    version: str = "v1"

    @property
    def api_version(self) -> str:
        return f"{META_GROUP}/{self.version}"


def _media_ranges(accept: str) -> list[tuple[str, dict[str, str]]]:
    """(type/subtype, parameters) for each media range of an Accept header, in the client's order of
    preference (q values first, then position; q=0 ranges are refused)."""
    ranges = []
    for pos, item in enumerate(accept.split(",")):
        parts = [p.strip() for p in item.split(";")]
        if not parts[0]:
            continue
        params = {}
        for p in parts[1:]:
            key, _, value = p.partition("=")
            params[key.strip().lower()] = value.strip().strip('"')
        try:
            q = float(params.pop("q", "1"))
        except ValueError:
            q = 1.0
        if q > 0:
            ranges.append((-q, pos, parts[0].lower(), params))
    return [(media, params) for _q, _pos, media, params in sorted(ranges)]


def negotiate(accept: str | None, *, is_list: bool) -> Target:
    """The first media range of `accept` netlab can answer, as kube-apiserver negotiates it: kubectl asks
    `application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,
    application/json`. 406 NotAcceptable when none fits (e.g. only protobuf)."""
    if not accept or not accept.strip():
        return Target()
    for media, params in _media_ranges(accept):
        if media not in ("application/json", "application/*", "*/*"):
            continue
        wanted = params.get("as")
        if wanted is None:
            return Target()
        if params.get("g") != META_GROUP or params.get("v") not in META_VERSIONS:
            continue
        if wanted == "Table":
            return Target(TABLE, params["v"])
        if wanted == ("PartialObjectMetadataList" if is_list else "PartialObjectMetadata"):
            return Target(PARTIAL, params["v"])
    raise ApiError(406, "NotAcceptable", f"only the following media types are accepted: application/json, "
                   f"application/json;as=Table;v=v1;g=meta.k8s.io (asked: {accept})")


def label_matcher(selector: str | None) -> Callable[[Mapping[str, str]], bool]:
    """A predicate over label maps for a labelSelector query (400 when it does not parse)."""
    if not selector or not selector.strip():
        return lambda _labels: True
    try:
        if selector.count("(") != selector.count(")") or re.search(r"\)\s*[^,\s]", selector):
            raise SelectorError("unbalanced parentheses, or text after a set's ')'")
        terms = parse_text(selector)
        for key, _op, values in terms:
            if not _LABEL_KEY.fullmatch(key):
                raise SelectorError(f"invalid label key {key!r}")
            for value in values:
                if not _LABEL_VALUE.fullmatch(value):
                    raise SelectorError(f"invalid label value {value!r}")
    except (SelectorError, ValueError) as e:
        raise ApiError(400, "BadRequest", f"unable to parse requirement: {selector!r}: {e}") from None
    return lambda labels: all(requirement_matches(k, op, vals, labels) for k, op, vals in terms)


def object_matcher(kind: str, query: Mapping[str, str], name: str | None = None) -> Callable[[dict], bool]:
    """The labelSelector and fieldSelector of a query (and a name, for a watch on one object's path) as one
    predicate over objects; 400 before anything is read when a selector is bad."""
    labels = label_matcher(query.get("labelSelector"))
    fields = fieldselect.compile_selector(kind, query.get("fieldSelector"))

    def match(obj: dict) -> bool:
        meta = obj.get("metadata") or {}
        return ((name is None or meta.get("name") == name) and labels(meta.get("labels") or {})
                and fields(obj))
    return match


def include_object(query: Mapping[str, str]) -> str:
    return query.get("includeObject") or "Metadata"


def encode(body: dict) -> bytes:
    return json.dumps(body, separators=(",", ":")).encode()


def render_list(resource: Resource, items: list[dict], rv: int, target: Target, query: Mapping[str, str]) -> dict:
    """The answer to a list: a <Kind>List, a Table, or a PartialObjectMetadataList."""
    meta = {"resourceVersion": str(rv)}
    if target.form == TABLE:
        table = to_table(resource.kind, items, meta, include_object(query))
        return {**table, "apiVersion": target.api_version}
    if target.form == PARTIAL:
        return {"kind": "PartialObjectMetadataList", "apiVersion": target.api_version, "metadata": meta,
                "items": [{**partial_metadata(o), "apiVersion": target.api_version} for o in items]}
    return {"kind": f"{resource.kind}List", "apiVersion": resource.api_version, "metadata": meta, "items": items}


def render_object(resource: Resource, obj: dict, target: Target, query: Mapping[str, str]) -> dict:
    """One object as the target form (a Table of one row for kubectl's `get KIND NAME`)."""
    if target.form == TABLE:
        rv = (obj.get("metadata") or {}).get("resourceVersion", "")
        table = to_table(resource.kind, [obj], {"resourceVersion": rv}, include_object(query))
        return {**table, "apiVersion": target.api_version}
    if target.form == PARTIAL:
        return {**partial_metadata(obj), "apiVersion": target.api_version}
    return obj


def scope(resource: Resource, namespace: str | None) -> str | None:
    """The watch cache's namespace for a request: None lists all namespaces (or a cluster-scoped kind)."""
    return namespace if resource.namespaced else None


def list_body(ctl: Backend, resource: Resource, namespace: str | None, query: Mapping[str, str],
              target: Target) -> bytes:
    """A list answer, encoded. Runs in a worker thread."""
    match = object_matcher(resource.kind, query)
    items, rv = ctl.watchcache.list(resource.kind, scope(resource, namespace))
    return encode(render_list(resource, [o for o in items if match(o)], rv, target, query))


def get_body(ctl: Backend, resource: Resource, namespace: str | None, name: str, query: Mapping[str, str],
             target: Target) -> bytes:
    """One object's answer, encoded; 404 Status (with the object's name and plural) when it is absent."""
    ns = (namespace or "default") if resource.namespaced else ""
    obj = ctl.watchcache.get(resource.kind, ns, name)
    if obj is None:
        raise ApiError(404, "NotFound", f'{resource.plural} "{name}" not found',
                       details={"name": name, "group": resource.group, "kind": resource.plural})
    return encode(render_object(resource, obj, target, query))
