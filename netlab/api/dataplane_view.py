"""The compiled data path as JSON (GET DATAPLANE_PATH), and back: what `netlab trace` walks. Pure.

The controller's compiled Desired holds each node's `inet netlab` table, the topology (nodes, pods,
addresses, routes), the services with their endpoints and what NetworkPolicy is compiled from.
`dataplane()` serves exactly that, `from_json()` makes the same typed values again on the client, so
`netlab trace` explains a packet from the rules the controller applied, not from a second compile.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from netlab.api.errors import ApiError
from netlab.compile.desired import Desired
from netlab.compile.gateway_desired import ready_endpoints
from netlab.compile.gateway_order import trace_rows
from netlab.compile.netpol import PolicyNamespace, PolicyPod
from netlab.compile.nftables import Chain, Ruleset, SetOrMap, render_full
from netlab.compile.policy_inputs import PolicyInputs
from netlab.compile.services import Endpoint, ResolvedService, ServicePortView
from netlab.compile.topology import NodeNet, PodNet, Topology

if TYPE_CHECKING:
    from netlab.api.backend import Backend

KIND, API_VERSION = "Dataplane", "netlab.dev/v1alpha1"


@dataclass(frozen=True)
class Dataplane:
    """What `netlab trace` reads: the typed values of the controller's compiled Desired."""

    topology: Topology
    services: tuple[ResolvedService, ...]
    policy: PolicyInputs
    rulesets: Mapping[str, Ruleset]  # node -> its whole `inet netlab` table
    ingress_rows: tuple[dict, ...]  # compile.nginx.resolve_rules rows; () without the ingress controller
    gateway_rows: tuple[dict, ...] = ()  # compile.gateway_order.trace_rows: each netlab Gateway's route matches


def served(backend: Backend) -> dict:
    """The body of GET DATAPLANE_PATH; 503 until the controller has compiled once."""
    desired = backend.compiled()
    if desired is None:
        raise ApiError(503, "ServiceUnavailable", "the controller has not compiled the cluster yet")
    return dataplane(desired)


def dataplane(desired: Desired) -> dict:
    policy = desired.network.policy
    return {
        "kind": KIND,
        "apiVersion": API_VERSION,
        "topology": asdict(desired.topology),
        "services": [asdict(svc) for _, svc in sorted(desired.services.items())],
        "policy": {"pods": [asdict(p) for p in policy.pods], "namespaces": [asdict(n) for n in policy.namespaces],
                   "policies": [dict(p) for p in policy.policies]},
        "rulesets": {node: _ruleset(rules) for node, rules in sorted(desired.rulesets.items())},
        "ingress": list(desired.ingress.rules) if desired.ingress is not None else [],
        "gateways": _gateways(desired),
    }


def _gateways(desired: Desired) -> list[dict]:
    if desired.gateways is None:
        return []
    return trace_rows(desired.gateways.world.plans, ready_endpoints(desired.services))


def _ruleset(rules: Ruleset) -> dict:
    return {
        "table": rules.table,
        "chains": [{"name": c.name, "hook": c.hook, "comment": c.comment, "rules": list(c.rules),
                    "notes": list(c.notes)} for _, c in sorted(rules.chains.items())],
        "sets": [{"name": s.name, "declaration": s.declaration, "comment": s.comment, "elements": sorted(s.elements)}
                 for _, s in sorted(rules.sets.items())],
        "text": render_full(rules),  # as `nft -f` takes it, for a reader of the JSON
    }


def from_json(data: Mapping[str, Any]) -> Dataplane:
    """The typed values again, from `dataplane()`'s JSON."""
    topo = dict(data["topology"])
    topology = Topology(**{**topo, "nodes": tuple(NodeNet(**n) for n in topo["nodes"]),
                           **({"ip_families": tuple(topo["ip_families"])} if "ip_families" in topo else {}),
                           "pods": tuple(PodNet(**p) for p in topo["pods"])})
    policy = data["policy"]
    return Dataplane(
        topology=topology,
        services=tuple(_service(s) for s in data["services"]),
        policy=PolicyInputs(
            tuple(PolicyPod(**{**p, "ports": tuple(tuple(port) for port in p["ports"])}) for p in policy["pods"]),
            tuple(PolicyNamespace(**n) for n in policy["namespaces"]),
            tuple(policy["policies"])),
        rulesets={node: _ruleset_from(r) for node, r in data["rulesets"].items()},
        ingress_rows=tuple(data.get("ingress") or ()),
        gateway_rows=tuple(data.get("gateways") or ()),
    )


def _service(s: Mapping[str, Any]) -> ResolvedService:
    return ResolvedService(**{**s, "ports": tuple(ServicePortView(**p) for p in s["ports"]),
                              "endpoints": tuple(Endpoint(**e) for e in s["endpoints"]),
                              "external_ips": tuple(s.get("external_ips") or ()),
                              "source_ranges": tuple(s.get("source_ranges") or ()),
                              "ip_families": tuple(s.get("ip_families") or ("IPv4",))})


def _ruleset_from(r: Mapping[str, Any]) -> Ruleset:
    rules = Ruleset(table=r["table"])
    for c in r["chains"]:
        rules.add_chain(Chain(c["name"], tuple(c["rules"]), c["hook"], c["comment"], tuple(c["notes"])))
    for s in r["sets"]:
        rules.add_set(SetOrMap(s["name"], s["declaration"], frozenset(s["elements"]), s["comment"]))
    return rules
