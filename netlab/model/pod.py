"""core/v1 Pod and the PodSpec that Deployments and ReplicaSets share: containers, ports, probes, env."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from netlab.compile import names as kernel_names
from netlab.compile import security

from . import dns1123 as names
from .meta import (
    AnyDict,
    IntOrString,
    Issue,
    Model,
    Protocol,
    Resource,
    check_ip,
    check_labels,
    check_name,
    check_port,
)
from .pod_dns import dns_problems
from .volumes import volume_issues


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
    issues += volume_issues(spec.volumes, [(f"{path}.{field}[{i}]", c.volume_mounts) for field, cs in
                                           (("initContainers", spec.init_containers), ("containers", spec.containers))
                                           for i, c in enumerate(cs)], path)
    if spec.termination_grace_period_seconds < 0:
        issues.append((f"{path}.terminationGracePeriodSeconds", "must be greater than or equal to 0"))
    issues += dns_problems(spec.dns_policy, spec.dns_config, path)
    issues += _host_network_issues(spec, path)
    return issues


def _host_network_issues(spec: PodSpec, path: str) -> list[Issue]:
    """As the apiserver's validateHostNetwork: a hostNetwork pod's hostPorts are its containerPorts."""
    if not spec.host_network:
        return []
    return [(f"{path}.{field}[{i}].ports[{j}].hostPort", f"must match `containerPort` ({port.container_port}) "
                                                         f"when `hostNetwork` is true, got {port.host_port}")
            for field, cs in (("initContainers", spec.init_containers), ("containers", spec.containers))
            for i, c in enumerate(cs) for j, port in enumerate(c.ports)
            if port.host_port is not None and port.host_port != port.container_port]


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
