"""kind's networking.ipFamily with comma-separated subnets: defaults per family and validation naming the field."""

import pytest

from netlab.compile import families
from netlab.compile.config import ClusterConfig
from netlab.model.cluster import Cluster


def _cluster(networking: dict, **extra) -> Cluster:
    return Cluster.model_validate({"apiVersion": "kind.x-k8s.io/v1alpha4", "kind": "Cluster",
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
    c = _cluster({"ipFamily": "dual", "podSubnet": "fd00:1::/56, 10.1.0.0/16",
                  "serviceSubnet": "10.2.0.0/16,fd00:2::/112"})
    assert c.issues() == []
    assert c.networking.pod_subnet == "fd00:1::/56, 10.1.0.0/16"
    config = ClusterConfig.from_manifest(c.to_dict())
    assert (config.pod_subnet, config.service_subnet) == ("10.1.0.0/16", "10.2.0.0/16")


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
    ({"ipFamily": "ipv6"}, {},
     [("networking.ipFamily", "ipv6-only clusters are not supported yet (ipv4 and dual are)")]),
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
