"""One connection attempt through a node's compiled rules: reject, DNAT to each endpoint, SNAT. Pure.

The decisions come from running the node's ruleset (`netlab.trace.nft_eval`): which chain the
service dispatch maps pick, which endpoints `numgen` can reach, whether the packet is marked for
masquerade. The service list is only used to name what the rules point at.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import replace

from netlab.compile import names
from netlab.compile.families import NFT
from netlab.compile.nft_services import (
    MASQ_MARK,
    external_chain,
    firewall_chain,
    internal_local_chain,
    service_chain,
)
from netlab.compile.services import ResolvedService, ServicePortView, serving_endpoints
from netlab.compile.topology import NodeNet
from netlab.compile.topology_zones import ZONE_LABEL
from netlab.trace.egress import agent_decision, no_ipv6_route, outside
from netlab.trace.nft_eval import DROP, REJECT, Hit, Packet
from netlab.trace.policy import PolicyWalk
from netlab.trace.result import (
    CONNECTED,
    MIXED,
    REFUSED,
    TIMEOUT,
    UNREACHABLE,
    Candidate,
    Plan,
    Source,
    Step,
    TraceError,
    TracePoint,
    display,
)
from netlab.trace.result import (
    hostport as addr_port,
)

# The table's fixed chains and sets (compile/names.py), short for the explanations below.
SERVICES = names.CHAIN_SERVICES
NAT_PRE = names.CHAIN_NAT_PREROUTING
NAT_POST = names.CHAIN_NAT_POSTROUTING
MARK_MASQ = names.CHAIN_MARK_FOR_MASQUERADE
MASQUERADING = names.CHAIN_MASQUERADING
ENDPOINTS_CHECK = names.CHAIN_ENDPOINTS_CHECK
IPS_CHECK = names.CHAIN_CLUSTER_IPS_CHECK
SERVICE_IPS = names.SET_SERVICE_IPS
NODEPORTS = names.SET_SERVICE_NODEPORTS
NODE_IPS = names.SET_NODEPORT_IPS
NO_EP_NODEPORTS = names.SET_NO_ENDPOINT_NODEPORTS
MASQ_JUMP = f"jump {MARK_MASQ}"
HOSTPORTS = names.CHAIN_HOSTPORTS


def _hit(pkt: Packet, chain: str) -> Hit | None:
    """The rule of `chain` that decided (not just continued)."""
    return next((h for h in pkt.trail if h.chain == chain and h.verdict != "continue"), None)


def _hairpin_why(chain: str) -> str:
    if chain.startswith("hostport-"):
        return "a pod of this node reaches a hostPort (the portmap plugin's hairpin SNAT)"
    return "the client is the endpoint itself (hairpin)"


def _target(hit: Hit) -> str:
    return hit.verdict.split(None, 1)[1]


class DnatWalk(PolicyWalk):
    _owners: dict[str, tuple[ResolvedService, ServicePortView]] | None = None

    def owner(self, chain: str) -> tuple[ResolvedService, ServicePortView]:
        """The service port a compiled service-/external- chain belongs to."""
        owners = self.owners()
        if chain not in owners:
            raise TraceError(f"the rules send the packet to chain {chain}, which no service owns")
        return owners[chain]

    def owners(self) -> dict[str, tuple[ResolvedService, ServicePortView]]:
        """Service chain name -> its service port, for the chains of both families (`.../tcp/80/ipv6`)."""
        if self._owners is None:
            self._owners = {}
            for svc in self.services:
                for sp in svc.ports:
                    for fam in NFT.values():
                        for make in (service_chain, external_chain, internal_local_chain, firewall_chain):
                            self._owners[make(svc, sp, fam)] = (svc, sp)
        return self._owners


    def packet(self, src: Source, dst_ip: str, dport: int, proto: str) -> Plan:
        p = Plan(src, dst_ip, dport, proto)
        steps, node, hook, saddr = self.leave(src, dst_ip)
        p.steps += steps
        if node is None:
            p.outcome, p.reason = UNREACHABLE, f"no route from the host to {dst_ip}"
            return p
        p.trace_points.append(TracePoint(node.name, hook, saddr, dst_ip, dport))
        # A pod or node reaching another node's NodePort: routed there first, DNAT happens on that node.
        target = self.node_by_ip(dst_ip)
        if target is not None and target.name != node.name and src.kind != "host":
            route, _dev, _s, _n = self.route_from_node(node, dst_ip)
            p.steps.append(Step(node.name, f"routes {dst_ip} to {target.name} over the underlay",
                                f"{dst_ip} is {target.name}'s address; no netlab rule matches it here "
                                f"(@{NODE_IPS}{self._sets()} holds only this node's address)", route))
            node, hook = target, "prerouting"
            p.trace_points.append(TracePoint(node.name, hook, saddr, dst_ip, dport))
        # only a packet sent by the node itself (output hook) has one of its addresses as source
        results = self.rules(node.name).hook(hook, Packet(saddr, dst_ip, proto, dport, local_src=hook == "output"))
        first = results[0]
        if first.verdict == REJECT:
            return self.rejected(p, node, first)
        hostport = _hit(first, HOSTPORTS)
        if hostport is not None and first.dnat is not None:
            return self.through_hostport(p, src, node, saddr, first, hostport)
        dispatch = _hit(first, SERVICES)
        if dispatch is not None and (first.verdict != DROP or _target(dispatch) in self.owners()):
            return self.through_service(p, src, node, saddr, results, dispatch)
        if first.verdict == DROP:
            chain = first.trail[-1].chain if first.trail else hook
            p.steps.append(Step(node.name, f"DROP by {chain}", " -> ".join(first.chains()), chain))
            p.outcome, p.reason = TIMEOUT, f"dropped by {chain} on {node.name}"
            return p
        return self.direct(p, src, node, saddr, first)

    def through_hostport(self, p: Plan, src: Source, node: NodeNet, saddr: str, first: Packet, hit: Hit) -> Plan:
        """A node address at a pod's hostPort: the portmap-style DNAT, then as to any endpoint."""
        chain = _target(hit)
        entry = next((h.chain for h in first.trail if h.verdict == f"jump {HOSTPORTS}"), "?")
        p.steps.append(Step(node.name, f"hostPort {p.dport}/{p.proto} on {p.dst_ip}: {chain}",
                            f"{entry} (before the service rules) -> {HOSTPORTS} -> @{names.SET_HOSTPORTS}: "
                            f"`{p.dst_ip} . {p.proto} . {p.dport} : {hit.verdict}`",
                            f"{entry} -> {HOSTPORTS} -> {chain}"))
        self.endpoint(p, src, node, saddr, first, False)
        self.conclude(p)
        return p

    def _chain_in(self, pkt: Packet, hook_chain: str) -> str:
        return next((h.chain for h in pkt.trail if h.verdict == f"jump {SERVICES}"), hook_chain)

    def rejected(self, p: Plan, node: NodeNet, r: Packet) -> Plan:
        ip, port, proto = p.dst_ip, p.dport, p.proto
        check = _hit(r, ENDPOINTS_CHECK)
        if check is not None:
            svc = self.service_named(node, ip, port, proto)
            name = svc.key if svc else f"{ip}:{port}/{proto}"
            filter_in = next((h.chain for h in r.trail if h.verdict == f"jump {ENDPOINTS_CHECK}"), "?")
            vmap = next(w for w in check.rule.split() if w.startswith("@"))
            key = f"{proto} . {port}" if vmap.startswith(f"@{NO_EP_NODEPORTS}") else f"{ip} . {proto} . {port}"
            p.steps.append(Step(node.name, f"REJECT: {name} has no ready endpoints",
                                f"{filter_in} (before DNAT) jumps {ENDPOINTS_CHECK} for new connections; "
                                f"{vmap} has `{key} : {check.verdict}`, which answers at once "
                                f"({'TCP reset/ICMP port unreachable' if proto == 'tcp' else 'ICMP port unreachable'})",
                                f"{filter_in} -> {ENDPOINTS_CHECK} -> {vmap} -> {_target(check)}"))
            p.outcome, p.reason = REFUSED, f"{name} has no ready endpoints: rejected on {node.name}"
            return p
        check = _hit(r, IPS_CHECK)
        if check is not None:
            svc = next((s for s in self.services if ip in s.cluster_ips()), None)
            name = svc.key if svc else ip
            ports = ", ".join(f"{sp.port}/{sp.protocol}" for sp in svc.ports) if svc else "?"
            p.steps.append(Step(node.name, f"REJECT: {name} has no port {port}/{proto}",
                                f"no @{SERVICE_IPS}{self._sets()} element matches; after DNAT, {IPS_CHECK} "
                                f"rejects what still goes to a ClusterIP (ports: {ports})",
                                f"{IPS_CHECK}: {check.rule}"))
            p.outcome, p.reason = REFUSED, f"{name} has no port {port}/{proto}"
            return p
        last = r.trail[-1]
        p.steps.append(Step(node.name, f"REJECT by {last.chain}", f"`{last.rule}`", last.chain))
        p.outcome, p.reason = REFUSED, f"rejected by {last.chain} on {node.name}"
        return p

    def _external(self, p: Plan, node: NodeNet, results: list[Packet], dispatch: Hit, chain_in: str,
                  via: str) -> tuple[str | None, bool]:
        """NodePort / LoadBalancer entry: (the service chain it goes on to or None, dropped)."""
        ext, proto, first = _target(dispatch), p.proto, results[0]
        svc, sport = self.owner(ext)
        ip, sfx = NFT[self.family].ip, self._sets()
        where = (f"{ip} daddr @{NODE_IPS}{sfx} meta l4proto . th dport vmap @{NODEPORTS}{sfx}: "
                 f"`{proto} . {p.dport} : {dispatch.verdict}`" if via == "nodeport" else
                 f"{ip} daddr . meta l4proto . th dport vmap @{SERVICE_IPS}{sfx}: "
                 f"`{p.dst_ip} . {proto} . {p.dport} : {dispatch.verdict}`")
        what = f"NodePort {p.dport}/{proto} of {svc.key}" if via == "nodeport" else \
            f"{'external IP' if p.dst_ip in svc.external_ips else 'LoadBalancer IP'} {p.dst_ip}:{p.dport} of {svc.key}"
        hits = [h for h in first.trail if h.chain == ext]
        fw = firewall_chain(svc, sport)
        if first.verdict == DROP and first.trail and first.trail[-1].chain == fw:
            allowed = ", ".join(svc.source_ranges)
            p.steps.append(Step(node.name, f"{what}: source {first.saddr} not in loadBalancerSourceRanges: DROP",
                                f"{chain_in} -> {SERVICES} -> {where}; {fw} lets only {allowed} on to {ext}",
                                f"{fw}: drop"))
            p.outcome, p.reason = TIMEOUT, f"dropped by {fw} on {node.name} (source not in loadBalancerSourceRanges)"
            return None, True
        if first.verdict == DROP:
            p.steps.append(Step(node.name, f"{what}: externalTrafficPolicy Local, no local endpoint: DROP",
                                f"{chain_in} -> {SERVICES} -> {where}; {first.saddr} is neither a pod nor this "
                                f"node, so {ext} ends in `drop` on this node because none of its endpoints "
                                "run here", f"{ext}: drop"))
            p.outcome, p.reason = TIMEOUT, f"dropped by {ext} on {node.name} (no local endpoint)"
            return None, True
        cluster = service_chain(svc, sport, NFT[self.family])
        if svc.external_local and hits and hits[-1].verdict == f"goto {cluster}":
            return cluster, self._short_circuit(p, node, first, hits, what, f"{chain_in} -> {SERVICES} -> {where}")
        if not any(h.verdict == MASQ_JUMP for h in hits):
            p.steps.append(Step(node.name, f"{what}: externalTrafficPolicy Local, {len(results)} local "
                                           "endpoint(s), client IP kept",
                                f"{chain_in} -> {SERVICES} -> {where}; {ext} picks among this node's endpoints "
                                "only and does not masquerade", f"{chain_in} -> {SERVICES} -> {ext}"))
            return None, False
        chain = _target(hits[-1])
        p.steps.append(Step(node.name, f"{what}: marked for masquerade, then the service chain",
                            f"{chain_in} -> {SERVICES} -> {where}; {ext} (externalTrafficPolicy Cluster) "
                            f"jumps {MARK_MASQ} (meta mark |= {MASQ_MARK}), so {NAT_POST} will "
                            f"SNAT it, then goes to {chain}",
                            f"{chain_in} -> {SERVICES} -> {ext} -> {MARK_MASQ}"))
        return chain, False

    def _short_circuit(self, p: Plan, node: NodeNet, first: Packet, hits: list[Hit], what: str, path: str) -> bool:
        """externalTrafficPolicy Local from inside the cluster: on to the service chain, as kube-proxy does."""
        ext, chain = hits[-1].chain, _target(hits[-1])
        if any(h.verdict == MASQ_JUMP for h in hits):
            who, snat = (f"{first.saddr} is this node's own address (`fib saddr type local`)",
                         f"jumps {MARK_MASQ} (meta mark |= {MASQ_MARK}), so {NAT_POST} will SNAT it, then ")
        else:
            who, snat = f"{first.saddr} is a pod (in {self.pod_range})", "keeps the pod's IP and "
        p.steps.append(Step(node.name, f"{what}: externalTrafficPolicy Local, short-circuited from inside the "
                                       "cluster to every endpoint",
                            f"{path}; {who}: {ext} {snat}goes to {chain}, like traffic to the ClusterIP "
                            "(only clients outside the cluster keep to this node's endpoints)",
                            f"{ext}: {hits[-1].rule}"))
        return False

    def _affinity(self, node: str, chain: str) -> str | None:
        """The sessionAffinity timeout of a service chain, read from its affinity sets."""
        it = self.rules(node)
        for rule in it.ruleset.chains[chain].rules:
            m = re.match(r"ip6? saddr @(\S+) goto ", rule)
            if m:
                t = re.search(r"timeout (\d+)s", it.ruleset.sets[m[1]].declaration)
                return t[1] if t else "?"
        return None

    def _pick_step(self, p: Plan, node: NodeNet, saddr: str, results: list[Packet], chain: str, dispatch: Hit,
                   chain_in: str, via: str) -> None:
        n, proto = len(results), p.proto
        pick = "its only endpoint" if n == 1 else f"one of {n} endpoints with `numgen random mod {n}`"
        timeout = self._affinity(node.name, chain)
        if timeout:
            pick += (f"; sessionAffinity ClientIP: a client already in an affinity-... set "
                     f"(timeout {timeout}s) goes back to the same endpoint")
        decided = _hit(results[0], chain)
        outside = decided is not None and decided.verdict == MASQ_JUMP  # rule 0: a client outside the cluster
        svc, sport = self.owner(chain)
        if svc.traffic_distribution:
            zone = node.labels.get(ZONE_LABEL)
            pick += (f"; trafficDistribution {svc.traffic_distribution}: {n} of the service's "
                     f"{len(serving_endpoints(svc, sport))} endpoint(s) from {node.name}"
                     f" (zone {zone or 'unset'}), by the EndpointSlice hints")
        head = f"DNAT {addr_port(p.dst_ip, sport.port)}/{proto} ({svc.key}): " if via == "clusterip" else ""
        lookup = (f"{SERVICES} -> @{SERVICE_IPS}{self._sets()} `{p.dst_ip} . {proto} . {p.dport} : "
                  f"{dispatch.verdict}`; " if via == "clusterip" else "")
        p.steps.append(Step(node.name, f"{head}{chain} picks among {n} endpoint(s)",
                            f"{lookup}{chain} picks {pick}"
                            + (f"; the source {saddr} is outside {self.pod_range}: {MARK_MASQ}"
                               if outside else ""),
                            f"{chain_in} -> {SERVICES} -> {chain}" if via == "clusterip" else chain))

    def through_service(self, p: Plan, src: Source, node: NodeNet, saddr: str, results: list[Packet],
                        dispatch: Hit) -> Plan:
        first = results[0]
        chain_in = self._chain_in(first, NAT_PRE)
        entry = _target(dispatch)
        svc, sport = self.owner(entry)
        via = "nodeport" if f"@{NODEPORTS}" in dispatch.rule else \
            ("lb" if entry in (external_chain(svc, sport), firewall_chain(svc, sport)) else "clusterip")
        chain: str | None = entry
        if via != "clusterip":
            chain, dropped = self._external(p, node, results, dispatch, chain_in, via)
            if dropped:
                return p
        if chain is not None:
            self._pick_step(p, node, saddr, results, chain, dispatch, chain_in, via)
        elif len(results) > 1:
            p.steps.append(Step(node.name, f"{entry} picks one of {len(results)} local endpoints (numgen random)",
                                "", entry))
        for r in results:
            self.endpoint(p, src, node, saddr, r, len(results) > 1)
        self.conclude(p)
        return p

    def endpoint(self, p: Plan, src: Source, node: NodeNet, saddr: str, r: Packet, multi: bool) -> None:
        """The steps of one DNAT result: the endpoint chain, the route, policy, SNAT, arrival."""
        assert r.dnat is not None
        ip, tp = r.dnat
        proto = p.proto
        tag = f"[endpoint {ip}] " if multi else ""
        dnat = next(h for h in r.trail if h.rule.startswith("meta l4proto") and " dnat " in h.rule)
        hairpin = any(h.chain == dnat.chain and h.verdict == MASQ_JUMP for h in r.trail)
        pod = self.pod_by_ip(ip)
        owner = self.node_of_pod_ip(ip) or self.node_by_ip(ip)  # a node's address: a hostNetwork endpoint
        ep_node = pod.node if pod else (owner.name if owner else "?")
        who = display(pod.namespace, pod.name) if pod else ("a hostNetwork pod" if self.node_by_ip(ip) else ip)
        block = [Step(node.name, f"{tag}DNAT to {addr_port(ip, tp)} ({who} on {ep_node})",
                      f"{dnat.chain}: `{dnat.rule}`"
                      + (f"; {_hairpin_why(dnat.chain)}: {MARK_MASQ}" if hairpin else ""),
                      dnat.chain)]
        route, arrive_step, last = self.hop_steps(node, ip)
        (post,) = self.rules(node.name).hook("postrouting", replace(r, trail=()))
        path = " -> ".join(post.chains())
        seen = saddr
        by_agent, why = agent_decision(post)
        if post.masquerade and by_agent:
            # An endpoint outside the cluster (user-written Endpoints): egress SNAT, node then host.
            _r, dev, snat, _n = self.route_from_node(node, ip)
            seen = snat if self.node_by_ip(ip) else ""
            nat = Step(node.name, f"SNAT (masquerade) {saddr} -> {snat}",
                       f"{why} rewrites the source to {dev}'s address {snat}", path)
        elif post.masquerade:
            _r, dev, snat, _n = self.route_from_node(node, ip)
            seen = snat
            nat = Step(node.name, f"SNAT (masquerade) {saddr} -> {snat}",
                       f"{NAT_POST} -> {MASQUERADING}: mark {MASQ_MARK} is set, so `masquerade "
                       f"fully-random` rewrites the source to {dev}'s address {snat}; the endpoint "
                       f"sees {snat}, not {saddr}", path)
        else:
            nat = Step(node.name, f"no SNAT: the endpoint sees {saddr}",
                       f"mark {MASQ_MARK} is not set, {NAT_POST}'s {MASQUERADING} chain returns; {why}",
                       f"{path}: {post.trail[-1].verdict}" if post.trail else NAT_POST)
        if last.name != node.name:
            p.trace_points.append(TracePoint(last.name, "prerouting", seen, ip, tp))
        ok, egress, ingress = self.policy_steps(src, ip, tp, proto, seen, node.name)
        # Order of the hooks: routing decision, forward (policy), postrouting (SNAT), next node.
        order = [route, *egress, nat, arrive_step, *ingress] if arrive_step else [route, *egress, *ingress, nat]
        block += [replace(s, what=tag + s.what) for s in order if s is not None]
        outcome, reason = self.arrive(ip, tp, proto, ok)
        bypass = self._reply_bypass(src, node, ep_node, seen, saddr)
        if outcome == CONNECTED and bypass:
            outcome, reason = TIMEOUT, bypass
        block.append(Step(who, f"{tag}{'receives' if ok else 'never sees'} the connection"
                               + (f" from {seen}" if ok else ""), reason, ""))
        p.steps += block
        p.candidates.append(Candidate(ip, tp, f"{pod.namespace}/{pod.name}" if pod else None, ep_node, seen,
                                      outcome, reason))

    def _reply_bypass(self, src: Source, node: NodeNet, ep_node: str, seen: str, saddr: str) -> str | None:
        """Why the answer never reaches the client, if it goes around the node that DNATed: a pod of another
        node, not masqueraded (an externalTrafficPolicy Local NodePort short-circuits pod traffic, as in
        kube-proxy), and an endpoint elsewhere. The endpoint answers the pod directly, so the reply misses
        `node`'s conntrack entry, is never un-DNATed and does not match the client's connection."""
        pod = self.pod(src.name) if src.kind == "pod" else None
        if pod is None or pod.node == node.name or seen != saddr or ep_node == node.name:
            return None
        return (f"the reply goes from {ep_node} straight to {saddr} on {pod.node}, not back through {node.name} "
                "where the DNAT is (no SNAT): it is never un-DNATed, so the client does not accept it and "
                "times out")

    def arrive(self, ip: str, port: int, proto: str, allowed: bool) -> tuple[str, str]:
        if not allowed:
            return TIMEOUT, "NetworkPolicy drops it: no reply, the client times out"
        pod = self.policy_pods.get(ip)
        if pod is not None and pod.ports and not any(n == port and pr.upper() == proto.upper()
                                                     for _, n, pr in pod.ports):
            declared = ", ".join(f"{n}/{pr}" for _, n, pr in pod.ports)
            return REFUSED, f"nothing is declared on {port}/{proto} in the pod (declared: {declared}): refused"
        return CONNECTED, f"{port}/{proto} is open in the pod: the connection is answered"

    def conclude(self, p: Plan) -> None:
        outcomes = {c.outcome for c in p.candidates}
        if len(outcomes) == 1:
            p.outcome = outcomes.pop()
            p.reason = p.candidates[0].reason if len(p.candidates) == 1 else \
                f"every endpoint: {p.candidates[0].reason}"
        else:
            p.outcome = MIXED
            p.reason = "; ".join(f"{c.ip}: {c.outcome}" for c in p.candidates)

    def service_named(self, node: NodeNet, ip: str, port: int, proto: str) -> ResolvedService | None:
        """Which service a rejected destination names (the reject maps carry no names)."""
        for svc in self.services:
            for sp in svc.ports:
                if sp.protocol.lower() != proto:
                    continue
                if sp.port == port and ip in (*svc.cluster_ips(), svc.load_balancer_ip):
                    return svc
                if ip in (node.underlay_ip, node.underlay_ip6) and sp.node_port == port:
                    return svc
        return None

    def direct(self, p: Plan, src: Source, node: NodeNet, saddr: str, first: Packet) -> Plan:
        """No service rule touched the packet: delivered to the node itself, or routed to a pod."""
        ip, port, proto = p.dst_ip, p.dport, p.proto
        if self.node_by_ip(ip) is not None and self.node_by_ip(ip).name == node.name:
            p.steps.append(Step(node.name, f"delivered to {node.name} itself (no NodePort {port}/{proto})",
                                "no service matches; the node's own sockets answer", "local"))
            p.outcome, p.reason = REFUSED, f"no NodePort {port}/{proto} on {node.name} and nothing listens there"
            p.candidates.append(Candidate(ip, port, None, node.name, saddr, REFUSED, p.reason))
            return p
        owner = self.node_of_pod_ip(ip)
        if owner is None and self.node_by_ip(ip) is None and \
                ipaddress.ip_address(ip) not in ipaddress.ip_network(self.service_cidr):
            if self.v6:
                return no_ipv6_route(node, self.service_cidr, p)
            ok, egress_policy, _ingress = self.policy_steps(src, ip, port, proto, saddr, None)
            p.steps += egress_policy
            if not ok:
                p.outcome, p.reason = TIMEOUT, "NetworkPolicy drops it: no reply, the client times out"
                return p
            return outside(self.topo, self.rules(node.name), node, saddr, p)
        if owner is None:
            route, _dev, _s, _n = self.route_from_node(node, ip)
            p.steps.append(Step(node.name, f"routes {ip}: {route}", "no netlab rule matches", route))
            p.outcome, p.reason = TIMEOUT, f"nothing in the cluster answers {ip}"
            return p
        chain_in = self._chain_in(first, NAT_PRE)
        p.steps.append(Step(node.name, f"no service matches {ip}:{port}/{proto}: no DNAT",
                            f"{NAT_PRE} -> {SERVICES}: no element of @{SERVICE_IPS}{self._sets()} or "
                            f"@{NODEPORTS}{self._sets()} "
                            "matches, the packet goes on unchanged", f"{chain_in} -> {SERVICES}"))
        route, arrive_step, last = self.hop_steps(node, ip)
        if last.name != node.name:
            p.trace_points.append(TracePoint(last.name, "prerouting", saddr, ip, port))
        ok, egress, ingress = self.policy_steps(src, ip, port, proto, saddr, None)
        p.steps += [s for s in (route, *egress, arrive_step, *ingress) if s is not None]
        pod = self.pod_by_ip(ip)
        who = display(pod.namespace, pod.name) if pod else ip
        outcome, reason = self.arrive(ip, port, proto, ok)
        p.steps.append(Step(who, f"{'receives' if ok else 'never sees'} the connection"
                                 + (f" from {saddr}" if ok else ""), reason, ""))
        p.candidates.append(Candidate(ip, port, f"{pod.namespace}/{pod.name}" if pod else None, owner.name, saddr,
                                      outcome, reason))
        self.conclude(p)
        return p
