"""The nftables side of NetworkPolicy: names, structure, determinism, a small tracer over the compiled
rules checked against `allowed` on the upstream model, and (root + nft only) `nft -c` in a throwaway
network namespace."""

from __future__ import annotations

import ipaddress
import os
import re
import shutil
import subprocess
import uuid

import pytest

from netlab.compile.names import hash8
from netlab.compile.netpol import NS_NAME_LABEL, PolicyNamespace, PolicyPod, allowed
from netlab.compile.nft_policy import BASE_CHAIN, BASE_HOOK, EGRESS_MAP, INGRESS_MAP, policy_ruleset
from netlab.compile.nftables import Ruleset, render_full

NSS = ("x", "y", "z")
PORTS = tuple((f"serve-{n}-{p.lower()}", n, p) for n in (80, 81) for p in ("TCP", "UDP", "SCTP"))
PODS = [PolicyPod(ns, name, f"10.244.{i % 2 + 1}.{10 + i}", f"node{i % 2 + 1}", {"pod": name}, PORTS)
        for i, (ns, name) in enumerate((ns, name) for ns in NSS for name in "abc")]
BY_KEY = {p.key: p for p in PODS}
NAMESPACES = [PolicyNamespace(ns, {"ns": ns, NS_NAME_LABEL: ns}) for ns in NSS]
NODES = ("node1", "node2")


def policy(name: str, ns: str = "x", pod_selector: dict | None = None, **spec) -> dict:
    return {"metadata": {"name": name, "namespace": ns}, "spec": {"podSelector": pod_selector or {}, **spec}}


CASES = {
    "deny-all": [policy("deny-all", policyTypes=["Ingress", "Egress"])],
    "seed-like": [policy("a-from-b", pod_selector={"matchLabels": {"pod": "a"}}, policyTypes=["Ingress"],
                         ingress=[{"from": [{"podSelector": {"matchLabels": {"pod": "b"}}}],
                                   "ports": [{"protocol": "TCP", "port": 80}]}])],
    "mixed": [
        policy("ns-y-81-range", ingress=[{"from": [{"namespaceSelector": {"matchLabels": {"ns": "y"}}}],
                                          "ports": [{"port": 81, "endPort": 90}, {"protocol": "SCTP"}]}]),
        policy("named", pod_selector={"matchLabels": {"pod": "b"}},
               ingress=[{"ports": [{"port": "serve-80-udp", "protocol": "UDP"}]}]),
        policy("egress-except", ns="y", pod_selector={"matchLabels": {"pod": "a"}}, policyTypes=["Egress"],
               egress=[{"to": [{"ipBlock": {"cidr": "10.244.0.0/16", "except": ["10.244.1.0/24"]}}]},
                       {"to": [{"podSelector": {}, "namespaceSelector": {}}], "ports": [{"port": "serve-81-tcp"}]}]),
        policy("z-any", ns="z", ingress=[{"from": []}], egress=[{"to": [{"namespaceSelector": {
            "matchExpressions": [{"key": NS_NAME_LABEL, "operator": "NotIn", "values": ["x"]}]}}]}]),
    ],
}


def rulesets(policies: list[dict]) -> dict[str, Ruleset]:
    return {n: policy_ruleset(n, PODS, NAMESPACES, policies) for n in NODES}


# ------------------------------------------------------------------------------------------- structure


def test_base_chain_and_maps():
    rs = policy_ruleset("node1", PODS, NAMESPACES, [])
    base = rs.chains[BASE_CHAIN]
    assert base.hook == BASE_HOOK
    assert base.rules == ("ct state established,related accept", "ct state invalid drop",
                          f"ip saddr vmap @{EGRESS_MAP}", f"ip daddr vmap @{INGRESS_MAP}")
    assert rs.sets[INGRESS_MAP].elements == frozenset() and rs.sets[EGRESS_MAP].elements == frozenset()
    assert set(rs.chains) == {BASE_CHAIN}


def test_names_and_local_pods_only():
    rs = policy_ruleset("node1", PODS, NAMESPACES, CASES["seed-like"])
    xa = BY_KEY["x/a"]  # node1
    chain = f"ingress-{hash8('x/a')}-x/a"
    assert set(rs.chains) == {BASE_CHAIN, chain}
    assert rs.chains[chain].comment == "ingress x/a"  # stable: the kernel keeps a chain's first comment
    assert rs.chains[chain].notes[-1] == "isolated by x/a-from-b"
    assert rs.chains[chain].rules[-1] == "drop"
    assert rs.sets[INGRESS_MAP].elements == {f"{xa.ip} : jump {chain}"}
    peers = f"ingress-peers-{hash8('x/a-from-b')}-x/a-from-b/0"
    ports = f"ingress-ports-{hash8('x/a-from-b')}-x/a-from-b/0"
    assert rs.sets[peers].elements == {BY_KEY["x/b"].ip}
    assert rs.sets[ports].elements == {"tcp . 80"}
    assert rs.chains[chain].rules[0] == f"ip saddr @{peers} meta l4proto . th dport @{ports} accept"
    # x/a lives on node1: node2 has no chain for it
    assert set(policy_ruleset("node2", PODS, NAMESPACES, CASES["seed-like"]).chains) == {BASE_CHAIN}


def test_ip_block_except_and_named_ports():
    rs = policy_ruleset("node2", PODS, NAMESPACES, CASES["mixed"])  # y/a runs on node2
    key = "y/egress-except"
    assert rs.sets[f"egress-peers-{hash8(key)}-{key}/0"].elements == {"10.244.0.0/24", "10.244.2.0/23",
                                                                     "10.244.4.0/22", "10.244.8.0/21",
                                                                     "10.244.16.0/20", "10.244.32.0/19",
                                                                     "10.244.64.0/18", "10.244.128.0/17"}
    named = rs.sets[f"egress-named-{hash8(key)}-{key}/1"]
    assert named.elements == {f"{p.ip} . tcp . 81" for p in PODS}
    ports = rs.sets[f"ingress-ports-{hash8('x/ns-y-81-range')}-x/ns-y-81-range/0"]
    assert ports.elements == {"sctp . 0-65535", "tcp . 81-90"}
    assert "flags interval" in ports.declaration


def test_deterministic():
    a = render_full(policy_ruleset("node1", PODS, NAMESPACES, CASES["mixed"]))
    b = render_full(policy_ruleset("node1", list(reversed(PODS)), list(reversed(NAMESPACES)),
                                   list(reversed(CASES["mixed"]))))
    assert a == b


# ------------------------------------------------------------------------------------------- tracer


def _in_set(rs: Ruleset, name: str, values: tuple) -> bool:
    for element in rs.sets[name].elements:
        parts = [x.strip() for x in element.split(" . ")]
        if len(parts) != len(values):
            continue
        ok = True
        for part, value in zip(parts, values, strict=True):
            if isinstance(value, ipaddress.IPv4Address):
                ok = value in ipaddress.ip_network(part)
            elif isinstance(value, int):
                lo, _, hi = part.partition("-")
                ok = int(lo) <= value <= int(hi or lo)
            else:
                ok = part == value
            if not ok:
                break
        if ok:
            return True
    return False


_MATCH = re.compile(r"^(?:ip (saddr|daddr) @(\S+) )?(?:(ip daddr \. )?meta l4proto \. th dport @(\S+) )?(\w+)$")


def _run_chain(rs: Ruleset, chain: str, src: str, dst: str, port: int, proto: str) -> str:
    for rule in rs.chains[chain].rules:
        m = _MATCH.match(rule)
        assert m, rule
        which, peers, concat_dst, ports, verdict = m.groups()
        if peers and not _in_set(rs, peers, (ipaddress.IPv4Address(src if which == "saddr" else dst),)):
            continue
        if ports:
            values: tuple = (proto.lower(), port)
            if concat_dst:
                values = (ipaddress.IPv4Address(dst), *values)
            if not _in_set(rs, ports, values):
                continue
        return verdict
    return "return"


def _forward(rs: Ruleset, src: str, dst: str, port: int, proto: str) -> bool:
    """A new connection through filter-forward-policy (the fixed rules are checked above)."""
    for vmap, addr in ((EGRESS_MAP, src), (INGRESS_MAP, dst)):
        for element in rs.sets[vmap].elements:
            ip, _, target = element.partition(" : jump ")
            if ip == addr:
                verdict = _run_chain(rs, target, src, dst, port, proto)
                if verdict == "drop":
                    return False
                if verdict == "accept":
                    return True
    return True


def trace(rss: dict[str, Ruleset], src: PolicyPod, dst: PolicyPod, port: int, proto: str) -> bool:
    nodes = [src.node] if src.node == dst.node else [src.node, dst.node]
    return all(_forward(rss[n], src.ip, dst.ip, port, proto) for n in nodes)


@pytest.mark.parametrize("case", sorted(CASES))
def test_compiled_rules_match_semantics(case):
    policies = CASES[case]
    rss = rulesets(policies)
    wrong = []
    for port, proto in ((80, "TCP"), (81, "TCP"), (80, "UDP"), (81, "UDP"), (80, "SCTP"), (85, "TCP")):
        for s in PODS:
            for d in PODS:
                if s.key == d.key:
                    continue
                want = allowed(s, d, port, proto, PODS, NAMESPACES, policies)
                if trace(rss, s, d, port, proto) != want:
                    wrong.append(f"{s.key}->{d.key} {port}/{proto}: want {want}")
    assert not wrong, "\n".join(wrong)


# ------------------------------------------------------------------------------------------- kernel


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("nft") or not shutil.which("ip"),
                    reason="needs root, nft and ip")
@pytest.mark.parametrize("case", sorted(CASES))
def test_nft_accepts_ruleset(case, tmp_path):
    rs = policy_ruleset("node1", PODS, NAMESPACES, CASES[case])
    path = tmp_path / "policy.nft"
    path.write_text(render_full(rs))
    netns = f"nlp-test-{os.getpid()}-{uuid.uuid4().hex[:6]}"
    made = subprocess.run(["ip", "netns", "add", netns], capture_output=True, text=True)
    if made.returncode != 0:
        pytest.skip(f"cannot create a network namespace: {made.stderr.strip()}")
    try:
        res = subprocess.run(["ip", "netns", "exec", netns, "nft", "-c", "-f", str(path)],
                             capture_output=True, text=True, timeout=10)
        assert res.returncode == 0, res.stderr + "\n" + path.read_text()
    finally:
        subprocess.run(["ip", "netns", "del", netns], capture_output=True)
