"""Issue 17 (part): hostNetwork pods, hostPort (TCP and UDP) and the pod's FQDN in /etc/hosts, with real packets."""

from __future__ import annotations

import json

from conftest import echo_answer, wait_for

MANIFEST = """
apiVersion: v1
kind: Pod
metadata: {name: CLUSTER-h, labels: {app: hn}}
spec:
  hostNetwork: true
  dnsPolicy: ClusterFirstWithHostNet
  nodeName: CLUSTER-worker
  containers:
  - name: echo
    image: echo
    ports: [{containerPort: 18080}]
    readinessProbe: {httpGet: {path: /, port: 18080}, periodSeconds: 1}
---
apiVersion: v1
kind: Pod
metadata: {name: CLUSTER-hd}
spec:
  hostNetwork: true
  nodeName: CLUSTER-worker2
  containers: [{name: sleep, image: busybox, command: [sleep, "3600"]}]
---
apiVersion: v1
kind: Service
metadata: {name: hn}
spec:
  selector: {app: hn}
  ports: [{port: 80, targetPort: 18080}]
---
apiVersion: v1
kind: Pod
metadata: {name: CLUSTER-hp}
spec:
  nodeName: CLUSTER-worker
  containers:
  - name: echo
    image: echo
    ports:
    - {containerPort: 3000, hostPort: 8080}
    - {containerPort: 53, hostPort: 5353, protocol: UDP}
---
apiVersion: v1
kind: Pod
metadata: {name: CLUSTER-c}
spec:
  nodeName: CLUSTER-worker
  hostname: web-0
  subdomain: sub
  containers: [{name: echo, image: echo, ports: [{containerPort: 3000}]}]
---
apiVersion: v1
kind: Pod
metadata: {name: CLUSTER-c2}
spec:
  nodeName: CLUSTER-worker2
  containers: [{name: echo, image: echo, ports: [{containerPort: 3000}]}]
"""

SECOND = """
apiVersion: v1
kind: Pod
metadata: {name: CLUSTER-hp2}
spec:
  containers: [{name: echo, image: echo, ports: [{containerPort: 3000, hostPort: 8080}]}]
"""


def _node_ips(lab) -> dict[str, str]:
    return {n["metadata"]["name"]: n["status"]["addresses"][0]["address"]
            for n in json.loads(lab.netlab("get", "nodes", "-o", "json").stdout)["items"]}


def _answer(lab, netns: str | None, url: str) -> dict:
    proc = wait_for(lambda: (p := lab.curl(netns, url, timeout=2)).returncode == 0 and p, timeout=20,
                    what=f"{url} from {netns or 'the host'}")
    return echo_answer(proc.stdout)


UDP_CLIENT = ("import socket, sys; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(2); "
              "s.sendto(b'hi', (sys.argv[1], int(sys.argv[2]))); print(s.recv(65535).decode())")


def _udp(lab, netns: str | None, ip: str, port: int) -> str:
    argv = ["python3", "-c", UDP_CLIENT, ip, str(port)]
    proc = lab.host(*argv, timeout=10) if netns is None else lab.in_ns(netns, *argv, timeout=10)
    return proc.stdout


def test_host_network_pods(lab):
    lab.netlab("up", str(lab.write("hn.yaml", MANIFEST)))
    c = lab.cluster
    nodes = _node_ips(lab)
    worker = nodes[f"{c}-worker"]
    # status.podIP is the node's address, and `get pods -o wide` shows it
    assert lab.pod_ip(f"{c}-h") == worker
    wide = next(line for line in lab.netlab("get", "pods", "-o", "wide").stdout.splitlines()
                if line.startswith(f"{c}-h "))
    assert worker in wide.split()
    # the container listens in the node's own namespace: no pod namespace exists for it
    assert lab.in_ns(f"{c}-h", "true").returncode != 0
    answer = _answer(lab, None, f"http://{worker}:18080/")
    assert answer["pod"] == f"{c}-h" and answer["ip"] == worker
    # containerd's pod sysctls are not set in the node's namespace
    port_start = lab.in_ns(f"{c}-worker", "cat", "/proc/sys/net/ipv4/ip_unprivileged_port_start").stdout
    assert port_start.strip() == "1024"
    # a Service selecting it has the endpoint node-IP:port and works from a pod and from a node
    def ready_addresses():  # the readiness probe runs against the node's address, in the node's namespace
        eps = json.loads(lab.netlab("get", "endpoints", "hn", "-o", "json").stdout)
        return [a["ip"] for s in eps.get("subsets") or [] for a in s.get("addresses") or []]
    assert wait_for(ready_addresses, timeout=20, what="the hostNetwork endpoint ready") == [worker]
    cip = json.loads(lab.netlab("get", "svc", "hn", "-o", "json").stdout)["spec"]["clusterIP"]
    assert _answer(lab, f"{c}-c2", f"http://{cip}/")["pod"] == f"{c}-h"
    assert _answer(lab, f"{c}-worker2", f"http://{cip}/")["pod"] == f"{c}-h"
    # ClusterFirstWithHostNet: cluster DNS; ClusterFirst on the host network falls back to Default
    with_net = lab.netlab("exec", f"{c}-h", "--", "cat", "/etc/resolv.conf").stdout
    assert "nameserver 10.96.0.10" in with_net and "search default.svc.cluster.local" in with_net
    plain = lab.netlab("exec", f"{c}-hd", "--", "cat", "/etc/resolv.conf").stdout
    assert "10.96.0.10" not in plain and "nameserver" in plain
    # the pod's FQDN in /etc/hosts, as the kubelet writes it
    pod_ip = lab.pod_ip(f"{c}-c")
    hosts = lab.netlab("exec", f"{c}-c", "--", "cat", "/etc/hosts").stdout
    assert f"{pod_ip}\tweb-0.sub.default.svc.cluster.local\tweb-0\n" in hosts
    # deleting it stops its container and leaves the node (and the pods on it) as they were
    lab.netlab("delete", "pod", f"{c}-h")
    wait_for(lambda: lab.curl(None, f"http://{worker}:18080/", timeout=1).returncode != 0, timeout=20,
             what="the hostNetwork pod's server gone")
    assert lab.in_ns(f"{c}-worker", "true").returncode == 0
    assert _answer(lab, f"{c}-c2", f"http://{pod_ip}:3000/")["pod"] == f"{c}-c"


def test_host_ports(lab):
    lab.netlab("up", str(lab.write("hn.yaml", MANIFEST)))
    c = lab.cluster
    nodes = _node_ips(lab)
    worker, worker2 = nodes[f"{c}-worker"], nodes[f"{c}-worker2"]
    hp_ip = lab.pod_ip(f"{c}-hp")
    url = f"http://{worker}:8080/"
    # from the host: the client address is kept
    answer = _answer(lab, None, url)
    assert answer["pod"] == f"{c}-hp" and answer["client"].split(":")[0] == "172.18.0.1"
    # from a pod on another node, from another node, from the node itself
    assert _answer(lab, f"{c}-c2", url)["pod"] == f"{c}-hp"
    assert _answer(lab, f"{c}-worker2", url)["pod"] == f"{c}-hp"
    assert _answer(lab, f"{c}-worker", url)["pod"] == f"{c}-hp"
    # hairpin: a pod of the same node, masqueraded to the node's bridge address
    hairpin = _answer(lab, f"{c}-c", url)
    assert hairpin["pod"] == f"{c}-hp" and hairpin["client"].split(":")[0].endswith(".1")
    # UDP
    assert f"pod: {c}-hp" in _udp(lab, None, worker, 5353)
    assert f"pod: {c}-hp" in _udp(lab, f"{c}-c2", worker, 5353)
    # not on the other node
    assert lab.curl(None, f"http://{worker2}:8080/", timeout=1).returncode != 0
    # visible in the node's ruleset
    ruleset = lab.in_ns(f"{c}-worker", "nft", "list", "ruleset").stdout
    assert "chain hostport-prerouting" in ruleset and "hostport-dispatch" in ruleset
    assert f"dnat ip to {hp_ip}:3000" in ruleset and f"dnat ip to {hp_ip}:53" in ruleset
    # netlab trace shows the DNAT
    out = lab.netlab("trace", "host", f"{worker}:8080", timeout=60).stdout
    assert "hostPort 8080/tcp" in out and f"DNAT to {hp_ip}:3000" in out
    # a taken hostPort is a scheduling conflict: the next pod goes to the other worker, the one after stays
    # Pending with kube-scheduler's FailedScheduling event until a port is free again
    second_file = lab.write("hp2.yaml", SECOND)
    lab.netlab("apply", "-f", str(second_file))
    second = json.loads(lab.netlab("get", "pod", f"{c}-hp2", "-o", "json").stdout)
    assert second["spec"]["nodeName"] == f"{c}-worker2"
    assert _answer(lab, None, f"http://{worker2}:8080/")["pod"] == f"{c}-hp2"
    lab.netlab("apply", "-f", str(lab.write("hp3.yaml", SECOND.replace("hp2", "hp3"))))
    third = json.loads(lab.kubectl("get", "pod", f"{c}-hp3", "-o", "json").stdout)
    assert third["status"]["phase"] == "Pending" and "nodeName" not in third["spec"]
    events = lab.kubectl("get", "events", "--field-selector", f"involvedObject.name={c}-hp3").stdout
    assert "FailedScheduling" in events
    assert "0/2 nodes are available: 2 node(s) didn't have free ports for the requested pod ports." in events
    lab.netlab("delete", "-f", str(second_file))
    wait_for(lambda: _answer_or_none(lab, f"http://{worker2}:8080/") == f"{c}-hp3", timeout=30,
             what="the Pending pod scheduled once the port is free")
    assert json.loads(lab.netlab("get", "pod", f"{c}-hp3", "-o", "json").stdout)["spec"]["nodeName"] == f"{c}-worker2"


def _answer_or_none(lab, url: str) -> str | None:
    proc = lab.curl(None, url, timeout=2)
    return echo_answer(proc.stdout).get("pod") if proc.returncode == 0 else None


def test_bad_host_ports_are_refused_naming_the_field(lab):
    bad = """
    apiVersion: v1
    kind: Pod
    metadata: {name: CLUSTER-bad}
    spec:
      hostNetwork: true
      containers:
      - name: echo
        image: echo
        ports: [{containerPort: 80, hostPort: 8080}, {containerPort: 81, hostPort: 70000}]
    """
    proc = lab.netlab("up", str(lab.write("bad.yaml", bad)), check=False)
    text = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "spec.containers[0].ports[0].hostPort" in text and "must match `containerPort`" in text
    assert "spec.containers[0].ports[1].hostPort" in text and "65535" in text
