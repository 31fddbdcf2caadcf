"""The Gateway API kinds (gateway.networking.k8s.io) netlab serves as built-in kinds: their scope and
versions, the defaults their CRDs declare, and the checks of their schemas and CEL rules (the messages
are upstream's, naming the field), so that a bad Gateway or HTTPRoute is refused at apply time as a
cluster with the Gateway API CRDs installed refuses it. netlab.compile.gateway_* acts on them."""

from __future__ import annotations

from collections.abc import MutableMapping

from .gateway_checks import (
    CONTROLLER_RE,
    GROUP,
    HOSTNAME_RE,
    PROTOCOL_RE,
    SECTION_RE,
    Issue,
    _enum,
    _int,
    _list,
    _max_items,
    _obj,
    _string,
)
from .gateway_routes import _grpc_route, _http_route
from .kindinfo import KindInfo

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

def kind_info(api_version: str, kind: str) -> KindInfo | None:
    group, _, version = api_version.rpartition("/")
    return next((k for k in KINDS if k.kind == kind and k.group == group and version in k.versions), None)

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
