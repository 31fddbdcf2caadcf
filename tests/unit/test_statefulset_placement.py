"""StatefulSet, DaemonSet and ReplicationController pods through the placement entry, step by step."""

from __future__ import annotations

import random

from netlab.compile import podsets
from netlab.compile.config import ClusterConfig
from netlab.compile.desired import placement

CONFIG = ClusterConfig.from_manifest(None)  # a control plane and two workers, as kind's default here
NODES = CONFIG.topology().nodes
TEMPLATE = {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c", "image": "echo"}]}}


def sts(replicas: int = 2, **spec) -> dict:
    return {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "web", "namespace": "default"},
            "spec": {"replicas": replicas, "serviceName": "nginx", "selector": {"matchLabels": {"app": "web"}},
                     "template": TEMPLATE, **spec}}


def ds(**pod_spec) -> dict:
    return {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "agent", "namespace": "default"},
            "spec": {"selector": {"matchLabels": {"app": "web"}},
                     "template": {**TEMPLATE, "spec": {**TEMPLATE["spec"], **pod_spec}}}}


def step(objects, pods, ready=()):
    ready_since = {k: 0.0 for k in ready}
    return placement({f"{o['kind']}/default/{o['metadata']['name']}": o for o in objects}, pods, NODES,
                     random.Random(1), {}, 1.0, ready_since)


def test_statefulset_pods_come_up_in_order_with_their_dns_identity():
    pods = step([sts(3)], {})
    assert list(pods) == ["default/web-0"]
    assert podsets.pending([sts(3)], pods, {}, NODES) is False  # waits for web-0 to be Ready
    assert podsets.pending([sts(3)], pods, {"default/web-0": 0.0}, NODES) is True
    pods = step([sts(3)], pods, ready=["default/web-0"])
    pods = step([sts(3)], pods, ready=["default/web-0", "default/web-1"])
    assert sorted(pods) == ["default/web-0", "default/web-1", "default/web-2"]
    web1 = pods["default/web-1"]
    assert web1.spec["hostname"] == "web-1" and web1.spec["subdomain"] == "nginx"
    assert web1.labels["statefulset.kubernetes.io/pod-name"] == "web-1"
    assert web1.labels["apps.kubernetes.io/pod-index"] == "1"
    assert web1.owner == "StatefulSet/web"
    status = podsets.statefulset_status(sts(3), pods, {"default/web-0": True})
    assert status["replicas"] == 3 and status["readyReplicas"] == 1 and status["updatedReplicas"] == 3


def test_a_template_change_replaces_the_highest_ordinal_first():
    all_ready = ["default/web-0", "default/web-1"]
    pods = step([sts(2)], step([sts(2)], {}), ready=["default/web-0"])
    changed = sts(2, template={**TEMPLATE, "spec": {"containers": [{"name": "c", "image": "v2"}]}})
    pods = step([changed], pods, ready=all_ready)
    assert list(pods) == ["default/web-0"]
    pods = step([changed], pods, ready=["default/web-0"])
    assert pods["default/web-1"].spec["containers"][0]["image"] == "v2"
    assert pods["default/web-0"].spec["containers"][0]["image"] == "echo"


def test_daemonset_runs_one_pod_per_schedulable_node():
    pods = step([ds()], {})
    assert sorted(p.node for p in pods.values()) == ["netlab-worker", "netlab-worker2"]
    assert all(p.name.startswith("agent-") and p.owner == "DaemonSet/agent" for p in pods.values())
    assert podsets.pending([ds()], pods, {}, NODES) is False
    assert step([ds()], pods) == pods  # stable
    tolerant = ds(tolerations=[{"key": "node-role.kubernetes.io/control-plane", "operator": "Exists",
                                "effect": "NoSchedule"}])
    assert len(step([tolerant], pods)) == 3
    only = ds(nodeSelector={"kubernetes.io/hostname": "netlab-worker2"})
    assert [p.node for p in step([only], pods).values()] == ["netlab-worker2"]
    status = podsets.daemonset_status(ds(), pods, {}, NODES)
    assert status["desiredNumberScheduled"] == 2 and status["numberReady"] == 0


def test_replication_controller_runs_its_pods():
    rc = {"apiVersion": "v1", "kind": "ReplicationController", "metadata": {"name": "old", "namespace": "default"},
          "spec": {"replicas": 2, "selector": {"app": "web"}, "template": TEMPLATE}}
    pods = step([rc], {})
    assert len(pods) == 2
    assert all(p.name.startswith("old-") and p.owner == "ReplicationController/old" for p in pods.values())
