"""Issue 16: the upstream x/y/z NetworkPolicy truth tables hold over IPv6 in a dual-stack cluster.

The same cluster as test_netpol_packets (namespaces x, y, z with pods a, b, c on two workers), built
dual-stack, and every pair probed at the pods' IPv6 addresses with `curl` (and a UDP datagram). A bounded
subset of the upstream cases: the observed matrix must equal both the model and the hand-written one.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator

import pytest
from test_netpol_packets import TCP80, TCP81, UDP80, Model, _ns, _pod, built_model, check_matrices, policy


@pytest.fixture(scope="module")
def model6(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Model]:
    yield from built_model(tmp_path_factory, 6)


def test_the_pods_are_probed_at_their_ipv6_addresses(model6):
    assert all(ipaddress.ip_address(model6.ip(s)).version == 6 for s in ("x/a", "y/b", "z/c"))
    check_matrices(model6, "no-policy over IPv6", [], {TCP80: lambda s, d: True, UDP80: lambda s, d: True})


def test_default_deny_ingress_in_x_over_ipv6(model6):
    p = policy(model6, "x", "deny-ingress", {"podSelector": {}, "policyTypes": ["Ingress"]})
    check_matrices(model6, "default-deny-ingress-x over IPv6", [p],
                   {TCP80: lambda s, d: _ns(d) != "x", UDP80: lambda s, d: _ns(d) != "x"})


def test_namespace_selector_and_port_over_ipv6(model6):
    p = policy(model6, "x", "allow-y-to-a-80", {
        "podSelector": {"matchLabels": {"pod": "a"}},
        "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {"ns": "y"}}}],
                     "ports": [{"port": 80, "protocol": "TCP"}]}]})
    check_matrices(model6, "allow-ns-y-to-x/a-port-80 over IPv6", [p], {
        TCP80: lambda s, d: d != "x/a" or _ns(s) == "y", TCP81: lambda s, d: d != "x/a"})


def test_pod_and_namespace_selector_in_one_peer_over_ipv6(model6):
    p = policy(model6, "x", "and-peer", {
        "podSelector": {},
        "ingress": [{"from": [{"namespaceSelector": {"matchExpressions": [
            {"key": "ns", "operator": "In", "values": ["y", "z"]}]},
            "podSelector": {"matchLabels": {"pod": "b"}}}]}]})
    check_matrices(model6, "podSelector AND namespaceSelector over IPv6", [p], {
        TCP80: lambda s, d: _ns(d) != "x" or (_ns(s) in "yz" and _pod(s) == "b")})


def test_egress_deny_all_in_y_over_ipv6(model6):
    p = policy(model6, "y", "egress-dns-only", {
        "podSelector": {}, "policyTypes": ["Egress"],
        "egress": [{"ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]}]})
    check_matrices(model6, "egress deny-all in y but DNS over IPv6", [p], {TCP80: lambda s, d: _ns(s) != "y"})


def test_ipv6_ip_block_with_except(model6):
    cidr = str(ipaddress.ip_network(f"{model6.ip('x/a')}/56", strict=False))
    p = policy(model6, "x", "ipblock6-except", {
        "podSelector": {"matchLabels": {"pod": "a"}},
        "ingress": [{"from": [{"ipBlock": {"cidr": cidr,
                                            "except": [f"{model6.ip('y/b')}/128", f"{model6.ip('z/c')}/128"]}}]}]})
    check_matrices(model6, "IPv6 ipBlock with except", [p], {
        TCP80: lambda s, d: d != "x/a" or s not in ("y/b", "z/c")})
