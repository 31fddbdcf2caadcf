"""A connection leaving the cluster: the node's route out, ip-masq-agent's SNAT, the host's SNAT. Pure.

Whether the node masquerades comes from running its compiled postrouting hook (`nft_eval`); the host's
rule is the fixed one of compile/nft_masquerade.host_ruleset.
"""

from __future__ import annotations

from netlab.compile import names
from netlab.compile.topology import NodeNet, Topology
from netlab.trace.nft_eval import Interpreter, Packet
from netlab.trace.result import CONNECTED, UNREACHABLE, Candidate, Plan, Step

IP_MASQ = names.CHAIN_IP_MASQ_AGENT


def agent_decision(post: Packet) -> tuple[bool, str]:
    """(whether ip-masq-agent masqueraded the packet, why), from its run through postrouting."""
    hit = next((h for h in reversed(post.trail) if h.chain == IP_MASQ), None)
    if hit is None:
        return False, f"{IP_MASQ} did not see it"
    if hit.rule == "masquerade":
        return True, f"{IP_MASQ}: the destination is not in @{names.SET_NO_MASQUERADE}, so `masquerade`"
    if "nfproto ipv6" in hit.rule:
        return False, f"{IP_MASQ} returns IPv6 at once (`{hit.rule}`): pod IPv6 addresses are never masqueraded"
    if names.SET_NO_MASQUERADE in hit.rule:
        return False, f"{IP_MASQ} returns: the destination is in @{names.SET_NO_MASQUERADE}"
    return False, f"{IP_MASQ} returns: the source is not a pod (`{hit.rule}`)"


def egress_steps(topo: Topology, rules: Interpreter, node: NodeNet, saddr: str, p: Plan) -> tuple[list[Step], str]:
    """Steps from the node's routing decision to the host's uplink, and the source the outside sees
    ("" when it is the host's address on an interface netlab does not know)."""
    ip = p.dst_ip
    route = f"default via {topo.host_ip} dev {names.NODE_UPLINK}"
    steps = [Step(node.name, f"routes {ip} out of the cluster: {route}",
                  f"{ip} is in no pod CIDR, the service CIDR or the underlay: the node's default route "
                  f"sends it to the host {topo.host_ip}", route)]
    (post,) = rules.hook("postrouting", Packet(saddr, ip, p.proto, p.dport))
    path = " -> ".join(post.chains())
    by_agent, why = agent_decision(post)
    if post.masquerade and by_agent:
        steps.append(Step(node.name, f"SNAT (masquerade) {saddr} -> {node.underlay_ip}",
                          f"{IP_MASQ}: {ip} is not in @{names.SET_NO_MASQUERADE} (the cluster's CIDRs and "
                          f"nonMasqueradeCIDRs), so `masquerade` rewrites the source to {names.NODE_UPLINK}'s "
                          f"address {node.underlay_ip}", path))
        seen_by_host = node.underlay_ip
    else:
        steps.append(Step(node.name, f"no SNAT: {IP_MASQ} returns, the packet keeps {saddr}", why, path))
        seen_by_host = saddr
    underlay = f"{topo.host_ip}/{topo.underlay_prefix}"
    if seen_by_host == node.underlay_ip:
        seen = ""  # the host's address on the interface its own routes pick: not netlab's to know
        steps.append(Step("host", f"SNAT (masquerade) {seen_by_host} -> the address of the host's outgoing "
                                  "interface",
                          f"the host forwards it by its own routes; {names.host_nft_table(topo.cluster)}'s "
                          f"{names.CHAIN_NAT_POSTROUTING}: the source is in the underlay {underlay} and it "
                          f"leaves by another interface than {topo.bridge}, so it is masqueraded",
                          f"table inet {names.host_nft_table(topo.cluster)} {names.CHAIN_NAT_POSTROUTING}"))
    else:
        seen = saddr
        steps.append(Step("host", f"forwards it by its own routes with source {saddr} (no SNAT)",
                          f"the host masquerades only sources in the underlay {underlay}; replies to "
                          f"{saddr} come back through the host's route to {node.pod_cidr}", "host routes"))
    return steps, seen


def outside(topo: Topology, rules: Interpreter, node: NodeNet, saddr: str, p: Plan) -> Plan:
    steps, seen = egress_steps(topo, rules, node, saddr, p)
    p.steps += steps
    p.outcome = CONNECTED
    p.reason = f"{p.dst_ip} is outside the cluster: the connection leaves through the host and succeeds " \
               "if something there answers"
    p.candidates.append(Candidate(p.dst_ip, p.dport, None, None, seen, CONNECTED, p.reason))
    return p


def no_ipv6_route(node: NodeNet, service_cidr6: str, p: Plan) -> Plan:
    """An IPv6 packet to an address outside the cluster: the nodes have no IPv6 default route."""
    p.steps.append(Step(node.name, f"has no route to {p.dst_ip}",
                        f"the nodes route IPv6 only inside the cluster (pod CIDRs, {service_cidr6}, the "
                        "underlay): there is no IPv6 default route, so IPv6 does not leave the cluster",
                        "no IPv6 route"))
    p.outcome, p.reason = UNREACHABLE, f"no IPv6 route from {node.name} to {p.dst_ip}"
    return p
