"""The Gateway API controller's reading of the objects (pure): which Gateways are netlab's, which routes
attach to which of their listeners (parentRefs with sectionName and port, allowedRoutes, hostname
intersection), which backendRefs resolve (ReferenceGrant for another namespace), and the status
conditions that follow, with the specification's reasons. netlab.compile.gateway_nginx renders the
result as nginx.conf; views show the statuses."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from netlab.compile.gateway_grpc import grpc_matches
from netlab.compile.gateway_objects import CONTROLLER_NAME
from netlab.compile.gateway_tls import listener_certificate
from netlab.compile.label_selectors import matches as selector_matches
from netlab.model.gateway import GROUP

ROUTE_KINDS = ("HTTPRoute", "GRPCRoute")  # the kinds netlab's listeners take
SUPPORTED_PROTOCOLS = ("HTTP", "HTTPS")


def key_of(obj: Mapping) -> str:
    meta = obj.get("metadata") or {}
    return f"{meta.get('namespace') or 'default'}/{meta.get('name', '')}"


def _ns(obj: Mapping) -> str:
    return (obj.get("metadata") or {}).get("namespace") or "default"


def host_matches(pattern: str | None, host: str) -> bool:
    """A listener or route hostname (exact, or `*.suffix`: one or more labels before the suffix) against a
    request's host; None matches every host."""
    if pattern is None:
        return True
    if pattern.startswith("*."):
        return host.endswith(pattern[1:]) and len(host) > len(pattern) - 1
    return host == pattern


def intersect(listener: str | None, route: str) -> str | None:
    """The hostname a route's hostname and a listener's hostname have in common (the more specific one),
    None when they do not intersect."""
    if listener is None or listener == route:
        return route
    if not route.startswith("*."):
        return route if host_matches(listener, route) else None
    if not listener.startswith("*."):
        return listener if host_matches(route, listener) else None
    if route.endswith(listener[1:]):
        return route
    return listener if listener.endswith(route[1:]) else None


def condition(kind: str, ok: bool, reason: str, message: str, generation: int) -> dict:
    return {"type": kind, "status": "True" if ok else "False", "reason": reason, "message": message,
            "observedGeneration": generation, "lastTransitionTime": "1970-01-01T00:00:00Z"}


@dataclass(frozen=True)
class Listener:
    name: str
    port: int
    protocol: str
    hostname: str | None
    allowed: Mapping  # allowedRoutes
    tls: Mapping | None = None
    conflicted: bool = False  # another listener on its port speaks another protocol (ProtocolConflict)

    @property
    def supported(self) -> bool:
        """netlab serves it: HTTP, or HTTPS terminating TLS, on a port all its listeners agree on."""
        return not self.conflicted and (
            self.protocol == "HTTP" or (self.protocol == "HTTPS" and (self.tls or {}).get("mode") == "Terminate"))


@dataclass(frozen=True)
class BackendRef:
    namespace: str
    name: str
    port: int | None
    weight: int
    problem: str = ""  # "" or the ResolvedRefs reason (BackendNotFound, RefNotPermitted, InvalidKind)


@dataclass(frozen=True)
class Mirror:
    """A RequestMirror filter: a copy of each request (its answer ignored) for `percent` of them."""
    backend: BackendRef
    percent: float


@dataclass(frozen=True)
class Attachment:
    """A rule of an HTTPRoute as it serves one listener, on the hostnames they have in common."""
    route: str  # ns/name
    rule: int
    listener: str
    hostnames: tuple[str, ...]  # () : every host the listener takes
    matches: tuple[Mapping, ...]
    filters: tuple[Mapping, ...]
    backends: tuple[BackendRef, ...]
    age: tuple[str, str]  # (creationTimestamp, ns/name): the tie-breaker across routes
    mirrors: tuple[Mirror, ...] = ()
    timeouts: Mapping | None = None  # the rule's `timeouts` (request, backendRequest)
    grpc: bool = False  # a GRPCRoute's rule: its matches are grpc_matches' HTTP form; nginx's grpc_pass serves it


@dataclass
class GatewayPlan:
    key: str  # ns/name
    namespace: str
    name: str
    generation: int
    listeners: tuple[Listener, ...]
    attachments: list[Attachment] = field(default_factory=list)
    attached: dict[str, int] = field(default_factory=dict)  # listener -> attachedRoutes
    certificates: dict[str, tuple] = field(default_factory=dict)  # HTTPS listener -> (crt, key, id) or (reason, why)


@dataclass
class GatewayWorld:
    plans: dict[str, GatewayPlan]  # ns/name -> plan, for Gateways of netlab's classes
    classes: frozenset[str]  # GatewayClass names whose controller is netlab's
    route_parents: dict[str, list[dict]]  # "HTTPRoute/ns/name" -> status.parents


def netlab_classes(objects: Iterable[Mapping]) -> frozenset[str]:
    return frozenset((o.get("metadata") or {}).get("name") for o in objects
                     if o.get("kind") == "GatewayClass" and (o.get("spec") or {}).get("controllerName")
                     == CONTROLLER_NAME)


def _listeners(gateway: Mapping) -> tuple[Listener, ...]:
    given = (gateway.get("spec") or {}).get("listeners") or []
    protocols: dict[int, set[str]] = {}
    for li in given:
        protocols.setdefault(li["port"], set()).add(li["protocol"])
    return tuple(Listener(li["name"], li["port"], li["protocol"], li.get("hostname"), li.get("allowedRoutes") or {},
                          li.get("tls"), len(protocols[li["port"]]) > 1) for li in given)


def _allows(listener: Listener, route: Mapping, gateway_ns: str, ns_labels: Mapping[str, Mapping]) -> bool:
    kinds = listener.allowed.get("kinds")
    if kinds and not any(k.get("kind") == route["kind"] and k.get("group", GROUP) == GROUP for k in kinds):
        return False
    if not listener.supported:
        return False
    namespaces = listener.allowed.get("namespaces") or {}
    source = namespaces.get("from", "Same")
    if source == "All":
        return True
    if source == "Selector":
        return selector_matches(namespaces.get("selector") or {}, ns_labels.get(_ns(route), {}))
    return source == "Same" and _ns(route) == gateway_ns


def _granted(grants: list[Mapping], from_ns: str, to_ns: str, to_kind: str, to_name: str,
             from_kind: str = "HTTPRoute") -> bool:
    for g in grants:
        if _ns(g) != to_ns:
            continue
        spec = g.get("spec") or {}
        src = any(f.get("group") == GROUP and f.get("kind") == from_kind and f.get("namespace") == from_ns
                  for f in spec.get("from") or [])
        dst = any(t.get("group", "") in ("", "core") and t.get("kind") == to_kind and t.get("name") in (None, to_name)
                  for t in spec.get("to") or [])
        if src and dst:
            return True
    return False


def _backend(ref: Mapping, route_ns: str, services: Mapping[str, object], grants: list[Mapping],
             route_kind: str = "HTTPRoute") -> BackendRef:
    ns = ref.get("namespace") or route_ns
    out = BackendRef(ns, ref.get("name", ""), ref.get("port"), int(ref.get("weight", 1)))
    if ref.get("group", "") not in ("", "core") or ref.get("kind", "Service") != "Service":
        return BackendRef(**{**out.__dict__, "problem": "InvalidKind"})
    if ns != route_ns and not _granted(grants, route_ns, ns, "Service", out.name, route_kind):
        return BackendRef(**{**out.__dict__, "problem": "RefNotPermitted"})
    if f"{ns}/{out.name}" not in services:
        return BackendRef(**{**out.__dict__, "problem": "BackendNotFound"})
    return out


def _mirrors(rule: Mapping, route_ns: str, services: Mapping[str, object], grants: list[Mapping]
             ) -> tuple[Mirror, ...]:
    out = []
    for f in rule.get("filters") or []:
        if f.get("type") != "RequestMirror":
            continue
        body = f.get("requestMirror") or {}
        fraction = body.get("fraction")
        percent = 100.0 * fraction["numerator"] / fraction.get("denominator", 100) if fraction else \
            float(body.get("percent", 100))
        out.append(Mirror(_backend(body.get("backendRef") or {}, route_ns, services, grants), percent))
    return tuple(out)


_REF_MESSAGES = {"InvalidKind": "only core Services are supported as backends",
                 "RefNotPermitted": "a backendRef to another namespace needs a ReferenceGrant there",
                 "BackendNotFound": "the backend Service does not exist"}


def _route_hostnames(route: Mapping, listener: Listener) -> tuple[str, ...] | None:
    """The hostnames a route serves on a listener: () for all the listener takes, None for none."""
    hosts = [h.lower() for h in (route.get("spec") or {}).get("hostnames") or []]
    if not hosts:
        return ()
    common = sorted({h for h in (intersect(listener.hostname, r) for r in hosts) if h is not None})
    return tuple(common) or None


def _parent_status(route: Mapping, ref: Mapping, plan: GatewayPlan, gateway_ns: str,
                   ns_labels: Mapping[str, Mapping], resolved: list[BackendRef]) -> tuple[dict, list[Listener]]:
    """A route's status for one parentRef, and the listeners it attaches to."""
    gen = (route.get("metadata") or {}).get("generation", 1)
    candidates = [li for li in plan.listeners
                  if ref.get("sectionName") in (None, li.name) and ref.get("port") in (None, li.port)]
    allowed = [li for li in candidates if _allows(li, route, gateway_ns, ns_labels)]
    hosted = [li for li in allowed if _route_hostnames(route, li) is not None]
    if not candidates:
        accepted = condition("Accepted", False, "NoMatchingParent", "no listener matches the parentRef's "
                             "sectionName/port", gen)
    elif not allowed:
        accepted = condition("Accepted", False, "NotAllowedByListeners", "no listener allows this route "
                             "(allowedRoutes)", gen)
    elif not hosted:
        accepted = condition("Accepted", False, "NoMatchingListenerHostname", "no hostname of the route "
                             "intersects a listener's hostname", gen)
    else:
        accepted = condition("Accepted", True, "Accepted", "Route is accepted", gen)
    bad = next((b for b in resolved if b.problem), None)
    refs = condition("ResolvedRefs", bad is None, bad.problem if bad else "ResolvedRefs",
                     _REF_MESSAGES[bad.problem] if bad else "all references resolved", gen)
    parent = {k: v for k, v in ref.items() if k in ("group", "kind", "namespace", "name", "sectionName", "port")}
    return {"parentRef": parent, "controllerName": CONTROLLER_NAME, "conditions": [accepted, refs]}, hosted


def gateway_world(objects: Iterable[Mapping], services: Mapping[str, object]) -> GatewayWorld:
    """Every netlab Gateway's plan (listeners and attached route rules) and every route's status.parents."""
    objects = list(objects)
    classes = netlab_classes(objects)
    ns_labels = {(o.get("metadata") or {}).get("name"): (o.get("metadata") or {}).get("labels") or {}
                 for o in objects if o.get("kind") == "Namespace"}
    grants = [o for o in objects if o.get("kind") == "ReferenceGrant"]
    plans = {key_of(g): GatewayPlan(key_of(g), _ns(g), g["metadata"]["name"],
                                    (g.get("metadata") or {}).get("generation", 1), _listeners(g))
             for g in objects
             if g.get("kind") == "Gateway" and (g.get("spec") or {}).get("gatewayClassName") in classes}
    secrets = {(_ns(o), o["metadata"]["name"]): o for o in objects if o.get("kind") == "Secret"}
    for plan in plans.values():
        for li in plan.listeners:
            if li.protocol == "HTTPS" and li.supported:
                plan.certificates[li.name] = listener_certificate(li.tls or {}, plan.namespace, secrets, grants)
    parents: dict[str, list[dict]] = {}
    routes = sorted((o for o in objects if o.get("kind") in ROUTE_KINDS),
                    key=lambda r: ((r.get("metadata") or {}).get("creationTimestamp") or "", key_of(r)))
    for route in routes:
        route_ns, spec = _ns(route), route.get("spec") or {}
        rules = spec.get("rules") or []
        resolved = [[_backend(b, route_ns, services, grants, route["kind"]) for b in rule.get("backendRefs") or []]
                    for rule in rules]
        mirrors = [_mirrors(rule, route_ns, services, grants) for rule in rules]
        for ref in spec.get("parentRefs") or []:
            if ref.get("group", GROUP) != GROUP or ref.get("kind", "Gateway") != "Gateway":
                continue
            plan = plans.get(f"{ref.get('namespace') or route_ns}/{ref.get('name')}")
            if plan is None:
                continue  # not a Gateway of netlab's: its own controller answers
            status, listeners = _parent_status(route, ref, plan, plan.namespace, ns_labels,
                                               [b for rs in resolved for b in rs] +
                                               [m.backend for ms in mirrors for m in ms])
            parents.setdefault(f"{route['kind']}/{key_of(route)}", []).append(status)
            age = ((route.get("metadata") or {}).get("creationTimestamp") or "", key_of(route))
            for li in listeners:
                plan.attached[li.name] = plan.attached.get(li.name, 0) + 1
                hosts = _route_hostnames(route, li) or ()
                for i, rule in enumerate(rules):
                    grpc = route["kind"] == "GRPCRoute"
                    matches = grpc_matches(rule) if grpc else tuple(rule.get("matches") or ())
                    plan.attachments.append(Attachment(
                        key_of(route), i, li.name, hosts, matches, tuple(rule.get("filters") or ()),
                        tuple(resolved[i]), age, mirrors[i], rule.get("timeouts"), grpc))
    return GatewayWorld(plans, classes, parents)


def gateway_class_status(obj: Mapping, classes: frozenset[str]) -> dict | None:
    """GatewayClass status for netlab's classes (None: another controller's class, left alone)."""
    if (obj.get("metadata") or {}).get("name") not in classes:
        return None
    gen = (obj.get("metadata") or {}).get("generation", 1)
    return {"conditions": [condition("Accepted", True, "Accepted", "netlab's gateway controller handles this class",
                                     gen)]}


def gateway_status(plan: GatewayPlan, address: str | None, ready: bool, more: tuple[str, ...] = ()) -> dict:
    """Gateway status: addresses (the LoadBalancer address, and `more`: its other family's), Accepted,
    Programmed, and per listener."""
    programmed = address is not None and ready
    listeners = []
    for li in plan.listeners:
        ok = li.supported
        cert = plan.certificates.get(li.name, ())
        refs_ok = len(cert) != 2
        listeners.append({
            "name": li.name, "attachedRoutes": plan.attached.get(li.name, 0),
            "supportedKinds": [{"group": GROUP, "kind": k} for k in ROUTE_KINDS] if ok else [],
            "conditions": [
                condition("Accepted", ok or li.conflicted, "Accepted" if ok or li.conflicted else "UnsupportedProtocol",
                          "listener accepted" if ok else f"netlab does not serve protocol {li.protocol} "
                          f"(TLS mode {(li.tls or {}).get('mode')}) yet", plan.generation),
                condition("Programmed", ok and refs_ok and programmed,
                          "Programmed" if ok and refs_ok and programmed else "Invalid" if not (refs_ok and ok)
                          else "Pending",
                          "nginx serves it" if ok and refs_ok and programmed else "the proxy is not ready"
                          if refs_ok else "its certificate does not resolve", plan.generation),
                condition("ResolvedRefs", refs_ok, "ResolvedRefs" if refs_ok else cert[0],
                          "all references resolved" if refs_ok else cert[1], plan.generation),
                condition("Conflicted", li.conflicted, "ProtocolConflict" if li.conflicted else "NoConflicts",
                          "another listener on this port speaks another protocol" if li.conflicted else "no conflicts",
                          plan.generation),
            ]})
    return {
        "addresses": [{"type": "IPAddress", "value": a} for a in (address, *more) if a] if address else [],
        "conditions": [
            condition("Accepted", True, "Accepted", "netlab's gateway controller accepted the Gateway",
                      plan.generation),
            condition("Programmed", programmed, "Programmed" if programmed else "AddressNotAssigned" if not address
                      else "Pending", "the proxy serves the Gateway's address" if programmed else
                      "waiting for the proxy pods and the LoadBalancer address", plan.generation),
        ],
        "listeners": listeners,
    }
