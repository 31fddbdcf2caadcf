"""NetworkPolicy in a trace: what the compiled forward chain of a node does to the packet. Pure.

Each side is read from the node's `filter-forward-policy` chain: its dispatch map sends an isolated
pod to the pod's chain, the rule that matches there (or the final `drop`) decides, and the chain's
notes say which policy rule that is.
"""

from __future__ import annotations

from netlab.compile.names import CHAIN_POLICY as POLICY_CHAIN
from netlab.compile.names import SET_POLICY_EGRESS as EGRESS_MAP
from netlab.compile.names import SET_POLICY_INGRESS as INGRESS_MAP
from netlab.compile.netpol import EGRESS, INGRESS, PolicyPod
from netlab.trace.nft_eval import DROP, NftSyntaxError, Packet
from netlab.trace.places import Places
from netlab.trace.result import Source, Step, display, hostport


def _rule_name(note: str) -> str:
    """`default/web ingress rule 0` -> `default/web rule 0`."""
    key, _direction, rule, index = note.rsplit(" ", 3)
    return f"{key} {rule} {index}"


class PolicyWalk(Places):
    def _peer_text(self, ip: str) -> str:
        p = self.policy_pods.get(ip)
        return f"{ip} ({display(p.namespace, p.name)})" if p else ip

    def _pod_chain_run(self, node: str, direction: str, pkt: Packet) -> tuple[str | None, int, str]:
        """(the pod chain the dispatch map jumped to or None, the deciding rule's index, its verdict)."""
        it = self.rules(node)
        vmap = EGRESS_MAP if direction == EGRESS else INGRESS_MAP
        vmap += "6" if self.v6 else ""  # policy-ingress-pods6: the same pod chains, by IPv6 address
        # (the IPv4 rules come first, so `in` finds the IPv4 dispatch for an IPv4 packet)
        base = it.ruleset.chains[POLICY_CHAIN].rules
        start = next((i for i, r in enumerate(base) if f"vmap @{vmap}" in r), None)
        if start is None:
            raise NftSyntaxError(f"{POLICY_CHAIN} has no dispatch through @{vmap}")
        (out, *_rest) = it.chain(POLICY_CHAIN, pkt, start)
        entered = [h for h in out.trail if h.chain == POLICY_CHAIN and h.index == start]
        if not entered:
            return None, -1, "continue"
        chain = entered[0].verdict.split(None, 1)[1]
        last = [h for h in out.trail if h.chain == chain][-1]
        return chain, last.index, last.verdict

    def policy_side(self, direction: str, pod: PolicyPod, peer_ip: str, dst_pod: PolicyPod | None, port: int,
                    proto: str, node: str) -> tuple[bool, Step]:
        who = display(pod.namespace, pod.name)
        label = direction.lower()
        to = hostport(self.pod_ip(dst_pod), port) if dst_pod else f"?:{port}"
        conn = (f"{self._peer_text(peer_ip)} -> {to}/{proto.upper()}" if direction == INGRESS
                else f"-> {self._peer_text(peer_ip)}:{port}/{proto.upper()}")
        pkt = Packet(self.pod_ip(pod), peer_ip, proto.lower(), port) if direction == EGRESS else \
            Packet(peer_ip, self.pod_ip(pod), proto.lower(), port)
        chain, index, verdict = self._pod_chain_run(node, direction, pkt)
        if chain is None:
            vmap = (EGRESS_MAP if direction == EGRESS else INGRESS_MAP) + ("6" if self.v6 else "")
            return True, Step(node, f"{label} of {who}: no policy selects this pod: open",
                              f"no NetworkPolicy of type {direction} selects {pod.key}: open ({conn})",
                              f"{POLICY_CHAIN}: {self.pod_ip(pod)} not in @{vmap}")
        compiled = self.rules(node).ruleset.chains[chain]
        notes = compiled.notes if len(compiled.notes) == len(compiled.rules) else ()
        keys = notes[-1].removeprefix("isolated by ") if notes else f"the policies of {chain}"
        if verdict != DROP:
            what = _rule_name(notes[index]) if notes else f"rule {index} of {chain}"
            return True, Step(node, f"{label} of {who}: allowed by {what}",
                              f"{who} is isolated for {label} by {keys}; {notes[index] if notes else what} "
                              f"allows {conn}", chain)
        return False, Step(node, f"{label} of {who}: DENIED by {keys}",
                           f"{who} is isolated for {label} by {keys} and no {label} rule of them allows {conn}: "
                           f"the chain ends in `drop` (no reply, the client times out)", chain)

    def policy_steps(self, src: Source, dst_ip: str, dport: int, proto: str, seen_src: str,
                     dnat_node: str | None) -> tuple[bool, list[Step], list[Step]]:
        """Egress of the source pod (checked on its node) and ingress of the destination pod (on its node)."""
        steps: list[Step] = []
        ingress: list[Step] = []
        ok = True
        dst_pod = self.policy_pods.get(dst_ip)
        src_pod = self.policy_pods.get(src.ip) if src.kind == "pod" else None
        if src_pod is not None and dst_pod is not None and src_pod.key == dst_pod.key:
            return True, [Step(display(src_pod.namespace, src_pod.name), "a pod reaching itself: always allowed",
                               "NetworkPolicy never filters a pod's traffic to itself", "")], []
        if src_pod is not None:
            own = self.node_ip(self.topo.node(src_pod.node)) if dst_pod is None else None
            if own == dst_ip:
                steps.append(Step(src_pod.node, "egress to its own node: not filtered",
                                  "traffic between a pod and its own node crosses INPUT/OUTPUT, not FORWARD", ""))
            else:
                allowed, step = self.policy_side(EGRESS, src_pod, dst_ip, dst_pod, dport, proto, src_pod.node)
                ok = ok and allowed
                steps.append(step)
        if dst_pod is not None:
            # The forward hook on the endpoint's node sees the source as it arrives there: masquerade on
            # another node has already rewritten it; on the same node, postrouting has not run yet.
            peer = src.ip if dnat_node in (None, dst_pod.node) else seen_src
            if src.kind == "node" and src.node == dst_pod.node and dnat_node in (None, dst_pod.node):
                ingress.append(Step(dst_pod.node, f"ingress of {display(dst_pod.namespace, dst_pod.name)} from its "
                                  "own node: not filtered",
                                  "traffic between a pod and its own node crosses INPUT/OUTPUT, not FORWARD", ""))
            else:
                allowed, step = self.policy_side(INGRESS, dst_pod, peer, dst_pod, dport, proto, dst_pod.node)
                ok = ok and allowed
                ingress.append(step)
        return ok, steps, ingress
