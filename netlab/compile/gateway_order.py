"""The Gateway API's precedence among route matches, shared by the nginx renderer (which writes its
regexes in this order) and `netlab trace` (which walks the same order in Python). Pure.

Across the rules and routes attached to one listener the specification ranks: the most specific
hostname (an exact one by length, then wildcards by length), an Exact path, then a regex, then the
longest PathPrefix, a method, the most header matches, the most query matches, then the oldest route,
its namespace/name, the rule's and the match's order.
"""

from __future__ import annotations

from collections.abc import Mapping

from netlab.compile.gateway_attach import Attachment, GatewayPlan
from netlab.compile.gateway_objects import proxy_name

PATH_RANK = {"Exact": 0, "RegularExpression": 1, "PathPrefix": 2}
DEFAULT_MATCH = {"path": {"type": "PathPrefix", "value": "/"}}


def precedence(match: Mapping, host: str | None) -> tuple:
    """The sort key of one match on one route hostname (None: every host), smaller wins."""
    path = match.get("path") or {}
    kind, value = path.get("type", "PathPrefix"), path.get("value", "/")
    exact = host is not None and not host.startswith("*.")
    return (-(len(host) if exact else 0), -len(host or ""), PATH_RANK.get(kind, 2),
            -len(value) if kind == "PathPrefix" else 0, 0 if match.get("method") else 1,
            -len(match.get("headers") or []), -len(match.get("queryParams") or []))


def ordered(plan: GatewayPlan) -> list[tuple[int, Attachment, int, Mapping, str | None]]:
    """Every (attachment index, attachment, match index, match, route hostname) of a Gateway, first wins."""
    entries = []
    for n, att in enumerate(plan.attachments):
        for m, match in enumerate(att.matches or (DEFAULT_MATCH,)):
            for host in att.hostnames or (None,):
                entries.append((precedence(match, host) + (att.age, att.rule, m), (n, att, m, match, host)))
    return [e for _, e in sorted(entries, key=lambda e: e[0])]


def trace_rows(plans: Mapping[str, GatewayPlan], endpoints: Mapping[tuple[str, str, int], tuple[tuple[str, int], ...]]
               ) -> list[dict]:
    """What `netlab trace` needs of each Gateway, as JSON: its proxy Service, its listeners and every
    route match in precedence order with the filters and backends (weights, ready endpoints) it leads to."""
    rows = []
    for key, plan in sorted(plans.items()):
        matches = []
        for _n, att, m, match, host in ordered(plan):
            matches.append({
                "route": att.route, "rule": att.rule, "match_index": m, "listener": att.listener, "host": host,
                "match": dict(match), "filters": [dict(f) for f in att.filters],
                "backends": [{"namespace": b.namespace, "name": b.name, "port": b.port, "weight": b.weight,
                              "problem": b.problem,
                              "endpoints": [f"{ip}:{p}" for ip, p in endpoints.get((b.namespace, b.name, b.port), ())]}
                             for b in att.backends]})
        rows.append({"gateway": key, "service": f"{plan.namespace}/{proxy_name(plan.name)}",
                     "listeners": [{"name": li.name, "port": li.port, "protocol": li.protocol,
                                    "hostname": li.hostname, "supported": li.supported} for li in plan.listeners],
                     "matches": matches})
    return rows
