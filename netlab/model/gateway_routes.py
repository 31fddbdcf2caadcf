"""The Gateway API's route kinds checked as their CRDs' schemas and CEL rules say (HTTPRoute, GRPCRoute)."""

from __future__ import annotations

import re
from typing import Any

from .gateway_checks import (
    FILTER_FIELDS,
    GROUP,
    HEADER_NAME_RE,
    HOSTNAME_RE,
    METHODS,
    PATH_CHARS_RE,
    SECTION_RE,
    Issue,
    _enum,
    _int,
    _list,
    _max_items,
    _obj,
    _string,
)
from .gateway_duration import timeout_problems


def _hostnames(spec: dict) -> list[Issue]:
    hosts = _list(spec.get("hostnames"))
    out = _max_items(hosts, "spec.hostnames", 16)
    for i, host in enumerate(hosts):
        out += _string(host, f"spec.hostnames[{i}]", True, 253, HOSTNAME_RE)
    return out


def _parent_refs(spec: dict) -> list[Issue]:
    refs = _list(spec.get("parentRefs"))
    out = _max_items(refs, "spec.parentRefs", 32)
    seen: set = set()
    for i, ref in enumerate(refs):
        path = f"spec.parentRefs[{i}]"
        ref = _obj(ref)
        out += _string(ref.get("name"), f"{path}.name", True)
        out += _string(ref.get("sectionName"), f"{path}.sectionName", False, 253, SECTION_RE)
        out += _int(ref.get("port"), f"{path}.port", 1, 65535)
        key = (ref.get("group", GROUP), ref.get("kind", "Gateway"), ref.get("namespace"), ref.get("name"),
               ref.get("sectionName"), ref.get("port"))
        if key in seen:
            out.append(("spec.parentRefs", "Invalid value: sectionName or port must be unique when parentRefs "
                                           "includes 2 or more references to the same parent"))
        seen.add(key)
    return out


def _http_route(spec: dict) -> list[Issue]:
    out = _hostnames(spec) + _parent_refs(spec)
    rules = _list(spec.get("rules"))
    out += _max_items(rules, "spec.rules", 16)
    total = 0
    for i, rule in enumerate(rules):
        path = f"spec.rules[{i}]"
        rule = _obj(rule)
        matches = _list(rule.get("matches"))
        total += len(matches)
        out += _max_items(matches, f"{path}.matches", 64)
        for j, match in enumerate(matches):
            out += _http_match(_obj(match), f"{path}.matches[{j}]")
        filters = _list(rule.get("filters"))
        out += _filters(filters, f"{path}.filters", matches)
        refs = _list(rule.get("backendRefs"))
        out += _max_items(refs, f"{path}.backendRefs", 16)
        for j, ref in enumerate(refs):
            out += _backend_ref(_obj(ref), f"{path}.backendRefs[{j}]")
        out += timeout_problems(rule.get("timeouts"), f"{path}.timeouts")
        if refs and any(_obj(f).get("type") == "RequestRedirect" for f in filters):
            out.append((path, "Invalid value: RequestRedirect filter must not be used together with backendRefs"))
    if total > 128:
        out.append(("spec.rules", "Invalid value: While 16 rules and 64 matches per rule are allowed, the total "
                                  "number of matches across all rules in a route must be less than 128"))
    return out


def _http_match(match: dict, path: str) -> list[Issue]:
    out: list[Issue] = []
    pm = _obj(match.get("path"))
    kind, value = pm.get("type", "PathPrefix"), pm.get("value", "/")
    out += _enum(kind, ("Exact", "PathPrefix", "RegularExpression"), f"{path}.path.type")
    out += _string(value, f"{path}.path.value", True, 1024)
    if kind in ("Exact", "PathPrefix") and isinstance(value, str):
        out += [(f"{path}.path", f"Invalid value: {m}") for m in path_value_problems(value)]
    elif kind == "RegularExpression" and isinstance(value, str):
        try:
            re.compile(value)
        except re.error as exc:
            out.append((f"{path}.path.value", f"Invalid value: {value!r}: not a valid regular expression ({exc})"))
    for what in ("headers", "queryParams"):
        items = _list(match.get(what))
        out += _max_items(items, f"{path}.{what}", 16)
        names: set = set()
        for k, item in enumerate(items):
            item, where = _obj(item), f"{path}.{what}[{k}]"
            out += _string(item.get("name"), f"{where}.name", True, 256, HEADER_NAME_RE)
            out += _string(item.get("value"), f"{where}.value", True, 4096 if what == "headers" else 1024)
            out += _enum(item.get("type", "Exact"), ("Exact", "RegularExpression"), f"{where}.type")
            name = str(item.get("name", ""))
            name = name.lower() if what == "headers" else name
            if name in names:
                out.append((f"{where}.name", f"Duplicate value: {item.get('name')!r}"))
            names.add(name)
    if match.get("method") is not None:
        out += _enum(match["method"], METHODS, f"{path}.method")
    return out


def path_value_problems(value: str) -> list[str]:
    """The CEL rules on an Exact or PathPrefix path value."""
    out = []
    if not value.startswith("/"):
        out.append("value must be an absolute path and start with '/' when type one of ['Exact', 'PathPrefix']")
    for bad in ("//", "/./", "/../", "%2f", "%2F", "#"):
        if bad in value:
            out.append(f"must not contain '{bad}' when type one of ['Exact', 'PathPrefix']")
    for end in ("/..", "/."):
        if value.endswith(end):
            out.append(f"must not end with '{end}' when type one of ['Exact', 'PathPrefix']")
    if not PATH_CHARS_RE.match(value):
        out.append("must only contain valid characters (matching "
                   "^(?:[-A-Za-z0-9/._~!$&'()*+,;=:@]|[%][0-9a-fA-F]{2})+$) for types ['Exact', 'PathPrefix']")
    return out


def _filters(filters: list, path: str, matches: list) -> list[Issue]:
    out = _max_items(filters, path, 16)
    seen: list[str] = []
    for i, f in enumerate(filters):
        f, where = _obj(f), f"{path}[{i}]"
        kind = f.get("type")
        out += _enum(kind, tuple(FILTER_FIELDS), f"{where}.type")
        for other_kind, field in FILTER_FIELDS.items():
            if other_kind == kind and f.get(field) is None:
                out.append((where, f"Invalid value: filter.{field} must be specified for {kind} filter.type"))
            elif other_kind != kind and f.get(field) is not None:
                out.append((where, f"Invalid value: filter.{field} must be nil if the filter.type is not "
                                   f"{other_kind}"))
        if kind in ("RequestHeaderModifier", "ResponseHeaderModifier", "RequestRedirect", "URLRewrite") \
                and kind in seen:
            out.append((path, f"Invalid value: {kind} filter cannot be repeated"))
        seen.append(kind)
        out += _filter_body(kind, f, where, matches)
    if "RequestRedirect" in seen and "URLRewrite" in seen:
        out.append((path, "Invalid value: May specify either httpRouteFilterRequestRedirect or "
                          "httpRouteFilterRequestRewrite, but not both"))
    return out


def _filter_body(kind: Any, f: dict, where: str, matches: list) -> list[Issue]:
    out: list[Issue] = []
    if kind in ("RequestHeaderModifier", "ResponseHeaderModifier"):
        body = _obj(f.get(FILTER_FIELDS[kind]))
        for op in ("set", "add"):
            for k, h in enumerate(_list(body.get(op))):
                out += _string(_obj(h).get("name"), f"{where}.{FILTER_FIELDS[kind]}.{op}[{k}].name", True, 256,
                               HEADER_NAME_RE)
    elif kind == "RequestMirror":
        out += _mirror(_obj(f.get("requestMirror")), f"{where}.requestMirror")
    elif kind in ("RequestRedirect", "URLRewrite"):
        field = FILTER_FIELDS[kind]
        body = _obj(f.get(field))
        if kind == "RequestRedirect":
            if body.get("scheme") is not None:
                out += _enum(body["scheme"], ("http", "https"), f"{where}.{field}.scheme")
            out += _enum(body.get("statusCode", 302), (301, 302), f"{where}.{field}.statusCode")
            out += _int(body.get("port"), f"{where}.{field}.port", 1, 65535)
        out += _string(body.get("hostname"), f"{where}.{field}.hostname", False, 253, HOSTNAME_RE)
        modifier = body.get("path")
        if isinstance(modifier, dict):
            out += _path_modifier(modifier, f"{where}.{field}.path", matches)
    return out


def _path_modifier(modifier: dict, path: str, matches: list) -> list[Issue]:
    kind = modifier.get("type")
    out = _enum(kind, ("ReplaceFullPath", "ReplacePrefixMatch"), f"{path}.type")
    for other, field in (("ReplaceFullPath", "replaceFullPath"), ("ReplacePrefixMatch", "replacePrefixMatch")):
        if kind == other and modifier.get(field) is None:
            out.append((path, f"Invalid value: {field} must be specified when type is set to '{other}'"))
        elif kind != other and modifier.get(field) is not None:
            out.append((path, f"Invalid value: type must be '{other}' when {field} is set"))
    if kind == "ReplacePrefixMatch":
        prefixes = [m for m in matches if _obj(_obj(m).get("path")).get("type", "PathPrefix") == "PathPrefix"]
        if len(matches) != 1 or len(prefixes) != 1:
            out.append((path, "Invalid value: When using URLRewrite filter with path.replacePrefixMatch, exactly "
                              "one PathPrefix match must be specified"))
    return out


def _mirror(body: dict, path: str) -> list[Issue]:
    """RequestMirror: a backendRef (a Service needs a port), and at most one of percent and fraction."""
    out = _backend_ref(_obj(body.get("backendRef")), f"{path}.backendRef")
    out += _int(body.get("percent"), f"{path}.percent", 0, 100)
    fraction = body.get("fraction")
    if fraction is not None:
        fraction = _obj(fraction)
        out += _int(fraction.get("numerator"), f"{path}.fraction.numerator", 0, 2**31 - 1, required=True)
        out += _int(fraction.get("denominator", 100), f"{path}.fraction.denominator", 1, 2**31 - 1)
        if isinstance(fraction.get("numerator"), int) and fraction["numerator"] > fraction.get("denominator", 100):
            out.append((f"{path}.fraction", "Invalid value: numerator must be less than or equal to denominator"))
        if body.get("percent") is not None:
            out.append((path, "Invalid value: Only one of percent or fraction may be specified in "
                              "HTTPRequestMirrorFilter"))
    return out


def _backend_ref(ref: dict, path: str) -> list[Issue]:
    out = _string(ref.get("name"), f"{path}.name", True)
    out += _int(ref.get("weight"), f"{path}.weight", 0, 1000000)
    out += _int(ref.get("port"), f"{path}.port", 1, 65535)
    if ref.get("group", "") in ("", "core") and ref.get("kind", "Service") == "Service" and ref.get("port") is None:
        out.append((path, "Invalid value: Must have port for Service reference"))
    return out


def _grpc_route(spec: dict) -> list[Issue]:
    out = _hostnames(spec) + _parent_refs(spec)
    for i, rule in enumerate(_list(spec.get("rules"))):
        for j, match in enumerate(_list(_obj(rule).get("matches"))):
            method = _obj(_obj(match).get("method"))
            if method.get("type", "Exact") == "Exact" and not (method.get("service") or method.get("method")) \
                    and method:
                out.append((f"spec.rules[{i}].matches[{j}].method",
                            "Invalid value: One or both of 'service' or 'method' must be specified"))
        for j, ref in enumerate(_list(_obj(rule).get("backendRefs"))):
            out += _backend_ref(_obj(ref), f"spec.rules[{i}].backendRefs[{j}]")
    return out
