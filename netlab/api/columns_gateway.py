"""kubectl's `get` columns for the Gateway API kinds: the additionalPrinterColumns of upstream's CRDs
(GatewayClass: controller, accepted; Gateway: class, address, programmed; routes: hostnames). Pure."""

from __future__ import annotations

from netlab.api.columns_stored import AGE, Column, Spec, _wide
from netlab.api.humanize import _age


def _condition(obj: dict, kind: str) -> str:
    found = [c.get("status", "") for c in (obj.get("status") or {}).get("conditions") or [] if c.get("type") == kind]
    return found[0] if found else "Unknown"


def gateway_class_row(obj: dict, now: float, wide: bool) -> list[str]:
    spec = obj.get("spec") or {}
    cells = [spec.get("controllerName", ""), _condition(obj, "Accepted"), _age(obj, now)]
    return cells + [spec.get("description", "")] if wide else cells


def gateway_row(obj: dict, now: float, wide: bool) -> list[str]:
    addresses = ",".join(a.get("value", "") for a in (obj.get("status") or {}).get("addresses") or [])
    return [(obj.get("spec") or {}).get("gatewayClassName", ""), addresses, _condition(obj, "Programmed"),
            _age(obj, now)]


def route_row(obj: dict, now: float, wide: bool) -> list[str]:
    hosts = (obj.get("spec") or {}).get("hostnames") or []
    return ["[" + ",".join(f'"{h}"' for h in hosts) + "]" if hosts else "", _age(obj, now)]


_HOSTNAMES: Spec = Column("Hostnames", "Hostnames the route matches against the HTTP Host header.")
GATEWAY_COLUMNS: dict[str, tuple[tuple[Spec, ...], object]] = {
    "GatewayClass": ((Column("Controller", "The controller that handles Gateways of this class."),
                      Column("Accepted", "Whether the controller accepted the class."), AGE,
                      _wide("Description", "The class's description.")), gateway_class_row),
    "Gateway": ((Column("Class", "The GatewayClass of the Gateway."),
                 Column("Address", "The addresses the Gateway's listeners are bound to."),
                 Column("Programmed", "Whether the Gateway's data plane is programmed."), AGE), gateway_row),
    "HTTPRoute": ((_HOSTNAMES, AGE), route_row),
    "GRPCRoute": ((_HOSTNAMES, AGE), route_row),
}
