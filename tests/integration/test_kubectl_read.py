"""Issue 13: the API's read side with real kubectl (v1.37) against a real netlab cluster: server-side Table
columns as kubectl prints them on a real cluster, every `-o` form, label and field selectors, `-A`,
`get all`, `--show-labels`, `--sort-by`, single objects, `get events`, and Table/PartialObjectMetadata
content negotiation on the wire. (describe: test_kubectl_describe.py; watches: test_kubectl_watch.py.)
"""

from __future__ import annotations

import json

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
    import re

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
