"""Issue 13, stage 2: real kubectl (v1.37) writes through netlab's API: create (also the protobuf bodies of
`kubectl create namespace|deployment|service|secret`), expose, run, apply (client-side and server-side),
diff, replace, edit, label, annotate, patch, set image, rollout restart, scale, delete; fieldValidation,
dryRun and 422 validation; the OpenAPI documents kubectl reads.

Every pod lives in a namespace named after the random cluster, so pod network namespaces never collide with
another test's. Packets are real: a created and exposed Deployment answers curl from a pod kubectl ran.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

from tests.integration.conftest import wait_for

REPO = Path(__file__).resolve().parents[2]
CLUSTER = """
kind: Cluster
apiVersion: netlab.dev/v1alpha1
nodes:
  - role: control-plane
  - role: worker
"""
APP = """
apiVersion: v1
kind: Namespace
metadata: {name: ns-CLUSTER}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: app, namespace: ns-CLUSTER}
spec:
  replicas: 2
  selector: {matchLabels: {app: app}}
  template:
    metadata: {labels: {app: app}}
    spec:
      containers:
        - name: echo
          image: echo
          ports: [{containerPort: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: app, namespace: ns-CLUSTER}
spec:
  selector: {app: app}
  ports: [{port: 80, targetPort: 8080}]
"""


def _up(lab) -> str:
    lab.netlab("up", str(lab.write("cluster.yaml", CLUSTER)), timeout=180)
    return f"ns-{lab.cluster}"


def _json(lab, *args: str) -> dict:
    return json.loads(lab.kubectl(*args, "-o", "json").stdout)


def _pods(lab, ns: str, selector: str) -> list[dict]:
    return _json(lab, "get", "pods", "-n", ns, "-l", selector)["items"]


def _ready(pods: list[dict]) -> bool:
    return all(any(c["type"] == "Ready" and c["status"] == "True" for c in p["status"].get("conditions", []))
               for p in pods)


def test_create_expose_run_reach_and_delete(lab) -> None:
    ns = _up(lab)
    assert lab.kubectl("create", "namespace", ns).stdout.strip() == f"namespace/{ns} created"
    lab.kubectl("create", "deployment", "web", "--image=echo", "--replicas=2", "--port=8080", "-n", ns)
    assert "service/web exposed" in lab.kubectl("expose", "deployment", "web", "--port", "80", "--target-port",
                                                "8080", "-n", ns).stdout
    lab.kubectl("run", "client", "--image=echo", "--restart=Never", "--port=8080", "-n", ns)
    lab.kubectl("create", "service", "clusterip", "other", "--tcp=81:8080", "-n", ns)
    lab.kubectl("create", "secret", "generic", "creds", "--from-literal=user=admin", "-n", ns)
    lab.kubectl("create", "ingress", "web", "--rule=web.example/=web:80", "-n", ns)

    svc = _json(lab, "get", "svc", "web", "-n", ns)
    assert svc["spec"]["selector"] == {"app": "web"}
    assert svc["spec"]["ports"][0]["port"] == 80 and svc["spec"]["ports"][0]["targetPort"] == 8080
    assert _json(lab, "get", "svc", "other", "-n", ns)["spec"]["ports"][0]["port"] == 81
    assert _json(lab, "get", "secret", "creds", "-n", ns)["data"] == {"user": "YWRtaW4="}
    rule = _json(lab, "get", "ingress", "web", "-n", ns)["spec"]["rules"][0]
    assert rule["host"] == "web.example"
    assert rule["http"]["paths"][0]["backend"]["service"] == {"name": "web", "port": {"number": 80}}
    deploy = _json(lab, "get", "deploy", "web", "-n", ns, "--show-managed-fields")
    assert deploy["spec"]["replicas"] == 2 and deploy["metadata"]["managedFields"][0]["manager"] == "kubectl-create"

    # a real packet: from the pod kubectl ran to the exposed Deployment's ClusterIP, answered by one of its pods
    wait_for(lambda: len(pods := _pods(lab, ns, "app=web")) == 2 and _ready(pods), timeout=60,
             what="web pods Ready")
    client = _json(lab, "get", "pod", "client", "-n", ns)
    netns = f"client.{ns}"
    web_pods = {p["metadata"]["name"] for p in _pods(lab, ns, "app=web")}
    answer = wait_for(lambda: lab.in_ns(netns, "curl", "-sS", "--max-time", "3",
                                        f"http://{svc['spec']['clusterIP']}/").stdout, timeout=30,
                      what="an answer through the exposed Service")
    assert any(f"pod: {name}" in answer for name in web_pods), answer
    assert client["metadata"]["labels"] == {"run": "client"}

    deleted = lab.kubectl("delete", "pods", "--all", "-n", ns).stdout
    assert all(f'pod "{name}" deleted' in deleted for name in web_pods | {"client"}), deleted
    replaced = wait_for(lambda: {p["metadata"]["name"] for p in _pods(lab, ns, "app=web")} or None, timeout=30,
                        what="the Deployment's new pods")
    assert len(replaced) == 2 and not replaced & web_pods

    assert lab.kubectl("delete", "ns", ns).stdout.strip() == f'namespace "{ns}" deleted'
    assert lab.kubectl("get", "ns", ns, check=False).returncode != 0
    left = lab.kubectl("get", "deploy,svc,pods,secrets", "-n", ns, "-o", "name", check=False).stdout
    assert left.strip() == "", left


def test_apply_diff_replace_edit_and_patch_verbs(lab) -> None:
    ns = _up(lab)
    app = lab.write("app.yaml", APP)
    out = lab.kubectl("apply", "-f", str(app)).stdout
    assert f"namespace/{ns} created" in out and "deployment.apps/app created" in out and "service/app created" in out
    again = lab.kubectl("apply", "-f", str(app)).stdout.splitlines()
    assert len(again) == 3 and all(line.endswith(" unchanged") for line in again), again
    scaled = lab.write("app3.yaml", APP.replace("replicas: 2", "replicas: 3"))
    out = lab.kubectl("apply", "-f", str(scaled)).stdout
    assert "deployment.apps/app configured" in out and "service/app unchanged" in out

    # diff: a server-side dry run, nothing changes; exit code 1 when there is a difference
    diff = lab.kubectl("diff", "-f", str(app), check=False)
    assert diff.returncode == 1, diff.stderr
    assert "-  replicas: 3" in diff.stdout and "+  replicas: 2" in diff.stdout
    assert "uid:" not in "".join(line for line in diff.stdout.splitlines() if line[:1] in "+-" and line[:3] != "---")
    assert _json(lab, "get", "deploy", "app", "-n", ns)["spec"]["replicas"] == 3
    assert lab.kubectl("diff", "-f", str(scaled), check=False).returncode == 0

    # server-side apply: another manager's change of a field kubectl owns conflicts unless forced
    other = lab.kubectl("apply", "--server-side", "--field-manager=other", "-f", str(app), check=False)
    assert other.returncode != 0 and "conflict" in other.stderr and ".spec.replicas" in other.stderr
    lab.kubectl("apply", "--server-side", "--field-manager=other", "--force-conflicts", "-f", str(app))
    deploy = _json(lab, "get", "deploy", "app", "-n", ns, "--show-managed-fields")
    assert deploy["spec"]["replicas"] == 2
    assert "other" in {m["manager"] for m in deploy["metadata"]["managedFields"]}

    d = ["deploy", "app", "-n", ns]
    lab.kubectl("label", *d, "tier=web")
    lab.kubectl("annotate", "svc", "app", "-n", ns, "note=hello")
    lab.kubectl("patch", *d, "--type", "merge", "-p", '{"spec":{"minReadySeconds":1}}')
    lab.kubectl("patch", *d, "--type", "json", "-p", '[{"op":"replace","path":"/spec/replicas","value":1}]')
    lab.kubectl("patch", *d, "-p", '{"spec":{"template":{"spec":{"containers":[{"name":"echo","image":"echo:2"}]}}}}')
    deploy = _json(lab, "get", *d)
    assert deploy["metadata"]["labels"]["tier"] == "web" and deploy["spec"]["minReadySeconds"] == 1
    assert deploy["spec"]["replicas"] == 1 and deploy["spec"]["template"]["spec"]["containers"][0]["image"] == "echo:2"
    assert _json(lab, "get", "svc", "app", "-n", ns)["metadata"]["annotations"]["note"] == "hello"
    assert "image updated" in lab.kubectl("set", "image", "deploy/app", "echo=echo:3", "-n", ns).stdout
    assert "restarted" in lab.kubectl("rollout", "restart", "deploy/app", "-n", ns).stdout
    assert "scaled" in lab.kubectl("scale", *d, "--replicas", "3").stdout
    # the rollouts done: the status (and so the resourceVersion) holds still while the replace below runs
    lab.kubectl("rollout", "status", "deploy/app", "-n", ns, "--timeout=60s", timeout=90)
    deploy = _json(lab, "get", *d)
    assert deploy["spec"]["replicas"] == 3 and deploy["spec"]["template"]["spec"]["containers"][0]["image"] == "echo:3"
    assert "kubectl.kubernetes.io/restartedAt" in deploy["spec"]["template"]["metadata"]["annotations"]

    # replace: with the live resourceVersion it is taken; the same file again is stale: 409 Conflict
    live = lab.workdir / "live.json"
    live.write_text(json.dumps({**deploy, "spec": {**deploy["spec"], "replicas": 2}}))
    assert "replaced" in lab.kubectl("replace", "-f", str(live)).stdout
    stale = lab.kubectl("replace", "-f", str(live), check=False)
    assert stale.returncode != 0 and "Conflict" in stale.stderr and "has been modified" in stale.stderr

    # edit: kubectl runs $EDITOR on the live object and sends what changed
    editor = lab.workdir / "editor.sh"
    editor.write_text("#!/bin/sh\nsed -i 's/minReadySeconds: 1/minReadySeconds: 4/' \"$1\"\n")
    editor.chmod(0o755)
    kubectl = str(Path(sys.executable).parent / "kubectl")
    edited = lab.host(kubectl, "--kubeconfig", str(lab.kubeconfig), "edit", *d, env={"EDITOR": str(editor)})
    assert edited.returncode == 0 and "edited" in edited.stdout, edited.stderr
    assert _json(lab, "get", *d)["spec"]["minReadySeconds"] == 4

    # a Deployment's pod takes labels and annotations, as on a real cluster
    pod = _pods(lab, ns, "app=app")[0]["metadata"]["name"]
    assert "labeled" in lab.kubectl("label", "pod", pod, "-n", ns, "checked=yes").stdout
    assert "annotated" in lab.kubectl("annotate", "pod", pod, "-n", ns, "note=seen").stdout
    meta = _json(lab, "get", "pod", pod, "-n", ns)["metadata"]
    assert meta["labels"]["checked"] == "yes" and meta["annotations"]["note"] == "seen"
    assert meta["labels"]["app"] == "app"
    # the data plane follows the new label: a Service selecting it gets the pod as its endpoint
    lab.kubectl("create", "service", "clusterip", "picked", "--tcp=80:8080", "-n", ns)
    lab.kubectl("set", "selector", "svc", "picked", "checked=yes", "-n", ns)
    ip = _json(lab, "get", "pod", pod, "-n", ns)["status"]["podIP"]
    wait_for(lambda: ip in json.dumps(_json(lab, "get", "endpoints", "picked", "-n", ns).get("subsets")),
             timeout=20, what="the labelled pod as the Service's endpoint")
    forbidden = lab.kubectl("patch", "pod", pod, "-n", ns, "-p", '{"spec":{"hostname":"x"}}', check=False)
    assert forbidden.returncode != 0 and "Forbidden" in forbidden.stderr

    assert lab.kubectl("delete", "-f", str(app)).returncode == 0
    assert lab.kubectl("get", "ns", ns, check=False).returncode != 0


def test_field_validation_invalid_objects_and_dry_run(lab) -> None:
    ns = _up(lab)
    lab.kubectl("create", "namespace", ns)
    unknown = lab.write("unknown.yaml", f"""
        apiVersion: v1
        kind: Service
        metadata: {{name: svc-a, namespace: {ns}}}
        spec:
          foo: 1
          ports: [{{port: 80}}]
        """)
    strict = lab.kubectl("create", "-f", str(unknown), check=False)
    assert strict.returncode != 0
    assert 'strict decoding error: unknown field "spec.foo"' in strict.stderr, strict.stderr
    assert lab.kubectl("get", "svc", "svc-a", "-n", ns, check=False).returncode != 0
    warn = lab.kubectl("create", "--validate=warn", "-f", str(unknown))
    assert 'Warning: unknown field "spec.foo"' in warn.stderr and "service/svc-a created" in warn.stdout
    assert "foo" not in _json(lab, "get", "svc", "svc-a", "-n", ns)["spec"]
    ignored = lab.kubectl("apply", "--validate=false", "-f", str(lab.write("u2.yaml", unknown.read_text().replace(
        "svc-a", "svc-b"))))
    assert "Warning" not in ignored.stderr and "service/svc-b created" in ignored.stdout

    # 422 with the field named, and nothing changes
    bad = lab.write("bad.yaml", unknown.read_text().replace("svc-a", "svc-c").replace("  foo: 1\n", "")
                    .replace("port: 80", "port: 99999"))
    invalid = lab.kubectl("apply", "-f", str(bad), check=False)
    assert invalid.returncode != 0 and "is invalid" in invalid.stderr and "spec.ports[0].port" in invalid.stderr
    assert lab.kubectl("get", "svc", "svc-c", "-n", ns, check=False).returncode != 0
    patched = lab.kubectl("patch", "svc", "svc-a", "-n", ns, "--type", "merge", "-p",
                          '{"spec":{"ports":[{"port":0}]}}', check=False)
    assert patched.returncode != 0 and "spec.ports[0].port" in patched.stderr
    assert _json(lab, "get", "svc", "svc-a", "-n", ns)["spec"]["ports"][0]["port"] == 80

    # dryRun=All on every verb: answered, nothing changes
    lab.kubectl("create", "deployment", "dry", "--image=echo", "-n", ns, "--dry-run=server")
    assert lab.kubectl("get", "deploy", "dry", "-n", ns, check=False).returncode != 0
    lab.kubectl("label", "svc", "svc-a", "-n", ns, "x=y", "--dry-run=server")
    assert "x" not in (_json(lab, "get", "svc", "svc-a", "-n", ns)["metadata"].get("labels") or {})
    assert "(server dry run)" in lab.kubectl("delete", "svc", "svc-a", "-n", ns, "--dry-run=server").stdout
    lab.kubectl("get", "svc", "svc-a", "-n", ns)
    # server-side apply of an object that does not exist creates it; a stale resourceVersion is a conflict
    fresh = lab.write("fresh.yaml", unknown.read_text().replace("svc-a", "svc-d").replace("  foo: 1\n", ""))
    assert "service/svc-d serverside-applied" in lab.kubectl("apply", "--server-side", "-f", str(fresh)).stdout
    assert _json(lab, "get", "svc", "svc-d", "-n", ns)["spec"]["ports"][0]["port"] == 80
    stale = lab.kubectl("label", "svc", "svc-d", "-n", ns, "a=b", "--resource-version=1", check=False)
    assert stale.returncode != 0 and "the object has been modified" in stale.stderr
    # a built-in namespace takes labels (a NetworkPolicy's namespaceSelector needs them) and is never deleted
    lab.kubectl("label", "ns", "default", f"team-{lab.cluster}=x")
    assert _json(lab, "get", "ns", "default")["metadata"]["labels"][f"team-{lab.cluster}"] == "x"
    immortal = lab.kubectl("delete", "ns", "default", check=False)
    assert immortal.returncode != 0 and "this namespace may not be deleted" in immortal.stderr
    assert "service/kubernetes" in lab.kubectl("get", "svc", "-n", "default", "-o", "name").stdout
    # DeleteOptions bodies (grace period, propagation) are accepted
    lab.kubectl("delete", "svc", "svc-b", "-n", ns, "--grace-period=0", "--force", "--cascade=foreground")
    assert lab.kubectl("get", "svc", "svc-b", "-n", ns, check=False).returncode != 0


def test_openapi_documents_and_explain(lab) -> None:
    _up(lab)
    explained = lab.kubectl("explain", "service.spec.ports").stdout
    assert "ServicePort" in explained and "targetPort" in explained and "port" in explained
    index = json.loads(lab.kubectl("get", "--raw", "/openapi/v3").stdout)
    url = index["paths"]["api/v1"]["serverRelativeURL"]
    head = _curl_headers(lab, url)
    assert head["status"] == "200" and head["cache-control"] == "public, immutable" and head["etag"]
    head = _curl_headers(lab, "/openapi/v3/api/v1")
    assert head["status"] == "200" and head["cache-control"] != "public, immutable"
    proto_only = "Accept: application/com.github.proto-openapi.spec.v2@v1.0+protobuf"
    proto = _curl_headers(lab, "/openapi/v2", "-H", proto_only)
    assert proto["status"] == "406"
    assert _curl_headers(lab, "/openapi/v2", "-H", "Accept: application/json")["status"] == "200"


def _curl_headers(lab, path: str, *args: str) -> dict[str, str]:
    from netlab.api import endpoint
    from netlab.api.pki import Pki
    from netlab.compile import names

    pki = Pki(names.pki_dir(lab.cluster))
    proc = lab.host("curl", "-sS", "-o", "/dev/null", "-D", "-", "--cacert", str(pki.ca_cert), "--cert",
                    str(pki.admin_cert), "--key", str(pki.admin_key), *args, endpoint.load(lab.cluster).url + path,
                    check=True)
    lines = proc.stdout.splitlines()
    out = {"status": lines[0].split()[1]}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        out[name.strip().lower()] = value.strip()
    return out


def test_apply_the_bundled_lab_twice_and_netlab_agrees(lab) -> None:
    """The bundled lab's objects (manifests/ without the kind Cluster file, which only `netlab up` reads) into
    a namespace of this run: created, then unchanged, then one changed file configured."""
    ns = _up(lab)
    lab.kubectl("create", "namespace", ns)
    objects = lab.workdir / "lab"
    objects.mkdir()
    for path in sorted((REPO / "manifests").glob("[1-9]*.yaml")):
        shutil.copy(path, objects / path.name)
    first = lab.kubectl("apply", "-n", ns, "-f", str(objects)).stdout.splitlines()
    assert first and all(line.endswith(" created") for line in first), first
    second = lab.kubectl("apply", "-n", ns, "-f", str(objects)).stdout.splitlines()
    assert len(second) == len(first)
    assert all(line.endswith(" unchanged") for line in second), second
    app = objects / "10-app.yaml"
    app.write_text(app.read_text().replace("replicas: 3", "replicas: 2", 1))
    third = lab.kubectl("apply", "-n", ns, "-f", str(app)).stdout
    assert "deployment.apps/nextgen-app configured" in third
    kubectl_names = set(lab.kubectl("get", "deploy,svc,pods", "-n", ns, "-o", "name").stdout.split())
    netlab_deploys = json.loads(lab.netlab("get", "deployments", "-n", ns, "-o", "json").stdout)
    items = netlab_deploys.get("items", netlab_deploys if isinstance(netlab_deploys, list) else [])
    assert {f"deployment.apps/{d['metadata']['name']}" for d in items} <= kubectl_names
    assert {d["metadata"]["name"]: d["spec"]["replicas"] for d in items}["nextgen-app"] == 2
