"""Issue 3: Services with real connections: ClusterIP, NodePort, LoadBalancer, affinity, readiness."""

from __future__ import annotations

import json
import os
import signal
import time

from conftest import echo_answer as _answer
from conftest import wait_for

APP = """
kind: Cluster
apiVersion: netlab.dev/v1alpha1
restartBackoff: {initialSeconds: 5, maxSeconds: 10}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: CLUSTER-app}
spec:
  replicas: 3
  selector: {matchLabels: {app: app}}
  template:
    metadata: {labels: {app: app}}
    spec:
      containers:
        - name: echo
          image: echo
          ports:
            - {name: http, containerPort: 3000}
            - {name: dns, containerPort: 5353, protocol: UDP}
---
apiVersion: v1
kind: Pod
metadata: {name: CLUSTER-client, labels: {role: client}}
spec:
  nodeName: CLUSTER-worker
  containers: [{name: echo, image: echo, ports: [{containerPort: 8080}]}]
---
apiVersion: v1
kind: Service
metadata: {name: app-service}
spec:
  selector: {app: app}
  ports:
    - {name: web, port: 80, targetPort: http}
    - {name: dns, port: 53, targetPort: dns, protocol: UDP}
---
apiVersion: v1
kind: Service
metadata: {name: app-nodeport}
spec:
  type: NodePort
  selector: {app: app}
  ports: [{port: 80, targetPort: 3000, nodePort: 30080}]
---
apiVersion: v1
kind: Service
metadata: {name: app-lb}
spec:
  type: LoadBalancer
  selector: {app: app}
  ports: [{port: 80, targetPort: 3000}]
---
apiVersion: v1
kind: Service
metadata: {name: sticky}
spec:
  selector: {app: app}
  sessionAffinity: ClientIP
  sessionAffinityConfig: {clientIP: {timeoutSeconds: 60}}
  ports: [{port: 80, targetPort: 3000}]
---
apiVersion: v1
kind: Service
metadata: {name: nobody}
spec:
  selector: {app: nobody}
  ports: [{port: 80}]
---
apiVersion: v1
kind: Service
metadata: {name: headless}
spec:
  clusterIP: None
  selector: {app: app}
  ports: [{port: 80, targetPort: 3000}]
"""



def _svc(lab, name: str) -> dict:
    return json.loads(lab.netlab("get", "svc", name, "-o", "json").stdout)


def _pods(lab, selector: str) -> dict[str, dict]:
    items = json.loads(lab.netlab("get", "pods", "-l", selector, "-o", "json").stdout)["items"]
    return {p["metadata"]["name"]: p for p in items}


def _hits(lab, netns: str | None, url: str, want: set[str], limit: int = 60) -> set[str]:
    """Request until every pod in `want` answered (bounded); return the pods seen."""
    seen: set[str] = set()
    for _ in range(limit):
        proc = lab.curl(netns, url, timeout=2)
        assert proc.returncode == 0, f"{url} from {netns or 'host'}: {proc.stderr}"
        seen.add(_answer(proc.stdout)["pod"])
        if want <= seen:
            break
    return seen


def test_cluster_ip_node_port_and_load_balancer(lab):
    lab.netlab("up", str(lab.write("app.yaml", APP)))
    c = lab.cluster
    pods = _pods(lab, "app=app")
    names = set(pods)
    svc = _svc(lab, "app-service")
    cip = svc["spec"]["clusterIP"]
    assert cip.startswith("10.96.")

    # From a pod, on any node, every endpoint is reached; the endpoint sees the client pod's IP.
    client_ip = lab.pod_ip(f"{c}-client")
    assert _hits(lab, f"{c}-client", f"http://{cip}/", names) == names
    assert _answer(lab.curl(f"{c}-client", f"http://{cip}/").stdout)["client"].split(":")[0] == client_ip
    # From every node.
    for node in (f"{c}-control-plane", f"{c}-worker", f"{c}-worker2"):
        assert _answer(lab.curl(node, f"http://{cip}/").stdout)["pod"] in names
    # UDP through the same service, to the named UDP port.
    udp = lab.in_ns(f"{c}-client", "python3", "-c", (
        "import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(2);"
        f"s.sendto(b'hi', ('{cip}', 53)); print(s.recv(4096).decode())"))
    assert udp.returncode == 0 and _answer(udp.stdout)["pod"] in names

    endpoints = lab.netlab("get", "endpoints", "app-service").stdout
    for p in pods.values():
        assert f"{p['status']['podIP']}:3000" in endpoints or "more..." in endpoints
    slices = json.loads(lab.netlab("get", "endpointslices", "-o", "json").stdout)["items"]
    mine = [s for s in slices if s["metadata"]["labels"]["kubernetes.io/service-name"] == "app-service"]
    assert len(mine[0]["endpoints"]) == 3

    # NodePort on every node's IP, including a node with no local endpoint (the control-plane).
    nodes = json.loads(lab.netlab("get", "nodes", "-o", "json").stdout)["items"]
    for node in nodes:
        ip = node["status"]["addresses"][0]["address"]
        answer = _answer(lab.curl(None, f"http://{ip}:30080/").stdout)
        assert answer["pod"] in names
        # externalTrafficPolicy Cluster: the endpoint sees the node (SNAT), not the host.
        assert not answer["client"].startswith("172.18.0.1:")

    # LoadBalancer: EXTERNAL-IP from the pool, reachable from the host.
    lb = _svc(lab, "app-lb")["status"]["loadBalancer"]["ingress"][0]["ip"]
    assert lb.startswith("172.18.255.")
    assert _hits(lab, None, f"http://{lb}/", names) == names
    table = lab.netlab("get", "svc").stdout
    assert "app-lb" in table and lb in table and "80:30080/TCP" in table

    # Headless: no virtual IP, endpoints still kept.
    headless = _svc(lab, "headless")
    assert headless["spec"]["clusterIP"] == "None"
    assert "10.244." in lab.netlab("get", "endpoints", "headless").stdout


def test_affinity_no_endpoints_and_hairpin(lab):
    lab.netlab("up", str(lab.write("app.yaml", APP)))
    c = lab.cluster
    names = set(_pods(lab, "app=app"))
    sticky = _svc(lab, "sticky")["spec"]["clusterIP"]
    first = {_answer(lab.curl(f"{c}-client", f"http://{sticky}/").stdout)["pod"] for _ in range(8)}
    assert len(first) == 1, f"ClientIP affinity broke: {first}"

    nobody = _svc(lab, "nobody")["spec"]["clusterIP"]
    start = time.monotonic()
    refused = lab.curl(f"{c}-client", f"http://{nobody}/", timeout=5)
    assert refused.returncode == 7, refused.stderr  # connection refused, not a timeout
    assert time.monotonic() - start < 2

    cip = _svc(lab, "app-service")["spec"]["clusterIP"]
    pod = sorted(names)[0]
    assert pod in _hits(lab, pod, f"http://{cip}/", {pod}, limit=40), "hairpin: a pod must reach itself"


def test_readiness_and_container_death_drive_endpoints(lab, tmp_path):
    flag = tmp_path / "ready"
    flag.write_text("ok")
    manifest = f"""
    kind: Cluster
    apiVersion: netlab.dev/v1alpha1
    restartBackoff: {{initialSeconds: 3, maxSeconds: 3}}
    ---
    apiVersion: v1
    kind: Pod
    metadata: {{name: CLUSTER-r, labels: {{app: r}}}}
    spec:
      containers:
        - name: echo
          image: echo
          ports: [{{containerPort: 3000}}]
          readinessProbe:
            exec: {{command: [cat, {flag}]}}
            periodSeconds: 1
            failureThreshold: 1
    ---
    apiVersion: v1
    kind: Pod
    metadata: {{name: CLUSTER-s, labels: {{app: r}}}}
    spec:
      containers:
        - name: echo
          image: echo
          ports: [{{containerPort: 3000}}]
          readinessProbe:
            httpGet: {{path: /healthz, port: 3000}}
            periodSeconds: 1
    ---
    apiVersion: v1
    kind: Service
    metadata: {{name: r}}
    spec:
      selector: {{app: r}}
      ports: [{{port: 80, targetPort: 3000}}]
    """
    lab.netlab("up", str(lab.write("r.yaml", manifest)))
    c = lab.cluster
    r_ip, s_ip = lab.pod_ip(f"{c}-r"), lab.pod_ip(f"{c}-s")

    def endpoints() -> str:
        return lab.netlab("get", "endpoints", "r").stdout

    wait_for(lambda: r_ip in endpoints() and s_ip in endpoints(), timeout=10, what="both endpoints ready")
    flag.unlink()
    start = time.monotonic()
    wait_for(lambda: r_ip not in endpoints(), timeout=5, what="unready pod to leave the endpoints")
    assert time.monotonic() - start < 2.5
    cip = _svc(lab, "r")["spec"]["clusterIP"]
    for _ in range(6):
        assert _answer(lab.curl(f"{c}-s", f"http://{cip}/").stdout)["pod"] == f"{c}-s"
    flag.write_text("ok")
    wait_for(lambda: r_ip in endpoints(), timeout=5, what="the pod to return when healthy")

    pid = json.load(open(f"/run/netlab/{c}/pods/default_{c}-s/echo.pid"))["pid"]
    os.kill(pid, signal.SIGKILL)
    start = time.monotonic()
    wait_for(lambda: s_ip not in endpoints(), timeout=5, what="a dead container to leave the endpoints")
    assert time.monotonic() - start < 2.5
    wait_for(lambda: s_ip in endpoints(), timeout=15, what="the restarted container to come back")


def test_liveness_probe_failure_restarts_the_container(lab, tmp_path):
    alive = tmp_path / "alive"
    alive.write_text("ok")
    manifest = f"""
    kind: Cluster
    apiVersion: netlab.dev/v1alpha1
    restartBackoff: {{initialSeconds: 1, maxSeconds: 1}}
    ---
    apiVersion: v1
    kind: Pod
    metadata: {{name: CLUSTER-live}}
    spec:
      containers:
        - name: echo
          image: echo
          ports: [{{containerPort: 3000}}]
          livenessProbe:
            exec: {{command: [cat, {alive}]}}
            periodSeconds: 1
            failureThreshold: 1
    """
    lab.netlab("up", str(lab.write("live.yaml", manifest)))
    name = f"{lab.cluster}-live"

    def restarts() -> int:
        pod = json.loads(lab.netlab("get", "pod", name, "-o", "json").stdout)
        return pod["status"]["containerStatuses"][0]["restartCount"]

    time.sleep(2)
    assert restarts() == 0
    alive.unlink()
    wait_for(lambda: restarts() >= 1, timeout=10, what="a restart after the liveness probe failed")
    assert "failed liveness probe" in lab.netlab("events").stdout


def test_bad_service_input_is_rejected_whole(lab):
    lab.netlab("up", str(lab.write("app.yaml", APP)))
    taken = lab.write("taken.yaml", """
    apiVersion: v1
    kind: Service
    metadata: {name: other}
    spec:
      type: NodePort
      ports: [{port: 80, nodePort: 30080}]
    """)
    result = lab.netlab("apply", "-f", str(taken), check=False)
    assert result.returncode != 0
    assert "taken.yaml" in result.stderr and "spec.ports[0].nodePort" in result.stderr
    assert "already allocated" in result.stderr
    moved = lab.write("moved.yaml", """
    apiVersion: v1
    kind: Service
    metadata: {name: app-service}
    spec:
      clusterIP: 10.96.0.99
      selector: {app: app}
      ports: [{name: web, port: 80, targetPort: http}, {name: dns, port: 53, targetPort: dns, protocol: UDP}]
    """)
    result = lab.netlab("apply", "-f", str(moved), check=False)
    assert result.returncode != 0 and "spec.clusterIP" in result.stderr and "immutable" in result.stderr
    outside = lab.write("outside.yaml", """
    apiVersion: v1
    kind: Service
    metadata: {name: outside}
    spec:
      clusterIP: 10.97.0.5
      ports: [{port: 80}]
    """)
    result = lab.netlab("apply", "-f", str(outside), check=False)
    assert result.returncode != 0 and "not in the service CIDR" in result.stderr
    assert "outside" not in lab.netlab("get", "svc").stdout
    # --dry-run validates, allocates and checks the would-be rules with nft --check, and changes nothing.
    fine = lab.write("fine.yaml", """
    apiVersion: v1
    kind: Service
    metadata: {name: fine}
    spec:
      type: NodePort
      selector: {app: app}
      ports: [{port: 80, targetPort: 3000}]
    """)
    assert "service/fine created (dry run)" in lab.netlab("apply", "-f", str(fine), "--dry-run").stdout
    assert "fine" not in lab.netlab("get", "svc").stdout


def test_external_traffic_policy_local_and_an_empty_pool(lab):
    manifest = """
    kind: Cluster
    apiVersion: netlab.dev/v1alpha1
    loadBalancerPool: {start: 172.18.255.200, end: 172.18.255.200}
    ---
    apiVersion: v1
    kind: Pod
    metadata: {name: CLUSTER-only, labels: {app: only}}
    spec:
      nodeName: CLUSTER-worker
      containers: [{name: echo, image: echo, ports: [{containerPort: 3000}]}]
    ---
    apiVersion: v1
    kind: Pod
    metadata: {name: CLUSTER-away}
    spec:
      nodeName: CLUSTER-worker2
      containers: [{name: echo, image: echo, ports: [{containerPort: 3000}]}]
    ---
    apiVersion: v1
    kind: Service
    metadata: {name: local}
    spec:
      type: LoadBalancer
      externalTrafficPolicy: Local
      selector: {app: only}
      ports: [{port: 80, targetPort: 3000, nodePort: 30090}]
    ---
    apiVersion: v1
    kind: Service
    metadata: {name: starved}
    spec:
      type: LoadBalancer
      selector: {app: only}
      ports: [{port: 80, targetPort: 3000}]
    """
    lab.netlab("up", str(lab.write("local.yaml", manifest)))
    nodes = {n["metadata"]["name"]: n["status"]["addresses"][0]["address"]
             for n in json.loads(lab.netlab("get", "nodes", "-o", "json").stdout)["items"]}
    c = lab.cluster
    local = _answer(lab.curl(None, f"http://{nodes[f'{c}-worker']}:30090/").stdout)
    assert local["client"].startswith("172.18.0.1:"), "Local keeps the client's IP"
    elsewhere = lab.curl(None, f"http://{nodes[f'{c}-worker2']}:30090/", timeout=1)
    assert elsewhere.returncode == 28, "a node without a local endpoint drops Local traffic"
    lb = _svc(lab, "local")["status"]["loadBalancer"]["ingress"][0]["ip"]
    assert _answer(lab.curl(None, f"http://{lb}/").stdout)["client"].startswith("172.18.0.1:")
    # From inside the cluster kube-proxy short-circuits Local: a pod on worker2 (no endpoint there) reaches
    # its own node's NodePort and the LoadBalancer IP with its own IP kept; worker2 itself is masqueraded.
    away = lab.pod_ip(f"{c}-away")
    for url in (f"http://{nodes[f'{c}-worker2']}:30090/", f"http://{lb}/"):
        answer = _answer(lab.curl(f"{c}-away", url).stdout)
        assert answer["pod"] == f"{c}-only" and answer["client"].split(":")[0] == away, (url, answer)
    from_node = _answer(lab.curl(f"{c}-worker2", f"http://{nodes[f'{c}-worker2']}:30090/").stdout)
    assert from_node["pod"] == f"{c}-only" and from_node["client"].startswith(nodes[f"{c}-worker2"] + ":")
    assert lab.curl(None, f"http://{nodes[f'{c}-worker2']}:30090/", timeout=1).returncode == 28, "still from outside"
    for src in (f"{c}-away", f"node:{c}-worker2"):
        traced = lab.netlab("trace", src, f"{nodes[f'{c}-worker2']}:30090", check=False)
        assert traced.returncode == 0 and f"{c}-only" in traced.stdout, traced.stdout + traced.stderr
    # To the control plane's NodePort the pod's IP is kept too, and the endpoint (on worker) answers it
    # directly, around the control plane's DNAT: a timeout, as with kube-proxy, and the trace predicts it.
    remote = f"{nodes[f'{c}-control-plane']}:30090"
    assert lab.curl(f"{c}-away", f"http://{remote}/", timeout=1).returncode == 28
    traced = lab.netlab("trace", f"{c}-away", remote, check=False)
    assert "Prediction: timeout (the reply goes from" in traced.stdout, traced.stdout + traced.stderr
    starved = _svc(lab, "starved")
    assert starved["status"]["loadBalancer"] == {}
    assert "<pending>" in lab.netlab("get", "svc", "starved").stdout
