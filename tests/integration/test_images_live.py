"""Issue 15 section 3: well-known images behave like themselves, answering real packets through their
Services: nginx's welcome page (and a ConfigMap's html), agnhost netexec and serve-hostname, hello-app
and http-echo. An unknown image without a command gets the echo server and a StandIn event."""

from __future__ import annotations

import json
import sys

from conftest import wait_for

MANIFEST = """
kind: Cluster
apiVersion: netlab.dev/v1alpha1
nodes:
  - role: control-plane
  - role: worker
---
apiVersion: v1
kind: ConfigMap
metadata: {name: site}
data:
  index.html: "<h1>served from a ConfigMap</h1>"
---
apiVersion: v1
kind: Pod
metadata: {name: CLUSTER-web, labels: {app: CLUSTER-web}}
spec:
  containers: [{name: nginx, image: "nginx:1.27", ports: [{containerPort: 80}]}]
---
apiVersion: v1
kind: Pod
metadata: {name: CLUSTER-site}
spec:
  containers:
    - name: nginx
      image: docker.io/library/nginx:stable-alpine
      volumeMounts: [{name: html, mountPath: /usr/share/nginx/html}]
  volumes: [{name: html, configMap: {name: site}}]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: conf}
data:
  default.conf: |
    server {
        listen 8088;
        location / { return 200 "from conf.d"; }
    }
---
apiVersion: v1
kind: Pod
metadata: {name: CLUSTER-conf}
spec:
  securityContext: {runAsUser: 101, runAsGroup: 101}
  containers:
    - name: nginx
      image: nginxinc/nginx-unprivileged:1.27
      volumeMounts: [{name: conf, mountPath: /etc/nginx/conf.d}]
  volumes: [{name: conf, configMap: {name: conf}}]
---
apiVersion: v1
kind: Pod
metadata: {name: CLUSTER-netexec, labels: {app: CLUSTER-netexec}}
spec:
  nodeName: CLUSTER-worker
  containers:
    - name: agnhost
      image: registry.k8s.io/e2e-test-images/agnhost:2.47
      args: [netexec, --http-port=8080, --udp-port=8081]
---
apiVersion: v1
kind: Pod
metadata: {name: CLUSTER-hostnames, labels: {app: CLUSTER-hostnames}}
spec:
  containers:
    - {name: agnhost, image: "registry.k8s.io/e2e-test-images/agnhost:2.47", args: [serve-hostname]}
---
apiVersion: v1
kind: Pod
metadata: {name: CLUSTER-hello, labels: {app: CLUSTER-hello}}
spec:
  containers: [{name: hello, image: "gcr.io/google-samples/hello-app:2.0"}]
---
apiVersion: v1
kind: Pod
metadata: {name: CLUSTER-frontend}
spec:
  containers: [{name: nginx, image: "gcr.io/google-samples/hello-frontend:1.0"}]
---
apiVersion: v1
kind: Pod
metadata: {name: CLUSTER-http-echo}
spec:
  containers: [{name: echo, image: "hashicorp/http-echo:1.0", args: ["-text=hi from http-echo", "-listen=:5679"]}]
---
apiVersion: v1
kind: Pod
metadata: {name: CLUSTER-client}
spec:
  nodeName: CLUSTER-control-plane
  containers: [{name: c, image: "example.test/CLUSTER/unknown:1"}]
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: CLUSTER-web}
  ports: [{port: 80}]
---
apiVersion: v1
kind: Service
metadata: {name: netexec}
spec:
  selector: {app: CLUSTER-netexec}
  ports: [{port: 80, targetPort: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: hostnames}
spec:
  selector: {app: CLUSTER-hostnames}
  ports: [{port: 80, targetPort: 9376}]
---
apiVersion: v1
kind: Service
metadata: {name: hello}
spec:
  selector: {app: CLUSTER-hello}
  ports: [{port: 80, targetPort: 8080}]
"""

UDP_ASK = """
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(3)
s.sendto(sys.argv[3].encode(), (sys.argv[1], int(sys.argv[2])))
print(s.recv(65535).decode(), end="")
"""


def test_well_known_images_answer_through_their_services(lab) -> None:
    lab.netlab("up", str(lab.write("images.yaml", MANIFEST)), timeout=180)
    c = lab.cluster
    client = f"{c}-client"

    def ip(svc: str) -> str:
        return json.loads(lab.netlab("get", "svc", svc, "-o", "json").stdout)["spec"]["clusterIP"]

    def answer(url: str, want: str) -> str:
        """The body once it contains `want` (the stand-ins take a moment to start)."""
        return wait_for(lambda: (lambda p: p.stdout if want in p.stdout else "")(lab.curl(client, url)),
                        timeout=30, interval=0.5, what=f"{want!r} from {url}")

    assert "Welcome to nginx!" in answer(f"http://{ip('web')}/", "Welcome to nginx!")
    site = lab.pod_ip(f"{c}-site")
    assert answer(f"http://{site}/", "ConfigMap") == "<h1>served from a ConfigMap</h1>"

    # a server from a ConfigMap at /etc/nginx/conf.d, nginx running as a non-root user
    assert answer(f"http://{lab.pod_ip(f'{c}-conf')}:8088/", "conf.d") == "from conf.d"

    netexec = ip("netexec")
    assert answer(f"http://{netexec}/hostname", c) == f"{c}-netexec"
    # the caller's own pod IP: no NAT between pods, also across nodes through a ClusterIP
    assert answer(f"http://{netexec}/clientip", ":").split(":")[0] == lab.pod_ip(client)
    assert answer(f"http://{netexec}/echo?msg=ping", "ping") == "ping"
    udp = lab.in_ns(client, sys.executable, "-c", UDP_ASK, lab.pod_ip(f"{c}-netexec"), "8081", "hostname")
    assert udp.stdout == f"{c}-netexec", udp

    assert answer(f"http://{ip('hostnames')}/", c) == f"{c}-hostnames"
    assert answer(f"http://{ip('hello')}/", "Hello") == f"Hello, world!\nVersion: 2.0\nHostname: {c}-hello\n"
    # hello-frontend's nginx proxies to the `hello` Service by its DNS name
    assert answer(f"http://{lab.pod_ip(f'{c}-frontend')}/", "Hello") == \
        f"Hello, world!\nVersion: 2.0\nHostname: {c}-hello\n"
    echo = lab.pod_ip(f"{c}-http-echo")
    assert answer(f"http://{echo}:5679/any/path", "http-echo") == "hi from http-echo\n"

    # the unknown image: the echo server on port 80, and an event naming the image it stands in for
    assert f"pod: {client}" in answer(f"http://{lab.pod_ip(client)}/", "pod:")
    events = lab.kubectl("get", "events").stdout
    assert "StandIn" in events and f"example.test/{c}/unknown:1" in events, events


LIVENESS = """
kind: Cluster
apiVersion: netlab.dev/v1alpha1
---
apiVersion: v1
kind: Pod
metadata: {name: CLUSTER-liveness-http}
spec:
  containers:
    - name: liveness
      image: registry.k8s.io/e2e-test-images/agnhost:2.40
      args: [liveness]
      livenessProbe:
        httpGet: {path: /healthz, port: 8080}
        initialDelaySeconds: 3
        periodSeconds: 3
"""


def test_agnhost_liveness_fails_its_probe_after_10_seconds(lab) -> None:
    """The probes page's example: /healthz answers 200 for 10 s, then 500; the kubelet restarts it."""
    lab.netlab("up", str(lab.write("liveness.yaml", LIVENESS)), timeout=180)
    pod = f"{lab.cluster}-liveness-http"
    code = lab.in_ns(pod, "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "3",
                     "http://127.0.0.1:8080/healthz")
    assert code.stdout == "200", code

    def restarts() -> int:
        status = json.loads(lab.kubectl("get", "pod", pod, "-o", "json").stdout)["status"]
        return status["containerStatuses"][0]["restartCount"]

    wait_for(lambda: restarts() >= 1, timeout=45, interval=1, what="a restart after the failed probes")
    assert "Liveness probe failed: HTTP probe failed with statuscode: 500" in lab.kubectl("get", "events").stdout
