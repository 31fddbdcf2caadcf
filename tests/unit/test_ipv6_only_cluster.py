"""An IPv6-only cluster (kind's ipFamily: ipv6): pods, Services, DNS and policy have IPv6 addresses only."""

import random

from dnslib import QTYPE

from netlab.api import views
from netlab.compile.addons import api_service_ip
from netlab.compile.config import ClusterConfig
from netlab.compile.containerspec import api_service_env
from netlab.compile.desired import compile_objects, placement
from netlab.compile.dnszone import build_zone
from netlab.compile.endpoint_objects import endpoints_object, endpointslice_objects
from netlab.compile.nftables import render_full
from netlab.model.cluster import Cluster


def _cluster(**networking) -> Cluster:
    return Cluster.model_validate({"apiVersion": "kind.x-k8s.io/v1alpha4", "kind": "Cluster",
                                   "nodes": [{"role": "control-plane"}, {"role": "worker"}],
                                   "networking": {"ipFamily": "ipv6", **networking}})


def _config() -> ClusterConfig:
    return ClusterConfig.from_manifest(_cluster().to_dict(), "v6")


def _pod(name: str, **labels) -> dict:
    return {"kind": "Pod", "metadata": {"name": name, "namespace": "default", "labels": labels},
            "spec": {"containers": [{"name": "c", "ports": [{"containerPort": 3000}]}], "nodeName": "v6-worker"}}


def _service(name: str, **spec) -> dict:
    return {"kind": "Service", "metadata": {"name": name, "namespace": "default"},
            "spec": {"selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": 3000}], **spec}}


def test_kinds_ipv6_defaults_are_taken_and_checked():
    c = _cluster()
    assert (c.networking.pod_subnet, c.networking.service_subnet) == ("fd00:10:244::/56", "fd00:10:96::/112")
    assert c.issues() == []
    assert [f for f, _ in _cluster(podSubnet="10.244.0.0/16").issues()] == ["networking.podSubnet"]
    cfg = _config()
    assert cfg.ip_families == ("IPv6",) and cfg.dns_ip == "fd00:10:96::a" and api_service_ip(cfg) == "fd00:10:96::1"


def test_pods_get_one_ipv6_address_and_no_ipv4():
    cfg = _config()
    topo = cfg.topology()
    assert all(n.ipv6_only and not n.ipv4_pods for n in topo.nodes)
    pods = placement({"Pod/default/a": _pod("a"), "Pod/default/b": _pod("b")}, {}, topo.nodes, random.Random(0),
                     {}, 0.0)
    assert [(p.ip, p.ip6) for p in pods.values()] == [("", "fd00:10:244:1::2"), ("", "fd00:10:244:1::3")]
    view = views.pod(pods["default/a"], [], cfg.topology([("default", "a", "v6-worker", "", "fd00:10:244:1::2")]),
                     ready=True)
    assert view["status"]["podIP"] == "fd00:10:244:1::2" and view["status"]["podIPs"] == [{"ip": "fd00:10:244:1::2"}]
    assert view["status"]["hostIP"] == "fc00:f853:ccd:e793::3"
    node = views.node(topo.nodes[1], 0.0, families=topo.ip_families)
    assert node["status"]["addresses"][0]["address"] == "fc00:f853:ccd:e793::3"
    assert node["spec"]["podCIDRs"] == ["fd00:10:244:1::/64"]
    assert "ipv6_only" in topo.to_dict()["nodes"][0]
    assert "ipv6_only" not in ClusterConfig.from_manifest(None).topology().to_dict()["nodes"][0]


def test_services_containers_dns_and_policy_are_ipv6():
    cfg = _config()
    objects = {"Pod/default/a": _pod("a", app="web"), "Service/default/web": _service("web"),
               "Service/default/pref": _service("pref", ipFamilyPolicy="PreferDualStack"),
               "Service/default/lb": _service("lb", type="LoadBalancer")}
    desired = compile_objects(objects, cfg)
    svc = {s.name: s for s in desired.services.values()}
    assert svc["web"].ip_families == svc["pref"].ip_families == ("IPv6",)
    assert svc["lb"].load_balancer_ip is None, "the pool is IPv4: the external IP stays <pending>"
    (ip6,) = svc["web"].cluster_ips()
    assert ip6.startswith("fd00:10:96::")
    assert [s["addressType"] for s in endpointslice_objects(svc["web"], None)] == ["IPv6"]
    assert endpoints_object(svc["web"], None)["subsets"][0]["addresses"][0]["ip"] == "fd00:10:244:1::2"

    (spec,) = [c for c in desired.containers if c.pod_key == "default/a"]
    assert spec.env["POD_IP"] == "fd00:10:244:1::2" and "POD_IPS" not in spec.env
    assert "nameserver fd00:10:96::a" in desired.resolv["default/a"]

    zone = build_zone(desired.dns_view)
    name = "web.default.svc.cluster.local"
    assert [str(r.rdata) for r in zone.lookup(name, QTYPE.AAAA).answer] == [ip6]
    assert zone.lookup(name, QTYPE.A).answer == [] and zone.lookup(name, QTYPE.A).rcode == 0

    rules = render_full(desired.rulesets["v6-worker"])
    assert "dnat ip6 to [fd00:10:244:1::2]:3000" in rules
    assert "dnat ip to" not in rules, "no IPv4 Service exists"


def test_the_kubernetes_service_env_brackets_an_ipv6_clusterip():
    objects = {"Service/default/kubernetes": {"kind": "Service", "metadata": {"name": "kubernetes",
                                                                           "namespace": "default"},
                                              "spec": {"clusterIP": "fd00:10:96::1", "ports": [
                                                  {"name": "https", "port": 443, "protocol": "TCP"}]}}}
    env = api_service_env(objects, {})
    assert env["KUBERNETES_SERVICE_HOST"] == "fd00:10:96::1"
    assert env["KUBERNETES_PORT"] == "tcp://[fd00:10:96::1]:443"
    assert env["KUBERNETES_PORT_443_TCP_ADDR"] == "fd00:10:96::1"


def test_network_policy_finds_ipv6_only_pods_by_their_ipv6_address():
    cfg = _config()
    policy = {"kind": "NetworkPolicy", "apiVersion": "networking.k8s.io/v1",
              "metadata": {"name": "only-a", "namespace": "default"},
              "spec": {"podSelector": {"matchLabels": {"app": "web"}}, "policyTypes": ["Ingress"],
                       "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "client"}}},
                                             {"ipBlock": {"cidr": "fd00:99::/64"}}]}]}}
    objects = {"Pod/default/a": _pod("a", app="web"), "Pod/default/c": _pod("c", app="client"),
               "NetworkPolicy/default/only-a": policy}
    rules = render_full(compile_objects(objects, cfg).rulesets["v6-worker"])
    assert "fd00:10:244:1::2 : jump" in rules and "ip6 daddr vmap" in rules
    assert "fd00:10:244:1::3" in rules and "fd00:99::/64" in rules


def test_the_ingress_controller_listens_on_ipv6_in_an_ipv6_only_cluster():
    from netlab.compile import nginx
    path = {"path": "/", "pathType": "Prefix", "backend": {"service": {"name": "web", "port": {"number": 80}}}}
    ing = {"kind": "Ingress", "metadata": {"name": "w", "namespace": "default"},
           "spec": {"ingressClassName": "nginx", "rules": [{"http": {"paths": [path]}}]}}

    def conf(ipv6: bool) -> str:
        return nginx.render([ing], {}, {}, ingress_classes={"nginx"}, run_dir="/run/x",
                            default_cert=("c.pem", "k.pem"), ipv6=ipv6).nginx_conf
    assert "listen [::]:80 default_server;" in conf(True) and "listen [::]:443 ssl default_server;" in conf(True)
    assert "[::]" not in conf(False)


def test_a_pod_from_the_api_keeps_ip_for_ipv4_whatever_its_primary_family():
    from netlab.compile.netpol import allowed, policy_pod
    only6 = policy_pod({"metadata": {"name": "a"}, "status": {"podIP": "fd00:10:244:1::2",
                                                              "podIPs": [{"ip": "fd00:10:244:1::2"}]}})
    assert (only6.ip, only6.ip6) == ("", "fd00:10:244:1::2")
    primary6 = policy_pod({"metadata": {"name": "b"}, "status": {"podIP": "fd00:10:244:1::3", "podIPs": [
        {"ip": "fd00:10:244:1::3"}, {"ip": "10.244.1.3"}]}})
    assert (primary6.ip, primary6.ip6) == ("10.244.1.3", "fd00:10:244:1::3")
    deny = {"metadata": {"name": "deny", "namespace": "default"},
            "spec": {"podSelector": {}, "policyTypes": ["Ingress"]}}
    assert not allowed("fd00:10:244:1::3", "fd00:10:244:1::2", 80, "TCP", [only6, primary6], [], [deny])


def test_host_network_pods_and_headless_services_in_an_ipv6_only_cluster():
    cfg = _config()
    host = _pod("h")
    host["spec"]["hostNetwork"] = True
    db = _pod("db-0", app="db")
    db["spec"].update(hostname="db-0", subdomain="db")
    headless = {"kind": "Service", "metadata": {"name": "db", "namespace": "default"},
                "spec": {"clusterIP": "None", "selector": {"app": "db"}, "ports": [{"port": 5432}]}}
    objects = {"Pod/default/h": host, "Pod/default/db-0": db, "Service/default/db": headless}
    pods = placement(objects, {}, cfg.topology().nodes, random.Random(0), {}, 0.0)
    assert (pods["default/h"].ip, pods["default/h"].ip6) == ("", "fc00:f853:ccd:e793::3"), "the node's IPv6 only"
    desired = compile_objects(objects, cfg)
    (svc,) = [s for s in desired.services.values() if s.name == "db"]
    assert svc.ip_families == ("IPv6",) and svc.cluster_ips() == []
    zone = build_zone(desired.dns_view)
    for name in ("db.default.svc.cluster.local", "db-0.db.default.svc.cluster.local"):
        assert [str(r.rdata) for r in zone.lookup(name, QTYPE.AAAA).answer] == [pods["default/db-0"].ip6]
        assert zone.lookup(name, QTYPE.A).answer == []
