"""Issue 16: IPv6-primary dual-stack clusters (and IPv6-only ones), with real packets."""

from __future__ import annotations

import ipaddress
import json

import pytest
from conftest import echo_answer, wait_for

# the built-in ingress-nginx add-on comes up for it (its Service stays <pending> without an IPv6 pool)
INGRESS = """
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: web-CLUSTER}
spec:
  ingressClassName: nginx
  rules: [{http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: web-CLUSTER, port: {number: 80}}}}]}}]
"""

V6_PRIMARY = """
kind: Cluster
apiVersion: kind.x-k8s.io/v1alpha4
networking: {ipFamily: dual, podSubnet: "fd00:10:244::/56,10.244.0.0/16"}
nodes: [{role: control-plane}, {role: worker}, {role: worker}]
---
apiVersion: v1
kind: Pod
metadata: {name: CLUSTER-p1, labels: {app: CLUSTER-web}}
spec:
  nodeName: CLUSTER-worker
  containers: [{name: echo, image: echo, ports: [{containerPort: 3000}]}]
---
apiVersion: v1
kind: Pod
metadata: {name: CLUSTER-p2}
spec:
  nodeName: CLUSTER-worker2
  containers: [{name: echo, image: echo, ports: [{containerPort: 3000}]}]
---
apiVersion: v1
kind: Service
metadata: {name: web-CLUSTER}
spec:
  selector: {app: CLUSTER-web}
  ports: [{port: 80, targetPort: 3000}]
---
apiVersion: v1
kind: Service
metadata: {name: both-CLUSTER}
spec:
  ipFamilyPolicy: PreferDualStack
  selector: {app: CLUSTER-web}
  ports: [{port: 80, targetPort: 3000}]
---""" + INGRESS


def _status(lab, pod: str) -> dict:
    return json.loads(lab.netlab("get", "pod", pod, "-o", "json").stdout)["status"]


def _ready(lab, pod: str) -> bool:
    return '"ready": true' in lab.netlab("get", "pod", pod, "-o", "json", check=False).stdout


def test_an_ipv6_primary_dual_stack_cluster_lists_ipv6_first(lab):
    lab.netlab("up", str(lab.write("p6.yaml", V6_PRIMARY)))
    c = lab.cluster
    for pod in (f"{c}-p1", f"{c}-p2"):
        wait_for(lambda pod=pod: _ready(lab, pod), timeout=60, what=f"{pod} to be ready")
    st1, st2 = _status(lab, f"{c}-p1"), _status(lab, f"{c}-p2")
    ips1 = [e["ip"] for e in st1["podIPs"]]
    assert [ipaddress.ip_address(ip).version for ip in ips1] == [6, 4], "podIPs: the primary family (IPv6) first"
    assert st1["podIP"] == ips1[0] and ipaddress.ip_address(st1["hostIP"]).version == 6

    # the pod sees its IPv6 address as POD_IP; across nodes over IPv6, no NAT
    answer = echo_answer(lab.in_ns(f"{c}-p2", "curl", "-6", "-sS", "--max-time", "5",
                                   f"http://[{ips1[0]}]:3000/", timeout=15).stdout)
    assert answer["ip"] == ips1[0] and answer["ips"] == ",".join(ips1)
    assert answer["client"].rpartition(":")[0] == f"[{st2['podIP']}]"

    web = json.loads(lab.kubectl("get", "service", f"web-{c}", "-o", "json").stdout)["spec"]
    assert web["ipFamilies"] == ["IPv6"] and web["ipFamilyPolicy"] == "SingleStack"
    assert ipaddress.ip_address(web["clusterIP"]).version == 6 and web["clusterIPs"] == [web["clusterIP"]]
    both = json.loads(lab.kubectl("get", "service", f"both-{c}", "-o", "json").stdout)["spec"]
    assert both["ipFamilies"] == ["IPv6", "IPv4"]
    assert [ipaddress.ip_address(ip).version for ip in both["clusterIPs"]] == [6, 4]

    # the Service by name (its only ClusterIP is IPv6) from a pod on another node
    url = f"http://web-{c}.default.svc.cluster.local/"
    via_name = lab.in_ns(f"{c}-p2", "curl", "-sS", "--max-time", "5", url, timeout=15)
    assert via_name.returncode == 0, via_name.stderr
    assert echo_answer(via_name.stdout)["pod"] == f"{c}-p1"
    node = json.loads(lab.kubectl("get", "node", f"{c}-worker", "-o", "json").stdout)
    assert node["status"]["addresses"][0]["address"] == st1["hostIP"]


V6_ONLY = """
kind: Cluster
apiVersion: kind.x-k8s.io/v1alpha4
networking: {ipFamily: ipv6}
nodes: [{role: control-plane}, {role: worker}, {role: worker}]
---
apiVersion: v1
kind: Pod
metadata: {name: CLUSTER-a, labels: {app: CLUSTER-web}}
spec:
  nodeName: CLUSTER-worker
  containers: [{name: echo, image: echo, ports: [{containerPort: 3000}]}]
---
apiVersion: v1
kind: Pod
metadata: {name: CLUSTER-b}
spec:
  nodeName: CLUSTER-worker2
  containers: [{name: echo, image: echo, ports: [{containerPort: 3000}]}]
---
apiVersion: v1
kind: Service
metadata: {name: web-CLUSTER}
spec:
  type: NodePort
  selector: {app: CLUSTER-web}
  ports: [{port: 80, targetPort: 3000}]
---
apiVersion: v1
kind: Service
metadata: {name: both-CLUSTER}
spec:
  ipFamilyPolicy: PreferDualStack
  selector: {app: CLUSTER-web}
  ports: [{port: 80, targetPort: 3000}]
"""


def _dig(lab, netns: str, *args: str) -> list[str]:
    proc = lab.in_ns(netns, "dig", "+time=2", "+tries=2", "+short", *args, timeout=15)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout.split()


@pytest.mark.parametrize("mode", ["host-gw", "vxlan"])
def test_an_ipv6_only_cluster_moves_ipv6_packets_and_answers_dns_over_ipv6(lab, mode):
    manifest = V6_ONLY if mode == "host-gw" else V6_ONLY.replace(
        "apiVersion: kind.x-k8s.io/v1alpha4", f"apiVersion: netlab.dev/v1alpha1\nmode: {mode}")
    lab.netlab("up", str(lab.write("v6.yaml", manifest)))
    c = lab.cluster
    for pod in (f"{c}-a", f"{c}-b"):
        wait_for(lambda pod=pod: _ready(lab, pod), timeout=60, what=f"{pod} to be ready")
    a, b = _status(lab, f"{c}-a"), _status(lab, f"{c}-b")
    for st in (a, b):   # one IPv6 address, from the node's /64 of kind's default fd00:10:244::/56
        assert [e["ip"] for e in st["podIPs"]] == [st["podIP"]]
        assert ipaddress.ip_address(st["podIP"]) in ipaddress.ip_network("fd00:10:244::/56")
        assert ipaddress.ip_address(st["hostIP"]) in ipaddress.ip_network("fc00:f853:ccd:e793::/64")
    assert a["podIP"] in lab.kubectl("get", "pods", "-o", "wide").stdout
    assert a["podIP"] in lab.netlab("graph").stdout
    v4 = lab.in_ns(f"{c}-a", "ip", "-4", "-o", "addr", "show", "scope", "global")
    assert v4.stdout.strip() == "", "a pod of an IPv6-only cluster has no IPv4 address"

    ping = lab.in_ns(f"{c}-b", "ping", "-6", "-c", "2", "-W", "2", a["podIP"])
    assert ping.returncode == 0, ping.stdout + ping.stderr
    across = lab.in_ns(f"{c}-b", "curl", "-6", "-sS", "--max-time", "5", f"http://[{a['podIP']}]:3000/", timeout=15)
    answer = echo_answer(across.stdout)
    assert answer["ip"] == a["podIP"] and answer["client"].rpartition(":")[0] == f"[{b['podIP']}]", "no NAT"
    from_host = lab.host("curl", "-6", "-sS", "--max-time", "5", f"http://[{a['podIP']}]:3000/", timeout=15)
    assert echo_answer(from_host.stdout)["pod"] == f"{c}-a", from_host.stderr

    web = json.loads(lab.kubectl("get", "service", f"web-{c}", "-o", "json").stdout)["spec"]
    assert web["ipFamilies"] == ["IPv6"] and web["ipFamilyPolicy"] == "SingleStack"
    assert ipaddress.ip_address(web["clusterIP"]) in ipaddress.ip_network("fd00:10:96::/112")
    both = json.loads(lab.kubectl("get", "service", f"both-{c}", "-o", "json").stdout)["spec"]
    assert both["ipFamilies"] == ["IPv6"] and len(both["clusterIPs"]) == 1
    slices = json.loads(lab.kubectl("get", "endpointslices", "-l", f"kubernetes.io/service-name=web-{c}",
                                    "-o", "json").stdout)["items"]
    assert [(s["addressType"], s["endpoints"][0]["addresses"]) for s in slices] == [("IPv6", [a["podIP"]])]

    # cluster DNS at kube-dns's IPv6 ClusterIP: the pod's resolv.conf names it, it answers AAAA and PTR
    dns = json.loads(lab.kubectl("get", "service", "kube-dns", "-n", "kube-system", "-o", "json").stdout)["spec"]
    assert dns["clusterIP"] == "fd00:10:96::a" and dns["ipFamilies"] == ["IPv6"]
    resolv = lab.in_ns(f"{c}-b", "cat", "/etc/resolv.conf").stdout
    assert "nameserver fd00:10:96::a" in resolv, resolv
    name = f"web-{c}.default.svc.cluster.local"
    assert _dig(lab, f"{c}-b", "AAAA", name) == [web["clusterIP"]]
    assert _dig(lab, f"{c}-b", "A", name) == [], "an IPv6-only Service's name answers A with NODATA"
    assert _dig(lab, f"{c}-b", "-x", web["clusterIP"]) == [f"{name}."]
    by_name = lab.in_ns(f"{c}-b", "curl", "-sS", "--max-time", "5", f"http://{name}/", timeout=15)
    assert by_name.returncode == 0, by_name.stderr
    assert echo_answer(by_name.stdout)["pod"] == f"{c}-a"

    # the `kubernetes` Service: an IPv6 ClusterIP whose Endpoints are the host's IPv6 underlay address
    api = json.loads(lab.kubectl("get", "service", "kubernetes", "-o", "json").stdout)["spec"]
    assert api["clusterIP"] == "fd00:10:96::1"
    eps = json.loads(lab.kubectl("get", "endpoints", "kubernetes", "-o", "json").stdout)
    assert eps["subsets"][0]["addresses"] == [{"ip": "fc00:f853:ccd:e793::1"}]
    assert _dig(lab, f"{c}-b", "-x", "fd00:10:96::1") == ["kubernetes.default.svc.cluster.local."]
    version = lab.in_ns(f"{c}-b", "curl", "-sS", "-k", "--max-time", "5", "-o", "/dev/null", "-w", "%{http_code}",
                        "https://[fd00:10:96::1]/version", timeout=15)
    assert version.returncode == 0 and version.stdout.isdigit(), version.stderr

    # NodePort on a node's IPv6 underlay address, from the host
    node = json.loads(lab.kubectl("get", "node", f"{c}-worker2", "-o", "json").stdout)
    internal = node["status"]["addresses"][0]
    assert internal["type"] == "InternalIP" and ipaddress.ip_address(internal["address"]).version == 6
    port = web["ports"][0]["nodePort"]
    via_node = lab.host("curl", "-6", "-sS", "--max-time", "5", f"http://[{internal['address']}]:{port}/", timeout=15)
    assert echo_answer(via_node.stdout)["pod"] == f"{c}-a", via_node.stderr


def test_require_dual_stack_is_refused_in_an_ipv6_only_cluster(lab):
    lab.netlab("up", str(lab.write("v6.yaml", V6_ONLY.split("---\n")[0])))
    svc = lab.write("svc.yaml", """
        apiVersion: v1
        kind: Service
        metadata: {name: web-CLUSTER}
        spec:
          ipFamilyPolicy: RequireDualStack
          selector: {app: web}
          ports: [{port: 80}]
    """)
    proc = lab.netlab("apply", "-f", str(svc), check=False)
    assert proc.returncode != 0
    assert "spec.ipFamilyPolicy" in proc.stderr and "not configured for dual-stack" in proc.stderr


POLICY_AND_EDGE = """
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: only-friends}
spec:
  podSelector: {matchLabels: {app: CLUSTER-web}}
  policyTypes: [Ingress]
  ingress:
    - from: [{podSelector: {matchLabels: {role: friend}}}]
---
apiVersion: v1
kind: Pod
metadata: {name: CLUSTER-friend, labels: {role: friend}}
spec:
  nodeName: CLUSTER-worker2
  containers: [{name: echo, image: echo, ports: [{containerPort: 3000}]}]
---
apiVersion: v1
kind: Service
metadata: {name: lb-CLUSTER}
spec:
  type: LoadBalancer
  selector: {app: CLUSTER-web}
  ports: [{port: 80, targetPort: 3000}]
---""" + INGRESS


def test_policy_holds_and_the_edge_stays_pending_in_an_ipv6_only_cluster(lab):
    lab.netlab("up", str(lab.write("v6.yaml", V6_ONLY + "---\n" + POLICY_AND_EDGE)))
    c = lab.cluster
    for pod in (f"{c}-a", f"{c}-b", f"{c}-friend"):
        wait_for(lambda pod=pod: _ready(lab, pod), timeout=90, what=f"{pod} to be ready")
    target = _status(lab, f"{c}-a")["podIP"]
    url = f"http://[{target}]:3000/"

    def reaches(src: str) -> bool:
        return lab.in_ns(src, "curl", "-6", "-sS", "--max-time", "2", url, timeout=10).returncode == 0

    wait_for(lambda: not reaches(f"{c}-b"), timeout=20, what="a pod the policy does not select to be dropped")
    assert reaches(f"{c}-friend"), "the selected peer is allowed over IPv6"
    # an ipBlock with an IPv6 CIDR lets b in as well
    b_ip = _status(lab, f"{c}-b")["podIP"]
    net = ipaddress.ip_network(f"{b_ip}/64", strict=False)
    lab.netlab("apply", "-f", str(lab.write("block.yaml", f"""
        apiVersion: networking.k8s.io/v1
        kind: NetworkPolicy
        metadata: {{name: block-{c}}}
        spec:
          podSelector: {{matchLabels: {{app: {c}-web}}}}
          policyTypes: [Ingress]
          ingress: [{{from: [{{ipBlock: {{cidr: "{net}"}}}}]}}]
    """)))
    wait_for(lambda: reaches(f"{c}-b"), timeout=20, what="the ipBlock to allow b over IPv6")
    assert reaches(f"{c}-friend"), "still allowed by the first policy's selector"

    # a LoadBalancer Service (the ingress-nginx add-on's too, whose controller came up) gets no IPv4
    # address: it stays <pending> without an IPv6 pool, or gets an IPv6 one
    lb = json.loads(lab.kubectl("get", "service", f"lb-{c}", "-o", "json").stdout)
    assert lb["spec"]["ipFamilies"] == ["IPv6"]
    ctl = json.loads(lab.kubectl("get", "service", "ingress-nginx-controller", "-n", "ingress-nginx",
                                 "-o", "json").stdout)
    for svc in (lb, ctl):
        addresses = [e["ip"] for e in svc["status"]["loadBalancer"].get("ingress") or []]
        assert all(ipaddress.ip_address(ip).version == 6 for ip in addresses), addresses
