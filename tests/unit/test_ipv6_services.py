"""IPv6 ClusterIP and NodePort Services in a dual-stack cluster: allocation, the ip6 rules, AAAA and PTR."""

from __future__ import annotations

import ipaddress

import pytest
from dnslib import QTYPE

from netlab.api.views import service as service_view
from netlab.compile.config import ClusterConfig
from netlab.compile.desired import compile_objects
from netlab.compile.dnszone import build_zone
from netlab.compile.nftables import render_full
from netlab.compile.services import Allocation, AllocationError, Pools, allocate

DUAL_POOLS = Pools(families=("IPv4", "IPv6"), service_cidr6="fd00:10:96::/112")
V6_NET = ipaddress.ip_network("fd00:10:96::/112")


def _dual_config() -> ClusterConfig:
    return ClusterConfig.from_manifest({"networking": {"ipFamily": "dual"}, "nodes": [
        {"role": "control-plane"}, {"role": "worker"}, {"role": "worker"}]}, "lab")


def _svc(name: str = "web", **spec) -> dict:
    return {"kind": "Service", "metadata": {"name": name, "namespace": "default"},
            "spec": {"selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": 8080}], **spec}}


def _pod(name: str, node: str) -> dict:
    return {"kind": "Pod", "metadata": {"name": name, "namespace": "default", "labels": {"app": "web"}},
            "spec": {"containers": [{"name": "c"}], "nodeName": node}}


def test_prefer_dual_stack_gets_a_clusterip_per_family_primary_first():
    got = allocate([_svc(ipFamilyPolicy="PreferDualStack")], {}, DUAL_POOLS)["default/web"]
    assert ipaddress.ip_address(got.cluster_ip) in ipaddress.ip_network("10.96.0.0/16")
    assert ipaddress.ip_address(got.cluster_ip6) in V6_NET
    assert got.cluster_ips(("IPv4", "IPv6")) == [got.cluster_ip, got.cluster_ip6]
    assert got.cluster_ips(("IPv6", "IPv4")) == [got.cluster_ip6, got.cluster_ip]


def test_single_stack_ipv6_gets_only_an_ipv6_clusterip_and_ipv4_services_none():
    out = allocate([_svc("six", ipFamilies=["IPv6"]), _svc("four")], {}, DUAL_POOLS)
    assert out["default/six"].cluster_ip is None
    assert ipaddress.ip_address(out["default/six"].cluster_ip6) in V6_NET
    assert out["default/four"].cluster_ip6 is None and out["default/four"].cluster_ip


def test_an_asked_ipv6_clusterip_is_honoured_inside_the_range_and_kept():
    spec = {"ipFamilyPolicy": "RequireDualStack", "ipFamilies": ["IPv6", "IPv4"],
            "clusterIPs": ["fd00:10:96::50", "10.96.0.50"]}
    got = allocate([_svc(**spec)], {}, DUAL_POOLS)["default/web"]
    assert (got.cluster_ip6, got.cluster_ip) == ("fd00:10:96::50", "10.96.0.50")
    again = allocate([_svc(ipFamilyPolicy="RequireDualStack")], {"default/web": got}, DUAL_POOLS)["default/web"]
    assert again == got
    assert Allocation.from_dict(got.to_dict()) == got


def test_an_ipv6_clusterip_outside_the_range_names_the_field():
    spec = {"ipFamilyPolicy": "PreferDualStack", "clusterIPs": ["10.96.0.50", "fd00:99::5"]}
    with pytest.raises(AllocationError) as info:
        allocate([_svc(**spec)], {}, DUAL_POOLS)
    assert [(o, f) for o, f, _ in info.value.problems] == [("Service default/web", "spec.clusterIPs[1]")]
    assert "fd00:10:96::/112" in info.value.problems[0][2]


def test_an_ipv6_clusterip_already_taken_is_refused():
    services = [_svc("a", ipFamilies=["IPv6"], clusterIP="fd00:10:96::7"),
                _svc("b", ipFamilies=["IPv6"], clusterIP="fd00:10:96::7")]
    with pytest.raises(AllocationError) as info:
        allocate(services, {}, DUAL_POOLS)
    assert [f for _, f, _ in info.value.problems] == ["spec.clusterIP"]


def test_an_ipv4_only_allocation_stores_no_ipv6_key():
    assert "clusterIP6" not in allocate([_svc()], {}, Pools())["default/web"].to_dict()


def test_node_ports_are_shared_by_both_families():
    got = allocate([_svc(type="NodePort", ipFamilyPolicy="PreferDualStack")], {}, DUAL_POOLS)["default/web"]
    assert list(got.node_ports) == ["80/TCP"] and got.cluster_ip6


def test_the_service_object_lists_clusterips_in_family_order():
    alloc = Allocation("10.96.0.50", cluster_ip6="fd00:10:96::50")
    obj = service_view(_svc(ipFamilies=["IPv6", "IPv4"], ipFamilyPolicy="PreferDualStack"), alloc, ("IPv6", "IPv4"))
    assert obj["spec"]["clusterIP"] == "fd00:10:96::50"
    assert obj["spec"]["clusterIPs"] == ["fd00:10:96::50", "10.96.0.50"]


def _desired(*services: dict):
    objects = {f"Pod/default/{p['metadata']['name']}": p for p in (_pod("a", "lab-worker"), _pod("b", "lab-worker2"))}
    objects |= {f"Service/default/{s['metadata']['name']}": s for s in services}
    return compile_objects(objects, _dual_config())


def test_ip6_rules_dnat_the_ipv6_clusterip_to_the_ipv6_endpoints():
    desired = _desired(_svc(ipFamilyPolicy="PreferDualStack", sessionAffinity="ClientIP"))
    svc = desired.services["default/web"]
    text = render_full(desired.rulesets["lab-worker"])
    assert f"{svc.cluster_ip6} . tcp . 80 : goto" in text
    assert "ip6 daddr . meta l4proto . th dport vmap @service-ips6" in text
    for ep in svc.endpoints:
        assert f"dnat ip6 to [{ep.ip6}]:8080" in text
        assert f"ip6 saddr {ep.ip6} jump mark-for-masquerade" in text   # hairpin
        assert f"dnat ip to {ep.ip}:8080" in text
    assert f"ip6 daddr {svc.cluster_ip6} tcp dport 80 ip6 saddr != fd00:10:244::/56 jump mark-for-masquerade" in text
    assert "type ipv6_addr; flags dynamic,timeout; timeout 10800s;" in text
    assert "update @" in text and "{ ip6 saddr }" in text
    assert "ip6 daddr @cluster-ips6 reject" in text


def test_ipv6_nodeport_on_the_nodes_ipv6_address_and_reject_without_endpoints():
    desired = _desired(_svc(type="NodePort", ipFamilyPolicy="PreferDualStack"),
                       _svc("empty", ipFamilies=["IPv6"], selector={"app": "none"}))
    rs = desired.rulesets["lab-worker"]
    node = next(n for n in desired.topology.nodes if n.name == "lab-worker")
    assert rs.sets["nodeport-ips6"].elements == frozenset({node.underlay_ip6})
    port = desired.services["default/web"].ports[0].node_port
    assert any(e.startswith(f"tcp . {port} : goto") for e in rs.sets["service-nodeports6"].elements)
    empty = desired.services["default/empty"]
    reject = f"{empty.cluster_ip6} . tcp . 80 : goto reject-chain"
    assert rs.sets["no-endpoint-services6"].elements == frozenset({reject})
    assert empty.cluster_ip is None
    assert not any(str(empty.cluster_ip6) in e for e in rs.sets["service-ips6"].elements)


def test_ipv6_local_traffic_policies_use_this_nodes_endpoints():
    desired = _desired(_svc(type="NodePort", ipFamilyPolicy="PreferDualStack", externalTrafficPolicy="Local",
                            internalTrafficPolicy="Local"))
    svc = desired.services["default/web"]
    here = next(e for e in svc.endpoints if e.node == "lab-worker")
    text = render_full(desired.rulesets["lab-worker"])
    local6 = [line for line in text.splitlines() if "local-" in line and "ipv6" in line]
    assert local6, "an internalTrafficPolicy Local chain for IPv6"
    assert f"dnat ip6 to [{here.ip6}]:8080" in text
    cp = render_full(desired.rulesets["lab-control-plane"])
    assert "goto no-local-endpoints" in cp   # no endpoint there: dropped, both families


def test_an_ipv4_only_service_has_no_ip6_rules_and_names_take_no_colons():
    desired = _desired(_svc(), _svc("six", ipFamilies=["IPv6"], sessionAffinity="ClientIP"))
    rs = desired.rulesets["lab-worker"]
    four = desired.services["default/web"]
    assert four.cluster_ip6 is None and not any("default/web/" in c and "ipv6" in c for c in rs.chains)
    assert not [n for n in [*rs.chains, *rs.sets] if ":" in n], "nft chain and set names take no colons"


def test_the_nodes_route_the_ipv6_service_range_to_cni0():
    topo = _dual_config().topology()
    node = topo.nodes[0]
    assert ("fd00:10:96::/112", None, "cni0") in [(r.dst, r.via, r.dev) for r in topo.node_routes(node)]


def test_dns_answers_aaaa_and_ip6_arpa_ptr_for_an_ipv6_clusterip():
    desired = _desired(_svc(ipFamilyPolicy="PreferDualStack"), _svc("four"),
                       _svc("six", ipFamilies=["IPv6"]))
    zone = build_zone(desired.dns_view)
    web, six = desired.services["default/web"], desired.services["default/six"]
    name = "web.default.svc.cluster.local"
    assert [str(r.rdata) for r in zone.lookup(name, QTYPE.AAAA).answer] == [web.cluster_ip6]
    assert [str(r.rdata) for r in zone.lookup(name, QTYPE.A).answer] == [web.cluster_ip]
    ptr = zone.lookup(ipaddress.ip_address(web.cluster_ip6).reverse_pointer, QTYPE.PTR)
    assert [str(r.rdata) for r in ptr.answer] == [name + "."]
    four6 = zone.lookup("four.default.svc.cluster.local", QTYPE.AAAA)
    assert four6.answer == [] and four6.rcode == 0, "IPv4 only: AAAA is NODATA"
    six4 = zone.lookup("six.default.svc.cluster.local", QTYPE.A)
    assert six4.answer == [] and six4.rcode == 0, "IPv6 only: A is NODATA"
    assert [str(r.rdata) for r in zone.lookup("six.default.svc.cluster.local", QTYPE.AAAA).answer] == [
        six.cluster_ip6]


def test_ipfamilies_default_from_the_asked_clusterips():
    from netlab.compile import families
    dual = ("IPv4", "IPv6")
    assert families.service_families({"clusterIP": "fd00:10:96::77"}, dual) == ("IPv6",)
    assert families.service_families({"ipFamilyPolicy": "PreferDualStack",
                                      "clusterIPs": ["fd00:10:96::77", "10.96.0.77"]}, dual) == ("IPv6", "IPv4")
    got = allocate([_svc(clusterIP="fd00:10:96::77")], {}, DUAL_POOLS)["default/web"]
    assert (got.cluster_ip, got.cluster_ip6) == (None, "fd00:10:96::77")


@pytest.mark.parametrize(("spec", "field"), [
    ({"clusterIPs": ["10.96.0.7", "fd00:10:96::7"]}, "spec.clusterIPs"),
    ({"ipFamilyPolicy": "PreferDualStack", "clusterIPs": ["10.96.0.7", "10.96.0.8"]}, "spec.clusterIPs[1]"),
    ({"ipFamilies": ["IPv6"], "clusterIP": "10.96.0.7"}, "spec.clusterIPs[0]"),
])
def test_clusterips_that_do_not_fit_the_families_are_refused(spec, field):
    with pytest.raises(AllocationError) as info:
        allocate([_svc(**spec)], {}, DUAL_POOLS)
    assert field in [f for _, f, _ in info.value.problems]


def test_trace_walks_a_table_with_ipv6_services():
    from netlab.trace.model import plan
    from netlab.trace.nft_syntax import parse_rule

    assert parse_rule("meta l4proto tcp dnat ip6 to [fd00:10:244:1::2]:8080")[-1].value == "[fd00:10:244:1::2]:8080"
    desired = _desired(_svc(type="NodePort", ipFamilyPolicy="PreferDualStack"))
    p = plan("a", "web", 80, "tcp", desired.topology, list(desired.services.values()), desired.network.policy,
             rulesets=desired.rulesets)
    assert p.outcome == "connected" and any("DNAT to 10.244.2.2:8080" in s.what for s in p.steps)


def test_graph_shows_both_clusterips():
    from netlab.compile.graph import _service_lines
    obj = service_view(_svc(ipFamilyPolicy="PreferDualStack"), Allocation("10.96.0.5", cluster_ip6="fd00:10:96::5"),
                       ("IPv4", "IPv6"))
    assert "ClusterIP 10.96.0.5, fd00:10:96::5" in _service_lines(obj)
