"""Every validation rule of netlab.model, with the exact path and message."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from netlab.model.loader import RawDoc
from netlab.model.problems import Problem, Source
from netlab.model.validate import parse_objects

SRC = Source("t.yaml", 0, 1)


def check(*objs: dict[str, Any]) -> list[tuple[str, str, str]]:
    docs = [RawDoc(Source("t.yaml", i, 1 + 10 * i), o) for i, o in enumerate(objs)]
    _, problems = parse_objects(docs)
    return [(p.obj, p.field, p.message) for p in problems]


def fields(*objs: dict[str, Any]) -> list[tuple[str, str]]:
    return [(f, m) for _, f, m in check(*objs)]


def service(**spec: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"selector": {"app": "a"}, "ports": [{"port": 80}]}
    base.update(spec)
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "svc"}, "spec": base}


def pod(containers: list[dict] | None = None, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p"},
        "spec": {"containers": containers or [{"name": "c", "image": "busybox"}], **spec},
    }


def deployment(selector: dict | None = None, labels: dict | None = None) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "d"},
        "spec": {
            "selector": selector if selector is not None else {"matchLabels": {"app": "a"}},
            "template": {
                "metadata": {"labels": labels if labels is not None else {"app": "a"}},
                "spec": {"containers": [{"name": "c", "image": "busybox"}]},
            },
        },
    }


def ingress(paths: list[dict], **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {"name": "ing"},
        "spec": {"rules": [{"host": "example.org", "http": {"paths": paths}}], **spec},
    }


def backend(svc: str = "app", **port: Any) -> dict[str, Any]:
    return {"service": {"name": svc, "port": port or {"number": 80}}}


def policy(**spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": "np"},
        "spec": {"podSelector": {}, **spec},
    }


def np_ingress(peers: list[dict] | None = None, ports: list[dict] | None = None) -> dict[str, Any]:
    return policy(ingress=[{"from": peers or [{"podSelector": {}}], "ports": ports or []}])


# --- kind / apiVersion / structure ---------------------------------------------------------------


def test_unknown_kind_lists_supported_kinds() -> None:
    assert check({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}}) == [
        (
            "ConfigMap default/x",
            "kind",
            'unknown kind "ConfigMap"; supported kinds: Cluster, Deployment, EndpointSlice, Endpoints, '
            "Ingress, IngressClass, Namespace, NetworkPolicy, Pod, ReplicaSet, Secret, Service",
        )
    ]


def test_unknown_kind_can_be_skipped() -> None:
    docs = [RawDoc(SRC, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}})]
    assert parse_objects(docs, skip_unknown_kinds=True) == ([], [])


def test_missing_kind_and_api_version() -> None:
    assert check({"metadata": {"name": "x"}}) == [("document 1", "kind", "required field is missing")]
    assert check({"kind": "Pod", "metadata": {"name": "x"}}) == [
        ("Pod default/x", "apiVersion", "required field is missing")
    ]


def test_wrong_api_version_for_kind() -> None:
    d = deployment()
    d["apiVersion"] = "extensions/v1beta1"
    assert check(d) == [
        (
            "Deployment default/d",
            "apiVersion",
            'unsupported apiVersion "extensions/v1beta1" for kind Deployment; expected "apps/v1"',
        )
    ]


def test_missing_required_field_and_missing_name() -> None:
    assert check({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}}) == [
        ("Pod default/p", "spec", "required field is missing")
    ]
    assert check({"apiVersion": "v1", "kind": "Pod", "metadata": {}, "spec": {"containers": []}}) == [
        ("document 1", "metadata.name", "required field is missing")
    ]


def test_wrong_types_are_reported_with_values() -> None:
    s = service(ports=[{"port": "abc"}, {"port": 81, "name": 5}], publishNotReadyAddresses="yes")
    s["metadata"]["labels"] = {"version": 1.0}
    assert fields(s) == [
        ("metadata.labels.version", "expected string, got number 1.0"),
        ("spec.ports[0].port", "expected integer, got string 'abc'"),
        ("spec.ports[1].name", "expected string, got integer 5"),
        ("spec.publishNotReadyAddresses", "expected boolean, got string 'yes'"),
    ]
    assert fields(service(ports={"port": 80})) == [("spec.ports", "expected array, got object")]
    assert fields(pod(containers=["c"])) == [("spec.containers[0]", "expected object, got string 'c'")]


def test_unknown_fields_are_errors() -> None:
    p = pod(containers=[{"name": "c", "image": "i", "portz": []}], foo=1)
    assert fields(p) == [
        ("spec.containers[0].portz", 'unknown field "portz"'),
        ("spec.foo", 'unknown field "foo"'),
    ]


def test_label_keys_with_dots_use_brackets() -> None:
    s = service()
    s["metadata"]["labels"] = {"app.kubernetes.io/name": 3}
    assert fields(s) == [("metadata.labels[app.kubernetes.io/name]", "expected string, got integer 3")]


def test_null_means_unset() -> None:
    s = service(type=None, clusterIP=None)
    s["metadata"]["labels"] = None
    assert check(s) == []


def test_invalid_enum_value() -> None:
    assert fields(service(type="Internal")) == [
        (
            "spec.type",
            'unsupported value "Internal"; supported values: "ClusterIP", "NodePort", '
            '"LoadBalancer", "ExternalName"',
        )
    ]


# --- metadata ------------------------------------------------------------------------------------


def test_names() -> None:
    s = service()
    s["metadata"]["name"] = "1svc"
    assert fields(s) == [
        (
            "metadata.name",
            "invalid name '1svc': a DNS-1035 label must consist of lower case alphanumeric "
            "characters or '-', start with an alphabetic character, and end with an "
            "alphanumeric character",
        )
    ]
    ns = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a.b"}}
    assert check(ns) == [
        (
            "Namespace a.b",
            "metadata.name",
            "invalid name 'a.b': a lowercase RFC 1123 label must consist of lower case "
            "alphanumeric characters or '-', and must start and end with an alphanumeric character",
        )
    ]
    p = pod()
    p["metadata"]["name"] = "web.v1"  # subdomains are fine for pods
    assert check(p) == []
    p["metadata"]["name"] = "Web"
    assert fields(p) == [
        (
            "metadata.name",
            "invalid name 'Web': a lowercase RFC 1123 subdomain must consist of lower case "
            "alphanumeric characters, '-' or '.', and must start and end with an alphanumeric "
            "character",
        )
    ]
    p["metadata"]["name"] = "a" * 254
    assert fields(p)[0] == (
        "metadata.name",
        f"invalid name '{'a' * 254}': must be no more than 253 characters",
    )


def test_namespace_and_generate_name() -> None:
    p = pod()
    p["metadata"].update(namespace="Bad_ns", generateName="p-")
    assert check(p) == [
        ("Pod Bad_ns/p", "metadata.generateName", "generateName is not supported; set metadata.name"),
        (
            "Pod Bad_ns/p",
            "metadata.namespace",
            "invalid name 'Bad_ns': a lowercase RFC 1123 label must consist of lower case alphanumeric "
            "characters or '-', and must start and end with an alphanumeric character",
        ),
    ]


def test_label_and_annotation_syntax() -> None:
    p = pod()
    p["metadata"]["labels"] = {"-bad": "ok", "good": "-bad-", "example.com/x": "y", "a/b/c": "x"}
    p["metadata"]["annotations"] = {"Bad Key": "anything goes here!"}
    assert fields(p) == [
        (
            "metadata.labels",
            "invalid label key '-bad': name part must consist of alphanumeric characters, '-', "
            "'_' or '.', and must start and end with an alphanumeric character",
        ),
        (
            "metadata.labels",
            "invalid label value '-bad-' for key 'good': a valid label must be an empty string "
            "or consist of alphanumeric characters, '-', '_' or '.', and must start and end "
            "with an alphanumeric character",
        ),
        (
            "metadata.labels",
            "invalid label key 'a/b/c': prefix part a lowercase RFC 1123 subdomain must consist "
            "of lower case alphanumeric characters, '-' or '.', and must start and end with an "
            "alphanumeric character",
        ),
        (
            "metadata.annotations",
            "invalid annotation key 'Bad Key': name part must consist of alphanumeric "
            "characters, '-', '_' or '.', and must start and end with an alphanumeric "
            "character",
        ),
    ]


def test_duplicate_objects_name_both_sources() -> None:
    s = service()
    other_ns = copy.deepcopy(s)
    other_ns["metadata"]["namespace"] = "prod"
    assert check(s, other_ns, s) == [
        ("Service default/svc", "metadata.name", "duplicate Service default/svc: also defined at t.yaml:1")
    ]
    p = copy.deepcopy(pod())
    p["metadata"]["name"] = "svc"  # another kind with the same name is fine
    assert check(s, p) == []


def test_every_problem_is_collected_across_documents() -> None:
    bad_pod = pod(containers=[{"name": "c", "image": "i", "ports": [{"containerPort": 0}]}])
    assert check(service(ports=[{"port": 0}]), bad_pod, {"kind": "Nope"}) == [
        ("Service default/svc", "spec.ports[0].port", "must be between 1 and 65535, got 0"),
        ("Pod default/p", "spec.containers[0].ports[0].containerPort", "must be between 1 and 65535, got 0"),
        (
            "document 3",
            "kind",
            'unknown kind "Nope"; supported kinds: Cluster, Deployment, EndpointSlice, '
            "Endpoints, Ingress, IngressClass, Namespace, NetworkPolicy, Pod, ReplicaSet, "
            "Secret, Service",
        ),
    ]


# --- Service -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ({"ports": [{"port": 70000}]}, [("spec.ports[0].port", "must be between 1 and 65535, got 70000")]),
        (
            {"type": "NodePort", "ports": [{"port": 80, "nodePort": 80}]},
            [("spec.ports[0].nodePort", "must be in the range 30000-32767, got 80")],
        ),
        (
            {"ports": [{"port": 80, "nodePort": 30080}]},
            [("spec.ports[0].nodePort", "may not be used when type is ClusterIP")],
        ),
        (
            {"ports": [{"port": 80, "name": "a"}, {"port": 80, "name": "a"}]},
            [
                ("spec.ports[1].name", "duplicate port name 'a' (also ports[0])"),
                ("spec.ports[1]", "duplicate port 80/TCP (also ports[0])"),
            ],
        ),
        ({"ports": [{"port": 53, "name": "dns", "protocol": "UDP"}, {"port": 53, "name": "dns-tcp"}]}, []),
        (
            {"ports": [{"port": 80}, {"port": 443}]},
            [
                ("spec.ports[0].name", "required when a service has more than one port"),
                ("spec.ports[1].name", "required when a service has more than one port"),
            ],
        ),
        (
            {"type": "ExternalName", "ports": []},
            [("spec.externalName", "required when type is ExternalName")],
        ),
        ({"type": "ExternalName", "externalName": "db.example.com", "ports": []}, []),
        (
            {"clusterIP": "10.96.0.300"},
            [("spec.clusterIP", "must be a valid IP address, \"None\" or empty, got '10.96.0.300'")],
        ),
        ({"clusterIP": "None"}, []),
        ({"clusterIP": ""}, []),
        (
            {"clusterIP": "None", "type": "NodePort"},
            [("spec.clusterIP", 'may not be "None" for type NodePort')],
        ),
        (
            {"ports": [{"port": 80, "protocol": "ICMP"}]},
            [("spec.ports[0].protocol", 'unsupported value "ICMP"; supported values: "TCP", "UDP", "SCTP"')],
        ),
        (
            {"ports": [{"port": 80, "targetPort": "http_x"}]},
            [
                (
                    "spec.ports[0].targetPort",
                    "invalid port name 'http_x': must contain only alpha-numeric characters "
                    "(a-z, 0-9), and hyphens (-)",
                )
            ],
        ),
        (
            {"ports": [{"port": 80, "targetPort": 0}]},
            [("spec.ports[0].targetPort", "must be between 1 and 65535, got 0")],
        ),
        (
            {"ports": [{"port": 80, "targetPort": 1.5}]},
            [("spec.ports[0].targetPort", "expected integer or string, got number 1.5")],
        ),
        ({"ports": []}, [("spec.ports", "required field is missing")]),
        (
            {"sessionAffinity": "ClientIP", "sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 0}}},
            [("spec.sessionAffinityConfig.clientIP.timeoutSeconds", "must be between 1 and 86400, got 0")],
        ),
        (
            {"externalTrafficPolicy": "Local"},
            [("spec.externalTrafficPolicy", "may only be set when type is NodePort or LoadBalancer")],
        ),
        (
            {"type": "LoadBalancer", "loadBalancerIP": "nope"},
            [("spec.loadBalancerIP", "must be a valid IP address, got 'nope'")],
        ),
    ],
)
def test_service_rules(spec: dict[str, Any], expected: list[tuple[str, str]]) -> None:
    assert fields(service(**spec)) == expected


def test_service_defaults() -> None:
    objs, problems = parse_objects([RawDoc(SRC, service(type="NodePort", sessionAffinity="ClientIP"))])
    assert problems == []
    spec = objs[0].to_dict()["spec"]
    assert spec["ports"] == [{"protocol": "TCP", "port": 80, "targetPort": 80}]
    assert spec["externalTrafficPolicy"] == "Cluster"
    assert spec["internalTrafficPolicy"] == "Cluster"
    assert spec["sessionAffinityConfig"] == {"clientIP": {"timeoutSeconds": 10800}}


def test_node_port_range_follows_the_cluster() -> None:
    cluster = {"apiVersion": "netlab.dev/v1alpha1", "kind": "Cluster", "nodePortRange": "20000-20100"}
    assert fields(cluster, service(type="NodePort", ports=[{"port": 80, "nodePort": 20080}])) == []
    assert fields(cluster, service(type="NodePort", ports=[{"port": 80, "nodePort": 30080}])) == [
        ("spec.ports[0].nodePort", "must be in the range 20000-20100, got 30080")
    ]


# --- Pod -----------------------------------------------------------------------------------------


def test_container_ports_and_names() -> None:
    containers = [
        {"name": "a", "image": "i", "ports": [{"containerPort": 65536, "name": "web"}]},
        {"name": "b", "image": "i", "ports": [{"containerPort": 80, "name": "web", "hostPort": 0}]},
        {"name": "b", "image": "i"},
    ]
    assert fields(pod(containers)) == [
        ("spec.containers[0].ports[0].containerPort", "must be between 1 and 65535, got 65536"),
        ("spec.containers[1].ports[0].hostPort", "must be between 1 and 65535, got 0"),
        (
            "spec.containers[1].ports[0].name",
            "duplicate port name 'web' (also spec.containers[0].ports[0].name)",
        ),
        ("spec.containers[2].name", "duplicate container name 'b' (also spec.containers[1])"),
    ]


def test_container_port_name_syntax_and_required_fields() -> None:
    containers = [{"name": "a", "ports": [{"containerPort": 80, "name": "much-too-long-name"}]}]
    assert fields(pod(containers)) == [("spec.containers[0].image", "required field is missing")]
    containers[0]["image"] = "i"
    assert fields(pod(containers)) == [
        (
            "spec.containers[0].ports[0].name",
            "invalid port name 'much-too-long-name': must be no more than 15 characters",
        )
    ]
    assert fields(pod(containers=[], restartPolicy="Sometimes")) == [
        (
            "spec.restartPolicy",
            'unsupported value "Sometimes"; supported values: "Always", "OnFailure", "Never"',
        )
    ]


def test_probes() -> None:
    containers = [
        {
            "name": "a",
            "image": "i",
            "readinessProbe": {"httpGet": {"port": "http"}, "tcpSocket": {"port": 80}},
            "livenessProbe": {"periodSeconds": 0},
            "startupProbe": {"exec": {"command": ["true"]}},
        }
    ]
    assert fields(pod(containers)) == [
        ("spec.containers[0].readinessProbe", "may not specify more than 1 handler type"),
        (
            "spec.containers[0].livenessProbe",
            "must specify a handler type (exec, httpGet, tcpSocket or grpc)",
        ),
        ("spec.containers[0].livenessProbe.periodSeconds", "must be greater than or equal to 1, got 0"),
    ]


def test_pod_defaults_round_trip() -> None:
    containers = [
        {
            "name": "a",
            "image": "i",
            "ports": [{"containerPort": 3000}],
            "env": [{"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}}],
            "readinessProbe": {"httpGet": {"path": "/healthz", "port": 3000}},
        }
    ]
    objs, problems = parse_objects([RawDoc(SRC, pod(containers))])
    assert problems == []
    d = objs[0].to_dict()
    assert d["metadata"] == {"name": "p", "namespace": "default", "labels": {}, "annotations": {}}
    assert d["spec"]["restartPolicy"] == "Always"
    c = d["spec"]["containers"][0]
    assert c["ports"] == [{"containerPort": 3000, "protocol": "TCP"}]
    assert c["readinessProbe"] == {
        "httpGet": {"path": "/healthz", "port": 3000, "scheme": "HTTP", "httpHeaders": []},
        "initialDelaySeconds": 0,
        "periodSeconds": 10,
        "timeoutSeconds": 1,
        "successThreshold": 1,
        "failureThreshold": 3,
    }
    assert c["env"][0]["valueFrom"] == {"fieldRef": {"fieldPath": "status.podIP"}}


# --- Deployment ----------------------------------------------------------------------------------


def test_deployment_selector_must_match_template() -> None:
    assert fields(deployment(labels={"app": "b"})) == [
        ("spec.selector", "selector does not match template labels")
    ]
    assert fields(deployment(selector={})) == [
        ("spec.selector", "empty selector is invalid; it must select the template labels")
    ]
    d = deployment()
    del d["spec"]["selector"]
    assert fields(d) == [("spec.selector", "required field is missing")]
    expr = {"matchExpressions": [{"key": "app", "operator": "In", "values": ["a", "b"]}]}
    assert fields(deployment(selector=expr)) == []


def test_selector_operators() -> None:
    sel = {
        "matchExpressions": [
            {"key": "app", "operator": "In"},
            {"key": "tier", "operator": "Exists", "values": ["x"]},
        ]
    }
    assert fields(deployment(selector=sel, labels={"app": "a", "tier": "x"})) == [
        ("spec.selector.matchExpressions[0].values", "must be non-empty when operator is In"),
        ("spec.selector.matchExpressions[1].values", "must be empty when operator is Exists"),
        ("spec.selector", "selector does not match template labels"),
    ]
    sel = {"matchExpressions": [{"key": "app", "operator": "Equals", "values": ["a"]}]}
    assert fields(deployment(selector=sel)) == [
        (
            "spec.selector.matchExpressions[0].operator",
            'unsupported value "Equals"; supported values: "In", "NotIn", "Exists", "DoesNotExist"',
        )
    ]


def test_deployment_defaults() -> None:
    objs, _ = parse_objects([RawDoc(SRC, deployment())])
    d = objs[0]
    assert (
        d.spec.replicas == 1 and d.key == ("Deployment", "default", "d") and d.ref == "Deployment default/d"
    )
    assert d.to_dict()["spec"]["strategy"] == {"type": "RollingUpdate"}


# --- Ingress -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("paths", "expected"),
    [
        (
            [{"path": "api", "pathType": "Prefix", "backend": backend()}],
            [
                (
                    "spec.rules[0].http.paths[0].path",
                    "must be an absolute path starting with '/' for pathType Prefix, got 'api'",
                )
            ],
        ),
        (
            [{"pathType": "Exact", "backend": backend()}],
            [
                (
                    "spec.rules[0].http.paths[0].path",
                    "must be an absolute path starting with '/' for pathType Exact, got ''",
                )
            ],
        ),
        ([{"pathType": "ImplementationSpecific", "backend": backend()}], []),
        (
            [{"path": "/", "backend": backend()}],
            [("spec.rules[0].http.paths[0].pathType", "required field is missing")],
        ),
        (
            [{"path": "/", "pathType": "Regex", "backend": backend()}],
            [
                (
                    "spec.rules[0].http.paths[0].pathType",
                    'unsupported value "Regex"; supported values: "Exact", "Prefix", '
                    '"ImplementationSpecific"',
                )
            ],
        ),
        (
            [{"path": "/", "pathType": "Prefix", "backend": {}}],
            [("spec.rules[0].http.paths[0].backend", "must specify exactly one of service or resource")],
        ),
        (
            [
                {
                    "path": "/",
                    "pathType": "Prefix",
                    "backend": {**backend(), "resource": {"kind": "Bucket", "name": "b", "apiGroup": "x.io"}},
                }
            ],
            [("spec.rules[0].http.paths[0].backend", "must specify exactly one of service or resource")],
        ),
        (
            [{"path": "/", "pathType": "Prefix", "backend": {"service": {"name": "app"}}}],
            [("spec.rules[0].http.paths[0].backend.service.port", "port name or number is required")],
        ),
        (
            [{"path": "/", "pathType": "Prefix", "backend": backend(number=80, name="http")}],
            [
                (
                    "spec.rules[0].http.paths[0].backend.service.port",
                    "cannot set both port name and port number",
                )
            ],
        ),
        ([{"path": "/", "pathType": "Prefix", "backend": backend(name="http")}], []),
        (
            [{"path": "/", "pathType": "Prefix", "backend": backend(number=0)}],
            [
                (
                    "spec.rules[0].http.paths[0].backend.service.port.number",
                    "must be between 1 and 65535, got 0",
                )
            ],
        ),
    ],
)
def test_ingress_paths(paths: list[dict], expected: list[tuple[str, str]]) -> None:
    assert fields(ingress(paths)) == expected


def test_ingress_host_tls_and_emptiness() -> None:
    ing = ingress(
        [{"path": "/", "pathType": "Prefix", "backend": backend()}],
        tls=[{"hosts": ["10.0.0.1"], "secretName": "Bad"}],
    )
    ing["spec"]["rules"][0]["host"] = "*.example.org"
    assert fields(ing) == [
        ("spec.tls[0].hosts[0]", "must be a DNS name, not an IP address, got '10.0.0.1'"),
        (
            "spec.tls[0].secretName",
            "invalid name 'Bad': a lowercase RFC 1123 subdomain must consist of lower "
            "case alphanumeric characters, '-' or '.', and must start and end with an "
            "alphanumeric character",
        ),
    ]
    empty = {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "e"}, "spec": {}}
    assert fields(empty) == [("spec", "either defaultBackend or rules must be specified")]


def test_ingress_class_default_annotation() -> None:
    ic = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "IngressClass",
        "metadata": {
            "name": "nginx",
            "namespace": "ignored",
            "annotations": {"ingressclass.kubernetes.io/is-default-class": "true"},
        },
        "spec": {"controller": "k8s.io/ingress-nginx"},
    }
    objs, problems = parse_objects([RawDoc(SRC, ic)])
    assert problems == []
    # Which class is the default is compile's rule (compile.addons.default_ingress_class, test_addons).
    assert (
        objs[0].metadata.annotations == {"ingressclass.kubernetes.io/is-default-class": "true"}
        and objs[0].key == ("IngressClass", "", "nginx")
        and objs[0].ref == "IngressClass nginx"
    )


# --- NetworkPolicy -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("peers", "ports", "expected"),
    [
        (
            [{"ipBlock": {"cidr": "10.0.0.0/33"}}],
            None,
            [
                (
                    "spec.ingress[0].from[0].ipBlock.cidr",
                    "must be a valid CIDR (e.g. 10.0.0.0/16), got '10.0.0.0/33'",
                )
            ],
        ),
        (
            [{"ipBlock": {"cidr": "10.0.0.1"}}],
            None,
            [
                (
                    "spec.ingress[0].from[0].ipBlock.cidr",
                    "must be a valid CIDR (e.g. 10.0.0.0/16), got '10.0.0.1'",
                )
            ],
        ),
        (
            [
                {
                    "ipBlock": {
                        "cidr": "10.0.0.0/16",
                        "except": ["10.1.0.0/24", "10.0.0.0/16", "10.0.1.0/24", "x"],
                    }
                }
            ],
            None,
            [
                (
                    "spec.ingress[0].from[0].ipBlock.except[0]",
                    "must be a strict subset of cidr 10.0.0.0/16, got 10.1.0.0/24",
                ),
                (
                    "spec.ingress[0].from[0].ipBlock.except[1]",
                    "must be a strict subset of cidr 10.0.0.0/16, got 10.0.0.0/16",
                ),
                (
                    "spec.ingress[0].from[0].ipBlock.except[3]",
                    "must be a valid CIDR (e.g. 10.0.0.0/16), got 'x'",
                ),
            ],
        ),
        (
            [{"ipBlock": {"cidr": "10.0.0.0/8"}, "podSelector": {}}],
            None,
            [("spec.ingress[0].from[0]", "may not specify both ipBlock and another peer")],
        ),
        (
            [{}],
            None,
            [("spec.ingress[0].from[0]", "must specify a peer (podSelector, namespaceSelector or ipBlock)")],
        ),
        (
            None,
            [{"port": 3000, "endPort": 2000}],
            [("spec.ingress[0].ports[0].endPort", "must be greater than or equal to port 3000, got 2000")],
        ),
        (
            None,
            [{"port": "http", "endPort": 2000}],
            [("spec.ingress[0].ports[0].endPort", "may only be used with a numeric port")],
        ),
        (
            None,
            [{"endPort": 2000}],
            [("spec.ingress[0].ports[0].endPort", "may only be used with a numeric port")],
        ),
        (None, [{"port": 3000, "endPort": 4000}, {"protocol": "UDP", "port": "dns"}], []),
        (
            None,
            [{"protocol": "ICMP"}],
            [
                (
                    "spec.ingress[0].ports[0].protocol",
                    'unsupported value "ICMP"; supported values: "TCP", "UDP", "SCTP"',
                )
            ],
        ),
        (
            [{"namespaceSelector": {"matchExpressions": [{"key": "team", "operator": "NotIn"}]}}],
            None,
            [
                (
                    "spec.ingress[0].from[0].namespaceSelector.matchExpressions[0].values",
                    "must be non-empty when operator is NotIn",
                )
            ],
        ),
    ],
)
def test_network_policy_rules(
    peers: list | None, ports: list | None, expected: list[tuple[str, str]]
) -> None:
    assert fields(np_ingress(peers, ports)) == expected


def test_network_policy_requires_pod_selector_and_defaults_policy_types() -> None:
    np = policy()
    del np["spec"]["podSelector"]
    assert fields(np) == [("spec.podSelector", "required field is missing")]
    objs, _ = parse_objects([RawDoc(SRC, policy(egress=[{"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}]}]))])
    assert objs[0].spec.policy_types == ["Ingress", "Egress"]
    assert objs[0].to_dict()["spec"]["egress"] == [
        {"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}]}
    ]
    objs, _ = parse_objects([RawDoc(SRC, policy())])
    assert objs[0].spec.policy_types == ["Ingress"]
    egress = policy(egress=[{"to": [{"podSelector": {}}], "ports": [{"port": 53, "endPort": 52}]}])
    assert fields(egress) == [
        ("spec.egress[0].ports[0].endPort", "must be greater than or equal to port 53, got 52")
    ]


# --- Secret, Endpoints, EndpointSlice ------------------------------------------------------------


def secret(**fields_: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, **fields_}


def test_secret_rules() -> None:
    assert fields(secret(data={"a": "aGVsbG8="})) == []
    assert fields(secret(data={"a": "not base64!"})) == [("data.a", "must be base64-encoded")]
    assert fields(secret(type="kubernetes.io/tls", data={"tls.crt": "Y2VydA=="})) == [
        ("data[tls.key]", "required for a Secret of type kubernetes.io/tls")
    ]
    assert (
        fields(secret(type="kubernetes.io/tls", data={"tls.crt": "Y2VydA=="}, stringData={"tls.key": "k"}))
        == []
    )
    assert fields(secret(data={"bad key": "YQ=="})) == [
        (
            "data[bad key]",
            "invalid key 'bad key': a valid config key must consist of alphanumeric characters, "
            "'-', '_' or '.'",
        )
    ]
    objs, _ = parse_objects([RawDoc(SRC, secret(data={"a": "aGVsbG8="}, stringData={"b": "x"}))])
    assert objs[0].type == "Opaque" and objs[0].decoded() == {"a": b"hello", "b": b"x"}


def test_endpoints_and_endpoint_slices() -> None:
    ep = {
        "apiVersion": "v1",
        "kind": "Endpoints",
        "metadata": {"name": "svc"},
        "subsets": [
            {
                "addresses": [{"ip": "10.244.1.2", "targetRef": {"kind": "Pod", "name": "p"}}],
                "notReadyAddresses": [{"ip": "nope"}],
                "ports": [{"port": 0, "name": "http"}],
            }
        ],
    }
    assert fields(ep) == [
        ("subsets[0].notReadyAddresses[0].ip", "must be a valid IP address, got 'nope'"),
        ("subsets[0].ports[0].port", "must be between 1 and 65535, got 0"),
    ]
    es = {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {"name": "svc-abc", "labels": {"kubernetes.io/service-name": "svc"}},
        "addressType": "IPv4",
        "endpoints": [
            {"addresses": ["10.244.1.2"], "conditions": {"ready": True}, "nodeName": "w"},
            {"addresses": ["fd00::1"]},
        ],
        "ports": [{"name": "http", "port": 3000, "protocol": "TCP"}],
    }
    assert fields(es) == [("endpoints[1].addresses[0]", "must be a valid IPv4 address, got 'fd00::1'")]
    del es["addressType"]
    assert fields(es) == [("addressType", "required field is missing")]


def test_problem_objects_carry_the_document_source() -> None:
    docs = [RawDoc(Source("m/app.yaml", 2, 40), service(ports=[{"port": 70000}]))]
    _, problems = parse_objects(docs)
    assert problems == [
        Problem(
            Source("m/app.yaml", 2, 40),
            "Service default/svc",
            "spec.ports[0].port",
            "must be between 1 and 65535, got 70000",
        )
    ]
    assert str(problems[0]) == (
        "m/app.yaml:40: Service default/svc: spec.ports[0].port: must be between 1 and 65535, got 70000"
    )
