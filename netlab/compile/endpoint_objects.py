"""The Endpoints and EndpointSlice objects the endpoints controller would write for a resolved service. Pure."""

from __future__ import annotations

import hashlib

from netlab.compile.services import Endpoint, ResolvedService
from netlab.compile.topology_zones import endpoint_hints


def endpoints_object(svc: ResolvedService, created: str | None) -> dict:
    """The Endpoints object the endpoints controller would write (ready and not-ready addresses). A terminating
    pod is left out, unless publishNotReadyAddresses lists every pod (the endpoints controller's rule). It lists
    the addresses of the Service's primary family, ipFamilies[0], as the endpoints controller does: a
    dual-stack Service's other family is only in its EndpointSlices."""
    family = svc.ip_families[0] if svc.ip_families else "IPv4"
    subsets: dict[tuple, dict] = {}
    for port in svc.ports:
        for ep in svc.endpoints:
            if ep.ip not in port.target or (ep.terminating and not svc.publish_not_ready):
                continue
            ips = ep.addresses(family)
            if not ips:
                continue
            ports_key = ((port.name, port.target[ep.ip], port.protocol),)
            subset = subsets.setdefault(ports_key, {"addresses": [], "notReadyAddresses": [], "ports": []})
            addr = {"ip": ips[0]}
            if ep.node:
                addr["nodeName"] = ep.node
            if ep.hostname:
                addr["hostname"] = ep.hostname
            if ep.pod:
                addr["targetRef"] = {"kind": "Pod", "namespace": svc.namespace, "name": ep.pod}
            bucket = "addresses" if ep.ready or svc.publish_not_ready else "notReadyAddresses"
            if addr not in subset[bucket]:
                subset[bucket].append(addr)
            p = {"port": port.target[ep.ip], "protocol": port.protocol}
            if port.name:
                p["name"] = port.name
            if p not in subset["ports"]:
                subset["ports"].append(p)
    cleaned = [{k: v for k, v in s.items() if v} for s in subsets.values()]
    return {
        "apiVersion": "v1", "kind": "Endpoints",
        "metadata": {"name": svc.name, "namespace": svc.namespace, "creationTimestamp": created},
        "subsets": cleaned,
    }


def endpointslice_objects(svc: ResolvedService, created: str | None) -> list[dict]:
    """One EndpointSlice per IP family of the Service, as the EndpointSlice controller makes them."""
    return [endpointslice_object(svc, created, family) for family in svc.ip_families]


def endpointslice_object(svc: ResolvedService, created: str | None, family: str = "IPv4") -> dict:
    # the IPv4 slice keeps the name it always had; another family's is named apart (upstream: random)
    suffix = svc.hash8()[:5] if family == "IPv4" else hashlib.sha256(f"{svc.key}/{family}".encode()).hexdigest()[:5]
    ports = []
    for port in svc.ports:
        targets = set(port.target.values())
        p = {"name": port.name, "protocol": port.protocol, "port": targets.pop() if len(targets) == 1 else None}
        ports.append(p)
    return {
        "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice", "addressType": family,
        "metadata": {"name": f"{svc.name}-{suffix}", "namespace": svc.namespace, "creationTimestamp": created,
                     "labels": {"kubernetes.io/service-name": svc.name,
                                "endpointslice.kubernetes.io/managed-by": "netlab"}},
        "endpoints": [
            {"addresses": ep.addresses(family), "conditions": _conditions(ep, svc.publish_not_ready),
             **({"nodeName": ep.node} if ep.node else {}), **({"hostname": ep.hostname} if ep.hostname else {}),
             **({"zone": ep.zone} if ep.zone else {}), **_hints(svc, ep),
             **({"targetRef": {"kind": "Pod", "namespace": svc.namespace, "name": ep.pod}} if ep.pod else {})}
            for ep in svc.endpoints if ep.addresses(family)
        ],
        "ports": ports,
    }


def _hints(svc: ResolvedService, ep: Endpoint) -> dict:
    hints = endpoint_hints(svc, ep)
    return {"hints": hints} if hints else {}


def _conditions(ep: Endpoint, publish_not_ready: bool) -> dict:
    """The EndpointSlice controller's conditions: a terminating endpoint is not ready (unless
    publishNotReadyAddresses), serving while its pod is Ready."""
    if not ep.terminating:
        return {"ready": ep.ready, "serving": ep.ready, "terminating": False}
    return {"ready": publish_not_ready, "serving": ep.is_serving, "terminating": True}
