"""Issue 13: Deployments roll out gradually. While a template change rolls out behind a Service with
readiness probes, the Service keeps answering, its ready endpoints never drop below
replicas - maxUnavailable, and in the end every pod runs the new template."""

from __future__ import annotations

import json
import time

from conftest import echo_answer as _answer
from conftest import wait_for

MANIFEST = """
kind: Cluster
apiVersion: netlab.dev/v1alpha1
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: CLUSTER-web}
spec:
  replicas: 3
  minReadySeconds: 1
  strategy: {type: RollingUpdate, rollingUpdate: {maxSurge: 1, maxUnavailable: 0}}
  selector: {matchLabels: {app: web}}
  template:
    metadata:
      labels: {app: web}
      ANNOTATIONS
    spec:
      containers:
        - name: echo
          image: echo
          ports: [{name: http, containerPort: 3000}]
          readinessProbe:
            httpGet: {path: /healthz, port: 3000}
            initialDelaySeconds: 1
            periodSeconds: 1
---
apiVersion: v1
kind: Pod
metadata: {name: CLUSTER-client}
spec:
  containers: [{name: echo, image: echo, ports: [{containerPort: 8080}]}]
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: http}]
"""

RESTARTED = 'annotations: {"kubectl.kubernetes.io/restartedAt": "2026-12-01T18:00:00Z"}'


def _get(lab, *what: str) -> dict:
    return json.loads(lab.netlab("get", *what, "-o", "json").stdout)


def _ready_addresses(lab) -> list[str]:
    subsets = _get(lab, "endpoints", "web").get("subsets") or []
    return [a["ip"] for s in subsets for a in s.get("addresses") or []]


def _rolled_out(deploy: dict) -> bool:
    status = deploy.get("status") or {}
    return (status.get("observedGeneration") == deploy["metadata"].get("generation")
            and status.get("updatedReplicas") == status.get("replicas") == status.get("availableReplicas") == 3)


def test_rolling_update_keeps_the_service_answering(lab):
    c = lab.cluster
    lab.netlab("up", str(lab.write("web.yaml", MANIFEST.replace("ANNOTATIONS", ""))))
    wait_for(lambda: len(_ready_addresses(lab)) == 3 and _rolled_out(_get(lab, "deployment", f"{c}-web")),
             timeout=30, what="3 ready endpoints")
    old_pods = {p["metadata"]["name"] for p in _get(lab, "pods", "-l", "app=web")["items"]}
    cip = _get(lab, "svc", "web")["spec"]["clusterIP"]

    lab.netlab("apply", "-f", str(lab.write("web2.yaml", MANIFEST.replace("ANNOTATIONS", RESTARTED))))
    answered, failures, fewest, rounds = [], [], 3, 0
    started = time.monotonic()
    deadline = started + 90
    while time.monotonic() < deadline and rounds < 400:
        rounds += 1
        proc = lab.curl(f"{c}-client", f"http://{cip}/", timeout=2)
        if proc.returncode != 0:
            failures.append(proc.stderr)
        else:
            answered.append(_answer(proc.stdout)["pod"])
        fewest = min(fewest, len(_ready_addresses(lab)))
        if rounds % 4 == 0 and _rolled_out(_get(lab, "deployment", f"{c}-web")):
            break
    print(f"rollout of 3 replicas: {time.monotonic() - started:.1f}s, {rounds} requests, {len(set(answered))} pods")
    assert not failures, f"{len(failures)} of {rounds} requests failed during the rollout: {failures[:3]}"
    assert fewest >= 3, f"ready endpoints dropped to {fewest} (maxUnavailable 0)"

    deploy = _get(lab, "deployment", f"{c}-web")
    assert _rolled_out(deploy), deploy.get("status")
    conditions = {cond["type"]: cond for cond in deploy["status"]["conditions"]}
    assert conditions["Available"]["status"] == "True"
    assert conditions["Progressing"]["reason"] == "NewReplicaSetAvailable"
    new_pods = {p["metadata"]["name"] for p in _get(lab, "pods", "-l", "app=web")["items"]}
    assert len(new_pods) == 3 and not new_pods & old_pods
    assert set(answered) & old_pods and set(answered) & new_pods, "old and new pods both served during the rollout"
    wait_for(lambda: set(_ready_addresses(lab)) == {lab.pod_ip(p) for p in new_pods}, timeout=10,
             what="the endpoints to be exactly the new pods")

    replicasets = {rs["metadata"]["name"]: rs for rs in _get(lab, "replicasets")["items"]
                   if rs["metadata"]["name"].startswith(f"{c}-web-")}
    sizes = sorted((rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"], rs["spec"]["replicas"])
                   for rs in replicasets.values())
    assert sizes == [("1", 0), ("2", 3)]  # the old ReplicaSet stays, scaled to 0
    events = lab.netlab("events").stdout
    assert "Scaled up replica set" in events and "Scaled down replica set" in events


RECREATE = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: CLUSTER-re}
spec:
  replicas: REPLICAS
  strategy: {type: Recreate}
  selector: {matchLabels: {app: re}}
  template:
    metadata: {labels: {app: re}, annotations: {version: "VERSION"}}
    spec:
      containers: [{name: echo, image: echo, ports: [{containerPort: 3000}]}]
"""


def test_recreate_and_scaling(lab):
    def manifest(replicas: int, version: str) -> str:
        text = RECREATE.replace("REPLICAS", str(replicas)).replace("VERSION", version)
        return str(lab.write(f"re-{replicas}-{version}.yaml", text))

    def pods() -> dict[str, dict]:
        return {p["metadata"]["name"]: p for p in _get(lab, "pods", "-l", "app=re")["items"]}

    lab.netlab("up", manifest(2, "1"))
    first = pods()
    assert len(first) == 2
    lab.netlab("apply", "-f", manifest(2, "2"))
    second = pods()
    assert len(second) == 2 and not set(second) & set(first)  # every old pod went, new ones came
    listed = set(lab.host("ip", "netns", "list", check=True).stdout.split())
    assert set(second) <= listed and not set(first) & listed  # old network namespaces went with their pods
    wait_for(lambda: all(p["status"]["phase"] == "Running" for p in pods().values()), timeout=20,
             what="the recreated pods to run")
    for p in second.values():
        assert _answer(lab.curl(None, f"http://{p['status']['podIP']}:3000/").stdout)["pod"] == p["metadata"]["name"]

    lab.netlab("apply", "-f", manifest(4, "2"))  # scaling: only the difference
    scaled = pods()
    assert len(scaled) == 4 and set(second) <= set(scaled)
    lab.netlab("apply", "-f", manifest(1, "2"))
    assert len(pods()) == 1 and set(pods()) <= set(scaled)
    wait_for(lambda: "Scaled down replica set" in lab.netlab("events").stdout, timeout=5, what="scaling events")
