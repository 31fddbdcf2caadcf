"""A pod's resolv.conf for each dnsPolicy and dnsConfig, as kubelet writes it, and the API's checks."""

from __future__ import annotations

import pytest

from netlab.compile.resolv import resolv_conf
from netlab.model.pod_dns import dns_problems

CLUSTER_FIRST = ("nameserver 10.96.0.10\nsearch web.svc.cluster.local svc.cluster.local cluster.local\n"
                 "options ndots:5\n")


def _resolv(spec: dict | None = None) -> str:
    return resolv_conf("web", "cluster.local", "10.96.0.10", spec, ("172.18.0.1",))


@pytest.mark.parametrize("spec", [None, {}, {"dnsPolicy": "ClusterFirst"}, {"dnsPolicy": "ClusterFirstWithHostNet"}])
def test_cluster_first(spec):
    assert _resolv(spec) == CLUSTER_FIRST


def test_default_uses_the_nodes_resolver_and_so_does_cluster_first_on_the_host_network():
    assert _resolv({"dnsPolicy": "Default"}) == "nameserver 172.18.0.1\n"
    assert _resolv({"dnsPolicy": "ClusterFirst", "hostNetwork": True}) == "nameserver 172.18.0.1\n"
    assert _resolv({"dnsPolicy": "ClusterFirstWithHostNet", "hostNetwork": True}) == CLUSTER_FIRST


def test_none_takes_only_dns_config():
    spec = {"dnsPolicy": "None", "dnsConfig": {
        "nameservers": ["192.0.2.1", "192.0.2.2"], "searches": ["a.example", "b.example"],
        "options": [{"name": "ndots", "value": "2"}, {"name": "edns0"}]}}
    assert _resolv(spec) == ("nameserver 192.0.2.1\nnameserver 192.0.2.2\nsearch a.example b.example\n"
                             "options ndots:2 edns0\n")


def test_dns_config_is_merged_onto_cluster_first():
    spec = {"dnsConfig": {"nameservers": ["10.96.0.10", "192.0.2.1"], "searches": ["svc.cluster.local", "x.example"],
                          "options": [{"name": "ndots", "value": "1"}, {"name": "single-request-reopen"}]}}
    assert _resolv(spec) == ("nameserver 10.96.0.10\nnameserver 192.0.2.1\n"
                             "search web.svc.cluster.local svc.cluster.local cluster.local x.example\n"
                             "options ndots:1 single-request-reopen\n")


def test_at_most_three_nameservers_are_written():
    spec = {"dnsConfig": {"nameservers": ["192.0.2.1", "192.0.2.2", "192.0.2.3"]}}
    assert _resolv(spec).count("nameserver") == 3 and "192.0.2.3" not in _resolv(spec)


def test_problems_are_all_reported():
    assert dns_problems("None", None, "spec") == [
        ("spec.dnsConfig", "must provide `dnsConfig` when `dnsPolicy` is None")]
    got = dns_problems("None", {"nameservers": [], "searches": ["Bad_Name", "ok.example."],
                                "options": [{"value": "1"}]}, "spec")
    assert [p for p, _ in got] == ["spec.dnsConfig.nameservers", "spec.dnsConfig.searches[0]",
                                   "spec.dnsConfig.options[0].name"]
    got = dns_problems("ClusterFirst", {"nameservers": ["1.1.1.1", "2.2.2.2", "3.3.3.3", "x"]}, "spec")
    assert [p for p, _ in got] == ["spec.dnsConfig.nameservers", "spec.dnsConfig.nameservers[3]"]
    assert dns_problems("ClusterFirst", None, "spec") == []
