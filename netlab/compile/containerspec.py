"""What the supervisor runs for each container of a pod: argv, downward-API environment, identity,
confinement. Pure apart from the host's user database (read-only, cached), which is the "image" of
every container."""

from __future__ import annotations

import functools
import grp
import os
import pwd
from dataclasses import dataclass, field
from typing import Any

from netlab.compile.security import ConfigError
from netlab.compile.security import profile as security_profile
from netlab.compile.workloads import PlacedPod


@dataclass
class ContainerSpec:
    pod_key: str  # "ns/name"
    netns: str | None
    name: str
    argv: list[str] | None  # None: the built-in echo server on echo_ports
    echo_ports: list[tuple[int, str]] = field(default_factory=list)
    identity: dict[str, str] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    restart_policy: str = "Always"  # Always | OnFailure | Never
    security: dict[str, Any] | None = None  # a netlab.compile.security.Profile as a dict; None: not confined
    config_error: str | None = None  # kubelet would not create it (CreateContainerConfigError): never started
    working_dir: str | None = None


DOWNWARD_FIELDS = {
    "metadata.name": lambda p, node_ip: p.name,
    "metadata.namespace": lambda p, node_ip: p.namespace,
    "metadata.uid": lambda p, node_ip: p.uid,
    "spec.nodeName": lambda p, node_ip: p.node,
    "status.podIP": lambda p, node_ip: p.ip,
    "status.hostIP": lambda p, node_ip: node_ip,
}


@functools.lru_cache(maxsize=256)
def host_user(uid: int) -> tuple[int, list[int]] | None:
    """(primary gid, other gids) of uid in the host's user database: the "image" of every container."""
    try:
        user = pwd.getpwuid(uid)
    except KeyError:
        return None
    return user.pw_gid, sorted(g.gr_gid for g in grp.getgrall() if user.pw_name in g.gr_mem)


def container_specs(pod: PlacedPod, node_ip: str) -> list[ContainerSpec]:
    out = []
    for c in pod.spec.get("containers", []):
        env = {
            "PATH": os.environ.get("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"),
            "HOSTNAME": pod.spec.get("hostname") or pod.name,
            "POD_NAME": pod.name,
            "POD_NAMESPACE": pod.namespace,
            "POD_IP": pod.ip,
            "NODE_NAME": pod.node,
        }
        for var in c.get("env") or []:
            ref = ((var.get("valueFrom") or {}).get("fieldRef") or {}).get("fieldPath")
            if ref in DOWNWARD_FIELDS:
                env[var["name"]] = DOWNWARD_FIELDS[ref](pod, node_ip)
            elif ref and ref.startswith("metadata.labels['"):
                env[var["name"]] = pod.labels.get(ref[len("metadata.labels['"):-2], "")
            else:
                env[var["name"]] = str(var.get("value", ""))
        argv = list(c.get("command") or []) + list(c.get("args") or []) or None
        ports = [(p["containerPort"], p.get("protocol", "TCP")) for p in c.get("ports") or []] or [(80, "TCP")]
        try:
            security, config_error = security_profile(pod.spec, c, f"{pod.name}_{pod.namespace}({pod.uid})",
                                                     host_user, env["HOSTNAME"], pod.ip), None
        except ConfigError as e:
            security, config_error = None, str(e)
        out.append(ContainerSpec(
            pod_key=pod.key, netns=pod.netns, name=c["name"], argv=argv,
            echo_ports=ports if argv is None else [],
            identity={"pod": pod.name, "namespace": pod.namespace, "ip": pod.ip, "node": pod.node,
                      "container": c["name"]},
            env=env, restart_policy=pod.spec.get("restartPolicy", "Always"),
            security=security.to_dict() if security else None, config_error=config_error,
            working_dir=c.get("workingDir"),
        ))
    return out


