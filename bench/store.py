"""How long the controller's view refresh takes (views of every kind, diffed into the watch cache),
with N pods in Deployments behind Services, all running. No kernel: the views read a synthetic store.

    python bench/store.py 200 1000
"""

from __future__ import annotations

import statistics
import sys
import time
from types import SimpleNamespace

from netlab.api import views
from netlab.api.resources import RESOURCES
from netlab.api.watchcache import WatchCache
from netlab.compile.workloads import PlacedPod
from netlab.runtime.containers import ContainerStatus
from netlab.runtime.events import EventLog, Involved


def fake_controller(n_pods: int, per_deployment: int = 10):
    nodes = [SimpleNamespace(name=f"node-{i}", pod_cidr=f"10.244.{i}.0/24", underlay_ip=f"192.168.56.{10 + i}",
                             labels={}, role="worker") for i in range(3)]
    topo = SimpleNamespace(nodes=nodes, bridge="br", host_ip="192.168.56.1",
                           node=lambda name: next(n for n in nodes if n.name == name))
    objects, pods = {}, {}
    for d in range(n_pods // per_deployment):
        name = f"app{d}"
        template = {"metadata": {"labels": {"app": name}}, "spec": {"containers": [{"name": "c", "image": "echo"}]}}
        objects[f"Deployment/default/{name}"] = {
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": "default", "uid": f"u{d}", "generation": 1},
            "spec": {"replicas": per_deployment, "selector": {"matchLabels": {"app": name}}, "template": template}}
        objects[f"Service/default/{name}"] = {"apiVersion": "v1", "kind": "Service",
                                              "metadata": {"name": name, "namespace": "default"},
                                              "spec": {"selector": {"app": name}, "ports": [{"port": 80}]}}
        for r in range(per_deployment):
            key = f"default/{name}-h-{r}"
            pods[key] = PlacedPod("default", f"{name}-h-{r}", nodes[r % 3].name, f"10.244.{r % 3}.{r + 2}",
                                  f"uid-{d}-{r}", 0.0, {"app": name}, template["spec"], f"Deployment/{name}", "h")
    status = [ContainerStatus("c", "running", "", None, 0, 1.0, None, 1)]
    log = EventLog()
    for key in pods:
        log.record(Involved("Pod", key.split("/")[1], "default"), "Started", "Started container c")
    return SimpleNamespace(
        state=SimpleNamespace(pod_meta={}, objects=objects, pods=pods, allocations={}),
        supervisor=SimpleNamespace(status=lambda key: status), ready={k: True for k in pods}, started=0.0,
        resolved={}, ingress=SimpleNamespace(rules=[]), events=log.items, topology=lambda: topo,
        probe_ready=lambda pod, c: True)


def main(sizes: list[int]) -> None:
    kinds = [r.kind for r in RESOURCES]
    for n in sizes:
        ctl, cache = fake_controller(n), WatchCache()
        cache.refresh(views.snapshot(ctl, kinds))
        times = []
        for _ in range(7):
            t0 = time.perf_counter()
            cache.refresh(views.snapshot(ctl, kinds))
            times.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        items, _ = cache.list("Pod", None)
        listed = time.perf_counter() - t0
        print(f"{n} pods: refresh (nothing changed) {min(times) * 1000:.1f}-{max(times) * 1000:.1f} ms "
              f"(median {statistics.median(times) * 1000:.1f}); list {len(items)} pods {listed * 1000:.2f} ms")


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [200, 1000])
