"""Issue 10: Services another proxy owns get no rules from netlab; terminated pods are never endpoints."""

from __future__ import annotations

import json
import time

from conftest import echo_answer, wait_for

PODS = """
apiVersion: v1
kind: Pod
metadata: {name: CLUSTER-client}
spec: {containers: [{name: echo, image: echo, ports: [{containerPort: 8080}]}]}
---
apiVersion: v1
kind: Pod
metadata: {name: CLUSTER-web, labels: {app: web}}
spec: {containers: [{name: echo, image: echo, ports: [{containerPort: 3000}]}]}
---
apiVersion: v1
kind: Pod
metadata: {name: CLUSTER-done, labels: {app: done}}
spec:
  restartPolicy: Never
  containers: [{name: job, image: busybox, command: ["true"], ports: [{containerPort: 3000}]}]
---
apiVersion: v1
kind: Pod
metadata: {name: CLUSTER-failed, labels: {app: done}}
spec:
  restartPolicy: Never
  containers: [{name: job, image: busybox, command: [sh, -c, "exit 3"], ports: [{containerPort: 3000}]}]
---
apiVersion: v1
kind: Service
metadata: {name: done}
spec:
  selector: {app: done}
  publishNotReadyAddresses: true
  ports: [{port: 80, targetPort: 3000}]
"""

WEB_SVC = """
apiVersion: v1
kind: Service
metadata: {name: web, labels: LABELS}
spec:
  type: NodePort
  selector: {app: web}
  ports: [{port: 80, targetPort: 3000}]
"""


def _svc(lab, name: str) -> dict:
    return json.loads(lab.netlab("get", "svc", name, "-o", "json").stdout)


def test_a_service_labelled_for_another_proxy_gets_no_rules_until_the_label_goes(lab):
    lab.netlab("up", str(lab.write("pods.yaml", PODS)))
    client, web_ip = f"{lab.cluster}-client", lab.pod_ip(f"{lab.cluster}-web")
    for label in ("service.kubernetes.io/service-proxy-name: other-proxy", "service.kubernetes.io/headless: ''"):
        lab.netlab("apply", "-f", str(lab.write("web.yaml", WEB_SVC.replace("LABELS", "{" + label + "}"))))
        cip = _svc(lab, "web")["spec"]["clusterIP"]
        start = time.monotonic()
        no_proxy = lab.curl(client, f"http://{cip}/", timeout=2)
        # As with no proxy at all: nothing DNATs or rejects (a reject fails in ~0 ms), the packet goes nowhere.
        assert no_proxy.returncode in (7, 28) and time.monotonic() - start > 1.5, no_proxy.stderr
        assert web_ip in lab.netlab("get", "endpoints", "web").stdout, "endpoints are not the proxy's business"
        dig = lab.in_ns(client, "dig", "+short", "+time=2", "+tries=1", "web.default.svc.cluster.local")
        assert dig.stdout.strip() == cip, "DNS still answers for it"

    lab.netlab("apply", "-f", str(lab.write("web.yaml", WEB_SVC.replace("LABELS", "{app: web}"))))
    assert _svc(lab, "web")["spec"]["clusterIP"] == cip
    answer = wait_for(lambda: lab.curl(client, f"http://{cip}/").stdout, timeout=5, what="rules back")
    assert echo_answer(answer)["pod"] == f"{lab.cluster}-web"


def test_a_service_whose_pods_terminated_refuses_at_once(lab):
    lab.netlab("up", str(lab.write("pods.yaml", PODS)))
    c = lab.cluster

    def phase(pod: str) -> str:
        return json.loads(lab.netlab("get", "pod", pod, "-o", "json").stdout)["status"]["phase"]

    wait_for(lambda: phase(f"{c}-done") == "Succeeded" and phase(f"{c}-failed") == "Failed", timeout=10,
             what="the run-once pods to finish")
    eps = json.loads(lab.netlab("get", "endpoints", "done", "-o", "json").stdout)
    assert not eps.get("subsets"), f"terminated pods are never endpoints (publishNotReadyAddresses or not): {eps}"
    cip = _svc(lab, "done")["spec"]["clusterIP"]
    start = time.monotonic()
    refused = lab.curl(f"{c}-client", f"http://{cip}/", timeout=5)
    assert refused.returncode == 7 and time.monotonic() - start < 2, refused.stderr  # rejected, no timeout
