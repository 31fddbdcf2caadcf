"""Issue 2: the pod network moves real packets, un-NATed, on one node and across nodes."""

from __future__ import annotations

import json
import os
import signal
import subprocess

import pytest
from conftest import echo_answer, wait_for

TOPOLOGY = """
kind: Cluster
apiVersion: netlab.dev/v1alpha1
mode: MODE
nodes:
  - role: control-plane
  - role: worker
  - role: worker
---
apiVersion: v1
kind: Pod
metadata:
  name: CLUSTER-a
  labels: {app: a}
spec:
  nodeName: CLUSTER-worker
  containers:
    - name: echo
      image: echo
      ports: [{containerPort: 3000}]
---
apiVersion: v1
kind: Pod
metadata:
  name: CLUSTER-b
  labels: {app: b}
spec:
  nodeName: CLUSTER-worker
  containers:
    - name: echo
      image: echo
      ports: [{containerPort: 3000}]
---
apiVersion: v1
kind: Pod
metadata:
  name: CLUSTER-c
  labels: {app: c}
spec:
  nodeSelector: {kubernetes.io/hostname: CLUSTER-worker2}
  containers:
    - name: echo
      image: echo
      ports: [{containerPort: 3000}]
"""


def _answer(proc) -> dict:
    assert proc.returncode == 0, proc.stderr
    return echo_answer(proc.stdout)


@pytest.mark.parametrize("mode", ["host-gw", "vxlan"])
def test_pods_reach_each_other_without_nat(lab, mode):
    path = lab.write("lab.yaml", TOPOLOGY.replace("MODE", mode))
    up = lab.netlab("up", str(path))
    assert "pods Ready" in up.stdout
    c = lab.cluster
    ips = {p: lab.pod_ip(f"{c}-{p}") for p in "abc"}
    pods = json.loads(lab.netlab("get", "pods", "-o", "json").stdout)["items"]
    nodes = {p["metadata"]["name"]: p["spec"]["nodeName"] for p in pods}
    assert nodes == {f"{c}-a": f"{c}-worker", f"{c}-b": f"{c}-worker", f"{c}-c": f"{c}-worker2"}

    same_node = _answer(lab.curl(f"{c}-a", f"http://{ips['b']}:3000/"))
    assert same_node["pod"] == f"{c}-b"
    assert same_node["client"].split(":")[0] == ips["a"]

    other_node = _answer(lab.curl(f"{c}-a", f"http://{ips['c']}:3000/"))
    assert other_node["pod"] == f"{c}-c" and other_node["node"] == f"{c}-worker2"
    assert other_node["client"].split(":")[0] == ips["a"], "the receiver must see the sender's pod IP"

    for pod, ip in ips.items():
        from_host = _answer(lab.curl(None, f"http://{ip}:3000/"))
        assert from_host["pod"] == f"{c}-{pod}"
    node_to_pod = _answer(lab.curl(f"{c}-worker2", f"http://{ips['c']}:3000/"))
    assert node_to_pod["pod"] == f"{c}-c"
    if mode == "vxlan":
        link = lab.in_ns(f"{c}-worker", "ip", "-d", "link", "show", "nlvxlan0")
        assert "vxlan id 1" in link.stdout


def test_second_up_changes_nothing_and_scaling_touches_only_the_difference(lab):
    deploy = """
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: CLUSTER-web}
    spec:
      replicas: REPLICAS
      selector: {matchLabels: {app: web}}
      template:
        metadata: {labels: {app: web}}
        spec:
          containers: [{name: echo, image: echo, ports: [{containerPort: 8080}]}]
    """
    path = lab.write("deploy.yaml", deploy.replace("REPLICAS", "3"))
    lab.netlab("up", str(path))

    def pods() -> dict[str, dict]:
        items = json.loads(lab.netlab("get", "pods", "-o", "json").stdout)["items"]
        return {p["metadata"]["name"]: p for p in items}

    first = pods()
    assert len(first) == 3
    assert len({p["spec"]["nodeName"] for p in first.values()}) == 2, "pods spread over both workers"
    ifindex = {n: lab.in_ns(n, "cat", "/sys/class/net/eth0/ifindex").stdout for n in first}

    again = lab.netlab("up", str(path))
    assert "Nothing changed" in again.stdout
    second = pods()
    assert set(second) == set(first)
    for name in first:
        assert second[name]["status"]["containerStatuses"][0]["restartCount"] == 0
        assert lab.in_ns(name, "cat", "/sys/class/net/eth0/ifindex").stdout == ifindex[name]

    lab.write("deploy.yaml", deploy.replace("REPLICAS", "5"))
    lab.netlab("apply", "-f", str(path))
    scaled_up = pods()
    assert len(scaled_up) == 5 and set(first) <= set(scaled_up)
    lab.write("deploy.yaml", deploy.replace("REPLICAS", "2"))
    lab.netlab("apply", "-f", str(path))
    scaled_down = pods()
    assert len(scaled_down) == 2 and set(scaled_down) <= set(scaled_up)
    gone = set(scaled_up) - set(scaled_down)
    for name in gone:
        assert not os.path.exists(f"/run/netns/{name}")
    for name in scaled_down:
        assert _answer(lab.curl(None, f"http://{scaled_down[name]['status']['podIP']}:8080/"))["pod"] == name


def test_bad_input_names_file_object_and_field_and_applies_nothing(lab):
    good = lab.write("good.yaml", """
    apiVersion: v1
    kind: Pod
    metadata: {name: CLUSTER-ok}
    spec:
      containers: [{name: echo, image: echo}]
    """)
    lab.netlab("up", str(good))
    bad = lab.write("bad.yaml", """
    apiVersion: v1
    kind: Pod
    metadata: {name: CLUSTER-new}
    spec:
      containers: [{name: echo, image: echo}]
    ---
    apiVersion: v1
    kind: Service
    metadata: {name: broken}
    spec:
      ports: [{port: 70000}]
    """)
    result = lab.netlab("apply", "-f", str(bad), check=False)
    assert result.returncode != 0
    assert "bad.yaml" in result.stderr and "Service default/broken" in result.stderr
    assert "spec.ports[0].port" in result.stderr
    names = [p["metadata"]["name"] for p in json.loads(lab.netlab("get", "pods", "-o", "json").stdout)["items"]]
    assert names == [f"{lab.cluster}-ok"]
    assert not os.path.exists(f"/run/netns/{lab.cluster}-new")

    unschedulable = lab.write("pin.yaml", """
    apiVersion: v1
    kind: Pod
    metadata: {name: CLUSTER-pinned}
    spec:
      nodeName: no-such-node
      containers: [{name: echo, image: echo}]
    """)
    result = lab.netlab("apply", "-f", str(unschedulable), check=False)
    assert result.returncode != 0 and "spec.nodeName" in result.stderr and "pin.yaml" in result.stderr

    # A namespace that is not ours, named like a new pod: refused, and left exactly as it was.
    foreign = f"{lab.cluster}-taken"
    subprocess.run(["ip", "netns", "add", foreign], check=True)
    try:
        taken = lab.write("taken.yaml", """
        apiVersion: v1
        kind: Pod
        metadata: {name: CLUSTER-taken}
        spec:
          containers: [{name: echo, image: echo}]
        """)
        result = lab.netlab("apply", "-f", str(taken), check=False)
        assert result.returncode != 0 and "already exists and belongs to something outside netlab" in result.stderr
        assert "taken.yaml" in result.stderr
        lab.netlab("down")
        assert os.path.exists(f"/run/netns/{foreign}"), "down must never remove what netlab did not make"
        assert lab.in_ns(foreign, "ip", "-o", "link").stdout.count("\n") == 1  # still only lo
    finally:
        subprocess.run(["ip", "netns", "delete", foreign], capture_output=True)


def test_killing_the_controller_leaves_pods_running(lab):
    path = lab.write("pod.yaml", """
    apiVersion: v1
    kind: Pod
    metadata: {name: CLUSTER-p}
    spec:
      containers: [{name: echo, image: echo, ports: [{containerPort: 3000}]}]
    """)
    lab.netlab("up", str(path))
    ip = lab.pod_ip(f"{lab.cluster}-p")
    before = json.loads(lab.netlab("get", "pod", f"{lab.cluster}-p", "-o", "json").stdout)
    pid = int(open(f"/run/netlab/{lab.cluster}/controller.pid").read())
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: not os.path.exists(f"/proc/{pid}"), what="controller to die")
    assert _answer(lab.curl(None, f"http://{ip}:3000/"))["pod"] == f"{lab.cluster}-p"
    again = lab.netlab("up", str(path))
    assert "Nothing changed" in again.stdout
    after = json.loads(lab.netlab("get", "pod", f"{lab.cluster}-p", "-o", "json").stdout)
    assert after["metadata"]["uid"] == before["metadata"]["uid"]
    assert after["status"]["containerStatuses"][0]["restartCount"] == 0
    assert _answer(lab.curl(None, f"http://{ip}:3000/"))["pod"] == f"{lab.cluster}-p"


def test_exec_logs_and_restart_policy(lab):
    path = lab.write("pods.yaml", """
    kind: Cluster
    apiVersion: netlab.dev/v1alpha1
    restartBackoff: {initialSeconds: 0.2, maxSeconds: 1}
    ---
    apiVersion: v1
    kind: Pod
    metadata: {name: CLUSTER-e}
    spec:
      containers: [{name: echo, image: echo, ports: [{containerPort: 3000}]}]
    ---
    apiVersion: v1
    kind: Pod
    metadata: {name: CLUSTER-crash}
    spec:
      restartPolicy: Always
      containers:
        - name: crash
          image: busybox
          command: [sh, -c, 'echo "I am $POD_NAME on $NODE_NAME at $POD_IP"; exit 3']
    ---
    apiVersion: v1
    kind: Pod
    metadata: {name: CLUSTER-once}
    spec:
      restartPolicy: Never
      containers: [{name: once, image: busybox, command: [sh, -c, 'exit 0']}]
    """)
    lab.netlab("up", str(path), "--timeout", "30")
    c = lab.cluster
    resolv = lab.netlab("exec", f"{c}-e", "--", "cat", "/etc/resolv.conf").stdout
    assert "nameserver 10.96.0.10" in resolv and "search default.svc.cluster.local" in resolv
    ip = lab.pod_ip(f"{c}-e")
    lab.curl(None, f"http://{ip}:3000/hello")
    wait_for(lambda: "/hello" in lab.netlab("logs", f"{c}-e").stdout, what="access log line")

    def crash_status():
        pod = json.loads(lab.netlab("get", "pod", f"{c}-crash", "-o", "json").stdout)
        return pod["status"]["containerStatuses"][0]

    wait_for(lambda: crash_status()["restartCount"] >= 2, timeout=15, what="restarts with back-off")
    assert f"I am {c}-crash on {c}-" in lab.netlab("logs", f"{c}-crash").stdout
    wait_for(lambda: json.loads(lab.netlab("get", "pod", f"{c}-once", "-o", "json").stdout)["status"]["phase"]
             == "Succeeded", what="Never pod to succeed")
    table = lab.netlab("get", "pods").stdout
    assert f"{c}-once " in table and "Completed" in table


def test_a_replicaset_of_its_own_and_a_deleted_pod_replaced(lab):
    path = lab.write("rs.yaml", """
    apiVersion: apps/v1
    kind: ReplicaSet
    metadata: {name: CLUSTER-rs}
    spec:
      replicas: 2
      selector: {matchLabels: {app: rs}}
      template:
        metadata: {labels: {app: rs}}
        spec:
          containers: [{name: echo, image: echo, ports: [{containerPort: 3000}]}]
    """)
    lab.netlab("up", str(path))
    assert "2         2         2" in lab.netlab("get", "rs").stdout
    before = set(json.loads(lab.netlab("get", "pods", "-l", "app=rs", "-o", "json").stdout)["items"][i]["metadata"]
                 ["name"] for i in range(2))
    victim = sorted(before)[0]
    lab.netlab("delete", "pod", victim)
    after = {p["metadata"]["name"] for p in json.loads(lab.netlab("get", "pods", "-l", "app=rs", "-o",
                                                                  "json").stdout)["items"]}
    assert len(after) == 2 and victim not in after and sorted(before)[1] in after
    for name in after:
        assert name.startswith(f"{lab.cluster}-rs-")
        assert echo_answer(lab.curl(None, f"http://{lab.pod_ip(name)}:3000/").stdout)["pod"] == name
