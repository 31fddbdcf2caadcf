"""OpenAPI v2/v3 documents generated from netlab's models: upstream names, GVKs, patch extensions, paths."""

from __future__ import annotations

import json

import pytest

from netlab.api import openapi
from netlab.api.patch_meta import ALL
from netlab.api.resources import RESOURCES

SERVICE = "io.k8s.api.core.v1.Service"
META = "io.k8s.apimachinery.pkg.apis.meta.v1"


def schemas(path: str) -> dict:
    doc = openapi.v3(path)
    assert doc is not None
    return doc["components"]["schemas"]


def test_v2_has_every_kind_with_its_gvk() -> None:
    doc = openapi.v2()
    assert doc["swagger"] == "2.0"
    gvks = {(g["group"], g["version"], g["kind"]) for d in doc["definitions"].values()
            for g in d.get("x-kubernetes-group-version-kind", [])}
    for r in RESOURCES:
        group, _, version = r.api_version.rpartition("/")
        assert (group, version, r.kind) in gvks
        assert (group, version, r.kind + "List") in gvks


def test_upstream_definition_names() -> None:
    names = set(openapi.v2()["definitions"])
    assert {SERVICE, "io.k8s.api.core.v1.ServicePort", "io.k8s.api.core.v1.ServiceSpec",
            f"{META}.ObjectMeta", f"{META}.LabelSelector", f"{META}.ListMeta", f"{META}.Status",
            "io.k8s.api.apps.v1.Deployment", "io.k8s.api.apps.v1.DeploymentStrategy",
            "io.k8s.api.core.v1.PodTemplateSpec", "io.k8s.api.core.v1.Container",
            "io.k8s.api.discovery.v1.EndpointSlice", "io.k8s.api.discovery.v1.EndpointPort",
            "io.k8s.api.networking.v1.Ingress", "io.k8s.api.networking.v1.NetworkPolicy",
            "io.k8s.apimachinery.pkg.util.intstr.IntOrString"} <= names
    assert not [n for n in names if "TemplateMeta" in n or "netlab" in n]


def test_refs_resolve_in_both_dialects() -> None:
    v2 = openapi.v2()
    for ref in openapi._refs(v2):
        assert ref in v2["definitions"], ref
    for path in openapi.v3_index()["paths"]:
        doc = openapi.v3(path)
        text = json.dumps(doc)
        assert "#/definitions/" not in text
        for ref in openapi._refs(doc):
            assert ref in doc["components"]["schemas"], (path, ref)


def test_service_ports_carry_the_patch_extensions_from_patch_meta() -> None:
    ports = schemas("api/v1")["io.k8s.api.core.v1.ServiceSpec"]["properties"]["ports"]
    assert ports["x-kubernetes-patch-merge-key"] == "port"
    assert ports["x-kubernetes-patch-strategy"] == "merge"
    assert ports["x-kubernetes-list-type"] == "map"
    assert ports["x-kubernetes-list-map-keys"] == ["port", "protocol"]
    assert ports["items"] == {"$ref": "#/components/schemas/io.k8s.api.core.v1.ServicePort"}


def test_container_lists_are_keyed_as_upstream() -> None:
    spec = schemas("api/v1")["io.k8s.api.core.v1.PodSpec"]["properties"]
    assert spec["containers"]["x-kubernetes-patch-merge-key"] == "name"
    container = schemas("api/v1")["io.k8s.api.core.v1.Container"]["properties"]
    assert container["ports"]["x-kubernetes-list-map-keys"] == ["containerPort", "protocol"]
    assert container["env"]["x-kubernetes-patch-merge-key"] == "name"
    assert container["args"]["x-kubernetes-list-type"] == "atomic"
    meta = schemas("api/v1")[f"{META}.ObjectMeta"]["properties"]
    assert meta["finalizers"]["x-kubernetes-list-type"] == "set"
    assert meta["ownerReferences"]["x-kubernetes-patch-merge-key"] == "uid"


def test_deployment_strategy_retains_keys() -> None:
    spec = schemas("apis/apps/v1")["io.k8s.api.apps.v1.DeploymentSpec"]["properties"]
    assert spec["strategy"]["x-kubernetes-patch-strategy"] == "retainKeys"
    # the pod template's containers are the same Container definition, keyed by name
    template = schemas("apis/apps/v1")["io.k8s.api.core.v1.PodTemplateSpec"]["properties"]
    assert template["spec"] == {"$ref": "#/components/schemas/io.k8s.api.core.v1.PodSpec"}


def test_every_patch_meta_field_of_a_modelled_kind_is_emitted() -> None:
    """Each table entry whose field the model has appears as an extension at that path."""
    doc = openapi.v2()
    defs = doc["definitions"]

    def at(schema: dict, path: tuple[str, ...]) -> dict | None:
        for name in path:
            while "$ref" in schema or schema.get("type") == "array":
                schema = defs[schema["$ref"].rpartition("/")[2]] if "$ref" in schema else schema["items"]
            prop = (schema.get("properties") or {}).get(name)
            if prop is None:
                return None
            schema = prop
        return schema

    checked = 0
    for r in RESOURCES:
        root = defs[openapi.kind_definition_name(r)]
        for path, meta in ALL.get(r.kind, {}).items():
            found = at(root, path)
            if found is None:
                continue  # netlab's model has no such field
            checked += 1
            if meta.merge_key:
                assert found.get("x-kubernetes-patch-merge-key") == meta.merge_key, (r.kind, path)
            if meta.list_type:
                assert found.get("x-kubernetes-list-type") == meta.list_type, (r.kind, path)
    assert checked > 20


def test_types_from_the_models() -> None:
    port = schemas("api/v1")["io.k8s.api.core.v1.ServicePort"]
    assert port["required"] == ["port"]
    assert port["properties"]["port"]["type"] == "integer"
    assert port["properties"]["protocol"]["enum"] == ["TCP", "UDP", "SCTP"]
    target = port["properties"]["targetPort"]  # OpenAPI 3 ignores siblings of $ref: described refs use allOf
    assert target["allOf"] == [{"$ref": "#/components/schemas/io.k8s.apimachinery.pkg.util.intstr.IntOrString"}]
    assert target["description"].startswith("The port on the selected pods")
    v2_target = openapi.v2()["definitions"]["io.k8s.api.core.v1.ServicePort"]["properties"]["targetPort"]
    assert v2_target["$ref"] == "#/definitions/io.k8s.apimachinery.pkg.util.intstr.IntOrString"
    intstr = "io.k8s.apimachinery.pkg.util.intstr.IntOrString"
    assert openapi.v2()["definitions"][intstr]["type"] == "string"
    v3_intstr = schemas("api/v1")[intstr]
    assert "type" not in v3_intstr and v3_intstr["x-kubernetes-int-or-string"] is True
    assert v3_intstr["anyOf"] == [{"type": "integer"}, {"type": "string"}]
    svc = schemas("api/v1")[SERVICE]["properties"]
    assert svc["apiVersion"] == {"type": "string"} and svc["kind"] == {"type": "string"}
    assert svc["metadata"] == {"$ref": f"#/components/schemas/{META}.ObjectMeta"}
    meta = schemas("api/v1")[f"{META}.ObjectMeta"]
    assert "required" not in meta  # a pod template's metadata has no name
    assert meta["properties"]["labels"] == {"type": "object", "additionalProperties": {"type": "string"}}
    assert meta["properties"]["creationTimestamp"] == {"type": "string", "format": "date-time"}


def test_v3_index_and_documents_per_group_version() -> None:
    index = openapi.v3_index()["paths"]
    assert {"api/v1", "apis/apps/v1", "apis/discovery.k8s.io/v1", "apis/networking.k8s.io/v1", "apis/batch/v1",
            "apis/rbac.authorization.k8s.io/v1", "apis/apiextensions.k8s.io/v1"} <= set(index)
    assert set(index) == {("api/" if r.api_version == "v1" else "apis/") + r.api_version for r in RESOURCES}
    for path, entry in index.items():
        url = entry["serverRelativeURL"]
        assert url.startswith(f"/openapi/v3/{path}?hash=")
        assert url.endswith(openapi.v3_hash(path))
    apps = openapi.v3("apis/apps/v1")
    assert apps["openapi"].startswith("3.0")
    assert all(p.startswith("/apis/apps/v1/") for p in apps["paths"])
    assert SERVICE not in apps["components"]["schemas"]  # each document carries what it uses
    assert openapi.v3("apis/nosuch/v1") is None
    assert openapi.v3("/api/v1") is openapi.v3("api/v1")


def test_documents_are_cached_and_hash_their_content() -> None:
    assert openapi.v2() is openapi.v2()
    assert openapi.v3_json("api/v1") is openapi.v3_json("api/v1")
    assert json.loads(openapi.v3_json("api/v1")) == openapi.v3("api/v1")
    digest = openapi.v3_hash("api/v1")
    assert digest == openapi._content_hash(openapi.v3("api/v1"))
    changed = json.loads(openapi.v3_json("api/v1"))
    changed["info"]["version"] = "other"
    assert openapi._content_hash(changed) != digest
    group_versions = {r.api_version for r in RESOURCES}
    assert len({openapi.v3_hash(p) for p in openapi.v3_index()["paths"]}) == len(group_versions)


@pytest.mark.parametrize("path", ["/api/v1/namespaces/{namespace}/services/{name}",
                                  "/apis/apps/v1/namespaces/{namespace}/deployments/{name}",
                                  "/api/v1/nodes/{name}", "/api/v1/namespaces/{name}"])
def test_patch_declares_field_validation_and_the_gvk(path: str) -> None:
    """What kubectl's query_param_verifier_v3 looks for: a PATCH operation with the GVK extension (an object)
    and a parameter named fieldValidation among the operation's own parameters."""
    doc = openapi.v3("api/v1" if path.startswith("/api/") else "apis/apps/v1")
    patch = doc["paths"][path]["patch"]
    assert isinstance(patch["x-kubernetes-group-version-kind"], dict)
    assert "fieldValidation" in [p["name"] for p in patch["parameters"]]
    assert set(patch["requestBody"]["content"]) == {
        "application/json-patch+json", "application/merge-patch+json",
        "application/strategic-merge-patch+json", "application/apply-patch+yaml"}


def test_every_patch_of_every_kind_declares_field_validation() -> None:
    for path in openapi.v3_index()["paths"]:
        for ops in openapi.v3(path)["paths"].values():
            for verb in ("post", "put", "patch"):
                if verb in ops:
                    assert "fieldValidation" in [p["name"] for p in ops[verb]["parameters"]]


def test_operations_per_resource() -> None:
    paths = openapi.v2()["paths"]
    collection = paths["/api/v1/namespaces/{namespace}/services"]
    assert {op["x-kubernetes-action"] for op in collection.values()} == {"list", "post", "deletecollection"}
    item = paths["/api/v1/namespaces/{namespace}/services/{name}"]
    assert {op["x-kubernetes-action"] for op in item.values()} == {"get", "put", "patch", "delete"}
    assert "/api/v1/services" in paths  # list across namespaces
    assert "/api/v1/nodes" in paths and "/api/v1/namespaces/{namespace}/nodes" not in paths
    create = collection["post"]
    body = [p for p in create["parameters"] if p["in"] == "body"]
    assert body[0]["schema"] == {"$ref": f"#/definitions/{SERVICE}"}
    namespace = [p for p in create["parameters"] if p["name"] == "namespace"][0]
    assert namespace["in"] == "path" and namespace["required"] is True
    ids = [op["operationId"] for ops in paths.values() for op in ops.values()]
    assert len(ids) == len(set(ids))


def test_kinds_without_a_model_keep_their_fields() -> None:
    defs = openapi.v2()["definitions"]
    node = defs["io.k8s.api.core.v1.Node"]
    assert node["x-kubernetes-preserve-unknown-fields"] is True
    assert {"metadata", "spec", "status"} <= set(node["properties"])
    event = defs["io.k8s.api.core.v1.Event"]["properties"]
    assert event["involvedObject"] == {"$ref": "#/definitions/io.k8s.api.core.v1.ObjectReference"}
    assert event["lastTimestamp"]["format"] == "date-time"


def test_every_kind_has_a_description() -> None:
    defs = openapi.v2()["definitions"]
    for r in RESOURCES:
        assert defs[openapi.kind_definition_name(r)].get("description"), r.kind
