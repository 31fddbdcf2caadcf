"""The seed example, the Cluster object, round trips and helpers of netlab.model."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest

from netlab.model import ManifestError, default_cluster, from_dict, load
from netlab.model.apps import Deployment
from netlab.model.cluster import Cluster
from netlab.model.core import Namespace, Service
from netlab.model.meta import LabelSelector
from netlab.model.networking import Ingress, NetworkPolicy

SEED = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: nextgen-app
  labels:
    app: nextgen-app
spec:
  replicas: 3
  selector:
    matchLabels:
      app: nextgen-app
  template:
    metadata:
      labels:
        app: nextgen-app
    spec:
      containers:
      - name: nextgen-app
        image: nextgen-app:latest
        ports:
        - containerPort: 3000
---
apiVersion: v1
kind: Service
metadata:
  name: app-service
spec:
  type: ClusterIP
  selector:
    app: nextgen-app
  ports:
  - port: 80
    targetPort: 3000
---
apiVersion: v1
kind: Service
metadata:
  name: app-nodeport
spec:
  type: NodePort
  selector:
    app: nextgen-app
  ports:
  - port: 80
    targetPort: 3000
    nodePort: 30080
---
apiVersion: v1
kind: Service
metadata:
  name: app-lb
spec:
  type: LoadBalancer
  selector:
    app: nextgen-app
  ports:
  - port: 80
    targetPort: 3000
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: app-ingress
  annotations:
    nginx.ingress.kubernetes.io/rewrite-target: /
spec:
  ingressClassName: nginx
  tls:
  - hosts:
    - learn.nextgenplayground.org
    secretName: tls-secret
  rules:
  - host: learn.nextgenplayground.org
    http:
      paths:
      - path: /
        pathType: Prefix
        backend:
          service:
            name: app-service
            port:
              number: 80
      - path: /api
        pathType: Prefix
        backend:
          service:
            name: api-service
            port:
              number: 80
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: allow-web-to-api
spec:
  podSelector:
    matchLabels:
      app: api
  ingress:
  - from:
    - podSelector:
        matchLabels:
          app: web
    ports:
    - protocol: TCP
      port: 3000
"""

KIND_CONFIG = """\
kind: Cluster
apiVersion: kind.x-k8s.io/v1alpha4
nodes:
- role: control-plane
- role: worker
- role: worker
  extraMounts:
  - hostPath: /tmp/data
    containerPath: /data
"""


def test_seed_example_parses_without_problems(tmp_path: Path) -> None:
    (tmp_path / "app.yaml").write_text(SEED)
    objs = load([str(tmp_path)])
    assert [o.ref for o in objs] == [
        "Deployment default/nextgen-app",
        "Service default/app-service",
        "Service default/app-nodeport",
        "Service default/app-lb",
        "Ingress default/app-ingress",
        "NetworkPolicy default/allow-web-to-api",
    ]
    deploy, svc, nodeport, lb, ing, np = objs
    assert isinstance(deploy, Deployment) and deploy.spec.replicas == 3
    assert deploy.spec.template.spec.containers[0].ports[0].container_port == 3000
    assert isinstance(svc, Service) and svc.spec.ports[0].target_port == 3000 and svc.spec.type == "ClusterIP"
    assert nodeport.spec.ports[0].node_port == 30080
    assert lb.spec.type == "LoadBalancer" and lb.spec.external_traffic_policy == "Cluster"
    assert isinstance(ing, Ingress) and ing.spec.ingress_class_name == "nginx"
    assert ing.metadata.annotations == {"nginx.ingress.kubernetes.io/rewrite-target": "/"}
    assert [
        (p.path, p.backend.service.name, p.backend.service.port.number) for p in ing.spec.rules[0].http.paths
    ] == [("/", "app-service", 80), ("/api", "api-service", 80)]
    assert ing.spec.tls[0].secret_name == "tls-secret"
    assert isinstance(np, NetworkPolicy) and np.spec.pod_selector.matches({"app": "api"})
    rule = np.spec.ingress[0]
    assert rule.from_[0].pod_selector.matches({"app": "web", "x": "y"})
    assert (rule.ports[0].protocol, rule.ports[0].port) == ("TCP", 3000)


def test_seed_round_trips_through_to_dict_and_from_dict() -> None:
    for obj in load(["-"], stdin=io.StringIO(SEED)):
        d = obj.to_dict()
        again = from_dict(d)
        assert again == obj and again.to_dict() == d
    d = load(["-"], stdin=io.StringIO(SEED))[5].to_dict()
    # empty lists are left out, as Kubernetes' JSON leaves them (kubectl apply compares rules as a whole)
    assert d["spec"]["ingress"][0]["from"][0]["podSelector"] == {"matchLabels": {"app": "web"}}


def test_from_dict_raises_with_every_problem() -> None:
    with pytest.raises(ManifestError) as info:
        from_dict(
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": "s"},
                "spec": {"ports": [{"port": 0}, {"port": 70000}]},
            }
        )
    assert [str(p) for p in info.value.problems] == [
        "Service default/s: spec.ports[0].port: must be between 1 and 65535, got 0",
        "Service default/s: spec.ports[0].name: required when a service has more than one port",
        "Service default/s: spec.ports[1].port: must be between 1 and 65535, got 70000",
        "Service default/s: spec.ports[1].name: required when a service has more than one port",
    ]


def test_kind_config_notes_and_node_names() -> None:
    [cluster] = load(["-"], stdin=io.StringIO(KIND_CONFIG))
    assert isinstance(cluster, Cluster)
    assert cluster.node_names() == ["netlab-control-plane", "netlab-worker", "netlab-worker2"]
    assert cluster.notes == ["nodes[2].extraMounts: kind-only field, ignored by netlab"]
    assert cluster.key == ("Cluster", "", "netlab") and cluster.ref == "Cluster netlab"
    assert cluster.networking.pod_subnet == "10.244.0.0/16"


def test_kind_config_ignores_what_does_not_apply() -> None:
    cfg: dict[str, Any] = {
        "kind": "Cluster",
        "apiVersion": "kind.x-k8s.io/v1alpha4",
        "name": "lab",
        "featureGates": {"X": True},
        "mode": "vxlan",
        "whatever": 1,
        "networking": {
            "podSubnet": "10.100.0.0/16",
            "kubeProxyMode": "ipvs",
            "disableDefaultCNI": True,
        },
        "nodes": [
            {"role": "control-plane", "image": "kindest/node:v1.30.0"},
            {"role": "control-plane"},
            {"role": "worker", "labels": {"zone": "a"}, "extraPortMappings": []},
        ],
    }
    c = from_dict(cfg)
    assert isinstance(c, Cluster)
    assert c.notes == [
        "featureGates: kind-only field, ignored by netlab",
        "mode: ignored (a netlab.dev/v1alpha1 field)",
        "whatever: unknown field, ignored",
        "nodes[0].image: kind-only field, ignored by netlab",
        "nodes[2].extraPortMappings: kind-only field, ignored by netlab",
        "networking.kubeProxyMode: ignored (netlab implements Services with its own nftables rules)",
        "networking.disableDefaultCNI: ignored (netlab always provides its own pod network)",
    ]
    assert c.mode == "host-gw" and c.networking.pod_subnet == "10.100.0.0/16"
    assert c.node_names() == ["lab-control-plane", "lab-control-plane2", "lab-worker"]
    assert c.nodes[2].labels == {"zone": "a"}


def test_kind_config_without_nodes_is_one_control_plane() -> None:
    c = from_dict({"kind": "Cluster", "apiVersion": "kind.x-k8s.io/v1alpha4"})
    assert c.node_names() == ["netlab-control-plane"]


def test_default_cluster_and_netlab_extras() -> None:
    c = default_cluster()
    assert c.node_names() == ["netlab-control-plane", "netlab-worker", "netlab-worker2"]
    assert (c.networking.pod_subnet, c.networking.service_subnet) == ("10.244.0.0/16", "10.96.0.0/16")
    assert (c.mode, c.underlay.subnet, c.underlay.bridge) == ("host-gw", "172.18.0.0/16", None)
    assert (c.load_balancer_pool.start, c.load_balancer_pool.end) == ("172.18.255.200", "172.18.255.250")
    assert c.node_port_bounds() == (30000, 32767) and c.cluster_domain == "cluster.local"
    assert (c.restart_backoff.initial_seconds, c.restart_backoff.max_seconds) == (10, 300)
    assert c.issues() == [] and c.notes == []
    n = from_dict(
        {
            "apiVersion": "netlab.dev/v1alpha1",
            "kind": "Cluster",
            "mode": "vxlan",
            "underlay": {"subnet": "192.168.50.0/24", "bridge": "lab0"},
            "loadBalancerPool": {"start": "192.168.50.200", "end": "192.168.50.210"},
        }
    )
    assert n.mode == "vxlan" and n.underlay.bridge == "lab0" and len(n.nodes) == 3
    assert from_dict(n.to_dict()) == n


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (
            {"networking": {"podSubnet": "10.244.0.0/33"}},
            [
                (
                    "networking.podSubnet",
                    "must be an IPv4 CIDR such as 10.0.0.0/16, got '10.244.0.0/33' "
                    "('33' is not a valid netmask)",
                )
            ],
        ),
        (
            {"networking": {"podSubnet": "10.244.0.0/25"}},
            [("networking.podSubnet", "10.244.0.0/25 is too small for 3 nodes (each node needs a /24)")],
        ),
        (
            {"networking": {"podSubnet": "10.244.0.0/23"}},
            [("networking.podSubnet", "10.244.0.0/23 is too small for 3 nodes (each node needs a /24)")],
        ),
        (
            {"networking": {"serviceSubnet": "10.244.0.0/20"}},
            [("networking.serviceSubnet", "10.244.0.0/20 overlaps networking.podSubnet 10.244.0.0/16")],
        ),
        (
            {"loadBalancerPool": {"start": "10.0.0.1", "end": "172.18.255.1"}},
            [
                (
                    "loadBalancerPool.start",
                    "10.0.0.1 must be a host address inside the underlay subnet 172.18.0.0/16",
                )
            ],
        ),
        (
            {"loadBalancerPool": {"start": "172.18.255.9", "end": "172.18.255.1"}},
            [("loadBalancerPool", "start 172.18.255.9 is after end 172.18.255.1")],
        ),
        (
            {"loadBalancerPool": {"start": "172.18.255.200", "end": "172.18.255.255"}},
            [
                (
                    "loadBalancerPool.end",
                    "172.18.255.255 must be a host address inside the underlay subnet 172.18.0.0/16",
                )
            ],
        ),
        (
            {"loadBalancerPool": {"start": "172.18.0.3", "end": "172.18.0.9"}},
            [("loadBalancerPool.start", "172.18.0.3 collides with the node addresses (.2 to 172.18.0.4)")],
        ),
        (
            {"nodePortRange": "30000:32767"},
            [("nodePortRange", "must look like 30000-32767, got '30000:32767'")],
        ),
        ({"nodes": [{"role": "worker"}]}, [("nodes", "must have at least one control-plane node")]),
        (
            {"nodes": [{"role": "master"}]},
            [("nodes[0].role", 'unsupported value "master"; supported values: "control-plane", "worker"')],
        ),
        ({"mode": "ipip"}, [("mode", 'unsupported value "ipip"; supported values: "host-gw", "vxlan"')]),
        (
            {"restartBackoff": {"initialSeconds": 20, "maxSeconds": 10}},
            [("restartBackoff.maxSeconds", "must be greater than or equal to initialSeconds")],
        ),
    ],
)
def test_cluster_validation(extra: dict[str, Any], expected: list[tuple[str, str]]) -> None:
    with pytest.raises(ManifestError) as info:
        from_dict({"apiVersion": "netlab.dev/v1alpha1", "kind": "Cluster", **extra})
    assert [(p.field, p.message) for p in info.value.problems] == expected
    assert all(p.obj == "Cluster netlab" for p in info.value.problems)


def test_only_one_cluster() -> None:
    text = (
        "kind: Cluster\napiVersion: netlab.dev/v1alpha1\n---\n"
        "kind: Cluster\napiVersion: netlab.dev/v1alpha1\nname: other\n"
    )
    with pytest.raises(ManifestError) as info:
        load(["-"], stdin=io.StringIO(text))
    assert [str(p) for p in info.value.problems] == [
        "<stdin>:4: Cluster other: only one Cluster may be given; another is defined at <stdin>:1"
    ]


def test_namespace_effective_labels() -> None:
    ns = from_dict(
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "prod", "labels": {"team": "a"}}}
    )
    assert isinstance(ns, Namespace)
    assert ns.effective_labels() == {"team": "a", "kubernetes.io/metadata.name": "prod"}
    assert ns.key == ("Namespace", "", "prod") and ns.ref == "Namespace prod"


@pytest.mark.parametrize(
    ("selector", "labels", "expected"),
    [
        ({}, {}, True),
        ({"matchLabels": {"app": "a"}}, {"app": "a", "x": "y"}, True),
        ({"matchLabels": {"app": "a"}}, {"app": "b"}, False),
        ({"matchExpressions": [{"key": "app", "operator": "In", "values": ["a", "b"]}]}, {"app": "b"}, True),
        ({"matchExpressions": [{"key": "app", "operator": "In", "values": ["a"]}]}, {}, False),
        ({"matchExpressions": [{"key": "app", "operator": "NotIn", "values": ["a"]}]}, {}, True),
        ({"matchExpressions": [{"key": "app", "operator": "NotIn", "values": ["a"]}]}, {"app": "a"}, False),
        ({"matchExpressions": [{"key": "app", "operator": "Exists"}]}, {"app": ""}, True),
        ({"matchExpressions": [{"key": "app", "operator": "DoesNotExist"}]}, {"app": ""}, False),
        (
            {"matchLabels": {"a": "1"}, "matchExpressions": [{"key": "b", "operator": "Exists"}]},
            {"a": "1"},
            False,
        ),
    ],
)
def test_label_selector_matches(selector: dict, labels: dict, expected: bool) -> None:
    assert LabelSelector.model_validate(selector).matches(labels) is expected
