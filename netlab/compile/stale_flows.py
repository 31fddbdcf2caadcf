"""UDP flows that must be forgotten when a Service's endpoints change, as kube-proxy forgets them.

UDP has no connection to close, so conntrack keeps a DNATed UDP flow for as long as packets keep
coming (120 s once replied). A client that keeps its source port (a DNS resolver, a game, a metrics
agent) would keep sending to an endpoint that is gone. kube-proxy therefore deletes, after each sync:
- flows to a service IP/port (ClusterIP, LoadBalancer IP, externalIP; each family's addresses with that
  family's endpoint addresses) whose DNAT target is an endpoint no longer serving that port, and flows
  to a NodePort whose target is such an endpoint;
- every flow to a UDP service IP/port that had no serving endpoint before and has one now: those
  packets were rejected, and conntrack would go on rejecting the flow (kube-proxy's
  "service went from 0 to >0 endpoints" cleanup).
"""

from __future__ import annotations

from dataclasses import dataclass

from netlab.compile.services import ResolvedService, live_endpoints


@dataclass(frozen=True, order=True)
class StaleFlow:
    """UDP flows to `dst`:`port` (dst None: any local address, a NodePort), DNATed to `endpoint`
    (None: whatever their target)."""

    dst: str | None
    port: int
    endpoint: str | None


def _udp_targets(svc: ResolvedService) -> dict[tuple[str | None, int], set[str]]:
    """(service address, port) -> live endpoint IPs (serving, or terminating and still serving: a draining
    pod's flows stay until it is gone), for every UDP way into the service, per family (a NodePort: both)."""
    out: dict[tuple[str | None, int], set[str]] = {}
    for port in svc.ports:
        if port.protocol != "UDP":
            continue
        live = live_endpoints(svc, port)
        by_family = {"IPv4": {e.ip for e in live}, "IPv6": {e.ip6 for e in live if e.ip6}}
        for family, ips in by_family.items():
            externals = [ip for ip in svc.external_ips if (":" in ip) == (family == "IPv6")]
            for address in (svc.cluster_ip_of(family), svc.load_balancer_ip_of(family), *externals):
                if address:
                    out[(address, port.port)] = ips
        if port.node_port:
            out[(None, port.node_port)] = by_family["IPv4"] | by_family["IPv6"]
    return out


def stale_flows(before: list[ResolvedService], after: list[ResolvedService]) -> list[StaleFlow]:
    old: dict[tuple[str | None, int], set[str]] = {}
    for svc in before:
        old.update(_udp_targets(svc))
    new: dict[tuple[str | None, int], set[str]] = {}
    for svc in after:
        new.update(_udp_targets(svc))
    flows: set[StaleFlow] = set()
    for (dst, port), was in old.items():
        now = new.get((dst, port), set())
        flows.update(StaleFlow(dst, port, ip) for ip in was - now)
        if not was and now:
            flows.add(StaleFlow(dst, port, None))
    return sorted(flows, key=lambda f: (f.dst or "", f.port, f.endpoint or ""))
