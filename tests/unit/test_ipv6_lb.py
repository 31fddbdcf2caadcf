"""IPv6 at the cluster's edge in a dual-stack cluster: the IPv6 LoadBalancer pool (validation, allocation, status,
announcement), ip6 rules for LoadBalancer IPs and externalIPs, and nginx listening on IPv6."""

from __future__ import annotations

import ipaddress

import pytest

from netlab.api.views import service as service_view
from netlab.compile.config import ClusterConfig
from netlab.compile.desired import compile_objects
from netlab.compile.nftables import render_full
from netlab.compile.nginx import render
from netlab.compile.services import Allocation, Pools, allocate
from netlab.model.cluster import Cluster

POOL6 = ("fc00:f853:ccd:e793::255:200", "fc00:f853:ccd:e793::255:250")
DUAL = Pools(families=("IPv4", "IPv6"), service_cidr6="fd00:10:96::/112", lb_pool6=POOL6)
V4_POOL = ipaddress.ip_network("172.18.255.192/26")


def _svc(name: str = "web", **spec) -> dict:
    return {"kind": "Service", "metadata": {"name": name, "namespace": "default"},
            "spec": {"type": "LoadBalancer", "selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": 8080}],
                     **spec}}


def _pod(name: str, node: str) -> dict:
    return {"kind": "Pod", "metadata": {"name": name, "namespace": "default", "labels": {"app": "web"}},
            "spec": {"containers": [{"name": "c"}], "nodeName": node}}


def _config(**doc) -> ClusterConfig:
    return ClusterConfig.from_manifest({"networking": {"ipFamily": "dual"}, **doc}, "lab")


def _issues(doc: dict) -> list[tuple[str, str]]:
    return Cluster.model_validate({"kind": "Cluster", "apiVersion": "netlab.dev/v1alpha1", **doc}).issues()


def test_the_default_ipv6_pool_sits_in_the_underlays_ipv6_prefix():
    assert _config().lb_pool6 == POOL6
    assert ClusterConfig.from_manifest({}, "lab").lb_pool6 is None   # an IPv4 cluster has none
    custom = _config(underlay={"subnetIPv6": "fd99:1::/64"})
    assert custom.lb_pool6 == ("fd99:1::255:200", "fd99:1::255:250")
    given = _config(loadBalancerPool={"startIPv6": "fc00:f853:ccd:e793::a0", "endIPv6": "fc00:f853:ccd:e793::a9"})
    assert given.lb_pool6 == ("fc00:f853:ccd:e793::a0", "fc00:f853:ccd:e793::a9")


@pytest.mark.parametrize(("doc", "expected"), [
    ({"loadBalancerPool": {"startIPv6": "fc00:f853:ccd:e793::a0", "endIPv6": "fc00:f853:ccd:e793::a9"}},
     [("loadBalancerPool.startIPv6", "the cluster has no IPv6 (networking.ipFamily is ipv4)"),
      ("loadBalancerPool.endIPv6", "the cluster has no IPv6 (networking.ipFamily is ipv4)")]),
    ({"networking": {"ipFamily": "dual"}, "loadBalancerPool": {"startIPv6": "fc00:f853:ccd:e793::a0"}},
     [("loadBalancerPool.endIPv6", "startIPv6 and endIPv6 are given together")]),
    ({"networking": {"ipFamily": "dual"}, "loadBalancerPool": {"startIPv6": "10.0.0.1", "endIPv6": "fd00::9"}},
     [("loadBalancerPool.startIPv6", "must be an IPv6 address, got '10.0.0.1'"),
      ("loadBalancerPool.endIPv6",
       "fd00::9 must be a host address inside the underlay's IPv6 prefix fc00:f853:ccd:e793::/64")]),
    ({"networking": {"ipFamily": "dual"},
      "loadBalancerPool": {"startIPv6": "fc00:f853:ccd:e793::3", "endIPv6": "fc00:f853:ccd:e793::2"}},
     [("loadBalancerPool.startIPv6", "fc00:f853:ccd:e793::3 collides with the host and node addresses (::1 to ::4)"),
      ("loadBalancerPool.endIPv6", "fc00:f853:ccd:e793::2 collides with the host and node addresses (::1 to ::4)"),
      ("loadBalancerPool",
       "startIPv6 fc00:f853:ccd:e793::3 is after endIPv6 fc00:f853:ccd:e793::2")]),
])
def test_the_ipv6_pool_is_validated_naming_the_field(doc, expected):
    assert _issues(doc) == expected


def test_a_dual_stack_loadbalancer_gets_one_address_per_family():
    out = allocate([_svc(ipFamilyPolicy="PreferDualStack"), _svc("four"), _svc("six", ipFamilies=["IPv6"])],
                   {}, DUAL)
    both, four, six = out["default/web"], out["default/four"], out["default/six"]
    lo, hi = (ipaddress.ip_address(a) for a in POOL6)
    assert ipaddress.ip_address(both.load_balancer_ip) in V4_POOL
    assert lo <= ipaddress.ip_address(both.load_balancer_ip6) <= hi
    assert four.load_balancer_ip and four.load_balancer_ip6 is None
    assert six.load_balancer_ip is None and six.load_balancer_ip6
    assert len({both.load_balancer_ip6, six.load_balancer_ip6}) == 2
    assert Allocation.from_dict(both.to_dict()) == both
    assert "loadBalancerIP6" not in four.to_dict()   # an IPv4 allocation's stored form is unchanged
    assert allocate([_svc(ipFamilyPolicy="PreferDualStack")], {"default/web": both}, DUAL)["default/web"] == both


def test_an_asked_ipv6_loadbalancerip_is_honoured_for_its_family():
    asked = "fc00:f853:ccd:e793::255:240"
    got = allocate([_svc(ipFamilyPolicy="RequireDualStack", loadBalancerIP=asked)], {}, DUAL)["default/web"]
    assert got.load_balancer_ip6 == asked and got.load_balancer_ip
    four = allocate([_svc(ipFamilyPolicy="RequireDualStack", loadBalancerIP="172.18.255.230")], {}, DUAL)
    assert four["default/web"].load_balancer_ip == "172.18.255.230" and four["default/web"].load_balancer_ip6


def test_an_empty_ipv6_pool_leaves_that_family_pending():
    one = Pools(families=("IPv4", "IPv6"), service_cidr6="fd00:10:96::/112", lb_pool6=(POOL6[0], POOL6[0]))
    out = allocate([_svc("a", ipFamilyPolicy="PreferDualStack"), _svc("b", ipFamilyPolicy="PreferDualStack")],
                   {}, one)
    assert sorted(str(a.load_balancer_ip6) for a in out.values()) == ["None", POOL6[0]]
    assert all(a.load_balancer_ip for a in out.values())


def test_status_lists_an_ingress_address_per_family_in_ipfamilies_order():
    alloc = Allocation("10.96.0.50", {"80/TCP": 30080}, "172.18.255.201", "fd00:10:96::50", POOL6[0])
    obj = service_view(_svc(ipFamilies=["IPv6", "IPv4"], ipFamilyPolicy="PreferDualStack"), alloc, ("IPv6", "IPv4"))
    assert obj["status"]["loadBalancer"]["ingress"] == [{"ip": POOL6[0], "ipMode": "VIP"},
                                                        {"ip": "172.18.255.201", "ipMode": "VIP"}]


def _desired(*services: dict):
    objects = {f"Pod/default/{p['metadata']['name']}": p for p in (_pod("a", "lab-worker"), _pod("b", "lab-worker2"))}
    objects |= {f"Service/default/{s['metadata']['name']}": s for s in services}
    return compile_objects(objects, _config())


def test_the_announcing_node_carries_both_loadbalancer_ips():
    desired = _desired(_svc(ipFamilyPolicy="PreferDualStack"))
    svc = desired.services["default/web"]
    announced = {n: ips for n, ips in desired.network.announcements.items() if ips}
    assert list(announced.values()) == [frozenset({svc.load_balancer_ip, svc.load_balancer_ip6})]


def test_ip6_rules_for_loadbalancer_ips_externalips_and_source_ranges():
    desired = _desired(_svc(ipFamilyPolicy="PreferDualStack", externalIPs=["fd99::7", "192.0.2.7"],
                            loadBalancerSourceRanges=["fc00:f853:ccd:e793::/64", "172.18.0.0/16"]),
                       _svc("empty", ipFamilyPolicy="PreferDualStack", selector={"app": "none"},
                            externalIPs=["fd99::8"]))
    rs = desired.rulesets["lab-worker"]
    web, empty = desired.services["default/web"], desired.services["default/empty"]
    text = render_full(rs)
    six = {e.split(" : ")[0]: e.split(" : ")[1] for e in rs.sets["service-ips6"].elements}
    four = {e.split(" : ")[0] for e in rs.sets["service-ips"].elements}
    assert f"{web.load_balancer_ip6} . tcp . 80" in six and "fd99::7 . tcp . 80" in six
    assert "192.0.2.7 . tcp . 80" in four and "fd99::7 . tcp . 80" not in four
    assert f"{web.load_balancer_ip} . tcp . 80" in four and f"{web.load_balancer_ip6} . tcp . 80" not in four
    fw6 = six[f"{web.load_balancer_ip6} . tcp . 80"].split()[-1].strip('"')
    allow, drop = rs.chains[fw6].rules
    assert allow.startswith("ip6 saddr fc00:f853:ccd:e793::/64 goto ") and drop == "drop"
    assert "ip saddr 172.18.0.0/16 goto" in text and "ip saddr fc00" not in text
    assert rs.sets["no-endpoint-services6"].elements >= {
        f"{empty.load_balancer_ip6} . tcp . 80 : goto reject-chain", "fd99::8 . tcp . 80 : goto reject-chain"}
    for ep in web.endpoints:
        assert f"dnat ip6 to [{ep.ip6}]:8080" in text


def test_source_ranges_of_one_family_leave_the_other_unfiltered():
    desired = _desired(_svc(ipFamilyPolicy="PreferDualStack", loadBalancerSourceRanges=["172.18.0.0/16"]))
    rs = desired.rulesets["lab-worker"]
    web = desired.services["default/web"]
    six = dict(e.split(" : ") for e in rs.sets["service-ips6"].elements)
    entry = six[f"{web.load_balancer_ip6} . tcp . 80"].split()[-1].strip('"')
    assert rs.chains[entry].rules[0] == "jump mark-for-masquerade"   # the external chain itself, no firewall


def test_external_traffic_policy_local_over_ipv6_keeps_to_this_nodes_endpoints():
    desired = _desired(_svc(ipFamilyPolicy="PreferDualStack", externalTrafficPolicy="Local"))
    web = desired.services["default/web"]
    here = next(e for e in web.endpoints if e.node == "lab-worker")
    rs = desired.rulesets["lab-worker"]
    six = dict(e.split(" : ") for e in rs.sets["service-ips6"].elements)
    ext = six[f"{web.load_balancer_ip6} . tcp . 80"].split()[-1].strip('"')
    short_circuit, _masq, _local, rule = rs.chains[ext].rules
    assert "ipv6" in ext and here.ip6.replace(":", "-") in rule
    assert short_circuit.startswith("ip6 saddr fd00:10:244::/56 goto "), "pods short-circuit to every endpoint"
    cp = dict(e.split(" : ") for e in desired.rulesets["lab-control-plane"].sets["service-ips6"].elements)
    assert desired.rulesets["lab-control-plane"].chains[
        cp[f"{web.load_balancer_ip6} . tcp . 80"].split()[-1].strip('"')].rules[-1] == "drop"


def test_nginx_listens_on_ipv6_only_in_a_cluster_with_ipv6():
    backend = {"service": {"name": "web", "port": {"number": 80}}}
    ing = {"kind": "Ingress", "metadata": {"name": "i", "namespace": "default"},
           "spec": {"ingressClassName": "nginx", "rules": [{"host": "a.test", "http": {"paths": [
               {"path": "/", "pathType": "Prefix", "backend": backend}]}}]}}
    kw = {"ingress_classes": {"nginx"}, "run_dir": "/tmp/x", "default_cert": ("c", "k")}
    six = render([ing], {}, {}, ipv6=True, **kw)
    four = render([ing], {}, {}, **kw)
    text6, text4 = six.nginx_conf, four.nginx_conf
    assert "listen [::]:80 default_server;" in text6 and "listen [::]:443 ssl default_server;" in text6
    assert "listen [::]:80;" in text6 and "[::]" not in text4


def test_an_externalip_of_a_family_the_cluster_lacks_is_refused_naming_the_field():
    from netlab.compile.families import service_family_issues
    spec = {"externalIPs": ["192.0.2.7", "fd99::7"], "ports": [{"port": 80}]}
    assert service_family_issues(spec, ("IPv4",)) == [
        ("spec.externalIPs[1]", 'Invalid value: "fd99::7": IPv6 is not configured on this cluster')]
    assert service_family_issues(spec, ("IPv4", "IPv6")) == []
    from netlab.model.core import Service
    bad = Service.model_validate({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "x"}, "spec": {
        "externalIPs": ["fd99::7", "::1", "fe80::1"], "ports": [{"port": 80}]}})
    assert [p for p, _ in bad.issues()] == ["spec.externalIPs[1]", "spec.externalIPs[2]"]


def test_ipv6_udp_flows_to_a_removed_endpoint_are_stale_on_every_ipv6_way_in():
    from netlab.compile.services import Endpoint, ResolvedService, ServicePortView
    from netlab.compile.stale_flows import StaleFlow, stale_flows

    def dns(*eps: tuple[str, str]) -> ResolvedService:
        port = ServicePortView("dns", "UDP", 53, 30053, {ip: 5353 for ip, _ in eps})
        return ResolvedService("default", "dns", "LoadBalancer", "10.96.0.20", "172.18.255.200", (port,),
                               tuple(Endpoint(ip, f"p{i}", "n", True, ip6=ip6) for i, (ip, ip6) in enumerate(eps)),
                               ip_families=("IPv4", "IPv6"), cluster_ip6="fd00:10:96::20",
                               load_balancer_ip6=POOL6[0], external_ips=("fd99::7",))
    a, b = ("10.244.1.2", "fd00:10:244:1::2"), ("10.244.2.2", "fd00:10:244:2::2")
    got = stale_flows([dns(a, b)], [dns(b)])
    assert got == sorted([StaleFlow(None, 30053, a[0]), StaleFlow(None, 30053, a[1]),
                          StaleFlow("10.96.0.20", 53, a[0]), StaleFlow("172.18.255.200", 53, a[0]),
                          StaleFlow("fd00:10:96::20", 53, a[1]), StaleFlow(POOL6[0], 53, a[1]),
                          StaleFlow("fd99::7", 53, a[1])], key=lambda f: (f.dst or "", f.port, f.endpoint or ""))
    assert StaleFlow("fd00:10:96::20", 53, None) in stale_flows([dns()], [dns(a)])


def test_the_v1_endpoints_object_lists_the_primary_familys_addresses():
    from netlab.compile.endpoint_objects import endpoints_object
    desired = _desired(_svc("six", type="ClusterIP", ipFamilyPolicy="PreferDualStack", ipFamilies=["IPv6", "IPv4"]),
                       _svc("four", type="ClusterIP", ipFamilyPolicy="PreferDualStack"),
                       _svc("only6", type="ClusterIP", ipFamilies=["IPv6"]))
    services = desired.services
    for name, family in (("six", "IPv6"), ("four", "IPv4"), ("only6", "IPv6")):
        svc = services[f"default/{name}"]
        (subset,) = endpoints_object(svc, None)["subsets"]
        assert sorted(a["ip"] for a in subset["addresses"]) == sorted(
            e.ip6 if family == "IPv6" else e.ip for e in svc.endpoints), name
        assert {a["targetRef"]["name"] for a in subset["addresses"]} == {"a", "b"}
