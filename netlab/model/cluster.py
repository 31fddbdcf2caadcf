"""The Cluster object: kind's own config (kind.x-k8s.io/v1alpha4) or netlab's (netlab.dev/v1alpha1).

Fields that do not apply to netlab (node images, mounts, kubeadm patches, unknown keys) are not
errors: they are dropped and described in ``Cluster.notes``.
"""

from __future__ import annotations

import ipaddress
from typing import Any, Literal

from pydantic import Field, model_validator

from netlab.compile import families as fam
from netlab.compile import names as kernel_names

from . import dns1123 as names
from .meta import Issue, Model, check_labels, check_name

KIND_API_VERSION = "kind.x-k8s.io/v1alpha4"
NETLAB_API_VERSION = "netlab.dev/v1alpha1"
DEFAULT_NAME = "netlab"

_KIND_ONLY_TOP = ("featureGates", "runtimeConfig", "kubeadmConfigPatches", "kubeadmConfigPatchesJSON6902",
                  "containerdConfigPatches", "containerdConfigPatchesJSON6902")
_NETLAB_TOP = ("apiServer", "mode", "underlay", "loadBalancerPool", "nodePortRange", "clusterDomain",
               "restartBackoff", "dns", "nodeCIDRMaskSize", "nonMasqueradeCIDRs", "masqLinkLocal")
_KNOWN_TOP = ("apiVersion", "kind", "name", "nodes", "networking")
_KIND_ONLY_NODE = ("image", "extraMounts", "extraPortMappings", "kubeadmConfigPatches",
                   "kubeadmConfigPatchesJSON6902")
_KNOWN_NODE = ("role", "labels")
_KNOWN_NET = ("podSubnet", "serviceSubnet", "ipFamily")
_KIND_API_SERVER = {"apiServerAddress": "address", "apiServerPort": "port"}   # kind's names for apiServer
_IGNORED_NET = {
    "disableDefaultCNI": "netlab always provides its own pod network",
    "kubeProxyMode": "netlab implements Services with its own nftables rules",
    "dnsSearch": "pods search <ns>.svc.<domain>, svc.<domain>, <domain>",
}


class ClusterNode(Model):
    role: Literal["control-plane", "worker"] = "control-plane"
    labels: dict[str, str] = Field(default_factory=dict)


class ClusterNetworking(Model):
    # kind's fields: one CIDR per family, comma-separated; defaults per ipFamily (see families.py)
    pod_subnet: str = "10.244.0.0/16"
    service_subnet: str = "10.96.0.0/16"
    ip_family: Literal["ipv4", "ipv6", "dual"] = "ipv4"


class Underlay(Model):
    subnet: str = "172.18.0.0/16"
    subnet_ipv6: str | None = Field(default=None, alias="subnetIPv6")  # None: kind's fc00:f853:ccd:e793::/64
    bridge: str | None = None  # default: netlab0 for cluster "netlab", a per-cluster name otherwise


class AddressPool(Model):
    start: str = "172.18.255.200"
    end: str = "172.18.255.250"
    # The IPv6 range of a cluster with IPv6 (None: fam.lb_pool6's default inside underlay.subnetIPv6)
    start_ipv6: str | None = Field(default=None, alias="startIPv6")
    end_ipv6: str | None = Field(default=None, alias="endIPv6")


class ApiServer(Model):
    """Where the Kubernetes API listens in the host namespace (it also listens on the host's underlay
    address, for pods). Without a port: 6443, or the next free one when another cluster has it."""
    address: str = "127.0.0.1"
    port: int | None = None


class DnsConfig(Model):
    upstreams: list[str] | None = None  # None: the host's non-loopback nameservers from /etc/resolv.conf
    ttl: int = 30
    replicas: int = 2


class RestartBackoff(Model):
    initial_seconds: float = 10
    max_seconds: float = 300


def _default_nodes(api_version: Any) -> list[dict[str, str]]:
    if api_version == KIND_API_VERSION:  # kind's default: a single control-plane node
        return [{"role": "control-plane"}]
    return [{"role": "control-plane"}, {"role": "worker"}, {"role": "worker"}]


def _sift(data: dict, known: tuple[str, ...], path: str, notes: list[str],
          kind_only: tuple[str, ...] = (), explained: dict[str, str] | None = None) -> dict:
    """Keep known keys; describe every other key in notes."""
    kept = {}
    for key, value in data.items():
        where = f"{path}.{key}" if path else str(key)
        if key in known:
            kept[key] = value
        elif key in kind_only:
            notes.append(f"{where}: kind-only field, ignored by netlab")
        elif explained and key in explained:
            notes.append(f"{where}: ignored ({explained[key]})")
        else:
            notes.append(f"{where}: unknown field, ignored")
    return kept


class Cluster(Model):
    api_version: Literal["kind.x-k8s.io/v1alpha4", "netlab.dev/v1alpha1"] = NETLAB_API_VERSION
    kind: Literal["Cluster"] = "Cluster"
    name: str = DEFAULT_NAME
    nodes: list[ClusterNode] = Field(default_factory=lambda: [ClusterNode.model_validate(n)
                                                              for n in _default_nodes(None)])
    networking: ClusterNetworking = Field(default_factory=ClusterNetworking)
    mode: Literal["host-gw", "vxlan"] = "host-gw"
    underlay: Underlay = Field(default_factory=Underlay)
    load_balancer_pool: AddressPool = Field(default_factory=AddressPool)
    node_port_range: str = "30000-32767"
    # kube-controller-manager's --node-cidr-mask-size: each node's pod CIDR is a /nodeCIDRMaskSize.
    node_cidr_mask_size: int = Field(default=24, alias="nodeCIDRMaskSize")
    cluster_domain: str = "cluster.local"
    restart_backoff: RestartBackoff = Field(default_factory=RestartBackoff)
    dns: DnsConfig = Field(default_factory=DnsConfig)
    api_server: ApiServer = Field(default_factory=ApiServer)
    # ip-masq-agent's config: pods' traffic to these CIDRs keeps the pod IP (the cluster's own CIDRs
    # always do); link-local destinations are masqueraded only with masqLinkLocal.
    non_masquerade_cidrs: list[str] = Field(default_factory=list, alias="nonMasqueradeCIDRs")
    masq_link_local: bool = False
    notes: list[str] = Field(default_factory=list, exclude=True)

    @model_validator(mode="before")
    @classmethod
    def _collect_notes(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        notes: list[str] = []
        netlab = data.get("apiVersion", NETLAB_API_VERSION) == NETLAB_API_VERSION
        known = _KNOWN_TOP + _NETLAB_TOP if netlab else _KNOWN_TOP
        explained = None if netlab else {k: f"a {NETLAB_API_VERSION} field" for k in _NETLAB_TOP}
        out = _sift(data, known, "", notes, _KIND_ONLY_TOP, explained)
        if out.get("nodes") is None:
            out["nodes"] = _default_nodes(data.get("apiVersion"))
        elif isinstance(out["nodes"], list):
            out["nodes"] = [_sift(n, _KNOWN_NODE, f"nodes[{i}]", notes, _KIND_ONLY_NODE)
                            if isinstance(n, dict) else n for i, n in enumerate(out["nodes"])]
        net = out.get("networking")
        if isinstance(net, dict):
            kind_api = {ours: net[theirs] for theirs, ours in _KIND_API_SERVER.items() if theirs in net}
            if kind_api.get("port") == 0:   # kind: 0 is a random port; netlab's default is 6443 or the next free
                kind_api.pop("port")
            if kind_api and "apiServer" not in out:
                out["apiServer"] = kind_api
            net = _sift({k: v for k, v in net.items() if k not in _KIND_API_SERVER}, _KNOWN_NET, "networking",
                        notes, explained=_IGNORED_NET)
            family = net.get("ipFamily")
            if family in fam.IP_FAMILY_FAMILIES:   # kind's defaults follow the family
                net.setdefault("podSubnet", fam.default_subnets(family, fam.POD_SUBNET))
                net.setdefault("serviceSubnet", fam.default_subnets(family, fam.SERVICE_SUBNET,
                                                                    net.get("podSubnet")))
            out["networking"] = net
        out["notes"] = notes
        return {k: v for k, v in out.items() if v is not None}

    # --- identity, like the Kubernetes objects ---
    @property
    def namespace(self) -> str:
        return ""

    @property
    def key(self) -> tuple[str, str, str]:
        return ("Cluster", "", self.name)

    @property
    def ref(self) -> str:
        return f"Cluster {self.name}"

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True, exclude_none=True, mode="json")

    def normalise(self) -> None:
        return None

    # --- derived data ---
    def node_names(self) -> list[str]:
        """kind's node names: <name>-control-plane, <name>-control-plane2, <name>-worker, <name>-worker2."""
        counts: dict[str, int] = {}
        out = []
        for node in self.nodes:
            counts[node.role] = counts.get(node.role, 0) + 1
            n = counts[node.role]
            out.append(f"{self.name}-{node.role}{'' if n == 1 else n}")
        return out

    def node_port_bounds(self) -> tuple[int, int]:
        low, _, high = self.node_port_range.partition("-")
        return int(low), int(high)

    # --- validation ---
    def issues(self) -> list[Issue]:
        issues = check_name(self.name, "name", names.check_dns1123_label)
        if not any(n.role == "control-plane" for n in self.nodes):
            issues.append(("nodes", "must have at least one control-plane node"))
        for i, node in enumerate(self.nodes):
            issues += check_labels(node.labels, f"nodes[{i}].labels")
        nets, subnet_issues = self._subnets()
        issues += subnet_issues
        mask = self.node_cidr_mask_size
        if not 16 <= mask <= 30:
            issues.append(("nodeCIDRMaskSize", f"must be between 16 and 30 (a node needs room for cni0 and pods), "
                                               f"got {mask}"))
        for path, net in nets:
            problem = None
            if path == "networking.podSubnet" and (16 <= mask <= 30 or net.version == 6):
                problem = fam.pod_subnet_issue(net, mask, len(self.nodes))
            elif path == "networking.serviceSubnet":
                problem = fam.service_subnet_issue(net)
            if problem:
                issues.append((path, problem))
        for i, (a, net_a) in enumerate(nets):
            for b, net_b in nets[i + 1:]:
                if net_a.version == net_b.version and net_a.overlaps(net_b):
                    issues.append((b, f"{net_b} overlaps {a} {net_a}"))
        underlay = dict(nets).get("underlay.subnet")
        issues += self._pool_issues(underlay if isinstance(underlay, ipaddress.IPv4Network) else None)
        issues += self._pool6_issues(dict(nets).get("underlay.subnetIPv6"))
        issues += self._range_issues()
        issues += check_name(self.cluster_domain, "clusterDomain", names.check_dns1123_subdomain)
        bridge = self.underlay.bridge
        if bridge is not None and not kernel_names.valid_ifname(bridge):
            issues.append(("underlay.bridge", f"must be an interface name: 1 to {kernel_names.IFNAMSIZ} letters, "
                                              f"digits, '_', '.' or '-', got {bridge!r}"))
        issues += self._api_server_issues()
        for i, cidr in enumerate(self.non_masquerade_cidrs):
            try:
                ipaddress.IPv4Network(cidr)
            except ValueError as exc:
                issues.append((f"nonMasqueradeCIDRs[{i}]", f"must be an IPv4 CIDR such as 10.0.0.0/8, got {cidr!r} "
                                                           f"({exc})"))
        if self.restart_backoff.initial_seconds <= 0:
            issues.append(("restartBackoff.initialSeconds", "must be greater than 0"))
        if self.restart_backoff.max_seconds < self.restart_backoff.initial_seconds:
            issues.append(("restartBackoff.maxSeconds", "must be greater than or equal to initialSeconds"))
        return issues

    def _subnets(self) -> tuple[list[tuple[str, fam.IPNetwork]], list[Issue]]:
        """(field, network) of every subnet the cluster uses, and the problems with them, every one at once."""
        nets: list[tuple[str, fam.IPNetwork]] = []
        issues: list[Issue] = []
        family = self.networking.ip_family
        for path, value in (("networking.podSubnet", self.networking.pod_subnet),
                            ("networking.serviceSubnet", self.networking.service_subnet)):
            parsed, problems = fam.parse_subnets(value, family, path)
            nets += [(path, n) for n in parsed]
            issues += problems
        try:
            nets.append(("underlay.subnet", ipaddress.IPv4Network(self.underlay.subnet)))
        except ValueError as exc:
            issues.append(("underlay.subnet", f"must be an IPv4 CIDR such as 10.0.0.0/16, got "
                                              f"{self.underlay.subnet!r} ({exc})"))
        if self.underlay.subnet_ipv6 is not None:
            try:
                net6 = ipaddress.IPv6Network(self.underlay.subnet_ipv6)
                if net6.prefixlen > 120:
                    issues.append(("underlay.subnetIPv6", f"{net6} is too small for the host and the nodes"))
                nets.append(("underlay.subnetIPv6", net6))
            except ValueError as exc:
                issues.append(("underlay.subnetIPv6", f"must be an IPv6 CIDR such as fc00:f853:ccd:e793::/64, got "
                                                      f"{self.underlay.subnet_ipv6!r} ({exc})"))
        return nets, issues

    def _pool_issues(self, underlay: ipaddress.IPv4Network | None) -> list[Issue]:
        issues: list[Issue] = []
        ips: dict[str, ipaddress.IPv4Address] = {}
        for field in ("start", "end"):
            value = getattr(self.load_balancer_pool, field)
            try:
                ips[field] = ipaddress.IPv4Address(value)
            except ValueError:
                issues.append((f"loadBalancerPool.{field}", f"must be an IPv4 address, got {value!r}"))
                continue
            if underlay is not None and (ips[field] not in underlay or ips[field] in
                                         (underlay.network_address, underlay.broadcast_address)):
                issues.append((f"loadBalancerPool.{field}",
                               f"{value} must be a host address inside the underlay subnet {underlay}"))
        if len(ips) == 2 and ips["start"] > ips["end"]:
            issues.append(("loadBalancerPool", f"start {ips['start']} is after end {ips['end']}"))
        if underlay is not None and "start" in ips:
            last_node = underlay.network_address + 1 + len(self.nodes)
            if last_node >= ips["start"] and ips["start"] in underlay:
                issues.append(("loadBalancerPool.start",
                               f"{ips['start']} collides with the node addresses (.2 to {last_node})"))
        return issues

    def _pool6_issues(self, underlay6: fam.IPNetwork | None) -> list[Issue]:
        """startIPv6/endIPv6: both or neither, IPv6 host addresses inside the underlay's IPv6 prefix, and only
        in a cluster with IPv6."""
        pool = self.load_balancer_pool
        given = {f: v for f, v in (("startIPv6", pool.start_ipv6), ("endIPv6", pool.end_ipv6)) if v is not None}
        if not given:
            return []
        if self.networking.ip_family == "ipv4":
            return [(f"loadBalancerPool.{f}", "the cluster has no IPv6 (networking.ipFamily is ipv4)") for f in given]
        if len(given) == 1:
            missing = "endIPv6" if "startIPv6" in given else "startIPv6"
            return [(f"loadBalancerPool.{missing}", "startIPv6 and endIPv6 are given together")]
        net = underlay6 or ipaddress.IPv6Network(fam.UNDERLAY_IPV6)
        issues: list[Issue] = []
        ips: dict[str, ipaddress.IPv6Address] = {}
        for field, value in given.items():
            try:
                ips[field] = ipaddress.IPv6Address(value)
            except ValueError:
                issues.append((f"loadBalancerPool.{field}", f"must be an IPv6 address, got {value!r}"))
                continue
            if ips[field] not in net or ips[field] == net.network_address:
                issues.append((f"loadBalancerPool.{field}",
                               f"{value} must be a host address inside the underlay's IPv6 prefix {net}"))
            elif int(ips[field]) - int(net.network_address) <= 1 + len(self.nodes):
                issues.append((f"loadBalancerPool.{field}",
                               f"{value} collides with the host and node addresses (::1 to ::{1 + len(self.nodes):x})"))
        if len(ips) == 2 and ips["startIPv6"] > ips["endIPv6"]:
            issues.append(("loadBalancerPool", f"startIPv6 {ips['startIPv6']} is after endIPv6 {ips['endIPv6']}"))
        return issues

    def _api_server_issues(self) -> list[Issue]:
        issues: list[Issue] = []
        address, port = self.api_server.address, self.api_server.port
        try:
            ip = ipaddress.IPv4Address(address)
            if ip.is_unspecified or ip.is_multicast:
                issues.append(("apiServer.address", f"must be one address of this host, got {address!r}"))
        except ValueError:
            issues.append(("apiServer.address", f"must be an IPv4 address such as 127.0.0.1, got {address!r}"))
        if port is not None and not 1 <= port <= 65535:
            issues.append(("apiServer.port", f"must be between 1 and 65535, got {port}"))
        return issues

    def _range_issues(self) -> list[Issue]:
        low, sep, high = self.node_port_range.partition("-")
        if not (sep and low.isdigit() and high.isdigit()):
            return [("nodePortRange", f"must look like 30000-32767, got {self.node_port_range!r}")]
        if not 1 <= int(low) <= int(high) <= 65535:
            return [("nodePortRange", f"must be a range within 1-65535, got {self.node_port_range!r}")]
        return []


def default_cluster() -> Cluster:
    """One control-plane and two workers with the address plan of DESIGN.md §2."""
    return Cluster.model_validate({"apiVersion": NETLAB_API_VERSION, "kind": "Cluster"})
