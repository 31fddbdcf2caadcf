"""Server-side apply: managedFields in the upstream FieldsV1 format, ownership, conflicts, force, removal."""

import json

import pytest
import yaml

from netlab.api.errors import ApiError
from netlab.api.patch import APPLY_PATCH, apply_patch, create_with_apply, record_update


def config(replicas: int = 2, image: str = "nginx:1", ports=(80,), labels=None) -> dict:
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "default", "labels": labels or {"app": "web"}},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}},
                     "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [
                         {"name": "web", "image": image,
                          "ports": [{"containerPort": port} for port in ports]}]}}}}


def ssa(live: dict, cfg: dict, manager: str = "kubectl", force: bool = False) -> dict:
    return apply_patch(live, yaml.safe_dump(cfg).encode(), APPLY_PATCH, field_manager=manager, force=force)


def managers(obj: dict) -> dict:
    return {(m["manager"], m["operation"]): m for m in obj["metadata"]["managedFields"]}


def owned(obj: dict, manager: str, operation: str = "Apply") -> dict:
    return managers(obj)[(manager, operation)]["fieldsV1"]


def test_create_records_the_applied_fields_in_fieldsv1_format():
    obj = create_with_apply(yaml.safe_dump(config()).encode(), "kubectl")
    entry = managers(obj)[("kubectl", "Apply")]
    assert entry["apiVersion"] == "apps/v1" and entry["fieldsType"] == "FieldsV1" and entry["time"].endswith("Z")
    fields = entry["fieldsV1"]
    assert "f:name" not in fields["f:metadata"] and fields["f:metadata"]["f:labels"] == {"f:app": {}}
    container = fields["f:spec"]["f:template"]["f:spec"]["f:containers"]['k:{"name":"web"}']
    assert container["."] == {} and container["f:image"] == {} and container["f:name"] == {}
    # The merge key of container ports is containerPort+protocol; protocol defaults to TCP.
    assert 'k:{"containerPort":80,"protocol":"TCP"}' in container["f:ports"]
    assert obj["spec"]["replicas"] == 2


def test_reapply_without_a_field_removes_it_and_its_ownership():
    obj = create_with_apply(yaml.safe_dump(config(ports=(80, 443), labels={"app": "web", "x": "1"})).encode(),
                            "kubectl")
    obj = ssa(obj, config(ports=(80,)))
    assert obj["metadata"]["labels"] == {"app": "web"}
    assert obj["spec"]["template"]["spec"]["containers"][0]["ports"] == [{"containerPort": 80}]
    ports = owned(obj, "kubectl")["f:spec"]["f:template"]["f:spec"]["f:containers"]['k:{"name":"web"}']["f:ports"]
    assert list(ports) == ['k:{"containerPort":80,"protocol":"TCP"}']


def test_removing_the_only_label_drops_the_empty_map():
    obj = create_with_apply(yaml.safe_dump(config(labels={"x": "1"})).encode(), "kubectl")
    cfg = config()
    del cfg["metadata"]["labels"]
    assert "labels" not in ssa(obj, cfg)["metadata"]


def test_conflict_with_another_manager_is_409_naming_the_field():
    obj = create_with_apply(yaml.safe_dump(config()).encode(), "kubectl")
    scaled = dict(obj, spec=dict(obj["spec"], replicas=5))
    obj = record_update(obj, scaled, "kubectl-scale")
    with pytest.raises(ApiError) as err:
        ssa(obj, config(replicas=3))
    error = err.value
    when = managers(obj)[("kubectl-scale", "Update")]["time"]
    who = f'"kubectl-scale" using apps/v1 at {when}'
    assert error.code == 409 and error.reason == "Conflict"
    assert str(error) == f"Apply failed with 1 conflict: conflict with {who}: .spec.replicas"
    assert error.causes == [{"type": "FieldManagerConflict", "message": f"conflict with {who}",
                             "field": ".spec.replicas"}]


def test_several_conflicts_are_grouped_by_manager():
    obj = create_with_apply(yaml.safe_dump(config()).encode(), "kubectl")
    other = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "labels": {"app": "web"}},
             "spec": {"replicas": 2}}
    obj = ssa(obj, other, manager="ops")
    with pytest.raises(ApiError) as err:
        ssa(obj, dict(other, metadata={"name": "web", "labels": {"app": "api"}}, spec={"replicas": 9}),
            manager="me")
    message = str(err.value)
    assert message.startswith("Apply failed with 4 conflicts: conflicts with \"kubectl\":\n")
    assert '\nconflicts with "ops":\n- .metadata.labels.app\n- .spec.replicas' in message
    assert {c["field"] for c in err.value.causes} == {".metadata.labels.app", ".spec.replicas"}


def test_force_moves_ownership():
    obj = create_with_apply(yaml.safe_dump(config()).encode(), "kubectl")
    obj = record_update(obj, dict(obj, spec=dict(obj["spec"], replicas=5)), "kubectl-scale")
    obj = ssa(obj, config(replicas=3), force=True)
    assert obj["spec"]["replicas"] == 3
    assert ("kubectl-scale", "Update") not in managers(obj), "its only field moved, the entry is gone"
    assert "f:replicas" in owned(obj, "kubectl")["f:spec"]


def test_same_value_is_shared_not_a_conflict_and_survives_one_owner_leaving():
    obj = create_with_apply(yaml.safe_dump(config()).encode(), "kubectl")
    other = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}, "spec": {"replicas": 2}}
    obj = ssa(obj, other, manager="hpa")
    assert "f:replicas" in owned(obj, "hpa")["f:spec"] and "f:replicas" in owned(obj, "kubectl")["f:spec"]
    cfg = config()
    del cfg["spec"]["replicas"]
    obj = ssa(obj, cfg)
    assert obj["spec"]["replicas"] == 2, "hpa still owns replicas"
    assert "f:replicas" not in owned(obj, "kubectl")["f:spec"]


def test_apply_keeps_fields_other_managers_set():
    obj = create_with_apply(yaml.safe_dump(config()).encode(), "kubectl")
    edited = json.loads(json.dumps(obj))
    edited["metadata"]["annotations"] = {"team": "blue"}
    obj = record_update(obj, edited, "kubectl-annotate")
    obj = ssa(obj, config(image="nginx:2"))
    assert obj["metadata"]["annotations"] == {"team": "blue"}
    assert obj["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:2"


def test_existing_object_without_managed_fields_belongs_to_before_first_apply():
    live = config(replicas=4)
    with pytest.raises(ApiError) as err:
        ssa(live, config(replicas=2))
    assert 'conflict with "before-first-apply"' in str(err.value)
    assert ssa(live, config(replicas=4))["spec"]["replicas"] == 4


def test_record_update_takes_changed_fields_from_other_managers():
    obj = create_with_apply(yaml.safe_dump(config()).encode(), "kubectl")
    edited = json.loads(json.dumps(obj))
    edited["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:3"
    obj = record_update(obj, edited, "kubectl-edit")
    edit = owned(obj, "kubectl-edit", "Update")
    assert edit == {"f:spec": {"f:template": {"f:spec": {"f:containers": {'k:{"name":"web"}': {"f:image": {}}}}}}}
    container = owned(obj, "kubectl")["f:spec"]["f:template"]["f:spec"]["f:containers"]['k:{"name":"web"}']
    assert "f:image" not in container and "f:name" in container


def test_record_update_on_create_owns_everything_and_no_change_adds_no_entry():
    obj = record_update({}, config(), "kubectl-create")
    assert set(owned(obj, "kubectl-create", "Update")) == {"f:metadata", "f:spec"}
    again = record_update(obj, obj, "kubectl-label")
    assert ("kubectl-label", "Update") not in managers(again)


def test_managed_fields_are_stripped_by_a_single_empty_entry_and_kept_by_an_empty_list():
    obj = create_with_apply(yaml.safe_dump(config()).encode(), "kubectl")
    cleared = json.loads(json.dumps(obj))
    cleared["metadata"]["managedFields"] = [{}]
    assert "managedFields" not in record_update(obj, cleared, "kubectl-edit")["metadata"]
    for unaware in ([], None):
        cleared["metadata"]["managedFields"] = unaware
        assert managers(record_update(obj, cleared, "kubectl-edit")) == managers(obj)
    rewritten = json.loads(json.dumps(obj))
    rewritten["metadata"]["managedFields"][0]["manager"] = "renamed"
    assert set(managers(record_update(obj, rewritten, "kubectl-edit"))) == {("renamed", "Apply")}


@pytest.mark.parametrize("body, code", [
    (b"kind: [", 400), (b"- a\n- b\n", 400), (b"metadata: {name: x}\n", 400),
])
def test_malformed_apply_bodies_are_400(body, code):
    with pytest.raises(ApiError) as err:
        apply_patch(config(), body, APPLY_PATCH, field_manager="kubectl")
    assert err.value.code == code


def test_apply_needs_a_field_manager_and_the_same_kind():
    with pytest.raises(ApiError) as err:
        apply_patch(config(), yaml.safe_dump(config()).encode(), APPLY_PATCH)
    assert err.value.code == 422 and err.value.reason == "Invalid"
    assert str(err.value) == ('PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: '
                              "is required for apply patch")
    assert err.value.causes == [{"reason": "FieldValueRequired", "message": "Required value: is required for "
                                 "apply patch", "field": "fieldManager"}]
    service = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"}}
    with pytest.raises(ApiError) as err:
        ssa(config(), service)
    assert err.value.code == 400


def test_stale_resource_version_in_the_config_is_a_conflict():
    live = create_with_apply(yaml.safe_dump(config()).encode(), "kubectl")
    live["metadata"]["resourceVersion"] = "7"
    stale = config()
    stale["metadata"]["resourceVersion"] = "6"
    with pytest.raises(ApiError) as err:
        ssa(live, stale)
    assert err.value.code == 409


def test_apply_does_not_set_status_or_server_owned_metadata():
    live = create_with_apply(yaml.safe_dump(config()).encode(), "kubectl")
    live["status"] = {"replicas": 2}
    live["metadata"]["uid"] = "u-1"
    cfg = config()
    cfg["status"] = {"replicas": 99}
    cfg["metadata"]["uid"] = "other"
    out = ssa(live, cfg)
    assert out["status"] == {"replicas": 2} and out["metadata"]["uid"] == "u-1"


def test_entries_are_ordered_apply_first():
    obj = record_update({}, config(), "kubectl-create")
    obj = ssa(obj, config(replicas=2, labels={"app": "web", "new": "1"}), manager="tool")
    assert [(m["manager"], m["operation"]) for m in obj["metadata"]["managedFields"]] == [
        ("tool", "Apply"), ("kubectl-create", "Update")]


def test_a_put_that_drops_a_list_item_drops_its_ownership_everywhere():
    cfg = config()
    cfg["spec"]["template"]["spec"]["containers"].append({"name": "sidecar", "image": "busybox"})
    obj = create_with_apply(yaml.safe_dump(cfg).encode(), "kubectl")
    replaced = json.loads(json.dumps(obj))
    replaced["spec"]["template"]["spec"]["containers"].pop()
    obj = record_update(obj, replaced, "kubectl-replace")
    assert "sidecar" not in json.dumps(obj["metadata"]["managedFields"])
    obj = ssa(obj, cfg)
    assert [c["name"] for c in obj["spec"]["template"]["spec"]["containers"]] == ["web", "sidecar"]


def test_malformed_managed_fields_from_a_client_do_not_crash():
    obj = config()
    obj["metadata"]["managedFields"] = [
        {"manager": "x", "operation": "Update", "fieldsV1": "nonsense"},
        {"manager": "y", "operation": "Apply", "fieldsV1": {"f:spec": {"k:{broken": {".": {}}}}}, "junk"]
    out = ssa(obj, config(replicas=2))
    assert ("kubectl", "Apply") in managers(out)


def test_an_apply_config_carrying_managed_fields_is_refused():
    cfg = config()
    cfg["metadata"]["managedFields"] = [{"manager": "x", "operation": "Apply"}]
    with pytest.raises(ApiError) as err:
        ssa(config(), cfg)
    assert err.value.code == 400 and "managedFields must be nil" in str(err.value)


def test_a_write_through_a_subresource_is_recorded_with_it():
    obj = create_with_apply(yaml.safe_dump(config()).encode(), "kubectl")
    obj = record_update(obj, dict(obj, spec=dict(obj["spec"], replicas=4)), "kubectl-scale", subresource="scale")
    entry = managers(obj)[("kubectl-scale", "Update")]
    assert entry["subresource"] == "scale" and entry["fieldsV1"] == {"f:spec": {"f:replicas": {}}}
    with pytest.raises(ApiError) as err:
        ssa(obj, config(replicas=3))
    assert 'conflict with "kubectl-scale" with subresource "scale" using apps/v1' in str(err.value)


def test_duplicate_keys_in_an_applied_list_are_422():
    cfg = config(ports=(80, 80))
    with pytest.raises(ApiError) as err:
        ssa(config(), cfg)
    assert err.value.code == 422
    assert str(err.value) == ('.spec.template.spec.containers[name="web"].ports: duplicate entries for key '
                              '[containerPort=80,protocol="TCP"]')


def test_a_stored_object_with_duplicate_keys_can_still_be_updated():
    old = config(ports=(80, 80))
    new = config(ports=(80, 80), replicas=5)
    assert record_update(old, new, "kubectl-edit")["spec"]["replicas"] == 5


def test_kubectl_takes_over_fields_client_side_apply_set_without_conflicts():
    applied = config()
    live = dict(config(), metadata=dict(config()["metadata"], annotations={
        "kubectl.kubernetes.io/last-applied-configuration": json.dumps(applied)}))
    live = record_update({}, live, "kubectl-client-side-apply")
    assert ssa(live, config(replicas=4))["spec"]["replicas"] == 4
    with pytest.raises(ApiError):
        ssa(live, config(replicas=4), manager="some-tool")
    # A field changed since the last client-side apply is not the annotation's: it still conflicts.
    edited = record_update(live, dict(live, spec=dict(live["spec"], replicas=7)), "kubectl-client-side-apply")
    with pytest.raises(ApiError) as err:
        ssa(edited, config(replicas=4))
    assert ".spec.replicas" in str(err.value)
