"""What the supervisor runs for each container of a pod: argv, downward-API environment, identity,
confinement. Pure apart from the host's user database (read-only, cached), which is the "image" of
every container."""

from __future__ import annotations

import functools
import grp
import os
import pwd
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from netlab.compile import serviceaccount
from netlab.compile.images import Plan, container_plan, expand
from netlab.compile.ingress_controller import is_controller
from netlab.compile.security import ConfigError
from netlab.compile.security import profile as security_profile
from netlab.compile.serviceaccount import TokenIssuer
from netlab.compile.volumes import MissingSource, container_env, container_volumes
from netlab.compile.workloads import PlacedPod


@dataclass
class ContainerSpec:
    pod_key: str  # "ns/name"
    netns: str | None
    name: str
    argv: list[str] | None  # None: the built-in echo server on echo_ports (see netlab.compile.images)
    echo_ports: list[tuple[int, str]] = field(default_factory=list)
    identity: dict[str, str] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    restart_policy: str = "Always"  # Always | OnFailure | Never
    security: dict[str, Any] | None = None  # a netlab.compile.security.Profile as a dict; None: not confined
    config_error: str | None = None  # kubelet would not create it (CreateContainerConfigError): never started
    working_dir: str | None = None
    volumes: list[dict[str, Any]] = field(default_factory=list)  # see netlab.compile.volumes.container_volumes
    stdin: bool = False  # `stdin: true`: it reads a FIFO that `kubectl attach -i` writes to
    stdin_once: bool = False  # `stdinOnce: true`: EOF once the first attach's stdin ends (runtime/stdinkeeper.py)
    tty: bool = False  # `tty: true`: it runs on a pty of its own (netlab.runtime.ttyrelay keeps the master)


# (pod, node IP, the pod's addresses primary family first) -> the field's value
DOWNWARD_FIELDS = {
    "metadata.name": lambda p, node_ip, ips: p.name,
    "metadata.namespace": lambda p, node_ip, ips: p.namespace,
    "metadata.uid": lambda p, node_ip, ips: p.uid,
    "spec.nodeName": lambda p, node_ip, ips: p.node,
    "status.podIP": lambda p, node_ip, ips: ips[0] if ips else "",
    "status.podIPs": lambda p, node_ip, ips: ",".join(ips),  # as the kubelet joins them
    "status.hostIP": lambda p, node_ip, ips: node_ip,
}


@functools.lru_cache(maxsize=256)
def host_user(uid: int) -> tuple[int, list[int]] | None:
    """(primary gid, other gids) of uid in the host's user database: the "image" of every container."""
    try:
        user = pwd.getpwuid(uid)
    except KeyError:
        return None
    return user.pw_gid, sorted(g.gr_gid for g in grp.getgrall() if user.pw_name in g.gr_mem)


def host_of(ip: str) -> str:
    """An address as the host part of a URL: IPv6 in brackets (as Go's net.JoinHostPort, the kubelet's)."""
    return f"[{ip}]" if ":" in ip else ip


def api_service_env(objects: Mapping[str, dict], allocations: Mapping[str, Any]) -> dict[str, str]:
    """KUBERNETES_SERVICE_HOST/_PORT and the docker-link style KUBERNETES_PORT* variables the kubelet gives
    every container for the `kubernetes` Service in `default` (none while that Service does not exist)."""
    svc = next((o for o in objects.values() if o["kind"] == "Service" and o["metadata"]["name"] == "kubernetes"
                and o["metadata"].get("namespace", "default") == "default"), None)
    alloc = allocations.get("default/kubernetes")
    ip = ((alloc.cluster_ip or alloc.cluster_ip6) if alloc is not None else None) or \
        ((svc or {}).get("spec") or {}).get("clusterIP")
    ports = ((svc or {}).get("spec") or {}).get("ports") or []
    if svc is None or not ip or ip == "None" or not ports:
        return {}
    env = {"KUBERNETES_SERVICE_HOST": ip, "KUBERNETES_SERVICE_PORT": str(ports[0]["port"])}
    for p in ports:
        proto, port = p.get("protocol", "TCP"), p["port"]
        if p.get("name"):
            env[f"KUBERNETES_SERVICE_PORT_{p['name'].upper().replace('-', '_')}"] = str(port)
        prefix = f"KUBERNETES_PORT_{port}_{proto}"
        env.update({prefix: f"{proto.lower()}://{host_of(ip)}:{port}", f"{prefix}_PROTO": proto.lower(),
                    f"{prefix}_PORT": str(port), f"{prefix}_ADDR": ip})
    first = ports[0]
    env["KUBERNETES_PORT"] = f"{first.get('protocol', 'TCP').lower()}://{host_of(ip)}:{first['port']}"
    return env


def _downward(pod: PlacedPod, node_ip: str, path: str, ips: Sequence[str] = ()) -> str | None:
    """The value of a downward API fieldPath (None: one netlab does not know); ips: the pod's addresses,
    primary family first (default: IPv4 first)."""
    if path in DOWNWARD_FIELDS:
        return DOWNWARD_FIELDS[path](pod, node_ip, list(ips) or pod.ips())
    if path.startswith("metadata.labels['") and path.endswith("']"):
        return pod.labels.get(path[len("metadata.labels['"):-2], "")
    if path == "metadata.labels":
        return "".join(f'{k}="{v}"\n' for k, v in sorted(pod.labels.items()))
    return None


INGRESS_VOLUME = "netlab-ingress-nginx"


def _as_ingress_controller(pod_spec: Mapping[str, Any], container: Mapping[str, Any],
                           nginx_argv: Sequence[str]) -> tuple[dict, dict]:
    """The pod spec and container a controller-image container runs as: netlab's nginx with its directory
    (the `-p` prefix: configuration, certificates, pid) bound in, as the built-in add-on's hostPath volume
    does. The image's securityContext (uid 101) is not applied: the files netlab writes are root's."""
    prefix = nginx_argv[list(nginx_argv).index("-p") + 1]
    c = {k: v for k, v in container.items() if k != "securityContext"}
    c["volumeMounts"] = [*(c.get("volumeMounts") or []), {"name": INGRESS_VOLUME, "mountPath": prefix}]
    spec = {k: v for k, v in pod_spec.items() if k != "securityContext"}
    spec["volumes"] = [*(spec.get("volumes") or []),
                       {"name": INGRESS_VOLUME, "hostPath": {"path": prefix, "type": "DirectoryOrCreate"}}]
    return spec, c


def container_specs(pod: PlacedPod, node_ip: str, api_env: Mapping[str, str] | None = None,
                    objects: Mapping[str, dict] | None = None, resolv: str = "",
                    domain: str = "cluster.local", *, ingress_argv: Sequence[str] = (),
                    sa_issuer: TokenIssuer | None = None,
                    families: tuple[str, ...] = ("IPv4",)) -> list[ContainerSpec]:
    """families: the cluster's IP families, primary first (the pod's POD_IP and status.podIP are its
    address of the first family it has); objects: the stored objects, for the ConfigMaps and Secrets the
    containers read; resolv: the resolv.conf the containers bind themselves ("": the one of their network
    namespace); ingress_argv: the nginx command line a container of ingress-nginx's controller image runs
    (see compile.ingress_controller);
    sa_issuer: signs the service account token each container gets (see compile.serviceaccount)."""
    out = []
    ips = pod.ips(families)
    pod_ip = ips[0] if ips else ""
    objects = objects or {}
    token = sa_issuer is not None and serviceaccount.automount(pod.namespace, pod.spec, objects)

    def plain(var: Mapping[str, Any]) -> str | None:
        ref = ((var.get("valueFrom") or {}).get("fieldRef") or {}).get("fieldPath")
        found = _downward(pod, node_ip, ref, ips) if ref else None
        return found if found is not None else str(var.get("value", ""))

    for c in pod.spec.get("containers", []):
        env = {
            **(api_env or {}),
            "PATH": os.environ.get("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"),
            "HOSTNAME": pod.spec.get("hostname") or pod.name,
            "POD_NAME": pod.name,
            "POD_NAMESPACE": pod.namespace,
            "POD_IP": pod_ip,
            "NODE_NAME": pod.node,
            **({"POD_IPS": ",".join(ips)} if len(ips) > 1 else {}),   # dual-stack: status.podIPs
        }
        config_error, volumes = None, []
        try:
            env.update(container_env(pod.namespace, c, objects, plain))
            volumes = container_volumes(pod.namespace, pod.spec, c, objects,
                                        lambda path: _downward(pod, node_ip, path, ips))
            if token and sa_issuer and not any(v["mountPath"] == serviceaccount.MOUNT_PATH for v in volumes):
                volumes.append(serviceaccount.token_volume(sa_issuer, pod.namespace, pod.spec))
        except MissingSource as e:
            config_error = str(e)
        for field_name in ("command", "args"):   # $(VAR) references, expanded from the container's env
            if c.get(field_name):
                c = {**c, field_name: [expand(str(a), env) for a in c[field_name]]}
        run, pod_spec = container_plan(c), pod.spec
        if ingress_argv and is_controller(c):
            pod_spec, c = _as_ingress_controller(pod.spec, c, ingress_argv)
            run = Plan(list(ingress_argv))
        try:
            security = security_profile(pod_spec, c, f"{pod.name}_{pod.namespace}({pod.uid})",
                                        host_user, env["HOSTNAME"], pod_ip, resolv,
                                        f"{pod.namespace}.svc.{domain}")
        except ConfigError as e:
            security, config_error = None, str(e)
        out.append(ContainerSpec(
            pod_key=pod.key, netns=pod.run_netns, name=c["name"], argv=run.argv,
            echo_ports=run.echo_ports if run.argv is None else [],
            identity={"pod": pod.name, "namespace": pod.namespace, "ip": pod_ip, "node": pod.node,
                      "container": c["name"], **({"ips": env["POD_IPS"]} if len(ips) > 1 else {})},
            env=env, restart_policy=pod.spec.get("restartPolicy", "Always"),
            security=security.to_dict() if security else None, config_error=config_error,
            working_dir=c.get("workingDir"), volumes=volumes, stdin=bool(c.get("stdin")),
            stdin_once=bool(c.get("stdin") and c.get("stdinOnce")),
            tty=bool(c.get("tty")),
        ))
    return out
