"""Issue 17 (part): traffic policies with real connections between real namespaces."""

from __future__ import annotations

import json

from conftest import echo_answer, wait_for

ITP = """
kind: Cluster
apiVersion: netlab.dev/v1alpha1
---
apiVersion: v1
kind: Pod
metadata: {name: CLUSTER-a, labels: {app: itp}}
spec:
  nodeName: CLUSTER-worker
  containers: [{name: echo, image: echo, ports: [{containerPort: 3000}]}]
---
apiVersion: v1
kind: Pod
metadata: {name: CLUSTER-b, labels: {app: itp}}
spec:
  nodeName: CLUSTER-worker2
  containers: [{name: echo, image: echo, ports: [{containerPort: 3000}]}]
---
apiVersion: v1
kind: Pod
metadata: {name: CLUSTER-c1, labels: {role: client}}
spec:
  nodeName: CLUSTER-worker
  containers: [{name: echo, image: echo, ports: [{containerPort: 3000}]}]
---
apiVersion: v1
kind: Pod
metadata: {name: CLUSTER-c2, labels: {role: client}}
spec:
  nodeName: CLUSTER-worker2
  containers: [{name: echo, image: echo, ports: [{containerPort: 3000}]}]
---
apiVersion: v1
kind: Service
metadata: {name: local}
spec:
  type: NodePort
  internalTrafficPolicy: Local
  selector: {app: itp}
  ports: [{port: 80, targetPort: 3000, nodePort: 30091}]
"""


def _node_ips(lab) -> dict[str, str]:
    return {n["metadata"]["name"]: n["status"]["addresses"][0]["address"]
            for n in json.loads(lab.netlab("get", "nodes", "-o", "json").stdout)["items"]}


def _pods_seen(lab, netns: str, url: str, tries: int = 12) -> set[str]:
    seen = set()
    for _ in range(tries):
        proc = lab.curl(netns, url, timeout=2)
        assert proc.returncode == 0, f"{url} from {netns}: {proc.stderr}"
        seen.add(echo_answer(proc.stdout)["pod"])
    return seen


def test_internal_traffic_policy_local(lab):
    lab.netlab("up", str(lab.write("itp.yaml", ITP)))
    c = lab.cluster
    svc = json.loads(lab.netlab("get", "svc", "local", "-o", "json").stdout)
    cip = svc["spec"]["clusterIP"]
    assert svc["spec"]["internalTrafficPolicy"] == "Local"
    # ClusterIP traffic only reaches the endpoint on the client's own node, from pods and from the node.
    assert _pods_seen(lab, f"{c}-c1", f"http://{cip}/") == {f"{c}-a"}
    assert _pods_seen(lab, f"{c}-c2", f"http://{cip}/") == {f"{c}-b"}
    assert _pods_seen(lab, f"{c}-worker", f"http://{cip}/") == {f"{c}-a"}
    # A node with no endpoint drops (a timeout, not a refusal), as kube-proxy does.
    dropped = lab.curl(f"{c}-control-plane", f"http://{cip}/", timeout=1)
    assert dropped.returncode == 28, dropped
    # External traffic ignores the internal policy: the NodePort on the control plane reaches both pods.
    nodes = _node_ips(lab)
    seen = set()
    for _ in range(40):
        proc = lab.curl(None, f"http://{nodes[f'{c}-control-plane']}:30091/", timeout=2)
        assert proc.returncode == 0, proc.stderr
        seen.add(echo_answer(proc.stdout)["pod"])
        if len(seen) == 2:
            break
    assert seen == {f"{c}-a", f"{c}-b"}
    # trace names the local chain and the drop.
    traced = lab.netlab("trace", f"{c}-c1", f"{cip}:80", check=False)
    assert traced.returncode == 0 and "local-" in traced.stdout, traced.stdout + traced.stderr
    dropped_trace = lab.netlab("trace", f"node:{c}-control-plane", f"{cip}:80", check=False)
    assert dropped_trace.returncode == 0 and "drop" in dropped_trace.stdout.lower(), \
        dropped_trace.stdout + dropped_trace.stderr


DNS = """
kind: Cluster
apiVersion: netlab.dev/v1alpha1
dns: {upstreams: ["192.0.2.53"]}
---
apiVersion: v1
kind: Pod
metadata: {name: CLUSTER-web, labels: {app: web}}
spec:
  containers: [{name: echo, image: echo, ports: [{containerPort: 3000}]}]
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 3000}]
---
apiVersion: v1
kind: Pod
metadata: {name: CLUSTER-none}
spec:
  dnsPolicy: "None"
  dnsConfig:
    nameservers: [10.96.0.10]
    searches: [default.svc.cluster.local]
    options: [{name: ndots, value: "1"}, {name: edns0}]
  containers: [{name: echo, image: echo}]
---
apiVersion: v1
kind: Pod
metadata: {name: CLUSTER-merged}
spec:
  dnsConfig:
    nameservers: [192.0.2.1]
    searches: [default.svc.cluster.local, example.test]
    options: [{name: ndots, value: "2"}]
  containers: [{name: echo, image: echo}]
---
apiVersion: v1
kind: Pod
metadata: {name: CLUSTER-default}
spec:
  dnsPolicy: Default
  containers: [{name: echo, image: echo}]
"""


def test_dns_policy_and_dns_config(lab):
    lab.netlab("up", str(lab.write("dns.yaml", DNS)))
    c = lab.cluster
    cip = json.loads(lab.netlab("get", "svc", "web", "-o", "json").stdout)["spec"]["clusterIP"]

    def resolv(pod: str) -> str:  # as the container sees it, in its own mount namespace
        return lab.kubectl("exec", f"{c}-{pod}", "--", "cat", "/etc/resolv.conf").stdout

    assert resolv("none") == ("nameserver 10.96.0.10\nsearch default.svc.cluster.local\n"
                              "options ndots:1 edns0\n")
    assert resolv("merged") == ("nameserver 10.96.0.10\nnameserver 192.0.2.1\n"
                                "search default.svc.cluster.local svc.cluster.local cluster.local example.test\n"
                                "options ndots:2\n")
    assert resolv("default") == "nameserver 192.0.2.53\n"
    # Real clients use it: the search path finds the service, curl reaches it by its short name.
    short = lab.in_ns(f"{c}-none", "dig", "+search", "+short", "+time=2", "+tries=1", "web")
    assert short.stdout.split() == [cip], short
    assert echo_answer(lab.curl(f"{c}-none", "http://web/").stdout)["pod"] == f"{c}-web"
    # Default: no cluster search path, and the node's resolver (an unreachable upstream here) knows no "web".
    assert lab.curl(f"{c}-default", "http://web/", timeout=4).returncode != 0


def test_invalid_dns_config_is_refused_with_every_problem(lab):
    bad = lab.write("bad.yaml", """
    apiVersion: v1
    kind: Pod
    metadata: {name: CLUSTER-bad}
    spec:
      dnsPolicy: "None"
      dnsConfig: {nameservers: [not-an-ip, 192.0.2.1, 192.0.2.2, 192.0.2.3], searches: [Bad_Domain]}
      containers: [{name: echo, image: echo}]
    """)
    proc = lab.netlab("up", str(bad), check=False)
    assert proc.returncode != 0
    for field in ("dnsConfig.nameservers[0]", "dnsConfig.searches[0]", "more than 3 nameservers"):
        assert field in proc.stderr + proc.stdout, proc.stderr
    assert f"{lab.cluster}-bad" not in lab.host("ip", "netns", "list").stdout


EXTERNAL_IPS = """
kind: Cluster
apiVersion: netlab.dev/v1alpha1
---
apiVersion: v1
kind: Pod
metadata: {name: CLUSTER-srv, labels: {app: eip}}
spec:
  nodeName: CLUSTER-worker
  containers: [{name: echo, image: echo, ports: [{containerPort: 3000}]}]
---
apiVersion: v1
kind: Pod
metadata: {name: CLUSTER-cli}
spec:
  nodeName: CLUSTER-worker2
  containers: [{name: echo, image: echo, ports: [{containerPort: 3000}]}]
---
apiVersion: v1
kind: Service
metadata: {name: eip}
spec:
  selector: {app: eip}
  externalIPs: [192.0.2.80]
  ports: [{port: 8080, targetPort: 3000}]
---
apiVersion: v1
kind: Service
metadata: {name: eip-local}
spec:
  selector: {app: eip}
  externalIPs: [192.0.2.81]
  externalTrafficPolicy: Local
  ports: [{port: 8080, targetPort: 3000}]
"""


def test_external_ips(lab):
    lab.netlab("up", str(lab.write("eip.yaml", EXTERNAL_IPS)))
    c = lab.cluster
    nodes = _node_ips(lab)
    # The external IPs are routed to the control plane, which has no endpoint (only in the isolated host).
    for ip in ("192.0.2.80", "192.0.2.81"):
        lab.host("ip", "route", "add", f"{ip}/32", "via", nodes[f"{c}-control-plane"], check=True)
    answer = echo_answer(lab.curl(None, "http://192.0.2.80:8080/").stdout)
    assert answer["pod"] == f"{c}-srv"
    assert answer["client"].split(":")[0] == nodes[f"{c}-control-plane"], "Cluster policy: SNAT to the node"
    # Local policy on a node without an endpoint drops; routed to the endpoint's node, the client IP stays.
    assert lab.curl(None, "http://192.0.2.81:8080/", timeout=1).returncode == 28
    lab.host("ip", "route", "replace", "192.0.2.81/32", "via", nodes[f"{c}-worker"], check=True)
    local = echo_answer(lab.curl(None, "http://192.0.2.81:8080/").stdout)
    assert local["pod"] == f"{c}-srv" and not local["client"].startswith(nodes[f"{c}-worker"] + ":")
    # Only the service's port is DNATed.
    assert lab.curl(None, "http://192.0.2.80:3000/", timeout=1).returncode != 0
    # A pod reaches the external IP through its own node's rules.
    assert echo_answer(lab.curl(f"{c}-cli", "http://192.0.2.80:8080/").stdout)["pod"] == f"{c}-srv"
    traced = lab.netlab("trace", f"{c}-cli", "192.0.2.80:8080", check=False)
    assert traced.returncode == 0 and "external IP 192.0.2.80:8080" in traced.stdout, traced.stdout + traced.stderr


SOURCE_RANGES = """
kind: Cluster
apiVersion: netlab.dev/v1alpha1
loadBalancerPool: {start: 172.18.255.210, end: 172.18.255.211}
---
apiVersion: v1
kind: Pod
metadata: {name: CLUSTER-lbsrv, labels: {app: lbsr}}
spec:
  containers: [{name: echo, image: echo, ports: [{containerPort: 3000}]}]
---
apiVersion: v1
kind: Pod
metadata: {name: CLUSTER-lbcli}
spec:
  containers: [{name: echo, image: echo, ports: [{containerPort: 3000}]}]
---
apiVersion: v1
kind: Service
metadata: {name: host-only}
spec:
  type: LoadBalancer
  loadBalancerSourceRanges: [172.18.0.1/32]
  selector: {app: lbsr}
  ports: [{port: 80, targetPort: 3000}]
---
apiVersion: v1
kind: Service
metadata: {name: pods-only}
spec:
  type: LoadBalancer
  loadBalancerSourceRanges: [10.244.0.0/16]
  selector: {app: lbsr}
  ports: [{port: 80, targetPort: 3000}]
"""


def test_load_balancer_source_ranges(lab):
    lab.netlab("up", str(lab.write("lbsr.yaml", SOURCE_RANGES)))
    c = lab.cluster

    def lb(name: str) -> str:
        svc = json.loads(lab.netlab("get", "svc", name, "-o", "json").stdout)
        return svc["status"]["loadBalancer"]["ingress"][0]["ip"]

    host_only, pods_only = lb("host-only"), lb("pods-only")
    assert echo_answer(lab.curl(None, f"http://{host_only}/").stdout)["pod"] == f"{c}-lbsrv"
    assert lab.curl(None, f"http://{pods_only}/", timeout=1).returncode == 28, "the host is not in the range"
    assert echo_answer(lab.curl(f"{c}-lbcli", f"http://{pods_only}/").stdout)["pod"] == f"{c}-lbsrv"
    assert lab.curl(f"{c}-lbcli", f"http://{host_only}/", timeout=1).returncode == 28, "a pod is not in the range"
    traced = lab.netlab("trace", "host", f"{pods_only}:80", check=False)
    assert traced.returncode == 0 and "loadBalancerSourceRanges" in traced.stdout, traced.stdout + traced.stderr


TOPOLOGY = """
kind: Cluster
apiVersion: netlab.dev/v1alpha1
nodes:
  - role: control-plane
  - role: worker
    labels: {topology.kubernetes.io/zone: zone-a}
  - role: worker
    labels: {topology.kubernetes.io/zone: zone-b}
---
apiVersion: v1
kind: Pod
metadata: {name: CLUSTER-sa, labels: {app: zoned}}
spec:
  nodeName: CLUSTER-worker
  containers: [{name: echo, image: echo, ports: [{containerPort: 3000}]}]
---
apiVersion: v1
kind: Pod
metadata: {name: CLUSTER-sb, labels: {app: zoned}}
spec:
  nodeName: CLUSTER-worker2
  containers: [{name: echo, image: echo, ports: [{containerPort: 3000}]}]
---
apiVersion: v1
kind: Pod
metadata: {name: CLUSTER-ca}
spec:
  nodeName: CLUSTER-worker
  containers: [{name: echo, image: echo, ports: [{containerPort: 3000}]}]
---
apiVersion: v1
kind: Pod
metadata: {name: CLUSTER-cb}
spec:
  nodeName: CLUSTER-worker2
  containers: [{name: echo, image: echo, ports: [{containerPort: 3000}]}]
---
apiVersion: v1
kind: Service
metadata: {name: zonal}
spec:
  trafficDistribution: PreferSameZone
  selector: {app: zoned}
  ports: [{port: 80, targetPort: 3000}]
---
apiVersion: v1
kind: Service
metadata: {name: near}
spec:
  trafficDistribution: PreferSameNode
  selector: {app: zoned}
  ports: [{port: 80, targetPort: 3000}]
"""


def test_traffic_distribution_prefers_the_zone_and_the_node(lab):
    lab.netlab("up", str(lab.write("topology.yaml", TOPOLOGY)))
    c = lab.cluster
    sa, sb = f"{c}-sa", f"{c}-sb"
    # The EndpointSlice carries each endpoint's zone and the hints the controller sets.
    slices = json.loads(lab.kubectl("get", "endpointslices", "-l", "kubernetes.io/service-name=near",
                                    "-o", "json").stdout)["items"]
    eps = {e["targetRef"]["name"]: e for s in slices for e in s["endpoints"]}
    assert eps[sa]["zone"] == "zone-a" and eps[sa]["hints"] == {
        "forZones": [{"name": "zone-a"}], "forNodes": [{"name": f"{c}-worker"}]}, eps
    # Clients reach the endpoints of their own zone (and node) only.
    assert _pods_seen(lab, f"{c}-ca", "http://zonal.default.svc.cluster.local/") == {sa}
    assert _pods_seen(lab, f"{c}-cb", "http://zonal.default.svc.cluster.local/") == {sb}
    assert _pods_seen(lab, f"{c}-cb", "http://near.default.svc.cluster.local/") == {sb}
    # A node without a zone label has no preference: both endpoints.
    cip = json.loads(lab.netlab("get", "svc", "zonal", "-o", "json").stdout)["spec"]["clusterIP"]
    assert _pods_seen(lab, f"{c}-control-plane", f"http://{cip}/", tries=40) == {sa, sb}
    traced = lab.netlab("trace", f"{c}-ca", "zonal:80", check=False)
    assert traced.returncode == 0 and "trafficDistribution PreferSameZone: 1 of the service's 2" in traced.stdout, \
        traced.stdout + traced.stderr
    # No endpoint left in zone-a: zone-a's clients fall back to every endpoint.
    lab.netlab("delete", "pod", sa)
    def answered_by() -> set[str]:
        procs = [lab.curl(f"{c}-ca", "http://zonal.default.svc.cluster.local/", timeout=2) for _ in range(3)]
        return {echo_answer(p.stdout)["pod"] if p.returncode == 0 else "failed" for p in procs}

    wait_for(lambda: answered_by() == {sb}, timeout=60, interval=0.5, what="the fallback to zone-b")
    assert _pods_seen(lab, f"{c}-ca", "http://near.default.svc.cluster.local/") == {sb}
