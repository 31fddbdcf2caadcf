"""Issue 5: the ingress-nginx add-on routes real HTTP and HTTPS by host and path, reachable from the host."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

from conftest import echo_answer as _answer
from conftest import wait_for

REPO = Path(__file__).resolve().parents[2]
HOST = "learn.nextgenplayground.org"

BACKENDS = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: CLUSTER-app}
spec:
  replicas: 2
  selector: {matchLabels: {app: nextgen-app}}
  template:
    metadata: {labels: {app: nextgen-app}}
    spec:
      containers: [{name: app, image: echo, ports: [{containerPort: 3000}]}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: CLUSTER-api}
spec:
  replicas: 1
  selector: {matchLabels: {app: api}}
  template:
    metadata: {labels: {app: api}}
    spec:
      containers: [{name: api, image: echo, ports: [{name: http, containerPort: 3000}]}]
---
apiVersion: v1
kind: Service
metadata: {name: app-service}
spec:
  selector: {app: nextgen-app}
  ports: [{port: 80, targetPort: 3000}]
---
apiVersion: v1
kind: Service
metadata: {name: api-service}
spec:
  selector: {app: api}
  ports: [{name: http, port: 80, targetPort: http}]
"""



def _lb_ip(lab) -> str:
    svc = json.loads(lab.netlab("get", "svc", "ingress-nginx-controller", "-n", "ingress-nginx", "-o", "json").stdout)
    return svc["status"]["loadBalancer"]["ingress"][0]["ip"]


def _curl(lab, *args: str, timeout: float = 3) -> subprocess.CompletedProcess:
    return lab.host("curl", "-sS", "--max-time", str(timeout), *args, timeout=timeout + 5)


def test_seed_ingress_routes_http_and_https_from_the_host(lab):
    lab.netlab("up", str(lab.write("backends.yaml", BACKENDS)), str(REPO / "manifests" / "30-ingress.yaml"))
    assert "ingress-nginx-controller-" in lab.netlab("get", "pods", "-n", "ingress-nginx").stdout
    lb = _lb_ip(lab)
    table = lab.netlab("get", "ingress").stdout
    assert "app-ingress" in table and "nginx" in table and HOST in table and lb in table and "80, 443" in table

    redirect = _curl(lab, "-o", "/dev/null", "-w", "%{http_code} %{redirect_url}", "-H", f"Host: {HOST}",
                     f"http://{lb}/api")
    assert redirect.stdout == f"308 https://{HOST}/api", "TLS hosts redirect HTTP to HTTPS by default"

    tls = ["--resolve", f"{HOST}:443:{lb}", "--cacert", str(REPO / "manifests" / "ca.crt")]
    root = _answer(_curl(lab, *tls, f"https://{HOST}/").stdout)
    assert root["pod"].startswith(f"{lab.cluster}-app-")
    api = _answer(_curl(lab, *tls, f"https://{HOST}/api/users").stdout)
    assert api["pod"].startswith(f"{lab.cluster}-api-")
    assert api["request"] == "GET / HTTP/1.1", "rewrite-target / sends every /api request to /"

    assert _curl(lab, "-o", "/dev/null", "-w", "%{http_code}", "-H", "Host: nobody.example",
                 f"http://{lb}/").stdout == "404"
    describe = lab.netlab("describe", "ingress", "app-ingress").stdout
    assert "api-service:80 (10.244." in describe and "Notes:" in describe

    # From a pod, through the controller's ClusterIP.
    cip = json.loads(lab.netlab("get", "svc", "ingress-nginx-controller", "-n", "ingress-nginx", "-o",
                                "json").stdout)["spec"]["clusterIP"]
    pod = json.loads(lab.netlab("get", "pods", "-l", "app=api", "-o", "json").stdout)["items"][0]["metadata"]["name"]
    inside = lab.in_ns(pod, "curl", "-sS", "--max-time", "3", "--resolve", f"{HOST}:443:{cip}", "--cacert",
                       str(REPO / "manifests" / "ca.crt"), f"https://{HOST}/")
    assert _answer(inside.stdout)["pod"].startswith(f"{lab.cluster}-app-")

    # netlab trace follows host -> LoadBalancer -> nginx -> backend, and knows about the HTTPS redirect.
    traced = lab.netlab("trace", "host", f"https://{HOST}/api").stdout
    assert "nginx matches" in traced and "api-service:80" in traced and "The probe matches" in traced
    redirected = lab.netlab("trace", "host", f"http://{HOST}/api").stdout
    assert "308 Permanent Redirect" in redirected and "The probe matches" in redirected


def test_live_changes_missing_backends_default_certificate_and_graceful_reload(lab):
    lab.netlab("up", str(lab.write("backends.yaml", BACKENDS)))
    lab.netlab("addons", "enable", "ingress-nginx")
    wait_for(lambda: "1/1" in lab.netlab("get", "pods", "-n", "ingress-nginx").stdout, timeout=10,
             what="the controller enabled as an add-on")
    lb = _lb_ip(lab)
    ingress = """
    apiVersion: networking.k8s.io/v1
    kind: Ingress
    metadata: {name: shop}
    spec:
      ingressClassName: nginx
      tls: [{hosts: [shop.example], secretName: does-not-exist}]
      rules:
        - host: shop.example
          http:
            paths:
              - {path: /cart, pathType: Exact, backend: {service: {name: cart, port: {number: 80}}}}
              - {path: /, pathType: Prefix, backend: {service: {name: app-service, port: {number: 80}}}}
    """
    lab.netlab("apply", "-f", str(lab.write("shop.yaml", ingress)))
    https = ["-k", "--resolve", f"shop.example:443:{lb}"]

    def code(path: str) -> str:
        return _curl(lab, *https, "-o", "/dev/null", "-w", "%{http_code}", f"https://shop.example{path}").stdout

    # A backend service that does not exist yet answers 503.
    wait_for(lambda: code("/") == "200" and code("/cart") == "503", timeout=20, what="the new Ingress")
    cert = lab.host("sh", "-c", f"echo | openssl s_client -connect {lb}:443 -servername shop.example 2>/dev/null"
                    " | openssl x509 -noout -subject").stdout
    assert "Kubernetes Ingress Controller Fake Certificate" in cert

    slow = subprocess.Popen(["nsenter", f"--net=/run/netns/{lab.host_ns}", "curl", "-sS", "-k", "--max-time", "10",
                             "-o", "/dev/null", "-w", "%{http_code}", "--resolve", f"shop.example:443:{lb}",
                             "https://shop.example/delay/2"], stdout=subprocess.PIPE, text=True)
    try:
        time.sleep(0.5)
        cart = """
        apiVersion: v1
        kind: Service
        metadata: {name: cart}
        spec:
          selector: {app: api}
          ports: [{port: 80, targetPort: 3000}]
        """
        # How fast a change takes effect is measured by bench/ingress.py; here it must take effect, in bounded time.
        lab.netlab("apply", "-f", str(lab.write("cart.yaml", cart)))
        wait_for(lambda: code("/cart") == "200", timeout=20, interval=0.05, what="the backend to appear")
        out, _ = slow.communicate(timeout=15)
        assert out == "200", "a request in flight survives the reload"
    finally:
        slow.kill()
        slow.wait(timeout=5)


def test_bad_ingress_input_is_rejected(lab):
    lab.netlab("up", str(lab.write("backends.yaml", BACKENDS)))
    bad = lab.write("bad.yaml", """
    apiVersion: networking.k8s.io/v1
    kind: Ingress
    metadata: {name: broken}
    spec:
      rules:
        - http:
            paths:
              - {path: api, pathType: Prefix, backend: {service: {name: api-service, port: {number: 80}}}}
    ---
    apiVersion: networking.k8s.io/v1
    kind: Ingress
    metadata: {name: broken2}
    spec:
      rules:
        - http:
            paths:
              - {path: /x, pathType: Sometimes, backend: {service: {name: api-service, port: {number: 80}}}}
    """)
    result = lab.netlab("apply", "-f", str(bad), check=False)
    assert result.returncode != 0 and "bad.yaml" in result.stderr
    assert "spec.rules[0].http.paths[0].path" in result.stderr and "pathType" in result.stderr
    assert "ingress-nginx" not in lab.netlab("get", "ns").stdout
