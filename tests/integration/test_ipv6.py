"""Issue 16: a dual-stack cluster moves real IPv6 packets between pods, across nodes, without NAT."""

from __future__ import annotations

import ipaddress
import json

import pytest
from conftest import echo_answer, wait_for

DUAL = """
kind: Cluster
apiVersion: kind.x-k8s.io/v1alpha4
networking: {ipFamily: dual}
nodes:
  - role: control-plane
  - role: worker
  - role: worker
---
apiVersion: v1
kind: Pod
metadata: {name: CLUSTER-a6}
spec:
  nodeName: CLUSTER-worker
  containers: [{name: echo, image: echo, ports: [{containerPort: 3000}]}]
---
apiVersion: v1
kind: Pod
metadata: {name: CLUSTER-b6}
spec:
  nodeName: CLUSTER-worker
  containers: [{name: echo, image: echo, ports: [{containerPort: 3000}]}]
---
apiVersion: v1
kind: Pod
metadata: {name: CLUSTER-c6}
spec:
  nodeName: CLUSTER-worker2
  containers: [{name: echo, image: echo, ports: [{containerPort: 3000}]}]
"""


def _manifest(mode: str) -> str:
    """kind's file as is (host-gw), or netlab's Cluster with the same kind fields plus mode."""
    if mode == "host-gw":
        return DUAL
    return DUAL.replace("apiVersion: kind.x-k8s.io/v1alpha4", f"apiVersion: netlab.dev/v1alpha1\nmode: {mode}")


def _ips(lab, pod: str) -> list[str]:
    status = json.loads(lab.netlab("get", "pod", pod, "-o", "json").stdout)["status"]
    assert status["podIP"] == status["podIPs"][0]["ip"]
    return [entry["ip"] for entry in status["podIPs"]]


def _curl6(lab, netns: str | None, ip: str) -> dict:
    argv = ["curl", "-6", "-sS", "--max-time", "5", f"http://[{ip}]:3000/"]
    proc = lab.host(*argv, timeout=15) if netns is None else lab.in_ns(netns, *argv, timeout=15)
    assert proc.returncode == 0, proc.stderr
    return echo_answer(proc.stdout)


@pytest.mark.parametrize("mode", ["host-gw", "vxlan"])
def test_dual_stack_pods_reach_each_other_over_ipv6_without_nat(lab, mode):
    lab.netlab("up", str(lab.write("dual.yaml", _manifest(mode))))
    c = lab.cluster
    ips = {p: _ips(lab, f"{c}-{p}") for p in ("a6", "b6", "c6")}
    for v4, v6 in ips.values():   # IPv4 first (the primary family), then IPv6 from the node's /64
        assert ipaddress.ip_address(v4).version == 4
        assert ipaddress.ip_address(v6) in ipaddress.ip_network("fd00:10:244::/56")
    assert ipaddress.ip_network(ips["a6"][1] + "/64", strict=False) == \
        ipaddress.ip_network(ips["b6"][1] + "/64", strict=False) != \
        ipaddress.ip_network(ips["c6"][1] + "/64", strict=False)

    ping = lab.in_ns(f"{c}-a6", "ping", "-6", "-c", "2", "-W", "2", ips["c6"][1])
    assert ping.returncode == 0, ping.stdout + ping.stderr
    other_node = _curl6(lab, f"{c}-a6", ips["c6"][1])
    assert other_node["pod"] == f"{c}-c6"
    assert other_node["client"].rpartition(":")[0] == f"[{ips['a6'][1]}]", "no NAT across nodes"
    same_node = _curl6(lab, f"{c}-a6", ips["b6"][1])
    assert same_node["pod"] == f"{c}-b6" and same_node["client"].rpartition(":")[0] == f"[{ips['a6'][1]}]"
    assert same_node["ips"] == ",".join(ips["b6"])
    from_host = _curl6(lab, None, ips["c6"][1])
    assert from_host["client"].rpartition(":")[0] == "[fc00:f853:ccd:e793::1]"
    # IPv4 is unchanged beside it
    v4 = lab.in_ns(f"{c}-a6", "curl", "-4", "-sS", "--max-time", "5", f"http://{ips['c6'][0]}:3000/")
    assert echo_answer(v4.stdout)["client"].split(":")[0] == ips["a6"][0]

    # DNS: the pod record of an IPv6 address (colons as dashes, :: as --) answers AAAA, and a name with
    # only an IPv4 address answers AAAA with NODATA (NOERROR, no answer), not NXDOMAIN
    dashed = ips["c6"][1].replace(":", "-")
    aaaa = lab.in_ns(f"{c}-a6", "dig", "+time=2", "+tries=2", "+short", "AAAA", f"{dashed}.default.pod.cluster.local")
    assert aaaa.stdout.split() == [ips["c6"][1]], aaaa.stdout + aaaa.stderr
    nodata = lab.in_ns(f"{c}-a6", "dig", "+time=2", "+tries=2", "AAAA", "kubernetes.default.svc.cluster.local")
    assert "status: NOERROR" in nodata.stdout and "ANSWER: 0" in nodata.stdout, nodata.stdout

    graph = lab.netlab("graph").stdout
    assert ips["a6"][0] in graph and ips["a6"][1] in graph, "netlab graph shows both addresses"
    wide = lab.kubectl("get", "pods", "-o", "wide").stdout
    assert ips["a6"][0] in wide
    routes = lab.host("ip", "-6", "route").stdout
    assert "fd00:10:244:2::/64 via fc00:f853:ccd:e793::4" in routes, routes


def test_bad_ipv6_subnet_is_refused_naming_the_field(lab):
    bad = lab.write("bad.yaml", """
        kind: Cluster
        apiVersion: kind.x-k8s.io/v1alpha4
        networking: {ipFamily: dual, podSubnet: "10.244.0.0/16,fd00:10:244::/63"}
        nodes: [{role: control-plane}, {role: worker}, {role: worker}]
    """)
    proc = lab.netlab("up", str(bad), check=False)
    assert proc.returncode != 0
    assert "networking.podSubnet" in proc.stderr + proc.stdout
    assert "too small for 3 nodes" in proc.stderr + proc.stdout


POLICY = """
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: only-a6}
spec:
  podSelector: {matchLabels: {app: c6}}
  policyTypes: [Ingress]
  ingress:
    - from: [{podSelector: {matchLabels: {app: a6}}}]
      ports: [{port: 3000}]
"""


def test_network_policy_selectors_hold_over_ipv6(lab):
    manifest = DUAL.replace("metadata: {name: CLUSTER-a6}", "metadata: {name: CLUSTER-a6, labels: {app: a6}}")
    manifest = manifest.replace("metadata: {name: CLUSTER-c6}", "metadata: {name: CLUSTER-c6, labels: {app: c6}}")
    lab.netlab("up", str(lab.write("dual.yaml", manifest)))
    c = lab.cluster
    target = _ips(lab, f"{c}-c6")
    lab.netlab("apply", "-f", str(lab.write("policy.yaml", POLICY)))

    def blocked(src: str, url: str) -> bool:
        return lab.in_ns(src, "curl", "-sS", "--max-time", "2", url, timeout=10).returncode != 0

    v6 = f"http://[{target[1]}]:3000/"
    wait_for(lambda: blocked(f"{c}-b6", v6), timeout=20, what="IPv6 from an unselected pod to be dropped")
    assert blocked(f"{c}-b6", f"http://{target[0]}:3000/"), "IPv4 is dropped as well"
    allowed = _curl6(lab, f"{c}-a6", target[1])
    assert allowed["pod"] == f"{c}-c6" and allowed["client"].rpartition(":")[0] == f"[{_ips(lab, f'{c}-a6')[1]}]"
    assert not blocked(f"{c}-a6", f"http://{target[0]}:3000/")


def test_service_families_are_validated_against_the_cluster(lab):
    lab.netlab("up", str(lab.write("dual.yaml", DUAL.split("---\n")[0])))
    _headless_dual_stack_service_answers_aaaa(lab)
    svc = lab.write("svc.yaml", """
        apiVersion: v1
        kind: Service
        metadata: {name: web-CLUSTER}
        spec:
          ipFamilyPolicy: SingleStack
          ipFamilies: [IPv4, IPv6]
          selector: {app: web}
          ports: [{port: 80}]
    """)
    proc = lab.netlab("apply", "-f", str(svc), check=False)
    assert proc.returncode != 0
    assert "spec.ipFamilies: must have exactly one family when spec.ipFamilyPolicy is SingleStack" in proc.stderr
    assert lab.netlab("get", "service", f"web-{lab.cluster}", check=False).returncode != 0, "nothing applied"


HEADLESS = """
apiVersion: v1
kind: Pod
metadata: {name: db-CLUSTER, labels: {app: db}}
spec:
  hostname: db-0
  subdomain: db
  nodeName: CLUSTER-worker
  containers: [{name: echo, image: echo, ports: [{containerPort: 3000}]}]
---
apiVersion: v1
kind: Service
metadata: {name: db}
spec:
  clusterIP: None
  ipFamilyPolicy: PreferDualStack
  selector: {app: db}
  ports: [{port: 3000}]
"""


def _headless_dual_stack_service_answers_aaaa(lab) -> None:
    """A headless PreferDualStack Service: both families, one EndpointSlice each, A and AAAA per ready pod."""
    lab.netlab("apply", "-f", str(lab.write("headless.yaml", HEADLESS)))
    db = f"db-{lab.cluster}"
    wait_for(lambda: lab.netlab("get", "pod", db, "-o", "json", check=False).stdout.count('"ready": true'),
             timeout=60, what="the db pod to be ready")
    v4, v6 = _ips(lab, db)
    svc = json.loads(lab.kubectl("get", "service", "db", "-o", "json").stdout)["spec"]
    assert svc["ipFamilies"] == ["IPv4", "IPv6"] and svc["clusterIPs"] == ["None"]
    slices = json.loads(lab.kubectl("get", "endpointslices", "-l", "kubernetes.io/service-name=db",
                                    "-o", "json").stdout)["items"]
    assert sorted((s["addressType"], s["endpoints"][0]["addresses"][0]) for s in slices) == [("IPv4", v4),
                                                                                               ("IPv6", v6)]

    def dig(qtype: str, name: str) -> list[str]:
        out = lab.in_ns(db, "dig", "+time=2", "+tries=2", "+short", qtype, name).stdout.split()
        return out

    assert wait_for(lambda: dig("AAAA", "db.default.svc.cluster.local") == [v6], timeout=20,
                    what="AAAA of the headless service")
    assert dig("AAAA", "db-0.db.default.svc.cluster.local") == [v6]
    assert dig("A", "db.default.svc.cluster.local") == [v4]
    assert dig("PTR", ipaddress.ip_address(v6).reverse_pointer) == ["db-0.db.default.svc.cluster.local."]


SERVICES6 = """
apiVersion: v1
kind: Service
metadata: {name: web6}
spec:
  ipFamilyPolicy: PreferDualStack
  selector: {app: CLUSTER-web6}
  ports: [{port: 80, targetPort: 3000}]
---
apiVersion: v1
kind: Service
metadata: {name: web6-np}
spec:
  type: NodePort
  ipFamilyPolicy: RequireDualStack
  ipFamilies: [IPv6, IPv4]
  selector: {app: CLUSTER-web6}
  ports: [{port: 80, targetPort: 3000}]
---
apiVersion: v1
kind: Service
metadata: {name: empty6}
spec:
  ipFamilies: [IPv6]
  clusterIP: fd00:10:96::77
  selector: {app: CLUSTER-nobody}
  ports: [{port: 80, targetPort: 3000}]
"""


def test_ipv6_clusterip_nodeport_and_dns(lab):
    """IPv6 Services: ClusterIP DNAT to the IPv6 endpoints, NodePort on a node's IPv6 address, reject
    without endpoints, AAAA and ip6.arpa PTR for the ClusterIP, NODATA for the missing family."""
    manifest = DUAL
    for pod in ("b6", "c6"):
        manifest = manifest.replace(f"metadata: {{name: CLUSTER-{pod}}}",
                                    f"metadata: {{name: CLUSTER-{pod}, labels: {{app: CLUSTER-web6}}}}")
    lab.netlab("up", str(lab.write("dual.yaml", manifest)))
    lab.netlab("apply", "-f", str(lab.write("svc6.yaml", SERVICES6)))
    c = lab.cluster
    for pod in ("b6", "c6"):
        wait_for(lambda pod=pod: lab.netlab("get", "pod", f"{c}-{pod}", "-o", "json", check=False).stdout.count(
            '"ready": true'), timeout=60, what=f"pod {pod} to be ready")
    backends = {f"{c}-b6", f"{c}-c6"}
    client6 = _ips(lab, f"{c}-a6")[1]

    spec = json.loads(lab.kubectl("get", "service", "web6", "-o", "json").stdout)["spec"]
    v4, v6 = spec["clusterIPs"]
    assert spec["ipFamilies"] == ["IPv4", "IPv6"] and spec["clusterIP"] == v4
    assert ipaddress.ip_address(v6) in ipaddress.ip_network("fd00:10:96::/112")
    np_spec = json.loads(lab.kubectl("get", "service", "web6-np", "-o", "json").stdout)["spec"]
    np6, np4 = np_spec["clusterIPs"]
    assert ipaddress.ip_address(np6).version == 6 and ipaddress.ip_address(np4).version == 4
    node_port = np_spec["ports"][0]["nodePort"]

    def curl(netns: str | None, url: str, *extra: str):
        argv = ["curl", *extra, "-sS", "--max-time", "5", url]
        return lab.host(*argv, timeout=15) if netns is None else lab.in_ns(netns, *argv, timeout=15)

    # ClusterIP over IPv6 from a pod: both endpoints answer, the client's IPv6 address is kept
    seen = set()
    for _ in range(12):
        proc = curl(f"{c}-a6", f"http://[{v6}]/", "-6")
        assert proc.returncode == 0, proc.stderr
        answer = echo_answer(proc.stdout)
        assert answer["client"].rpartition(":")[0] == f"[{client6}]", "no NAT inside the cluster"
        seen.add(answer["pod"])
    assert seen == backends, seen
    # ... from a node (its own connection, masqueraded) and over IPv4 beside it
    assert echo_answer(curl(f"{c}-worker", f"http://[{v6}]/", "-6").stdout)["pod"] in backends
    assert echo_answer(curl(f"{c}-a6", f"http://{v4}/", "-4").stdout)["pod"] in backends
    # NodePort on a node's IPv6 underlay address, from the host (kind's prefix; the worker is ::3)
    from_host = curl(None, f"http://[fc00:f853:ccd:e793::3]:{node_port}/", "-6")
    assert from_host.returncode == 0, from_host.stderr
    assert echo_answer(from_host.stdout)["pod"] in backends
    # no endpoints: refused (an ICMPv6 port unreachable; curl 7.88 says "Couldn't connect"), not a timeout (28)
    refused = curl(f"{c}-a6", "http://[fd00:10:96::77]/", "-6")
    assert refused.returncode == 7, refused.stderr

    def dig(*args: str) -> str:
        return lab.in_ns(f"{c}-a6", "dig", "+time=2", "+tries=2", *args).stdout

    assert dig("+short", "AAAA", "web6.default.svc.cluster.local").split() == [v6]
    assert dig("+short", "A", "web6.default.svc.cluster.local").split() == [v4]
    assert dig("+short", "-x", v6).split() == ["web6.default.svc.cluster.local."]
    nodata = dig("A", "empty6.default.svc.cluster.local")
    assert "status: NOERROR" in nodata and "ANSWER: 0" in nodata, nodata
    assert dig("+short", "AAAA", "empty6.default.svc.cluster.local").split() == ["fd00:10:96::77"]


def test_an_ipv6_clusterip_outside_the_range_is_refused_naming_the_field(lab):
    lab.netlab("up", str(lab.write("dual.yaml", DUAL.split("---\n")[0])))
    svc = lab.write("svc.yaml", """
        apiVersion: v1
        kind: Service
        metadata: {name: out6}
        spec:
          ipFamilyPolicy: RequireDualStack
          clusterIPs: ["10.96.0.99", "fd00:99::5"]
          selector: {app: web}
          ports: [{port: 80}]
    """)
    proc = lab.netlab("apply", "-f", str(svc), check=False)
    assert proc.returncode != 0
    assert "spec.clusterIPs[1]" in proc.stderr and "fd00:10:96::/112" in proc.stderr, proc.stderr
    assert lab.netlab("get", "service", "out6", check=False).returncode != 0, "nothing applied"
