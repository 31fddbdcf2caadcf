"""Issue 15 section 2: a StatefulSet behind a headless Service gets stable names, created in order, each
resolvable and answering as <pod>.<service>; a deleted pod comes back under its name; a DaemonSet runs one
pod per schedulable node (the control plane's taint keeps it off there)."""

from __future__ import annotations

import json

from conftest import echo_answer, wait_for

MANIFEST = """
kind: Cluster
apiVersion: netlab.dev/v1alpha1
---
apiVersion: v1
kind: Service
metadata: {name: nginx, labels: {app: web}}
spec:
  clusterIP: None
  selector: {app: web}
  ports: [{name: web, port: 80, targetPort: 3000}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: CLUSTER-web}
spec:
  serviceName: nginx
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
        - name: echo
          image: echo
          ports: [{name: web, containerPort: 3000}]
          readinessProbe:
            httpGet: {path: /healthz, port: 3000}
            initialDelaySeconds: 2
            periodSeconds: 1
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: CLUSTER-agent}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec:
      containers: [{name: echo, image: echo}]
---
apiVersion: v1
kind: Pod
metadata: {name: CLUSTER-client}
spec:
  containers: [{name: echo, image: echo}]
"""


def _get(lab, *what: str) -> dict:
    return json.loads(lab.netlab("get", *what, "-o", "json").stdout)


def _ready(pod: dict) -> bool:
    return any(c["type"] == "Ready" and c["status"] == "True" for c in pod["status"].get("conditions") or [])


def test_statefulset_stable_identity_and_daemonset(lab):
    c = lab.cluster
    lab.netlab("up", str(lab.write("sts.yaml", MANIFEST)))
    web0, web1 = f"{c}-web-0", f"{c}-web-1"
    lab.kubectl("rollout", "status", f"statefulset/{c}-web", "--timeout=60s", timeout=90)
    pods = {p["metadata"]["name"]: p for p in _get(lab, "pods", "-l", "app=web")["items"]}
    assert sorted(pods) == [web0, web1] and all(_ready(p) for p in pods.values())
    # OrderedReady: web-1 was created only once web-0 was Ready (its probe waits 2 s)
    assert pods[web1]["metadata"]["creationTimestamp"] > pods[web0]["metadata"]["creationTimestamp"]
    assert pods[web0]["spec"]["hostname"] == web0 and pods[web0]["spec"]["subdomain"] == "nginx"
    assert pods[web0]["metadata"]["labels"]["statefulset.kubernetes.io/pod-name"] == web0
    assert pods[web0]["metadata"]["ownerReferences"][0]["kind"] == "StatefulSet"
    sts = _get(lab, "statefulset", f"{c}-web")
    assert sts["status"]["readyReplicas"] == 2 and sts["status"]["updatedReplicas"] == 2
    listed = lab.kubectl("get", "sts", f"{c}-web").stdout.split("\n")[1].split()
    assert listed[:2] == [f"{c}-web", "2/2"], listed

    client = f"{c}-client"
    ip0 = pods[web0]["status"]["podIP"]
    fqdn = f"{web0}.nginx.default.svc.cluster.local"
    assert lab.in_ns(client, "dig", "+short", "+time=2", "+tries=1", fqdn).stdout.split() == [ip0]
    looked_up = lab.in_ns(client, "nslookup", f"{web0}.nginx")
    assert looked_up.returncode == 0 and ip0 in looked_up.stdout, looked_up.stdout + looked_up.stderr
    answer = lab.curl(client, f"http://{web1}.nginx:3000/")
    assert answer.returncode == 0 and echo_answer(answer.stdout)["pod"] == web1, answer.stderr

    old_uid = pods[web0]["metadata"]["uid"]
    lab.netlab("delete", "pod", web0)
    wait_for(lambda: any(p["metadata"]["name"] == web0 and p["metadata"]["uid"] != old_uid and _ready(p)
                         for p in _get(lab, "pods", "-l", "app=web")["items"]),
             timeout=60, interval=0.5, what=f"{web0} to come back")
    answer = lab.curl(client, f"http://{web0}.nginx:3000/")
    assert answer.returncode == 0 and echo_answer(answer.stdout)["pod"] == web0, answer.stderr

    lab.kubectl("scale", f"statefulset/{c}-web", "--replicas=1")  # the highest ordinal goes
    wait_for(lambda: [p["metadata"]["name"] for p in _get(lab, "pods", "-l", "app=web")["items"]] == [web0],
             timeout=30, interval=0.5, what=f"{web1} to be removed")

    nodes = {n["metadata"]["name"]: n for n in _get(lab, "nodes")["items"]}
    workers = {name for name, n in nodes.items() if not n["spec"].get("taints")}
    agents = _get(lab, "pods", "-l", "app=agent")["items"]
    assert sorted(p["spec"]["nodeName"] for p in agents) == sorted(workers) and len(workers) < len(nodes)
    ds = wait_for(lambda: (d := _get(lab, "daemonset", f"{c}-agent"))["status"]["numberReady"] == len(workers)
                  and d, timeout=30, interval=0.5, what="the DaemonSet's pods to be ready")
    assert ds["status"]["desiredNumberScheduled"] == ds["status"]["currentNumberScheduled"] == len(workers)
    lab.kubectl("rollout", "status", f"daemonset/{c}-agent", "--timeout=30s", timeout=60)
