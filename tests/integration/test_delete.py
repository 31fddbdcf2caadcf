"""Issue 10: `netlab delete -f` on a file holding a Namespace and objects inside it, as kubectl."""

from __future__ import annotations

MANIFEST = """
apiVersion: v1
kind: Namespace
metadata: {name: CLUSTER-shop}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: CLUSTER-web, namespace: CLUSTER-shop}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: echo}]}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: CLUSTER-shop}
spec: {selector: {app: web}, ports: [{port: 80}]}
"""


def test_delete_file_with_a_namespace_and_its_objects(lab):
    path = lab.write("shop.yaml", MANIFEST)
    lab.netlab("up", str(path))
    ns = f"{lab.cluster}-shop"
    assert f"{lab.cluster}-web-" in lab.netlab("get", "pods", "-n", ns).stdout
    result = lab.netlab("delete", "-f", str(path), check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout == (f'namespace "{ns}" deleted\ndeployment.apps "{lab.cluster}-web" deleted\n'
                             'service "web" deleted\n')
    assert ns not in lab.netlab("get", "ns").stdout
    assert lab.netlab("get", "pods", "-A").stdout.count(f"{lab.cluster}-web-") == 0
    again = lab.netlab("delete", "-f", str(path), check=False)
    assert again.returncode == 1 and "NotFound" in again.stderr, "deleting what is not there still fails"
