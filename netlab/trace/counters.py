"""Per-rule nft counters in Kubernetes terms, for `describe networkpolicy` and `describe svc`. Pure.

The counters are the ones compile.nft_observe.counted puts on every pod policy rule and every endpoint
chain's DNAT; `kernel.nft.counters` reads them per node as chain -> [(packets, bytes) per rule]. A rule's
note (compile.nft_policy) says which policy rule it is; the endpoint chains' names which endpoint.
"""

from __future__ import annotations

from collections.abc import Mapping

from netlab.compile import nft_services
from netlab.compile.nftables import Ruleset
from netlab.compile.services import ResolvedService, serving_endpoints

Counts = Mapping[str, list[tuple[int, int] | None]]  # chain -> per rule


def _count(counts: Counts, chain: str, index: int) -> tuple[int, int] | None:
    rules = counts.get(chain) or []
    return rules[index] if index < len(rules) else None


def policy_rows(policy_key: str, rulesets: Mapping[str, Ruleset], counts: Mapping[str, Counts]) -> list[dict]:
    """One row per (node, pod, policy rule) of `policy_key`, and per pod it isolates its final drop."""
    rows = []
    for node, rs in sorted(rulesets.items()):
        for name, chain in sorted(rs.chains.items()):
            direction, _, rest = name.partition("-")
            if direction not in ("ingress", "egress") or len(chain.notes) != len(chain.rules):
                continue
            pod = rest.partition("-")[2]
            for i, note in enumerate(chain.notes):
                last = i == len(chain.rules) - 1
                if last and policy_key in note.removeprefix("isolated by ").split(", "):
                    what, verdict = f"{direction} default deny (isolated by {note.removeprefix('isolated by ')})", \
                        "dropped"
                elif not last and note.startswith(f"{policy_key} {direction} rule "):
                    what, verdict = note.removeprefix(f"{policy_key} "), "allowed"
                else:
                    continue
                c = _count(counts.get(node, {}), name, i)
                if c is not None:
                    rows.append({"node": node, "pod": pod, "rule": what, "verdict": verdict,
                                 "packets": c[0], "bytes": c[1]})
    return rows


def service_rows(svc: ResolvedService, counts: Mapping[str, Counts]) -> list[dict]:
    """New connections DNATed to each endpoint of each port, summed over the nodes that DNAT."""
    rows = []
    for port in svc.ports:
        for ep in serving_endpoints(svc, port):
            chain = nft_services.endpoint_chain(svc, port, ep.ip)
            total = [0, 0]
            for node_counts in counts.values():
                rules = node_counts.get(chain) or []
                c = rules[-1] if rules else None
                if c is not None:
                    total[0] += c[0]
                    total[1] += c[1]
            rows.append({"port": port.name or str(port.port), "protocol": port.protocol,
                         "endpoint": f"{ep.ip}:{port.target[ep.ip]}", "pod": ep.pod or "",
                         "connections": total[0], "bytes": total[1]})
    return rows
