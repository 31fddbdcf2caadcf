"""kind's networking.ipFamily with comma-separated subnets: defaults per family and validation naming the field."""

import ipaddress
import random

import pytest
from dnslib import QTYPE

from netlab.api import views
from netlab.compile import families, names
from netlab.compile.config import ClusterConfig
from netlab.compile.nft_masquerade import add_node_egress
from netlab.compile.nftables import Chain, Ruleset
from netlab.compile.topology import order_by_family
from netlab.compile.workloads import PlacedPod, expand, place
from netlab.images import echo
from netlab.model.cluster import Cluster


def _cluster(networking: dict, api: str = "kind.x-k8s.io/v1alpha4", **extra) -> Cluster:
    return Cluster.model_validate({"apiVersion": api, "kind": "Cluster",
                                   "nodes": [{"role": "control-plane"}, {"role": "worker"}, {"role": "worker"}],
                                   "networking": networking, **extra})


def test_kind_defaults_follow_the_family():
    dual = _cluster({"ipFamily": "dual"})
    assert dual.networking.pod_subnet == "10.244.0.0/16,fd00:10:244::/56"
    assert dual.networking.service_subnet == "10.96.0.0/16,fd00:10:96::/112"
    assert dual.issues() == []
    v4 = _cluster({})
    assert (v4.networking.ip_family, v4.networking.pod_subnet) == ("ipv4", "10.244.0.0/16")
    assert v4.notes == [] and "subnetIPv6" not in v4.to_dict()["underlay"]


def test_given_subnets_are_kept_in_their_order():
    c = _cluster({"ipFamily": "dual", "podSubnet": "10.1.0.0/16, fd00:1::/56",
                  "serviceSubnet": "fd00:2::/112,10.2.0.0/16"}, "netlab.dev/v1alpha1",
                 underlay={"subnetIPv6": "fd00:99::/64"})
    assert c.issues() == []
    assert c.networking.pod_subnet == "10.1.0.0/16, fd00:1::/56"
    config = ClusterConfig.from_manifest(c.to_dict())
    assert (config.pod_subnet, config.service_subnet, config.pod_subnet6) == ("10.1.0.0/16", "10.2.0.0/16",
                                                                                 "fd00:1::/56")
    assert config.ip_families == ("IPv4", "IPv6") and config.underlay6 == "fd00:99::/64"


@pytest.mark.parametrize(("networking", "extra", "expected"), [
    ({"ipFamily": "dual", "podSubnet": "10.1.0.0/16"}, {},
     [("networking.podSubnet", "ipFamily dual needs one IPv4 and one IPv6 CIDR, got 10.1.0.0/16")]),
    ({"ipFamily": "dual", "serviceSubnet": "fd00:1::/112,fd00:2::/112"}, {},
     [("networking.serviceSubnet", "has more than one IPv6 CIDR: fd00:1::/112,fd00:2::/112")]),
    ({"podSubnet": "fd00:1::/56"}, {},
     [("networking.podSubnet", "ipFamily ipv4 needs an IPv4 CIDR, got fd00:1::/56")]),
    ({"ipFamily": "dual", "podSubnet": "10.244.0.0/16,fd00:10:244::/63"}, {},
     [("networking.podSubnet", "fd00:10:244::/63 is too small for 3 nodes (each node needs a /64)")]),
    ({"ipFamily": "dual", "podSubnet": "10.244.0.0/16,fd00:10:244::/80"}, {},
     [("networking.podSubnet", "fd00:10:244::/80 is too small for 3 nodes (each node needs a /64)")]),
    ({"ipFamily": "dual", "serviceSubnet": "10.96.0.0/16,fd00:10:96::/64"}, {},
     [("networking.serviceSubnet",
       "fd00:10:96::/64 is too large: kube-apiserver takes an IPv6 service range of /108 or smaller")]),
    ({"ipFamily": "dual", "serviceSubnet": "10.96.0.0/16,fd00:10:244::/112"}, {},
     [("networking.serviceSubnet", "fd00:10:244::/112 overlaps networking.podSubnet fd00:10:244::/56")]),
    ({"ipFamily": "dual", "podSubnet": "10.244.0.0/16,fd00:zz::/56"}, {},
     [("networking.podSubnet", "must be a CIDR such as 10.0.0.0/16 or fd00:10::/56, got 'fd00:zz::/56' "
                               "(Only hex digits permitted in 'zz' in 'fd00:zz::')")]),
])
def test_bad_family_input_names_the_field(networking, extra, expected):
    assert _cluster(networking, **extra).issues() == expected


def test_every_problem_at_once():
    c = _cluster({"ipFamily": "dual", "podSubnet": "10.1.0.0/16", "serviceSubnet": "fd00::/64,10.96.0.0/16"})
    assert [path for path, _ in c.issues()] == ["networking.podSubnet", "networking.serviceSubnet"]


def test_unknown_family_is_refused():
    with pytest.raises(ValueError, match="ipFamily"):
        _cluster({"ipFamily": "ipv5"})


def test_node_cidrs_per_family():
    assert [families.node_cidr("fd00:10:244::/56", 64, i) for i in range(3)] == [
        "fd00:10:244::/64", "fd00:10:244:1::/64", "fd00:10:244:2::/64"]
    assert families.node_cidr("10.244.0.0/16", 24, 2) == "10.244.2.0/24"
    with pytest.raises(ValueError, match="no room for node 3"):
        families.node_cidr("fd00::/63", 64, 2)
    assert families.nth_address("fd00:10:96::/112", 10) == "fd00:10:96::a"


def _dual_config() -> ClusterConfig:
    return ClusterConfig.from_manifest(_cluster({"ipFamily": "dual"}).to_dict(), "lab")


def test_dual_stack_topology_gives_each_node_an_ipv6_range_and_routes():
    topo = _dual_config().topology()
    assert topo.ip_families == ("IPv4", "IPv6") and topo.host_ip6 == "fc00:f853:ccd:e793::1"
    assert [(n.underlay_ip6, n.pod_cidr6, n.gateway6) for n in topo.nodes] == [
        ("fc00:f853:ccd:e793::2", "fd00:10:244::/64", "fd00:10:244::1"),
        ("fc00:f853:ccd:e793::3", "fd00:10:244:1::/64", "fd00:10:244:1::1"),
        ("fc00:f853:ccd:e793::4", "fd00:10:244:2::/64", "fd00:10:244:2::1")]
    assert [(r.dst, r.via) for r in topo.host_routes()][3:] == [
        ("fd00:10:244::/64", "fc00:f853:ccd:e793::2"), ("fd00:10:244:1::/64", "fc00:f853:ccd:e793::3"),
        ("fd00:10:244:2::/64", "fc00:f853:ccd:e793::4")]
    assert [(r.dst, r.via, r.dev) for r in topo.node_routes(topo.nodes[1])][4:] == [
        ("fd00:10:96::/112", None, "cni0"),
        ("fd00:10:244::/64", "fc00:f853:ccd:e793::2", "eth0"), ("fd00:10:244:2::/64", "fc00:f853:ccd:e793::4", "eth0")]
    vx = ClusterConfig.from_manifest({**_cluster({"ipFamily": "dual"}).to_dict(), "mode": "vxlan"}).topology()
    assert [(r.dst, r.via, r.dev, r.onlink) for r in vx.node_routes(vx.nodes[1])][5:] == [
        ("fd00:10:244::/64", "fd00:10:244::", "nlvxlan0", True),
        ("fd00:10:244:2::/64", "fd00:10:244:2::", "nlvxlan0", True)]


def test_ipv4_topology_reads_as_before():
    d = ClusterConfig.from_manifest(None).topology([("default", "a", "netlab-worker", "10.244.1.2")]).to_dict()
    assert "pod_subnet6" not in d and "pod_cidr6" not in d["nodes"][0] and "ip6" not in d["pods"][0]


def test_dual_stack_pods_get_one_address_per_family_with_host_local_rotation():
    topo = _dual_config().topology()
    pods = [{"kind": "Pod", "metadata": {"name": n, "namespace": "default"},
             "spec": {"containers": [{"name": "c"}], "nodeName": "lab-worker"}} for n in ("a", "b")]
    cursor: dict[str, str] = {}
    placed = place(expand(pods, [], {}), topo.nodes, {}, 0.0, random.Random(1), cursor)
    assert [(p.ip, p.ip6) for p in placed] == [("10.244.1.2", "fd00:10:244:1::2"), ("10.244.1.3", "fd00:10:244:1::3")]
    assert cursor == {"lab-worker": "10.244.1.3", "lab-worker/IPv6": "fd00:10:244:1::3"}
    kept = {p.key: p for p in placed[1:]}   # a is deleted: its addresses are not handed out again at once
    again = place(expand([pods[1], {**pods[0], "metadata": {"name": "c", "namespace": "default"}}], [], kept),
                  topo.nodes, kept, 1.0, random.Random(1), cursor)
    assert {p.name: p.ip6 for p in again} == {"b": "fd00:10:244:1::3", "c": "fd00:10:244:1::4"}
    assert PlacedPod.from_dict(again[0].to_dict()) == again[0]
    view = views.pod(again[0], [], topo, ready=True)
    assert view["status"]["podIPs"] == [{"ip": again[0].ip}, {"ip": again[0].ip6}]
    assert view["status"]["podIP"] == again[0].ip


def test_order_by_family_puts_the_primary_first():
    assert order_by_family(["10.0.0.1", "fd00::1"], ("IPv6", "IPv4")) == ["fd00::1", "10.0.0.1"]
    assert order_by_family(["10.0.0.1", ""], ("IPv4",)) == ["10.0.0.1"]


def test_ipv6_pod_traffic_is_never_masqueraded_in_a_dual_stack_cluster():
    ruleset = Ruleset(table="netlab")
    ruleset.add_chain(Chain(names.CHAIN_NAT_POSTROUTING, ()))
    add_node_egress(ruleset, "10.244.0.0/16", ["10.244.0.0/16"], ipv6=True)
    assert ruleset.chains[names.CHAIN_IP_MASQ_AGENT].rules[0] == "meta nfproto ipv6 return"


def test_echo_identity_shows_both_addresses_and_brackets_ipv6_clients():
    ident = echo.Identity.from_env({"POD_IP": "10.244.1.2", "POD_IPS": "10.244.1.2,fd00:10:244:1::2"})
    info = echo.describe(ident, ("fd00:10:244:2::5", 4242), "GET / HTTP/1.1", "x")
    assert info["ips"] == "10.244.1.2,fd00:10:244:1::2" and info["client"] == "[fd00:10:244:2::5]:4242"
    assert "ips" not in echo.describe(echo.Identity.from_env({"POD_IP": "10.244.1.2"}), ("10.244.2.5", 1), "", "")
    assert ident.listen_hosts == ("0.0.0.0", "::")
    assert echo.Identity.from_env({"POD_IP": "fd00:10:244:1::2"}).listen_hosts == ("::",), "IPv6-only"
    assert echo.Identity.from_env({}).listen_hosts == ("0.0.0.0",)


def _svc(**spec) -> dict:
    return {"ports": [{"port": 80}], **spec}


V4, DUAL = ("IPv4",), ("IPv4", "IPv6")


@pytest.mark.parametrize(("spec", "cluster", "expected"), [
    (_svc(), V4, []),
    (_svc(ipFamilyPolicy="PreferDualStack", ipFamilies=["IPv4"]), V4, []),
    (_svc(ipFamilyPolicy="RequireDualStack"), V4,
     [("spec.ipFamilyPolicy",
       'Invalid value: "RequireDualStack": this cluster is not configured for dual-stack services')]),
    (_svc(ipFamilies=["IPv6"]), V4, [("spec.ipFamilies[0]", 'Invalid value: "IPv6": not configured on this cluster')]),
    (_svc(ipFamilyPolicy="PreferDualStack", ipFamilies=["IPv4", "IPv4"]), DUAL,
     [("spec.ipFamilies[1]", 'Duplicate value: "IPv4"')]),
    (_svc(ipFamilies=["IPv4", "IPv6"]), DUAL,
     [("spec.ipFamilies", "must have exactly one family when spec.ipFamilyPolicy is SingleStack")]),
    (_svc(clusterIP="fd00:10:96::5", clusterIPs=["fd00:10:96::5"]), V4,
     [("spec.clusterIPs[0]", 'Invalid value: "fd00:10:96::5": IPv6 is not configured on this cluster')]),
    (_svc(ipFamilies=["IPv4"], clusterIPs=["fd00:10:96::5"]), DUAL,
     [("spec.clusterIPs[0]", 'Invalid value: "fd00:10:96::5": expected an IPv4 address (spec.ipFamilies[0])')]),
    (_svc(ipFamilies=["IPv4"]), DUAL, []),
    (_svc(type="ExternalName", externalName="x.example"), V4, []),
])
def test_service_families_are_checked_against_the_cluster(spec, cluster, expected):
    assert families.service_family_issues(spec, cluster) == expected


def test_ipv6_services_are_allowed_in_a_dual_stack_cluster():
    assert families.service_family_issues(_svc(ipFamilyPolicy="PreferDualStack"), DUAL) == []
    assert families.service_family_issues(_svc(ipFamilies=["IPv6"]), DUAL) == []


def test_allocation_names_the_service_and_field():
    from netlab.compile.services import AllocationError, Pools, allocate
    svc = {"kind": "Service", "metadata": {"name": "web", "namespace": "default"},
           "spec": _svc(ipFamilyPolicy="RequireDualStack")}
    with pytest.raises(AllocationError) as info:
        allocate([svc], {}, Pools())
    assert [(o, f) for o, f, _ in info.value.problems] == [("Service default/web", "spec.ipFamilyPolicy")]


def test_service_families_as_the_api_server_sets_them():
    assert families.service_families({}, V4) == ("IPv4",)
    assert families.service_families({"ipFamilyPolicy": "PreferDualStack"}, V4) == ("IPv4",)
    assert families.service_families({"ipFamilyPolicy": "PreferDualStack", "ipFamilies": ["IPv4"]}, DUAL) == DUAL
    assert families.service_families({"ipFamilyPolicy": "RequireDualStack", "ipFamilies": ["IPv6"]}, DUAL) == (
        "IPv6", "IPv4")
    assert families.service_families({"ipFamilies": ["IPv6"]}, DUAL) == ("IPv6",)


def test_headless_services_may_be_dual_stack():
    headless = _svc(clusterIP="None", ipFamilyPolicy="RequireDualStack")
    assert families.service_family_issues(headless, DUAL) == []
    assert [f for f, _ in families.service_family_issues(headless, V4)] == ["spec.ipFamilyPolicy"]


def test_a_dual_stack_headless_service_has_one_endpointslice_per_family_and_aaaa_records():
    from netlab.compile.desired import compile_objects
    from netlab.compile.dnszone import build_zone
    from netlab.compile.endpoint_objects import endpointslice_objects

    cfg = _dual_config()
    pod = {"kind": "Pod", "metadata": {"name": "db-0", "namespace": "default", "labels": {"app": "db"}},
           "spec": {"containers": [{"name": "c"}], "nodeName": "lab-worker", "hostname": "db-0", "subdomain": "db"}}
    svc = {"kind": "Service", "metadata": {"name": "db", "namespace": "default"},
           "spec": {"clusterIP": "None", "ipFamilyPolicy": "PreferDualStack", "selector": {"app": "db"},
                    "ports": [{"port": 5432}]}}
    plain = {"kind": "Service", "metadata": {"name": "web", "namespace": "default"},
             "spec": {"selector": {"app": "db"}, "ports": [{"port": 80}]}}
    desired = compile_objects({"Pod/default/db-0": pod, "Service/default/db": svc, "Service/default/web": plain}, cfg)
    resolved = {s.name: s for s in desired.services.values()}
    assert resolved["db"].ip_families == ("IPv4", "IPv6") and resolved["web"].ip_families == ("IPv4",)
    slices = endpointslice_objects(resolved["db"], None)
    assert [(s["addressType"], s["endpoints"][0]["addresses"]) for s in slices] == [
        ("IPv4", ["10.244.1.2"]), ("IPv6", ["fd00:10:244:1::2"])]
    assert len({s["metadata"]["name"] for s in slices}) == 2
    assert [s["addressType"] for s in endpointslice_objects(resolved["web"], None)] == ["IPv4"]
    zone = build_zone(desired.dns_view)
    for name in ("db.default.svc.cluster.local", "db-0.db.default.svc.cluster.local"):
        assert [str(r.rdata) for r in zone.lookup(name, QTYPE.AAAA).answer] == ["fd00:10:244:1::2"]
        assert [str(r.rdata) for r in zone.lookup(name, QTYPE.A).answer] == ["10.244.1.2"]
    web6 = zone.lookup("web.default.svc.cluster.local", QTYPE.AAAA)
    assert web6.answer == [] and web6.rcode == 0, "an IPv4-only name answers AAAA with NODATA"
    ptr = zone.lookup(ipaddress.ip_address("fd00:10:244:1::2").reverse_pointer, QTYPE.PTR)
    assert [str(r.rdata) for r in ptr.answer] == ["db-0.db.default.svc.cluster.local."]
