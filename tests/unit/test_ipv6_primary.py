"""An IPv6-primary dual-stack cluster (podSubnet lists its IPv6 CIDR first): pods, nodes and Services
put IPv6 first, as the kubelet and the API server do."""

from netlab.api import views
from netlab.compile.config import ClusterConfig
from netlab.compile.desired import compile_objects
from netlab.compile.endpoint_objects import endpointslice_objects
from netlab.model.cluster import Cluster

V6_FIRST = "fd00:10:244::/56,10.244.0.0/16"


def _cluster(**networking) -> Cluster:
    return Cluster.model_validate({"apiVersion": "kind.x-k8s.io/v1alpha4", "kind": "Cluster",
                                   "nodes": [{"role": "control-plane"}, {"role": "worker"}],
                                   "networking": {"ipFamily": "dual", **networking}})


def _config() -> ClusterConfig:
    return ClusterConfig.from_manifest(_cluster(podSubnet=V6_FIRST).to_dict(), "p6")


def test_an_ipv6_primary_cluster_is_accepted_and_its_service_range_follows():
    c = _cluster(podSubnet=V6_FIRST)
    assert c.issues() == []
    assert c.networking.service_subnet == "fd00:10:96::/112,10.96.0.0/16"
    assert _config().ip_families == ("IPv6", "IPv4")


def test_the_primary_family_is_pod_subnets_first_whatever_the_service_ranges_order():
    mixed = _cluster(podSubnet=V6_FIRST, serviceSubnet="10.96.0.0/16,fd00:10:96::/112")
    assert mixed.issues() == []
    assert ClusterConfig.from_manifest(mixed.to_dict(), "p6").ip_families == ("IPv6", "IPv4")


def _objects() -> dict:
    pod = {"kind": "Pod", "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web"}},
           "spec": {"containers": [{"name": "c", "env": [
               {"name": "ME", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
               {"name": "ALL", "valueFrom": {"fieldRef": {"fieldPath": "status.podIPs"}}},
               {"name": "HOST", "valueFrom": {"fieldRef": {"fieldPath": "status.hostIP"}}}]}],
                    "nodeName": "p6-worker"}}
    single = {"kind": "Service", "metadata": {"name": "single", "namespace": "default"},
              "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]}}
    prefer = {"kind": "Service", "metadata": {"name": "prefer", "namespace": "default"},
              "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}], "ipFamilyPolicy": "PreferDualStack"}}
    return {"Pod/default/web": pod, "Service/default/single": single, "Service/default/prefer": prefer}


def test_pods_list_ipv6_first_and_see_it_as_their_pod_ip():
    desired = compile_objects(_objects(), _config())
    (spec,) = [c for c in desired.containers if c.pod_key == "default/web"]
    assert spec.env["POD_IP"] == "fd00:10:244:1::2" and spec.env["ME"] == "fd00:10:244:1::2"
    assert spec.env["POD_IPS"] == spec.env["ALL"] == "fd00:10:244:1::2,10.244.1.2"
    assert spec.env["HOST"] == "fc00:f853:ccd:e793::3"
    assert spec.identity["ip"] == "fd00:10:244:1::2"
    assert "fd00:10:244:1::2\tweb" in spec.security["hosts"]


def test_the_pod_and_node_views_put_ipv6_first():
    cfg = _config()
    desired = compile_objects(_objects(), cfg)
    from netlab.compile.desired import placement
    pods = placement(_objects(), {}, desired.topology.nodes, __import__("random").Random(0), {}, 0.0)
    view = views.pod(pods["default/web"], [], desired.topology, ready=True)
    assert view["status"]["podIP"] == "fd00:10:244:1::2"
    assert view["status"]["podIPs"] == [{"ip": "fd00:10:244:1::2"}, {"ip": "10.244.1.2"}]
    assert view["status"]["hostIP"] == "fc00:f853:ccd:e793::3"
    node = views.node(desired.topology.nodes[1], 0.0, families=desired.topology.ip_families)
    assert node["status"]["addresses"][0] == {"type": "InternalIP", "address": "fc00:f853:ccd:e793::3"}
    assert node["spec"]["podCIDR"] == "fd00:10:244:1::/64"


def test_services_default_to_ipv6_and_prefer_dual_stack_lists_ipv6_first():
    desired = compile_objects(_objects(), _config())
    svc = {s.name: s for s in desired.services.values()}
    assert svc["single"].ip_families == ("IPv6",)
    assert svc["prefer"].ip_families == ("IPv6", "IPv4")
    assert ":" in svc["single"].cluster_ips()[0] and len(svc["single"].cluster_ips()) == 1
    first, second = svc["prefer"].cluster_ips()
    assert ":" in first and ":" not in second
    assert [s["addressType"] for s in endpointslice_objects(svc["prefer"], None)] == ["IPv6", "IPv4"]
