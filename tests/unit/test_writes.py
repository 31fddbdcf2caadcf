"""The write verbs' pure parts: request options, bodies (JSON, YAML, kubectl's protobuf), identity against
the URL, unknown fields under fieldValidation, DeleteOptions, and the OpenAPI routes' Accept check."""

from __future__ import annotations

import pytest

from netlab.api import protobuf, resources, writeopts
from netlab.api.errors import ApiError
from netlab.api.openapi_routes import _accepts_json
from netlab.api.writes import as_if_written, is_scale

SERVICE = resources.BY_KIND["Service"]


# ----- options -----------------------------------------------------------------------------------------
def test_options_default_to_warn_and_read_dry_run_and_force() -> None:
    opts = writeopts.parse_options({})
    assert (opts.dry_run, opts.field_validation, opts.field_manager, opts.force) == (False, "Warn", None, None)
    opts = writeopts.parse_options({"fieldValidation": "Strict", "fieldManager": "me", "force": "true"}, ["All"])
    assert (opts.dry_run, opts.field_validation, opts.field_manager, opts.force) == (True, "Strict", "me", True)


@pytest.mark.parametrize("query", [{"fieldValidation": "Loose"}, {"dryRun": "Some"}, {"force": "maybe"}])
def test_unsupported_option_values_are_400(query: dict) -> None:
    with pytest.raises(ApiError) as e:
        writeopts.parse_options(query)
    assert e.value.code == 400 and "Unsupported value" in str(e.value) or "must be a boolean" in str(e.value)


# ----- bodies ------------------------------------------------------------------------------------------
def test_duplicate_fields_are_400_under_strict_and_a_warning_under_warn() -> None:
    body = b'{"kind": "Service", "apiVersion": "v1", "metadata": {"name": "a", "name": "b"}}'
    with pytest.raises(ApiError) as e:
        writeopts.decode_object(body, "application/json", writeopts.WriteOptions(field_validation="Strict"))
    assert e.value.code == 400 and 'strict decoding error: duplicate field "name"' in str(e.value)
    opts = writeopts.WriteOptions(field_validation="Warn")
    assert writeopts.decode_object(body, "application/json", opts)["metadata"]["name"] == "b"
    assert opts.warnings == ['duplicate field "name"']


@pytest.mark.parametrize("body", [b"[1]", b"{nope", b'{"a": NaN}'])
def test_malformed_or_non_object_bodies_are_400(body: bytes) -> None:
    with pytest.raises(ApiError) as e:
        writeopts.decode_object(body, "application/json", writeopts.WriteOptions())
    assert e.value.code == 400


def test_other_media_types_are_415() -> None:
    for media in ("application/cbor", "application/x-www-form-urlencoded"):
        with pytest.raises(ApiError) as e:
            writeopts.decode_object(b"{}", media, writeopts.WriteOptions())
        assert e.value.code == 415


def test_yaml_bodies_are_read() -> None:
    obj = writeopts.decode_object(b"kind: Service\nmetadata: {name: a}\n", "application/yaml", writeopts.WriteOptions())
    assert obj == {"kind": "Service", "metadata": {"name": "a"}}


def test_identity_is_filled_from_the_url_and_contradictions_are_400() -> None:
    obj = writeopts.check_identity({"metadata": {"name": "a"}}, SERVICE, "ns1", None)
    assert obj == {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "a", "namespace": "ns1"}}
    for bad, ns, name in (({"kind": "Pod"}, "ns1", None), ({"metadata": {"namespace": "x"}}, "ns1", None),
                          ({"metadata": {"name": "b"}}, "ns1", "a")):
        with pytest.raises(ApiError) as e:
            writeopts.check_identity(bad, SERVICE, ns, name)
        assert e.value.code == 400


def test_unknown_fields_come_from_validation_and_are_dropped_by_path() -> None:
    error = ApiError(422, "Invalid", "x", [{"field": "spec.foo", "message": 'unknown field "foo"'},
                                           {"field": "spec.ports[0].bar", "message": 'unknown field "bar"'}])
    assert writeopts.unknown_fields(error) == ["spec.foo", "spec.ports[0].bar"]
    obj = {"spec": {"foo": 1, "ports": [{"port": 80, "bar": 2}], "data": {"a.b": 1}}}
    assert writeopts.without_fields(obj, ["spec.foo", "spec.ports[0].bar", "spec.data[a.b]"]) == {
        "spec": {"ports": [{"port": 80}], "data": {}}}
    assert obj["spec"]["foo"] == 1   # the original is left alone
    assert writeopts.unknown_fields(ApiError(400, "BadRequest", "x")) == []


def test_report_fields_strict_raises_as_upstream_words_it() -> None:
    with pytest.raises(ApiError) as e:
        writeopts.report_fields(['unknown field "spec.foo"'], {"kind": "Service", "apiVersion": "v1"},
                                writeopts.WriteOptions(field_validation="Strict"))
    assert str(e.value) == ('Service in version "v1" cannot be handled as a Service: '
                            'strict decoding error: unknown field "spec.foo"')
    ignored = writeopts.WriteOptions(field_validation="Ignore")
    writeopts.report_fields(['unknown field "spec.foo"'], {}, ignored)
    assert ignored.warnings == []


def test_delete_options_are_checked_and_their_dry_run_taken() -> None:
    opts = writeopts.WriteOptions()
    body = writeopts.decode_delete_options(
        b'{"kind":"DeleteOptions","apiVersion":"v1","propagationPolicy":"Foreground","gracePeriodSeconds":0,'
        b'"dryRun":["All"]}', opts)
    assert body["propagationPolicy"] == "Foreground" and opts.dry_run
    assert writeopts.decode_delete_options(b"", writeopts.WriteOptions()) == {}
    with pytest.raises(ApiError) as e:
        writeopts.decode_delete_options(b'{"propagationPolicy":"Sometimes"}', writeopts.WriteOptions())
    assert e.value.code == 422 and e.value.causes[0]["field"] == "propagationPolicy"


def test_warning_headers_are_rfc7234_299() -> None:
    assert writeopts.warning_headers(['unknown field "spec.foo"']) == [
        ("Warning", '299 - "unknown field \\"spec.foo\\""')]


def test_a_dry_run_answer_keeps_the_server_metadata_and_status() -> None:
    live = {"kind": "Deployment", "metadata": {"name": "a", "uid": "u", "resourceVersion": "7", "generation": 2,
                                               "creationTimestamp": "t"}, "spec": {"replicas": 1},
            "status": {"replicas": 1}}
    result = as_if_written({"kind": "Deployment", "metadata": {"name": "a"}, "spec": {"replicas": 3}}, live)
    assert result["metadata"] == {"name": "a", "uid": "u", "resourceVersion": "7", "generation": 3,
                                  "creationTimestamp": "t"}
    assert result["status"] == {"replicas": 1} and result["spec"] == {"replicas": 3}


# ----- protobuf ----------------------------------------------------------------------------------------
def _varint(n: int) -> bytes:
    out = b""
    n &= (1 << 64) - 1
    while True:
        byte, n = n & 0x7F, n >> 7
        out += bytes([byte | (0x80 if n else 0)])
        if not n:
            return out


def _field(number: int, value: int | bytes | str) -> bytes:
    if isinstance(value, int):
        return _varint(number << 3) + _varint(value)
    data = value.encode() if isinstance(value, str) else value
    return _varint(number << 3 | 2) + _varint(len(data)) + data


def _envelope(api_version: str, kind: str, raw: bytes) -> bytes:
    type_meta = _field(1, api_version) + _field(2, kind)
    return protobuf.MAGIC + _field(1, type_meta) + _field(2, raw) + _field(3, "") + _field(4, "")


def test_protobuf_deployment_as_kubectl_create_sends_it() -> None:
    meta = _field(1, "web") + _field(2, "") + _field(3, "ns1") + _field(11, _field(1, "app") + _field(2, "web"))
    container = _field(1, "echo") + _field(2, "echo") + _field(5, "") + _field(6, _field(3, 8080))
    template = _field(1, _field(11, _field(1, "app") + _field(2, "web"))) + _field(2, _field(2, container))
    spec = (_field(1, 0) + _field(2, _field(1, _field(1, "app") + _field(2, "web"))) + _field(3, template)
            + _field(4, b"") + _field(7, 0))
    body = _envelope("apps/v1", "Deployment", _field(1, meta) + _field(2, spec) + _field(3, b""))
    assert protobuf.decode(body) == {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "ns1", "labels": {"app": "web"}},
        "spec": {"replicas": 0, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}},
                              "spec": {"containers": [{"name": "echo", "image": "echo",
                                                       "ports": [{"containerPort": 8080}]}]}}}}


def test_protobuf_service_ports_secret_bytes_and_negative_ints() -> None:
    port = _field(3, 80) + _field(4, _field(1, 0) + _field(2, 8080))
    named = _field(3, 81) + _field(4, _field(1, 1) + _field(3, "http"))
    svc = _envelope("v1", "Service", _field(1, _field(1, "s")) + _field(2, _field(1, port) + _field(1, named)))
    assert protobuf.decode(svc)["spec"]["ports"] == [{"port": 80, "targetPort": 8080},
                                                     {"port": 81, "targetPort": "http"}]
    secret = _envelope("v1", "Secret", _field(1, _field(1, "c")) + _field(2, _field(1, "user") + _field(2, b"admin")))
    assert protobuf.decode(secret)["data"] == {"user": "YWRtaW4="}
    config = _envelope("v1", "ConfigMap", _field(1, _field(1, "c")) + _field(2, _field(1, "k") + _field(2, "v")))
    assert protobuf.decode(config)["data"] == {"k": "v"}
    meta = _field(1, "n") + _field(10, -5)
    assert protobuf.decode(_envelope("v1", "Namespace", _field(1, meta)))["metadata"] == {
        "name": "n", "deletionGracePeriodSeconds": -5}


def test_protobuf_it_cannot_read_is_415_and_garbage_400() -> None:
    with pytest.raises(ApiError) as e:
        protobuf.decode(_envelope("v1", "Namespace", _field(1, _field(99, "x"))))
    assert e.value.code == 415 and "field 99 of ObjectMeta" in str(e.value)
    with pytest.raises(ApiError) as e:
        protobuf.decode(_envelope("v1", "ServiceAccount", b""))
    assert e.value.code == 415
    for garbage in (b"not protobuf", protobuf.MAGIC + b"\x0a\xff"):
        with pytest.raises(ApiError) as e:
            protobuf.decode(garbage)
        assert e.value.code == 400


def test_protobuf_bodies_reach_decode_object() -> None:
    body = _envelope("v1", "Namespace", _field(1, _field(1, "n")))
    assert writeopts.decode_object(body, protobuf.MEDIA_TYPE, writeopts.WriteOptions()) == {
        "apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "n"}}


# ----- OpenAPI ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("accept", "ok"), [
    ("", True), ("application/json", True), ("*/*", True),
    ("application/com.github.proto-openapi.spec.v2@v1.0+protobuf", False),
    ("application/com.github.proto-openapi.spec.v2@v1.0+protobuf, application/json;q=0", False),
    ("application/com.github.proto-openapi.spec.v2@v1.0+protobuf, application/json", True),
])
def test_openapi_v2_accepts_json_or_answers_406(accept: str, ok: bool) -> None:
    assert _accepts_json(accept) is ok


# ----- discovery ------------------------------------------------------------------------------------------
def test_discovery_advertises_the_write_verbs_and_the_scale_subresource() -> None:
    from netlab.api import discovery

    entries = {e["name"]: e for e in discovery.resource_list("apps/v1")["resources"]}
    assert {"create", "update", "patch", "delete", "deletecollection"} <= set(entries["deployments"]["verbs"])
    scale = entries["deployments/scale"]
    assert (scale["group"], scale["version"], scale["kind"]) == ("autoscaling", "v1", "Scale")
    assert scale["verbs"] == ["get", "patch", "update"]
    assert "services/scale" not in {e["name"] for e in discovery.resource_list("v1")["resources"]}


def test_scale_paths_are_the_subresource_only() -> None:
    assert is_scale("/apis/apps/v1/namespaces/a/deployments/web/scale")
    assert not is_scale("/api/v1/namespaces/a/pods/scale")
    assert not is_scale("/apis/apps/v1/namespaces/a/deployments/scale")
    assert not is_scale("/nope/scale")


# ----- kubectl apply over an add-on's object ------------------------------------------------------------
def test_kubectl_apply_over_an_addon_object_replaces_it_whole() -> None:
    import json

    from netlab.api.writes import LAST_APPLIED, _taken_over

    live = {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "c", "namespace": "ingress-nginx", "uid": "u1", "resourceVersion": "7",
                         "labels": {"addonmanager.kubernetes.io/mode": "Reconcile"}},
            "spec": {"template": {"spec": {"containers": [{"name": "controller", "command": ["/usr/sbin/nginx"],
                                                           "readinessProbe": {"tcpSocket": {"port": 80}}}]}}}}
    mine = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "c", "namespace": "ingress-nginx"},
            "spec": {"template": {"spec": {"containers": [{"name": "controller", "image": "x",
                                                           "readinessProbe": {"httpGet": {"port": 10254}}}]}}}}
    patch = json.dumps({"metadata": {"annotations": {LAST_APPLIED: json.dumps(mine)}}}).encode()
    smp = "application/strategic-merge-patch+json"
    new = _taken_over(live, patch, smp)
    assert new is not None and new["spec"] == mine["spec"]
    assert new["metadata"]["uid"] == "u1" and "labels" not in new["metadata"]
    assert new["metadata"]["annotations"][LAST_APPLIED] == json.dumps(mine)
    assert _taken_over({**live, "metadata": {"name": "c"}}, patch, smp) is None  # not an add-on's: a patch
    assert _taken_over(live, b'{"spec": {"replicas": 2}}', smp) is None  # kubectl patch, not apply
    assert _taken_over(live, patch, "application/merge-patch+json") is None
