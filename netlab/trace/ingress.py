"""Traces through the ingress controller: to nginx, nginx's rule choice, then nginx to the backend. Pure."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from urllib.parse import urlparse

from netlab.trace.dnat import DnatWalk
from netlab.trace.result import CONNECTED, INGRESS_NAMESPACE, Candidate, Plan, Source, Step, TraceError, display


class IngressWalk(DnatWalk):
    def ingress(self, src: Source, url: str, port: int | None, rows: list[dict]) -> Plan:
        u = urlparse(url)
        host, path = u.hostname or "", u.path or "/"
        port = port or u.port or (443 if u.scheme == "https" else 80)
        ctrl = next((s for s in self.services if s.namespace == INGRESS_NAMESPACE and s.type == "LoadBalancer"), None)
        if ctrl is None:
            raise TraceError("no ingress controller (enable it with `netlab addons enable ingress-nginx`)")
        entry = ctrl.load_balancer_ip if src.kind == "host" and ctrl.load_balancer_ip else ctrl.cluster_ip
        assert entry is not None
        first = self.packet(src, entry, port, "tcp")
        first.url = url
        first.steps.insert(0, Step(src.name if src.kind != "pod" else display(*src.name.split("/", 1)),
                                   f"{host} resolves to the ingress controller {entry}",
                                   f"the Ingress address is {ctrl.key}'s "
                                   f"{'LoadBalancer IP' if entry == ctrl.load_balancer_ip else 'ClusterIP'}; the "
                                   f"request carries Host: {host}", ""))
        if first.outcome != CONNECTED:
            return first
        row = match_ingress(rows, host, path)
        nginx = next((c for c in first.candidates if c.pod), None)
        where = display(*nginx.pod.split("/", 1)) if nginx and nginx.pod else "nginx"
        if row is None:
            first.steps.append(Step(where, f"no Ingress rule matches {host}{path}: 404 from the default backend",
                                    "nginx's default server answers", "default server"))
            first.reason = "HTTP 404 (no rule)"
            return first
        rule_txt = f"{row['ingress']} host {row['host']} path {row['path']} ({row['pathType']})"
        if u.scheme == "http" and row.get("httpsRedirect"):
            first.steps.append(Step(where, f"nginx answers 308 Permanent Redirect to https://{host}{path}",
                                    f"{row['ingress']} has TLS for {host} and ssl-redirect is on (the default): "
                                    "plain HTTP never reaches the backend; try the https:// URL", rule_txt))
            first.reason = "HTTP 308 (redirect to HTTPS)"
            return first
        if not row["endpoints"]:
            first.steps.append(Step(where, f"{rule_txt} -> {row['backend']}: {row.get('error') or 'no endpoints'}",
                                    "nginx answers 503 itself", rule_txt))
            first.reason = "HTTP 503 (backend has no endpoints)"
            return first
        first.steps.append(Step(where, f"nginx matches {host}{path}: {rule_txt} -> {row['backend']}",
                                f"upstream endpoints {', '.join(row['endpoints'])}; nginx opens a new connection from "
                                f"its pod IP to one of them (round robin), so the backend sees the nginx pod",
                                rule_txt))
        return self.upstream_legs(first, nginx, row["endpoints"])

    def upstream_legs(self, first: Plan, nginx: Candidate | None, endpoints: list[str]) -> Plan:
        """The proxy's second connection, from its pod to each upstream "ip:port", appended to `first`."""
        if nginx is None or nginx.pod is None:
            return first
        second_src = self.source(nginx.pod)
        cands: list[Candidate] = []
        for ep in endpoints:
            ip, _, eport = ep.rpartition(":")
            leg = self.packet(second_src, ip, int(eport), "tcp")
            tag = f"[upstream {ep}] " if len(endpoints) > 1 else ""
            first.steps += [replace(s, what=tag + s.what) for s in leg.steps[1:]]
            first.trace_points += [t for t in leg.trace_points if t not in first.trace_points]
            cands += leg.candidates
        first.candidates = cands
        self.conclude(first)
        return first


def _path_matches(row: dict, path: str) -> int:
    """Length of the match (-1: none), longest wins, Exact beats Prefix of the same length."""
    want, kind = row["path"], row["pathType"]
    if want == "":
        return 0
    if kind == "Exact":
        return len(want) * 2 + 1 if path == want else -1
    if kind == "Prefix":
        base = want.rstrip("/")
        ok = base == "" or path == base or path.startswith(base + "/")
        return len(base) * 2 if ok else -1
    return len(want) * 2 if path.startswith(want) else -1


def match_ingress(rows: Iterable[dict], host: str, path: str) -> dict | None:
    """The row of `netlab.compile.nginx.resolve_rules` nginx would use for host/path."""
    best: tuple[int, int, dict] | None = None
    for row in rows:
        h = row["host"]
        if h == host:
            host_score = 2
        elif h.startswith("*.") and host.endswith(h[1:]) and host.count(".") == h.count("."):
            host_score = 1
        elif h == "*":
            host_score = 0
        else:
            continue
        score = _path_matches(row, path)
        if score < 0:
            continue
        if best is None or (host_score, score) > best[:2]:
            best = (host_score, score, row)
    return best[2] if best else None
