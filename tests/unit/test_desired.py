"""The compiled desired state (compile/desired.py) and the dataplane applying the difference of two."""

from __future__ import annotations

import pytest

from netlab.compile.config import ClusterConfig
from netlab.compile.desired import Desired, Observed, compile_desired, compile_objects
from netlab.compile.netpol import policy_pod
from netlab.compile.policy_inputs import placed_policy_pod
from netlab.compile.services import Allocation
from netlab.compile.workloads import PlacedPod
from netlab.runtime import dataplane as dpmod
from netlab.runtime.dataplane import Dataplane

CONFIG = ClusterConfig.from_manifest(None, "t1")
WORKER, WORKER2 = "t1-worker", "t1-worker2"


def _pod(name: str, node: str, ip: str, labels: dict, ns: str = "default") -> PlacedPod:
    spec = {"containers": [{"name": "c", "ports": [{"name": "http", "containerPort": 8080}]}]}
    return PlacedPod(ns, name, node, ip, f"uid-{name}", 0.0, labels, spec)


PODS = {p.key: p for p in (_pod("web-a", WORKER, "10.244.1.2", {"app": "web"}),
                           _pod("web-b", WORKER2, "10.244.2.2", {"app": "web"}),
                           _pod("db", WORKER2, "10.244.2.3", {"app": "db"}))}
SERVICE = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": "default"},
           "spec": {"selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": "http"}]}}
OBJECTS = {"Service/default/web": SERVICE}
ALLOC = {"default/web": Allocation(cluster_ip="10.96.0.20")}


def _policy(app: str) -> dict:
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": f"only-{app}", "namespace": "default"},
            "spec": {"podSelector": {"matchLabels": {"app": app}}, "policyTypes": ["Ingress"]}}


def _compile(objects=OBJECTS, ready=None, pods=PODS) -> Desired:
    observed = Observed(ready=dict.fromkeys(pods, True) if ready is None else ready)
    return compile_desired(objects, CONFIG, observed, pods=pods, allocations=ALLOC)


def test_compile_is_deterministic_and_complete() -> None:
    d = _compile()
    assert d.to_text() == _compile().to_text()
    assert {p.name for p in d.topology.pods} == {"web-a", "web-b", "db"}
    assert set(d.rulesets) == {n.name for n in d.topology.nodes}
    assert set(d.resolv) == set(PODS)
    assert d.resolv["default/db"].startswith(f"nameserver {CONFIG.dns_ip}\n")
    assert [c.pod_key for c in d.containers] == sorted(PODS)
    svc = d.services["default/web"]
    assert sorted((e.ip, e.ready) for e in svc.endpoints) == [("10.244.1.2", True), ("10.244.2.2", True)]
    assert [s["name"] for s in d.dns_view["services"]] == ["web"]
    assert d.ingress is None  # no ingress controller pod


def test_readiness_is_observed_not_assumed() -> None:
    d = _compile(ready={"default/web-a": True, "default/web-b": False, "default/db": True})
    assert {e.ip: e.ready for e in d.services["default/web"].endpoints} == {"10.244.1.2": True, "10.244.2.2": False}
    every = compile_desired(OBJECTS, CONFIG, Observed(all_ready=True), pods=PODS, allocations=ALLOC)
    assert all(e.ready for e in every.services["default/web"].endpoints)


def test_policy_pods_carry_named_ports_whichever_way_they_are_built() -> None:
    pod = PODS["default/web-a"]
    api = {"metadata": {"name": pod.name, "namespace": pod.namespace, "labels": pod.labels},
           "spec": {"nodeName": pod.node, **pod.spec}, "status": {"podIP": pod.ip}}
    assert policy_pod(api) == placed_policy_pod(pod)
    assert placed_policy_pod(pod).ports == (("http", 8080, "TCP"),)
    unscheduled = policy_pod({"metadata": {"name": "p"}, "spec": {}})
    assert (unscheduled.namespace, unscheduled.ip, unscheduled.node) == ("default", "", "")


class Recorder:
    def __init__(self) -> None:
        self.applied: list[tuple[str, str]] = []

    def __call__(self, netns: str, text: str) -> None:
        self.applied.append((netns, text))


def test_a_change_on_one_node_applies_nothing_to_the_others() -> None:
    before = _compile()
    after = _compile({**OBJECTS, "NetworkPolicy/default/only-db": _policy("db")})  # db runs on worker2 only
    changed = {n for n in before.rulesets if before.rulesets[n] != after.rulesets[n]}
    assert changed == {WORKER2}
    rec = Recorder()
    changes = Dataplane(nft_apply=rec).apply(before, after)
    assert [netns for netns, _ in rec.applied] == [after.topology.node(WORKER2).netns]
    assert "delete table" not in rec.applied[0][1]  # a diff, not a reload
    assert changes == [f"node {WORKER2}: nftables updated ({rec.applied[0][1].count(chr(10))} lines)"]


def test_nothing_changed_applies_nothing() -> None:
    rec = Recorder()
    assert Dataplane(nft_apply=rec).apply(_compile(), _compile()) == []
    assert rec.applied == []


def test_without_a_previous_state_every_node_is_loaded_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    announced = []
    monkeypatch.setattr(dpmod, "announce", lambda node, want: announced.append((node.name, want)) or [])
    rec = Recorder()
    d = _compile()
    Dataplane(nft_apply=rec).apply(None, d)
    assert sorted(netns for netns, _ in rec.applied) == sorted(n.netns for n in d.topology.nodes)
    assert all("delete table" in text for _, text in rec.applied)
    assert sorted(announced) == sorted((n.name, frozenset()) for n in d.topology.nodes)


def test_ingress_config_follows_ready_backends(tmp_path) -> None:
    controller = _pod("ingress-nginx-controller-x", WORKER, "10.244.1.9", {"app": "ingress"}, ns="ingress-nginx")
    controller.spec["containers"][0]["image"] = "registry.k8s.io/ingress-nginx/controller:v1.9.0"
    pods = {**PODS, controller.key: controller}
    ingress = {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
               "metadata": {"name": "web", "namespace": "default"},
               "spec": {"ingressClassName": "nginx", "rules": [{"host": "web.example", "http": {"paths": [
                   {"path": "/", "pathType": "Prefix",
                    "backend": {"service": {"name": "web", "port": {"number": 80}}}}]}}]}}
    objects = {**OBJECTS, "Ingress/default/web": ingress}

    def compiled(ready: dict) -> Desired:
        observed = Observed(ready=ready, ingress_dir=str(tmp_path), default_cert=("/c.crt", "/c.key"))
        return compile_desired(objects, CONFIG, observed, pods=pods, allocations=ALLOC)

    both = compiled(dict.fromkeys(pods, True))
    assert both.ingress is not None
    assert "10.244.1.2:8080" in both.ingress.rendered.nginx_conf
    assert "10.244.2.2:8080" in both.ingress.rendered.nginx_conf
    [row] = both.ingress.rules
    assert sorted(row["endpoints"]) == ["10.244.1.2:8080", "10.244.2.2:8080"]
    one = compiled({**dict.fromkeys(pods, True), "default/web-b": False})
    assert "10.244.2.2:8080" not in one.ingress.rendered.nginx_conf
    assert "# nginx.conf" in one.to_text()
    assert _compile().ingress is None  # no ingress controller pod, no configuration


def test_objects_alone_compile_deterministically() -> None:
    deploy = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "default"},
              "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
                       "template": {"metadata": {"labels": {"app": "web"}},
                                    "spec": {"containers": [{"name": "c", "ports": [
                                        {"name": "http", "containerPort": 8080}]}]}}}}
    objects = {**OBJECTS, "Deployment/default/web": deploy}
    first = compile_objects(objects, CONFIG)
    assert first.to_text() == compile_objects(objects, CONFIG).to_text()
    assert len(first.topology.pods) == 3
    svc = first.services["default/web"]
    assert len(svc.endpoints) == 3 and all(e.ready for e in svc.endpoints)
    assert svc.cluster_ip is not None
