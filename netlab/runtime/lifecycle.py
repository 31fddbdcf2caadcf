"""Bringing a cluster up: preflight checks, the first state file, and the controller process."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from netlab.api import pki
from netlab.api.client import Client
from netlab.api.pki import Pki
from netlab.compile import names
from netlab.compile.config import ClusterConfig, overlapping
from netlab.kernel import netlink as nl
from netlab.runtime import state as statemod
from netlab.runtime.files import private_dir
from netlab.runtime.launcher_client import SLOW_START_TIMEOUT

REQUIRED_TOOLS = ("ip", "nft")
OPTIONAL_TOOLS = ("curl", "dig", "tcpdump", "nginx")


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""


def host_routes_outside(config: ClusterConfig) -> list[str]:
    """Destinations of routes in this namespace, except those netlab itself put on its bridge."""
    with nl.socket_in(None) as ipr:
        ours = {link.index for link in nl.links(ipr).values()
                if names.cluster_of_alias(link.alias) == config.name}
        return sorted({dst for dst, _via, oif in nl.routes(ipr, ipv6=bool(config.pod_subnet6)) if oif not in ours})


def cidr_conflicts(config: ClusterConfig) -> list[str]:
    return [f"{cidr} overlaps the host route {route}"
            for cidr, route in overlapping(config.lab_cidrs(), host_routes_outside(config))]


def _kernel_version() -> tuple[int, int]:
    parts = (os.uname().release.split("-")[0].split(".") + ["0"])[:2]
    try:
        return int(parts[0]), int(parts[1])
    except ValueError:
        return (0, 0)


def loopback_up() -> bool:
    with nl.socket_in(None) as ipr:
        lo = nl.links(ipr).get("lo")
    return lo is not None and lo.up


def preflight(config: ClusterConfig) -> list[Check]:
    checks = [Check("root", os.geteuid() == 0, "running as root" if os.geteuid() == 0 else "not root",
                    "run netlab with sudo")]
    for tool in REQUIRED_TOOLS:
        path = shutil.which(tool)
        checks.append(Check(f"tool {tool}", bool(path), path or "not found",
                            "sudo scripts/provision.sh (installs iproute2 and nftables)"))
    checks.append(Check("bridge netfilter", os.path.exists("/proc/sys/net/bridge/bridge-nf-call-iptables"),
                        "br_netfilter loaded" if os.path.exists("/proc/sys/net/bridge") else "br_netfilter missing",
                        "sudo modprobe br_netfilter"))
    kernel = _kernel_version()
    checks.append(Check("pod confinement", kernel >= (5, 12), f"kernel {os.uname().release}",
                        "pods need Linux 5.12 or later (mount_setattr, for their read-only view of the host)"))
    if os.geteuid() == 0 and config.api_address.startswith("127."):
        lo_up = loopback_up()
        checks.append(Check("loopback", lo_up, "lo is up" if lo_up else "lo is down in this network namespace",
                            f"the API listens on {config.api_address}: `ip link set lo up` (a namespace made with "
                            "`ip netns add` starts with it down), or set apiServer.address in the Cluster file"))
    conflicts = cidr_conflicts(config) if os.geteuid() == 0 else []
    checks.append(Check("address plan", not conflicts, "; ".join(conflicts) or
                        f"{', '.join(config.lab_cidrs())} free on this host",
                        "choose other networking.podSubnet/serviceSubnet or underlay.subnet in the Cluster file"))
    return checks


def doctor_checks(config: ClusterConfig) -> list[Check]:
    checks = preflight(config)
    for tool in OPTIONAL_TOOLS:
        path = shutil.which(tool)
        checks.append(Check(f"tool {tool}", bool(path), path or "not found (optional)",
                            "sudo scripts/provision.sh"))
    if os.geteuid() == 0:
        probe = f"netlab-doctor-{os.getpid()}"
        made = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True)
        ok = made.returncode == 0
        detail = "can create network namespaces" if ok else made.stderr.strip()
        if ok:
            veth = subprocess.run(["ip", "-n", probe, "link", "add", "d0", "type", "veth", "peer", "d1"],
                                  capture_output=True, text=True)
            vx = subprocess.run(["ip", "-n", probe, "link", "add", "v0", "type", "vxlan", "id", "1",
                                 "dstport", "8472"], capture_output=True, text=True)
            subprocess.run(["ip", "netns", "delete", probe], capture_output=True)
            checks.append(Check("veth", veth.returncode == 0, veth.stderr.strip() or "veth pairs work",
                                "load the veth module"))
            checks.append(Check("vxlan", vx.returncode == 0, vx.stderr.strip() or "vxlan devices work",
                                "load the vxlan module, or use mode: host-gw"))
        checks.insert(1, Check("network namespaces", ok, detail, "netlab needs CAP_SYS_ADMIN and CAP_NET_ADMIN"))
    return checks


def controller_pid(cluster: str) -> int | None:
    try:
        pid = int((Path(names.run_dir(cluster)) / names.CONTROLLER_PIDFILE).read_text().split()[0])
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, ValueError, IndexError):
        return None
    return pid if names.CONTROLLER_MODULE.encode() in cmd else None


def start_controller(cluster: str, timeout: float = SLOW_START_TIMEOUT) -> int:
    """Start the cluster's controller unless one answers; return its pid. One that exits is reported at once."""
    client = Client(cluster, timeout=5)
    pid = controller_pid(cluster)
    if pid and client.alive():
        return pid
    run = Path(names.run_dir(cluster))
    private_dir(run)
    with open(os.open(run / "controller.log", os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600), "ab") as logf:
        # umask 077: whatever the controller and its helpers write (state, DNS views, logs) is root's only
        proc = subprocess.Popen(
            [sys.executable, "-m", names.CONTROLLER_MODULE, "--cluster", cluster],
            stdin=subprocess.DEVNULL, stdout=logf, stderr=logf, start_new_session=True, umask=0o077,
        )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = (run / "controller.log").read_text(errors="replace").splitlines()[-15:]
            raise RuntimeError("controller exited during start:\n" + "\n".join(tail))
        if client.alive():
            return proc.pid
        time.sleep(0.05)
    raise RuntimeError(f"controller did not answer within {timeout:.0f}s; see {run / 'controller.log'}")


def ensure_pki(config: ClusterConfig) -> Pki:
    """The cluster's CA and certificates (kept from an earlier `up`); the serving certificate names the
    loopback address, the configured one, the host's underlay address and the `kubernetes` Service's."""
    from netlab.compile.addons import api_service_ip

    existing = statemod.load(config.name)
    if existing is not None:   # `up` without a Cluster file over a running cluster: its own config counts
        config = ClusterConfig.from_manifest(existing.cluster, config.name)
    topo = config.topology()
    ips = [config.api_address, topo.host_ip, *([topo.host_ip6] if topo.host_ip6 else []), api_service_ip(config)]
    private_dir(Path(names.state_dir(config.name)))
    return pki.ensure(names.pki_dir(config.name), ips, config.cluster_domain)


def ensure_state(config: ClusterConfig, cluster_doc: dict | None) -> bool:
    """Write the first state file; refuse a different cluster shape over a running one. True if new."""
    existing = statemod.load(config.name)
    if existing is None:
        statemod.save(config.name, statemod.State(cluster=cluster_doc or {}, cluster_name=config.name))
        return True
    if cluster_doc is not None and ClusterConfig.from_manifest(existing.cluster, config.name) != config:
        raise RuntimeError(
            f"cluster {config.name!r} is already up with a different Cluster config; "
            f"run `sudo netlab down` first to change nodes or addresses"
        )
    return False
