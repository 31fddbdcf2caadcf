"""Issue 18: a Gateway of class netlab gets nginx proxy pods behind a LoadBalancer Service; HTTPRoutes
route real HTTP requests from the host and from pods, and the statuses say what the controller did."""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
import time

from conftest import echo_answer, wait_for

NS = "gw-CLUSTER"
MANIFESTS = """
apiVersion: v1
kind: Namespace
metadata: {name: gw-CLUSTER}
---
apiVersion: v1
kind: Namespace
metadata: {name: gwb-CLUSTER}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: CLUSTER-a, namespace: gw-CLUSTER}
spec:
  replicas: 1
  selector: {matchLabels: {app: a}}
  template:
    metadata: {labels: {app: a}}
    spec: {containers: [{name: echo, image: echo, ports: [{containerPort: 3000}]}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: CLUSTER-b, namespace: gw-CLUSTER}
spec:
  replicas: 1
  selector: {matchLabels: {app: b}}
  template:
    metadata: {labels: {app: b}}
    spec: {containers: [{name: echo, image: echo, ports: [{containerPort: 3000}]}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: CLUSTER-other, namespace: gwb-CLUSTER}
spec:
  replicas: 1
  selector: {matchLabels: {app: other}}
  template:
    metadata: {labels: {app: other}}
    spec: {containers: [{name: echo, image: echo, ports: [{containerPort: 3000}]}]}
---
apiVersion: v1
kind: Service
metadata: {name: a, namespace: gw-CLUSTER}
spec: {selector: {app: a}, ports: [{port: 80, targetPort: 3000}]}
---
apiVersion: v1
kind: Service
metadata: {name: b, namespace: gw-CLUSTER}
spec: {selector: {app: b}, ports: [{port: 80, targetPort: 3000}]}
---
apiVersion: v1
kind: Service
metadata: {name: other, namespace: gwb-CLUSTER}
spec: {selector: {app: other}, ports: [{port: 8080, targetPort: 3000}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: web, namespace: gw-CLUSTER}
spec:
  gatewayClassName: netlab
  listeners:
  - {name: http, port: 80, protocol: HTTP}
  - name: shop
    port: 80
    protocol: HTTP
    hostname: "*.shop.example"
    allowedRoutes: {namespaces: {from: Same}}
  - name: https
    port: 443
    protocol: HTTPS
    hostname: secure.example
    tls: {certificateRefs: [{name: web-cert}]}
  - name: broken
    port: 8443
    protocol: HTTPS
    tls: {certificateRefs: [{name: no-such-secret}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: secure, namespace: gw-CLUSTER}
spec:
  parentRefs: [{name: web, sectionName: https}]
  rules: [{backendRefs: [{name: a, port: 80}]}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: main, namespace: gw-CLUSTER}
spec:
  parentRefs: [{name: web, sectionName: http}]
  hostnames: [app.example]
  rules:
  - matches: [{path: {type: PathPrefix, value: /}}]
    backendRefs: [{name: a, port: 80}]
  - matches: [{path: {type: PathPrefix, value: /}, headers: [{name: X-Canary, value: "yes"}]}]
    backendRefs: [{name: b, port: 80}]
  - matches: [{path: {type: Exact, value: /split}}]
    backendRefs: [{name: a, port: 80, weight: 1}, {name: b, port: 80, weight: 3}]
  - matches: [{path: {type: PathPrefix, value: /old}}]
    filters: [{type: RequestRedirect, requestRedirect: {hostname: new.example, statusCode: 301}}]
  - matches: [{path: {type: PathPrefix, value: /api}}]
    filters:
    - type: URLRewrite
      urlRewrite: {path: {type: ReplacePrefixMatch, replacePrefixMatch: /v2}}
    - type: RequestHeaderModifier
      requestHeaderModifier: {set: [{name: X-Gateway, value: netlab}], remove: [X-Secret]}
    - type: ResponseHeaderModifier
      responseHeaderModifier: {set: [{name: X-Served-By, value: gateway}], remove: [X-Pod-Name]}
    backendRefs: [{name: a, port: 80}]
  - matches: [{path: {type: PathPrefix, value: /other}}]
    backendRefs: [{name: other, namespace: gwb-CLUSTER, port: 8080}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: shop, namespace: gw-CLUSTER}
spec:
  parentRefs: [{name: web}]
  rules:
  - matches: [{path: {type: PathPrefix, value: /}, method: POST, queryParams: [{name: cart, value: "1"}]}]
    backendRefs: [{name: b, port: 80}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: lost, namespace: gw-CLUSTER}
spec:
  parentRefs: [{name: web, sectionName: nope}]
  rules: [{backendRefs: [{name: missing, port: 80}]}]
"""

GRANT = """
apiVersion: gateway.networking.k8s.io/v1beta1
kind: ReferenceGrant
metadata: {name: from-gw, namespace: gwb-CLUSTER}
spec:
  from: [{group: gateway.networking.k8s.io, kind: HTTPRoute, namespace: gw-CLUSTER}]
  to: [{group: "", kind: Service}]
"""


def _certificate(host: str) -> tuple[str, str]:
    """A self-signed certificate and key (PEM) for host."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, host)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), critical=False)
            .sign(key, hashes.SHA256()))
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return cert.public_bytes(serialization.Encoding.PEM).decode(), key_pem.decode()


def _secret(ns: str, cert: str, key: str) -> str:
    return json.dumps({"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
                       "metadata": {"name": "web-cert", "namespace": ns},
                       "stringData": {"tls.crt": cert, "tls.key": key}})


def _get(lab, kind: str, name: str, ns: str) -> dict:
    return json.loads(lab.netlab("get", kind, name, "-n", ns, "-o", "json").stdout)


def _conditions(status: dict) -> dict[str, tuple[str, str]]:
    return {c["type"]: (c["status"], c["reason"]) for c in status.get("conditions") or []}


def _curl(lab, *args: str, timeout: float = 3) -> subprocess.CompletedProcess:
    return lab.host("curl", "-sS", "--max-time", str(timeout), *args, timeout=timeout + 5)


def _programmed_address(lab, ns: str) -> str | None:
    status = _get(lab, "gateway", "web", ns).get("status") or {}
    if _conditions(status).get("Programmed", ("",))[0] != "True" or not status.get("addresses"):
        return None
    return status["addresses"][0]["value"]


def test_gateway_routes_http_from_host_and_pods(lab):
    ns, other_ns = NS.replace("CLUSTER", lab.cluster), f"gwb-{lab.cluster}"
    cert, key = _certificate("secure.example")
    (lab.workdir / "ca.pem").write_text(cert)
    lab.netlab("up", str(lab.write("gw.yaml", MANIFESTS)), str(lab.write("secret.json", _secret(ns, cert, key))))
    gc = _get(lab, "gatewayclass", "netlab", "default")
    assert gc["spec"]["controllerName"] == "netlab.dev/gateway-controller"
    assert _conditions(gc["status"])["Accepted"] == ("True", "Accepted")
    addr = wait_for(lambda: _programmed_address(lab, ns), timeout=60, what="Gateway Programmed with an address")
    gw = _get(lab, "gateway", "web", ns)
    resources = lab.kubectl("api-resources", "--api-group", "gateway.networking.k8s.io", "--no-headers").stdout
    rows = {line.split()[0]: line.split() for line in resources.splitlines()}
    assert rows["gateways"][1:] == ["gtw", "gateway.networking.k8s.io/v1", "true", "Gateway"]
    assert rows["referencegrants"][2] == "gateway.networking.k8s.io/v1beta1"
    bad = lab.write("bad.yaml", """
    apiVersion: gateway.networking.k8s.io/v1
    kind: HTTPRoute
    metadata: {name: bad, namespace: gw-CLUSTER}
    spec:
      parentRefs: [{name: web}]
      rules: [{matches: [{path: {type: Exact, value: "no-slash"}}], backendRefs: [{name: a}]}]
    """)
    refused = lab.kubectl("apply", "-f", str(bad), check=False)
    assert refused.returncode != 0
    assert "spec.rules[0].matches[0].path" in refused.stderr and "start with '/'" in refused.stderr
    assert "spec.rules[0].backendRefs[0]" in refused.stderr and "Must have port" in refused.stderr
    table = lab.kubectl("get", "gateways", "-n", ns).stdout.split("\n")
    assert table[0].split() == ["NAME", "CLASS", "ADDRESS", "PROGRAMMED", "AGE"]
    assert table[1].split()[:4] == ["web", "netlab", addr, "True"]
    assert _conditions(gw["status"])["Accepted"] == ("True", "Accepted")
    counts = {li["name"]: li["attachedRoutes"] for li in gw["status"]["listeners"]}
    assert counts == {"http": 2, "shop": 1, "https": 2, "broken": 1}, \
        "main names sectionName http, secure https; shop (no sectionName, no hostnames) takes every listener"
    broken = next(li for li in gw["status"]["listeners"] if li["name"] == "broken")
    assert _conditions(broken)["ResolvedRefs"] == ("False", "InvalidCertificateRef")
    assert _conditions(broken)["Programmed"][0] == "False"

    def get(path: str, *headers: str, host: str = "app.example") -> subprocess.CompletedProcess:
        return _curl(lab, "-H", f"Host: {host}", *(a for h in headers for a in ("-H", h)), f"http://{addr}{path}")

    first = wait_for(lambda: get("/hello").stdout, timeout=20, what="a first answer through the Gateway")
    assert echo_answer(first)["pod"].startswith(f"{lab.cluster}-a-")
    assert echo_answer(get("/hello", "X-Canary: yes").stdout)["pod"].startswith(f"{lab.cluster}-b-"), \
        "the rule with a header match wins over the one without"
    missing = _curl(lab, "-o", "/dev/null", "-w", "%{http_code}", "-H", "Host: elsewhere.example", f"http://{addr}/")
    assert missing.stdout == "404", "no route takes that host"

    # netlab trace: host -> the Gateway's LoadBalancer address -> listener -> route rule -> backend, then a probe
    traced = lab.netlab("trace", "host", "http://app.example/hello", "-H", "X-Canary: yes").stdout
    assert f"resolves to Gateway {ns}/web at {addr}" in traced and "listener http (HTTP port 80" in traced
    assert f"HTTPRoute {ns}/main rule 1 match 0" in traced and "header X-Canary Exact 'yes'" in traced
    assert f"{ns}/b:80 weight 1 (100%)" in traced and "The probe matches" in traced
    assert f"answered from pod {lab.cluster}-b-" in traced
    split = lab.netlab("trace", "host", "http://app.example/split").stdout
    assert "weight 1 (25%)" in split and "weight 3 (75%)" in split and "The probe matches" in split
    nothing = lab.netlab("trace", "host", "http://app.example/hello", "--no-probe").stdout
    assert f"HTTPRoute {ns}/main rule 0 match 0" in nothing and f"{ns}/a:80" in nothing
    drawn = lab.netlab("graph", "--format", "dot").stdout
    assert f'"gtw:{ns}/web"' in drawn and f'"gtwl:{ns}/web/shop"' in drawn and f'"route:{ns}/main"' in drawn
    assert f'"gtwl:{ns}/web/http" -> "route:{ns}/main"' in drawn
    described = lab.netlab("describe", "gateway", "web", "-n", ns).stdout
    assert "Attached Routes:  2" in described and "InvalidCertificateRef" in described, described
    assert described.count("Type:                  Programmed") == 5, "the Gateway's and each listener's Programmed"

    pods = [echo_answer(get("/split").stdout)["pod"] for _ in range(60)]
    to_b = sum(p.startswith(f"{lab.cluster}-b-") for p in pods)
    assert 30 <= to_b <= 58, f"weights 1:3 send about 45 of 60 to b, got {to_b}"

    redirect = _curl(lab, "-o", "/dev/null", "-w", "%{http_code} %{redirect_url}", "-H", "Host: app.example",
                     f"http://{addr}/old/page?x=1")
    assert redirect.stdout == "301 http://new.example/old/page?x=1"

    rewritten = json.loads(get("/api/users?format=json", "X-Secret: s3cret").stdout)
    assert rewritten["request"].startswith("GET /v2/users?format=json ")
    assert rewritten["headers"]["x-gateway"] == "netlab" and "x-secret" not in rewritten["headers"]
    assert rewritten["headers"]["host"] == "app.example"
    response = _curl(lab, "-D", "-", "-o", "/dev/null", "-H", "Host: app.example",
                     f"http://{addr}/api/x").stdout.lower()
    assert "x-served-by: gateway" in response and "x-pod-name:" not in response and "x-pod-ip" in response
    plain = _curl(lab, "-D", "-", "-o", "/dev/null", "-H", "Host: app.example", f"http://{addr}/").stdout.lower()
    assert "x-pod-name:" in plain and "x-served-by" not in plain, "only the filtered rule's answers change"

    shop = _curl(lab, "-X", "POST", "-H", "Host: a.shop.example", f"http://{addr}/cart?cart=1")
    assert echo_answer(shop.stdout)["pod"].startswith(f"{lab.cluster}-b-")
    wrong_method = _curl(lab, "-o", "/dev/null", "-w", "%{http_code}", "-H", "Host: a.shop.example",
                         f"http://{addr}/cart?cart=1")
    assert wrong_method.stdout == "404"

    main = _get(lab, "httproute", "main", ns)["status"]["parents"][0]
    assert _conditions(main) == {"Accepted": ("True", "Accepted"), "ResolvedRefs": ("False", "RefNotPermitted")}
    assert all(c["observedGeneration"] == 1 for c in main["conditions"])
    described = lab.netlab("describe", "httproute", "main", "-n", ns).stdout
    assert "Reason:" in described and "RefNotPermitted" in described and "netlab.dev/gateway-controller" in described
    denied = _curl(lab, "-o", "/dev/null", "-w", "%{http_code}", "-H", "Host: app.example", f"http://{addr}/other")
    assert denied.stdout == "500", "a backendRef to another namespace without a ReferenceGrant answers 500"
    lost = _get(lab, "httproute", "lost", ns)["status"]["parents"][0]
    assert _conditions(lost)["Accepted"] == ("False", "NoMatchingParent")
    assert _conditions(lost)["ResolvedRefs"] == ("False", "BackendNotFound")

    lab.netlab("apply", "-f", str(lab.write("grant.yaml", GRANT)))
    wait_for(lambda: _conditions(_get(lab, "httproute", "main", ns)["status"]["parents"][0])["ResolvedRefs"][0]
             == "True", timeout=20, what="ResolvedRefs True after the ReferenceGrant")
    other = wait_for(lambda: get("/other").stdout, timeout=10, what="the granted backend answering")
    assert echo_answer(other)["pod"].startswith(f"{lab.cluster}-other-")

    tls = _curl(lab, "--resolve", f"secure.example:443:{addr}", "--cacert", str(lab.workdir / "ca.pem"),
                "https://secure.example/secure?format=json")
    assert tls.returncode == 0, tls.stderr
    secure = json.loads(tls.stdout)
    assert secure["pod"].startswith(f"{lab.cluster}-a-") and secure["headers"]["x-forwarded-proto"] == "https"

    # a new route serves within seconds of being applied (nginx reloads gracefully)
    late = lab.write("late.yaml", """
    apiVersion: gateway.networking.k8s.io/v1
    kind: HTTPRoute
    metadata: {name: late, namespace: gw-CLUSTER}
    spec:
      parentRefs: [{name: web, sectionName: http}]
      hostnames: [late.example]
      rules: [{backendRefs: [{name: b, port: 80}]}]
    """)
    started = time.monotonic()
    lab.netlab("apply", "-f", str(late))
    applied = time.monotonic()
    wait_for(lambda: echo_answer(get("/", host="late.example").stdout).get("pod", "").startswith(f"{lab.cluster}-b-"),
             timeout=10, interval=0.05, what="the new route answering")
    print(f"netlab apply took {applied - started:.2f}s, then the first answer {time.monotonic() - applied:.2f}s")

    # from a pod, through the Gateway's address
    pod = next(line.split()[0] for line in lab.netlab("get", "pods", "-n", other_ns).stdout.splitlines()
               if line.startswith(f"{lab.cluster}-other-"))
    from_pod = lab.in_ns(f"{pod}.{other_ns}", "curl", "-sS", "--max-time", "3", "-H", "Host: app.example",
                         f"http://{addr}/from-pod")
    answer = echo_answer(from_pod.stdout)
    assert answer["pod"].startswith(f"{lab.cluster}-a-") and answer["request"].startswith("GET /from-pod ")


MIRROR_MANIFESTS = """
apiVersion: v1
kind: Namespace
metadata: {name: gwm-CLUSTER}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: CLUSTER-main, namespace: gwm-CLUSTER}
spec:
  replicas: 1
  selector: {matchLabels: {app: main}}
  template:
    metadata: {labels: {app: main}}
    spec: {containers: [{name: echo, image: echo, ports: [{containerPort: 3000}]}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: CLUSTER-shadow, namespace: gwm-CLUSTER}
spec:
  replicas: 1
  selector: {matchLabels: {app: shadow}}
  template:
    metadata: {labels: {app: shadow}}
    spec: {containers: [{name: echo, image: echo, ports: [{containerPort: 3000}]}]}
---
apiVersion: v1
kind: Service
metadata: {name: main, namespace: gwm-CLUSTER}
spec: {selector: {app: main}, ports: [{port: 80, targetPort: 3000}]}
---
apiVersion: v1
kind: Service
metadata: {name: shadow, namespace: gwm-CLUSTER}
spec: {selector: {app: shadow}, ports: [{port: 80, targetPort: 3000}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: web, namespace: gwm-CLUSTER}
spec:
  gatewayClassName: netlab
  listeners: [{name: http, port: 80, protocol: HTTP}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r, namespace: gwm-CLUSTER}
spec:
  parentRefs: [{name: web}]
  rules:
  - matches: [{path: {type: PathPrefix, value: /mirrored}}]
    filters: [{type: RequestMirror, requestMirror: {backendRef: {name: shadow, port: 80}}}]
    backendRefs: [{name: main, port: 80}]
  - matches: [{path: {type: PathPrefix, value: /delay}}]
    timeouts: {request: 1s}
    backendRefs: [{name: main, port: 80}]
  - backendRefs: [{name: main, port: 80}]
"""


def _logs(lab, ns: str, prefix: str) -> str:
    pod = next(line.split()[0] for line in lab.netlab("get", "pods", "-n", ns).stdout.splitlines()
               if line.startswith(prefix))
    return lab.netlab("logs", pod, "-n", ns).stdout


def test_gateway_request_mirror_and_timeouts(lab):
    ns = f"gwm-{lab.cluster}"
    lab.netlab("up", str(lab.write("mirror.yaml", MIRROR_MANIFESTS)))
    addr = wait_for(lambda: _programmed_address(lab, ns), timeout=60, what="Gateway Programmed with an address")

    def get(path: str, timeout: float = 3) -> subprocess.CompletedProcess:
        return _curl(lab, "-w", "\n%{http_code}", f"http://{addr}{path}", timeout=timeout)

    wait_for(lambda: get("/").stdout.endswith("200"), timeout=20, what="a first answer through the Gateway")
    token = secrets.token_hex(4)
    answer = get(f"/mirrored/x?t={token}").stdout
    assert echo_answer(answer)["pod"].startswith(f"{lab.cluster}-main-"), "answered by the backend"
    wait_for(lambda: f"GET /mirrored/x?t={token}" in _logs(lab, ns, f"{lab.cluster}-shadow-"), timeout=10,
             what="the mirrored copy in the shadow backend's log")
    plain = secrets.token_hex(4)
    assert get(f"/other?t={plain}").stdout.endswith("200")
    assert f"t={plain}" not in _logs(lab, ns, f"{lab.cluster}-shadow-"), "only the mirroring rule copies requests"

    assert get("/delay/0.2").stdout.endswith("200"), "within the request timeout"
    started = time.monotonic()
    slow = get("/delay/3", timeout=6)
    took = time.monotonic() - started
    assert slow.stdout.endswith("504"), slow.stdout
    assert 0.9 <= took < 2.5, f"the 1s request timeout answered 504 after {took:.2f}s"


GRPC_MANIFESTS = """
apiVersion: v1
kind: Namespace
metadata: {name: gwg-CLUSTER}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: CLUSTER-ga, namespace: gwg-CLUSTER}
spec:
  replicas: 1
  selector: {matchLabels: {app: ga}}
  template:
    metadata: {labels: {app: ga}}
    spec: {containers: [{name: grpc, image: netlab/grpc-echo, ports: [{containerPort: 50051}]}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: CLUSTER-gb, namespace: gwg-CLUSTER}
spec:
  replicas: 1
  selector: {matchLabels: {app: gb}}
  template:
    metadata: {labels: {app: gb}}
    spec: {containers: [{name: grpc, image: netlab/grpc-echo, ports: [{containerPort: 50051}]}]}
---
apiVersion: v1
kind: Service
metadata: {name: ga, namespace: gwg-CLUSTER}
spec: {selector: {app: ga}, ports: [{port: 9000, targetPort: 50051}]}
---
apiVersion: v1
kind: Service
metadata: {name: gb, namespace: gwg-CLUSTER}
spec: {selector: {app: gb}, ports: [{port: 9000, targetPort: 50051}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: web, namespace: gwg-CLUSTER}
spec:
  gatewayClassName: netlab
  listeners: [{name: grpc, port: 80, protocol: HTTP}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: GRPCRoute
metadata: {name: greeter, namespace: gwg-CLUSTER}
spec:
  parentRefs: [{name: web}]
  rules:
  - matches: [{method: {service: demo.Greeter, method: Hello}}]
    backendRefs: [{name: ga, port: 9000}]
  - matches: [{method: {service: demo.Greeter}}]
    backendRefs: [{name: gb, port: 9000}]
  - matches: [{method: {service: demo.Greeter, method: Hello}, headers: [{name: x-tier, value: gold}]}]
    backendRefs: [{name: gb, port: 9000}]
"""

GRPC_CLIENT = """
import json, sys
import grpc
channel = grpc.insecure_channel(sys.argv[1])
out = {}
for call in sys.argv[2:]:
    method, _, tier = call.partition("@")
    try:
        answer = channel.unary_unary(method)(b"", timeout=3, metadata=[("x-tier", tier)] if tier else None)
        out[call] = dict(line.split(": ", 1) for line in answer.decode().splitlines() if ": " in line)
    except grpc.RpcError as e:
        out[call] = {"error": e.code().name}
print(json.dumps(out))
"""


def test_grpcroute_routes_grpc_calls_by_service_method_and_header(lab):
    ns = f"gwg-{lab.cluster}"
    lab.netlab("up", str(lab.write("grpc.yaml", GRPC_MANIFESTS)))
    addr = wait_for(lambda: _programmed_address(lab, ns), timeout=60, what="Gateway Programmed with an address")
    calls = ["/demo.Greeter/Hello", "/demo.Greeter/Bye", "/demo.Greeter/Hello@gold", "/other.Svc/Hello"]

    def answers() -> dict | None:
        proc = lab.host(sys.executable, "-c", GRPC_CLIENT, f"{addr}:80", *calls, timeout=30)
        out = json.loads(proc.stdout) if proc.returncode == 0 else {}
        return out if out.get(calls[0], {}).get("pod") else None

    got = wait_for(answers, timeout=30, interval=0.5, what="a first gRPC answer through the Gateway")
    assert got[calls[0]]["pod"].startswith(f"{lab.cluster}-ga-") and got[calls[0]]["method"] == calls[0]
    assert got[calls[1]]["pod"].startswith(f"{lab.cluster}-gb-"), "the service alone matches the other methods"
    assert got[calls[2]]["pod"].startswith(f"{lab.cluster}-gb-"), "the header match is more specific"
    assert got[calls[3]] == {"error": "UNIMPLEMENTED"}, "no rule for that service: nginx's 404 is UNIMPLEMENTED"
    route = _get(lab, "grpcroute", "greeter", ns)["status"]["parents"][0]
    assert _conditions(route) == {"Accepted": ("True", "Accepted"), "ResolvedRefs": ("True", "ResolvedRefs")}
    listener = _get(lab, "gateway", "web", ns)["status"]["listeners"][0]
    assert listener["attachedRoutes"] == 1
    assert {"group": "gateway.networking.k8s.io", "kind": "GRPCRoute"} in listener["supportedKinds"]
