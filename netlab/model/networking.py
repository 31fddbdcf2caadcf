"""networking.k8s.io/v1 kinds: Ingress, IngressClass, NetworkPolicy."""

from __future__ import annotations

import ipaddress
from typing import ClassVar, Literal

from pydantic import Field, model_validator

from . import dns1123 as names
from .meta import (
    AnyDict,
    IntOrString,
    Issue,
    LabelSelector,
    Model,
    OmitEmptyLists,
    Protocol,
    Resource,
    check_cidr,
    check_name,
    check_port,
    check_selector,
)

# --- Ingress -------------------------------------------------------------------------------------


class ServiceBackendPort(Model):
    number: int | None = None
    name: str | None = None


class IngressServiceBackend(Model):
    name: str
    port: ServiceBackendPort | None = None


class TypedLocalObjectReference(Model):
    api_group: str | None = None
    kind: str
    name: str


class IngressBackend(Model):
    service: IngressServiceBackend | None = None
    resource: TypedLocalObjectReference | None = None


class HTTPIngressPath(Model):
    path: str | None = None
    path_type: Literal["Exact", "Prefix", "ImplementationSpecific"]
    backend: IngressBackend


class HTTPIngressRuleValue(Model):
    paths: list[HTTPIngressPath]


class IngressRule(Model):
    host: str | None = None
    http: HTTPIngressRuleValue | None = None


class IngressTLS(Model):
    hosts: list[str] = Field(default_factory=list)
    secret_name: str | None = None


class IngressSpec(Model):
    ingress_class_name: str | None = None
    default_backend: IngressBackend | None = None
    rules: list[IngressRule] = Field(default_factory=list)
    tls: list[IngressTLS] = Field(default_factory=list)


def _check_backend(backend: IngressBackend, path: str) -> list[Issue]:
    issues: list[Issue] = []
    if (backend.service is None) == (backend.resource is None):
        issues.append((path, "must specify exactly one of service or resource"))
    svc = backend.service
    if svc is not None:
        issues += check_name(svc.name, f"{path}.service.name", names.check_dns1035_label)
        port = svc.port
        ppath = f"{path}.service.port"
        if port is None or (port.number is None and port.name is None):
            issues.append((ppath, "port name or number is required"))
        elif port.number is not None and port.name is not None:
            issues.append((ppath, "cannot set both port name and port number"))
        elif port.number is not None:
            issues += [(f"{ppath}.number", m) for m in names.check_port_number(port.number)]
        elif port.name is not None:
            issues += check_name(port.name, f"{ppath}.name", names.check_dns1123_label)
    return issues


def _check_host(host: str, path: str) -> list[Issue]:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        return [(path, f"must be a DNS name, not an IP address, got {host!r}")]
    check = host[2:] if host.startswith("*.") else host
    return [(path, f"invalid host {host!r}: {m}") for m in names.check_dns1123_subdomain(check)]


def check_ingress_spec(spec: IngressSpec, path: str = "spec") -> list[Issue]:
    issues: list[Issue] = []
    if spec.default_backend is None and not spec.rules:
        issues.append((path, "either defaultBackend or rules must be specified"))
    if spec.default_backend is not None:
        issues += _check_backend(spec.default_backend, f"{path}.defaultBackend")
    if spec.ingress_class_name is not None:
        issues += check_name(spec.ingress_class_name, f"{path}.ingressClassName",
                             names.check_dns1123_subdomain)
    for i, rule in enumerate(spec.rules):
        rpath = f"{path}.rules[{i}]"
        if rule.host is not None:
            issues += _check_host(rule.host, f"{rpath}.host")
        if rule.http is None:
            continue
        if not rule.http.paths:
            issues.append((f"{rpath}.http.paths", "must have at least one path"))
        for j, p in enumerate(rule.http.paths):
            ppath = f"{rpath}.http.paths[{j}]"
            if p.path_type in ("Exact", "Prefix") and not (p.path or "").startswith("/"):
                issues.append((f"{ppath}.path", f"must be an absolute path starting with '/' for pathType "
                                                 f"{p.path_type}, got {p.path or ''!r}"))
            elif p.path and not p.path.startswith("/"):
                issues.append((f"{ppath}.path",
                               f"must be an absolute path starting with '/', got {p.path!r}"))
            issues += _check_backend(p.backend, f"{ppath}.backend")
    for i, tls in enumerate(spec.tls):
        for j, host in enumerate(tls.hosts):
            issues += _check_host(host, f"{path}.tls[{i}].hosts[{j}]")
        if tls.secret_name is not None:
            issues += check_name(tls.secret_name, f"{path}.tls[{i}].secretName",
                                 names.check_dns1123_subdomain)
    return issues


class Ingress(Resource):
    api_version: Literal["networking.k8s.io/v1"] = "networking.k8s.io/v1"
    kind: Literal["Ingress"] = "Ingress"
    spec: IngressSpec = Field(default_factory=IngressSpec)

    def issues(self) -> list[Issue]:
        return super().issues() + check_ingress_spec(self.spec)


class IngressClassSpec(Model):
    controller: str
    parameters: AnyDict | None = None


class IngressClass(Resource):
    NAMESPACED: ClassVar[bool] = False

    api_version: Literal["networking.k8s.io/v1"] = "networking.k8s.io/v1"
    kind: Literal["IngressClass"] = "IngressClass"
    spec: IngressClassSpec

    def issues(self) -> list[Issue]:
        issues = super().issues()
        if not self.spec.controller or len(self.spec.controller) > 250:
            issues.append(("spec.controller", "must be a non-empty string of at most 250 characters"))
        return issues


# --- NetworkPolicy -------------------------------------------------------------------------------


class IPBlock(OmitEmptyLists):
    cidr: str
    except_: list[str] = Field(default_factory=list, alias="except")


class NetworkPolicyPeer(Model):
    pod_selector: LabelSelector | None = None
    namespace_selector: LabelSelector | None = None
    ip_block: IPBlock | None = None


class NetworkPolicyPort(Model):
    protocol: Protocol = "TCP"
    port: IntOrString | None = None
    end_port: int | None = None


class NetworkPolicyIngressRule(OmitEmptyLists):
    from_: list[NetworkPolicyPeer] = Field(default_factory=list, alias="from")
    ports: list[NetworkPolicyPort] = Field(default_factory=list)


class NetworkPolicyEgressRule(OmitEmptyLists):
    to: list[NetworkPolicyPeer] = Field(default_factory=list)
    ports: list[NetworkPolicyPort] = Field(default_factory=list)


class NetworkPolicySpec(Model):
    pod_selector: LabelSelector
    policy_types: list[Literal["Ingress", "Egress"]] | None = None
    ingress: list[NetworkPolicyIngressRule] = Field(default_factory=list)
    egress: list[NetworkPolicyEgressRule] = Field(default_factory=list)

    @model_validator(mode="after")
    def _default_policy_types(self) -> NetworkPolicySpec:
        if self.policy_types is None:
            self.policy_types = ["Ingress", "Egress"] if self.egress else ["Ingress"]
        return self


def _check_ip_block(block: IPBlock, path: str) -> list[Issue]:
    issues = check_cidr(block.cidr, f"{path}.cidr")
    if issues:
        return issues
    net = ipaddress.ip_network(block.cidr, strict=False)
    for i, exc in enumerate(block.except_):
        epath = f"{path}.except[{i}]"
        bad = check_cidr(exc, epath)
        if bad:
            issues += bad
            continue
        sub = ipaddress.ip_network(exc, strict=False)
        if sub.version != net.version or not sub.subnet_of(net) or sub == net:  # type: ignore[arg-type]
            issues.append((epath, f"must be a strict subset of cidr {block.cidr}, got {exc}"))
    return issues


def _check_peer(peer: NetworkPolicyPeer, path: str) -> list[Issue]:
    issues: list[Issue] = []
    if peer.ip_block is not None:
        if peer.pod_selector is not None or peer.namespace_selector is not None:
            issues.append((path, "may not specify both ipBlock and another peer"))
        issues += _check_ip_block(peer.ip_block, f"{path}.ipBlock")
    elif peer.pod_selector is None and peer.namespace_selector is None:
        issues.append((path, "must specify a peer (podSelector, namespaceSelector or ipBlock)"))
    if peer.pod_selector is not None:
        issues += check_selector(peer.pod_selector, f"{path}.podSelector")
    if peer.namespace_selector is not None:
        issues += check_selector(peer.namespace_selector, f"{path}.namespaceSelector")
    return issues


def _check_np_port(port: NetworkPolicyPort, path: str) -> list[Issue]:
    issues: list[Issue] = []
    if port.port is not None:
        issues += check_port(port.port, f"{path}.port")
    if port.end_port is not None:
        if not isinstance(port.port, int):
            issues.append((f"{path}.endPort", "may only be used with a numeric port"))
        elif port.end_port < port.port:
            issues.append((f"{path}.endPort", f"must be greater than or equal to port {port.port}, "
                                              f"got {port.end_port}"))
        issues += [(f"{path}.endPort", m) for m in names.check_port_number(port.end_port)]
    return issues


def check_network_policy_spec(spec: NetworkPolicySpec, path: str = "spec") -> list[Issue]:
    issues = check_selector(spec.pod_selector, f"{path}.podSelector")
    if len(set(spec.policy_types or [])) != len(spec.policy_types or []):
        issues.append((f"{path}.policyTypes", "duplicate policy type"))
    for field, rules in (("ingress", spec.ingress), ("egress", spec.egress)):
        peer_field = "from" if field == "ingress" else "to"
        for i, rule in enumerate(rules):
            rpath = f"{path}.{field}[{i}]"
            peers = rule.from_ if isinstance(rule, NetworkPolicyIngressRule) else rule.to
            for j, peer in enumerate(peers):
                issues += _check_peer(peer, f"{rpath}.{peer_field}[{j}]")
            for j, port in enumerate(rule.ports):
                issues += _check_np_port(port, f"{rpath}.ports[{j}]")
    return issues


class NetworkPolicy(Resource):
    api_version: Literal["networking.k8s.io/v1"] = "networking.k8s.io/v1"
    kind: Literal["NetworkPolicy"] = "NetworkPolicy"
    spec: NetworkPolicySpec

    def issues(self) -> list[Issue]:
        return super().issues() + check_network_policy_spec(self.spec)
