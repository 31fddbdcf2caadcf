"""trafficDistribution: the EndpointSlice hints the controller sets, and the endpoints kube-proxy picks
from them on each node. Pure.

The EndpointSlice controller gives each ready endpoint `hints.forZones: [its zone]` for PreferSameZone
(and PreferClose, its older name), and also `hints.forNodes: [its node]` for PreferSameNode. kube-proxy
(pkg/proxy/topology.go) then uses, on a node, only the ready endpoints hinted for that node when every
ready endpoint has node hints and at least one is for this node; otherwise those hinted for the node's
zone when every ready endpoint has zone hints and at least one is for this zone; otherwise all of them.
A node's zone is its label `topology.kubernetes.io/zone` (set in the Cluster file's `nodes[].labels`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace

from netlab.compile.services import Endpoint, ResolvedService
from netlab.compile.topology import NodeNet

ZONE_LABEL = "topology.kubernetes.io/zone"
PREFER_SAME_NODE = "PreferSameNode"
ZONAL = ("PreferClose", "PreferSameZone")


def node_zones(nodes: Iterable[NodeNet]) -> dict[str, str]:
    """node name -> its zone, for the nodes that have the label."""
    return {n.name: n.labels[ZONE_LABEL] for n in nodes if n.labels.get(ZONE_LABEL)}


def with_zones(svc: ResolvedService, zones: Mapping[str, str]) -> ResolvedService:
    """The service with each endpoint's zone (the EndpointSlice `zone` field) filled in from its node."""
    if not any(e.node in zones for e in svc.endpoints):
        return svc
    return replace(svc, endpoints=tuple(replace(e, zone=zones.get(e.node or "")) for e in svc.endpoints))


def _ready(svc: ResolvedService, ep: Endpoint) -> bool:
    return ep.ready or svc.publish_not_ready  # publishNotReadyAddresses: the slice says ready


def endpoint_hints(svc: ResolvedService, ep: Endpoint) -> dict | None:
    """`hints` of one EndpointSlice endpoint as the controller sets them (None: no hints)."""
    mode = svc.traffic_distribution
    if mode not in (PREFER_SAME_NODE, *ZONAL) or not _ready(svc, ep):
        return None
    hints: dict = {}
    if ep.zone:
        hints["forZones"] = [{"name": ep.zone}]
    if mode == PREFER_SAME_NODE and ep.node:
        hints["forNodes"] = [{"name": ep.node}]
    return hints or None


def topology_endpoints(svc: ResolvedService, endpoints: list[Endpoint], node: str,
                       zone: str | None) -> list[Endpoint]:
    """The endpoints kube-proxy on `node` (in `zone`) sends cluster traffic to, out of `endpoints`."""
    hinted = [(e, endpoint_hints(svc, e) or {}) for e in endpoints if _ready(svc, e)]
    if not hinted:
        return endpoints  # nothing ready (the serving-terminating fallback): topology does not apply
    if all("forNodes" in h for _, h in hinted):
        same_node = [e for e, h in hinted if {"name": node} in h["forNodes"]]
        if same_node:
            return same_node
    if all("forZones" in h for _, h in hinted):
        same_zone = [e for e, h in hinted if zone and {"name": zone} in h["forZones"]]
        if same_zone:
            return same_zone
    return endpoints
