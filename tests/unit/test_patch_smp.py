"""Strategic merge patch as the apiserver applies it: kubectl-shaped 3-way patches and every directive."""

import copy
import json

import pytest

from netlab.api.errors import ApiError
from netlab.api.patch import STRATEGIC_MERGE_PATCH, apply_patch


def deployment() -> dict:
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web"},
                     "annotations": {"note": "x", "kubectl.kubernetes.io/last-applied-configuration": "{}"},
                     "finalizers": ["a/one"]},
        "spec": {
            "replicas": 2,
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
            "template": {"metadata": {"labels": {"app": "web"}}, "spec": {
                "containers": [
                    {"name": "web", "image": "nginx:1.25", "args": ["-a", "-b"],
                     "ports": [{"containerPort": 80, "protocol": "TCP"}, {"containerPort": 443, "protocol": "TCP"}],
                     "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]},
                    {"name": "sidecar", "image": "busybox"},
                ],
                "volumes": [{"name": "data", "emptyDir": {}}],
            }},
        },
    }


def service() -> dict:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "app-service"},
            "spec": {"selector": {"app": "web"}, "ports": [
                {"name": "http", "port": 80, "targetPort": 3000, "protocol": "TCP"},
                {"name": "https", "port": 443, "targetPort": 3443, "protocol": "TCP"}]}}


def smp(live: dict, patch: dict) -> dict:
    return apply_patch(live, json.dumps(patch).encode(), STRATEGIC_MERGE_PATCH)


def pod_spec(obj: dict) -> dict:
    return obj["spec"]["template"]["spec"]


def test_container_image_change_merges_by_name_and_keeps_other_containers():
    live = deployment()
    out = smp(live, {"spec": {"template": {"spec": {
        "$setElementOrder/containers": [{"name": "web"}, {"name": "sidecar"}],
        "containers": [{"name": "web", "image": "nginx:1.27"}]}}}})
    web, sidecar = pod_spec(out)["containers"]
    assert web["image"] == "nginx:1.27" and web["ports"] == pod_spec(live)["containers"][0]["ports"]
    assert sidecar == {"name": "sidecar", "image": "busybox"}
    assert pod_spec(live)["containers"][0]["image"] == "nginx:1.25", "the live object is not changed"


def test_removing_a_port_with_set_element_order_and_delete():
    out = smp(deployment(), {"spec": {"template": {"spec": {
        "$setElementOrder/containers": [{"name": "web"}, {"name": "sidecar"}],
        "containers": [{"name": "web", "$setElementOrder/ports": [{"containerPort": 80}],
                        "ports": [{"containerPort": 443, "$patch": "delete"}]}]}}}})
    assert pod_spec(out)["containers"][0]["ports"] == [{"containerPort": 80, "protocol": "TCP"}]


def test_labels_added_annotation_removed_with_null_replicas_changed():
    out = smp(deployment(), {"metadata": {"labels": {"tier": "front"}, "annotations": {"note": None}},
                             "spec": {"replicas": 5}})
    assert out["metadata"]["labels"] == {"app": "web", "tier": "front"}
    assert "note" not in out["metadata"]["annotations"]
    assert out["spec"]["replicas"] == 5


def test_service_ports_merge_by_port():
    out = smp(service(), {"spec": {"$setElementOrder/ports": [{"port": 80}, {"port": 443}, {"port": 8080}],
                                   "ports": [{"port": 443, "targetPort": 4443},
                                             {"name": "alt", "port": 8080, "targetPort": 8080}]}})
    assert [(p["port"], p["targetPort"]) for p in out["spec"]["ports"]] == [(80, 3000), (443, 4443), (8080, 8080)]
    assert out["spec"]["ports"][1]["name"] == "https"


def test_new_items_follow_patch_order_and_live_items_keep_their_place():
    out = smp(deployment(), {"spec": {"template": {"spec": {"containers": [
        {"name": "first", "image": "a"}, {"name": "web", "image": "nginx:2"}]}}}})
    assert [c["name"] for c in pod_spec(out)["containers"]] == ["first", "web", "sidecar"]


def test_set_element_order_reorders_containers():
    out = smp(deployment(), {"spec": {"template": {"spec": {
        "$setElementOrder/containers": [{"name": "sidecar"}, {"name": "web"}]}}}})
    assert [c["name"] for c in pod_spec(out)["containers"]] == ["sidecar", "web"]


def test_env_merges_by_name_and_delete_directive():
    out = smp(deployment(), {"spec": {"template": {"spec": {"containers": [
        {"name": "web", "env": [{"name": "B", "$patch": "delete"}, {"name": "C", "value": "3"},
                                {"name": "A", "value": "9"}]}]}}}})
    assert pod_spec(out)["containers"][0]["env"] == [{"name": "C", "value": "3"}, {"name": "A", "value": "9"}]


def test_atomic_list_is_replaced():
    out = smp(deployment(), {"spec": {"template": {"spec": {"containers": [{"name": "web", "args": ["-c"]}]}}}})
    assert pod_spec(out)["containers"][0]["args"] == ["-c"]


def test_replace_directive_in_list_replaces_the_whole_list():
    out = smp(deployment(), {"spec": {"template": {"spec": {"containers": [
        {"name": "only", "image": "x"}, {"$patch": "replace"}]}}}})
    assert pod_spec(out)["containers"] == [{"name": "only", "image": "x"}]


def test_replace_and_delete_directives_in_maps():
    out = smp(deployment(), {"metadata": {"labels": {"$patch": "replace", "new": "1"}},
                             "spec": {"template": {"metadata": {"labels": {"$patch": "delete"}}}}})
    assert out["metadata"]["labels"] == {"new": "1"}
    assert out["spec"]["template"]["metadata"]["labels"] == {}


def test_retain_keys_clears_other_union_members():
    out = smp(deployment(), {"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}})
    assert out["spec"]["strategy"] == {"type": "Recreate"}


def test_retain_keys_must_list_every_patched_field():
    with pytest.raises(ApiError) as err:
        smp(deployment(), {"spec": {"strategy": {"$retainKeys": ["type"], "rollingUpdate": {"maxSurge": 2}}}})
    assert err.value.code == 400 and "spec.strategy.rollingUpdate" in str(err.value)


def test_delete_from_primitive_list_and_set_merge_of_finalizers():
    out = smp(deployment(), {"metadata": {"finalizers": ["b/two"]}})
    assert out["metadata"]["finalizers"] == ["b/two", "a/one"]
    out = smp(out, {"metadata": {"$deleteFromPrimitiveList/finalizers": ["a/one"]}})
    assert out["metadata"]["finalizers"] == ["b/two"]


def test_volumes_merge_by_name_with_retained_keys():
    out = smp(deployment(), {"spec": {"template": {"spec": {"volumes": [
        {"name": "data", "$retainKeys": ["name", "hostPath"], "hostPath": {"path": "/srv"}}]}}}})
    assert pod_spec(out)["volumes"] == [{"name": "data", "hostPath": {"path": "/srv"}}]


def test_added_fields_lose_nulls_and_directives():
    out = smp(deployment(), {"spec": {"template": {"spec": {"dnsConfig": {"options": None, "searches": ["a"]}}}}})
    assert pod_spec(out)["dnsConfig"] == {"searches": ["a"]}


def test_pod_status_conditions_merge_by_type():
    pod = {"kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "image": "i"}]},
           "status": {"conditions": [{"type": "Ready", "status": "False"}, {"type": "Initialized", "status": "True"}]}}
    out = smp(pod, {"status": {"conditions": [{"type": "Ready", "status": "True"}]}})
    assert out["status"]["conditions"] == [{"type": "Ready", "status": "True"},
                                           {"type": "Initialized", "status": "True"}]


@pytest.mark.parametrize("patch, fragment", [
    ({"spec": {"template": {"spec": {"containers": [{"image": "x"}]}}}}, "spec.template.spec.containers"),
    ({"spec": {"template": {"spec": {"containers": [{"name": "web", "$patch": "merge"}]}}}}, "containers"),
    ({"spec": {"template": {"spec": {"containers": [{"name": "web", "$patch": "bogus"}]}}}}, "bogus"),
    ({"metadata": {"labels": {"$patch": "bogus"}}}, "metadata.labels"),
    ({"spec": {"template": {"spec": {"containers": ["web"]}}}}, "not all of the same type"),
    ({"spec": {"$setElementOrder/": []}}, "setElementOrder"),
])
def test_malformed_patches_are_400_naming_the_field(patch, fragment):
    with pytest.raises(ApiError) as err:
        smp(deployment(), patch)
    assert err.value.code == 400 and fragment in str(err.value)


def test_body_that_is_not_an_object_is_400():
    for body in (b"[1]", b"{nope"):
        with pytest.raises(ApiError) as err:
            apply_patch(deployment(), body, STRATEGIC_MERGE_PATCH)
        assert err.value.code == 400


def test_live_object_is_never_mutated():
    live = deployment()
    before = copy.deepcopy(live)
    smp(live, {"metadata": {"labels": {"$patch": "replace"}}, "spec": {"template": {"spec": {
        "containers": [{"name": "web", "$patch": "delete"}]}}}})
    assert live == before


@pytest.mark.parametrize("live, order, want", [
    ("a c d b z", "d b c a", "d b c a z"),
    ("a b z c d", "b a d c", "b a z d c"),
    ("a b x z y c d", "b a d c", "b a x z y d c"),
])
def test_set_element_order_keeps_server_only_items_near_their_neighbours(live, order, want):
    pod = {"kind": "Pod", "spec": {"containers": [{"name": n} for n in live.split()]},
           "metadata": {"finalizers": live.split()}}
    out = smp(pod, {"spec": {"$setElementOrder/containers": [{"name": n} for n in order.split()]},
                    "metadata": {"$setElementOrder/finalizers": order.split()}})
    assert [c["name"] for c in out["spec"]["containers"]] == want.split()
    assert out["metadata"]["finalizers"] == want.split()


def test_deleting_what_is_not_there_changes_nothing():
    live = deployment()
    out = smp(live, {"metadata": {"$deleteFromPrimitiveList/finalizers": ["x"],
                                  "$deleteFromPrimitiveList/absent": ["y"], "annotations": {"gone": None}},
                     "spec": {"template": {"spec": {"containers": [{"name": "nope", "$patch": "delete"}]}}}})
    assert out == live


def test_retain_keys_in_a_merged_list_item_clears_the_other_volume_source():
    live = deployment()
    pod_spec(live)["volumes"] = [{"name": "data", "emptyDir": {}}, {"name": "cfg", "configMap": {"name": "c"}}]
    out = smp(live, {"spec": {"template": {"spec": {"volumes": [
        {"name": "data", "$retainKeys": ["name", "secret"], "secret": {"secretName": "s"}}]}}}})
    assert pod_spec(out)["volumes"] == [{"name": "data", "secret": {"secretName": "s"}},
                                        {"name": "cfg", "configMap": {"name": "c"}}]


def test_unknown_kind_still_merges_maps_and_replaces_lists():
    live = {"kind": "Widget", "spec": {"a": 1, "items": [1, 2]}, "metadata": {"finalizers": ["f"]}}
    out = smp(live, {"spec": {"b": 2, "items": [3]}, "metadata": {"finalizers": ["g"]}})
    assert out["spec"] == {"a": 1, "b": 2, "items": [3]} and out["metadata"]["finalizers"] == ["g", "f"]
