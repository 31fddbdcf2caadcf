"""apply_patch: content types, JSON patch (RFC 6902) and JSON merge patch (RFC 7386) as the apiserver answers."""

import json

import pytest

from netlab.api.errors import ApiError
from netlab.api.patch import JSON_PATCH, MERGE_PATCH, apply_patch, merge_patch


def pod() -> dict:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "labels": {"app": "web", "tier": "x"}},
            "spec": {"containers": [{"name": "c", "image": "nginx", "ports": [{"containerPort": 80}]}]}}


def test_json_patch_operations():
    ops = [{"op": "replace", "path": "/spec/containers/0/image", "value": "nginx:2"},
           {"op": "add", "path": "/metadata/labels/new", "value": "1"},
           {"op": "remove", "path": "/metadata/labels/tier"},
           {"op": "test", "path": "/metadata/name", "value": "p"}]
    out = apply_patch(pod(), json.dumps(ops).encode(), JSON_PATCH)
    assert out["spec"]["containers"][0]["image"] == "nginx:2"
    assert out["metadata"]["labels"] == {"app": "web", "new": "1"}


@pytest.mark.parametrize("ops, code, fragment", [
    ([{"op": "remove", "path": "/metadata/annotations"}], 422, "remove /metadata/annotations"),
    ([{"op": "test", "path": "/metadata/name", "value": "q"}], 422, "test /metadata/name"),
    ([{"op": "replace", "path": "/spec/containers/5/image", "value": "x"}], 422, "/spec/containers/5/image"),
    ([{"op": "frobnicate", "path": "/a"}], 422, "frobnicate"),
    ({"op": "add"}, 400, "list of operations"),
    (["add"], 400, "operation 0"),
])
def test_json_patch_errors(ops, code, fragment):
    with pytest.raises(ApiError) as err:
        apply_patch(pod(), json.dumps(ops).encode(), JSON_PATCH)
    assert err.value.code == code and fragment in str(err.value)


def test_json_patch_failure_changes_nothing():
    live = pod()
    ops = [{"op": "add", "path": "/metadata/labels/a", "value": "1"}, {"op": "remove", "path": "/nope"}]
    with pytest.raises(ApiError):
        apply_patch(live, json.dumps(ops).encode(), JSON_PATCH)
    assert live == pod()


def test_merge_patch_replaces_lists_and_null_deletes():
    patch = {"metadata": {"labels": {"tier": None, "b": "2"}}, "spec": {"containers": [{"name": "d", "image": "x"}]}}
    out = apply_patch(pod(), json.dumps(patch).encode(), MERGE_PATCH + "; charset=utf-8")
    assert out["metadata"]["labels"] == {"app": "web", "b": "2"}
    assert out["spec"]["containers"] == [{"name": "d", "image": "x"}]


def test_merge_patch_rfc7386_examples():
    assert merge_patch({"a": "b"}, {"a": "c"}) == {"a": "c"}
    assert merge_patch({"a": "b"}, {"b": "c"}) == {"a": "b", "b": "c"}
    assert merge_patch({"a": "b"}, {"a": None}) == {}
    assert merge_patch({"a": ["b"]}, {"a": "c"}) == {"a": "c"}
    assert merge_patch({"a": [{"b": "c"}]}, {"a": [1]}) == {"a": [1]}
    assert merge_patch({"e": None}, {"a": 1}) == {"e": None, "a": 1}
    assert merge_patch({}, {"a": {"bb": {"ccc": None}}}) == {"a": {"bb": {}}}
    assert merge_patch({"a": "foo"}, "bar") == "bar"


@pytest.mark.parametrize("body", [b"[]", b"\"x\"", b"{", b"\xff"])
def test_merge_patch_bad_bodies_are_400(body):
    with pytest.raises(ApiError) as err:
        apply_patch(pod(), body, MERGE_PATCH)
    assert err.value.code == 400


def test_unknown_content_type_is_415():
    with pytest.raises(ApiError) as err:
        apply_patch(pod(), b"{}", "application/json")
    assert err.value.code == 415 and err.value.reason == "UnsupportedMediaType"
    assert err.value.status()["code"] == 415


def test_absurdly_deep_bodies_are_400_not_a_crash():
    deep = b'{"a":' * 5000 + b"1" + b"}" * 5000
    for content_type in ("application/strategic-merge-patch+json", MERGE_PATCH, "application/apply-patch+yaml"):
        with pytest.raises(ApiError) as err:
            apply_patch(pod(), deep, content_type, field_manager="m")
        assert err.value.code == 400


def test_patch_options_are_checked_as_the_apiserver_does():
    from netlab.api.patch import check_patch_options, manager_for
    check_patch_options(MERGE_PATCH, None, force_given=False)
    check_patch_options("application/apply-patch+yaml", "kubectl", force_given=True)
    with pytest.raises(ApiError) as err:
        check_patch_options(MERGE_PATCH, "m" * 129, force_given=True)
    assert err.value.code == 422
    assert [c["field"] for c in err.value.causes] == ["force", "fieldManager"]
    assert err.value.status()["details"]["kind"] == "PatchOptions"
    assert manager_for(None, "kubectl/v1.37.0 (linux/amd64) kubernetes/abc") == "kubectl"
    assert manager_for("kubectl-edit", "kubectl/v1.37.0") == "kubectl-edit"
    assert manager_for(None, "") == ""
