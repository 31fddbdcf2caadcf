"""The one patch-metadata table SMP, server-side apply and the OpenAPI generator share."""

from netlab.api.patch_meta import ALL, ListMeta, list_meta


def test_pod_template_lists_are_found_under_every_workload():
    for kind, root in (("Pod", ("spec",)), ("Deployment", ("spec", "template", "spec")),
                       ("ReplicaSet", ("spec", "template", "spec"))):
        containers = list_meta(kind, root + ("containers",))
        assert containers == ListMeta("merge", "name", "map", ("name",))
        ports = list_meta(kind, root + ("initContainers", "ports"))
        assert (ports.merge_key, ports.map_keys) == ("containerPort", ("containerPort", "protocol"))
        assert list_meta(kind, root + ("containers", "env")).merge_key == "name"
        assert list_meta(kind, root + ("containers", "volumeMounts")).merge_key == "mountPath"
        volumes = list_meta(kind, root + ("volumes",))
        assert volumes.merges and volumes.retains_keys and volumes.merge_key == "name"
        assert list_meta(kind, root + ("tolerations",)).list_type == "atomic"
        assert list_meta(kind, root + ("containers", "args")).list_type == "atomic"


def test_service_object_meta_and_status_lists():
    assert list_meta("Service", ("spec", "ports")) == ListMeta("merge", "port", "map", ("port", "protocol"))
    assert list_meta("Service", ("spec", "externalIPs")).list_type == "atomic"
    assert list_meta("Service", ("metadata", "finalizers")) == ListMeta("merge", None, "set")
    assert list_meta("Anything", ("metadata", "ownerReferences")).merge_key == "uid"
    assert list_meta("Node", ("status", "addresses")).merge_key == "type"
    assert list_meta("Deployment", ("status", "conditions")).merge_key == "type"
    assert list_meta("Deployment", ("spec", "strategy")) == ListMeta("retainKeys")
    assert list_meta("Pod", ("status", "hostIPs")) == ListMeta("merge", "ip", "atomic")


def test_lists_without_a_strategy_are_not_in_the_table_or_atomic():
    assert list_meta("NetworkPolicy", ("spec", "ingress")).list_type == "atomic"
    assert list_meta("Ingress", ("spec", "rules")).list_type == "atomic"
    assert list_meta("Endpoints", ("subsets",)).list_type == "atomic"
    assert list_meta("Pod", ("spec", "nosuchfield")) is None


def test_table_is_consistent():
    for kind, table in ALL.items():
        for path, meta in table.items():
            assert meta.list_type in ("map", "set", "atomic", ""), (kind, path)
            if meta.list_type == "map":
                assert meta.map_keys, (kind, path)
                assert meta.merge_key in (None, meta.map_keys[0]), (kind, path)
            if meta.merge_key:
                assert meta.merges, (kind, path)
            assert set(meta.strategy.split(",")) <= {"", "merge", "retainKeys"}, (kind, path)
