"""Issue 4: cluster DNS answered by the kube-dns pods at 10.96.0.10, queried from real pods with dig."""

from __future__ import annotations

import json
import subprocess
import sys
import time

from conftest import wait_for

LAB = """
kind: Cluster
apiVersion: netlab.dev/v1alpha1
dns: {upstreams: ["172.18.0.1:5353"], replicas: 1}
---
apiVersion: v1
kind: Namespace
metadata: {name: CLUSTER-other}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: CLUSTER-app}
spec:
  replicas: 2
  selector: {matchLabels: {app: app}}
  template:
    metadata: {labels: {app: app}}
    spec:
      containers: [{name: echo, image: echo, ports: [{name: http, containerPort: 3000}]}]
---
apiVersion: v1
kind: Pod
metadata: {name: CLUSTER-client}
spec:
  containers: [{name: echo, image: echo}]
---
apiVersion: v1
kind: Pod
metadata: {name: CLUSTER-db0, labels: {app: db}}
spec:
  hostname: db-0
  subdomain: db
  containers: [{name: echo, image: echo, ports: [{containerPort: 5432}]}]
---
apiVersion: v1
kind: Service
metadata: {name: app-service}
spec:
  selector: {app: app}
  ports: [{name: http, port: 80, targetPort: http}]
---
apiVersion: v1
kind: Service
metadata: {name: db}
spec:
  clusterIP: None
  selector: {app: db}
  ports: [{name: pg, port: 5432}]
---
apiVersion: v1
kind: Service
metadata: {name: docs}
spec:
  type: ExternalName
  externalName: kubernetes.io
---
apiVersion: v1
kind: Service
metadata: {name: far, namespace: CLUSTER-other}
spec:
  selector: {app: app}
  ports: [{port: 80, targetPort: 3000}]
"""

UPSTREAM = """
import socket, sys
from dnslib import DNSRecord, RR, A
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("172.18.0.1", 5353))
s.settimeout(60)
while True:
    data, peer = s.recvfrom(4096)
    q = DNSRecord.parse(data)
    reply = q.reply()
    reply.add_answer(RR(str(q.q.qname), rdata=A("192.0.2.7"), ttl=60))
    s.sendto(reply.pack(), peer)
"""


def dig(lab, *args: str) -> subprocess.CompletedProcess:
    return lab.in_ns(f"{lab.cluster}-client", "dig", "+time=2", "+tries=1", *args)


def short(lab, *args: str) -> list[str]:
    return sorted(dig(lab, "+short", *args).stdout.split())


def status(lab, *args: str) -> str:
    out = dig(lab, *args).stdout
    assert "status: " in out, out
    return out.split("status: ", 1)[1].split(",", 1)[0]


def test_cluster_dns_records_and_short_names(lab):
    lab.netlab("up", str(lab.write("lab.yaml", LAB)))
    c = lab.cluster
    pods = lab.netlab("get", "pods", "-n", "kube-system").stdout
    assert "coredns-" in pods and "Running" in pods
    assert "10.96.0.10" in lab.netlab("get", "svc", "kube-dns", "-n", "kube-system").stdout
    resolv = lab.netlab("exec", f"{c}-client", "--", "cat", "/etc/resolv.conf").stdout
    assert "nameserver 10.96.0.10" in resolv and "ndots:5" in resolv

    cip = json.loads(lab.netlab("get", "svc", "app-service", "-o", "json").stdout)["spec"]["clusterIP"]
    for name in ("app-service", "app-service.default", "app-service.default.svc.cluster.local"):
        answer = lab.curl(f"{c}-client", f"http://{name}/")
        assert answer.returncode == 0 and "pod: " in answer.stdout, (name, answer.stderr)
    # <svc>.<ns> resolves through the search path (far has no endpoints: its pods are in default).
    far_ip = json.loads(lab.netlab("get", "svc", "far", "-n", f"{c}-other", "-o", "json").stdout)["spec"]["clusterIP"]
    assert lab.in_ns(f"{c}-client", "getent", "hosts", f"far.{c}-other").stdout.split()[0] == far_ip

    assert short(lab, "app-service.default.svc.cluster.local") == [cip]
    db_ip = lab.pod_ip(f"{c}-db0")
    assert short(lab, "db.default.svc.cluster.local") == [db_ip]
    assert short(lab, "db-0.db.default.svc.cluster.local") == [db_ip]
    srv = short(lab, "SRV", "_http._tcp.app-service.default.svc.cluster.local")
    assert srv[-1] == "app-service.default.svc.cluster.local." and "80" in srv
    assert "db-0.db.default.svc.cluster.local." in short(lab, "SRV", "_pg._tcp.db.default.svc.cluster.local")
    assert short(lab, "-x", cip) == ["app-service.default.svc.cluster.local."]
    assert short(lab, "docs.default.svc.cluster.local")[0] == "kubernetes.io."
    client_ip = lab.pod_ip(f"{c}-client")
    assert short(lab, f"{client_ip.replace('.', '-')}.default.pod.cluster.local") == [client_ip]
    assert short(lab, "TXT", "dns-version.cluster.local") == ['"1.1.0"']

    assert status(lab, "nope.default.svc.cluster.local") == "NXDOMAIN"
    nodata = dig(lab, "AAAA", "app-service.default.svc.cluster.local").stdout
    assert "status: NOERROR" in nodata and "ANSWER: 0" in nodata and "SOA" in nodata
    assert "SOA" in dig(lab, "nope.default.svc.cluster.local").stdout
    assert cip in dig(lab, "+tcp", "+short", "app-service.default.svc.cluster.local").stdout

    # `netlab exec` resolves exactly as `ip netns exec` does.
    assert lab.netlab("exec", f"{c}-client", "--", "dig", "+short",
                      "app-service.default.svc.cluster.local").stdout.split() == [cip]


def test_forwarding_servfail_and_live_updates(lab):
    lab.netlab("up", str(lab.write("lab.yaml", LAB)))
    c = lab.cluster
    # No upstream listening yet: SERVFAIL within 2 s, never a hang.
    start = time.monotonic()
    assert status(lab, "example.org") == "SERVFAIL"
    assert time.monotonic() - start < 2.5
    upstream = subprocess.Popen(["nsenter", f"--net=/run/netns/{lab.host_ns}", sys.executable, "-c", UPSTREAM])
    try:
        wait_for(lambda: short(lab, "example.org") == ["192.0.2.7"], timeout=5, what="forwarded answer")
    finally:
        upstream.kill()
        upstream.wait(timeout=5)

    new = lab.write("new.yaml", """
    apiVersion: v1
    kind: Service
    metadata: {name: fresh}
    spec:
      selector: {app: app}
      ports: [{port: 80, targetPort: 3000}]
    """)
    lab.netlab("apply", "-f", str(new))
    start = time.monotonic()
    wait_for(lambda: short(lab, "fresh.default.svc.cluster.local") != [], timeout=3, interval=0.05,
             what="the new service's name")
    assert time.monotonic() - start < 1.5
    lab.netlab("delete", "svc", "fresh")
    wait_for(lambda: status(lab, "fresh.default.svc.cluster.local") == "NXDOMAIN", timeout=3, interval=0.05,
             what="the deleted service's NXDOMAIN")
    lab.netlab("delete", "pod", f"{c}-db0")
    wait_for(lambda: status(lab, "db.default.svc.cluster.local") == "NXDOMAIN", timeout=3, interval=0.05,
             what="headless service without endpoints")


RELAY_UPSTREAM = UPSTREAM.replace('("172.18.0.1", 5353)', '("127.0.0.1", 53)')


def test_external_names_reach_the_host_resolvers_through_the_relay(lab, tmp_path):
    """Without dns.upstreams the host's own resolvers apply, loopback ones included: a relay on the host's
    underlay address forwards for the cluster DNS."""
    resolv = tmp_path / "resolv.conf"
    resolv.write_text("nameserver 127.0.0.1\n")
    upstream = subprocess.Popen(["nsenter", f"--net=/run/netns/{lab.host_ns}", sys.executable, "-c", RELAY_UPSTREAM])
    try:
        manifest = LAB.replace('dns: {upstreams: ["172.18.0.1:5353"], replicas: 1}', "dns: {replicas: 1}")
        lab.netlab("up", str(lab.write("lab.yaml", manifest)), env={"NETLAB_HOST_RESOLV_CONF": str(resolv)})
        wait_for(lambda: short(lab, "example.org") == ["192.0.2.7"], timeout=5, what="an answer via the relay")
    finally:
        upstream.kill()
        upstream.wait(timeout=5)
