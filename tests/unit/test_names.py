from netlab import names


def test_pod_netns_is_the_pod_name_in_default_and_qualified_elsewhere():
    assert names.pod_netns("default", "pod-a") == "pod-a"
    assert names.pod_netns("x", "a") == "a.x"


def test_interface_names_fit_the_kernel_limit_and_are_unique():
    seen = set()
    for ns in ("default", "kube-system", "a" * 63):
        for pod in ("a", "b", "p" * 253):
            name = names.pod_veth("netlab", ns, pod)
            assert names.valid_ifname(name)
            seen.add(name)
    assert len(seen) == 9
    assert names.valid_ifname(names.underlay_veth("netlab", "netlab-worker2"))
    assert names.valid_ifname(names.underlay_bridge("some-long-cluster-name"))
    assert names.underlay_bridge("netlab") == "netlab0"


def test_aliases_name_their_cluster():
    assert names.cluster_of_alias(names.pod_alias("c1", "default", "a")) == "c1"
    assert names.cluster_of_alias(names.node_alias("c2", "c2-worker")) == "c2"
    assert names.cluster_of_alias("docker0 bridge") is None
    assert names.cluster_of_alias(None) is None
