"""What netlab's compiled rules say a packet does: routes, DNAT, SNAT, NetworkPolicy. Pure.

`plan()` walks one connection attempt through the per-node nftables rulesets netlab compiles
(`netlab.compile.nft_services` + `netlab.compile.nft_policy`, merged per node as the data plane
applies them), evaluated by `netlab.trace.nft_eval`, and through the Topology's routes. It returns
the steps, the endpoints the packet may reach and the outcome that follows (connected, refused,
timeout, unreachable). `explain()` returns just the steps. Nothing here touches the kernel.

Layout: `result` (what a trace returns), `places` (names and routes), `policy` (the forward chain),
`dnat` (service rules, SNAT, arrival), `ingress` (through nginx).
"""

from __future__ import annotations

from collections.abc import Sequence

from netlab.compile.nft_policy import policy_ruleset
from netlab.compile.nft_services import services_ruleset
from netlab.compile.nftables import Ruleset
from netlab.compile.services import ResolvedService
from netlab.compile.topology import Topology
from netlab.trace.ingress import IngressWalk, match_ingress
from netlab.trace.places import announcer
from netlab.trace.result import Plan, PolicyInputs, Step, TraceError, TracePoint

__all__ = ["Plan", "PolicyInputs", "Step", "TraceError", "TracePoint", "announcer", "explain", "match_ingress",
           "node_rulesets", "plan"]


def node_rulesets(topo: Topology, services: Sequence[ResolvedService], policy_inputs: PolicyInputs,
                  cluster_cidr: str) -> dict[str, Ruleset]:
    """Each node's `inet netlab` table as the data plane compiles it: service rules plus policy rules."""
    out = {}
    for node in topo.nodes:
        rs = services_ruleset(node.name, [node.underlay_ip], cluster_cidr, list(services))
        rs.merge(policy_ruleset(node.name, list(policy_inputs.pods), policy_inputs.namespaces,
                                policy_inputs.policies))
        out[node.name] = rs
    return out


def explain(src: str, dst: str, port: int | None, proto: str, topo: Topology, services: Sequence[ResolvedService],
            policy_inputs: PolicyInputs, *, ingress_rows: list[dict] | None = None,
            cluster_cidr: str = "10.244.0.0/16") -> list[Step]:
    """The steps a new connection src -> dst:port/proto takes, from the compiled rules."""
    return plan(src, dst, port, proto, topo, services, policy_inputs, ingress_rows=ingress_rows,
                cluster_cidr=cluster_cidr).steps


def plan(src: str, dst: str, port: int | None, proto: str, topo: Topology, services: Sequence[ResolvedService],
         policy_inputs: PolicyInputs, *, ingress_rows: list[dict] | None = None,
         cluster_cidr: str = "10.244.0.0/16", rulesets: dict[str, Ruleset] | None = None) -> Plan:
    """Steps, candidate endpoints, predicted outcome and kernel trace points for one connection.

    `rulesets` (node -> Ruleset) are the compiled tables to walk; by default they are compiled here
    from `services` and `policy_inputs`, as the data plane does.
    """
    if rulesets is None:
        rulesets = node_rulesets(topo, services, policy_inputs, cluster_cidr)
    w = IngressWalk(topo, list(services), policy_inputs, cluster_cidr, rulesets)
    source = w.source(src)
    proto = proto.lower()
    if dst.startswith(("http://", "https://")):
        return w.ingress(source, dst, port, ingress_rows or [])
    dst_ip, port = w.destination(dst, port, proto)
    return w.packet(source, dst_ip, port, proto)
