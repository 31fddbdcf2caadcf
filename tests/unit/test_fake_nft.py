"""The renderers' transactions, applied by a fake `nft -f` that refuses what the kernel refuses.

A full render then diffs must leave the same table as a full render of the last state, and the
tracer must read the same answers from that applied table as from the compiled one.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from netlab.compile.nftables import Chain, Ruleset, SetOrMap, render_diff, render_full
from netlab.trace.model import PolicyInputs, node_rulesets
from netlab.trace.nft_eval import Interpreter, Packet
from tests.unit.fake_nft import FakeNft, NftError
from tests.unit.test_trace_model import world

TOPO, SVCS, PI = world()
SECOND = {**PI.policies[0], "metadata": {"name": "second", "namespace": "default"}}
EGRESS = {"metadata": {"name": "eg", "namespace": "default"},
          "spec": {"podSelector": {"matchLabels": {"app": "web"}}, "policyTypes": ["Egress"],
                   "egress": [{"to": [{"ipBlock": {"cidr": "10.244.2.0/24", "except": ["10.244.2.2/32"]}}],
                               "ports": [{"port": 3000, "endPort": 3005}]}]}}


def rulesets(svcs=SVCS, policies=PI.policies) -> dict[str, Ruleset]:
    return node_rulesets(TOPO, svcs, PolicyInputs(PI.pods, PI.namespaces, tuple(policies)), "10.244.0.0/16")


STATES = {
    "start": rulesets(),
    "service-gone": rulesets(SVCS[:2]),
    "endpoint-gone": rulesets([replace(SVCS[0], endpoints=SVCS[0].endpoints[:1])] + SVCS[1:]),
    "no-endpoints": rulesets([replace(s, endpoints=()) for s in SVCS]),
    "local": rulesets([replace(s, external_local=True) for s in SVCS]),
    "affinity": rulesets([replace(s, affinity_timeout=60) for s in SVCS]),
    "no-policy": rulesets(policies=()),
    "two-policies": rulesets(policies=(*PI.policies, SECOND, EGRESS)),
    "empty": rulesets([], ()),
}


def _semantic(snapshot: dict) -> dict:
    """Without comments: a diff never rewrites a chain's comment (see test_chain_comments_go_stale)."""
    strip = __import__("re").compile(r'\s*comment "[^"]*";\s*')
    return {"sets": {n: (k, strip.sub(" ", b).strip(), e) for n, (k, b, e) in snapshot["sets"].items()},
            "chains": {n: (strip.sub(" ", b).strip(), r) for n, (b, r) in snapshot["chains"].items()}}


@pytest.mark.parametrize("path", [
    ["start", "service-gone", "start"],
    ["start", "endpoint-gone", "no-endpoints", "start"],
    ["start", "local", "start", "affinity", "start"],
    ["start", "no-policy", "two-policies", "start"],
    ["start", "empty", "two-policies", "affinity", "no-endpoints"],
])
def test_full_then_diffs_equal_a_full_render(path) -> None:
    for node in [n.name for n in TOPO.nodes]:
        fake = FakeNft()
        fake.apply(render_full(STATES[path[0]][node]))
        for old, new in zip(path, path[1:], strict=False):
            fake.apply(render_diff(STATES[old][node], STATES[new][node]))
            fresh = FakeNft()
            fresh.apply(render_full(STATES[new][node]))
            assert _semantic(fake.snapshot()) == _semantic(fresh.snapshot()), (node, old, new)


def test_no_change_is_an_empty_transaction() -> None:
    for node, rs in STATES["start"].items():
        assert render_diff(rs, rulesets()[node]) == ""


def test_the_tracer_reads_the_applied_table_like_the_compiled_one() -> None:
    fake = FakeNft()
    fake.apply(render_full(STATES["start"]["lab-worker"]))
    fake.apply(render_diff(STATES["start"]["lab-worker"], STATES["two-policies"]["lab-worker"]))
    compiled, applied = Interpreter(STATES["two-policies"]["lab-worker"]), Interpreter(fake.ruleset())
    for hook, pkt in (("prerouting", Packet("10.244.1.2", "10.96.100.1", "tcp", 80)),
                      ("prerouting", Packet("10.244.1.2", "10.96.100.2", "tcp", 80)),
                      ("forward", Packet("10.244.1.2", "10.244.2.3", "tcp", 3000)),
                      ("forward", Packet("10.244.1.2", "10.244.2.2", "tcp", 3000)),
                      ("forward", Packet("10.244.1.2", "10.244.2.3", "tcp", 3006))):
        want = [(p.verdict, p.dnat, p.chains()) for p in compiled.hook(hook, pkt)]
        assert [(p.verdict, p.dnat, p.chains()) for p in applied.hook(hook, pkt)] == want, (hook, pkt)
    assert [p.verdict for p in applied.hook("forward", Packet("10.244.1.2", "10.244.2.2", "tcp", 3000))] == ["drop"]


def test_changing_the_affinity_timeout() -> None:
    """A set whose declaration changes is deleted and declared again once no rule uses it (EBUSY otherwise)."""
    longer = rulesets([replace(s, affinity_timeout=120) for s in SVCS])
    fake = FakeNft()
    fake.apply(render_full(STATES["affinity"]["lab-worker"]))
    fake.apply(render_diff(STATES["affinity"]["lab-worker"], longer["lab-worker"]))
    fresh = FakeNft()
    fresh.apply(render_full(longer["lab-worker"]))
    assert fake.snapshot() == fresh.snapshot()


def test_chain_comments_stay_true_across_a_diff() -> None:
    """The kernel keeps a chain's first comment, so a kept chain's comment must not carry what changes."""
    fake = FakeNft()
    fake.apply(render_full(STATES["start"]["lab-worker2"]))
    fake.apply(render_diff(STATES["start"]["lab-worker2"], STATES["two-policies"]["lab-worker2"]))
    fresh = FakeNft()
    fresh.apply(render_full(STATES["two-policies"]["lab-worker2"]))
    assert fake.snapshot() == fresh.snapshot()


# ----- what the fake refuses -----

BASE = "add table inet netlab\nadd chain inet netlab a { }\nadd chain inet netlab b { }\n" \
       "add set inet netlab s { type ipv4_addr; }\nadd rule inet netlab a ip daddr @s jump b\n"


@pytest.mark.parametrize(("text", "error"), [
    ("add rule inet netlab a jump nowhere", "chain nowhere"),
    ("add rule inet netlab a goto nowhere", "chain nowhere"),
    ("add rule inet netlab a ip saddr @nope accept", "set @nope"),
    ("add rule inet netlab nochain accept", "chain nochain"),
    ("add rule inet netlab a ip daddr 1.2.3.4 limit rate 1/second accept", "cannot interpret"),
    ("delete chain inet netlab b", "busy"),
    ("flush chain inet netlab a\ndelete chain inet netlab a", "busy"),  # empty, but chain c still jumps to it
    ("delete set inet netlab s", "busy"),
    ("delete element inet netlab s { 10.0.0.1 }", "element"),
    ("add element inet netlab s { 10.0.0.0/8 }", "interval"),
    ("add element inet netlab s { 10.0.0.1 : goto b }", "does not fit"),
    ("add map inet netlab m { type ipv4_addr : verdict; }\nadd element inet netlab m { 10.0.0.1 : goto x }",
     "chain x"),
    ("add chain inet netlab c { type nat hook prerouting priority banana; policy accept; }", "priority"),
    ("frobnicate inet netlab", "syntax error"),
])
def test_refused(text, error) -> None:
    fake = FakeNft()
    fake.apply(BASE)
    before = fake.snapshot()
    if "delete chain inet netlab a" in text:
        fake.apply("add chain inet netlab c { }\nadd rule inet netlab c jump a\n")
        before = fake.snapshot()
    with pytest.raises(NftError, match=error):
        fake.apply(text)
    assert fake.snapshot() == before, "a refused transaction changes nothing"


def test_order_inside_a_transaction_matters() -> None:
    fake = FakeNft()
    fake.apply(BASE)
    fake.apply("flush chain inet netlab a\ndelete chain inet netlab b\ndelete set inet netlab s\n")
    assert fake.snapshot() == {"sets": {}, "chains": {"a": ("", ())}}
    with pytest.raises(NftError):
        fake.apply("add rule inet netlab a jump c\nadd chain inet netlab c { }\n")  # used before it exists


def test_ruleset_round_trip() -> None:
    rs = Ruleset()
    rs.add_set(SetOrMap("m", "type ipv4_addr : verdict;", frozenset({"10.0.0.1 : goto c"}), comment="x"))
    rs.add_chain(Chain("c", ("accept",)))
    rs.add_chain(Chain("base", ("ip daddr vmap @m",), "type filter hook forward priority filter; policy drop;",
                       comment="the base"))
    fake = FakeNft()
    fake.apply(render_full(rs))
    back = fake.ruleset()
    assert back.chains == {n: Chain(n, c.rules, c.hook) for n, c in rs.chains.items()}
    assert {n: (s.declaration, s.elements) for n, s in back.sets.items()} == {"m": ("type ipv4_addr : verdict;",
                                                                                     rs.sets["m"].elements)}


@pytest.mark.parametrize("state", sorted(STATES))
def test_every_compiled_rule_is_understood(state) -> None:
    for rs in STATES[state].values():
        Interpreter(rs).check()
