"""Egress SNAT (ip-masq-agent semantics) as compiled rules, run through the rule interpreter."""

from __future__ import annotations

from netlab.compile.config import ClusterConfig
from netlab.compile.desired import node_rulesets
from netlab.compile.nft_masquerade import host_ruleset, non_masquerade
from netlab.compile.nftables import render_full
from netlab.compile.policy_inputs import PolicyInputs
from netlab.model.cluster import Cluster
from netlab.trace.nft_eval import Interpreter, Packet

CLUSTER = ["172.18.0.0/16", "10.244.0.0/16", "10.96.0.0/16"]


def test_cluster_cidrs_and_link_local_by_default():
    assert non_masquerade(CLUSTER, (), False) == ["10.96.0.0/16", "10.244.0.0/16", "169.254.0.0/16",
                                                  "172.18.0.0/16"]
    assert "169.254.0.0/16" not in non_masquerade(CLUSTER, (), True)


def test_overlapping_cidrs_are_merged_for_the_interval_set():
    # 10.0.0.0/8 holds the pod and service CIDRs: nft refuses overlapping interval elements.
    assert non_masquerade(CLUSTER, ("10.0.0.0/8", "192.0.2.0/25", "192.0.2.128/25"), True) == [
        "10.0.0.0/8", "172.18.0.0/16", "192.0.2.0/24"]


def _postrouting(no_masq=None) -> Interpreter:
    topo = ClusterConfig.from_manifest({}).topology()
    rulesets = node_rulesets(topo, [], PolicyInputs((), {}, ()), "10.244.0.0/16", no_masq)
    return Interpreter(rulesets["netlab-worker"]).check()


def _masqueraded(interp: Interpreter, saddr: str, daddr: str) -> bool:
    (out,) = interp.hook("postrouting", Packet(saddr, daddr, "tcp", 80))
    return out.masquerade


def test_pod_traffic_leaving_the_cluster_is_masqueraded():
    interp = _postrouting()
    assert _masqueraded(interp, "10.244.1.2", "203.0.113.10")
    assert _masqueraded(interp, "10.244.1.2", "198.51.100.10")  # not ip-masq-agent's default list: SNATed


def test_in_cluster_and_link_local_destinations_keep_the_pod_ip():
    interp = _postrouting()
    for daddr in ("10.244.2.5", "10.244.1.3", "172.18.0.1", "172.18.0.4", "169.254.169.254"):
        assert not _masqueraded(interp, "10.244.1.2", daddr), daddr


def test_only_pod_sources_are_masqueraded_by_the_node():
    assert not _masqueraded(_postrouting(), "172.18.0.3", "203.0.113.10")


def test_non_masquerade_cidrs_from_the_cluster_file():
    config = ClusterConfig.from_manifest({"nonMasqueradeCIDRs": ["203.0.113.0/24"], "masqLinkLocal": True})
    no_masq = non_masquerade(config.lab_cidrs(), config.non_masquerade_cidrs, config.masq_link_local)
    interp = _postrouting(no_masq)
    assert not _masqueraded(interp, "10.244.1.2", "203.0.113.10")
    assert _masqueraded(interp, "10.244.1.2", "169.254.169.254")
    assert _masqueraded(interp, "10.244.1.2", "198.51.100.10")


def test_host_table_masquerades_the_underlay_leaving_elsewhere():
    text = render_full(host_ruleset("lab", "172.18.0.0/16", "netlab0"))
    assert "add table inet netlab-lab" in text
    assert ('add rule inet netlab-lab nat-postrouting ip saddr 172.18.0.0/16 ip daddr != 172.18.0.0/16 '
            'oifname != "netlab0" masquerade') in text


def test_bad_non_masquerade_cidrs_are_named():
    cluster = Cluster.model_validate({"apiVersion": "netlab.dev/v1alpha1", "kind": "Cluster",
                                      "nonMasqueradeCIDRs": ["10.0.0.0/8", "nope", "10.0.0.1/8"]})
    fields = [f for f, _ in cluster.issues()]
    assert fields == ["nonMasqueradeCIDRs[1]", "nonMasqueradeCIDRs[2]"]


def test_egress_fields_are_netlab_fields():
    kind = Cluster.model_validate({"apiVersion": "kind.x-k8s.io/v1alpha4", "kind": "Cluster",
                                   "nonMasqueradeCIDRs": ["192.0.2.0/24"]})
    assert kind.non_masquerade_cidrs == [] and any("nonMasqueradeCIDRs" in n for n in kind.notes)


def _trace(dst: str, no_masq=None, src: str = "pod-a"):
    from netlab.compile.netpol import PolicyPod
    from netlab.trace.model import plan

    topo = ClusterConfig.from_manifest({}, "lab").topology([("default", "pod-a", "lab-worker", "10.244.1.2")])
    pods = (PolicyPod("default", "pod-a", "10.244.1.2", "lab-worker", {}, ()),)
    pi = PolicyInputs(pods, {}, ())
    rulesets = node_rulesets(topo, [], pi, topo.pod_subnet, no_masq)
    return plan(src, dst, 80, "tcp", topo, [], pi, rulesets=rulesets)


def test_trace_shows_both_snats_for_the_outside():
    p = _trace("198.51.100.10")
    whats = [s.what for s in p.steps]
    assert "routes 198.51.100.10 out of the cluster: default via 172.18.0.1 dev eth0" in whats
    assert "SNAT (masquerade) 10.244.1.2 -> 172.18.0.3" in whats
    assert any(w.startswith("SNAT (masquerade) 172.18.0.3 -> the address of the host") for w in whats)
    assert p.outcome == "connected" and p.candidates[0].source_seen == ""


def test_trace_keeps_the_pod_ip_for_non_masquerade_cidrs():
    p = _trace("198.51.100.10", non_masquerade(CLUSTER, ("198.51.100.0/24",), False))
    whats = [s.what for s in p.steps]
    assert "no SNAT: ip-masq-agent returns, the packet keeps 10.244.1.2" in whats
    assert p.candidates[0].source_seen == "10.244.1.2"
