"""Make a Topology real: underlay bridge, node namespaces, cni0 bridges, pod veths, routes.

Every step is an ensure: it reads what is there and changes only what differs, so a second
run over the same topology changes nothing and says so.
"""

from __future__ import annotations

import errno
import ipaddress
import json
import os
import stat
from typing import NoReturn

from netlab.compile import families, names
from netlab.compile.topology import NodeNet, PodNet, Topology, vtep
from netlab.kernel import egress, neighbours
from netlab.kernel import netlink as nl
from netlab.kernel import netns as nsmod

VXLAN_ID = 1
VXLAN_PORT = 8472  # flannel's port, so tcpdump users recognise it
POD_PREFIX6 = families.NODE_PREFIX_IPV6  # a pod's IPv6 address is on its node's /64, as cni0's is


def apply_topology(topo: Topology) -> list[str]:
    changes: list[str] = []
    changes += _ensure_underlay(topo)
    created = nsmod.create(n.netns for n in topo.nodes)
    changes += [f"node namespace {n} created" for n in created]
    for node in topo.nodes:
        changes += _ensure_node(topo, node)
    changes += _ensure_host_routes(topo)
    changes += egress.ensure_host_egress(topo)
    changes += ensure_pods(topo, topo.pods)
    return changes


def _ensure_underlay(topo: Topology) -> list[str]:
    changes = []
    with nl.socket_in(None) as ipr:
        have = nl.links(ipr)
        if topo.bridge not in have:
            with nl.tolerate(errno.EEXIST):
                ipr.link("add", ifname=topo.bridge, kind="bridge")
            changes.append(f"underlay bridge {topo.bridge} created")
            have = nl.links(ipr)
        br = have[topo.bridge]
        if br.alias != names.underlay_alias(topo.cluster):
            nl.set_alias(ipr, br.index, names.underlay_alias(topo.cluster))
        nl.ensure_address(ipr, br.index, topo.host_ip, topo.underlay_prefix)
        if topo.host_ip6:
            nl.ensure_address(ipr, br.index, topo.host_ip6, topo.underlay_prefix6)
        nl.ensure_up(ipr, br)
    return changes


def _ensure_node(topo: Topology, node: NodeNet) -> list[str]:
    changes = []
    with nl.socket_in(None) as host:
        have = nl.links(host)
        bridge = have[topo.bridge]
        if node.uplink_veth not in have:
            fd = nl.open_netns_fd(node.netns)
            try:
                host.link(
                    "add",
                    ifname=node.uplink_veth,
                    kind="veth",
                    peer={"ifname": names.NODE_UPLINK, "net_ns_fd": fd},
                )
            finally:
                os.close(fd)
            changes.append(f"node {node.name}: underlay veth {node.uplink_veth} created")
            have = nl.links(host)
        veth = have[node.uplink_veth]
        if veth.alias != names.node_alias(topo.cluster, node.name):
            nl.set_alias(host, veth.index, names.node_alias(topo.cluster, node.name))
        if veth.master != bridge.index or not veth.up:
            host.link("set", index=veth.index, master=bridge.index, state="up")

    nsmod.write_sysctl(node.netns, "net.ipv4.ip_forward", "1")
    if node.pod_cidr6:
        nsmod.write_sysctl(node.netns, "net.ipv6.conf.all.forwarding", "1")
    # Same-node traffic to a ClusterIP crosses cni0 only; the bridge must hand it to netfilter.
    if os.path.exists("/proc/sys/net/bridge/bridge-nf-call-iptables"):
        nsmod.write_sysctl(node.netns, "net.bridge.bridge-nf-call-iptables", "1")
        if node.pod_cidr6:   # the same for IPv6 ClusterIP traffic (the reply of a same-node endpoint)
            nsmod.write_sysctl(node.netns, "net.bridge.bridge-nf-call-ip6tables", "1")

    with nl.socket_in(node.netns) as ipr:
        have = nl.links(ipr)
        lo = have["lo"]
        if lo.alias != names.node_alias(topo.cluster, node.name):
            nl.set_alias(ipr, lo.index, names.node_alias(topo.cluster, node.name))
        nl.ensure_up(ipr, lo)
        uplink = have[names.NODE_UPLINK]
        nl.ensure_address(ipr, uplink.index, node.underlay_ip, topo.underlay_prefix)
        if node.underlay_ip6:
            nl.ensure_address(ipr, uplink.index, node.underlay_ip6, topo.underlay_prefix6)
        nl.ensure_up(ipr, uplink)
        if names.NODE_BRIDGE not in have:
            with nl.tolerate(errno.EEXIST):
                ipr.link("add", ifname=names.NODE_BRIDGE, kind="bridge", address=node.bridge_mac)
            changes.append(f"node {node.name}: bridge {names.NODE_BRIDGE} created")
            have = nl.links(ipr)
        cni = have[names.NODE_BRIDGE]
        if nl.ensure_mac(ipr, cni.index, node.bridge_mac):
            changes.append(f"node {node.name}: {names.NODE_BRIDGE} given its fixed MAC {node.bridge_mac}")
        prefix = ipaddress.ip_network(node.pod_cidr).prefixlen
        nl.ensure_address(ipr, cni.index, node.gateway, prefix)
        if node.gateway6:
            nl.ensure_address(ipr, cni.index, node.gateway6, ipaddress.ip_network(node.pod_cidr6).prefixlen)
        nl.ensure_up(ipr, cni)
        if topo.mode == "vxlan":
            changes += _ensure_vxlan(topo, node, ipr, have, uplink.index)
        have_routes = nl.routes(ipr, ipv6=bool(node.pod_cidr6))
        index_of = {n: link.index for n, link in nl.links(ipr).items()}
        for route in topo.node_routes(node):
            if nl.ensure_route(ipr, have_routes, route.dst, route.via, index_of[route.dev], route.onlink):
                via = f" via {route.via}" if route.via else ""
                changes.append(f"node {node.name}: route {route.dst}{via} dev {route.dev}")
    return changes


def _ensure_vxlan(topo: Topology, node: NodeNet, ipr, have: dict, uplink_index: int) -> list[str]:
    changes = []
    if names.VXLAN_DEVICE not in have:
        ipr.link(
            "add",
            ifname=names.VXLAN_DEVICE,
            kind="vxlan",
            vxlan_id=VXLAN_ID,
            vxlan_local=node.underlay_ip,
            vxlan_port=VXLAN_PORT,
            vxlan_link=uplink_index,
            vxlan_learning=0,
            address=node.vxlan_mac,
        )
        changes.append(f"node {node.name}: vxlan device {names.VXLAN_DEVICE} created")
        have = nl.links(ipr)
    vx = have[names.VXLAN_DEVICE]
    # One VTEP per family, the same device and MAC: IPv6 pod traffic rides inside the IPv4 underlay's VXLAN.
    for cidr in (c for c in (node.pod_cidr, node.pod_cidr6) if c):
        nl.ensure_address(ipr, vx.index, vtep(cidr), ipaddress.ip_network(cidr).max_prefixlen)
    nl.ensure_up(ipr, vx)
    for other in topo.nodes:
        if other.name == node.name:
            continue
        for cidr in (c for c in (other.pod_cidr, other.pod_cidr6) if c):
            nl.ensure_neigh(ipr, vx.index, vtep(cidr), other.vxlan_mac)
        nl.ensure_fdb(ipr, vx.index, other.vxlan_mac, other.underlay_ip)
    return changes


def _ensure_host_routes(topo: Topology) -> list[str]:
    changes = []
    with nl.socket_in(None) as ipr:
        index = nl.links(ipr)[topo.bridge].index
        have = nl.routes(ipr, ipv6=bool(topo.pod_subnet6))
        for route in topo.host_routes():
            if nl.ensure_route(ipr, have, route.dst, route.via, index):
                changes.append(f"host: route {route.dst} via {route.via} dev {route.dev}")
    return changes


PARALLEL_MIN_PODS = 24  # below this, forking costs more than it saves


def ensure_pods(topo: Topology, pods: tuple[PodNet, ...] | list[PodNet]) -> list[str]:
    changes = [f"pod {n}: namespace created" for n in nsmod.create(p.netns for p in pods)]
    by_node: dict[str, list[PodNet]] = {}
    for pod in pods:
        by_node.setdefault(pod.node, []).append(pod)
    groups = [(topo.node(name), node_pods) for name, node_pods in by_node.items()]
    if len(pods) >= PARALLEL_MIN_PODS and len(groups) > 1:
        return changes + _in_parallel(groups)
    for node, node_pods in groups:
        changes += _ensure_node_pods(node, node_pods)
    return changes


def _ensure_node_pods(node: NodeNet, pods: list[PodNet]) -> list[str]:
    changes = []
    wired: list[tuple[PodNet, str]] = []  # pods given a new veth, with eth0's MAC
    with nl.socket_in(node.netns) as ipr:
        have = nl.links(ipr)
        cni = have[names.NODE_BRIDGE]
        for pod in pods:
            pod_changes, mac = _ensure_pod(ipr, have, cni.index, pod)
            changes += pod_changes
            if mac:
                wired.append((pod, mac))
        # Announce only once the bridge forwards on the new ports: an earlier ARP is dropped by the bridge.
        late = set(neighbours.wait_forwarding(ipr, [pod.veth for pod, _ in wired]))
    for pod, mac in wired:
        if pod.ip:   # gratuitous ARP: IPv4 only (an IPv6-only pod's neighbours resolve it with NDP)
            neighbours.announce(pod, mac)
    changes += [f"node {node.name}: port {veth} not forwarding after {neighbours.PORT_WAIT_SECONDS}s"
                for veth in sorted(late)]
    return changes


def _in_parallel(groups: list[tuple[NodeNet, list[PodNet]]]) -> list[str]:
    """One forked worker per node: netlink work is CPU-bound in Python, and nodes are independent.

    The worker only talks netlink and writes its result to a pipe; it never logs or takes locks
    another thread of the parent could hold.
    """
    workers = []
    for node, pods in groups:
        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:
            _worker(read_fd, write_fd, node, pods)  # never returns
        os.close(write_fd)
        workers.append((pid, read_fd))
    changes, errors = [], []
    for pid, read_fd in workers:
        with os.fdopen(read_fd) as inp:
            text = inp.read()
        os.waitpid(pid, 0)
        payload = json.loads(text) if text else {"error": "worker died without a result"}
        changes += payload.get("changes", [])
        if "error" in payload:
            errors.append(payload["error"])
    if errors:
        raise RuntimeError("; ".join(errors))
    return changes


def _worker(read_fd: int, write_fd: int, node: NodeNet, pods: list[PodNet]) -> NoReturn:
    """The forked child: it must end here whatever happens. Were an exception (a parent killed mid-work
    makes the result's write fail with EPIPE) to escape into the parent's code, the child would go on as
    a copy of the controller, holding the API's connections open, so a client would wait for an answer
    that never comes."""
    code = 1
    try:
        os.close(read_fd)
        _drop_inherited_sockets(keep=write_fd)
        try:
            payload = {"changes": _ensure_node_pods(node, pods)}
            code = 0
        except BaseException as e:  # noqa: BLE001 - reported to the parent
            payload = {"error": f"node {node.name}: {type(e).__name__}: {e}"}
        with os.fdopen(write_fd, "w") as out:
            json.dump(payload, out)
    finally:
        os._exit(code)


def _drop_inherited_sockets(keep: int) -> None:
    """Point every socket fd inherited from the controller (API listener and connections, netlink) at
    /dev/null. The numbers stay taken, so the Python objects that still name them cannot close a socket
    this worker opens later."""
    devnull = os.open(os.devnull, os.O_RDWR)
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        if fd in (keep, devnull):
            continue
        try:
            if stat.S_ISSOCK(os.fstat(fd).st_mode):
                os.dup2(devnull, fd)
        except OSError:
            continue
    os.close(devnull)


def _ensure_pod(node_ipr, node_links: dict, bridge_index: int, pod: PodNet) -> tuple[list[str], str | None]:
    """Wire one pod; returns the changes and, when it got a new veth, its eth0 MAC (to announce)."""
    changes = []
    with nl.socket_in(pod.netns) as ipr:
        pod_links = nl.links(ipr)  # lo and eth0 at most: cheap
        lo = pod_links["lo"]
        if lo.alias != pod.alias:
            # The marker lives on lo so `down` recognises the namespace even without its veth.
            nl.set_alias(ipr, lo.index, pod.alias)
        nl.ensure_up(ipr, lo)
        veth = node_links.get(pod.veth)
        if veth is None or names.POD_IFACE not in pod_links:
            if veth is not None:
                nl.delete_link(node_ipr, pod.veth)
            fd = nl.open_netns_fd(pod.netns)
            try:
                node_ipr.link(
                    "add", ifname=pod.veth, kind="veth", peer={"ifname": names.POD_IFACE, "net_ns_fd": fd}
                )
            finally:
                os.close(fd)
            changes.append(f"pod {pod.namespace}/{pod.name}: veth {pod.veth} created")
            index = nl.index_of(node_ipr, pod.veth)
            node_ipr.link("set", index=index, master=bridge_index, state="up", ifalias=pod.alias)
            _hairpin(node_ipr, index)
            eth0 = ipr.link("get", ifname=names.POD_IFACE)[0]
            ipr.link("set", index=eth0["index"], ifalias=pod.alias)
            if pod.ip:   # an IPv6-only cluster's pods have no IPv4 address
                ipr.addr("add", index=eth0["index"], address=pod.ip, prefixlen=pod.prefixlen)
            if pod.ip6:
                nl.add_address(ipr, eth0["index"], pod.ip6, POD_PREFIX6)
            ipr.link("set", index=eth0["index"], state="up")
            if pod.ip:
                ipr.route("replace", dst="default", gateway=pod.gateway, oif=eth0["index"])
            if pod.ip6:
                ipr.route("replace", dst="::/0", gateway=pod.gateway6, oif=eth0["index"], family=nl.AF_INET6)
            return changes, eth0.get("address")
        if veth.alias != pod.alias:
            nl.set_alias(node_ipr, veth.index, pod.alias)
        if veth.master != bridge_index or not veth.up:
            node_ipr.link("set", index=veth.index, master=bridge_index, state="up")
        _hairpin(node_ipr, veth.index)
        eth0 = pod_links[names.POD_IFACE]
        if eth0.alias != pod.alias:
            nl.set_alias(ipr, eth0.index, pod.alias)
        if pod.ip:
            nl.ensure_address(ipr, eth0.index, pod.ip, pod.prefixlen)
        if pod.ip6:
            nl.ensure_address(ipr, eth0.index, pod.ip6, POD_PREFIX6)
        nl.ensure_up(ipr, eth0)
        have = nl.routes(ipr, ipv6=bool(pod.ip6))
        if pod.ip:
            nl.ensure_route(ipr, have, "default", pod.gateway, eth0.index)
        if pod.ip6:
            nl.ensure_route(ipr, have, "::/0", pod.gateway6, eth0.index)
    return changes, None


def _hairpin(ipr, index: int) -> None:
    """A pod reaching its own Service and DNATed to itself comes back out of the port it entered by:
    with br_netfilter the bridge forwards that frame only in hairpin mode (flannel's hairpinMode)."""
    ipr.link("set", index=index, kind="bridge_slave", mode=1)


def remove_namespaces(netns_names: list[str]) -> list[str]:
    """Delete pod namespaces (their veths go with them) and their /etc/netns entries."""
    nsmod.delete(netns_names)
    for name in netns_names:
        remove_etc_netns(name)
    return [f"namespace {n} deleted" for n in netns_names]


def remove_etc_netns(netns: str) -> None:
    directory = names.netns_etc_dir(netns)
    if not os.path.isdir(directory):
        return
    for entry in os.listdir(directory):
        os.unlink(os.path.join(directory, entry))
    os.rmdir(directory)
