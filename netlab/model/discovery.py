"""discovery.k8s.io/v1 EndpointSlice."""

from __future__ import annotations

import ipaddress
from typing import Literal

from pydantic import Field

from . import dns1123 as names
from .meta import AnyDict, Issue, Model, ObjectReference, Protocol, Resource, check_name


class EndpointConditions(Model):
    ready: bool | None = None
    serving: bool | None = None
    terminating: bool | None = None


class Endpoint(Model):
    addresses: list[str]
    conditions: EndpointConditions = Field(default_factory=EndpointConditions)
    hostname: str | None = None
    node_name: str | None = None
    target_ref: ObjectReference | None = None
    zone: str | None = None
    hints: AnyDict | None = None
    deprecated_topology: dict[str, str] | None = None


class EndpointSlicePort(Model):
    name: str | None = None
    port: int | None = None
    protocol: Protocol = "TCP"
    app_protocol: str | None = None


class EndpointSlice(Resource):
    api_version: Literal["discovery.k8s.io/v1"] = "discovery.k8s.io/v1"
    kind: Literal["EndpointSlice"] = "EndpointSlice"
    address_type: Literal["IPv4", "IPv6", "FQDN"]
    endpoints: list[Endpoint] = Field(default_factory=list)
    ports: list[EndpointSlicePort] = Field(default_factory=list)

    def issues(self) -> list[Issue]:
        issues = super().issues()
        for i, ep in enumerate(self.endpoints):
            path = f"endpoints[{i}].addresses"
            if not 1 <= len(ep.addresses) <= 100:
                issues.append((path, "must have between 1 and 100 addresses"))
            for j, addr in enumerate(ep.addresses):
                issues += _check_address(addr, self.address_type, f"{path}[{j}]")
            if ep.hostname is not None:
                issues += check_name(ep.hostname, f"endpoints[{i}].hostname", names.check_dns1123_label)
        for i, port in enumerate(self.ports):
            if port.port is not None:
                issues += [(f"ports[{i}].port", m) for m in names.check_port_number(port.port)]
        return issues


def _check_address(addr: str, address_type: str, path: str) -> list[Issue]:
    if address_type == "FQDN":
        return check_name(addr, path, names.check_dns1123_subdomain)
    try:
        ip = ipaddress.ip_address(addr)
    except ValueError:
        return [(path, f"must be a valid {address_type} address, got {addr!r}")]
    if (ip.version == 4) != (address_type == "IPv4"):
        return [(path, f"must be a valid {address_type} address, got {addr!r}")]
    return []
