"""The Gateway API kinds (gateway.networking.k8s.io) netlab serves as built-in kinds: their scope and
versions, the defaults their CRDs declare, and the checks of their schemas and CEL rules (the messages
are upstream's, naming the field), so that a bad Gateway or HTTPRoute is refused at apply time as a
cluster with the Gateway API CRDs installed refuses it. netlab.compile.gateway_* acts on them."""

from __future__ import annotations

import re
from collections.abc import MutableMapping
from typing import Any

from .dns1123 import _LABEL
from .kindinfo import KindInfo

GROUP = "gateway.networking.k8s.io"
KINDS: tuple[KindInfo, ...] = (
    KindInfo("GatewayClass", GROUP, ("v1",), "gatewayclasses", False, ("gc",), ("gateway-api",)),
    KindInfo("Gateway", GROUP, ("v1",), "gateways", True, ("gtw",), ("gateway-api",)),
    KindInfo("HTTPRoute", GROUP, ("v1",), "httproutes", True, (), ("gateway-api",)),
    KindInfo("GRPCRoute", GROUP, ("v1",), "grpcroutes", True, (), ("gateway-api",)),
    KindInfo("ReferenceGrant", GROUP, ("v1beta1",), "referencegrants", True, ("refgrant",), ("gateway-api",)),
)
KIND_NAMES = frozenset(k.kind for k in KINDS)
DESCRIPTIONS = {
    "GatewayClass": "A kind of Gateway and the controller that implements it (netlab's: class `netlab`).",
    "Gateway": "Listeners (port, protocol, hostname) on an address; netlab runs nginx proxy pods for it behind "
               "a LoadBalancer Service.",
    "HTTPRoute": "How HTTP requests attached to a Gateway's listeners are matched (path, headers, query, "
                 "method), filtered and sent to backends.",
    "GRPCRoute": "How gRPC requests attached to a Gateway are matched (service, method, headers) and sent.",
    "ReferenceGrant": "Allows routes (or other objects) in the namespaces it names to refer to objects in "
                      "its own namespace.",
}

Issue = tuple[str, str]
HOSTNAME_RE = re.compile(rf"^(\*\.)?{_LABEL}(\.{_LABEL})*$")
CONTROLLER_RE = re.compile(rf"^{_LABEL}(\.{_LABEL})*/[A-Za-z0-9/\-._~%!$&'()*+,;=:]+$")
SECTION_RE = re.compile(rf"^{_LABEL}$")
PROTOCOL_RE = re.compile(rf"^[a-zA-Z0-9]([-a-zA-Z0-9]*[a-zA-Z0-9])?$|^{_LABEL}(\.{_LABEL})*/[A-Za-z0-9]+$")
HEADER_NAME_RE = re.compile(r"^[A-Za-z0-9!#$%&'*+\-.^_`|~]+$")
PATH_CHARS_RE = re.compile(r"^(?:[-A-Za-z0-9/._~!$&'()*+,;=:@]|%[0-9a-fA-F]{2})+$")
METHODS = ("GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH")
FILTER_FIELDS = {"RequestHeaderModifier": "requestHeaderModifier", "ResponseHeaderModifier": "responseHeaderModifier",
                 "RequestMirror": "requestMirror", "RequestRedirect": "requestRedirect", "URLRewrite": "urlRewrite",
                 "ExtensionRef": "extensionRef", "CORS": "cors", "ExternalAuth": "externalAuth"}


def kind_info(api_version: str, kind: str) -> KindInfo | None:
    group, _, version = api_version.rpartition("/")
    return next((k for k in KINDS if k.kind == kind and k.group == group and version in k.versions), None)


def _obj(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list:
    return value if isinstance(value, list) else []


def _enum(value: Any, allowed: tuple, path: str) -> list[Issue]:
    if value in allowed:
        return []
    shown = ", ".join(f'"{a}"' if isinstance(a, str) else str(a) for a in allowed)
    got = f'"{value}"' if isinstance(value, str) else repr(value)
    return [(path, f"Unsupported value: {got}: supported values: {shown}")]


def _string(value: Any, path: str, required: bool, max_len: int = 253, pattern: re.Pattern | None = None
            ) -> list[Issue]:
    if value is None:
        return [(path, "Required value")] if required else []
    if not isinstance(value, str):
        return [(path, f"Invalid value: {value!r}: must be a string")]
    if not value:
        return [(path, "Invalid value: \"\": should be at least 1 chars long")]
    if len(value) > max_len:
        return [(path, f"Too long: may not be more than {max_len} bytes")]
    if pattern is not None and not pattern.match(value):
        return [(path, f"Invalid value: {value!r}: should match '{pattern.pattern}'")]
    return []


def _int(value: Any, path: str, low: int, high: int, required: bool = False) -> list[Issue]:
    if value is None:
        return [(path, "Required value")] if required else []
    if not isinstance(value, int) or isinstance(value, bool):
        return [(path, f"Invalid value: {value!r}: must be an integer")]
    if not low <= value <= high:
        return [(path, f"Invalid value: {value}: must be between {low} and {high}, inclusive")]
    return []


def _max_items(items: list, path: str, most: int) -> list[Issue]:
    return [(path, f"Too many: {len(items)}: must have at most {most} items")] if len(items) > most else []


# ----------------------------------------------------------------------------------------------- defaults


def apply_defaults(kind: str, fields: MutableMapping) -> None:
    """The defaults the Gateway API CRDs' schemas declare (so stored objects read as upstream's do)."""
    spec = fields.get("spec")
    if not isinstance(spec, dict):
        return
    if kind == "Gateway":
        for listener in _list(spec.get("listeners")):
            if isinstance(listener, dict):
                allowed = listener.setdefault("allowedRoutes", {})
                if isinstance(allowed, dict):
                    allowed.setdefault("namespaces", {"from": "Same"})
                    if isinstance(allowed["namespaces"], dict):
                        allowed["namespaces"].setdefault("from", "Same")
                tls = listener.get("tls")
                if isinstance(tls, dict):
                    tls.setdefault("mode", "Terminate")
    elif kind in ("HTTPRoute", "GRPCRoute"):
        for ref in _list(spec.get("parentRefs")):
            if isinstance(ref, dict):
                ref.setdefault("group", GROUP)
                ref.setdefault("kind", "Gateway")
        if kind == "HTTPRoute":
            spec.setdefault("rules", [{}])
            for rule in _list(spec.get("rules")):
                if isinstance(rule, dict):
                    _rule_defaults(rule)


def _rule_defaults(rule: dict) -> None:
    rule.setdefault("matches", [{"path": {"type": "PathPrefix", "value": "/"}}])
    for match in _list(rule.get("matches")):
        if isinstance(match, dict):
            path = match.setdefault("path", {"type": "PathPrefix", "value": "/"})
            if isinstance(path, dict):
                path.setdefault("type", "PathPrefix")
                path.setdefault("value", "/")
            for h in _list(match.get("headers")) + _list(match.get("queryParams")):
                if isinstance(h, dict):
                    h.setdefault("type", "Exact")
    for ref in _list(rule.get("backendRefs")):
        if isinstance(ref, dict):
            ref.setdefault("group", "")
            ref.setdefault("kind", "Service")
            ref.setdefault("weight", 1)
    for f in _list(rule.get("filters")):
        redirect = _obj(f).get("requestRedirect") if isinstance(f, dict) else None
        if isinstance(redirect, dict):
            redirect.setdefault("statusCode", 302)


# ----------------------------------------------------------------------------------------------- checks


def problems(api_version: str, kind: str, fields: MutableMapping) -> list[Issue]:
    """(field path, message) for every way the object breaks the Gateway API's schema and CEL rules."""
    if kind_info(api_version, kind) is None:
        return []
    spec = fields.get("spec")
    if not isinstance(spec, dict):
        return [("spec", "Required value")]
    check = {"GatewayClass": _gateway_class, "Gateway": _gateway, "HTTPRoute": _http_route,
             "GRPCRoute": _grpc_route, "ReferenceGrant": _reference_grant}[kind]
    return check(spec)


def _gateway_class(spec: dict) -> list[Issue]:
    return _string(spec.get("controllerName"), "spec.controllerName", True, 253, CONTROLLER_RE)


def _gateway(spec: dict) -> list[Issue]:
    out = _string(spec.get("gatewayClassName"), "spec.gatewayClassName", True)
    listeners = spec.get("listeners")
    if not isinstance(listeners, list) or not listeners:
        return out + [("spec.listeners", "Required value: must have at least 1 items")]
    out += _max_items(listeners, "spec.listeners", 64)
    names: set = set()
    combos: set = set()
    for i, listener in enumerate(listeners):
        path = f"spec.listeners[{i}]"
        if not isinstance(listener, dict):
            out.append((path, "Invalid value: must be an object"))
            continue
        out += _listener(listener, path)
        name = listener.get("name")
        if name in names:
            out.append(("spec.listeners", "Invalid value: Listener name must be unique within the Gateway"))
        names.add(name)
        combo = (listener.get("port"), listener.get("protocol"), listener.get("hostname") or "")
        if combo in combos:
            out.append(("spec.listeners", "Invalid value: Combination of port, protocol and hostname must be "
                                          "unique for each listener"))
        combos.add(combo)
    for i, addr in enumerate(_list(spec.get("addresses"))):
        if isinstance(addr, dict):
            out += _enum(addr.get("type", "IPAddress"), ("IPAddress", "Hostname", "NamedAddress"),
                         f"spec.addresses[{i}].type")
    return out


def _listener(listener: dict, path: str) -> list[Issue]:
    out = _string(listener.get("name"), f"{path}.name", True, 253, SECTION_RE)
    out += _string(listener.get("hostname"), f"{path}.hostname", False, 253, HOSTNAME_RE)
    out += _int(listener.get("port"), f"{path}.port", 1, 65535, required=True)
    protocol = listener.get("protocol")
    out += _string(protocol, f"{path}.protocol", True, 255, PROTOCOL_RE)
    tls = listener.get("tls")
    if protocol in ("HTTP", "TCP", "UDP") and tls is not None:
        out.append((f"{path}.tls", "Invalid value: tls must not be specified for protocols ['HTTP', 'TCP', 'UDP']"))
    if protocol in ("HTTPS", "TLS") and tls is None:
        out.append((f"{path}.tls", "Required value: tls must be specified for protocols ['HTTPS', 'TLS']"))
    if protocol in ("TCP", "UDP") and listener.get("hostname") is not None:
        out.append((f"{path}.hostname", "Invalid value: hostname must not be specified for protocols "
                                        "['TCP', 'UDP']"))
    if isinstance(tls, dict):
        mode = tls.get("mode", "Terminate")
        out += _enum(mode, ("Terminate", "Passthrough"), f"{path}.tls.mode")
        refs = _list(tls.get("certificateRefs"))
        out += _max_items(refs, f"{path}.tls.certificateRefs", 64)
        if mode == "Terminate" and not refs and not tls.get("options"):
            out.append((f"{path}.tls", "Invalid value: certificateRefs or options must be specified when mode is "
                                       "Terminate"))
        for j, ref in enumerate(refs):
            out += _string(_obj(ref).get("name"), f"{path}.tls.certificateRefs[{j}].name", True)
    allowed = _obj(listener.get("allowedRoutes"))
    namespaces = _obj(allowed.get("namespaces"))
    if "from" in namespaces:
        out += _enum(namespaces["from"], ("All", "Selector", "Same", "None"), f"{path}.allowedRoutes.namespaces.from")
    if namespaces.get("from") == "Selector" and not isinstance(namespaces.get("selector"), dict):
        out.append((f"{path}.allowedRoutes.namespaces.selector",
                    "Required value: selector must be specified when from is Selector"))
    kinds = _list(allowed.get("kinds"))
    out += _max_items(kinds, f"{path}.allowedRoutes.kinds", 8)
    for j, k in enumerate(kinds):
        out += _string(_obj(k).get("kind"), f"{path}.allowedRoutes.kinds[{j}].kind", True, 63)
    return out


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


def _reference_grant(spec: dict) -> list[Issue]:
    out: list[Issue] = []
    for what in ("from", "to"):
        items = _list(spec.get(what))
        if not items:
            out.append((f"spec.{what}", "Required value: must have at least 1 items"))
        out += _max_items(items, f"spec.{what}", 16)
        for i, item in enumerate(items):
            item = _obj(item)
            if "group" not in item:
                out.append((f"spec.{what}[{i}].group", "Required value"))
            out += _string(item.get("kind"), f"spec.{what}[{i}].kind", True, 63)
            if what == "from":
                out += _string(item.get("namespace"), f"spec.from[{i}].namespace", True, 63)
    return out
