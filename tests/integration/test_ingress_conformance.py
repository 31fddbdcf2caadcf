"""Issue 10: a user's default IngressClass serves class-less Ingresses, and every row of the Kubernetes
Ingress path-matching table holds for real requests through the ingress LoadBalancer."""

from __future__ import annotations

import json

from conftest import echo_answer, wait_for

BACKENDS = ("root", "foo", "exact", "aaa", "bb", "bbb")

USER_CLASS = """
apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata:
  name: nginx
  annotations: {ingressclass.kubernetes.io/is-default-class: "true", team: CLUSTER}
spec: {controller: k8s.io/ingress-nginx}
---
apiVersion: v1
kind: Namespace
metadata: {name: ingress-nginx, labels: {team: CLUSTER}}
---
apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata: {name: internal}
spec: {controller: k8s.io/ingress-nginx}
"""

# Ingresses naming a class: another IngressClass of ingress-nginx's is served, a foreign class is not.
NAMED_CLASSES = """
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: internal}
spec:
  ingressClassName: internal
  rules:
    - host: internal.test
      http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: root, port: {number: 80}}}}]}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: foreign}
spec:
  ingressClassName: traefik
  rules:
    - host: foreign.test
      http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: root, port: {number: 80}}}}]}
"""

# host -> [(path, pathType, backend)]; no ingressClassName anywhere: the default class serves them.
TABLE = {
    "all.test": [("/", "Prefix", "root")],
    "exact.test": [("/foo", "Exact", "exact")],
    "exactslash.test": [("/foo/", "Exact", "exact")],
    "prefix.test": [("/foo", "Prefix", "foo")],
    "prefixslash.test": [("/foo/", "Prefix", "foo")],
    "bb.test": [("/aaa/bb", "Prefix", "bb")],
    "bbb.test": [("/aaa/bbb", "Prefix", "bbb")],
    "bbbslash.test": [("/aaa/bbb/", "Prefix", "bbb")],
    "multi.test": [("/", "Prefix", "root"), ("/aaa", "Prefix", "aaa"), ("/aaa/bbb", "Prefix", "bbb")],
    "only.test": [("/aaa", "Prefix", "aaa")],
    "mixed.test": [("/foo", "Prefix", "foo"), ("/foo", "Exact", "exact")],
}

# (host, request path, backend or None for the default backend's 404); the rows of the documentation's table
EXPECTED = [
    ("all.test", "/", "root"), ("all.test", "/any/thing", "root"),
    ("exact.test", "/foo", "exact"), ("exact.test", "/bar", None), ("exact.test", "/foo/", None),
    ("exactslash.test", "/foo", None), ("exactslash.test", "/foo/", "exact"),
    ("prefix.test", "/foo", "foo"), ("prefix.test", "/foo/", "foo"), ("prefix.test", "/foobar", None),
    ("prefixslash.test", "/foo", "foo"), ("prefixslash.test", "/foo/", "foo"),
    ("bb.test", "/aaa/bbb", None), ("bb.test", "/aaa/bb", "bb"),
    ("bbb.test", "/aaa/bbb", "bbb"), ("bbbslash.test", "/aaa/bbb", "bbb"), ("bbb.test", "/aaa/bbb/", "bbb"),
    ("bbb.test", "/aaa/bbb/ccc", "bbb"), ("bbb.test", "/aaa/bbbxyz", None),
    ("multi.test", "/aaa/ccc", "aaa"), ("multi.test", "/aaa/bbb", "bbb"), ("multi.test", "/ccc", "root"),
    ("only.test", "/ccc", None),
    ("mixed.test", "/foo", "exact"), ("mixed.test", "/foo/", "foo"),
]


def _backends() -> str:
    docs = []
    for name in BACKENDS:
        docs.append(f"""
apiVersion: v1
kind: Pod
metadata: {{name: CLUSTER-{name}, labels: {{be: {name}}}}}
spec: {{containers: [{{name: echo, image: echo, ports: [{{containerPort: 80}}]}}]}}
---
apiVersion: v1
kind: Service
metadata: {{name: {name}}}
spec: {{selector: {{be: {name}}}, ports: [{{port: 80}}]}}
""")
    return "---".join(docs)


LATE_CLASSLESS = """
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: late}
spec:
  rules:
    - host: late.test
      http:
        paths:
          - {path: /, pathType: Prefix, backend: {service: {name: root, port: {number: 80}}}}
"""


def _ingresses() -> str:
    docs = []
    for i, (host, paths) in enumerate(TABLE.items()):
        rows = "".join(f"""
          - {{path: "{p}", pathType: {kind}, backend: {{service: {{name: {svc}, port: {{number: 80}}}}}}}}"""
                       for p, kind, svc in paths)
        docs.append(f"""
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {{name: table-{i}}}
spec:
  rules:
    - host: {host}
      http:
        paths:{rows}
""")
    return "---".join(docs)


def _lb_ip(lab) -> str:
    svc = json.loads(lab.netlab("get", "svc", "ingress-nginx-controller", "-n", "ingress-nginx", "-o", "json").stdout)
    return svc["status"]["loadBalancer"]["ingress"][0]["ip"]


def _who(lab, lb: str, host: str, path: str) -> str | None:
    """The backend pod's short name, None for the default backend's 404; anything else fails."""
    out = lab.host("curl", "-sS", "--max-time", "3", "-w", "\n%{http_code}", "-H", f"Host: {host}",
                   f"http://{lb}{path}", timeout=10).stdout
    body, _, code = out.rpartition("\n")
    if code == "404" and body.strip() == "default backend - 404":
        return None
    assert code == "200", f"{host}{path}: HTTP {code} {body!r}"
    return echo_answer(body)["pod"].removeprefix(f"{lab.cluster}-")


def _answers(lab, lb: str, host: str, path: str, want: str | None) -> bool:
    """For wait_for: the request is answered as wanted (a connection not yet possible is just False)."""
    try:
        return _who(lab, lb, host, path) == want
    except AssertionError:
        return False


def test_users_default_ingressclass_serves_classless_ingresses_by_the_path_table(lab):
    lab.netlab("up", str(lab.write("backends.yaml", _backends())))
    lab.netlab("apply", "-f", str(lab.write("class.yaml", USER_CLASS)))
    lab.netlab("apply", "-f", str(lab.write("table.yaml", _ingresses())))
    lab.netlab("apply", "-f", str(lab.write("named.yaml", NAMED_CLASSES)))
    wait_for(lambda: "1/1" in lab.netlab("get", "pods", "-n", "ingress-nginx").stdout, timeout=20,
             what="the ingress controller")
    cls = lab.netlab("get", "ingressclass", "nginx", "-o", "yaml").stdout
    assert 'ingressclass.kubernetes.io/is-default-class: "true"' in cls or \
        "ingressclass.kubernetes.io/is-default-class: 'true'" in cls, cls
    assert f"team: {lab.cluster}" in cls and "addonmanager" not in cls, "the user's IngressClass stays as written"
    ns = lab.netlab("get", "ns", "ingress-nginx", "-o", "yaml").stdout
    assert f"team: {lab.cluster}" in ns and "addonmanager" not in ns, "so does the user's Namespace"
    lb = _lb_ip(lab)
    wait_for(lambda: _answers(lab, lb, "all.test", "/", "root"), timeout=10, what="class-less Ingresses served")
    got = [(host, path, _who(lab, lb, host, path)) for host, path, _ in EXPECTED]
    assert got == EXPECTED
    assert (_who(lab, lb, "internal.test", "/"), _who(lab, lb, "foreign.test", "/")) == ("root", None)

    # The DefaultIngressClass admission plugin wrote the default class's name into each class-less Ingress
    # when it was created, so they keep it (and stay served) whatever happens to the default later.
    stamped = json.loads(lab.netlab("get", "ingress", "table-0", "-o", "json").stdout)
    assert stamped["spec"].get("ingressClassName") == "nginx", stamped["spec"]

    # Without the user's class, the add-on's own IngressClass nginx (not default) comes back. An Ingress
    # created class-less now gets no class, and nothing serves it. (Enabled, the add-on stays when no Ingress
    # needs it.)
    lab.netlab("addons", "enable", "ingress-nginx")
    assert "addonmanager" not in lab.netlab("get", "ingressclass", "nginx", "-o", "yaml").stdout
    lab.netlab("delete", "ingressclass", "nginx")
    cls = lab.netlab("get", "ingressclass", "nginx", "-o", "yaml").stdout
    assert "is-default-class" not in cls and "addonmanager.kubernetes.io/mode: Reconcile" in cls
    lab.netlab("apply", "-f", str(lab.write("late.yaml", LATE_CLASSLESS)))
    late = json.loads(lab.netlab("get", "ingress", "late", "-o", "json").stdout)
    assert "ingressClassName" not in late["spec"], late["spec"]
    wait_for(lambda: _answers(lab, lb, "late.test", "/", None), timeout=10, what="a class-less Ingress unserved")
    assert _who(lab, lb, "all.test", "/") == "root", "the Ingresses stamped with nginx are still served"
