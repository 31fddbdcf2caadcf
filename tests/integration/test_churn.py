"""Issue 10: a replaced pod is reachable the moment it is Ready, also when it reuses a freed address.

Each round deletes one Deployment and creates another of the same shape, then every client (pods on
both nodes, the host, every node namespace) must reach every new pod on the first try. The Cluster
file gives each node a /28 so the allocator wraps around within a few rounds and new pods get
addresses that deleted pods held a moment before: the case where stale neighbour entries black-hole
traffic.
"""

from __future__ import annotations

import json
import time

import pytest
from conftest import echo_answer, wait_for

CLUSTER_FILE = """
kind: Cluster
apiVersion: netlab.dev/v1alpha1
mode: MODE
nodeCIDRMaskSize: 28
nodes:
  - role: control-plane
  - role: worker
  - role: worker
---
apiVersion: v1
kind: Pod
metadata: {name: CLUSTER-c1}
spec:
  nodeName: CLUSTER-worker
  containers: [{name: echo, image: echo, ports: [{containerPort: 8080}]}]
---
apiVersion: v1
kind: Pod
metadata: {name: CLUSTER-c2}
spec:
  nodeName: CLUSTER-worker2
  containers: [{name: echo, image: echo, ports: [{containerPort: 8080}]}]
"""

DEPLOYMENT = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: NAME}
spec:
  replicas: 3
  selector: {matchLabels: {app: NAME}}
  template:
    metadata: {labels: {app: NAME}}
    spec:
      containers: [{name: app, image: echo, ports: [{containerPort: 3000}]}]
---
apiVersion: v1
kind: Service
metadata: {name: NAME}
spec:
  selector: {app: NAME}
  ports: [{port: 80, targetPort: 3000}]
"""

ROUNDS = 20


def _ready_pods(lab, app: str) -> list[dict] | None:
    items = json.loads(lab.netlab("get", "pods", "-l", f"app={app}", "-o", "json").stdout)["items"]
    ready = [p for p in items if any(c["type"] == "Ready" and c["status"] == "True"
                                     for c in p["status"].get("conditions", []))]
    return ready if len(ready) == 3 and len(items) == 3 else None


@pytest.mark.parametrize("mode", ["host-gw", "vxlan"])
def test_replaced_pods_answer_on_first_try(lab, mode):
    c = lab.cluster
    lab.netlab("up", str(lab.write("cluster.yaml", CLUSTER_FILE.replace("MODE", mode))))
    nodes = [f"{c}-control-plane", f"{c}-worker", f"{c}-worker2"]
    failures: list[str] = []
    reused = 0
    seen_ips: set[str] = set()
    previous = None
    deadline = time.monotonic() + 240
    for rnd in range(ROUNDS):
        assert time.monotonic() < deadline, f"churn test ran out of time in round {rnd}"
        name = f"ud{rnd}-{c}"
        if previous:
            lab.netlab("delete", "-f", str(previous))
        path = lab.write(f"{name}.yaml", DEPLOYMENT.replace("NAME", name))
        lab.netlab("apply", "-f", str(path))
        pods = wait_for(lambda name=name: _ready_pods(lab, name), timeout=20, what=f"{name} Ready")
        ips = [p["status"]["podIP"] for p in pods]
        reused += sum(ip in seen_ips for ip in ips)
        seen_ips.update(ips)
        for pod, ip in zip(pods, ips, strict=True):
            url = f"http://{ip}:3000/"
            clients = [(f"pod {c}-c1", lambda url=url: lab.curl(f"{c}-c1", url, timeout=1)),
                       (f"pod {c}-c2", lambda url=url: lab.curl(f"{c}-c2", url, timeout=1)),
                       ("host", lambda url=url: lab.curl(None, url, timeout=1))]
            clients += [(f"node {n}", lambda n=n, url=url: lab.in_ns(n, "curl", "-sS", "--max-time", "1", url))
                        for n in nodes]
            for who, call in clients:
                got = call()
                if got.returncode != 0 or echo_answer(got.stdout).get("pod") != pod["metadata"]["name"]:
                    failures.append(f"round {rnd}: {who} -> {pod['metadata']['name']} {ip}: "
                                    f"{got.stderr.strip() or got.stdout[:80]}")
        svc = json.loads(lab.netlab("get", "svc", name, "-o", "json").stdout)["spec"]["clusterIP"]
        for _ in range(6):
            got = lab.curl(f"{c}-c1", f"http://{svc}/", timeout=1)
            if got.returncode != 0:
                failures.append(f"round {rnd}: ClusterIP {svc}: {got.stderr.strip()}")
        previous = path
    assert not failures, f"{len(failures)} failed requests:\n" + "\n".join(failures[:20])
    assert reused >= 6, f"the test must exercise reused addresses (only {reused} reuses)"
