"""core/v1 kinds: Namespace, Pod, Service, Endpoints, Secret (and the PodSpec they share)."""

from __future__ import annotations

import base64
import binascii
from typing import ClassVar, Literal

from pydantic import Field, model_validator

from netlab.compile import names as kernel_names
from netlab.compile import security

from . import dns1123 as names
from .meta import (
    AnyDict,
    IntOrString,
    Issue,
    Model,
    ObjectReference,
    Protocol,
    Resource,
    check_ip,
    check_labels,
    check_name,
    check_port,
    key_path,
)

NODE_PORT_RANGE = (30000, 32767)

# --- Pod -----------------------------------------------------------------------------------------


class ObjectFieldSelector(Model):
    field_path: str
    api_version: str | None = None


class EnvVarSource(Model):
    field_ref: ObjectFieldSelector | None = None
    resource_field_ref: AnyDict | None = None
    config_map_key_ref: AnyDict | None = None
    secret_key_ref: AnyDict | None = None


class EnvVar(Model):
    name: str
    value: str | None = None
    value_from: EnvVarSource | None = None


class ContainerPort(Model):
    name: str | None = None
    container_port: int
    protocol: Protocol = "TCP"
    host_port: int | None = None
    host_ip: str | None = Field(None, alias="hostIP")


class HTTPHeader(Model):
    name: str
    value: str


class HTTPGetAction(Model):
    path: str = "/"
    port: IntOrString
    host: str | None = None
    scheme: Literal["HTTP", "HTTPS"] = "HTTP"
    http_headers: list[HTTPHeader] = Field(default_factory=list)


class TCPSocketAction(Model):
    port: IntOrString
    host: str | None = None


class ExecAction(Model):
    command: list[str] = Field(default_factory=list)


class GRPCAction(Model):
    port: int
    service: str | None = None


class Probe(Model):
    exec_: ExecAction | None = Field(None, alias="exec")
    http_get: HTTPGetAction | None = None
    tcp_socket: TCPSocketAction | None = None
    grpc: GRPCAction | None = None
    initial_delay_seconds: int = 0
    period_seconds: int = 10
    timeout_seconds: int = 1
    success_threshold: int = 1
    failure_threshold: int = 3
    termination_grace_period_seconds: int | None = None


class Container(Model):
    name: str
    image: str
    command: list[str] = Field(default_factory=list)
    args: list[str] = Field(default_factory=list)
    env: list[EnvVar] = Field(default_factory=list)
    env_from: list[AnyDict] = Field(default_factory=list)
    ports: list[ContainerPort] = Field(default_factory=list)
    readiness_probe: Probe | None = None
    liveness_probe: Probe | None = None
    startup_probe: Probe | None = None
    resources: AnyDict = Field(default_factory=dict)
    image_pull_policy: Literal["Always", "IfNotPresent", "Never"] | None = None
    working_dir: str | None = None
    volume_mounts: list[AnyDict] = Field(default_factory=list)
    volume_devices: list[AnyDict] | None = None
    security_context: AnyDict | None = None
    lifecycle: AnyDict | None = None
    restart_policy: Literal["Always"] | None = None  # sidecar init containers
    stdin: bool | None = None
    stdin_once: bool | None = None
    tty: bool | None = None
    termination_message_path: str | None = None
    termination_message_policy: Literal["File", "FallbackToLogsOnError"] | None = None


class PodSpec(Model):
    containers: list[Container]
    init_containers: list[Container] = Field(default_factory=list)
    restart_policy: Literal["Always", "OnFailure", "Never"] = "Always"
    node_name: str | None = None
    node_selector: dict[str, str] = Field(default_factory=dict)
    hostname: str | None = None
    subdomain: str | None = None
    termination_grace_period_seconds: int = 30
    active_deadline_seconds: int | None = None
    dns_policy: Literal["ClusterFirst", "ClusterFirstWithHostNet", "Default", "None"] = "ClusterFirst"
    dns_config: AnyDict | None = None
    host_network: bool = False
    host_pid: bool | None = Field(None, alias="hostPID")
    host_ipc: bool | None = Field(None, alias="hostIPC")
    host_aliases: list[AnyDict] | None = None
    service_account_name: str | None = None
    service_account: str | None = None
    automount_service_account_token: bool | None = None
    enable_service_links: bool | None = None
    volumes: list[AnyDict] = Field(default_factory=list)
    affinity: AnyDict | None = None
    tolerations: list[AnyDict] | None = None
    topology_spread_constraints: list[AnyDict] | None = None
    security_context: AnyDict | None = None
    image_pull_secrets: list[AnyDict] | None = None
    priority_class_name: str | None = None
    priority: int | None = None
    scheduler_name: str | None = None
    runtime_class_name: str | None = None
    share_process_namespace: bool | None = None
    readiness_gates: list[AnyDict] | None = None


def _check_probe(probe: Probe, path: str, liveness: bool) -> list[Issue]:
    issues: list[Issue] = []
    handlers = [h for h in ("exec_", "http_get", "tcp_socket", "grpc") if getattr(probe, h) is not None]
    if not handlers:
        issues.append((path, "must specify a handler type (exec, httpGet, tcpSocket or grpc)"))
    elif len(handlers) > 1:
        issues.append((path, "may not specify more than 1 handler type"))
    if probe.http_get is not None:
        issues += check_port(probe.http_get.port, f"{path}.httpGet.port")
    if probe.tcp_socket is not None:
        issues += check_port(probe.tcp_socket.port, f"{path}.tcpSocket.port")
    if probe.grpc is not None:
        issues += check_port(probe.grpc.port, f"{path}.grpc.port")
    if probe.initial_delay_seconds < 0:
        issues.append((f"{path}.initialDelaySeconds", "must be greater than or equal to 0"))
    for field, value in (("periodSeconds", probe.period_seconds), ("timeoutSeconds", probe.timeout_seconds),
                         ("successThreshold", probe.success_threshold),
                         ("failureThreshold", probe.failure_threshold)):
        if value < 1:
            issues.append((f"{path}.{field}", f"must be greater than or equal to 1, got {value}"))
    if liveness and probe.success_threshold != 1:
        issues.append((f"{path}.successThreshold", "must be 1"))
    return issues


def _check_container(c: Container, path: str) -> list[Issue]:
    issues = check_name(c.name, f"{path}.name", names.check_dns1123_label)
    if not c.image.strip():
        issues.append((f"{path}.image", "required field is missing"))
    for i, env in enumerate(c.env):
        issues += [(f"{path}.env[{i}].name", f"invalid name {env.name!r}: {m}")
                   for m in names.check_env_var_name(env.name)]
        if env.value is not None and env.value_from is not None:
            issues.append((f"{path}.env[{i}]", "may not have both value and valueFrom"))
    for i, port in enumerate(c.ports):
        ppath = f"{path}.ports[{i}]"
        issues += [(f"{ppath}.containerPort", m) for m in names.check_port_number(port.container_port)]
        if port.host_port is not None:
            issues += [(f"{ppath}.hostPort", m) for m in names.check_port_number(port.host_port)]
        if port.name is not None:
            issues += [(f"{ppath}.name", f"invalid port name {port.name!r}: {m}")
                       for m in names.check_port_name(port.name)]
        if port.host_ip is not None:
            issues += check_ip(port.host_ip, f"{ppath}.hostIP")
    for field, probe in (("readinessProbe", c.readiness_probe), ("livenessProbe", c.liveness_probe),
                         ("startupProbe", c.startup_probe)):
        if probe is not None:
            issues += _check_probe(probe, f"{path}.{field}", liveness=field != "readinessProbe")
    return issues


def check_pod_spec(spec: PodSpec, path: str) -> list[Issue]:
    issues: list[Issue] = []
    if not spec.containers:
        issues.append((f"{path}.containers", "must have at least one container"))
    seen_names: dict[str, str] = {}
    seen_ports: dict[str, str] = {}
    for field, containers in (("initContainers", spec.init_containers), ("containers", spec.containers)):
        for i, c in enumerate(containers):
            cpath = f"{path}.{field}[{i}]"
            issues += _check_container(c, cpath)
            if c.name in seen_names:
                issues.append((f"{cpath}.name",
                               f"duplicate container name {c.name!r} (also {seen_names[c.name]})"))
            seen_names.setdefault(c.name, cpath)
            for j, port in enumerate(c.ports):
                if port.name is None:
                    continue
                ppath = f"{cpath}.ports[{j}].name"
                if port.name in seen_ports:
                    issues.append((ppath,
                                   f"duplicate port name {port.name!r} (also {seen_ports[port.name]})"))
                seen_ports.setdefault(port.name, ppath)
    issues += check_labels(spec.node_selector, f"{path}.nodeSelector")
    issues += security.problems({"securityContext": spec.security_context, **{
        kind: [{"securityContext": c.security_context} for c in containers]
        for kind, containers in (("initContainers", spec.init_containers), ("containers", spec.containers))}}, path)
    for field in ("hostname", "subdomain"):
        value = getattr(spec, field)
        if value is not None:
            issues += check_name(value, f"{path}.{field}", names.check_dns1123_label)
    if spec.node_name is not None:
        issues += check_name(spec.node_name, f"{path}.nodeName", names.check_dns1123_subdomain)
    if spec.termination_grace_period_seconds < 0:
        issues.append((f"{path}.terminationGracePeriodSeconds", "must be greater than or equal to 0"))
    return issues


class Pod(Resource):
    api_version: Literal["v1"] = "v1"
    kind: Literal["Pod"] = "Pod"
    spec: PodSpec

    def issues(self) -> list[Issue]:
        return super().issues() + check_pod_spec(self.spec, "spec") + check_pod_dir(self.namespace, self.name)


def check_pod_dir(namespace: str, name: str) -> list[Issue]:
    """The supervisor keeps a pod's logs and pids in a directory named `<namespace>_<pod>`, and a file
    name has at most 255 bytes. netlab.compile.names.pod_dir_name bounds that name; until the supervisor uses
    it, a pod that would overflow it is refused here rather than failing half-applied in the kernel.
    (Workloads name their pods with at most 63 characters, as Kubernetes does.)"""
    size = len(f"{namespace}{name}".encode())
    if size < kernel_names.NAME_MAX:
        return []
    return [("metadata.name", f"too long for netlab: namespace and pod name together may have at most "
                              f"{kernel_names.NAME_MAX - 1} characters (a pod's log directory "
                              f"<namespace>_<pod> is a file name), got {size}")]


# --- Namespace -----------------------------------------------------------------------------------


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
    name: str | None = None
    protocol: Protocol = "TCP"
    app_protocol: str | None = None
    port: int
    target_port: IntOrString | None = None
    node_port: int | None = None

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
    type: Literal["ClusterIP", "NodePort", "LoadBalancer", "ExternalName"] = "ClusterIP"
    cluster_ip: str | None = Field(None, alias="clusterIP")
    cluster_ips: list[str] | None = Field(None, alias="clusterIPs")
    ports: list[ServicePort] = Field(default_factory=list)
    selector: dict[str, str] = Field(default_factory=dict)
    external_name: str | None = None
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
        if self.type != "ExternalName" and self.internal_traffic_policy is None:
            self.internal_traffic_policy = "Cluster"
        if self.session_affinity == "ClientIP" and self.session_affinity_config is None:
            self.session_affinity_config = SessionAffinityConfig()
        return self

    @property
    def headless(self) -> bool:
        return self.cluster_ip == "None"


def check_service_spec(spec: ServiceSpec, path: str,
                       node_port_range: tuple[int, int] = NODE_PORT_RANGE) -> list[Issue]:
    issues: list[Issue] = []
    low, high = node_port_range
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
    issues += check_labels(spec.selector, f"{path}.selector")
    if spec.session_affinity_config is not None:
        timeout = spec.session_affinity_config.client_ip.timeout_seconds
        if not 0 < timeout <= 86400:
            issues.append((f"{path}.sessionAffinityConfig.clientIP.timeoutSeconds",
                           f"must be between 1 and 86400, got {timeout}"))
    if spec.external_traffic_policy is not None and spec.type not in ("NodePort", "LoadBalancer"):
        issues.append((f"{path}.externalTrafficPolicy",
                       "may only be set when type is NodePort or LoadBalancer"))
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

