"""Issue 16: IPv6-primary dual-stack clusters (and IPv6-only ones), with real packets."""

from __future__ import annotations

import ipaddress
import json

from conftest import echo_answer, wait_for

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
"""


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
