"""core/v1 kinds: Namespace, Service, Endpoints, Secret (Pod and its PodSpec are in pod.py)."""

from __future__ import annotations

import base64
import binascii
import ipaddress
from typing import ClassVar, Literal

from pydantic import Field, model_validator

from . import dns1123 as names
from .meta import (
    AnyDict,
    IntOrString,
    Issue,
    Model,
    ObjectReference,
    Protocol,
    Resource,
    check_cidr,
    check_ip,
    check_labels,
    check_name,
    check_port,
    key_path,
)

NODE_PORT_RANGE = (30000, 32767)

# --- Namespace -----------------------------------------------------------------------------------

# The namespaces every cluster has without a Namespace object being applied.
BUILTIN_NAMESPACES = ("default", "kube-node-lease", "kube-public", "kube-system")


class Namespace(Resource):
    NAMESPACED: ClassVar[bool] = False
    NAME_CHECK = staticmethod(names.check_dns1123_label)

    api_version: Literal["v1"] = "v1"
    kind: Literal["Namespace"] = "Namespace"
    spec: AnyDict | None = None

    def effective_labels(self) -> dict[str, str]:
        """Labels as the API server stores them, including ``kubernetes.io/metadata.name``."""
        return {**self.metadata.labels, "kubernetes.io/metadata.name": self.name}


# --- Service -------------------------------------------------------------------------------------


class ServicePort(Model):
    name: str | None = Field(None, description=(
        "The port's name (a DNS label), unique within the Service. Required when the Service has more than "
        "one port; Endpoints and EndpointSlices name their ports after it."))
    protocol: Protocol = Field("TCP", description="The IP protocol of the port: TCP (default), UDP or SCTP.")
    app_protocol: str | None = Field(None, description="The application protocol, a hint for proxies (e.g. http).")
    port: int = Field(description="The port the Service listens on, at its cluster IP (1-65535).")
    target_port: IntOrString | None = Field(None, description=(
        "The port on the selected pods that traffic goes to: a number, or the name of a container port. "
        "Defaults to the value of port."))
    node_port: int | None = Field(None, description=(
        "For NodePort and LoadBalancer Services, the port every node listens on (30000-32767 by default); "
        "allocated when not given."))

    @model_validator(mode="after")
    def _default_target_port(self) -> ServicePort:
        if self.target_port is None:
            self.target_port = self.port
        return self


class ClientIPConfig(Model):
    timeout_seconds: int = 10800


class SessionAffinityConfig(Model):
    client_ip: ClientIPConfig = Field(default_factory=ClientIPConfig, alias="clientIP")


class ServiceSpec(Model):
    type: Literal["ClusterIP", "NodePort", "LoadBalancer", "ExternalName"] = Field("ClusterIP", description=(
        "How the Service is exposed: ClusterIP (a virtual IP inside the cluster, the default), NodePort (also a "
        "port on every node), LoadBalancer (also an external address) or ExternalName (a DNS CNAME)."))
    cluster_ip: str | None = Field(None, alias="clusterIP", description=(
        "The Service's virtual IP, allocated from the service CIDR when empty; \"None\" makes a headless "
        "Service, whose DNS name resolves to the pods' own addresses."))
    cluster_ips: list[str] | None = Field(None, alias="clusterIPs", description=(
        "The Service's virtual IPs; the first is clusterIP."))
    ports: list[ServicePort] = Field(default_factory=list, description="The ports the Service exposes.")
    selector: dict[str, str] = Field(default_factory=dict, description=(
        "Traffic goes to the ready pods whose labels match all of these. Without a selector the Service's "
        "endpoints are managed by hand."))
    external_name: str | None = Field(None, description=(
        "For type ExternalName, the DNS name the Service's name is an alias (CNAME) of."))
    external_ips: list[str] | None = Field(None, alias="externalIPs")
    external_traffic_policy: Literal["Cluster", "Local"] | None = None
    internal_traffic_policy: Literal["Cluster", "Local"] | None = None
    session_affinity: Literal["None", "ClientIP"] = "None"
    session_affinity_config: SessionAffinityConfig | None = None
    load_balancer_ip: str | None = Field(None, alias="loadBalancerIP")
    load_balancer_source_ranges: list[str] | None = None
    load_balancer_class: str | None = None
    allocate_load_balancer_node_ports: bool | None = None
    health_check_node_port: int | None = None
    publish_not_ready_addresses: bool = False
    ip_families: list[Literal["IPv4", "IPv6"]] | None = None
    ip_family_policy: Literal["SingleStack", "PreferDualStack", "RequireDualStack"] | None = None
    traffic_distribution: str | None = None

    @model_validator(mode="after")
    def _defaults(self) -> ServiceSpec:
        if self.type in ("NodePort", "LoadBalancer") and self.external_traffic_policy is None:
            self.external_traffic_policy = "Cluster"
        if self.type != "ExternalName":   # the API server's defaults; ipFamilies follow the cluster (views.py)
            if self.internal_traffic_policy is None:
                self.internal_traffic_policy = "Cluster"
            if self.ip_family_policy is None:
                self.ip_family_policy = "SingleStack"
        if self.session_affinity == "ClientIP" and self.session_affinity_config is None:
            self.session_affinity_config = SessionAffinityConfig()
        return self

    @property
    def headless(self) -> bool:
        return self.cluster_ip == "None"


# The API server's accepted values (PreferClose is PreferSameZone's older name).
TRAFFIC_DISTRIBUTIONS = ("PreferClose", "PreferSameNode", "PreferSameZone")


def check_service_spec(spec: ServiceSpec, path: str,
                       node_port_range: tuple[int, int] = NODE_PORT_RANGE) -> list[Issue]:
    issues: list[Issue] = []
    if spec.type == "ExternalName":
        if not spec.external_name:
            issues.append((f"{path}.externalName", "required when type is ExternalName"))
        else:
            issues += check_name(spec.external_name.rstrip("."), f"{path}.externalName",
                                 names.check_dns1123_subdomain)
    elif spec.external_name:
        issues.append((f"{path}.externalName", f"may only be set when type is ExternalName, not {spec.type}"))
    if spec.cluster_ip is not None and spec.cluster_ip not in ("", "None"):
        if check_ip(spec.cluster_ip, ""):
            issues.append((f"{path}.clusterIP",
                           f"must be a valid IP address, \"None\" or empty, got {spec.cluster_ip!r}"))
    if spec.headless and spec.type != "ClusterIP":
        issues.append((f"{path}.clusterIP", f"may not be \"None\" for type {spec.type}"))
    for i, ip in enumerate(spec.cluster_ips or []):
        if ip != "None":
            issues += check_ip(ip, f"{path}.clusterIPs[{i}]")
    if spec.cluster_ips and spec.cluster_ip and spec.cluster_ips[0] != spec.cluster_ip:
        issues.append((f"{path}.clusterIPs[0]", "must match clusterIP"))
    if spec.load_balancer_ip is not None:
        issues += check_ip(spec.load_balancer_ip, f"{path}.loadBalancerIP")
    if not spec.ports and spec.type != "ExternalName" and not spec.headless:
        issues.append((f"{path}.ports", "required field is missing"))
    issues += _check_service_ports(spec, path, node_port_range)
    issues += check_labels(spec.selector, f"{path}.selector")
    if spec.session_affinity_config is not None:
        timeout = spec.session_affinity_config.client_ip.timeout_seconds
        if not 0 < timeout <= 86400:
            issues.append((f"{path}.sessionAffinityConfig.clientIP.timeoutSeconds",
                           f"must be between 1 and 86400, got {timeout}"))
    if spec.external_traffic_policy is not None and spec.type not in ("NodePort", "LoadBalancer") \
            and not spec.external_ips:
        issues.append((f"{path}.externalTrafficPolicy",
                       "may only be set when type is NodePort or LoadBalancer"))
    for i, cidr in enumerate(spec.load_balancer_source_ranges or []):
        issues += check_cidr(cidr, f"{path}.loadBalancerSourceRanges[{i}]")
    for i, ip in enumerate(spec.external_ips or []):
        issues += _external_ip_problems(ip, f"{path}.externalIPs[{i}]")
    if spec.traffic_distribution is not None and spec.traffic_distribution not in TRAFFIC_DISTRIBUTIONS:
        supported = ", ".join(f'"{v}"' for v in TRAFFIC_DISTRIBUTIONS)
        issues.append((f"{path}.trafficDistribution",
                       f'Unsupported value: "{spec.traffic_distribution}": supported values: {supported}'))
    return issues


def _external_ip_problems(text: str, path: str) -> list[Issue]:
    """The API server's check: a unicast address that is not one of the host's special ones (its family
    against the cluster's: compile/families.service_family_issues)."""
    if problems := check_ip(text, path):
        return problems
    ip = ipaddress.ip_address(text)
    if ip.is_unspecified or ip.is_loopback or ip.is_link_local or ip.is_multicast:
        return [(path, f"may not be unspecified, loopback, link-local or multicast, got {text}")]
    return []


def _check_service_ports(spec: ServiceSpec, path: str, node_port_range: tuple[int, int]) -> list[Issue]:
    issues: list[Issue] = []
    low, high = node_port_range
    seen_names: dict[str, int] = {}
    seen_ports: dict[tuple[int, str], int] = {}
    for i, port in enumerate(spec.ports):
        ppath = f"{path}.ports[{i}]"
        issues += [(f"{ppath}.port", m) for m in names.check_port_number(port.port)]
        if port.name:
            issues += check_name(port.name, f"{ppath}.name", names.check_dns1123_label)
            if port.name in seen_names:
                issues.append((f"{ppath}.name",
                               f"duplicate port name {port.name!r} (also ports[{seen_names[port.name]}])"))
            seen_names.setdefault(port.name, i)
        elif len(spec.ports) > 1:
            issues.append((f"{ppath}.name", "required when a service has more than one port"))
        pk = (port.port, port.protocol)
        if pk in seen_ports:
            issues.append((ppath,
                           f"duplicate port {port.port}/{port.protocol} (also ports[{seen_ports[pk]}])"))
        seen_ports.setdefault(pk, i)
        if port.target_port is not None and port.target_port != port.port:
            issues += check_port(port.target_port, f"{ppath}.targetPort")
        if port.node_port is not None:
            if spec.type not in ("NodePort", "LoadBalancer"):
                issues.append((f"{ppath}.nodePort", f"may not be used when type is {spec.type}"))
            elif not low <= port.node_port <= high:
                issues.append((f"{ppath}.nodePort",
                               f"must be in the range {low}-{high}, got {port.node_port}"))
    return issues


class Service(Resource):
    NAME_CHECK = staticmethod(names.check_dns1035_label)

    api_version: Literal["v1"] = "v1"
    kind: Literal["Service"] = "Service"
    spec: ServiceSpec = Field(default_factory=ServiceSpec)

    def issues(self, node_port_range: tuple[int, int] = NODE_PORT_RANGE) -> list[Issue]:
        return super().issues() + check_service_spec(self.spec, "spec", node_port_range)


# --- Endpoints -----------------------------------------------------------------------------------


class EndpointAddress(Model):
    ip: str
    hostname: str | None = None
    node_name: str | None = None
    target_ref: ObjectReference | None = None


class EndpointPort(Model):
    name: str | None = None
    port: int
    protocol: Protocol = "TCP"
    app_protocol: str | None = None


class EndpointSubset(Model):
    addresses: list[EndpointAddress] = Field(default_factory=list)
    not_ready_addresses: list[EndpointAddress] = Field(default_factory=list)
    ports: list[EndpointPort] = Field(default_factory=list)


class Endpoints(Resource):
    api_version: Literal["v1"] = "v1"
    kind: Literal["Endpoints"] = "Endpoints"
    subsets: list[EndpointSubset] = Field(default_factory=list)

    def issues(self) -> list[Issue]:
        issues = super().issues()
        for i, subset in enumerate(self.subsets):
            spath = f"subsets[{i}]"
            for field, addresses in (("addresses", subset.addresses),
                                     ("notReadyAddresses", subset.not_ready_addresses)):
                for j, addr in enumerate(addresses):
                    issues += check_ip(addr.ip, f"{spath}.{field}[{j}].ip")
            for j, port in enumerate(subset.ports):
                issues += [(f"{spath}.ports[{j}].port", m) for m in names.check_port_number(port.port)]
        return issues


# --- Secret --------------------------------------------------------------------------------------


TLS_SECRET = "kubernetes.io/tls"


class Secret(Resource):
    api_version: Literal["v1"] = "v1"
    kind: Literal["Secret"] = "Secret"
    type: str = "Opaque"
    data: dict[str, str] = Field(default_factory=dict)
    string_data: dict[str, str] = Field(default_factory=dict)
    immutable: bool | None = None

    def decoded(self) -> dict[str, bytes]:
        """data (base64-decoded) merged with stringData, as the API server stores it."""
        out = {k: base64.b64decode(v) for k, v in self.data.items()}
        out.update({k: v.encode() for k, v in self.string_data.items()})
        return out

    def issues(self) -> list[Issue]:
        issues = super().issues()
        for field, data in (("data", self.data), ("stringData", self.string_data)):
            for key in data:
                issues += [(key_path(field, key), f"invalid key {key!r}: {m}")
                           for m in names.check_config_key(key)]
        for key, value in self.data.items():
            try:
                base64.b64decode(value, validate=True)
            except (binascii.Error, ValueError):
                issues.append((key_path("data", key), "must be base64-encoded"))
        if self.type == TLS_SECRET:
            present = set(self.data) | set(self.string_data)
            for key in ("tls.crt", "tls.key"):
                if key not in present:
                    issues.append((key_path("data", key), f"required for a Secret of type {TLS_SECRET}"))
        return issues
