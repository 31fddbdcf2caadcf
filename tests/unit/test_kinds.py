"""Every kind is accepted: the stored-only built-in kinds are validated strictly, kinds netlab has no model
for keep their metadata checked, and CRDs make their kinds served (discovery, paths)."""

from __future__ import annotations

import json

import pytest

from netlab.api import discovery, paths, resources
from netlab.model import crd
from netlab.model.loader import RawDoc
from netlab.model.problems import Source
from netlab.model.validate import parse_objects

POD_SPEC = {"containers": [{"name": "c", "image": "busybox"}], "restartPolicy": "Never"}
META = {"name": "x", "namespace": "ns1"}
GOOD = [
    {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": META, "automountServiceAccountToken": True},
    {"apiVersion": "v1", "kind": "ConfigMap", "metadata": META, "data": {"a.conf": "x"}, "binaryData": {"b": "eA=="}},
    {"apiVersion": "v1", "kind": "LimitRange", "metadata": META,
     "spec": {"limits": [{"type": "Container", "default": {"cpu": "500m", "memory": 0.5}}]}},
    {"apiVersion": "v1", "kind": "ResourceQuota", "metadata": META, "spec": {"hard": {"pods": "10"}}},
    {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": META,
     "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}},
    {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": META,
     "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]}]},
    {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "x"},
     "rules": [{"nonResourceURLs": ["/healthz"], "verbs": ["get"]}]},
    {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": META,
     "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "x"},
     "subjects": [{"kind": "ServiceAccount", "name": "x", "namespace": "ns1"}]},
    {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {"name": "x"},
     "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "x"}},
    {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": META,
     "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": "a"}}}},
    {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": META,
     "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "d"}, "minReplicas": 1,
              "maxReplicas": 3, "metrics": [{"type": "Resource", "resource": {"name": "cpu"}}]}},
    {"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass", "metadata": {"name": "high"}, "value": 1000},
    {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": META, "spec": {"holderIdentity": "a"}},
    {"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingWebhookConfiguration",
     "metadata": {"name": "x"}, "webhooks": [{
         "name": "validate.example.io", "admissionReviewVersions": ["v1"], "sideEffects": "None",
         "clientConfig": {"service": {"namespace": "ns1", "name": "svc", "path": "/v"}},
         "rules": [{"apiGroups": ["networking.k8s.io"], "apiVersions": ["v1"], "operations": ["CREATE"],
                    "resources": ["ingresses"]}]}]},
    {"apiVersion": "batch/v1", "kind": "Job", "metadata": META,
     "spec": {"backoffLimit": 2, "template": {"spec": POD_SPEC}}},
    {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": META,
     "spec": {"schedule": "*/5 * * * *", "jobTemplate": {"spec": {"template": {"spec": POD_SPEC}}}}},
    {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": META,
     "spec": {"serviceName": "s", "selector": {"matchLabels": {"a": "b"}},
              "template": {"metadata": {"labels": {"a": "b"}}, "spec": {"containers": [{"name": "c"}]}}}},
    {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {"name": "x"}, "provisioner": "p"},
]
WIDGET_CRD = {
    "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
    "metadata": {"name": "widgets.example.com"},
    "spec": {"group": "example.com", "scope": "Namespaced",
             "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "shortNames": ["wd"]},
             "versions": [{"name": "v1", "served": True, "storage": True,
                           "schema": {"openAPIV3Schema": {"type": "object",
                                                          "x-kubernetes-preserve-unknown-fields": True}}}]},
}
WIDGET = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}, "spec": {"size": 3}}


def parse(*objects: dict) -> tuple[list, list[tuple[str, str, str]]]:
    docs = [RawDoc(Source("f.yaml", i, 1), o) for i, o in enumerate(objects)]
    parsed, problems = parse_objects(docs)
    return parsed, [(p.obj, p.field, p.message) for p in problems]


@pytest.fixture
def store():
    objects: dict[str, dict] = {}
    crd.bind(lambda: objects)
    yield objects
    crd.bind(None)


@pytest.mark.parametrize("obj", GOOD, ids=lambda o: o["kind"])
def test_every_kind_is_accepted_and_kept_as_given(obj: dict) -> None:
    parsed, problems = parse(obj)
    assert problems == []
    assert contains(parsed[0].to_dict(), obj)


def contains(big: object, small: object) -> bool:
    """Everything in small is in big (which may have defaults more)."""
    if isinstance(small, dict):
        return isinstance(big, dict) and all(k in big and contains(big[k], v) for k, v in small.items())
    if isinstance(small, list):
        return isinstance(big, list) and len(big) == len(small) and all(map(contains, big, small))
    return big == small


@pytest.mark.parametrize("obj", [o for o in GOOD if o["apiVersion"] not in ("apps/v1", "storage.k8s.io/v1")],
                         ids=lambda o: o["kind"])
def test_known_kinds_are_strict_about_unknown_fields(obj: dict) -> None:
    _parsed, problems = parse({**obj, "colour": "red"})
    assert [(f, m) for _o, f, m in problems] == [("colour", 'unknown field "colour"')]


def test_problems_name_their_field() -> None:
    _, problems = parse(
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": META,
         "roleRef": {"kind": "Group", "name": "x", "apiGroup": "rbac.authorization.k8s.io"}},
        {"apiVersion": "batch/v1", "kind": "Job", "metadata": META,
         "spec": {"template": {"spec": {**POD_SPEC, "restartPolicy": "Always"}}}},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": META, "data": {"bad key": "x"}},
        {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "Bad_Name"}},
    )
    fields = [(o, f) for o, f, _m in problems]
    assert fields == [("RoleBinding ns1/x", "roleRef.kind"), ("Job ns1/x", "spec.template.spec.restartPolicy"),
                      ("ConfigMap ns1/x", "data[bad key]"), ("StatefulSet default/Bad_Name", "metadata.name"),
                      ("StatefulSet default/Bad_Name", "spec")]  # it makes pods: a spec is required


def test_cluster_scoped_kinds_drop_the_namespace() -> None:
    parsed, _ = parse({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
                       "metadata": {"name": "r", "namespace": "ns1"}},
                      {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
                       "metadata": {"name": "s", "namespace": "ns1"}})
    assert [o.to_dict()["metadata"].get("namespace") for o in parsed] == [None, None]


def test_unknown_kind_of_builtin_group_is_an_error() -> None:
    _, problems = parse({"apiVersion": "apps/v1", "kind": "Gadget", "metadata": {"name": "g"}})
    assert problems == [("Gadget default/g", "kind", 'no kind "Gadget" is registered for version "apps/v1"')]


def test_crd_in_the_same_batch_defines_its_kind_and_scope() -> None:
    parsed, problems = parse(WIDGET_CRD, WIDGET)
    assert problems == []
    assert parsed[1].to_dict() == {**WIDGET, "metadata": {"name": "w", "namespace": "default", "labels": {},
                                                          "annotations": {}}}
    cluster_crd = {**WIDGET_CRD, "spec": {**WIDGET_CRD["spec"], "scope": "Cluster"}}
    parsed, problems = parse(cluster_crd, {**WIDGET, "metadata": {"name": "w", "namespace": "x"}})
    assert problems == [] and parsed[1].namespace == ""


def test_crd_instance_without_crd(store) -> None:
    _, problems = parse(WIDGET)
    assert problems == [("Widget default/w", "kind", 'no matches for kind "Widget" in version "example.com/v1": '
                         'the CustomResourceDefinition that defines it (e.g. "widgets.example.com") is missing; '
                         "apply the CRD first")]
    _, problems = parse({**WIDGET, "apiVersion": "example.com/v2"}, WIDGET_CRD)
    assert problems[0][2].startswith('no kind "Widget" is registered for version "example.com/v2"; served: '
                                     '"example.com/v1"')


def test_crd_problems() -> None:
    bad = {**WIDGET_CRD, "metadata": {"name": "widgets.other.com"},
           "spec": {**WIDGET_CRD["spec"], "versions": [{"name": "v1", "served": True, "storage": False}]}}
    _, problems = parse(bad)
    assert [f for _o, f, _m in problems] == ["metadata.name", "spec.versions"]


def test_stored_crds_are_served(store) -> None:
    store["CustomResourceDefinition//widgets.example.com"] = WIDGET_CRD
    res = resources.lookup("wd")
    assert res is not None and (res.kind, res.api_version, res.namespaced, res.custom) == (
        "Widget", "example.com/v1", True, True)
    assert resources.lookup("widgets.example.com") == res
    assert paths.parse_path("/apis/example.com/v1/namespaces/a/widgets/w") == (res, "a", "w", None)
    assert {"name": "example.com", "versions": [{"groupVersion": "example.com/v1", "version": "v1"}],
            "preferredVersion": {"groupVersion": "example.com/v1", "version": "v1"}} in \
        discovery.api_group_list()["groups"]
    listed = discovery.resource_list("example.com/v1")
    assert listed is not None and listed["resources"][0]["shortNames"] == ["wd"]
    parsed, problems = parse(WIDGET)
    assert problems == [] and parsed[0].namespace == "default"
    crd.bind(lambda: {})
    assert resources.lookup("wd") is None and discovery.resource_list("example.com/v1") is None


def test_builtin_resources_cover_the_stored_kinds() -> None:
    for word in ("sa", "cm", "roles", "clusterrolebindings", "pdb", "hpa", "pc", "leases",
                 "validatingwebhookconfigurations", "jobs", "cj", "crd", "sts", "ds", "pvc", "quota", "limits"):
        assert resources.lookup(word) is not None, word
    assert resources.by_kind("ServiceAccount").stored_only
    assert not resources.by_kind("ConfigMap").stored_only
    assert resources.is_cluster_scoped("ClusterRole") and not resources.is_cluster_scoped("Role")


def test_malformed_objects_of_unmodelled_kinds_name_file_object_and_field(tmp_path) -> None:
    from netlab.model.loader import read_paths

    path = tmp_path / "list.yaml"
    path.write_text("apiVersion: v1\nkind: List\nitems:\n"
                    "  - apiVersion: apps/v1\n    kind: DaemonSet\n    metadata: {name: ds, labels: {a: 1}}\n"
                    "  - apiVersion: v1\n    kind: ServiceAccount\n    metadata: {name: sa}\n"
                    "  - apiVersion: example.com/v1\n    kind: Widget\n    metadata: {namespace: x}\n")
    docs, problems = read_paths([str(path)])
    assert problems == [] and [d.source.line for d in docs] == [4, 7, 10]
    parsed, found = parse_objects(docs)
    assert [o.kind for o in parsed] == ["ServiceAccount"]
    assert [(p.source.line, p.obj, p.field, p.message) for p in found] == [
        (4, "DaemonSet default/ds", "metadata.labels.a", "expected string, got integer 1"),
        (10, "document 1", "metadata.name", "required field is missing")]


def test_crd_instances_are_checked_against_the_crd_schema() -> None:
    schema = {"type": "object", "properties": {
        "spec": {"type": "object", "required": ["size"], "properties": {
            "size": {"type": "integer", "minimum": 1, "maximum": 10},
            "colour": {"type": "string", "enum": ["red", "blue"]},
            "port": {"x-kubernetes-int-or-string": True},
            "tags": {"type": "array", "items": {"type": "string", "pattern": "^[a-z]+$"}},
            "labels": {"type": "object", "additionalProperties": {"type": "string"}},
            "extra": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}}},
        "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}}}
    crd_obj = {**WIDGET_CRD, "spec": {**WIDGET_CRD["spec"], "versions": [
        {"name": "v1", "served": True, "storage": True, "schema": {"openAPIV3Schema": schema}}]}}
    good = {**WIDGET, "spec": {"size": 3, "colour": "red", "port": "http", "tags": ["a"], "labels": {"k": "v"},
                               "extra": {"anything": [1, {"x": None}]}}}
    assert parse(crd_obj, good)[1] == []
    bad = {**WIDGET, "spec": {"colour": "green", "port": 1.5, "tags": ["A"], "labels": {"k": 1}, "sizes": 2},
           "other": 1}
    assert [(f, m) for _o, f, m in parse(crd_obj, bad)[1]] == [
        ("spec.size", "Required value"),
        ("spec.colour", 'Unsupported value: "green": supported values: "red", "blue"'),
        ("spec.port", "expected integer or string, got number 1.5"),
        ("spec.tags[0]", "should match '^[a-z]+$'"),
        ("spec.labels.k", "expected string, got integer 1"),
        ("spec.sizes", 'unknown field "spec.sizes"'),
        ("other", 'unknown field "other"')]
    assert [(f, m) for _o, f, m in parse(crd_obj, {**WIDGET, "spec": {"size": 11}})[1]] == [
        ("spec.size", "should be less than or equal to 10")]


def test_crd_kinds_get_openapi_v3_documents(store) -> None:
    from netlab.api import openapi

    before = set(openapi.v3_index()["paths"])
    schema = {"type": "object", "properties": {"spec": {"type": "object", "properties": {"size": {"type": "integer"}}}}}
    versions = [{"name": "v1", "served": True, "storage": True, "schema": {"openAPIV3Schema": schema}}]
    store["CustomResourceDefinition//widgets.example.com"] = {**WIDGET_CRD, "spec": {**WIDGET_CRD["spec"],
                                                                                     "versions": versions}}
    crd.bind(lambda: dict(store))   # a new mapping: the registry sees the change
    index = openapi.v3_index()["paths"]
    assert set(index) - before == {"apis/example.com/v1"}
    doc = openapi.v3("apis/example.com/v1")
    assert doc is not None
    assert openapi.v3_hash("apis/example.com/v1") in index["apis/example.com/v1"]["serverRelativeURL"]
    schemas = doc["components"]["schemas"]
    widget = next(s for s in schemas.values() if {"group": "example.com", "version": "v1", "kind": "Widget"}
                  in s.get("x-kubernetes-group-version-kind", []))
    assert widget["properties"]["spec"]["properties"]["size"] == {"type": "integer"}
    patch = doc["paths"]["/apis/example.com/v1/namespaces/{namespace}/widgets/{name}"]["patch"]
    assert any(p.get("name") == "fieldValidation" for p in patch["parameters"])
    assert json.loads(openapi.v3_json("apis/example.com/v1")) == doc
    crd.bind(lambda: {})
    assert openapi.v3("apis/example.com/v1") is None and set(openapi.v3_index()["paths"]) == before
