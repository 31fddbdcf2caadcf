"""Issue 15 acceptance: a manifest of the shape of ingress-nginx's 'cloud' deploy.yaml (written for this test, not
upstream's file) applies unchanged with real kubectl: the admission Jobs (kube-webhook-certgen's stand-in, talking to
the API with its pod's service account token) make the webhook Secret and patch the webhook's caBundle, so the
controller pod's `webhook-cert` volume mounts; the controller (ingress-nginx's image, played by netlab's nginx in
the pod's own network namespace) becomes Running and Ready through its /healthz probes on 10254, its LoadBalancer
Service (externalTrafficPolicy Local) gets an IP, and an Ingress of its class answers over HTTP and HTTPS there."""

from __future__ import annotations

import json
import subprocess
import tempfile

from conftest import echo_answer, wait_for

from netlab.api import pki

NS = "ingress-nginx-CLUSTER"
HOST = "shop.CLUSTER.example"
PLAIN_HOST = "plain.CLUSTER.example"
CLUSTER_FILE = """
kind: Cluster
apiVersion: netlab.dev/v1alpha1
nodes:
  - role: control-plane
  - role: worker
  - role: worker
"""
LABELS = " {app.kubernetes.io/name: ingress-nginx, app.kubernetes.io/instance: ingress-nginx, " \
         "app.kubernetes.io/part-of: ingress-nginx}"
CONTROLLER_LABELS = LABELS[:-1] + ", app.kubernetes.io/component: controller}"
DEPLOY = f"""
apiVersion: v1
kind: Namespace
metadata:
  name: {NS}
  labels:{LABELS}
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: ingress-nginx
  namespace: {NS}
  labels:{LABELS}
automountServiceAccountToken: true
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: ingress-nginx-admission
  namespace: {NS}
  labels:{LABELS}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: ingress-nginx
  namespace: {NS}
rules:
  - apiGroups: [""]
    resources: [namespaces]
    verbs: [get]
  - apiGroups: [""]
    resources: [configmaps, pods, secrets, endpoints]
    verbs: [get, list, watch]
  - apiGroups: [coordination.k8s.io]
    resources: [leases]
    resourceNames: [ingress-nginx-leader]
    verbs: [get, update]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: ingress-nginx-admission
  namespace: {NS}
rules:
  - apiGroups: [""]
    resources: [secrets]
    verbs: [get, create]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: ingress-nginx
rules:
  - apiGroups: [networking.k8s.io]
    resources: [ingresses, ingressclasses]
    verbs: [get, list, watch]
  - apiGroups: [networking.k8s.io]
    resources: [ingresses/status]
    verbs: [update]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: ingress-nginx-admission
rules:
  - apiGroups: [admissionregistration.k8s.io]
    resources: [validatingwebhookconfigurations]
    verbs: [get, update]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: ingress-nginx
  namespace: {NS}
roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: Role, name: ingress-nginx}}
subjects: [{{kind: ServiceAccount, name: ingress-nginx, namespace: {NS}}}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: ingress-nginx-admission
  namespace: {NS}
roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: Role, name: ingress-nginx-admission}}
subjects: [{{kind: ServiceAccount, name: ingress-nginx-admission, namespace: {NS}}}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: ingress-nginx
roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: ingress-nginx}}
subjects: [{{kind: ServiceAccount, name: ingress-nginx, namespace: {NS}}}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: ingress-nginx-admission
roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: ingress-nginx-admission}}
subjects: [{{kind: ServiceAccount, name: ingress-nginx-admission, namespace: {NS}}}]
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: ingress-nginx-controller
  namespace: {NS}
data:
  allow-snippet-annotations: "false"
---
apiVersion: v1
kind: Service
metadata:
  name: ingress-nginx-controller
  namespace: {NS}
  labels:{CONTROLLER_LABELS}
spec:
  type: LoadBalancer
  externalTrafficPolicy: Local
  ipFamilyPolicy: SingleStack
  ipFamilies: [IPv4]
  ports:
    - {{name: http, port: 80, protocol: TCP, targetPort: http, appProtocol: http}}
    - {{name: https, port: 443, protocol: TCP, targetPort: https, appProtocol: https}}
  selector:
    app.kubernetes.io/name: ingress-nginx
    app.kubernetes.io/instance: ingress-nginx
    app.kubernetes.io/component: controller
---
apiVersion: v1
kind: Service
metadata:
  name: ingress-nginx-controller-admission
  namespace: {NS}
spec:
  type: ClusterIP
  ports:
    - {{name: https-webhook, port: 443, targetPort: webhook, appProtocol: https}}
  selector:
    app.kubernetes.io/name: ingress-nginx
    app.kubernetes.io/instance: ingress-nginx
    app.kubernetes.io/component: controller
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: ingress-nginx-controller
  namespace: {NS}
spec:
  minReadySeconds: 0
  revisionHistoryLimit: 10
  selector:
    matchLabels:
      app.kubernetes.io/name: ingress-nginx
      app.kubernetes.io/instance: ingress-nginx
      app.kubernetes.io/component: controller
  template:
    metadata:
      labels:{CONTROLLER_LABELS}
    spec:
      containers:
        - name: controller
          image: registry.k8s.io/ingress-nginx/controller:v1.9.0@sha256:{"0" * 64}
          imagePullPolicy: IfNotPresent
          args:
            - /nginx-ingress-controller
            - --publish-service=$(POD_NAMESPACE)/ingress-nginx-controller
            - --election-id=ingress-nginx-leader
            - --controller-class=k8s.io/ingress-nginx
            - --ingress-class=nginx
            - --configmap=$(POD_NAMESPACE)/ingress-nginx-controller
            - --validating-webhook=:8443
            - --validating-webhook-certificate=/usr/local/certificates/cert
            - --validating-webhook-key=/usr/local/certificates/key
          env:
            - name: POD_NAME
              valueFrom: {{fieldRef: {{fieldPath: metadata.name}}}}
            - name: POD_NAMESPACE
              valueFrom: {{fieldRef: {{fieldPath: metadata.namespace}}}}
            - {{name: LD_PRELOAD, value: /usr/local/lib/libmimalloc.so}}
          lifecycle:
            preStop:
              exec: {{command: [/wait-shutdown]}}
          livenessProbe:
            httpGet: {{path: /healthz, port: 10254, scheme: HTTP}}
            initialDelaySeconds: 2
            periodSeconds: 2
            timeoutSeconds: 1
            successThreshold: 1
            failureThreshold: 5
          readinessProbe:
            httpGet: {{path: /healthz, port: 10254, scheme: HTTP}}
            initialDelaySeconds: 2
            periodSeconds: 2
            timeoutSeconds: 1
            successThreshold: 1
            failureThreshold: 3
          ports:
            - {{name: http, containerPort: 80, protocol: TCP}}
            - {{name: https, containerPort: 443, protocol: TCP}}
            - {{name: webhook, containerPort: 8443, protocol: TCP}}
          resources:
            requests: {{cpu: 100m, memory: 90Mi}}
          securityContext:
            allowPrivilegeEscalation: true
            capabilities: {{add: [NET_BIND_SERVICE], drop: [ALL]}}
            runAsNonRoot: true
            runAsUser: 101
          volumeMounts:
            - {{name: webhook-cert, mountPath: /usr/local/certificates/, readOnly: true}}
      dnsPolicy: ClusterFirst
      nodeSelector:
        kubernetes.io/os: linux
      serviceAccountName: ingress-nginx
      terminationGracePeriodSeconds: 300
      volumes:
        - name: webhook-cert
          secret: {{secretName: ingress-nginx-admission}}
---
apiVersion: batch/v1
kind: Job
metadata:
  name: ingress-nginx-admission-create
  namespace: {NS}
spec:
  template:
    metadata:
      name: ingress-nginx-admission-create
      labels:
        app.kubernetes.io/component: admission-webhook
    spec:
      containers:
        - name: create
          image: registry.k8s.io/ingress-nginx/kube-webhook-certgen:v20230407@sha256:{"1" * 64}
          imagePullPolicy: IfNotPresent
          args:
            - create
            - --host=ingress-nginx-controller-admission,ingress-nginx-controller-admission.$(POD_NAMESPACE).svc
            - --namespace=$(POD_NAMESPACE)
            - --secret-name=ingress-nginx-admission
          env:
            - name: POD_NAMESPACE
              valueFrom: {{fieldRef: {{fieldPath: metadata.namespace}}}}
          securityContext:
            allowPrivilegeEscalation: false
      nodeSelector: {{kubernetes.io/os: linux}}
      restartPolicy: OnFailure
      securityContext:
        fsGroup: 2000
        runAsNonRoot: true
        runAsUser: 2000
      serviceAccountName: ingress-nginx-admission
---
apiVersion: batch/v1
kind: Job
metadata:
  name: ingress-nginx-admission-patch
  namespace: {NS}
spec:
  template:
    metadata:
      name: ingress-nginx-admission-patch
      labels:
        app.kubernetes.io/component: admission-webhook
    spec:
      containers:
        - name: patch
          image: registry.k8s.io/ingress-nginx/kube-webhook-certgen:v20230407@sha256:{"1" * 64}
          imagePullPolicy: IfNotPresent
          args:
            - patch
            - --webhook-name=ingress-nginx-admission
            - --namespace=$(POD_NAMESPACE)
            - --patch-mutating=false
            - --secret-name=ingress-nginx-admission
            - --patch-failure-policy=Fail
          env:
            - name: POD_NAMESPACE
              valueFrom: {{fieldRef: {{fieldPath: metadata.namespace}}}}
          securityContext:
            allowPrivilegeEscalation: false
      nodeSelector: {{kubernetes.io/os: linux}}
      restartPolicy: OnFailure
      securityContext:
        fsGroup: 2000
        runAsNonRoot: true
        runAsUser: 2000
      serviceAccountName: ingress-nginx-admission
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: ingress-nginx-admission
  namespace: {NS}
spec:
  podSelector:
    matchLabels:
      app.kubernetes.io/component: admission-webhook
  policyTypes: [Ingress, Egress]
  egress:
    - {{}}
---
apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata:
  name: nginx
  labels:{LABELS}
spec:
  controller: k8s.io/ingress-nginx
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata:
  name: ingress-nginx-admission
  labels:{LABELS}
webhooks:
  - name: validate.nginx.ingress.kubernetes.io
    admissionReviewVersions: [v1]
    clientConfig:
      service:
        name: ingress-nginx-controller-admission
        namespace: {NS}
        path: /networking/v1/ingresses
    failurePolicy: Fail
    matchPolicy: Equivalent
    rules:
      - apiGroups: [networking.k8s.io]
        apiVersions: [v1]
        operations: [CREATE, UPDATE]
        resources: [ingresses]
    sideEffects: None
"""
APP = f"""
apiVersion: apps/v1
kind: Deployment
metadata: {{name: shop, namespace: default}}
spec:
  replicas: 2
  selector: {{matchLabels: {{app: shop}}}}
  template:
    metadata: {{labels: {{app: shop}}}}
    spec:
      containers: [{{name: app, image: echo, ports: [{{containerPort: 3000}}]}}]
---
apiVersion: v1
kind: Service
metadata: {{name: shop}}
spec:
  selector: {{app: shop}}
  ports: [{{port: 80, targetPort: 3000}}]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {{name: shop}}
spec:
  ingressClassName: nginx
  tls: [{{hosts: [{HOST}], secretName: shop-tls}}]
  rules:
    - host: {HOST}
      http:
        paths: [{{path: /, pathType: Prefix, backend: {{service: {{name: shop, port: {{number: 80}}}}}}}}]
    - host: {PLAIN_HOST}
      http:
        paths: [{{path: /, pathType: Prefix, backend: {{service: {{name: shop, port: {{number: 80}}}}}}}}]
"""


def _certificate(host: str) -> tuple[bytes, bytes, bytes]:
    """(CA, serving certificate for host, its key), PEM."""
    ca, ca_key = pki.make_ca("test-ca")
    cert, key = pki.issue(ca, ca_key, host, server=True, dns=[host])
    return pki.cert_pem(ca), pki.cert_pem(cert), pki.key_pem(key)


def _get(lab, *args: str) -> dict:
    return json.loads(lab.kubectl("get", *args, "-o", "json").stdout)


def _controller_ready(lab, ns: str) -> dict | None:
    pods = _get(lab, "pods", "-n", ns, "-l", "app.kubernetes.io/component=controller")["items"]
    for pod in pods:
        statuses = pod["status"].get("containerStatuses") or []
        if pod["status"].get("phase") == "Running" and statuses and all(s.get("ready") for s in statuses):
            return pod
    return None


def test_ingress_nginx_deploy_yaml_applies_and_serves(lab):
    c, ns, host = lab.cluster, NS.replace("CLUSTER", lab.cluster), HOST.replace("CLUSTER", lab.cluster)
    lab.netlab("up", str(lab.write("cluster.yaml", CLUSTER_FILE)), timeout=180)
    applied = lab.kubectl("apply", "-f", str(lab.write("deploy.yaml", DEPLOY)), timeout=120).stdout
    for made in (f"namespace/{ns} created", "validatingwebhookconfiguration.admissionregistration.k8s.io/"
                 "ingress-nginx-admission created", "job.batch/ingress-nginx-admission-patch created",
                 "deployment.apps/ingress-nginx-controller created", "ingressclass.networking.k8s.io/nginx created"):
        assert made in applied, applied
    # the admission Jobs end Complete: the webhook's TLS Secret exists and the webhook carries its CA
    for job in ("ingress-nginx-admission-create", "ingress-nginx-admission-patch"):
        lab.kubectl("wait", "--for=condition=complete", f"job/{job}", "-n", ns, "--timeout=120s", timeout=150)
    secret = _get(lab, "secret", "ingress-nginx-admission", "-n", ns)
    assert sorted(secret["data"]) == ["ca", "cert", "key"]
    hook = _get(lab, "validatingwebhookconfiguration", "ingress-nginx-admission")["webhooks"][0]
    assert hook["clientConfig"]["caBundle"] == secret["data"]["ca"]
    # the controller leaves ContainerCreating and becomes Ready through its /healthz probes
    pod = wait_for(lambda: _controller_ready(lab, ns), timeout=120, interval=1, what="the controller Ready")
    listed = lab.kubectl("get", "pods", "-n", ns).stdout
    assert any(line.startswith(pod["metadata"]["name"]) and "1/1" in line and "Running" in line
               for line in listed.splitlines()), listed
    healthz = lab.curl(None, f"http://{pod['status']['podIP']}:10254/healthz")
    assert healthz.returncode == 0 and healthz.stdout.strip() == "ok", healthz
    # the LoadBalancer IP, shown by `get svc`
    lb = wait_for(lambda: (_get(lab, "svc", "ingress-nginx-controller", "-n", ns)["status"]["loadBalancer"]
                           .get("ingress") or [{}])[0].get("ip"), timeout=30, what="the LoadBalancer IP")
    assert lb in lab.kubectl("get", "svc", "-n", ns).stdout
    # the built-in add-on stays out of the way: no second controller, no second IngressClass
    assert "ingress-nginx" not in [n["metadata"]["name"] for n in _get(lab, "namespaces")["items"]]
    assert [i["metadata"]["name"] for i in _get(lab, "ingressclasses")["items"]] == ["nginx"]
    # an Ingress of its class answers through the LoadBalancer IP, over HTTP and HTTPS
    ca_pem, crt, key = _certificate(host)
    lab.kubectl("apply", "-f", str(lab.write("app.yaml", APP)))
    with tempfile.NamedTemporaryFile(suffix=".crt") as crt_file, tempfile.NamedTemporaryFile(suffix=".key") as key_file:
        crt_file.write(crt), key_file.write(key)
        crt_file.flush(), key_file.flush()
        lab.kubectl("create", "secret", "tls", "shop-tls", "--cert", crt_file.name, "--key", key_file.name)
        ca = lab.workdir / "ca.crt"
        ca.write_bytes(ca_pem)

    def answer(scheme: str, name: str, port: int) -> dict | None:
        proc = lab.host("curl", "-sS", "--max-time", "3", "--resolve", f"{name}:{port}:{lb}", "--cacert", str(ca),
                        f"{scheme}://{name}/where", timeout=10)
        got = echo_answer(proc.stdout) if proc.returncode == 0 else {}
        return got if got.get("pod", "").startswith("shop-") else None

    https = wait_for(lambda: answer("https", host, 443), timeout=60, interval=0.5, what="HTTPS through the controller")
    assert https["namespace"] == "default"
    plain_host = PLAIN_HOST.replace("CLUSTER", c)
    http = wait_for(lambda: answer("http", plain_host, 80), timeout=30, interval=0.5,
                    what="HTTP through the controller")
    assert http["namespace"] == "default"
    redirect = lab.host("curl", "-sS", "-o", "/dev/null", "-w", "%{http_code} %{redirect_url}", "--max-time", "3",
                        "--resolve", f"{host}:80:{lb}", f"http://{host}/where", timeout=10)
    assert redirect.stdout == f"308 https://{host}/where", redirect  # a TLS host: HTTP redirects, as upstream
    # --publish-service: the Ingress status carries the LoadBalancer IP
    wait_for(lambda: (_get(lab, "ingress", "shop")["status"]["loadBalancer"].get("ingress") or [{}])[0].get("ip") == lb,
             timeout=30, what="the Ingress status with the LoadBalancer IP")


FLAGGED = """
apiVersion: v1
kind: Namespace
metadata: {name: edge-CLUSTER}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: edge-controller, namespace: edge-CLUSTER}
spec:
  selector: {matchLabels: {app: edge}}
  template:
    metadata: {labels: {app: edge}}
    spec:
      containers:
        - name: controller
          image: registry.k8s.io/ingress-nginx/controller:v1.12.1
          args: [/nginx-ingress-controller, --controller-class=example.com/edge, --ingress-class=edge,
                 --watch-ingress-without-class=true, --publish-service=$(POD_NAMESPACE)/edge,
                 "--default-ssl-certificate=$(POD_NAMESPACE)/wildcard"]
          env: [{name: POD_NAMESPACE, valueFrom: {fieldRef: {fieldPath: metadata.namespace}}}]
          ports: [{name: http, containerPort: 80}, {name: https, containerPort: 443}]
          readinessProbe: {httpGet: {path: /healthz, port: 10254}, periodSeconds: 1}
---
apiVersion: v1
kind: Service
metadata: {name: edge, namespace: edge-CLUSTER}
spec:
  type: LoadBalancer
  selector: {app: edge}
  ports: [{name: http, port: 80, targetPort: http}, {name: https, port: 443, targetPort: https}]
---
apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata: {name: edge}
spec: {controller: example.com/edge}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: shop}
spec:
  selector: {matchLabels: {app: shop}}
  template:
    metadata: {labels: {app: shop}}
    spec:
      containers: [{name: app, image: echo, ports: [{containerPort: 3000}]}]
---
apiVersion: v1
kind: Service
metadata: {name: shop}
spec:
  selector: {app: shop}
  ports: [{port: 80, targetPort: 3000}]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: classless}
spec:
  rules: [{host: a.edge.example, http: {paths: [{path: /, pathType: Prefix,
                                                  backend: {service: {name: shop, port: {number: 80}}}}]}}]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: mine}
spec:
  ingressClassName: edge
  tls: [{hosts: [b.edge.example]}]
  rules: [{host: b.edge.example, http: {paths: [{path: /, pathType: Prefix,
                                                  backend: {service: {name: shop, port: {number: 80}}}}]}}]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: other-class}
spec:
  ingressClassName: nginx
  rules: [{host: c.edge.example, http: {paths: [{path: /, pathType: Prefix,
                                                  backend: {service: {name: shop, port: {number: 80}}}}]}}]
"""


def test_controller_flags_pick_classes_classless_default_certificate_and_status(lab):
    """A controller in a namespace of its own, with flags of its own: its IngressClass (by --controller-class) and
    class-less Ingresses (--watch-ingress-without-class) are served, another class is not; TLS without a secret
    presents the --default-ssl-certificate; --publish-service fills the served Ingresses' status."""
    ns = f"edge-{lab.cluster}"
    lab.netlab("up", str(lab.write("cluster.yaml", CLUSTER_FILE)), timeout=180)
    ca_pem, crt, key = _certificate("*.edge.example")
    (lab.workdir / "ca.crt").write_bytes(ca_pem)
    (lab.workdir / "wild.crt").write_bytes(crt)
    (lab.workdir / "wild.key").write_bytes(key)
    lab.kubectl("apply", "-f", str(lab.write("edge.yaml", FLAGGED)), timeout=120)
    lab.kubectl("create", "secret", "tls", "wildcard", "-n", ns, "--cert", str(lab.workdir / "wild.crt"),
                "--key", str(lab.workdir / "wild.key"))
    wait_for(lambda: _controller_ready_by_label(lab, ns), timeout=90, interval=1, what="the edge controller Ready")
    lb = wait_for(lambda: (_get(lab, "svc", "edge", "-n", ns)["status"]["loadBalancer"].get("ingress") or [{}])[0]
                  .get("ip"), timeout=30, what="the LoadBalancer IP")

    def curl(url: str, name: str, port: int) -> subprocess.CompletedProcess:
        return lab.host("curl", "-sS", "--max-time", "3", "-o", "/dev/null", "-w", "%{http_code}", "--resolve",
                        f"{name}:{port}:{lb}", "--cacert", str(lab.workdir / "ca.crt"), url, timeout=10)

    wait_for(lambda: curl("http://a.edge.example/", "a.edge.example", 80).stdout == "200", timeout=30,
             what="the class-less Ingress served")
    # the TLS host without a secretName: HTTPS with the default certificate, which the wildcard CA verifies
    wait_for(lambda: curl("https://b.edge.example/", "b.edge.example", 443).stdout == "200", timeout=30,
             what="HTTPS with the --default-ssl-certificate")
    assert curl("http://c.edge.example/", "c.edge.example", 80).stdout == "404"  # class nginx: not this one's
    assert not any(n["metadata"]["name"] == "ingress-nginx" for n in _get(lab, "namespaces")["items"])

    def status(name: str) -> list:
        return _get(lab, "ingress", name)["status"]["loadBalancer"].get("ingress") or []

    wait_for(lambda: status("mine") == [{"ip": lb}] and status("classless") == [{"ip": lb}], timeout=30,
             what="the served Ingresses' status")
    assert status("other-class") == []


def _only_one_controller_pod(lab) -> list[dict] | None:
    pods = _get(lab, "pods", "-n", "ingress-nginx", "-l", "app.kubernetes.io/component=controller")["items"]
    return pods if len(pods) == 1 else None


def _controller_ready_by_label(lab, ns: str) -> bool:
    pods = _get(lab, "pods", "-n", ns, "-l", "app=edge")["items"]
    return any(all(s.get("ready") for s in p["status"].get("containerStatuses") or [{}]) for p in pods)


def test_deploy_yaml_in_ingress_nginx_takes_over_from_the_addon(lab):
    """The seed's order: an Ingress first (the add-on serves it), then deploy.yaml into namespace ingress-nginx
    itself. The add-on's objects give way to the user's of the same names and the Ingress keeps answering."""
    lab.netlab("up", str(lab.write("cluster.yaml", CLUSTER_FILE)), timeout=180)
    plain = PLAIN_HOST.replace("CLUSTER", lab.cluster)
    app = APP.split("---\napiVersion: networking.k8s.io/v1\nkind: Ingress")[0] + f"""---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {{name: shop}}
spec:
  ingressClassName: nginx
  rules: [{{host: {plain}, http: {{paths: [{{path: /, pathType: Prefix,
                                              backend: {{service: {{name: shop, port: {{number: 80}}}}}}}}]}}}}]
"""
    lab.kubectl("apply", "-f", str(lab.write("app.yaml", app)))

    def answer() -> str | None:
        svc = _get(lab, "svc", "ingress-nginx-controller", "-n", "ingress-nginx")
        lb = (svc["status"]["loadBalancer"].get("ingress") or [{}])[0].get("ip")
        proc = lab.host("curl", "-sS", "--max-time", "3", "--resolve", f"{plain}:80:{lb}", f"http://{plain}/",
                        timeout=10) if lb else None
        got = echo_answer(proc.stdout) if proc is not None and proc.returncode == 0 else {}
        return got.get("pod") if got.get("pod", "").startswith("shop-") else None

    wait_for(answer, timeout=60, interval=0.5, what="the add-on serving the Ingress")
    addon = _get(lab, "deploy", "ingress-nginx-controller", "-n", "ingress-nginx")
    assert addon["metadata"]["labels"].get("addonmanager.kubernetes.io/mode") == "Reconcile"
    lab.kubectl("apply", "-f", str(lab.write("deploy.yaml", DEPLOY.replace("ingress-nginx-CLUSTER", "ingress-nginx"))),
                timeout=120)
    mine = _get(lab, "deploy", "ingress-nginx-controller", "-n", "ingress-nginx")
    assert "addonmanager.kubernetes.io/mode" not in (mine["metadata"].get("labels") or {})
    assert mine["spec"]["template"]["spec"]["containers"][0]["image"].startswith("registry.k8s.io/ingress-nginx/")
    wait_for(lambda: _controller_ready(lab, "ingress-nginx") and answer(), timeout=120, interval=1,
             what="deploy.yaml's controller Ready and serving the Ingress")
    # The add-on's pod is Terminating for up to its grace period, and is listed until it is gone, as upstream.
    pods = wait_for(lambda: _only_one_controller_pod(lab), timeout=60, interval=1,
                    what="the add-on's controller pod gone once it terminated")
    assert pods[0]["spec"]["containers"][0]["image"].startswith("registry.k8s.io/ingress-nginx/c")
