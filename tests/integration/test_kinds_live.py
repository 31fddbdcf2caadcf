"""Issue 15: every kind is accepted. A manifest of the ingress-nginx "cloud" deploy.yaml's shape (written
here, not copied) applies unchanged with `netlab apply -f`; its stored-only kinds are listed, described
and deleted with real kubectl; a CRD serves its kind. A container sees an env var from a ConfigMap and a
file from a ConfigMap volume (in its own mount namespace: the host's /etc is not changed)."""

from __future__ import annotations

import json
import os

from conftest import wait_for

CLUSTER_DOC = """
kind: Cluster
apiVersion: netlab.dev/v1alpha1
nodes:
  - role: control-plane
  - role: worker
"""

# The shape of ingress-nginx's provider/cloud/deploy.yaml: 14 kinds, the admission Jobs and webhook.
INGRESS_SHAPE = CLUSTER_DOC + """
---
apiVersion: v1
kind: Namespace
metadata: {name: CLUSTER-ingress, labels: {app.kubernetes.io/name: ingress-nginx}}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: ingress-nginx, namespace: CLUSTER-ingress, labels: {app.kubernetes.io/name: ingress-nginx}}
automountServiceAccountToken: true
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: ingress-nginx-admission, namespace: CLUSTER-ingress}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: ingress-nginx, namespace: CLUSTER-ingress}
rules:
  - apiGroups: [""]
    resources: [namespaces]
    verbs: [get]
  - apiGroups: [coordination.k8s.io]
    resources: [leases]
    resourceNames: [ingress-nginx-leader]
    verbs: [get, update]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: CLUSTER-ingress-nginx}
rules:
  - apiGroups: [networking.k8s.io]
    resources: [ingresses, ingressclasses]
    verbs: [get, list, watch]
  - nonResourceURLs: ["/metrics"]
    verbs: [get]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: ingress-nginx, namespace: CLUSTER-ingress}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: ingress-nginx}
subjects:
  - {kind: ServiceAccount, name: ingress-nginx, namespace: CLUSTER-ingress}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: CLUSTER-ingress-nginx}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: CLUSTER-ingress-nginx}
subjects:
  - {kind: ServiceAccount, name: ingress-nginx, namespace: CLUSTER-ingress}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: ingress-nginx-controller, namespace: CLUSTER-ingress}
data:
  allow-snippet-annotations: "false"
---
apiVersion: v1
kind: Service
metadata: {name: ingress-nginx-controller, namespace: CLUSTER-ingress}
spec:
  type: LoadBalancer
  externalTrafficPolicy: Local
  ipFamilyPolicy: SingleStack
  ipFamilies: [IPv4]
  selector: {app.kubernetes.io/name: ingress-nginx, app.kubernetes.io/component: controller}
  ports:
    - {name: http, port: 80, protocol: TCP, targetPort: http, appProtocol: http}
    - {name: https, port: 443, protocol: TCP, targetPort: https, appProtocol: https}
---
apiVersion: v1
kind: Service
metadata: {name: ingress-nginx-controller-admission, namespace: CLUSTER-ingress}
spec:
  type: ClusterIP
  selector: {app.kubernetes.io/name: ingress-nginx, app.kubernetes.io/component: controller}
  ports:
    - {name: https-webhook, port: 443, targetPort: webhook, appProtocol: https}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: ingress-nginx-controller, namespace: CLUSTER-ingress}
spec:
  minReadySeconds: 0
  revisionHistoryLimit: 10
  selector:
    matchLabels: {app.kubernetes.io/name: ingress-nginx, app.kubernetes.io/component: controller}
  strategy:
    rollingUpdate: {maxUnavailable: 1}
    type: RollingUpdate
  template:
    metadata:
      labels: {app.kubernetes.io/name: ingress-nginx, app.kubernetes.io/component: controller}
    spec:
      containers:
        - name: controller
          image: registry.k8s.io/ingress-nginx/controller:v1.9.0
          imagePullPolicy: IfNotPresent
          args:
            - /nginx-ingress-controller
            - --publish-service=$(POD_NAMESPACE)/ingress-nginx-controller
            - --election-id=ingress-nginx-leader
            - --controller-class=k8s.io/ingress-nginx
            - --ingress-class=nginx
            - --configmap=$(POD_NAMESPACE)/ingress-nginx-controller
            - --validating-webhook=:8443
          env:
            - name: POD_NAME
              valueFrom: {fieldRef: {fieldPath: metadata.name}}
            - name: POD_NAMESPACE
              valueFrom: {fieldRef: {fieldPath: metadata.namespace}}
          lifecycle:
            preStop:
              exec: {command: [/wait-shutdown]}
          livenessProbe:
            httpGet: {path: /healthz, port: 10254, scheme: HTTP}
            initialDelaySeconds: 10
            periodSeconds: 10
            failureThreshold: 5
          readinessProbe:
            httpGet: {path: /healthz, port: 10254, scheme: HTTP}
            initialDelaySeconds: 10
            periodSeconds: 10
          ports:
            - {name: http, containerPort: 80, protocol: TCP}
            - {name: https, containerPort: 443, protocol: TCP}
            - {name: webhook, containerPort: 8443, protocol: TCP}
          resources:
            requests: {cpu: 100m, memory: 90Mi}
          securityContext:
            allowPrivilegeEscalation: true
            capabilities: {add: [NET_BIND_SERVICE], drop: [ALL]}
            runAsUser: 101
          volumeMounts:
            - {name: webhook-cert, mountPath: /usr/local/certificates/, readOnly: true}
      dnsPolicy: ClusterFirst
      nodeSelector: {kubernetes.io/os: linux}
      serviceAccountName: ingress-nginx
      terminationGracePeriodSeconds: 300
      volumes:
        - name: webhook-cert
          secret: {secretName: ingress-nginx-admission}
---
apiVersion: batch/v1
kind: Job
metadata: {name: ingress-nginx-admission-create, namespace: CLUSTER-ingress}
spec:
  template:
    metadata: {name: ingress-nginx-admission-create}
    spec:
      containers:
        - name: create
          image: registry.k8s.io/ingress-nginx/kube-webhook-certgen:v20230407
          args: [create, --host=ingress-nginx-controller-admission, --secret-name=ingress-nginx-admission]
          securityContext: {allowPrivilegeEscalation: false}
      restartPolicy: OnFailure
      serviceAccountName: ingress-nginx-admission
---
apiVersion: batch/v1
kind: Job
metadata: {name: ingress-nginx-admission-patch, namespace: CLUSTER-ingress}
spec:
  template:
    spec:
      containers:
        - name: patch
          image: registry.k8s.io/ingress-nginx/kube-webhook-certgen:v20230407
          args: [patch, --webhook-name=ingress-nginx-admission]
      restartPolicy: OnFailure
---
apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata: {name: CLUSTER-nginx}
spec:
  controller: k8s.io/ingress-nginx
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata: {name: CLUSTER-ingress-nginx-admission}
webhooks:
  - admissionReviewVersions: [v1]
    clientConfig:
      service: {name: ingress-nginx-controller-admission, namespace: CLUSTER-ingress, path: /networking/v1/ingresses}
    failurePolicy: Fail
    matchPolicy: Equivalent
    name: validate.nginx.ingress.kubernetes.io
    rules:
      - apiGroups: [networking.k8s.io]
        apiVersions: [v1]
        operations: [CREATE, UPDATE]
        resources: [ingresses]
    sideEffects: None
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: gadgets.CLUSTER.example.com}
spec:
  group: CLUSTER.example.com
  scope: Namespaced
  names: {plural: gadgets, singular: gadget, kind: Gadget, shortNames: [gdg]}
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}
---
apiVersion: CLUSTER.example.com/v1
kind: Gadget
metadata: {name: g1, namespace: CLUSTER-ingress}
spec: {size: 3}
"""


def test_ingress_nginx_shape_applies_and_every_kind_is_served(lab) -> None:
    ns, c = f"{lab.cluster}-ingress", lab.cluster
    lab.netlab("up", str(lab.write("cluster.yaml", CLUSTER_DOC)), timeout=180)
    out = lab.netlab("apply", "-f", str(lab.write("deploy.yaml", INGRESS_SHAPE)), timeout=120).stdout
    for ref in ("serviceaccount/ingress-nginx", "role.rbac.authorization.k8s.io/ingress-nginx",
                "job.batch/ingress-nginx-admission-create", f"gadget.{c}.example.com/g1"):
        assert f"{ref} created" in out, out

    def names(*args: str) -> set[str]:
        return set(lab.kubectl("get", *args, "-o", "name").stdout.split())

    assert names("sa", "-n", ns) >= {"serviceaccount/ingress-nginx", "serviceaccount/ingress-nginx-admission"}
    assert names("roles,rolebindings,configmaps,jobs", "-n", ns) >= {
        "role.rbac.authorization.k8s.io/ingress-nginx", "rolebinding.rbac.authorization.k8s.io/ingress-nginx",
        "configmap/ingress-nginx-controller", "job.batch/ingress-nginx-admission-create",
        "job.batch/ingress-nginx-admission-patch"}
    assert f"clusterrole.rbac.authorization.k8s.io/{c}-ingress-nginx" in names("clusterroles")
    assert f"validatingwebhookconfiguration.admissionregistration.k8s.io/{c}-ingress-nginx-admission" in \
        names("validatingwebhookconfigurations")
    table = lab.kubectl("get", "sa,jobs,cronjobs,cm,roles,pdb,hpa,leases,gdg", "-n", ns).stdout   # Table output
    assert "ingress-nginx-admission-create" in table and "g1" in table
    assert "job.batch/ingress-nginx-admission-create   Running   0/1" in table   # kubectl's Job columns
    assert "configmap/ingress-nginx-controller   1 " in table
    assert "Name:" in lab.kubectl("describe", "job", "ingress-nginx-admission-create", "-n", ns).stdout
    assert names("gdg", "-n", ns) == {f"gadget.{c}.example.com/g1"}   # the CRD's short name, via discovery
    assert lab.kubectl("api-resources", "--api-group", f"{c}.example.com", "--no-headers").stdout.split() == [
        "gadgets", "gdg", f"{c}.example.com/v1", "true", "Gadget"]
    assert "g1" in lab.netlab("get", "gadgets", "-n", ns).stdout

    # defaulting, as a real API server stores these objects
    deploy = json.loads(lab.kubectl("get", "deploy", "ingress-nginx-controller", "-n", ns, "-o", "json").stdout)
    assert deploy["spec"]["strategy"]["rollingUpdate"] == {"maxUnavailable": 1, "maxSurge": "25%"}
    assert deploy["spec"]["progressDeadlineSeconds"] == 600
    svc = json.loads(lab.kubectl("get", "svc", "ingress-nginx-controller-admission", "-n", ns, "-o", "json").stdout)
    assert (svc["spec"]["ipFamilies"], svc["spec"]["ipFamilyPolicy"], svc["spec"]["sessionAffinity"]) == (
        ["IPv4"], "SingleStack", "None")
    assert svc["spec"]["clusterIPs"] == [svc["spec"]["clusterIP"]]

    # the controller waits for the Secret its admission Job would make (this Job gives certgen no --namespace: it fails)
    wait_for(lambda: "ContainerCreating" in lab.kubectl("get", "pods", "-n", ns).stdout, timeout=20,
             what="the controller pod waiting for its volume")
    events = lab.kubectl("get", "events", "-n", ns, "--field-selector", "reason=FailedMount").stdout
    assert 'secret "ingress-nginx-admission" not found' in events, events

    # stored only: describe and an event say so
    described = lab.kubectl("describe", "sa", "ingress-nginx", "-n", ns).stdout
    assert "does not act on it" in described, described
    assert "does not act on it" in lab.netlab("describe", "role", "ingress-nginx", "-n", ns).stdout

    # unknown field (strict) and a CRD instance whose CRD is missing: errors naming the field / the CRD
    bad = lab.write("bad.yaml", """
        apiVersion: v1
        kind: ServiceAccount
        metadata: {name: other, namespace: CLUSTER-ingress}
        automountToken: true
        """)
    failed = lab.netlab("apply", "-f", str(bad), check=False)
    assert failed.returncode != 0 and 'unknown field "automountToken"' in failed.stderr, failed.stderr
    orphan = lab.write("orphan.yaml", """
        apiVersion: v1
        kind: ServiceAccount
        metadata: {name: other, namespace: CLUSTER-ingress}
        ---
        apiVersion: nothere.CLUSTER.example.com/v1
        kind: Thing
        metadata: {name: t, namespace: CLUSTER-ingress}
        """)
    failed = lab.netlab("apply", "-f", str(orphan), check=False)
    assert failed.returncode != 0 and f'"things.nothere.{c}.example.com"' in failed.stderr, failed.stderr
    assert "serviceaccount/other" not in names("sa", "-n", ns)   # nothing half-applied

    lab.kubectl("delete", "job", "ingress-nginx-admission-patch", "-n", ns)
    lab.kubectl("delete", "crd", f"gadgets.{c}.example.com")
    assert "job.batch/ingress-nginx-admission-patch" not in names("jobs", "-n", ns)
    assert lab.kubectl("get", "gadgets", "-n", ns, check=False).returncode != 0   # the kind went with its CRD


CONFIG_POD = CLUSTER_DOC + """
---
apiVersion: v1
kind: ConfigMap
metadata: {name: CLUSTER-cfg}
data:
  greeting: hello from a configmap
  app.conf: |
    listen=8080
---
apiVersion: v1
kind: Pod
metadata: {name: CLUSTER-reader}
spec:
  containers:
    - name: reader
      image: busybox
      command: [sh, -c, 'echo "env=$GREETING"; echo "file=$(cat /etc/CLUSTER-cfg/app.conf)"; sleep 3600']
      env:
        - name: GREETING
          valueFrom: {configMapKeyRef: {name: CLUSTER-cfg, key: greeting}}
      volumeMounts:
        - {name: cfg, mountPath: /etc/CLUSTER-cfg}
  volumes:
    - name: cfg
      configMap: {name: CLUSTER-cfg}
"""


def test_configmap_env_and_volume_reach_the_process(lab) -> None:
    pod = f"{lab.cluster}-reader"
    lab.netlab("up", str(lab.write("lab.yaml", CONFIG_POD)), timeout=180)

    def logs() -> str:
        return lab.netlab("logs", pod, check=False).stdout

    wait_for(lambda: "file=" in logs(), timeout=30, what="the reader's output")
    text = logs()
    assert "env=hello from a configmap" in text, text
    assert "file=listen=8080" in text, text
    assert not os.path.exists(f"/etc/{lab.cluster}-cfg")   # the host's /etc is not changed

    # an applied change reaches the mounted file in place, as the kubelet's sync does (same process)
    changed = lab.write("changed.yaml", """
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: CLUSTER-cfg}
        data:
          greeting: hello from a configmap
          app.conf: listen=9090
        """)
    lab.netlab("apply", "-f", str(changed))

    def seen() -> str:
        return lab.netlab("exec", pod, "--", "cat", f"/etc/{lab.cluster}-cfg/app.conf", check=False).stdout

    wait_for(lambda: seen() == "listen=9090", timeout=15, what="the changed file")
    assert lab.netlab("exec", pod, "--", "sh", "-c", "echo $GREETING").stdout.strip() == "hello from a configmap"
    assert logs().count("env=") == 1   # not restarted


VOLUMES_POD = CLUSTER_DOC + """
---
apiVersion: v1
kind: Secret
metadata: {name: CLUSTER-sec}
stringData: {password: hunter2}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: CLUSTER-site}
data: {index.html: "<h1>from a configmap</h1>"}
---
apiVersion: v1
kind: Pod
metadata: {name: CLUSTER-vols, labels: {tier: web}}
spec:
  securityContext: {runAsUser: 1000, runAsGroup: 1000, fsGroup: 3000}
  containers:
    - name: writer
      image: busybox
      command: [sh, -c, 'echo shared-by-writer > /scratch/note; sleep 3600']
      volumeMounts:
        - {name: scratch, mountPath: /scratch}
    - name: reader
      image: busybox
      command: [sleep, "3600"]
      envFrom:
        - secretRef: {name: CLUSTER-sec}
          prefix: S_
      volumeMounts:
        - {name: scratch, mountPath: /scratch}
        - {name: creds, mountPath: /var/run/CLUSTER/creds, readOnly: true}
        - {name: site, mountPath: /usr/share/CLUSTER-html/index.html, subPath: index.html}
        - {name: info, mountPath: /etc/CLUSTER-podinfo}
  volumes:
    - {name: scratch, emptyDir: {}}
    - {name: creds, secret: {secretName: CLUSTER-sec, defaultMode: 0400}}
    - {name: site, configMap: {name: CLUSTER-site}}
    - name: info
      downwardAPI:
        items:
          - {path: labels, fieldRef: {fieldPath: metadata.labels}}
"""


def test_secret_emptydir_subpath_and_downward_api_volumes_as_a_non_root_user(lab) -> None:
    pod, c = f"{lab.cluster}-vols", lab.cluster
    lab.netlab("up", str(lab.write("lab.yaml", VOLUMES_POD)), timeout=180)

    def run(*argv: str) -> str:
        return lab.netlab("exec", pod, "-c", "reader", "--", *argv, check=False).stdout

    wait_for(lambda: run("cat", "/scratch/note") == "shared-by-writer\n", timeout=30, what="the emptyDir note")
    assert run("id", "-u") == "1000\n"
    assert run("cat", f"/var/run/{c}/creds/password") == "hunter2"   # 0400, readable through fsGroup (0440)
    assert run("sh", "-c", "echo $S_password") == "hunter2\n"
    assert run("cat", f"/usr/share/{c}-html/index.html") == "<h1>from a configmap</h1>"
    assert run("cat", f"/etc/{c}-podinfo/labels") == 'tier="web"\n'
    assert "Read-only" in lab.netlab("exec", pod, "-c", "reader", "--", "sh", "-c",
                                     f"echo x > /etc/{c}-podinfo/labels", check=False).stderr
    for path in (f"/usr/share/{c}-html", f"/etc/{c}-podinfo"):
        assert not os.path.exists(path)   # mount points made in the container only


def test_kubectl_applies_the_ingress_nginx_shape_unchanged(lab) -> None:
    ns, c = f"{lab.cluster}-ingress", lab.cluster
    lab.netlab("up", str(lab.write("cluster.yaml", CLUSTER_DOC)), timeout=180)
    # kubectl maps every object of a file before applying: a CRD and its objects go in two applies (as upstream)
    objects, _, instance = INGRESS_SHAPE.split("---", 1)[1].rpartition("---")
    deploy = lab.write("deploy.yaml", objects)
    first = lab.kubectl("apply", "-f", str(deploy), timeout=120).stdout
    for ref in ("namespace", "serviceaccount/ingress-nginx", "role.rbac.authorization.k8s.io/ingress-nginx",
                f"clusterrolebinding.rbac.authorization.k8s.io/{c}-ingress-nginx", "configmap/ingress-nginx-controller",
                "deployment.apps/ingress-nginx-controller", "job.batch/ingress-nginx-admission-create",
                f"ingressclass.networking.k8s.io/{c}-nginx",
                f"validatingwebhookconfiguration.admissionregistration.k8s.io/{c}-ingress-nginx-admission",
                f"customresourcedefinition.apiextensions.k8s.io/gadgets.{c}.example.com"):
        assert any(line.startswith(ref) and line.endswith(" created") for line in first.splitlines()), (ref, first)
    assert f"gadget.{c}.example.com/g1 created" in lab.kubectl(
        "apply", "-f", str(lab.write("gadget.yaml", instance))).stdout
    explained = lab.kubectl("explain", "gadgets").stdout   # the CRD's schema, from the OpenAPI v3 document
    assert "KIND:" in explained and "Gadget" in explained, explained
    again = lab.kubectl("apply", "-f", str(deploy), timeout=120).stdout.splitlines()
    assert again and all(line.endswith(" unchanged") for line in again), again   # defaults make no diff
    events = json.loads(lab.kubectl("get", "events", "-n", ns, "--field-selector", "reason=NoEffect",
                                    "-o", "json").stdout)["items"]
    noted = {(e["involvedObject"]["kind"], e["involvedObject"]["name"]) for e in events}
    assert {("RoleBinding", "ingress-nginx"), ("ServiceAccount", "ingress-nginx")} <= noted, noted
    assert ("Job", "ingress-nginx-admission-create") not in noted  # Jobs run (runtime/jobside.py)
    assert all("does not act on it" in e["message"] for e in events)
    lab.kubectl("delete", "-f", str(deploy), "--wait=false", timeout=120)
    assert lab.kubectl("get", "ns", ns, check=False).returncode != 0
