"""trace.counters: nft counters of the pod policy chains and endpoint chains in Kubernetes terms (pure)."""

from __future__ import annotations

from netlab.compile import nft_services
from netlab.compile.desired import node_rulesets
from netlab.trace.counters import policy_rows, service_rows
from tests.unit.test_trace_model import world

TOPO, SVCS, PI = world()
RULESETS = node_rulesets(TOPO, SVCS, PI, "10.244.0.0/16")


def test_every_policy_rule_and_endpoint_dnat_has_a_counter() -> None:
    rs = RULESETS["lab-worker2"]
    ingress = next(c for n, c in rs.chains.items() if n.startswith("ingress-"))
    assert all(" counter " in f" {r} " for r in ingress.rules)
    endpoint = next(c for n, c in rs.chains.items() if n.startswith("endpoint-"))
    assert " counter dnat ip to " in endpoint.rules[-1]


def test_policy_rows_name_the_rule_pod_and_verdict() -> None:
    chain = next(n for n in RULESETS["lab-worker2"].chains if n.startswith("ingress-"))
    counts = {"lab-worker2": {chain: [(3, 180), (5, 300)]}, "lab-worker": {}}
    assert policy_rows("default/api-allow-web", RULESETS, counts) == [
        {"node": "lab-worker2", "pod": "default/api", "rule": "ingress rule 0", "verdict": "allowed",
         "packets": 3, "bytes": 180},
        {"node": "lab-worker2", "pod": "default/api",
         "rule": "ingress default deny (isolated by default/api-allow-web)", "verdict": "dropped",
         "packets": 5, "bytes": 300}]
    assert policy_rows("default/other", RULESETS, counts) == []


def test_service_rows_sum_the_nodes_per_endpoint() -> None:
    svc = SVCS[0]
    port = svc.ports[0]
    b, c = (nft_services.endpoint_chain(svc, port, ip) for ip in ("10.244.1.3", "10.244.2.2"))
    counts = {"lab-worker": {b: [None, (2, 120)], c: [None, (1, 60)]}, "lab-worker2": {b: [None, (4, 240)]}}
    rows = service_rows(svc, counts)
    assert [(r["endpoint"], r["pod"], r["connections"]) for r in rows] == [("10.244.1.3:3000", "pod-b", 6),
                                                                          ("10.244.2.2:3000", "pod-c", 1)]
