"""What a container may do, from its pod's and its own securityContext, as Kubernetes and containerd decide it.

Pure: the kernel side (namespaces, mounts, capabilities, uid) is netlab.runtime.sandbox.

- Capabilities: containerd's default set for every container; ``capabilities.add``/``drop`` with names
  without ``CAP_`` (case-insensitive, ``ALL``) applied as containerd applies them: add ALL, drop ALL,
  then the single adds, then the single drops (so a drop wins). ``privileged: true`` gets every
  capability and ignores add/drop. The set is the bounding set; the permitted and effective sets are
  what execve leaves: all of it for uid 0, nothing for other users (the inheritable and ambient sets
  stay empty, as containerd leaves them).
- User: ``runAsUser``/``runAsGroup`` (container over pod); without them the "image" user, which is root
  here (images are the host's binaries). Without ``runAsGroup`` the primary group is the user's group in
  the host's passwd file, else 0; supplementary groups are the user's groups there plus the pod's
  ``supplementalGroups`` and ``fsGroup``.
- ``runAsNonRoot: true`` with uid 0 is refused with kubelet's CreateContainerConfigError messages.
- ``allowPrivilegeEscalation: false`` sets no_new_privs; ``readOnlyRootFilesystem: true`` leaves no
  writable place but hostPath volumes (the host's files are read-only for every unprivileged pod).
- ``hostPID``/``hostIPC`` keep the host's PID/IPC namespaces; otherwise each container gets its own
  (Kubernetes shares the IPC namespace within a pod; netlab's containers rarely need that).
- Accepted without effect: seccompProfile, appArmorProfile, seLinuxOptions, procMount (no such layers here).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

# capability(7) numbers; the kernel may know fewer (see /proc/sys/kernel/cap_last_cap) or more.
CAPABILITIES = (
    "CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID", "SETPCAP",
    "LINUX_IMMUTABLE", "NET_BIND_SERVICE", "NET_BROADCAST", "NET_ADMIN", "NET_RAW", "IPC_LOCK", "IPC_OWNER",
    "SYS_MODULE", "SYS_RAWIO", "SYS_CHROOT", "SYS_PTRACE", "SYS_PACCT", "SYS_ADMIN", "SYS_BOOT", "SYS_NICE",
    "SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG", "MKNOD", "LEASE", "AUDIT_WRITE", "AUDIT_CONTROL", "SETFCAP",
    "MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG", "WAKE_ALARM", "BLOCK_SUSPEND", "AUDIT_READ", "PERFMON", "BPF",
    "CHECKPOINT_RESTORE",
)
CAP_NUMBER = {name: i for i, name in enumerate(CAPABILITIES)}

# containerd's defaultUnixCaps (oci/spec.go), which Kubernetes pods get unless they add or drop.
DEFAULT_CAPS = frozenset({
    "CHOWN", "DAC_OVERRIDE", "FSETID", "FOWNER", "MKNOD", "NET_RAW", "SETGID", "SETUID", "SETFCAP", "SETPCAP",
    "NET_BIND_SERVICE", "SYS_CHROOT", "KILL", "AUDIT_WRITE",
})

MAX_ID = 2147483647


class ConfigError(ValueError):
    """The container cannot be started as configured (kubelet: CreateContainerConfigError)."""

    reason = "CreateContainerConfigError"


@dataclass(frozen=True)
class Profile:
    """How one container runs: its identity, capabilities and the paths it gets from the host."""

    uid: int = 0
    gid: int = 0
    groups: tuple[int, ...] = ()
    caps: frozenset[str] = DEFAULT_CAPS  # the bounding set; see the module docstring for the others
    no_new_privs: bool = False
    privileged: bool = False
    read_only_root: bool = False  # readOnlyRootFilesystem: /tmp, /var/tmp and /run are read-only too
    host_pid: bool = False  # hostPID: the host's PID namespace instead of one of its own
    host_ipc: bool = False  # hostIPC: the host's System V IPC and POSIX message queues
    hostname: str = ""  # the UTS namespace's host name (the pod's); "" keeps the host's (and its UTS namespace)
    hosts: str = ""  # /etc/hosts as kubelet writes it; "" keeps the host's
    resolv: str = ""  # a resolv.conf of its own (a hostNetwork pod's); "" keeps its network namespace's
    host_network: bool = False  # in its node's network namespace: containerd's pod sysctls are not set there
    # (host path, container path, read-only, create the host directory if missing): hostPath volumes,
    # bind-mounted after the host is hidden
    mounts: tuple[tuple[str, str, bool, bool], ...] = field(default_factory=tuple)

    def effective_caps(self) -> frozenset[str]:
        """CapEff after execve: the bounding set for root, nothing for other users."""
        return self.caps if self.uid == 0 else frozenset()

    def to_dict(self) -> dict[str, Any]:
        return {"uid": self.uid, "gid": self.gid, "groups": list(self.groups), "caps": sorted(self.caps),
                "noNewPrivs": self.no_new_privs, "privileged": self.privileged, "readOnlyRoot": self.read_only_root,
                "hostPID": self.host_pid, "hostIPC": self.host_ipc, "hostname": self.hostname, "hosts": self.hosts,
                "resolv": self.resolv, "hostNetwork": self.host_network,
                "mounts": [list(m) for m in self.mounts]}

    @staticmethod
    def from_dict(d: dict[str, Any]) -> Profile:
        return Profile(
            uid=int(d.get("uid", 0)), gid=int(d.get("gid", 0)), groups=tuple(int(g) for g in d.get("groups") or ()),
            caps=frozenset(str(c) for c in d.get("caps", DEFAULT_CAPS)), no_new_privs=bool(d.get("noNewPrivs")),
            privileged=bool(d.get("privileged")), read_only_root=bool(d.get("readOnlyRoot")),
            host_pid=bool(d.get("hostPID")), host_ipc=bool(d.get("hostIPC")), hostname=str(d.get("hostname") or ""),
            hosts=str(d.get("hosts") or ""), resolv=str(d.get("resolv") or ""), host_network=bool(d.get("hostNetwork")),
            mounts=tuple((str(s), str(t), bool(ro), bool(create)) for s, t, ro, create in d.get("mounts") or ()),
        )


def cap_mask(caps: Iterable[str]) -> int:
    """The kernel's bit mask of capability names (unknown names are not counted)."""
    mask = 0
    for name in caps:
        if name in CAP_NUMBER:
            mask |= 1 << CAP_NUMBER[name]
    return mask


def capabilities(sc: dict[str, Any]) -> frozenset[str]:
    """The container's capability set from its securityContext; ConfigError on an unknown name."""
    if sc.get("privileged"):
        return frozenset(CAPABILITIES)
    spec = sc.get("capabilities") or {}
    add = [str(c).upper() for c in spec.get("add") or []]
    drop = [str(c).upper() for c in spec.get("drop") or []]
    unknown = sorted({c for c in add + drop if c != "ALL" and c not in CAP_NUMBER})
    if unknown:
        hint = " (names are written without CAP_)" if any(c.startswith("CAP_") for c in unknown) else ""
        raise ConfigError(f"unknown capability {', '.join(unknown)}{hint}")
    caps = set(DEFAULT_CAPS)
    if "ALL" in add:
        caps = set(CAPABILITIES)
    if "ALL" in drop:
        caps = set()
    caps |= {c for c in add if c != "ALL"}
    caps -= set(drop)
    return frozenset(caps)


def _merged(pod_sc: dict[str, Any], sc: dict[str, Any], key: str) -> Any:
    return sc[key] if sc.get(key) is not None else pod_sc.get(key)


def _check_id(value: Any, path: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_ID:
        raise ConfigError(f"{path}: must be between 0 and {MAX_ID}, inclusive")
    return value


def _id_problem(value: Any, path: str) -> list[tuple[str, str]]:
    try:
        _check_id(value, path)
    except ConfigError as e:
        return [(path, str(e).split(": ", 1)[1])]
    return []


def problems(pod_spec: dict[str, Any], path: str = "spec") -> list[tuple[str, str]]:
    """API-level checks Kubernetes makes on securityContext: (field path, message), every one at once.

    pod_spec needs only ``securityContext`` and the containers' ``securityContext`` (path: where the
    pod spec sits in its object, e.g. ``spec.template.spec``)."""
    pod_sc = pod_spec.get("securityContext") or {}
    out = []
    for key in ("runAsUser", "runAsGroup", "fsGroup"):
        out += _id_problem(pod_sc.get(key), f"{path}.securityContext.{key}")
    for i, g in enumerate(pod_sc.get("supplementalGroups") or []):
        out += _id_problem(g, f"{path}.securityContext.supplementalGroups[{i}]")
    for kind in ("initContainers", "containers"):
        for i, c in enumerate(pod_spec.get(kind) or []):
            sc = c.get("securityContext") or {}
            cpath = f"{path}.{kind}[{i}].securityContext"
            for key in ("runAsUser", "runAsGroup"):
                out += _id_problem(sc.get(key), f"{cpath}.{key}")
            if sc.get("allowPrivilegeEscalation") is False:
                if sc.get("privileged"):
                    out.append((cpath, "cannot set `allowPrivilegeEscalation` to false and `privileged` to true"))
                add = [str(a).upper() for a in (sc.get("capabilities") or {}).get("add") or []]
                if "SYS_ADMIN" in add or "CAP_SYS_ADMIN" in add:
                    out.append((cpath, "cannot set `allowPrivilegeEscalation` to false and `capabilities.Add` "
                                       "CAP_SYS_ADMIN"))
    return out


def host_path_mounts(pod_spec: dict[str, Any], container: dict[str, Any]) -> tuple[tuple[str, str, bool, bool], ...]:
    """The container's volumeMounts of hostPath volumes: (host path, mount path, read-only, create).

    Other volume types are not mounted (yet): their mount paths stay as the host has them."""
    volumes = {v.get("name"): v.get("hostPath") or {} for v in pod_spec.get("volumes") or []}
    out = []
    for vm in container.get("volumeMounts") or []:
        host = volumes.get(vm.get("name")) or {}
        if host.get("path") and vm.get("mountPath"):
            create = host.get("type") == "DirectoryOrCreate"
            out.append((str(host["path"]), str(vm["mountPath"]), bool(vm.get("readOnly")), create))
    return tuple(out)


def profile(pod_spec: dict[str, Any], container: dict[str, Any], pod_label: str,
            lookup_user: Callable[[int], tuple[int, list[int]] | None] = lambda uid: None,
            hostname: str = "", pod_ip: str = "", resolv: str = "", domain: str = "") -> Profile:
    """The container's Profile; ConfigError when kubelet would refuse to create it.

    pod_label names the pod in messages as kubelet does (``name_namespace(uid)``); hostname is the
    pod's (``spec.hostname`` or its name; the host's with ``hostNetwork``); lookup_user(uid)
    returns (primary gid, supplementary gids) from the image's (here: the host's) user database; resolv: a
    resolv.conf the container binds itself; domain: where ``spec.subdomain`` lives
    (``<ns>.svc.<cluster domain>``), for the pod's FQDN in /etc/hosts."""
    pod_sc = pod_spec.get("securityContext") or {}
    sc = container.get("securityContext") or {}
    problems_here = [m for p, m in problems({"securityContext": pod_sc, "containers": [container]})]
    if problems_here:
        raise ConfigError("; ".join(problems_here))
    uid = _merged(pod_sc, sc, "runAsUser")
    gid = _merged(pod_sc, sc, "runAsGroup")
    if _merged(pod_sc, sc, "runAsNonRoot"):
        where = f"(pod: {pod_label!r}, container: {container.get('name')})".replace("'", '"')
        if uid == 0:
            raise ConfigError(f"container's runAsUser breaks non-root policy {where}")
        if uid is None:
            raise ConfigError(f"container has runAsNonRoot and image will run as root {where}")
    uid = uid or 0
    known = lookup_user(uid)
    if gid is None:
        gid = known[0] if known else 0
    groups = {gid, *(known[1] if known else ())}
    groups |= set(pod_sc.get("supplementalGroups") or ())
    if pod_sc.get("fsGroup") is not None:
        groups.add(pod_sc["fsGroup"])
    privileged = bool(sc.get("privileged"))
    escalation = sc.get("allowPrivilegeEscalation")
    host_network = bool(pod_spec.get("hostNetwork"))
    hostname = hostname[:63].rstrip("-.")  # as kubelet truncates it
    return Profile(
        uid=uid, gid=gid, groups=tuple(sorted(groups)), caps=capabilities(sc),
        no_new_privs=escalation is False and not privileged, privileged=privileged,
        read_only_root=bool(sc.get("readOnlyRootFilesystem")),
        mounts=host_path_mounts(pod_spec, container),
        host_pid=bool(pod_spec.get("hostPID")), host_ipc=bool(pod_spec.get("hostIPC")),
        hostname="" if host_network else hostname,
        hosts="" if host_network or not pod_ip else hosts_file(pod_ip, hostname, pod_spec.get("hostAliases") or [],
                                                               _fqdn(hostname, pod_spec.get("subdomain"), domain)),
        resolv=resolv, host_network=host_network,
    )


def _fqdn(hostname: str, subdomain: str | None, domain: str) -> str:
    return f"{hostname}.{subdomain}.{domain}" if hostname and subdomain and domain else ""


def hosts_file(pod_ip: str, hostname: str, host_aliases: list[dict[str, Any]], fqdn: str = "") -> str:
    """The pod's /etc/hosts as kubelet writes it: localhost, the pod's own name (its FQDN first when it has
    ``hostname`` and ``subdomain``), then hostAliases."""
    lines = ["# Kubernetes-managed hosts file.", "127.0.0.1\tlocalhost",
             "::1\tlocalhost ip6-localhost ip6-loopback", "fe00::0\tip6-localnet", "fe00::0\tip6-mcastprefix",
             "fe00::1\tip6-allnodes", "fe00::2\tip6-allrouters"]
    if hostname:
        lines.append(f"{pod_ip}\t{fqdn}\t{hostname}" if fqdn else f"{pod_ip}\t{hostname}")
    if host_aliases:
        lines += ["", "# Entries added by HostAliases."]
        lines += [f"{a.get('ip', '')}\t" + "\t".join(a.get("hostnames") or []) for a in host_aliases]
    return "\n".join(lines) + "\n"
