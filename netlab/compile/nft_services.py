"""Service DNAT for one node as an nftables Ruleset, in the shape of kube-proxy's nftables mode.

Static base chains dispatch every packet through three verdict maps keyed by destination:
`service-ips` (ClusterIP . proto . port), `service-nodeports` (proto . nodePort, only for the node's
own addresses) and `no-endpoint-services` (reject at once). Each service port has a chain that picks
an endpoint with `numgen random`; each endpoint has a chain that DNATs (and marks hairpin traffic
for masquerade). Lookup cost does not grow with the number of services.
"""

from __future__ import annotations

from netlab.compile import names
from netlab.compile.families import NFT, NftFamily
from netlab.compile.nftables import Chain, Ruleset, SetOrMap, quote
from netlab.compile.services import Endpoint, ResolvedService, ServicePortView, serving_endpoints
from netlab.compile.topology_zones import topology_endpoints

MASQ_MARK = "0x4000"
V4 = NFT["IPv4"]


def _port_id(svc: ResolvedService, port: ServicePortView, fam: NftFamily = V4) -> str:
    base = f"{svc.namespace}/{svc.name}/{port.protocol.lower()}/{port.name or port.port}"
    return base + ("/ipv6" if fam.suffix else "")


def service_chain(svc: ResolvedService, port: ServicePortView, fam: NftFamily = V4) -> str:
    return names.nft_service_chain(_port_id(svc, port, fam))


def external_chain(svc: ResolvedService, port: ServicePortView, fam: NftFamily = V4) -> str:
    return names.nft_external_chain(_port_id(svc, port, fam))


def internal_local_chain(svc: ResolvedService, port: ServicePortView, fam: NftFamily = V4) -> str:
    return names.nft_internal_local_chain(_port_id(svc, port, fam))


def firewall_chain(svc: ResolvedService, port: ServicePortView, fam: NftFamily = V4) -> str:
    return names.nft_firewall_chain(_port_id(svc, port, fam))


def _addr(ep: Endpoint, fam: NftFamily) -> str:
    return ep.ip6 if fam.suffix else ep.ip


def _name_addr(ep: Endpoint, fam: NftFamily) -> str:
    """The address as it appears in a chain or set name: nft names take no colons (as DNS pod names, `-`)."""
    return _addr(ep, fam).replace(":", "-")


def endpoint_chain(svc: ResolvedService, port: ServicePortView, ip: str, fam: NftFamily = V4,
                   ep: Endpoint | None = None) -> str:
    """The endpoint chain of `ip` (its IPv4 address, the key of port.target); of its IPv6 address for IPv6."""
    addr = _name_addr(ep, fam) if ep is not None else ip
    return names.nft_endpoint_chain(_port_id(svc, port, fam), f"{addr}/{port.target[ip]}")


def affinity_set(svc: ResolvedService, port: ServicePortView, ip: str, fam: NftFamily = V4,
                 ep: Endpoint | None = None) -> str:
    addr = _name_addr(ep, fam) if ep is not None else ip
    return names.nft_affinity_set(_port_id(svc, port, fam), addr, port.target[ip])


def base_ruleset(node_ips: list[str]) -> Ruleset:
    n = names
    ruleset = Ruleset()
    ruleset.add_set(SetOrMap(n.SET_SERVICE_IPS, "type ipv4_addr . inet_proto . inet_service : verdict;",
                             comment="ClusterIP and LoadBalancer IP dispatch"))
    ruleset.add_set(SetOrMap(n.SET_SERVICE_NODEPORTS, "type inet_proto . inet_service : verdict;",
                             comment="NodePort dispatch"))
    ruleset.add_set(SetOrMap(n.SET_NO_ENDPOINT_SERVICES, "type ipv4_addr . inet_proto . inet_service : verdict;",
                             comment="services with no ready endpoints: reject at once"))
    ruleset.add_set(SetOrMap(n.SET_NO_ENDPOINT_NODEPORTS, "type inet_proto . inet_service : verdict;",
                             comment="node ports with no ready endpoints: reject at once"))
    ruleset.add_set(SetOrMap(n.SET_NODEPORT_IPS, "type ipv4_addr;", frozenset(node_ips),
                             comment="this node's addresses"))
    ruleset.add_set(SetOrMap(n.SET_CLUSTER_IPS, "type ipv4_addr;", comment="every ClusterIP: other ports are rejected"))
    ruleset.add_chain(Chain(n.CHAIN_SERVICES, (
        f"ip daddr . meta l4proto . th dport vmap @{n.SET_SERVICE_IPS}",
        f"ip daddr @{n.SET_NODEPORT_IPS} meta l4proto . th dport vmap @{n.SET_SERVICE_NODEPORTS}",
    )))
    ruleset.add_chain(Chain(n.CHAIN_NAT_PREROUTING, (f"jump {n.CHAIN_SERVICES}",),
                            "type nat hook prerouting priority dstnat; policy accept;"))
    ruleset.add_chain(Chain(n.CHAIN_NAT_OUTPUT, (f"jump {n.CHAIN_SERVICES}",),
                            "type nat hook output priority -100; policy accept;"))
    ruleset.add_chain(Chain(n.CHAIN_NAT_POSTROUTING, (f"jump {n.CHAIN_MASQUERADING}",),
                            "type nat hook postrouting priority srcnat; policy accept;"))
    ruleset.add_chain(Chain(n.CHAIN_MASQUERADING, (
        f"meta mark & {MASQ_MARK} == 0 return",
        f"meta mark set meta mark ^ {MASQ_MARK}",
        "masquerade fully-random",
    )))
    ruleset.add_chain(Chain(n.CHAIN_MARK_FOR_MASQUERADE, (f"meta mark set meta mark | {MASQ_MARK}",)))
    ruleset.add_chain(Chain(n.CHAIN_REJECT, ("reject",), comment=f"helper for @{n.SET_NO_ENDPOINT_SERVICES}"))
    ruleset.add_chain(Chain(n.CHAIN_ENDPOINTS_CHECK, (
        f"ip daddr . meta l4proto . th dport vmap @{n.SET_NO_ENDPOINT_SERVICES}",
        f"ip daddr @{n.SET_NODEPORT_IPS} meta l4proto . th dport vmap @{n.SET_NO_ENDPOINT_NODEPORTS}",
    )))
    # Before DNAT, so a packet for a service with no endpoints is refused instead of routed nowhere.
    ruleset.add_chain(Chain(n.CHAIN_FILTER_PREROUTING, (f"ct state new jump {n.CHAIN_ENDPOINTS_CHECK}",),
                            "type filter hook prerouting priority dstnat - 10; policy accept;"))
    ruleset.add_chain(Chain(n.CHAIN_FILTER_OUTPUT, (f"ct state new jump {n.CHAIN_ENDPOINTS_CHECK}",),
                            "type filter hook output priority -110; policy accept;"))
    # After DNAT: what still goes to a ClusterIP matched no service port.
    ruleset.add_chain(Chain(n.CHAIN_CLUSTER_IPS_CHECK, (f"ip daddr @{n.SET_CLUSTER_IPS} reject",)))
    ruleset.add_chain(Chain(n.CHAIN_FILTER_PREROUTING_POST_DNAT, (f"ct state new jump {n.CHAIN_CLUSTER_IPS_CHECK}",),
                            "type filter hook prerouting priority dstnat + 10; policy accept;"))
    ruleset.add_chain(Chain(n.CHAIN_FILTER_OUTPUT_POST_DNAT, (f"ct state new jump {n.CHAIN_CLUSTER_IPS_CHECK}",),
                            "type filter hook output priority filter; policy accept;"))
    return ruleset


def services_ruleset(node: str, node_ips: list[str], cluster_cidr: str, services: list[ResolvedService],
                     zone: str | None = None, *, node_ips6: list[str] | None = None,
                     cluster_cidr6: str = "") -> Ruleset:
    """The node's table of service rules; `zone` (its topology.kubernetes.io/zone) for trafficDistribution.
    A dual-stack cluster (`cluster_cidr6`) adds the same dispatch for IPv6 in `ip6` rules and `...6` sets."""
    ruleset = base_ruleset(node_ips)
    _add_family_rules(ruleset, V4, node, cluster_cidr, services, zone)
    if cluster_cidr6:
        _add_ipv6_base(ruleset, node_ips6 or [])
        _add_family_rules(ruleset, NFT["IPv6"], node, cluster_cidr6, services, zone)
    return ruleset


def _add_ipv6_base(ruleset: Ruleset, node_ips6: list[str]) -> None:
    """The IPv6 sets and dispatch rules next to the IPv4 ones, in the same base chains."""
    n, fam = names, NFT["IPv6"]
    key = f"type {fam.addr_type} . inet_proto . inet_service : verdict;"
    for name, decl, elements in ((n.SET_SERVICE_IPS, key, ()), (n.SET_NO_ENDPOINT_SERVICES, key, ()),
                                 (n.SET_SERVICE_NODEPORTS, "type inet_proto . inet_service : verdict;", ()),
                                 (n.SET_NO_ENDPOINT_NODEPORTS, "type inet_proto . inet_service : verdict;", ()),
                                 (n.SET_NODEPORT_IPS, f"type {fam.addr_type};", node_ips6),
                                 (n.SET_CLUSTER_IPS, f"type {fam.addr_type};", ())):
        ruleset.add_set(SetOrMap(name + fam.suffix, decl, frozenset(elements), comment=f"IPv6: as @{name}"))
    s = fam.suffix
    for chain, rules in (
            (n.CHAIN_SERVICES, (f"ip6 daddr . meta l4proto . th dport vmap @{n.SET_SERVICE_IPS}{s}",
                                f"ip6 daddr @{n.SET_NODEPORT_IPS}{s} meta l4proto . th dport vmap "
                                f"@{n.SET_SERVICE_NODEPORTS}{s}")),
            (n.CHAIN_ENDPOINTS_CHECK, (f"ip6 daddr . meta l4proto . th dport vmap @{n.SET_NO_ENDPOINT_SERVICES}{s}",
                                       f"ip6 daddr @{n.SET_NODEPORT_IPS}{s} meta l4proto . th dport vmap "
                                       f"@{n.SET_NO_ENDPOINT_NODEPORTS}{s}")),
            (n.CHAIN_CLUSTER_IPS_CHECK, (f"ip6 daddr @{n.SET_CLUSTER_IPS}{s} reject",))):
        old = ruleset.chains[chain]
        ruleset.chains[chain] = Chain(old.name, old.rules + rules, old.hook, old.comment, old.notes)


def _add_family_rules(ruleset: Ruleset, fam: NftFamily, node: str, cluster_cidr: str,
                      services: list[ResolvedService], zone: str | None) -> None:
    service_ips: set[str] = set()
    nodeports: set[str] = set()
    reject_ips: set[str] = set()
    reject_ports: set[str] = set()
    cluster_ips: set[str] = set()
    for svc in sorted(services, key=lambda s: s.key):
        cip = svc.cluster_ip_of(fam.family)
        if svc.type == "ExternalName" or cip is None:
            continue  # headless, ExternalName or not of this family: no virtual IP, no DNAT
        if not svc.proxied:
            continue  # another proxy's (service-proxy-name label): no DNAT, no reject, as with kube-proxy
        cluster_ips.add(cip)
        lb_ip, ext_ips = svc.load_balancer_ip_of(fam.family), _of_family(svc.external_ips, fam)
        for port in svc.ports:
            proto = port.protocol.lower()
            serving = [e for e in serving_endpoints(svc, port) if _addr(e, fam)]
            chain = service_chain(svc, port, fam)
            if not serving:
                reject_ips.add(f"{cip} . {proto} . {port.port} : goto {names.CHAIN_REJECT}")
                for ip in ([lb_ip] if lb_ip else []) + ext_ips:
                    reject_ips.add(f"{ip} . {proto} . {port.port} : goto {names.CHAIN_REJECT}")
                if port.node_port:
                    reject_ports.add(f"{proto} . {port.node_port} : goto {names.CHAIN_REJECT}")
                continue
            _add_service_chains(ruleset, svc, port, serving, cluster_cidr, topology_endpoints(svc, serving, node, zone),
                                fam)
            internal = _add_internal_chain(ruleset, svc, port, serving, node, cluster_cidr, fam) or chain
            if internal == "drop":
                reject_ips.add(f"{cip} . {proto} . {port.port} : goto {names.CHAIN_NO_LOCAL_ENDPOINTS}")
            else:
                service_ips.add(f"{cip} . {proto} . {port.port} : goto {quote(internal)}")
            if svc.type in ("NodePort", "LoadBalancer") or svc.external_ips:
                ext = external_chain(svc, port, fam)
                _add_external_chain(ruleset, svc, port, serving, node, ext, cluster_cidr, fam)
                if port.node_port:
                    nodeports.add(f"{proto} . {port.node_port} : goto {quote(ext)}")
                for ip in ext_ips:
                    service_ips.add(f"{ip} . {proto} . {port.port} : goto {quote(ext)}")
                if lb_ip:
                    entry = _add_firewall_chain(ruleset, svc, port, ext, fam)
                    service_ips.add(f"{lb_ip} . {proto} . {port.port} : goto {quote(entry)}")
    if any(e.endswith(names.CHAIN_NO_LOCAL_ENDPOINTS) for e in reject_ips) \
            and names.CHAIN_NO_LOCAL_ENDPOINTS not in ruleset.chains:
        # a chain of its own (not a bare `drop` in the map) so `netlab observe` can log and name the drop
        ruleset.add_chain(Chain(names.CHAIN_NO_LOCAL_ENDPOINTS, ("drop",),
                                comment="internalTrafficPolicy Local without an endpoint on this node"))
    for name, elements in ((names.SET_SERVICE_IPS, service_ips), (names.SET_SERVICE_NODEPORTS, nodeports),
                           (names.SET_NO_ENDPOINT_SERVICES, reject_ips),
                           (names.SET_NO_ENDPOINT_NODEPORTS, reject_ports), (names.SET_CLUSTER_IPS, cluster_ips)):
        ruleset.sets[name + fam.suffix] = _with(ruleset.sets[name + fam.suffix], elements)


def _of_family(addresses: tuple[str, ...], fam: NftFamily) -> list[str]:
    """The addresses (or CIDRs) of one family: kube-proxy splits externalIPs and loadBalancerSourceRanges
    by family and programs each family's rules with its own."""
    return [a for a in addresses if (":" in a) == bool(fam.suffix)]


def _with(s: SetOrMap, elements: set[str]) -> SetOrMap:
    return SetOrMap(s.name, s.declaration, frozenset(elements), s.comment)


def _dispatch(endpoint_chains: list[str]) -> str:
    if len(endpoint_chains) == 1:
        return f"goto {quote(endpoint_chains[0])}"
    arms = ", ".join(f"{i} : goto {quote(c)}" for i, c in enumerate(endpoint_chains))
    return f"numgen random mod {len(endpoint_chains)} vmap {{ {arms} }}"


def _add_service_chains(ruleset: Ruleset, svc: ResolvedService, port: ServicePortView, serving: list[Endpoint],
                        cluster_cidr: str, picked: list[Endpoint], fam: NftFamily = V4) -> None:
    """An endpoint chain for each serving endpoint; the service chain dispatches to `picked` (the same,
    or those trafficDistribution prefers on this node)."""
    proto, ip = port.protocol.lower(), fam.ip
    rules = [f"{ip} daddr {svc.cluster_ip_of(fam.family)} {proto} dport {port.port} {ip} saddr != {cluster_cidr} "
             f"jump {names.CHAIN_MARK_FOR_MASQUERADE}"]
    ep_chains = []
    for ep in serving:
        ep_chain = endpoint_chain(svc, port, ep.ip, fam, ep)
        ep_chains.append(ep_chain)
        # hairpin: a pod reaching itself
        ep_rules = [f"{ip} saddr {_addr(ep, fam)} jump {names.CHAIN_MARK_FOR_MASQUERADE}"]
        if svc.affinity_timeout:
            aff = affinity_set(svc, port, ep.ip, fam, ep)
            ruleset.add_set(SetOrMap(aff, f"type {fam.addr_type}; flags dynamic,timeout; "
                                          f"timeout {svc.affinity_timeout}s;"))
            ep_rules.append(f"update @{quote(aff)} {{ {ip} saddr }}")
        ep_rules.append(f"meta l4proto {proto} {fam.dnat(_addr(ep, fam), port.target[ep.ip])}")
        ruleset.add_chain(Chain(ep_chain, tuple(ep_rules)))
    picked_chains = [c for ep, c in zip(serving, ep_chains, strict=True) if ep in picked]
    if svc.affinity_timeout:
        rules += [f"{ip} saddr @{quote(affinity_set(svc, port, ep.ip, fam, ep))} goto {quote(c)}"
                  for ep, c in zip(serving, ep_chains, strict=True) if ep in picked]
    rules.append(_dispatch(picked_chains))
    ruleset.add_chain(Chain(service_chain(svc, port, fam), tuple(rules)))


def _add_internal_chain(ruleset: Ruleset, svc: ResolvedService, port: ServicePortView, serving: list[Endpoint],
                        node: str, cluster_cidr: str, fam: NftFamily = V4) -> str | None:
    """internalTrafficPolicy Local: the ClusterIP chain of this node, using only its endpoints. Returns its
    name, "drop" when the node has none (kube-proxy drops rather than rejects: the service has endpoints,
    just not here), None for Cluster policy (the service chain serves ClusterIP traffic too)."""
    if not svc.internal_local:
        return None
    here = [e for e in serving if e.node == node]
    if not here:
        return "drop"
    local = [endpoint_chain(svc, port, e.ip, fam, e) for e in here]
    proto, ip = port.protocol.lower(), fam.ip
    name = internal_local_chain(svc, port, fam)
    rules = [f"{ip} daddr {svc.cluster_ip_of(fam.family)} {proto} dport {port.port} {ip} saddr != {cluster_cidr} "
             f"jump {names.CHAIN_MARK_FOR_MASQUERADE}"]
    if svc.affinity_timeout:  # a client keeps its endpoint (the sets are the endpoint chains')
        rules += [f"{ip} saddr @{quote(affinity_set(svc, port, e.ip, fam, e))} goto {quote(c)}"
                  for e, c in zip(here, local, strict=True)]
    ruleset.add_chain(Chain(name, (*rules, _dispatch(local))))
    return name


def _add_firewall_chain(ruleset: Ruleset, svc: ResolvedService, port: ServicePortView, ext: str,
                        fam: NftFamily = V4) -> str:
    """loadBalancerSourceRanges: the LoadBalancer IP goes through a chain that lets only those sources on
    to the external chain and drops the rest (kube-proxy's firewall chain). Returns the entry chain. As
    kube-proxy, each family uses the ranges of its own family: none of them, no firewall for that family."""
    ranges = _of_family(svc.source_ranges, fam)
    if not ranges:
        return ext
    name = firewall_chain(svc, port, fam)
    rules = [f"{fam.ip} saddr {cidr} goto {quote(ext)}" for cidr in ranges]
    ruleset.add_chain(Chain(name, (*rules, "drop")))
    return name


def _add_external_chain(ruleset: Ruleset, svc: ResolvedService, port: ServicePortView, serving: list[Endpoint],
                        node: str, name: str, cluster_cidr: str, fam: NftFamily = V4) -> None:
    """NodePort, LoadBalancer and externalIP traffic: Cluster policy SNATs to the node. Local keeps the
    client IP and uses only this node's endpoints (dropping when it has none), except for traffic from
    inside the cluster: as kube-proxy, a pod (source in the cluster CIDR) or the node itself (a local
    source address, masqueraded) short-circuits to the Service chain and reaches every endpoint."""
    cluster = quote(service_chain(svc, port, fam))
    if not svc.external_local:
        rules: tuple[str, ...] = (f"jump {names.CHAIN_MARK_FOR_MASQUERADE}", f"goto {cluster}")
    else:
        local = [endpoint_chain(svc, port, e.ip, fam, e) for e in serving if e.node == node]
        # kube-proxy lets an outside packet fall through here and drops it in its filter hooks (the
        # no-endpoint maps, which DNATed packets no longer match); the final `drop` has the same effect
        # and lets `netlab observe` name the Service.
        rules = (f"{fam.ip} saddr {cluster_cidr} goto {cluster}",
                 f"fib saddr type local jump {names.CHAIN_MARK_FOR_MASQUERADE}",
                 f"fib saddr type local goto {cluster}",
                 _dispatch(local) if local else "drop")
    ruleset.add_chain(Chain(name, rules))
