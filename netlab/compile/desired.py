"""One compiled desired state: everything the kernel and the processes should be, as a frozen value.

`compile_desired` is pure: from the stored objects, their placement (pods with node and IP), the
service allocations, the cluster config and what was observed of the running world (readiness,
where the ingress controller keeps its files) it makes the topology, each node's nftables table
(services + policy), the LoadBalancer announcements, the DNS view, the ingress nginx configuration,
the container specs and each pod's resolv.conf. The controller diffs two of these and applies only
the difference; API views, `graph`, `describe` and `trace` read the same value.
"""

from __future__ import annotations

import ipaddress
import json
import random
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from netlab.compile import addons, jobs, podsets
from netlab.compile.config import ClusterConfig
from netlab.compile.containerspec import ContainerSpec, api_service_env, container_specs
from netlab.compile.families import service_families
from netlab.compile.gateway_desired import GatewayDesired, gateway_desired
from netlab.compile.ingress_controller import find_controller
from netlab.compile.ingress_inputs import IngressDesired, ingress_desired
from netlab.compile.nft_hostports import add_hostports
from netlab.compile.nft_masquerade import add_node_egress, non_masquerade
from netlab.compile.nft_observe import counted, instrument
from netlab.compile.nft_policy import policy_ruleset
from netlab.compile.nft_services import services_ruleset
from netlab.compile.nftables import Ruleset, render_full
from netlab.compile.policy_inputs import PolicyInputs, policy_inputs
from netlab.compile.resolv import resolv_conf
from netlab.compile.serviceaccount import TokenIssuer
from netlab.compile.services import Allocation, Pools, ResolvedService, allocate, announcer, resolve, svc_key
from netlab.compile.topology import NodeNet, Topology, order_by_family
from netlab.compile.topology_zones import ZONE_LABEL, node_zones, with_zones
from netlab.compile.workloads import PlacedPod, expand, place
from netlab.model.core import BUILTIN_NAMESPACES

# The cluster's own pods (DNS, ingress) start first: everything else waits on them being Ready.
SYSTEM_NAMESPACES = (addons.DNS_NAMESPACE, addons.INGRESS_NAMESPACE)


@dataclass(frozen=True)
class Observed:
    """What the compiler needs from the running world, as plain data."""

    ready: Mapping[str, bool] = field(default_factory=dict)  # pod key -> every container running and Ready
    terminated: frozenset[str] = frozenset()  # pods in phase Succeeded/Failed: never endpoints
    terminating: frozenset[str] = frozenset()  # pods being deleted (draining): terminating endpoints
    all_ready: bool = False  # count every pod ready (the pre-commit check: every endpoint the state can have)
    ingress_dir: str | None = None  # the ingress controller's files; None: no ingress configuration
    default_cert: tuple[str, str] = ("", "")  # the ingress controller's default certificate and key
    gateway_root: str | None = None  # where Gateways' proxies keep their files; None: no gateway configuration
    observing: bool = False  # a `netlab observe` is attached: verdict rules log to NFLOG (compile.nft_observe)
    ingress_argv: tuple[str, ...] = ()  # nginx's command line for a controller-image container (its entrypoint)
    sa_issuer: TokenIssuer | None = None  # signs pods' service account tokens; None: pods get none


@dataclass(frozen=True)
class Network:
    """The part of Desired that the nftables tables and LoadBalancer announcements are made from."""

    services: Mapping[str, ResolvedService]  # "ns/name" -> the service with its endpoints
    policy: PolicyInputs
    rulesets: Mapping[str, Ruleset]  # node -> its whole `inet netlab` table
    announcements: Mapping[str, frozenset[str]]  # node -> LoadBalancer IPs it answers ARP for


@dataclass(frozen=True)
class Desired:
    topology: Topology
    network: Network
    dns_view: Mapping[str, Any]
    ingress: IngressDesired | None
    containers: tuple[ContainerSpec, ...]
    resolv: Mapping[str, str]  # pod key -> its /etc/netns/<netns>/resolv.conf
    gateways: GatewayDesired | None = None  # the Gateways' nginx configurations and route attachments

    @property
    def services(self) -> Mapping[str, ResolvedService]:
        return self.network.services

    @property
    def rulesets(self) -> Mapping[str, Ruleset]:
        return self.network.rulesets

    def to_text(self) -> str:
        """Readable and deterministic, for golden files and diffs."""
        parts = ["# topology", json.dumps(asdict(self.topology), indent=1, sort_keys=True)]
        for node, ruleset in sorted(self.rulesets.items()):
            parts += [f"# ruleset {node}", render_full(ruleset).rstrip()]
        announced = {n: sorted(ips) for n, ips in self.network.announcements.items()}
        parts += ["# announcements", json.dumps(announced, sort_keys=True)]
        parts += ["# dns view", json.dumps(self.dns_view, indent=1, sort_keys=True)]
        if self.ingress is not None:
            parts += ["# nginx.conf", self.ingress.rendered.nginx_conf.rstrip()]
        parts += ["# containers"] + [json.dumps(asdict(c), sort_keys=True) for c in self.containers]
        for key, text in sorted(self.resolv.items()):
            parts += [f"# resolv.conf {key}", text.rstrip()]
        return "\n".join(parts) + "\n"


def compile_topology(config: ClusterConfig, pods: Mapping[str, PlacedPod]) -> Topology:
    # hostNetwork pods run in their node's namespace: no namespace, veth or address of their own; Pending
    # (unschedulable) pods have no node
    return config.topology([(p.namespace, p.name, p.node, p.ip, p.ip6) for p in pods.values()
                            if p.node and not p.host_network])


def node_rulesets(topology: Topology, services: Sequence[ResolvedService], policy: PolicyInputs,
                  pod_subnet: str, no_masq: Sequence[str] | None = None, *,
                  observing: bool = False) -> dict[str, Ruleset]:
    """Each node's whole `inet netlab` table: the service rules, egress SNAT, the NetworkPolicy rules (with
    log statements on the verdict rules while an observer is attached).

    `no_masq`: the egress non-masquerade CIDRs; by default the cluster's own and link-local."""
    out = {}
    if no_masq is None:
        underlay = f"{topology.host_ip}/{topology.underlay_prefix}"
        no_masq = non_masquerade([underlay, topology.pod_subnet, topology.service_cidr], (), False)
    no_masq = list(no_masq)
    for node in topology.nodes:
        table = services_ruleset(node.name, [node.underlay_ip], pod_subnet, list(services),
                                 node.labels.get(ZONE_LABEL), node_ips6=[ip for ip in (node.underlay_ip6,) if ip],
                                 cluster_cidr6=topology.pod_subnet6)
        add_node_egress(table, pod_subnet, no_masq, ipv6=bool(topology.pod_subnet6))
        table.merge(policy_ruleset(node.name, list(policy.pods), policy.namespaces, policy.policies))
        table = counted(table)
        out[node.name] = instrument(table, node.pod_cidr, pod_subnet, node.pod_cidr6, topology.pod_subnet6) \
            if observing else table
    return out


def compile_network(objects: Mapping[str, dict], config: ClusterConfig, observed: Observed, *,
                    pods: Mapping[str, PlacedPod], allocations: Mapping[str, Allocation],
                    topology: Topology) -> Network:
    """Services with their endpoints, policy, and from them each node's table and announcements."""
    placed = [p for p in pods.values() if p.node]  # Pending pods are nowhere in the network
    ready = dict.fromkeys(pods, True) if observed.all_ready else observed.ready
    terminated = frozenset() if observed.all_ready else observed.terminated
    user_eps = {f"{o['metadata'].get('namespace', 'default')}/{o['metadata']['name']}": o
                for o in objects.values() if o["kind"] == "Endpoints"}
    services = {}
    zones = node_zones(topology.nodes)
    for obj in objects.values():
        if obj["kind"] == "Service":
            key = svc_key(obj)
            services[key] = with_zones(resolve(obj, allocations.get(key, Allocation()), placed, ready,
                                               user_eps.get(key), terminated, observed.terminating), zones)
            families = service_families(obj.get("spec") or {}, config.ip_families)
            if families != services[key].ip_families:
                services[key] = replace(services[key], ip_families=families)
    # NetworkPolicy does not select hostNetwork pods: as upstream, their traffic is the node's
    policy = policy_inputs(objects.values(), [p for p in placed if not p.host_network])
    listed = list(services.values())
    no_masq = non_masquerade(config.lab_cidrs_ipv4(), config.non_masquerade_cidrs, config.masq_link_local)
    rulesets = node_rulesets(topology, listed, policy, config.pod_subnet, no_masq, observing=observed.observing)
    add_hostports(rulesets, topology, placed)
    node_names = [n.name for n in topology.nodes]
    announced: dict[str, set[str]] = {n: set() for n in node_names}
    for svc in listed:
        node = announcer(svc, node_names)
        if node:
            announced[node].update(svc.load_balancer_ips())
    return Network(services, policy, rulesets, {n: frozenset(ips) for n, ips in announced.items()})


def dns_view(objects: Mapping[str, dict], config: ClusterConfig, pods: Mapping[str, PlacedPod],
             services: Mapping[str, ResolvedService], topology: Topology) -> dict:
    namespaces = set(BUILTIN_NAMESPACES) | {o["metadata"]["name"] for o in objects.values()
                                             if o["kind"] == "Namespace"}
    upstreams = list(config.dns_upstreams) if config.dns_upstreams is not None else [f"{topology.host_ip}:53"]
    return addons.dns_view(config, list(services.values()), list(pods.values()), sorted(namespaces), upstreams)


def node_resolvers(config: ClusterConfig, topology: Topology) -> tuple[str, ...]:
    """The nameservers a node resolves with (dnsPolicy Default): what the DNS server forwards to."""
    if config.dns_upstreams is None:
        return (topology.host_ip,)
    return tuple(u if _is_ip(u) else u.rsplit(":", 1)[0].strip("[]") for u in config.dns_upstreams)


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def compile_containers(pods: Mapping[str, PlacedPod], topology: Topology, api_env: Mapping[str, str] | None = None,
                       objects: Mapping[str, dict] | None = None, resolv: Mapping[str, str] | None = None,
                       domain: str = "cluster.local", *, ingress_argv: Sequence[str] = (),
                       sa_issuer: TokenIssuer | None = None) -> tuple[ContainerSpec, ...]:
    """resolv: pod key -> resolv.conf, which a hostNetwork pod's containers carry themselves (they share
    their node's network namespace, so /etc/netns/<netns> cannot be theirs)."""
    node_ip = {n.name: order_by_family([n.underlay_ip, n.underlay_ip6], topology.ip_families)[0]
               for n in topology.nodes}
    specs: list[ContainerSpec] = []
    for pod in sorted(pods.values(), key=lambda p: (p.namespace not in SYSTEM_NAMESPACES, p.key)):
        own = (resolv or {}).get(pod.key, "") if pod.host_network else ""
        specs += container_specs(pod, node_ip[pod.node], api_env, objects, own, domain, ingress_argv=ingress_argv,
                                 sa_issuer=sa_issuer, families=topology.ip_families)
    return tuple(specs)


def compile_desired(objects: Mapping[str, dict], config: ClusterConfig, observed: Observed, *,
                    pods: Mapping[str, PlacedPod], allocations: Mapping[str, Allocation],
                    topology: Topology | None = None) -> Desired:
    """The whole desired state. ``topology`` may be passed when the caller has it for these pods."""
    pods = {k: p for k, p in pods.items() if p.node}  # Pending pods: nothing to run or route
    topo = compile_topology(config, pods) if topology is None else topology
    network = compile_network(objects, config, observed, pods=pods, allocations=allocations, topology=topo)
    resolv = {k: resolv_conf(p.namespace, config.cluster_domain, config.dns_ip, p.spec, node_resolvers(config, topo))
              for k, p in pods.items()}
    ingress = None
    controller = find_controller(pods.values())
    if observed.ingress_dir is not None and controller is not None:
        ingress = ingress_desired(objects.values(), network.services, observed.ingress_dir, observed.default_cert,
                                  controller[1], ipv6="IPv6" in config.ip_families)
    return Desired(
        topology=topo,
        network=network,
        dns_view=dns_view(objects, config, pods, network.services, topo),
        ingress=ingress,
        containers=compile_containers(pods, topo, api_service_env(objects, allocations), objects, resolv,
                                      config.cluster_domain, ingress_argv=observed.ingress_argv,
                                      sa_issuer=observed.sa_issuer),
        resolv=resolv,
        gateways=(gateway_desired(objects.values(), network.services, observed.gateway_root,
                                  ipv6="IPv6" in config.ip_families)
                  if observed.gateway_root is not None else None),
    )


def placement(objects: Mapping[str, dict], previous: Mapping[str, PlacedPod], nodes: tuple[NodeNet, ...],
              rng: random.Random, cursor: dict[str, str], now: float,
              ready_since: Mapping[str, float] | None = None,
              job_view: jobs.JobView | None = None,
              terminating: Sequence[PlacedPod] = ()) -> dict[str, PlacedPod]:
    """Every pod the objects ask for, on a node with an IP; ``cursor`` (the IPAM position) advances.
    Deployments, StatefulSets and DaemonSets take one step; ``ready_since`` (pod key -> when it became
    Ready) lets them remove old pods, without it (at apply time) Deployments only add. Jobs take one step as
    ``job_view`` (their pods' phases) allows. ``terminating`` pods hold their addresses and host ports.
    Raises workloads.PlacementError."""
    kinds = {k: [o for o in objects.values() if o["kind"] == k]
             for k in ("Pod", "Deployment", "ReplicaSet", "ReplicationController", "Job")}
    wanted = expand(kinds["Pod"], kinds["Deployment"], dict(previous),
                    kinds["ReplicaSet"] + kinds["ReplicationController"], ready_since, now)
    wanted += podsets.wanted(objects.values(), previous, ready_since or {}, nodes)
    wanted += jobs.wanted_pods(kinds["Job"], previous, job_view, now)
    return {p.key: p for p in place(wanted, nodes, dict(previous), now, rng, cursor, terminating)}


def allocations(objects: Mapping[str, dict], previous: Mapping[str, Allocation],
                config: ClusterConfig) -> dict[str, Allocation]:
    """Cluster IPs, node ports and LoadBalancer IPs for every Service, previous ones kept. Raises
    services.AllocationError."""
    pools = Pools(config.service_subnet, config.node_port_range, *config.lb_pool, families=config.ip_families,
                  service_cidr6=config.service_subnet6, lb_pool6=config.lb_pool6)
    return allocate([o for o in objects.values() if o["kind"] == "Service"], dict(previous), pools)


def compile_objects(objects: Mapping[str, dict], config: ClusterConfig,
                    observed: Observed | None = None, seed: int = 0) -> Desired:
    """The desired state of objects alone (golden tests): pods placed from scratch with a seeded random
    source at time 0, services allocated from scratch, every pod ready unless ``observed`` says otherwise."""
    nodes = config.topology().nodes
    pods = placement(objects, {}, nodes, random.Random(seed), {}, 0.0)
    observed = Observed(all_ready=True) if observed is None else observed
    return compile_desired(objects, config, observed, pods=pods, allocations=allocations(objects, {}, config))
