"""Discovery documents, built from the resource table, as kubectl reads them."""

from __future__ import annotations

from netlab.api import discovery


def test_core_resources_with_short_names_categories_and_verbs() -> None:
    doc = discovery.document("/api/v1", "127.0.0.1:6443")
    assert doc["kind"] == "APIResourceList" and doc["groupVersion"] == "v1"
    by_name = {r["name"]: r for r in doc["resources"]}
    pods = by_name["pods"]
    assert pods["shortNames"] == ["po"] and pods["categories"] == ["all"]
    assert pods["namespaced"] and pods["kind"] == "Pod" and pods["singularName"] == "pod"
    assert {"get", "list", "delete"} <= set(pods["verbs"]) <= set(discovery.SERVED_VERBS)
    assert by_name["pods/log"]["verbs"] == ["get"]
    assert "categories" not in by_name["endpoints"]
    assert by_name["namespaces"]["namespaced"] is False and by_name["nodes"]["shortNames"] == ["no"]


def test_groups_and_their_versions() -> None:
    groups = {g["name"]: g for g in discovery.document("/apis", "x")["groups"]}
    assert {"apps", "networking.k8s.io", "discovery.k8s.io"} <= set(groups)
    assert groups["apps"]["preferredVersion"] == {"groupVersion": "apps/v1", "version": "v1"}
    assert discovery.document("/apis/apps", "x")["kind"] == "APIGroup"
    deploy = {r["name"]: r for r in discovery.document("/apis/apps/v1", "x")["resources"]}["deployments"]
    assert deploy["shortNames"] == ["deploy"] and deploy["categories"] == ["all"]
    assert discovery.document("/apis/widgets.example.com", "x") is None
    assert discovery.document("/apis/apps/v2", "x") is None


def test_api_versions_and_version() -> None:
    doc = discovery.document("/api", "127.0.0.1:6443")
    assert doc["versions"] == ["v1"]
    assert doc["serverAddressByClientCIDRs"][0]["serverAddress"] == "127.0.0.1:6443"
    info = discovery.document("/version", "x")
    assert info["gitVersion"] == "v1.37.0-netlab" and (info["major"], info["minor"]) == ("1", "37")
