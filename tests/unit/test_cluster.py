import random

import pytest

from netlab.compile.config import ClusterConfig, kind_node_names, overlapping
from netlab.compile.workloads import PlacementError, expand, place


def test_kind_node_names():
    assert kind_node_names("netlab", ["control-plane", "worker", "worker"]) == [
        "netlab-control-plane", "netlab-worker", "netlab-worker2"]
    assert kind_node_names("k", ["control-plane", "control-plane"]) == ["k-control-plane", "k-control-plane2"]


def test_default_address_plan_follows_design():
    topo = ClusterConfig.from_manifest(None).topology()
    assert [n.name for n in topo.nodes] == ["netlab-control-plane", "netlab-worker", "netlab-worker2"]
    assert [n.underlay_ip for n in topo.nodes] == ["172.18.0.2", "172.18.0.3", "172.18.0.4"]
    assert [n.pod_cidr for n in topo.nodes] == ["10.244.0.0/24", "10.244.1.0/24", "10.244.2.0/24"]
    assert [n.gateway for n in topo.nodes] == ["10.244.0.1", "10.244.1.1", "10.244.2.1"]
    assert topo.host_ip == "172.18.0.1" and topo.bridge == "netlab0"
    assert [(r.dst, r.via) for r in topo.host_routes()] == [
        ("10.244.0.0/24", "172.18.0.2"), ("10.244.1.0/24", "172.18.0.3"), ("10.244.2.0/24", "172.18.0.4")]


def test_node_routes_host_gw_and_vxlan():
    hostgw = ClusterConfig.from_manifest({"mode": "host-gw"}).topology()
    worker = hostgw.nodes[1]
    assert [(r.dst, r.via, r.dev) for r in hostgw.node_routes(worker)] == [
        ("10.96.0.0/16", None, "cni0"), ("default", "172.18.0.1", "eth0"), ("10.244.0.0/24", "172.18.0.2", "eth0"),
        ("10.244.2.0/24", "172.18.0.4", "eth0")]
    vx = ClusterConfig.from_manifest({"mode": "vxlan"}).topology()
    assert [(r.dst, r.via, r.dev, r.onlink) for r in vx.node_routes(vx.nodes[1])][2:] == [
        ("10.244.0.0/24", "10.244.0.0", "nlvxlan0", True), ("10.244.2.0/24", "10.244.2.0", "nlvxlan0", True)]


def test_overlap_ignores_default_route():
    assert overlapping(["10.244.0.0/16"], ["default", "192.168.1.0/24"]) == []
    assert overlapping(["10.244.0.0/16"], ["10.0.0.0/8"]) == [("10.244.0.0/16", "10.0.0.0/8")]


def _pod(name, **spec):
    return {"kind": "Pod", "metadata": {"name": name, "namespace": "default", "labels": {"app": name}},
            "spec": {"containers": [{"name": "c"}], **spec}}


def _deploy(name, replicas):
    return {"kind": "Deployment", "metadata": {"name": name, "namespace": "default"},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": [{"name": "c"}]}}}}


NODES = ClusterConfig.from_manifest(None).topology().nodes


def test_placement_spreads_over_workers_and_skips_the_tainted_control_plane():
    placed = place(expand([], [_deploy("web", 4)], {}), NODES, {}, 0.0, random.Random(1))
    assert sorted(p.node for p in placed) == ["netlab-worker", "netlab-worker", "netlab-worker2", "netlab-worker2"]
    assert all(p.name.startswith("web-") and len(p.name.split("-")[-1]) == 5 for p in placed)
    assert len({p.ip for p in placed}) == 4


def test_node_name_and_selector_are_honoured():
    placed = place(expand([_pod("a", nodeName="netlab-control-plane"),
                           _pod("b", nodeSelector={"kubernetes.io/hostname": "netlab-worker2"})], [], {}),
                   NODES, {}, 0.0, random.Random(1))
    assert {p.name: (p.node, p.ip) for p in placed} == {
        "a": ("netlab-control-plane", "10.244.0.2"), "b": ("netlab-worker2", "10.244.2.2")}


def test_scaling_keeps_existing_pods_and_their_addresses():
    rng = random.Random(2)
    three = {p.key: p for p in place(expand([], [_deploy("web", 3)], {}), NODES, {}, 1.0, rng)}
    five = {p.key: p for p in place(expand([], [_deploy("web", 5)], three), NODES, three, 2.0, rng)}
    assert set(three) <= set(five)
    assert all(five[k].ip == three[k].ip and five[k].node == three[k].node for k in three)
    two = {p.key: p for p in place(expand([], [_deploy("web", 2)], five), NODES, five, 3.0, rng)}
    assert set(two) <= set(three), "scale-down removes the newest pods first"


def test_placement_errors_name_object_and_field():
    with pytest.raises(PlacementError) as err:
        place(expand([_pod("a", nodeName="nope"), _pod("b", nodeSelector={"disk": "ssd"})], [], {}),
              NODES, {}, 0.0, random.Random(1))
    assert [(o, f) for o, f, _m in err.value.problems] == [
        ("Pod default/a", "spec.nodeName"), ("Pod default/b", "spec.nodeSelector")]


def test_pod_netns_may_not_collide_with_a_node():
    with pytest.raises(PlacementError) as err:
        place(expand([_pod("netlab-worker")], [], {}), NODES, {}, 0.0, random.Random(1))
    assert "collide with a node" in str(err.value)


def test_exhausted_pod_cidr_is_an_error():
    one_node = ClusterConfig.from_manifest({"nodes": [{"role": "control-plane"}]}).topology().nodes
    with pytest.raises(PlacementError) as err:
        place(expand([], [_deploy("web", 254)], {}), one_node, {}, 0.0, random.Random(1))
    assert "exhausted" in str(err.value)


def _replicaset(name, replicas):
    return {"kind": "ReplicaSet", "metadata": {"name": name, "namespace": "default"},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": [{"name": "c"}]}}}}


def test_a_bare_replicaset_keeps_its_count_with_kubernetes_pod_names():
    rng = random.Random(3)
    two = {p.key: p for p in place(expand([], [], {}, [_replicaset("rs", 2)]), NODES, {}, 1.0, rng)}
    assert all(p.name.startswith("rs-") and len(p.name) == len("rs-") + 5 for p in two.values())
    assert all(p.owner == "ReplicaSet/rs" and "pod-template-hash" not in p.labels for p in two.values())
    three = {p.key: p for p in place(expand([], [], two, [_replicaset("rs", 3)]), NODES, two, 2.0, rng)}
    assert set(two) <= set(three) and len(three) == 3


def test_addresses_rotate_like_host_local_and_are_not_reused_at_once() -> None:
    rng = random.Random(3)
    cursor: dict[str, str] = {}
    node = NODES[1]
    first = place(expand([_pod("a", nodeName=node.name)], [], {}), NODES, {}, 0.0, rng, cursor)
    assert first[0].ip == "10.244.1.2"
    # a deleted, then a new pod: the new one gets the next address, not the freed one
    second = place(expand([_pod("b", nodeName=node.name)], [], {}), NODES, {}, 1.0, rng, cursor)
    assert second[0].ip == "10.244.1.3"
    assert cursor[node.name] == "10.244.1.3"


def test_cursor_wraps_round_and_skips_addresses_in_use() -> None:
    from netlab.compile.ipam import NodeRange

    node = NODES[1]
    rng_ = NodeRange(node, ["10.244.1.2", "10.244.1.254"], "10.244.1.253")
    assert rng_.take() == "10.244.1.3"  # .254 is used, wrap to .2 (used) then .3
    assert rng_.free == 253 - 3


def test_exhausted_ranges_give_one_summarised_problem_quickly() -> None:
    import time

    t0 = time.monotonic()
    with pytest.raises(PlacementError) as err:
        place(expand([], [_deploy("web", 100_000)], {}), NODES, {}, 0.0, random.Random(1))
    assert time.monotonic() - t0 < 20.0   # a guard against a blow-up (minutes), not a benchmark
    assert len(err.value.problems) == 1
    obj, field, message = err.value.problems[0]
    assert obj == "Deployment default/web" and field == "spec"
    assert message.startswith(f"{100_000 - 2 * 253} pods cannot get an address")


def test_generated_pod_names_are_cut_to_63_characters_like_kubernetes() -> None:
    placed = place(expand([], [_deploy("d" * 60, 2)], {}), NODES, {}, 0.0, random.Random(1))
    assert all(len(p.name) == 63 and p.name.startswith("d" * 58) for p in placed)
