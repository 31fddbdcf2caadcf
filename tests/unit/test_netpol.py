"""NetworkPolicy semantics against truth tables in the upstream e2e model (test/e2e/network/netpol).

Namespaces x, y, z each hold pods a, b, c (label `pod: <name>`; namespace labels `ns: <name>` and
`kubernetes.io/metadata.name`), serving TCP, UDP and SCTP on 80 and 81 with named ports
`serve-<port>-<proto>`. Each case builds the expected reachability like upstream's `Reachability`
(default, then `expect_peer`/`expect`/`expect_all_ingress`/`expect_all_egress`) and compares the 9x9
matrix computed with `allowed`. As upstream does, loopback (a pod to itself) is left out of the
comparison; netlab always allows it (it never leaves the pod).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from netlab.compile.netpol import (
    NS_NAME_LABEL,
    PolicyError,
    PolicyNamespace,
    PolicyPod,
    allowed,
    ip_block_networks,
    isolation,
    match_selector,
    port_ranges,
    selects,
)
from netlab.compile.netpol_explain import explain

NSS = ("x", "y", "z")
NAMES = ("a", "b", "c")


def _ports() -> tuple[tuple[str | None, int, str], ...]:
    return tuple((f"serve-{n}-{p.lower()}", n, p) for n in (80, 81) for p in ("TCP", "UDP", "SCTP"))


def _model() -> list[PolicyPod]:
    out = []
    for i, (ns, name) in enumerate((ns, name) for ns in NSS for name in NAMES):
        node = i % 2 + 1
        out.append(PolicyPod(ns, name, f"10.244.{node}.{10 + i}", f"node{node}", {"pod": name}, _ports()))
    return out


PODS = _model()
BY_KEY = {p.key: p for p in PODS}
KEYS = [p.key for p in PODS]
DNS_POD = PolicyPod("kube-system", "coredns", "10.244.1.53", "node1", {"k8s-app": "kube-dns"},
                    (("dns", 53, "UDP"), ("dns-tcp", 53, "TCP")))
ALL_PODS = [*PODS, DNS_POD]
NAMESPACES = [PolicyNamespace(ns, {"ns": ns, NS_NAME_LABEL: ns}) for ns in NSS] + [
    PolicyNamespace("kube-system", {NS_NAME_LABEL: "kube-system"})]


def ip(key: str) -> str:
    return BY_KEY[key].ip


# ------------------------------------------------------------------------------------------- helpers


def policy(name: str, ns: str = "x", pod_selector: dict | None = None, ingress: list | None = None,
           egress: list | None = None, types: list[str] | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"podSelector": pod_selector or {}}
    if ingress is not None:
        spec["ingress"] = ingress
    if egress is not None:
        spec["egress"] = egress
    if types is not None:
        spec["policyTypes"] = types
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": name, "namespace": ns}, "spec": spec}


def pod_is(name: str) -> dict:
    return {"matchLabels": {"pod": name}}


def ns_is(name: str) -> dict:
    return {"matchLabels": {NS_NAME_LABEL: name}}


class Reachability:
    """Upstream's truth table: rows are sources, columns destinations."""

    def __init__(self, default: bool = True) -> None:
        self.m = {(s, d): default for s in KEYS for d in KEYS}

    def expect(self, src: str, dst: str, value: bool) -> Reachability:
        self.m[(src, dst)] = value
        return self

    def expect_peer(self, src_ns: str | None = None, src_pod: str | None = None, dst_ns: str | None = None,
                    dst_pod: str | None = None, value: bool = False) -> Reachability:
        for s, d in self.m:
            sn, sp = s.split("/")
            dn, dp = d.split("/")
            if (src_ns in (None, sn) and src_pod in (None, sp) and dst_ns in (None, dn) and dst_pod in (None, dp)):
                self.m[(s, d)] = value
        return self

    def expect_all_ingress(self, dst: str, value: bool) -> Reachability:
        for s in KEYS:
            self.m[(s, dst)] = value
        return self

    def expect_all_egress(self, src: str, value: bool) -> Reachability:
        for d in KEYS:
            self.m[(src, d)] = value
        return self


def truth_table(policies: list[dict], port: int, protocol: str) -> dict[tuple[str, str], bool]:
    return {(s, d): allowed(BY_KEY[s], BY_KEY[d], port, protocol, ALL_PODS, NAMESPACES, policies)
            for s in KEYS for d in KEYS}


def _render(m: Mapping[tuple[str, str], bool], other: Mapping[tuple[str, str], bool] | None = None) -> list[str]:
    lines = ["      " + " ".join(k.replace("/", "") for k in KEYS)]
    for s in KEYS:
        cells = []
        for d in KEYS:
            if s == d:
                cells.append(" - ")
                continue
            mark = " . " if m[(s, d)] else " X "
            if other is not None and other[(s, d)] != m[(s, d)]:
                mark = mark[:2] + "*"
            cells.append(mark)
        lines.append(f"{s:5} " + "".join(cells))
    return lines


def check(policies: list[dict], expected: Reachability, port: int = 80, protocol: str = "TCP") -> None:
    observed = truth_table(policies, port, protocol)
    wrong = [k for k in observed if k[0] != k[1] and observed[k] != expected.m[k]]
    if wrong:
        exp, obs = _render(expected.m), _render(observed, expected.m)
        width = max(len(line) for line in exp)
        side = [f"{'expected':{width}}   observed ({port}/{protocol}; . allowed, X denied, * differs)"]
        side += [f"{e:{width}}   {o}" for e, o in zip(exp, obs, strict=True)]
        pytest.fail("reachability differs at " + ", ".join(f"{s}->{d}" for s, d in wrong) + "\n" + "\n".join(side))


# ------------------------------------------------------------------------------------------- cases


def test_no_policies_everything_open():
    check([], Reachability(True))


def test_default_deny_ingress():
    check([policy("deny-ingress", ingress=[])], Reachability().expect_peer(dst_ns="x", value=False))


def test_default_deny_ingress_via_policy_types_without_ingress_field():
    check([policy("deny-ingress", types=["Ingress"])], Reachability().expect_peer(dst_ns="x", value=False))


def test_default_deny_all():
    p = policy("deny-all", types=["Ingress", "Egress"])
    check([p], Reachability().expect_peer(dst_ns="x", value=False).expect_peer(src_ns="x", value=False))


def test_default_deny_egress():
    check([policy("deny-egress", types=["Egress"])], Reachability().expect_peer(src_ns="x", value=False))


def test_allow_all_ingress_overrides_deny():
    ps = [policy("deny-all", ingress=[]), policy("allow-all", ingress=[{}])]
    check(ps, Reachability(True))


def test_deny_all_egress_but_dns():
    p = policy("allow-dns-only", types=["Egress"], egress=[{
        "to": [{"namespaceSelector": ns_is("kube-system")}], "ports": [{"protocol": "UDP", "port": 53}]}])
    check([p], Reachability().expect_peer(src_ns="x", value=False), 80, "UDP")
    xa = BY_KEY["x/a"]
    assert allowed(xa, DNS_POD, 53, "UDP", ALL_PODS, NAMESPACES, [p])
    assert not allowed(xa, DNS_POD, 53, "TCP", ALL_PODS, NAMESPACES, [p])
    assert not allowed(xa, "8.8.8.8", 53, "UDP", ALL_PODS, NAMESPACES, [p])
    assert allowed(BY_KEY["y/a"], DNS_POD, 53, "TCP", ALL_PODS, NAMESPACES, [p])


def test_pod_selector_within_namespace():
    p = policy("x-a-allows-x-b", pod_selector=pod_is("a"), ingress=[{"from": [{"podSelector": pod_is("b")}]}])
    check([p], Reachability().expect_all_ingress("x/a", False).expect("x/b", "x/a", True))


def test_allow_ingress_for_a_target():
    ps = [policy("deny-all", ingress=[]),
          policy("allow-all-to-a", pod_selector=pod_is("a"),
                 ingress=[{"from": [{"podSelector": {}, "namespaceSelector": {}}]}])]
    check(ps, Reachability().expect_all_ingress("x/b", False).expect_all_ingress("x/c", False))


def test_allow_from_all_namespaces():
    p = policy("allow-from-another-ns", pod_selector=pod_is("a"),
               ingress=[{"from": [{"namespaceSelector": {"matchLabels": {}}}]}])
    check([p], Reachability(True))


def test_namespace_selector_only_other_namespace():
    p = policy("allow-client-a-via-ns-selector", pod_selector=pod_is("a"),
               ingress=[{"from": [{"namespaceSelector": ns_is("y")}]}])
    r = Reachability().expect_peer(src_ns="x", dst_ns="x", dst_pod="a").expect_peer(src_ns="z", dst_ns="x",
                                                                                     dst_pod="a")
    check([p], r)


def test_namespace_selector_by_custom_label():
    p = policy("allow-ns-label", pod_selector=pod_is("a"), ingress=[{"from": [{"namespaceSelector":
                                                                               {"matchLabels": {"ns": "z"}}}]}])
    check([p], Reachability().expect_all_ingress("x/a", False).expect_peer(src_ns="z", dst_ns="x", dst_pod="a",
                                                                           value=True))


def test_pod_selector_match_expressions():
    sel = {"matchExpressions": [{"key": "pod", "operator": "In", "values": ["b"]}]}
    p = policy("x-a-allows-x-b", pod_selector=pod_is("a"), ingress=[{"from": [{"podSelector": sel}]}])
    check([p], Reachability().expect_all_ingress("x/a", False).expect("x/b", "x/a", True))


def test_namespace_selector_match_expressions():
    sel = {"matchExpressions": [{"key": NS_NAME_LABEL, "operator": "In", "values": ["y"]}]}
    p = policy("allow-ns-y-match-selector", pod_selector=pod_is("a"), ingress=[{"from": [{"namespaceSelector": sel}]}])
    r = Reachability().expect_peer(src_ns="x", dst_ns="x", dst_pod="a").expect_peer(src_ns="z", dst_ns="x",
                                                                                     dst_pod="a")
    check([p], r)


def test_pod_selector_or_namespace_selector_two_peers():
    not_x = {"matchExpressions": [{"key": NS_NAME_LABEL, "operator": "NotIn", "values": ["x"]}]}
    p = policy("or", pod_selector=pod_is("a"),
               ingress=[{"from": [{"namespaceSelector": not_x}, {"podSelector": pod_is("b")}]}])
    check([p], Reachability().expect("x/c", "x/a", False))


def test_pod_selector_and_namespace_selector_one_peer():
    not_x = {"matchExpressions": [{"key": NS_NAME_LABEL, "operator": "NotIn", "values": ["x"]}]}
    p = policy("and", pod_selector=pod_is("a"),
               ingress=[{"from": [{"namespaceSelector": not_x, "podSelector": pod_is("b")}]}])
    check([p], Reachability().expect_all_ingress("x/a", False).expect("y/b", "x/a", True).expect("z/b", "x/a", True))


def test_multiple_pod_and_namespace_selectors():
    not_x = {"matchExpressions": [{"key": NS_NAME_LABEL, "operator": "NotIn", "values": ["x"]}]}
    b_or_c = {"matchExpressions": [{"key": "pod", "operator": "In", "values": ["b", "c"]}]}
    p = policy("multi", pod_selector=pod_is("a"),
               ingress=[{"from": [{"namespaceSelector": not_x, "podSelector": b_or_c}]}])
    r = Reachability().expect_peer(src_ns="x", dst_ns="x", dst_pod="a").expect("y/a", "x/a", False).expect(
        "z/a", "x/a", False)
    check([p], r)


def test_any_pod_selectors():
    p = policy("any", pod_selector=pod_is("a"),
               ingress=[{"from": [{"podSelector": pod_is("b")}, {"podSelector": pod_is("c")}]}])
    r = Reachability().expect_all_ingress("x/a", False).expect("x/b", "x/a", True).expect("x/c", "x/a", True)
    check([p], r)


def test_selector_operators_exists_does_not_exist_notin():
    p = policy("ops", pod_selector={"matchExpressions": [{"key": "pod", "operator": "NotIn", "values": ["a"]},
                                                         {"key": "pod", "operator": "Exists"},
                                                         {"key": "tier", "operator": "DoesNotExist"}]},
               ingress=[])
    check([p], Reachability().expect_all_ingress("x/b", False).expect_all_ingress("x/c", False))


def test_named_port_ingress_resolved_on_destination():
    p = policy("allow-81-named", pod_selector=pod_is("a"), ingress=[{"ports": [{"port": "serve-81-tcp"}]}])
    check([p], Reachability(True), 81, "TCP")
    check([p], Reachability().expect_all_ingress("x/a", False), 80, "TCP")
    check([p], Reachability().expect_all_ingress("x/a", False), 81, "UDP")


def test_named_port_udp():
    p = policy("allow-81-udp-named", ingress=[{"ports": [{"protocol": "UDP", "port": "serve-81-udp"}]}])
    check([p], Reachability(True), 81, "UDP")
    check([p], Reachability().expect_peer(dst_ns="x", value=False), 81, "TCP")


def test_named_port_egress_resolved_on_destination():
    p = policy("egress-named", pod_selector=pod_is("a"), types=["Egress"],
               egress=[{"ports": [{"port": "serve-80-tcp"}]}])
    check([p], Reachability(True), 80, "TCP")
    check([p], Reachability().expect_all_egress("x/a", False), 81, "TCP")
    # a bare IP has no named ports
    assert not allowed(BY_KEY["x/a"], "192.0.2.1", 80, "TCP", ALL_PODS, NAMESPACES, [p])


def test_numeric_port_only():
    p = policy("allow-80", pod_selector=pod_is("a"),
               ingress=[{"from": [{"namespaceSelector": ns_is("y")}], "ports": [{"port": 80}]}])
    check([p], Reachability().expect_all_ingress("x/a", False).expect_peer(src_ns="y", dst_ns="x", dst_pod="a",
                                                                           value=True), 80)
    check([p], Reachability().expect_all_ingress("x/a", False), 81)


def test_end_port_range():
    p = policy("range", ingress=[{"ports": [{"protocol": "TCP", "port": 81, "endPort": 90}]}])
    check([p], Reachability().expect_peer(dst_ns="x", value=False), 80)
    check([p], Reachability(True), 81)
    assert allowed(BY_KEY["y/a"], BY_KEY["x/a"], 90, "TCP", ALL_PODS, NAMESPACES, [p])
    assert not allowed(BY_KEY["y/a"], BY_KEY["x/a"], 91, "TCP", ALL_PODS, NAMESPACES, [p])


def test_end_port_range_egress():
    p = policy("egress-range", types=["Egress"],
               egress=[{"to": [{"namespaceSelector": ns_is("y")}], "ports": [{"port": 79, "endPort": 80}]}])
    r = Reachability().expect_peer(src_ns="x", value=False).expect_peer(src_ns="x", dst_ns="y", value=True)
    check([p], r, 80)
    check([p], Reachability().expect_peer(src_ns="x", value=False), 81)


def test_sctp():
    p = policy("sctp-80", pod_selector=pod_is("a"), ingress=[{"ports": [{"protocol": "SCTP", "port": 80}]}])
    check([p], Reachability(True), 80, "SCTP")
    check([p], Reachability().expect_all_ingress("x/a", False), 81, "SCTP")
    check([p], Reachability().expect_all_ingress("x/a", False), 80, "TCP")


def test_protocol_without_port_allows_all_ports_of_it():
    p = policy("udp-any", pod_selector=pod_is("a"), ingress=[{"ports": [{"protocol": "UDP"}]}])
    check([p], Reachability(True), 81, "UDP")
    check([p], Reachability().expect_all_ingress("x/a", False), 80, "TCP")


def test_ip_block_ingress():
    p = policy("from-node2-pods", pod_selector=pod_is("a"),
               ingress=[{"from": [{"ipBlock": {"cidr": "10.244.2.0/24"}}]}])
    r = Reachability().expect_all_ingress("x/a", False)
    for k in KEYS:
        if BY_KEY[k].node == "node2":
            r.expect(k, "x/a", True)
    check([p], r)


def test_ip_block_with_except_egress():
    # upstream: "should enforce except clause while egress access to server in CIDR block"
    p = policy("egress-except", pod_selector=pod_is("a"), types=["Egress"], egress=[{"to": [{"ipBlock": {
        "cidr": "10.244.0.0/16", "except": [f"{ip('y/b')}/32"]}}]}])
    check([p], Reachability().expect("x/a", "y/b", False))
    assert not allowed(BY_KEY["x/a"], "8.8.8.8", 80, "TCP", ALL_PODS, NAMESPACES, [p])


def test_ip_block_everything_but_cluster_to_outside():
    p = policy("internet-only", types=["Egress"], egress=[{"to": [{"ipBlock": {
        "cidr": "0.0.0.0/0", "except": ["10.244.0.0/16"]}}]}])
    check([p], Reachability().expect_peer(src_ns="x", value=False))
    assert allowed(BY_KEY["x/a"], "8.8.8.8", 443, "TCP", ALL_PODS, NAMESPACES, [p])


def test_egress_to_namespace_and_ingress_together():
    # x/a may only talk to y; y/b only accepts from x/a
    ps = [policy("x-a-egress-y", pod_selector=pod_is("a"), types=["Egress"],
                 egress=[{"to": [{"namespaceSelector": ns_is("y")}]}]),
          policy("y-b-from-x-a", ns="y", pod_selector=pod_is("b"), ingress=[{"from": [{
              "namespaceSelector": ns_is("x"), "podSelector": pod_is("a")}]}])]
    r = Reachability().expect_all_egress("x/a", False).expect_peer(src_ns="x", src_pod="a", dst_ns="y", value=True)
    r.expect_all_ingress("y/b", False).expect("x/a", "y/b", True)
    check(ps, r)


def test_ingress_and_egress_in_one_policy():
    p = policy("both", pod_selector=pod_is("a"), types=["Ingress", "Egress"],
               ingress=[{"from": [{"podSelector": pod_is("b")}]}], egress=[{"to": [{"podSelector": pod_is("c")}]}])
    r = Reachability().expect_all_ingress("x/a", False).expect("x/b", "x/a", True)
    r.expect_all_egress("x/a", False).expect("x/a", "x/c", True)
    check([p], r)


def test_policy_in_other_namespace_does_not_apply():
    p = policy("deny-a-in-y", ns="y", pod_selector=pod_is("a"), ingress=[])
    check([p], Reachability().expect_all_ingress("y/a", False))


def test_empty_from_list_allows_all_sources():
    check([policy("empty-from", ingress=[{"from": []}])], Reachability(True))


def test_absent_from_with_ports_allows_all_sources_on_those_ports():
    p = policy("ports-only", ingress=[{"ports": [{"port": 81}]}])
    check([p], Reachability(True), 81)
    check([p], Reachability().expect_peer(dst_ns="x", value=False), 80)


def test_empty_to_list_allows_all_destinations():
    check([policy("empty-to", types=["Egress"], egress=[{"to": []}])], Reachability(True))


def test_empty_ingress_rule_list_denies():
    check([policy("no-rules", ingress=[])], Reachability().expect_peer(dst_ns="x", value=False))


def test_peer_selector_matching_nothing_denies():
    p = policy("nobody", ingress=[{"from": [{"podSelector": pod_is("nobody")}]}])
    check([p], Reachability().expect_peer(dst_ns="x", value=False))


def test_multiple_policies_union():
    ps = [policy("from-x-b-80", pod_selector=pod_is("a"), ingress=[{"from": [{"podSelector": pod_is("b")}],
                                                                    "ports": [{"port": 80}]}]),
          policy("from-y-81", pod_selector=pod_is("a"), ingress=[{"from": [{"namespaceSelector": ns_is("y")}],
                                                                  "ports": [{"port": 81}]}])]
    check(ps, Reachability().expect_all_ingress("x/a", False).expect("x/b", "x/a", True), 80)
    check(ps, Reachability().expect_all_ingress("x/a", False).expect_peer(src_ns="y", dst_ns="x", dst_pod="a",
                                                                          value=True), 81)


def test_policy_types_ingress_ignores_egress_rules():
    p = policy("ingress-only", types=["Ingress"], ingress=[{}], egress=[{"to": [{"podSelector": pod_is("zzz")}]}])
    check([p], Reachability(True))
    assert isolation(BY_KEY["x/a"], [p]) == (True, False)


def test_egress_rules_imply_egress_type():
    p = policy("egress-implied", pod_selector=pod_is("a"), egress=[{"to": [{"podSelector": pod_is("b")}]}])
    assert isolation(BY_KEY["x/a"], [p]) == (True, True)
    r = Reachability().expect_all_ingress("x/a", False).expect_all_egress("x/a", False).expect("x/a", "x/b", True)
    check([p], r)


def test_seed_policy_allow_web_to_api():
    pods = [PolicyPod("default", "web", "10.244.1.2", "node1", {"app": "web"}),
            PolicyPod("default", "api", "10.244.2.2", "node2", {"app": "api"}, (("http", 3000, "TCP"),)),
            PolicyPod("default", "other", "10.244.1.3", "node1", {"app": "other"})]
    nss = [PolicyNamespace("default", {NS_NAME_LABEL: "default"})]
    p = {"metadata": {"name": "allow-web-to-api", "namespace": "default"}, "spec": {
        "podSelector": {"matchLabels": {"app": "api"}}, "policyTypes": ["Ingress"],
        "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "web"}}}],
                     "ports": [{"protocol": "TCP", "port": 3000}]}]}}
    web, api, other = pods
    assert allowed(web, api, 3000, "TCP", pods, nss, [p])
    assert not allowed(web, api, 3001, "TCP", pods, nss, [p])
    assert not allowed(other, api, 3000, "TCP", pods, nss, [p])
    assert allowed(api, web, 80, "TCP", pods, nss, [p])
    assert not allowed("172.18.0.1", api, 3000, "TCP", pods, nss, [p])
    # the node the pod runs on is always allowed (it reaches the pod through OUTPUT)
    assert allowed("172.18.0.3", api, 3000, "TCP", pods, nss, [p], node_ips={"node2": ["172.18.0.3", "10.244.2.1"]})
    assert not allowed("172.18.0.2", api, 3000, "TCP", pods, nss, [p],
                       node_ips={"node1": ["172.18.0.2"], "node2": ["172.18.0.3"]})


def test_loopback_always_allowed():
    p = policy("deny-all", types=["Ingress", "Egress"])
    assert allowed(BY_KEY["x/a"], BY_KEY["x/a"], 80, "TCP", ALL_PODS, NAMESPACES, [p])


def test_bare_ip_of_a_pod_counts_as_the_pod():
    p = policy("x-a-allows-x-b", pod_selector=pod_is("a"), ingress=[{"from": [{"podSelector": pod_is("b")}]}])
    assert allowed(ip("x/b"), ip("x/a"), 80, "TCP", ALL_PODS, NAMESPACES, [p])
    assert not allowed(ip("x/c"), ip("x/a"), 80, "TCP", ALL_PODS, NAMESPACES, [p])


# ------------------------------------------------------------------------------------------- pieces


def test_match_selector():
    assert match_selector({}, {"a": "1"})
    assert match_selector(None, {})
    assert match_selector({"matchLabels": {"a": "1"}}, {"a": "1", "b": "2"})
    assert not match_selector({"matchLabels": {"a": "1"}}, {"a": "2"})
    assert match_selector({"matchExpressions": [{"key": "a", "operator": "NotIn", "values": ["1"]}]}, {})
    assert not match_selector({"matchExpressions": [{"key": "a", "operator": "In", "values": ["1"]}]}, {})
    with pytest.raises(PolicyError):
        match_selector({"matchExpressions": [{"key": "a", "operator": "Gt", "values": ["1"]}]}, {})


def test_selects_only_own_namespace():
    p = policy("p", pod_selector={})
    assert selects(p, BY_KEY["x/a"])
    assert not selects(p, BY_KEY["y/a"])


def test_ip_block_networks_cut_except():
    nets = ip_block_networks({"cidr": "10.0.0.0/24", "except": ["10.0.0.0/26", "10.0.0.128/25"]})
    assert [str(n) for n in nets] == ["10.0.0.64/26"]
    v6 = ip_block_networks({"cidr": "fd00::/64", "except": ["fd00::/65"]})  # dual-stack: IPv6 blocks count
    assert [str(n) for n in v6] == ["fd00::8000:0:0:0/65"]


def test_port_ranges_merge_and_resolve():
    rule = {"ports": [{"port": 80}, {"port": 81, "endPort": 85}, {"port": "serve-81-udp", "protocol": "UDP"},
                      {"protocol": "SCTP"}]}
    assert port_ranges(rule, BY_KEY["x/a"]) == [("SCTP", 0, 65535), ("TCP", 80, 85), ("UDP", 81, 81)]
    assert port_ranges({}, None) is None
    with pytest.raises(PolicyError):
        port_ranges({"ports": [{"protocol": "ICMP", "port": 1}]}, None)


def test_explain():
    p = policy("x-a", pod_selector=pod_is("a"), ingress=[{"from": [{"podSelector": pod_is("b")},
                                                                   {"ipBlock": {"cidr": "192.0.2.0/24",
                                                                                "except": ["192.0.2.0/25"]}}],
                                                          "ports": [{"port": "serve-80-tcp"}]}])
    out = explain(p, ALL_PODS, NAMESPACES)
    assert out["name"] == "x-a" and out["namespace"] == "x"
    assert out["policyTypes"] == ["Ingress"]
    assert out["selectedPods"] == [{"pod": "x/a", "ip": ip("x/a"), "node": "node1"}]
    rule = out["ingress"][0]
    assert rule["peers"] == [{"pod": "x/b", "ip": ip("x/b")}, {"cidr": "192.0.2.0/24", "except": ["192.0.2.0/25"]}]
    assert rule["peerCidrs"] == [f"{ip('x/b')}/32", "192.0.2.128/25"]
    assert rule["ports"] == [{"pod": "x/a", "ports": ["TCP/80"]}]
    assert out["egress"] == []


def test_policy_pod_from_api_json_keeps_named_ports():
    from netlab.compile.netpol import policy_pod

    pod = {"metadata": {"name": "web", "labels": {"app": "web"}},
           "spec": {"nodeName": "n1", "containers": [{"name": "c", "ports": [
               {"name": "http", "containerPort": 8080}, {"containerPort": 53, "protocol": "UDP"}]}]},
           "status": {"podIP": "10.244.1.2"}}
    p = policy_pod(pod)
    assert (p.namespace, p.name, p.ip, p.node, p.labels) == ("default", "web", "10.244.1.2", "n1", {"app": "web"})
    assert p.ports == (("http", 8080, "TCP"), (None, 53, "UDP"))
    rule = {"ports": [{"port": "http"}]}
    assert port_ranges(rule, p) == [("TCP", 8080, 8080)]
    pending = policy_pod({"metadata": {"name": "new", "namespace": "x"}, "spec": {}})
    assert (pending.ip, pending.node, pending.ports) == ("", "", ())
