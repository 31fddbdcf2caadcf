"""explore"""
from __future__ import annotations

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


def test_explore(lab) -> None:
    lab.netlab("up", str(lab.write("lab.yaml", MANIFEST)), timeout=180)
    ns = f"{lab.cluster}-ns"
    out = []
    cmds = [
        ["get", "pods", "-n", ns], ["get", "pods", "-n", ns, "-o", "wide"], ["get", "pods", "-A"],
        ["get", "svc", "-n", ns], ["get", "svc", "-n", ns, "-o", "wide"], ["get", "ep", "-n", ns],
        ["get", "endpointslices", "-n", ns], ["get", "deploy", "-n", ns, "-o", "wide"], ["get", "rs", "-n", ns],
        ["get", "nodes", "-o", "wide"], ["get", "ns"], ["get", "ing", "-n", ns], ["get", "netpol", "-n", ns],
        ["get", "events", "-n", ns], ["get", "all", "-n", ns], ["get", "pods", "-n", ns, "--show-labels"],
        ["get", "pods", "-n", ns, "--sort-by", ".metadata.name", "-l", "tier=web"],
        ["get", "pods", "-n", ns, "-o", "custom-columns=NAME:.metadata.name,IP:.status.podIP"],
        ["get", "pods", "-n", ns, "-o", "jsonpath={.items[*].metadata.name}"],
        ["get", "pods", "-n", ns, "--field-selector", "status.phase=Running", "-o", "name"],
        ["describe", "pod", "-n", ns, f"{lab.cluster}-solo"], ["describe", "svc", "-n", ns, f"{lab.cluster}-svc"],
        ["describe", "ep", "-n", ns, f"{lab.cluster}-svc"], ["describe", "deploy", "-n", ns, f"{lab.cluster}-app"],
        ["describe", "rs", "-n", ns], ["describe", "node", f"{lab.cluster}-worker"],
        ["describe", "ing", "-n", ns], ["describe", "netpol", "-n", ns], ["describe", "ns", ns],
        ["get", "events", "-n", ns, "--field-selector", f"involvedObject.name={lab.cluster}-solo"],
    ]
    for c in cmds:
        r = lab.kubectl(*c, check=False)
        out.append(f"$ kubectl {' '.join(c)}  (rc={r.returncode})\n{r.stdout}{r.stderr}")
    open("/tmp/kread/explore.txt", "w").write("\n".join(out))
