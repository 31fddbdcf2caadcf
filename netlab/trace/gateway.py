"""Traces through a Gateway: the listener the port and Host pick, the route match the specification's
precedence picks (the order netlab.compile.gateway_order gives nginx), its filters and weighted backends,
then nginx to the backend. Pure."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlparse

from netlab.compile.gateway_attach import host_matches
from netlab.trace.ingress import IngressWalk
from netlab.trace.result import CONNECTED, Plan, Source, Step, TraceError, display


@dataclass(frozen=True)
class Request:
    host: str
    path: str
    port: int
    method: str = "GET"
    headers: Mapping[str, str] | None = None  # lower-case names
    query: tuple[tuple[str, str], ...] = ()

    @classmethod
    def of(cls, url: str, port: int | None, headers: Mapping[str, str] | None = None) -> Request:
        u = urlparse(url)
        return cls((u.hostname or "").lower(), u.path or "/", port or u.port or (443 if u.scheme == "https" else 80),
                   "GET", {k.lower(): v for k, v in (headers or {}).items()},
                   tuple(parse_qsl(u.query, keep_blank_values=True)))


def listener_for(listeners: Iterable[Mapping], req: Request) -> Mapping | None:
    """The listener nginx gives the request: on its port, the exact hostname, else the longest wildcard
    that matches, else the one without a hostname."""
    on_port = [li for li in listeners if li["port"] == req.port and li["supported"]]
    exact = [li for li in on_port if li["hostname"] == req.host]
    wild = sorted((li for li in on_port if (li["hostname"] or "").startswith("*.")
                   and host_matches(li["hostname"], req.host)), key=lambda li: -len(li["hostname"]))
    return (exact or wild or [li for li in on_port if li["hostname"] is None] or [None])[0]


def _value_ok(item: Mapping, value: str | None) -> bool:
    if value is None:
        return False
    if item.get("type") == "RegularExpression":
        return re.fullmatch(item["value"], value) is not None
    return value == item["value"]


def _path_ok(path: Mapping, got: str) -> bool:
    kind, value = path.get("type", "PathPrefix"), path.get("value", "/")
    if kind == "Exact":
        return got == value
    if kind == "RegularExpression":
        return re.fullmatch(value, got) is not None
    base = value.rstrip("/")
    return not base or got == base or got.startswith(base + "/")


def matches(entry: Mapping, req: Request) -> bool:
    """Whether one route match (a row of compile.gateway_order.trace_rows) takes the request."""
    m = entry["match"]
    if entry["host"] is not None and not host_matches(entry["host"], req.host):
        return False
    if not _path_ok(m.get("path") or {}, req.path):
        return False
    if m.get("method") and m["method"] != req.method:
        return False
    headers = req.headers or {}
    if not all(_value_ok(h, headers.get(h["name"].lower())) for h in m.get("headers") or []):
        return False
    query = {}
    for k, v in req.query:  # nginx's $arg_name: the first occurrence, the name case-insensitive
        query.setdefault(k.lower(), v)
    return all(_value_ok(q, query.get(q["name"].lower())) for q in m.get("queryParams") or [])


def route_for(row: Mapping, req: Request) -> tuple[Mapping | None, Mapping | None]:
    """(listener, the first route match in precedence order on it) for a Gateway's trace row."""
    listener = listener_for(row["listeners"], req)
    if listener is None:
        return None, None
    return listener, next((e for e in row["matches"] if e["listener"] == listener["name"] and matches(e, req)), None)


def pick_gateway(rows: Iterable[Mapping], req: Request) -> tuple[Mapping, Mapping | None, Mapping | None] | None:
    """The Gateway that routes the request (the first, by namespace/name, with a matching route; else the
    first with a listener for it), with its listener and route match; None when no Gateway takes it."""
    fallback = None
    for row in rows:
        listener, entry = route_for(row, req)
        if entry is not None:
            return row, listener, entry
        if listener is not None and fallback is None:
            fallback = (row, listener, None)
    return fallback


def _match_text(entry: Mapping) -> str:
    m = entry["match"]
    path = m.get("path") or {"type": "PathPrefix", "value": "/"}
    parts = [f"path {path.get('type', 'PathPrefix')} {path.get('value', '/')}"]
    if entry["host"]:
        parts.insert(0, f"hostname {entry['host']}")
    if m.get("method"):
        parts.append(f"method {m['method']}")
    parts += [f"header {h['name']} {h.get('type', 'Exact')} {h['value']!r}" for h in m.get("headers") or []]
    parts += [f"query {q['name']} {q.get('type', 'Exact')} {q['value']!r}" for q in m.get("queryParams") or []]
    return f"HTTPRoute {entry['route']} rule {entry['rule']} match {entry['match_index']}: {', '.join(parts)}"


def _filters_text(filters: list[Mapping]) -> str:
    out = []
    for f in filters:
        kind = f.get("type")
        spec = f.get(kind[:1].lower() + kind[1:], {}) if kind else {}
        out.append(f"{kind} {spec}" if spec else str(kind))
    return "; ".join(out)


def _backend_text(b: Mapping, share: float) -> str:
    what = f"{b['namespace']}/{b['name']}:{b['port']} weight {b['weight']} ({share:.0f}%)"
    if b["problem"]:
        return what + f": {b['problem']}, nginx answers 500"
    if not b["endpoints"]:
        return what + ": no ready endpoints, nginx answers 503"
    return what + f" -> {', '.join(b['endpoints'])}"


class GatewayWalk(IngressWalk):
    def gateway(self, src: Source, url: str, req: Request, row: Mapping, listener: Mapping | None,
                entry: Mapping | None) -> Plan:
        ns, _, name = row["service"].partition("/")
        svc = next((s for s in self.services if s.namespace == ns and s.name == name), None)
        if svc is None:
            raise TraceError(f"Gateway {row['gateway']} has no proxy Service {row['service']} yet")
        entry_ip = svc.load_balancer_ip if src.kind == "host" and svc.load_balancer_ip else svc.cluster_ip
        if entry_ip is None:
            raise TraceError(f"Gateway {row['gateway']}'s proxy Service has no address yet")
        first = self.packet(src, entry_ip, req.port, "tcp")
        first.url = url
        first.steps.insert(0, Step(
            src.name if src.kind != "pod" else display(*src.name.split("/", 1)),
            f"{req.host} resolves to Gateway {row['gateway']} at {entry_ip}",
            f"the Gateway's address is its proxy Service {row['service']}'s "
            f"{'LoadBalancer IP (status.addresses)' if entry_ip == svc.load_balancer_ip else 'ClusterIP'}; the "
            f"request carries Host: {req.host}", ""))
        if first.outcome != CONNECTED:
            return first
        nginx = next((c for c in first.candidates if c.pod), None)
        where = display(*nginx.pod.split("/", 1)) if nginx and nginx.pod else "nginx"
        if listener is None:
            return self._answer(first, where, f"no listener of {row['gateway']} on port {req.port} takes "
                                f"host {req.host}", "HTTP 404 (no listener)")
        first.steps.append(Step(where, f"listener {listener['name']} ({listener['protocol']} port {listener['port']}"
                                f", hostname {listener['hostname'] or '(any)'}) takes Host: {req.host}",
                                "on a port, the exact listener hostname wins, then the longest wildcard, then a "
                                "listener without a hostname", f"Gateway {row['gateway']}"))
        if entry is None:
            return self._answer(first, where, f"no route attached to listener {listener['name']} matches "
                                f"{req.method} {req.path}", "HTTP 404 (no route matches)")
        rule = _match_text(entry)
        redirect = next((f for f in entry["filters"] if f.get("type") == "RequestRedirect"), None)
        filters = _filters_text(entry["filters"])
        first.steps.append(Step(where, f"the first match in the specification's precedence: {rule}",
                                "precedence: hostname, Exact path, longest prefix, method, most headers, most "
                                "query parameters, oldest route" + (f"; filters: {filters}" if filters else ""),
                                rule))
        if redirect is not None:
            spec = redirect.get("requestRedirect") or {}
            return self._answer(first, where, f"RequestRedirect: nginx answers {spec.get('statusCode', 302)} "
                                f"({spec})", f"HTTP {spec.get('statusCode', 302)} (redirect)")
        return self._backends(first, where, entry)

    @staticmethod
    def _answer(p: Plan, where: str, what: str, reason: str) -> Plan:
        p.steps.append(Step(where, what, "nginx answers itself; nothing reaches a backend", ""))
        p.reason = reason
        return p

    def _backends(self, first: Plan, where: str, entry: Mapping) -> Plan:
        live = [b for b in entry["backends"] if b["weight"] > 0]
        total = sum(b["weight"] for b in live)
        if not live:
            return self._answer(first, where, "no backendRef with a weight above 0", "HTTP 500 (no backend)")
        first.steps.append(Step(where, "backends: " + "; ".join(_backend_text(b, 100 * b["weight"] / total)
                                                                 for b in live),
                                "nginx's split_clients picks a backendRef per request by weight, then an endpoint "
                                "round robin; it opens a new connection from its pod IP, so the backend sees the "
                                "proxy pod", ""))
        good = [b for b in live if not b["problem"] and b["endpoints"]]
        if not good:
            bad = live[0]
            return self._answer(first, where, "no backend can serve",
                                "HTTP 500 (backend not resolved)" if bad["problem"] else
                                "HTTP 503 (backend has no endpoints)")
        nginx = next((c for c in first.candidates if c.pod), None)
        return self.upstream_legs(first, nginx, list(dict.fromkeys(ep for b in good for ep in b["endpoints"])))
