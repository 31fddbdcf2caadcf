import re

from netlab.compile import names


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


def test_pod_netns_is_injective_where_a_pod_name_has_dots():
    # default/rp-client.rp-lab used to share rp-lab/rp-client's namespace
    assert names.pod_netns("rp-lab", "rp-client") == "rp-client.rp-lab"
    assert names.pod_netns("default", "rp-client.rp-lab") == "rp-client.rp-lab.default"
    assert names.pod_netns("default", "web") == "web"


def test_pod_netns_is_injective_and_bounded_for_every_name_shape():
    pods = ["a", "a.b", "a.b.default", "b", "p" * 253, "p" * 252 + "q", "x." * 100 + "y",
            "q" * 190, "q" * 191, "q" * 192, "q" * 250 + ".default"]
    namespaces = ["default", "b", "a", "default1", "n" * 63, "n" * 62 + "m"]
    seen: dict[str, tuple[str, str]] = {}
    for ns in namespaces:
        for pod in pods:
            netns = names.pod_netns(ns, pod)
            assert 0 < len(netns) <= names.NAME_MAX and "/" not in netns
            assert netns not in seen, f"{ns}/{pod} and {seen[netns]} share {netns}"
            seen[netns] = (ns, pod)


def test_a_253_character_pod_gets_a_hashed_netns_that_keeps_its_namespace():
    netns = names.pod_netns("kube-system", "p" * 253)
    assert len(netns) == names.NAME_MAX
    assert netns.startswith("ppp") and netns.endswith(".kube-system") and "_" in netns


def test_aliases_and_pod_dirs_fit_the_kernel_limits_and_stay_unique():
    long_pod, other = "p" * 253, "p" * 252 + "q"
    alias = names.pod_alias("c" * 63, "n" * 63, long_pod)
    assert len(alias) <= names.IFALIAS_MAX and names.cluster_of_alias(alias) == "c" * 63
    assert alias != names.pod_alias("c" * 63, "n" * 63, other)
    assert names.pod_alias("c1", "default", "a") == "netlab:c1:pod:default/a"
    d1, d2 = names.pod_dir_name("n" * 63, long_pod), names.pod_dir_name("n" * 63, other)
    assert len(d1) <= names.NAME_MAX and d1 != d2
    assert names.pod_dir_name("default", "web") == "default_web"


def test_nft_names_are_cut_to_255_characters_and_stay_unique():
    short = "ingress-12345678-default/web"
    assert names.nft_name(short) == short
    a, b = names.nft_name("x" * 300 + "a"), names.nft_name("x" * 300 + "b")
    assert len(a) == len(b) == names.NFT_NAME_MAX and a != b


def test_daemon_pidfiles_name_modules_that_exist():
    """teardown kills a pidfile's process only when its command line runs the named module: a renamed module
    must fail here, not leave a daemon running after `down`."""
    import importlib.util

    pidfiles = [pidfile for pidfile, _ in names.DAEMON_PIDFILES]
    assert len(set(pidfiles)) == len(pidfiles) and all(p.endswith(".pid") for p in pidfiles)
    for _, module in names.DAEMON_PIDFILES:
        assert importlib.util.find_spec(module) is not None, module


def test_cluster_paths_are_under_their_roots():
    assert names.state_file("c1") == f"{names.STATE_ROOT}/c1/{names.STATE_FILE}"
    assert names.api_endpoint_file("c1") == f"{names.RUN_ROOT}/c1/{names.API_ENDPOINT}"
    assert names.state_dir("c1") != names.run_dir("c1")


def test_the_fixed_nft_chains_and_sets_are_distinct_and_plain():
    """One table holds them all: a chain or set name used twice would make `add` fail or merge two things."""
    fixed = {k: v for k, v in vars(names).items() if k.startswith(("CHAIN_", "SET_")) and k != "CHAIN_TRACE_PREFIX"}
    assert len(set(fixed.values())) == len(fixed)
    assert all(re.fullmatch(r"[a-z][a-z0-9-]*[a-z0-9]", v) for v in fixed.values())  # digits: policy-*-pods6
    made = [names.nft_service_chain("a/b/tcp/80"), names.nft_external_chain("a/b/tcp/80"),
            names.nft_endpoint_chain("a/b/tcp/80", "10.0.0.1/80"), names.nft_affinity_set("a/b/tcp/80", "10.0.0.1", 80),
            names.nft_pod_chain("Ingress", "a/p"), names.nft_pod_chain("Egress", "a/p"),
            names.nft_policy_rule_set("peers", "Ingress", "a/pol", 0)]
    assert len(set(made) | set(fixed.values())) == len(made) + len(fixed)
