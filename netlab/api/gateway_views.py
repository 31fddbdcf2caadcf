"""The Gateway API objects as the API serves them: with the status netlab's gateway controller writes
(GatewayClass Accepted; Gateway addresses, Accepted, Programmed and listeners; routes' parents)."""

from __future__ import annotations

from netlab.api.backend import StoreView
from netlab.compile.gateway_attach import gateway_class_status, gateway_status, key_of
from netlab.compile.gateway_objects import proxy_name


def _world(ctl: StoreView):
    desired = getattr(ctl, "desired", None)
    gateways = getattr(desired, "gateways", None) if desired is not None else None
    return gateways.world if gateways is not None else None


def _stored(ctl: StoreView, kind: str, ns: str | None) -> list[dict]:
    return [o for o in ctl.state.objects.values() if o["kind"] == kind
            and (ns is None or (o["metadata"].get("namespace") or "default") == ns)]


def list_gateway_classes(ctl: StoreView, ns: str | None) -> list[dict]:
    world = _world(ctl)
    out = []
    for o in _stored(ctl, "GatewayClass", None):
        status = gateway_class_status(o, world.classes) if world is not None else None
        out.append({**o, "status": status} if status is not None else o)
    return out


def _programmed(ctl: StoreView, namespace: str, gateway: str) -> tuple[list[str], bool]:
    """The proxy Service's LoadBalancer addresses (IPv4 first) and whether it has a ready endpoint."""
    key = f"{namespace}/{proxy_name(gateway)}"
    alloc = ctl.state.allocations.get(key)
    addresses = alloc.load_balancer_ips(("IPv4", "IPv6")) if alloc is not None else []
    service = (ctl.resolved or {}).get(key) if hasattr(ctl, "resolved") else None
    ready = service is not None and any(e.ready for e in service.endpoints)
    return addresses, ready


def list_gateways(ctl: StoreView, ns: str | None) -> list[dict]:
    world = _world(ctl)
    out = []
    for o in _stored(ctl, "Gateway", ns):
        plan = world.plans.get(key_of(o)) if world is not None else None
        if plan is None:
            out.append(o)
            continue
        addresses, ready = _programmed(ctl, plan.namespace, plan.name)
        out.append({**o, "status": gateway_status(plan, (addresses or [None])[0], ready, tuple(addresses[1:]))})
    return out


def list_routes(ctl: StoreView, kind: str, ns: str | None) -> list[dict]:
    world = _world(ctl)
    out = []
    for o in _stored(ctl, kind, ns):
        parents = world.route_parents.get(f"{kind}/{key_of(o)}") if world is not None else None
        out.append({**o, "status": {"parents": parents}} if parents else o)
    return out
