"""`log group` statements on the verdict rules of a node's table, only while someone observes. Pure.

`netlab observe` reads them as NFLOG messages. With nobody observing the compiled ruleset is exactly
what it is without this module; while an observer is attached every rule that decides a new
connection's fate gains `log prefix "<rule#>:<chain>" group <NFLOG_GROUP>` before its verdict:

- `endpoint-...` chains: the DNAT to one endpoint (nat prerouting/output, first packet of a flow);
- `reject-chain` and `cluster-ips-check`: a Service without endpoints, a ClusterIP port nobody serves;
- `no-local-endpoints`: internalTrafficPolicy Local on a node without an endpoint of the Service;
- `external-...` / `firewall-...` drops: externalTrafficPolicy Local without a local endpoint,
  loadBalancerSourceRanges;
- every rule of the `ingress-...` / `egress-...` pod chains: allowed by a policy rule, or the final
  drop of an isolated pod;
- two rules appended to `filter-forward-policy`: a new connection delivered to a pod of this node, or
  leaving the pod network, that no policy chain decided (forwarded, no pod isolated).

The prefix names the rule (its index and chain), so the observer finds the rule's note (which
policy rule it is) in the compiled ruleset the API serves. Nothing else about the rules changes.
"""

from __future__ import annotations

from netlab.compile import names
from netlab.compile.nftables import Chain, Ruleset

NFLOG_GROUP = names.NFLOG_GROUP
PREFIX_MAX = 127  # NF_LOG_PREFIXLEN - 1
_LOGGED_KINDS = ("endpoint-", "ingress-", "egress-")
_VERDICT_WORDS = ("accept", "drop", "return", "reject")


def prefix(chain: str, index: int) -> str:
    """`<rule#>:<chain>`; a long chain name is cut, its leading `<kind>-<hash8>-` keeps it unique."""
    return f"{index}:{chain}"[:PREFIX_MAX]


def parse_prefix(text: str) -> tuple[str, int] | None:
    """(chain or its cut start, rule index) from a prefix; None for a prefix that is not netlab's."""
    index, sep, chain = text.partition(":")
    if not sep or not index.isdigit() or not chain:
        return None
    return chain, int(index)


def find_chain(ruleset: Ruleset, cut: str) -> Chain | None:
    """The chain a (possibly cut) prefix names."""
    if cut in ruleset.chains:
        return ruleset.chains[cut]
    if len(cut) < PREFIX_MAX - 2:
        return None
    hits = [c for n, c in ruleset.chains.items() if n.startswith(cut)]
    return hits[0] if len(hits) == 1 else None


def _log(chain: str, index: int) -> str:
    return f'log prefix "{prefix(chain, index)}" group {NFLOG_GROUP}'


def _with(rule: str, statement: str) -> str:
    """The rule with `statement` before its verdict (or before its dnat); others unchanged."""
    head, sep, dnat = rule.partition(" dnat ")
    if sep:
        return f"{head} {statement} dnat {dnat}"
    words = rule.split()
    if words[-1] in _VERDICT_WORDS:
        return " ".join([*words[:-1], statement, words[-1]])
    return rule


def _with_log(rule: str, chain: str, index: int) -> str:
    return _with(rule, _log(chain, index))


def counted(ruleset: Ruleset) -> Ruleset:
    """Every rule of the pod policy chains and every endpoint chain's DNAT with a `counter` (always on:
    `describe networkpolicy` / `describe svc` read them): per policy rule and pod the packets allowed
    and, on the final drop, dropped; per endpoint the new connections DNATed to it. Policy chains only
    see packets of connections not yet established, so both count connection attempts."""
    out = Ruleset(table=ruleset.table, sets=dict(ruleset.sets))
    for name, chain in ruleset.chains.items():
        if name.startswith(_LOGGED_KINDS):
            chain = Chain(name, tuple(_with(r, "counter") for r in chain.rules), chain.hook, chain.comment,
                          chain.notes)
        out.chains[name] = chain
    return out


def _logged(chain: Chain) -> bool:
    if chain.name.startswith(_LOGGED_KINDS) or chain.name in (names.CHAIN_REJECT, names.CHAIN_CLUSTER_IPS_CHECK,
                                                              names.CHAIN_NO_LOCAL_ENDPOINTS):
        return True
    return chain.name.startswith(("external-", "firewall-"))


def instrument(ruleset: Ruleset, node_pod_cidr: str, cluster_cidr: str, node_pod_cidr6: str = "",
               cluster_cidr6: str = "") -> Ruleset:
    """A copy of the node's ruleset with the log statements described above (the two appended to
    `filter-forward-policy` once per family the cluster has)."""
    out = Ruleset(table=ruleset.table, sets=dict(ruleset.sets))
    for name, chain in ruleset.chains.items():
        rules = chain.rules
        notes = chain.notes
        if _logged(chain):
            only_drops = name.startswith(("external-", "firewall-"))
            rules = tuple(r if only_drops and r != "drop" else _with_log(r, name, i) for i, r in enumerate(rules))
        elif name == names.CHAIN_POLICY:
            n = len(rules)
            cidrs = [("ip", node_pod_cidr, cluster_cidr)]
            if node_pod_cidr6 and cluster_cidr6:
                cidrs.append(("ip6", node_pod_cidr6, cluster_cidr6))
            added = [rule for i, (match, node_cidr, cluster) in enumerate(cidrs)
                     for rule in (f"ct state new {match} daddr {node_cidr} {_log(name, n + 2 * i)}",
                                  f"ct state new {match} daddr != {cluster} {_log(name, n + 2 * i + 1)}")]
            rules = (*rules, *added)
            notes = (*notes, *[""] * (n - len(notes)),
                     *["delivered: the destination pod is not isolated for ingress", "leaves the pod network"]
                     * len(cidrs))
        out.chains[name] = Chain(name, rules, chain.hook, chain.comment, notes)
    return out
