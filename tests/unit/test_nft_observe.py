"""compile.nft_observe: log statements on the verdict rules only while observing, nothing else changed."""

from __future__ import annotations

import pytest

from netlab.compile import names
from netlab.compile.desired import node_rulesets
from netlab.compile.nft_observe import NFLOG_GROUP, PREFIX_MAX, find_chain, parse_prefix, prefix
from netlab.compile.nftables import Chain, Ruleset, render_diff, render_full
from netlab.trace.model import PolicyInputs
from netlab.trace.nft_eval import Interpreter, Packet
from tests.unit.fake_nft import FakeNft
from tests.unit.test_trace_model import world

TOPO, SVCS, PI = world()
EGRESS = {"metadata": {"name": "eg", "namespace": "default"},
          "spec": {"podSelector": {"matchLabels": {"app": "web"}}, "policyTypes": ["Egress"],
                   "egress": [{"to": [{"ipBlock": {"cidr": "10.244.2.0/24"}}], "ports": [{"port": 3000}]}]}}
POLICY = PolicyInputs(PI.pods, PI.namespaces, (*PI.policies, EGRESS))


def _tables(observing: bool) -> dict[str, Ruleset]:
    return node_rulesets(TOPO, SVCS, POLICY, "10.244.0.0/16", observing=observing)


def _text(rs: Ruleset) -> str:
    return render_full(rs)


def test_nobody_observing_means_no_log_statement() -> None:
    for rs in _tables(False).values():
        assert " log " not in _text(rs)


def test_observing_logs_every_verdict_rule_and_changes_nothing_else() -> None:
    plain, logged = _tables(False)["lab-worker2"], _tables(True)["lab-worker2"]
    assert logged.sets == plain.sets and logged.chains.keys() == plain.chains.keys()
    log = f"group {NFLOG_GROUP}"
    ingress = next(c for n, c in logged.chains.items() if n.startswith("ingress-"))
    assert all(log in r for r in ingress.rules) and ingress.rules[-1].endswith(f"{log} drop")
    assert ingress.notes == plain.chains[ingress.name].notes
    endpoint = next(c for n, c in logged.chains.items() if n.startswith("endpoint-"))
    assert f'log prefix "{len(endpoint.rules) - 1}:{endpoint.name}" {log} dnat ip to ' in endpoint.rules[-1]
    assert logged.chains[names.CHAIN_REJECT].rules == (f'log prefix "0:{names.CHAIN_REJECT}" {log} reject',)
    policy = logged.chains[names.CHAIN_POLICY]
    assert policy.rules[:-2] == plain.chains[names.CHAIN_POLICY].rules
    assert policy.rules[-2] == f'ct state new ip daddr 10.244.2.0/24 log prefix "4:{names.CHAIN_POLICY}" {log}'
    assert policy.notes[-2:] == ("delivered: the destination pod is not isolated for ingress", "leaves the pod network")
    for name in (names.CHAIN_SERVICES, names.CHAIN_NAT_PREROUTING, names.CHAIN_MASQUERADING):
        assert logged.chains[name] == plain.chains[name]
    egress = next(c for n, c in _tables(True)["lab-worker"].chains.items() if n.startswith("egress-"))
    assert egress.rules[0].endswith(f"{log} return")


@pytest.mark.parametrize(("node", "hook", "pkt"), [
    ("lab-worker", "prerouting", Packet("10.244.1.2", "10.96.100.1", "tcp", 80)),
    ("lab-worker", "prerouting", Packet("10.244.1.2", "10.96.100.2", "tcp", 80)),
    ("lab-worker", "prerouting", Packet("10.244.1.2", "10.96.100.1", "tcp", 81)),
    ("lab-worker2", "forward", Packet("10.244.1.2", "10.244.2.3", "tcp", 3000)),
    ("lab-worker2", "forward", Packet("10.244.1.3", "10.244.2.3", "tcp", 3000)),
    ("lab-worker", "forward", Packet("10.244.1.2", "10.244.2.3", "tcp", 3001)),
])
def test_packets_go_where_they_went_without_the_log_statements(node, hook, pkt) -> None:
    plain, logged = Interpreter(_tables(False)[node]), Interpreter(_tables(True)[node])
    assert ([(p.verdict, p.dnat) for p in logged.hook(hook, pkt)]
            == [(p.verdict, p.dnat) for p in plain.hook(hook, pkt)])


def test_switching_observing_on_and_off_is_a_diff_the_kernel_takes() -> None:
    for node in (n.name for n in TOPO.nodes):
        plain, logged = _tables(False)[node], _tables(True)[node]
        fake = FakeNft()
        fake.apply(render_full(plain))
        fake.apply(render_diff(plain, logged))
        assert " log prefix " in render_full(fake.ruleset())
        fake.apply(render_diff(logged, plain))
        fresh = FakeNft()
        fresh.apply(render_full(plain))
        assert fake.snapshot() == fresh.snapshot()


def test_prefixes_name_the_rule_even_for_long_chain_names() -> None:
    long = "ingress-0123abcd-" + "n" * 63 + "/" + "p" * 63
    rs = Ruleset()
    rs.add_chain(Chain(long, ("drop",)))
    rs.add_chain(Chain("ingress-99999999-x/y", ("drop",)))
    cut = prefix(long, 7)
    assert len(cut) == PREFIX_MAX and cut.startswith("7:ingress-0123abcd-")
    chain, index = parse_prefix(cut)
    assert index == 7 and find_chain(rs, chain).name == long
    assert find_chain(rs, "ingress-99999999-x/y").name == "ingress-99999999-x/y"
    assert find_chain(rs, "ingress-9") is None
    assert parse_prefix("x:y") is None and parse_prefix("no prefix") is None
