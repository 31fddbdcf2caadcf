"""Issue 13: the API's read side with real kubectl (v1.37) against a real netlab cluster: server-side Table
columns as kubectl prints them on a real cluster, every `-o` form, label and field selectors, `-A`,
`get all`, `--show-labels`, `--sort-by`, single objects, `get events`, and Table/PartialObjectMetadata
content negotiation on the wire; watches: `get -w` (Table rows, --output-watch-events), `wait` for a
condition and for deletion, `rollout status` through a gradual rollout, and the official Python client's
typed lists and `watch.Watch()`. (describe: test_kubectl_describe.py.)
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import yaml

from tests.integration.conftest import wait_for

MANIFEST = """
kind: Cluster
apiVersion: netlab.dev/v1alpha1
nodes:
  - role: control-plane
  - role: worker
---
apiVersion: v1
kind: Namespace
metadata: {name: CLUSTER-ns}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: CLUSTER-app, namespace: CLUSTER-ns, labels: {app: CLUSTER-app}}
spec:
  replicas: 2
  selector: {matchLabels: {app: CLUSTER-app}}
  template:
    metadata: {labels: {app: CLUSTER-app, tier: web}}
    spec:
      containers:
        - name: app
          image: echo
          ports: [{name: http, containerPort: 3000}]
---
apiVersion: v1
kind: Pod
metadata: {name: CLUSTER-solo, namespace: CLUSTER-ns, labels: {app: solo}}
spec:
  containers: [{name: web, image: echo, ports: [{containerPort: 8080}]}]
---
apiVersion: v1
kind: Service
metadata: {name: CLUSTER-svc, namespace: CLUSTER-ns}
spec:
  selector: {app: CLUSTER-app}
  ports: [{name: http, port: 80, targetPort: 3000}]
---
apiVersion: v1
kind: Service
metadata: {name: CLUSTER-np, namespace: CLUSTER-ns}
spec:
  type: NodePort
  selector: {app: solo}
  ports: [{port: 8080, targetPort: 8080}]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: CLUSTER-ing, namespace: CLUSTER-ns}
spec:
  ingressClassName: nginx
  rules:
    - host: CLUSTER.example
      http:
        paths:
          - path: /
            pathType: Prefix
            backend: {service: {name: CLUSTER-svc, port: {number: 80}}}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: CLUSTER-pol, namespace: CLUSTER-ns}
spec:
  podSelector: {matchLabels: {app: CLUSTER-app}}
  policyTypes: [Ingress]
  ingress:
    - from: [{podSelector: {matchLabels: {app: solo}}}]
      ports: [{port: 3000, protocol: TCP}]
"""




def up(lab) -> str:
    """The lab above, every pod Running; returns its namespace."""
    lab.netlab("up", str(lab.write("lab.yaml", MANIFEST)), timeout=180)
    ns = f"{lab.cluster}-ns"

    def running() -> bool:
        pods = json.loads(lab.kubectl("get", "pods", "-n", ns, "-o", "json").stdout)["items"]
        return len(pods) == 3 and all(p["status"]["phase"] == "Running" and
                                      all(c["ready"] for c in p["status"]["containerStatuses"]) for p in pods)
    wait_for(running, timeout=60, what="three ready pods")
    return ns


def table(text: str) -> tuple[list[str], list[list[str]]]:
    """kubectl's table output as (header, rows), cells split on runs of 2+ spaces (headers have 1 inside)."""
    lines = [line for line in text.splitlines() if line.strip()]
    split = [re.split(r"\s{2,}", line.strip()) for line in lines]
    return split[0], split[1:]


def column(text: str, name: str) -> list[str]:
    header, rows = table(text)
    return [r[header.index(name)] for r in rows]


def test_get_prints_kubectls_columns_for_every_kind(lab) -> None:
    ns = up(lab)
    c = lab.cluster
    k = lab.kubectl
    pods = json.loads(k("get", "pods", "-n", ns, "-o", "json").stdout)["items"]
    ips = {p["metadata"]["name"]: p["status"]["podIP"] for p in pods}

    header, rows = table(k("get", "pods", "-n", ns).stdout)
    assert header == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    assert sorted(r[0] for r in rows) == sorted(ips) and {tuple(r[1:4]) for r in rows} == {("1/1", "Running", "0")}
    header, rows = table(k("get", "pods", "-n", ns, "-o", "wide").stdout)
    assert header == ["NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE", "NOMINATED NODE", "READINESS GATES"]
    assert {r[0]: r[5] for r in rows} == ips and {r[6] for r in rows} == {f"{c}-worker"}
    header, rows = table(k("get", "pods", "-A").stdout)
    assert header[:2] == ["NAMESPACE", "NAME"] and [ns, f"{c}-solo"] in [r[:2] for r in rows]
    assert "kube-system" in {r[0] for r in rows}

    svc = json.loads(k("get", "svc", f"{c}-np", "-n", ns, "-o", "json").stdout)
    header, rows = table(k("get", "svc", "-n", ns, "-o", "wide").stdout)
    assert header == ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE", "SELECTOR"]
    by_name = {r[0]: r for r in rows}
    assert by_name[f"{c}-svc"][1:5] == ["ClusterIP", by_name[f"{c}-svc"][2], "<none>", "80/TCP"]
    assert by_name[f"{c}-np"][4] == f"8080:{svc['spec']['ports'][0]['nodePort']}/TCP"
    assert by_name[f"{c}-svc"][6] == f"app={c}-app"

    app_ips = sorted(ip for name, ip in ips.items() if name != f"{c}-solo")
    header, rows = table(k("get", "endpoints", "-n", ns).stdout)
    assert header == ["NAME", "ENDPOINTS", "AGE"]
    assert sorted({r[0]: r[1] for r in rows}[f"{c}-svc"].split(",")) == sorted(f"{ip}:3000" for ip in app_ips)
    header, rows = table(k("get", "endpointslices", "-n", ns).stdout)
    assert header == ["NAME", "ADDRESSTYPE", "PORTS", "ENDPOINTS", "AGE"]
    assert ["IPv4", "8080", ips[f"{c}-solo"]] in [r[1:4] for r in rows]

    header, rows = table(k("get", "deploy", "-n", ns, "-o", "wide").stdout)
    assert header == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE", "CONTAINERS", "IMAGES", "SELECTOR"]
    assert rows[0][:4] == [f"{c}-app", "2/2", "2", "2"] and rows[0][5:] == ["app", "echo", f"app={c}-app"]
    header, rows = table(k("get", "rs", "-n", ns).stdout)
    assert header == ["NAME", "DESIRED", "CURRENT", "READY", "AGE"] and rows[0][1:4] == ["2", "2", "2"]

    header, rows = table(k("get", "nodes", "-o", "wide").stdout)
    assert header == ["NAME", "STATUS", "ROLES", "AGE", "VERSION", "INTERNAL-IP", "EXTERNAL-IP", "OS-IMAGE",
                      "KERNEL-VERSION", "CONTAINER-RUNTIME"]
    nodes = {r[0]: r for r in rows}
    assert nodes[f"{c}-control-plane"][1:3] == ["Ready", "control-plane"] and nodes[f"{c}-worker"][2] == "<none>"
    header, rows = table(k("get", "ns").stdout)
    assert header == ["NAME", "STATUS", "AGE"] and [ns, "Active"] in [r[:2] for r in rows]
    header, rows = table(k("get", "ing", "-n", ns).stdout)
    assert header == ["NAME", "CLASS", "HOSTS", "ADDRESS", "PORTS", "AGE"]
    assert rows[0][:3] == [f"{c}-ing", "nginx", f"{c}.example"] and rows[0][4] == "80"
    header, rows = table(k("get", "netpol", "-n", ns).stdout)
    assert header == ["NAME", "POD-SELECTOR", "AGE"] and rows[0][:2] == [f"{c}-pol", f"app={c}-app"]
    header, rows = table(k("get", "events", "-n", ns).stdout)
    assert header == ["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]
    assert ["Normal", "Scheduled", f"pod/{c}-solo"] in [r[1:4] for r in rows]


def test_get_all_labels_sorting_selectors_and_output_forms(lab) -> None:
    ns = up(lab)
    c = lab.cluster
    k = lab.kubectl
    every = k("get", "all", "-n", ns).stdout
    for kind in ("pod/", "service/", "deployment.apps/", "replicaset.apps/"):
        assert f"\n{kind}{c}" in "\n" + every, every
    assert "endpoints" not in every and "ingress" not in every

    header, rows = table(k("get", "pods", "-n", ns, "--show-labels").stdout)
    assert header[-1] == "LABELS"
    labels = {r[0]: r[-1] for r in rows}
    assert labels[f"{c}-solo"] == "app=solo" and all("tier=web" in v for n, v in labels.items() if n != f"{c}-solo")

    pods = json.loads(k("get", "pods", "-n", ns, "-o", "json").stdout)["items"]
    by_ip = [p["metadata"]["name"] for p in sorted(pods, key=lambda p: p["status"]["podIP"])]
    assert column(k("get", "pods", "-n", ns, "--sort-by", ".status.podIP").stdout, "NAME") == by_ip
    newest_last = column(k("get", "pods", "-n", ns, "--sort-by", ".metadata.name").stdout, "NAME")
    assert newest_last == sorted(newest_last)

    names = lambda *args: sorted(k("get", "pods", "-n", ns, "-o", "name", *args).stdout.split())  # noqa: E731
    assert names("-l", "tier=web") == sorted(f"pod/{p['metadata']['name']}" for p in pods
                                            if p["metadata"]["labels"].get("tier") == "web")
    assert names("-l", "app!=solo,tier") == names("-l", "tier=web") and len(names("-l", "tier=web")) == 2
    assert names("-l", "app in (solo)") == [f"pod/{c}-solo"]
    assert names("--field-selector", f"metadata.name={c}-solo") == [f"pod/{c}-solo"]
    assert names("--field-selector", "status.phase=Running,spec.nodeName=" + f"{c}-worker") == names()
    assert names("--field-selector", "status.phase!=Running") == []
    bad = k("get", "pods", "-n", ns, "--field-selector", "spec.containers=x", check=False)
    assert bad.returncode != 0 and "field label not supported: spec.containers" in bad.stderr
    assert k("get", "pods", "-A", "-l", "app=solo", "-o", "name").stdout.split() == [f"pod/{c}-solo"]

    out = k("get", "pods", "-n", ns, "-o", "custom-columns=NAME:.metadata.name,IP:.status.podIP").stdout
    assert {r[0]: r[1] for r in table(out)[1]} == {p["metadata"]["name"]: p["status"]["podIP"] for p in pods}
    out = k("get", "pods", "-n", ns, "-o", "jsonpath={.items[*].spec.nodeName}").stdout
    assert out.split() == [f"{c}-worker"] * 3
    one = yaml.safe_load(k("get", "pod", f"{c}-solo", "-n", ns, "-o", "yaml").stdout)
    assert one["kind"] == "Pod" and int(one["metadata"]["resourceVersion"]) > 0
    assert one["status"]["containerStatuses"][0]["imageID"] and one["spec"]["serviceAccountName"] == "default"
    header, rows = table(k("get", "pod", f"{c}-solo", "-n", ns).stdout)
    assert header[0] == "NAME" and [r[0] for r in rows] == [f"{c}-solo"]
    missing = k("get", "pod", f"nope-{c}", "-n", ns, check=False)
    assert missing.returncode != 0 and f'pods "nope-{c}" not found' in missing.stderr


def test_table_and_metadata_negotiation_on_the_wire(lab) -> None:
    ns = up(lab)
    path = f"/api/v1/namespaces/{ns}/pods"
    code, body = lab.api_curl(path + "?includeObject=Object", "-H",
                              "Accept: application/json;as=Table;v=v1beta1;g=meta.k8s.io, application/json")
    assert code == 200 and body["kind"] == "Table" and body["apiVersion"] == "meta.k8s.io/v1beta1"
    assert [c["name"] for c in body["columnDefinitions"] if c["priority"] == 0] == [
        "Name", "Ready", "Status", "Restarts", "Age"]
    assert {r["object"]["kind"] for r in body["rows"]} == {"Pod"} and len(body["rows"]) == 3
    code, body = lab.api_curl(path + f"/{lab.cluster}-solo", "-H",
                              "Accept: application/json;as=PartialObjectMetadata;v=v1;g=meta.k8s.io")
    assert code == 200 and body["kind"] == "PartialObjectMetadata" and "spec" not in body
    code, body = lab.api_curl(path, "-H", "Accept: application/vnd.kubernetes.protobuf")
    assert code == 406 and body["reason"] == "NotAcceptable"
    code, body = lab.api_curl(path + "?labelSelector=app%20in%20(solo")
    assert code == 400 and body["kind"] == "Status"


LATE_POD = """
apiVersion: v1
kind: Pod
metadata: {name: CLUSTER-late, namespace: CLUSTER-ns, labels: {app: late}}
spec:
  containers: [{name: web, image: echo, ports: [{containerPort: 8080}]}]
"""


def background(lab, *argv: str) -> subprocess.Popen:
    """A long-running command in the lab's host namespace (kubectl when argv starts with an option or verb)."""
    if not argv[0].startswith("/"):
        argv = (str(Path(sys.executable).parent / "kubectl"), "--kubeconfig", str(lab.kubeconfig),
                "--cache-dir", str(lab.workdir / "kube-cache"), *argv)
    return subprocess.Popen(["nsenter", f"--net=/run/netns/{lab.host_ns}", *argv], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env={"KUBECONFIG": str(lab.kubeconfig),
                                                                    "HOME": str(lab.workdir), "PATH": "/usr/bin:/bin"})


def finish(proc: subprocess.Popen, timeout: float = 10) -> tuple[str, str]:
    if proc.poll() is None:
        proc.terminate()
    return proc.communicate(timeout=timeout)


def test_watches_wait_and_delete_with_kubectl(lab) -> None:
    ns = up(lab)
    c, k = lab.cluster, lab.kubectl
    watch = background(lab, "get", "pods", "-n", ns, "-w")
    events = background(lab, "get", "pods", "-n", ns, "-w", "--output-watch-events", "-l", "app=late")
    new_events = background(lab, "get", "events", "-n", ns, "--watch-only")
    try:
        time.sleep(3)   # both have listed and watch from the list's resourceVersion
        lab.netlab("apply", "-f", str(lab.write("late.yaml", LATE_POD)))
        started = time.monotonic()
        ready = k("wait", "--for=condition=Ready", f"pod/{c}-late", "-n", ns, "--timeout=60s")
        assert ready.stdout.strip() == f"pod/{c}-late condition met"
        assert time.monotonic() - started < 60
        gone = background(lab, "wait", "--for=delete", f"pod/{c}-late", "-n", ns, "--timeout=60s")
        time.sleep(2)   # it has read the pod and watches it
        k("delete", "pod", f"{c}-late", "-n", ns, "--wait=false")
        out, err = gone.communicate(timeout=70)
        assert gone.returncode == 0 and f"pod/{c}-late condition met" in out, (out, err)
        time.sleep(1)
    finally:
        watched, werr = finish(watch)
        seen, serr = finish(events)
        told, _ = finish(new_events)
    header, rows = table(watched)
    assert header == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"], (watched, werr)
    late = [r for r in rows if r[0] == f"{c}-late"]
    assert late and late[-1] and any(r[2] == "Running" for r in late), watched
    assert {r[0] for r in rows} >= {f"{c}-solo", f"{c}-late"}
    header, rows = table(seen)
    assert header[:2] == ["EVENT", "NAME"], (seen, serr)
    kinds = [r[0] for r in rows if r[1] == f"{c}-late"]
    # netlab starts a pod's containers within the apply, so it may first be seen Running already
    assert kinds[0] == "ADDED" and kinds[-1] == "DELETED", seen
    header, rows = table(told)   # Event rows have no NAME column; the header comes with the first event
    assert header == ["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"], told
    assert ["Normal", "Scheduled", f"pod/{c}-late"] in [r[1:4] for r in rows], told
    assert f"pod/{c}-solo" not in {r[3] for r in rows}, "--watch-only: no events from before"


ROLLOUT = """
kind: Cluster
apiVersion: netlab.dev/v1alpha1
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: CLUSTER-roll}
spec:
  replicas: 3
  strategy: {type: RollingUpdate, rollingUpdate: {maxSurge: 1, maxUnavailable: 0}}
  selector: {matchLabels: {app: CLUSTER-roll}}
  template:
    metadata: {labels: {app: CLUSTER-roll}}
    spec:
      containers:
        - name: echo
          image: echo
          env: [{name: VERSION, value: "VALUE"}]
          ports: [{name: http, containerPort: 3000}]
          readinessProbe:
            httpGet: {path: /healthz, port: 3000}
            periodSeconds: 1
"""


def test_rollout_status_follows_a_gradual_rollout(lab) -> None:
    lab.netlab("up", str(lab.write("lab.yaml", ROLLOUT.replace("VALUE", "1"))), timeout=180)
    deploy = f"deploy/{lab.cluster}-roll"
    first = lab.kubectl("rollout", "status", deploy, "--timeout=90s", timeout=100)
    assert "successfully rolled out" in first.stdout, first
    lab.netlab("apply", "-f", str(lab.write("v2.yaml", ROLLOUT.replace("VALUE", "2"))))
    out = lab.kubectl("rollout", "status", deploy, "--timeout=120s", timeout=130).stdout
    assert out.strip().endswith(f'deployment "{lab.cluster}-roll" successfully rolled out'), out
    assert "Waiting for deployment" in out and "old replicas are pending termination" in out, out
    # rollout status ends when the old ReplicaSet has no replicas; its last pods may still be Terminating
    def settled() -> list[dict] | None:
        pods = json.loads(lab.kubectl("get", "pods", "-l", f"app={lab.cluster}-roll", "-o", "json").stdout)["items"]
        return pods if len(pods) == 3 else None
    pods = wait_for(settled, timeout=60, what="the old pods to finish terminating")
    assert {p["spec"]["containers"][0]["env"][0]["value"] for p in pods} == {"2"}


PYTHON_CLIENT = """
import sys
from kubernetes import client, config, watch
config.load_kube_config(config_file=sys.argv[1])
ns, name = sys.argv[2], sys.argv[3]
api = client.CoreV1Api()
pods = api.list_namespaced_pod(ns)
assert all(isinstance(p, client.V1Pod) for p in pods.items)
print("pods", " ".join(sorted(p.metadata.name for p in pods.items)))
print("images", " ".join(sorted({s.image_id for p in pods.items for s in p.status.container_statuses})))
every = api.list_pod_for_all_namespaces(label_selector="app=solo")
print("all", " ".join(f"{p.metadata.namespace}/{p.metadata.name}" for p in every.items))
svc = api.read_namespaced_service(name.replace("-late", "-svc"), ns)
print("svc", svc.spec.cluster_ip, svc.spec.ports[0].port, svc.spec.ports[0].target_port)
print("events", len(api.list_namespaced_event(ns, field_selector="involvedObject.kind=Pod").items))
print("nodes", " ".join(n.status.conditions[-1].type for n in api.list_node().items))
print("rv", pods.metadata.resource_version, flush=True)
for event in watch.Watch().stream(api.list_namespaced_pod, ns, resource_version=pods.metadata.resource_version,
                                  timeout_seconds=60):
    pod = event["object"]
    print("event", event["type"], pod.metadata.name, pod.status.phase, flush=True)
    if event["type"] == "DELETED" and pod.metadata.name == name:
        break
"""


def test_the_official_python_client_lists_reads_and_watches(lab) -> None:
    ns = up(lab)
    c = lab.cluster
    script = lab.write("client.py", PYTHON_CLIENT)
    proc = background(lab, sys.executable, str(script), str(lab.kubeconfig), ns, f"{c}-late")
    try:
        lines = []
        while not lines or not lines[-1].startswith("rv "):
            line = proc.stdout.readline()
            assert line, (lines, proc.stderr.read())
            lines.append(line.strip())
        lab.netlab("apply", "-f", str(lab.write("late.yaml", LATE_POD)))
        lab.kubectl("wait", "--for=condition=Ready", f"pod/{c}-late", "-n", ns, "--timeout=60s")
        lab.kubectl("delete", "pod", f"{c}-late", "-n", ns)
        out, err = proc.communicate(timeout=60)
    finally:
        finish(proc)
    said = {line.split(" ", 1)[0]: line.split(" ", 1)[1] for line in lines}
    assert f"{c}-solo" in said["pods"].split() and said["all"] == f"{ns}/{c}-solo"
    assert said["images"] == "echo" and said["svc"].endswith("80 3000") and int(said["events"]) > 0
    assert set(said["nodes"].split()) == {"Ready"}
    watched = [line.split()[1:] for line in out.splitlines() if line.startswith("event ")]
    mine = [w for w in watched if w[1] == f"{c}-late"]
    assert mine[0][0] == "ADDED" and mine[-1][0] == "DELETED", (out, err)
    assert [f"{c}-late", "Running"] in [w[1:] for w in mine], out


def test_the_seed_walkthrough_verbatim(lab) -> None:
    """The seed's commands as a learner types them, after its app and Service are up (in a namespace of this
    run, made the context's default, so the commands stay verbatim and pod names stay unique)."""
    repo = Path(__file__).resolve().parents[2]
    ns = f"{lab.cluster}-seed"
    docs = [d for f in ("10-app.yaml", "20-services.yaml")
            for d in yaml.safe_load_all((repo / "manifests" / f).read_text()) if d]
    docs = [d for d in docs if d["kind"] != "Service" or d["metadata"]["name"] == "app-service"]
    for d in docs:
        d["metadata"]["namespace"] = ns
    cluster = {"kind": "Cluster", "apiVersion": "netlab.dev/v1alpha1"}
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}
    path = lab.workdir / "seed.yaml"
    path.write_text(yaml.safe_dump_all([cluster, namespace, *docs]))
    lab.netlab("up", str(path), timeout=180)
    lab.netlab("addons", "enable", "ingress-nginx")
    lab.kubectl("config", "set-context", "--current", f"--namespace={ns}")
    k = lab.kubectl

    def app_ready() -> bool:
        pods = json.loads(k("get", "pods", "-l", "app=nextgen-app", "-o", "json").stdout)["items"]
        return len(pods) == 3 and all(p["status"]["phase"] == "Running" for p in pods)
    wait_for(app_ready, timeout=60, what="the seed's three app pods")
    ips = sorted(p["status"]["podIP"] for p in json.loads(
        k("get", "pods", "-l", "app=nextgen-app", "-o", "json").stdout)["items"])

    services = k("get", "services").stdout
    header, rows = table(services)
    assert header == ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"]
    assert [r[:2] + r[3:5] for r in rows] == [["app-service", "ClusterIP", "<none>", "80/TCP"]], services
    assert table(k("get", "svc").stdout)[1][0][:5] == rows[0][:5]
    described = k("describe", "svc", "app-service").stdout
    assert f"Namespace:                {ns}" in described and "Selector:                 app=nextgen-app" in described
    assert sorted(re.search(r"Endpoints:\s+(\S+)", described).group(1).split(",")) == [f"{ip}:3000" for ip in ips]
    header, rows = table(k("get", "endpoints", "app-service").stdout)
    assert header == ["NAME", "ENDPOINTS", "AGE"] and rows[0][0] == "app-service"
    assert sorted(rows[0][1].split(",")) == [f"{ip}:3000" for ip in ips]

    def controller_running() -> list[list[str]]:
        found = table(k("get", "pods", "-n", "ingress-nginx").stdout or "NAME")
        return found if found[1] and found[1][0][2] == "Running" else []
    header, rows = wait_for(controller_running, timeout=60, what="the ingress controller pod")
    assert header == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    assert [r[0].startswith("ingress-nginx-controller-") and r[1:3] == ["1/1", "Running"] for r in rows] == [True]
