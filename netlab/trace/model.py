"""What netlab's compiled rules say a packet does: routes, DNAT, SNAT, NetworkPolicy. Pure.

`plan()` walks one connection attempt through the per-node nftables rulesets netlab compiles
(`netlab.compile.nft_services` + `netlab.compile.nft_policy`, merged per node as the data plane
applies them), evaluated by `netlab.trace.nft_eval`, and through the Topology's routes. It returns
the steps, the endpoints the packet may reach and the outcome that follows (connected, refused,
timeout, unreachable). `explain()` returns just the steps. Nothing here touches the kernel.

Layout: `result` (what a trace returns), `places` (names and routes), `policy` (the forward chain),
`dnat` (service rules, SNAT, arrival), `ingress` (through nginx), `gateway` (through a Gateway's nginx).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from netlab.compile.desired import node_rulesets
from netlab.compile.nftables import Ruleset
from netlab.compile.services import ResolvedService
from netlab.compile.topology import Topology
from netlab.trace.gateway import GatewayWalk, Request, pick_gateway
from netlab.trace.ingress import match_ingress
from netlab.trace.places import announcer
from netlab.trace.result import Plan, PolicyInputs, Step, TraceError, TracePoint

__all__ = ["Plan", "PolicyInputs", "Step", "TraceError", "TracePoint", "announcer", "explain", "match_ingress",
           "node_rulesets", "plan"]


def explain(src: str, dst: str, port: int | None, proto: str, topo: Topology, services: Sequence[ResolvedService],
            policy_inputs: PolicyInputs, *, ingress_rows: list[dict] | None = None,
            cluster_cidr: str | None = None) -> list[Step]:
    """The steps a new connection src -> dst:port/proto takes, from the compiled rules."""
    return plan(src, dst, port, proto, topo, services, policy_inputs, ingress_rows=ingress_rows,
                cluster_cidr=cluster_cidr).steps


def plan(src: str, dst: str, port: int | None, proto: str, topo: Topology, services: Sequence[ResolvedService],
         policy_inputs: PolicyInputs, *, ingress_rows: list[dict] | None = None,
         cluster_cidr: str | None = None, rulesets: Mapping[str, Ruleset] | None = None,
         gateway_rows: Sequence[Mapping] = (), headers: Mapping[str, str] | None = None,
         family: str | None = None) -> Plan:
    """Steps, candidate endpoints, predicted outcome and kernel trace points for one connection.

    `rulesets` (node -> Ruleset) are the compiled tables to walk (`netlab trace` passes the controller's);
    without them they are compiled here from `services` and `policy_inputs`, as the controller does.
    `cluster_cidr` is the topology's pod subnet unless given. An http(s) URL goes through the Gateway
    that has a route for it (`gateway_rows`, with the request's `headers`), else through the ingress.
    `family` ("IPv4"/"IPv6", None: as a user would expect) picks the packet's family for a Service or pod
    name: by default a Service's spec.clusterIP family and a pod's primary address; an address is its own.
    """
    cluster_cidr = topo.pod_subnet if cluster_cidr is None else cluster_cidr
    if rulesets is None:
        rulesets = node_rulesets(topo, services, policy_inputs, cluster_cidr)
    w = GatewayWalk(topo, list(services), policy_inputs, cluster_cidr, rulesets)
    url = dst.startswith(("http://", "https://"))
    if url and family == "IPv6":
        raise TraceError("an http(s):// destination is traced over IPv4 (Ingress and Gateways listen on IPv4)")
    w.use_family(w.choose_family(dst, family) if not url else "IPv4")
    source = w.source(src)
    proto = proto.lower()
    if url:
        req = Request.of(dst, port, headers)
        found = pick_gateway(gateway_rows, req)
        if found is not None and (found[2] is not None or match_ingress(ingress_rows or [], req.host, req.path)
                                  is None):
            return w.gateway(source, dst, req, *found)
        return w.ingress(source, dst, port, ingress_rows or [])
    dst_ip, port = w.destination(dst, port, proto)
    return w.packet(source, dst_ip, port, proto)
