"""Issue 16 at the cluster's edge: a dual-stack LoadBalancer's IPv6 address is announced with NDP (and moves
with an unsolicited Neighbour Advertisement), externalIPs and loadBalancerSourceRanges work per family, and
the ingress controller answers on its IPv6 LoadBalancer address."""

from __future__ import annotations

import ipaddress
import json
import re
from pathlib import Path

from conftest import echo_answer, wait_for
from test_ingress import BACKENDS, HOST
from test_udp_conntrack import LAB as UDP_LAB
from test_udp_conntrack import assert_flow_follows

REPO = Path(__file__).resolve().parents[2]
HOST6 = "fc00:f853:ccd:e793::1"   # the host's address on the underlay (kind's IPv6 prefix)
POOL6 = (ipaddress.ip_address("fc00:f853:ccd:e793::255:200"), ipaddress.ip_address("fc00:f853:ccd:e793::255:250"))

DUAL = """
kind: Cluster
apiVersion: kind.x-k8s.io/v1alpha4
networking: {ipFamily: dual}
nodes: [{role: control-plane}, {role: worker}, {role: worker}]
"""

EDGE = """
apiVersion: v1
kind: Pod
metadata: {name: CLUSTER-lb1, labels: {app: CLUSTER-lb}}
spec:
  nodeName: CLUSTER-worker
  containers: [{name: echo, image: echo, ports: [{containerPort: 3000}]}]
---
apiVersion: v1
kind: Pod
metadata: {name: CLUSTER-client}
spec:
  nodeName: CLUSTER-control-plane
  containers: [{name: echo, image: echo, ports: [{containerPort: 3000}]}]
---
apiVersion: v1
kind: Service
metadata: {name: lb6}
spec:
  type: LoadBalancer
  ipFamilyPolicy: PreferDualStack
  externalTrafficPolicy: Local
  selector: {app: CLUSTER-lb}
  ports: [{port: 80, targetPort: 3000}]
---
apiVersion: v1
kind: Service
metadata: {name: fw6}
spec:
  type: LoadBalancer
  ipFamilyPolicy: RequireDualStack
  selector: {app: CLUSTER-lb}
  loadBalancerSourceRanges: ["fd00:dead::/64", "172.18.0.0/16"]
  externalIPs: ["fd99:7::7", "192.0.2.77"]
  ports: [{port: 80, targetPort: 3000}]
"""

MOVED = """
apiVersion: v1
kind: Pod
metadata: {name: CLUSTER-lb2, labels: {app: CLUSTER-lb}}
spec:
  nodeName: CLUSTER-worker2
  containers: [{name: echo, image: echo, ports: [{containerPort: 3000}]}]
"""


def _lb_ips(lab, name: str, ns: str = "default") -> dict[int, str]:
    """The Service's status.loadBalancer.ingress addresses by IP version, once both are there."""
    def both():
        svc = json.loads(lab.netlab("get", "svc", name, "-n", ns, "-o", "json").stdout)
        ips = {ipaddress.ip_address(i["ip"]).version: i["ip"] for i in svc["status"]["loadBalancer"].get("ingress", [])}
        return ips if len(ips) == 2 else None
    return wait_for(both, timeout=30, what=f"both LoadBalancer addresses of {name}")


def _curl(lab, netns: str | None, url: str, *extra: str, timeout: float = 5):
    argv = ["curl", *extra, "-sS", "--max-time", str(timeout), url]
    return lab.host(*argv, timeout=timeout + 10) if netns is None else lab.in_ns(netns, *argv, timeout=timeout + 10)


def _mac(lab, node: str) -> str:
    out = lab.in_ns(node, "ip", "-o", "link", "show", "dev", "eth0").stdout
    return re.search(r"link/ether (\S+)", out).group(1)


def _host_neighbour(lab, ip: str) -> str:
    return lab.host("ip", "-6", "neigh", "show", ip).stdout


def test_ipv6_loadbalancer_ndp_external_ips_source_ranges_and_failover(lab):
    lab.netlab("up", str(lab.write("dual.yaml", DUAL)), str(lab.write("edge.yaml", EDGE)))
    c = lab.cluster
    lb = _lb_ips(lab, "lb6")
    assert POOL6[0] <= ipaddress.ip_address(lb[6]) <= POOL6[1]
    assert ipaddress.ip_address(lb[4]) in ipaddress.ip_network("172.18.255.192/26")

    # From the host over IPv6: the worker with the endpoint announces the /128 (Local policy), answers the
    # host's Neighbour Solicitation, and the client address is kept
    answer = echo_answer(_curl(lab, None, f"http://[{lb[6]}]/", "-6").stdout)
    assert answer["pod"] == f"{c}-lb1" and answer["client"].rpartition(":")[0] == f"[{HOST6}]"
    assert f"{lb[6]}/128" in lab.in_ns(f"{c}-worker", "ip", "-6", "addr", "show", "dev", "eth0").stdout
    assert f"lladdr {_mac(lab, f'{c}-worker')}" in _host_neighbour(lab, lb[6])
    assert echo_answer(_curl(lab, None, f"http://{lb[4]}/", "-4").stdout)["pod"] == f"{c}-lb1"

    # externalTrafficPolicy Local from a pod on a node without an endpoint (control-plane): short-circuited
    # to every endpoint in both families, as kube-proxy does, so it is not dropped
    for ip in (f"[{lb[6]}]", lb[4]):
        proc = _curl(lab, f"{c}-client", f"http://{ip}/")
        assert proc.returncode == 0 and echo_answer(proc.stdout)["pod"] == f"{c}-lb1", (ip, proc.stderr)

    # externalIPs of both families, from a pod on another node
    for ip in ("[fd99:7::7]", "192.0.2.77"):
        proc = _curl(lab, f"{c}-client", f"http://{ip}/")
        assert proc.returncode == 0, (ip, proc.stderr)
        assert echo_answer(proc.stdout)["pod"] == f"{c}-lb1"

    # loadBalancerSourceRanges per family: the IPv4 range admits the host, the IPv6 one does not (dropped)
    fw = _lb_ips(lab, "fw6")
    assert echo_answer(_curl(lab, None, f"http://{fw[4]}/", "-4").stdout)["pod"] == f"{c}-lb1"
    dropped = _curl(lab, None, f"http://[{fw[6]}]/", "-6", timeout=3)
    assert dropped.returncode == 28, dropped.stderr   # a timeout: the firewall chain drops

    # No endpoint: refused at once over IPv6 too (ICMPv6 port unreachable: curl exit 7)
    lab.netlab("delete", "pod", f"{c}-lb1")
    wait_for(lambda: _curl(lab, None, f"http://[{lb[6]}]/", "-6", timeout=3).returncode == 7, timeout=30,
             what="the IPv6 LoadBalancer IP without endpoints to refuse")

    # The endpoint moves to worker2: it takes over the /128 and its unsolicited Neighbour Advertisement
    # updates the host's entry before any new packet (without it the host would keep worker's MAC for up to
    # its reachable time, 15-45 s)
    lab.netlab("apply", "-f", str(lab.write("moved.yaml", MOVED)))
    worker2 = _mac(lab, f"{c}-worker2")
    wait_for(lambda: f"lladdr {worker2}" in _host_neighbour(lab, lb[6]), timeout=60,
             what="the host's neighbour entry to name worker2's MAC")
    assert f"{lb[6]}/128" not in lab.in_ns(f"{c}-worker", "ip", "-6", "addr", "show", "dev", "eth0").stdout
    answer = echo_answer(_curl(lab, None, f"http://[{lb[6]}]/", "-6").stdout)
    assert answer["pod"] == f"{c}-lb2" and answer["client"].rpartition(":")[0] == f"[{HOST6}]"


def test_ingress_answers_on_its_ipv6_loadbalancer_address(lab):
    lab.netlab("up", str(lab.write("dual.yaml", DUAL)), str(lab.write("backends.yaml", BACKENDS)),
               str(REPO / "manifests" / "30-ingress.yaml"))
    lb = _lb_ips(lab, "ingress-nginx-controller", "ingress-nginx")
    svc = json.loads(lab.netlab("get", "svc", "ingress-nginx-controller", "-n", "ingress-nginx", "-o",
                                "json").stdout)["spec"]
    assert svc["ipFamilies"] == ["IPv4", "IPv6"] and len(svc["clusterIPs"]) == 2

    redirect = _curl(lab, None, f"http://[{lb[6]}]/api", "-6", "-o", "/dev/null", "-w", "%{http_code} %{redirect_url}",
                     "-H", f"Host: {HOST}")
    assert redirect.stdout == f"308 https://{HOST}/api", redirect.stderr
    tls = ["-6", "--resolve", f"{HOST}:443:[{lb[6]}]", "--cacert", str(REPO / "manifests" / "ca.crt")]
    root = echo_answer(_curl(lab, None, f"https://{HOST}/", *tls).stdout)
    assert root["pod"].startswith(f"{lab.cluster}-app-")
    api = echo_answer(_curl(lab, None, f"https://{HOST}/api/users", *tls).stdout)
    assert api["pod"].startswith(f"{lab.cluster}-api-") and api["request"] == "GET / HTTP/1.1"
    nobody = _curl(lab, None, f"http://[{lb[6]}]/", "-6", "-o", "/dev/null", "-w", "%{http_code}",
                   "-H", "Host: nobody.example")
    assert nobody.stdout == "404"
    # IPv4 beside it, and the Ingress status lists both addresses
    assert echo_answer(_curl(lab, None, f"https://{HOST}/", "--resolve", f"{HOST}:443:{lb[4]}", "--cacert",
                             str(REPO / "manifests" / "ca.crt")).stdout)["pod"].startswith(f"{lab.cluster}-app-")
    status = json.loads(lab.netlab("get", "ingress", "app-ingress", "-o", "json").stdout)["status"]
    assert {i["ip"] for i in status["loadBalancer"]["ingress"]} == {lb[4], lb[6]}


def test_an_ipv6_udp_flow_follows_the_service_to_a_replacement_pod(lab):
    manifest = UDP_LAB.replace("  selector: {app: CLUSTER-udp}\n  ports: [{port: 53",
                               "  ipFamilyPolicy: PreferDualStack\n  selector: {app: CLUSTER-udp}\n  ports: [{port: 53")
    assert "PreferDualStack" in manifest
    lab.netlab("up", str(lab.write("dual.yaml", DUAL)), str(lab.write("udp.yaml", manifest)))
    v6 = json.loads(lab.netlab("get", "svc", "udp-svc", "-o", "json").stdout)["spec"]["clusterIPs"][1]
    assert ipaddress.ip_address(v6).version == 6
    assert_flow_follows(lab, v6)


GATEWAY = """
apiVersion: v1
kind: Namespace
metadata: {name: gw6-CLUSTER}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: CLUSTER-g6, namespace: gw6-CLUSTER}
spec:
  replicas: 1
  selector: {matchLabels: {app: g6}}
  template:
    metadata: {labels: {app: g6}}
    spec: {containers: [{name: echo, image: echo, ports: [{containerPort: 3000}]}]}
---
apiVersion: v1
kind: Service
metadata: {name: g6, namespace: gw6-CLUSTER}
spec: {selector: {app: g6}, ports: [{port: 80, targetPort: 3000}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: web, namespace: gw6-CLUSTER}
spec:
  gatewayClassName: netlab
  listeners: [{name: http, port: 80, protocol: HTTP}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: main, namespace: gw6-CLUSTER}
spec:
  parentRefs: [{name: web}]
  hostnames: [app.example]
  rules: [{matches: [{path: {type: PathPrefix, value: /}}], backendRefs: [{name: g6, port: 80}]}]
"""


def test_a_gateway_answers_on_its_ipv6_address(lab):
    lab.netlab("up", str(lab.write("dual.yaml", DUAL)), str(lab.write("gw.yaml", GATEWAY)))
    ns = f"gw6-{lab.cluster}"

    def addresses():
        gw = json.loads(lab.netlab("get", "gateway", "web", "-n", ns, "-o", "json").stdout).get("status") or {}
        programmed = any(c["type"] == "Programmed" and c["status"] == "True" for c in gw.get("conditions") or [])
        got = {ipaddress.ip_address(a["value"]).version: a["value"] for a in gw.get("addresses") or []}
        return got if programmed and len(got) == 2 else None

    addr = wait_for(addresses, timeout=60, what="the Gateway Programmed with an address per family")
    assert POOL6[0] <= ipaddress.ip_address(addr[6]) <= POOL6[1]
    for url, family in ((f"http://[{addr[6]}]/x", "-6"), (f"http://{addr[4]}/x", "-4")):
        proc = _curl(lab, None, url, family, "-H", "Host: app.example")
        assert proc.returncode == 0, proc.stderr
        assert echo_answer(proc.stdout)["pod"].startswith(f"{lab.cluster}-g6-")
    assert _curl(lab, None, f"http://[{addr[6]}]/", "-6", "-o", "/dev/null", "-w", "%{http_code}",
                 "-H", "Host: nobody.example").stdout == "404"
