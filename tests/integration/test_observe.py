"""Issue 19: `netlab observe` shows each connection's fate from the kernel's NFLOG records, with real packets."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import threading
import time

from conftest import Lab, echo_answer, wait_for

LAB = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: CLUSTER-app}
spec:
  replicas: 2
  selector: {matchLabels: {app: CLUSTER-app}}
  template:
    metadata: {labels: {app: CLUSTER-app}}
    spec:
      containers: [{name: echo, image: echo, ports: [{name: http, containerPort: 3000}]}]
---
apiVersion: v1
kind: Pod
metadata: {name: CLUSTER-web, labels: {role: web}}
spec:
  nodeName: CLUSTER-worker
  containers: [{name: echo, image: echo, ports: [{containerPort: 8080}]}]
---
apiVersion: v1
kind: Pod
metadata: {name: CLUSTER-other, labels: {role: other}}
spec:
  nodeName: CLUSTER-worker
  containers: [{name: echo, image: echo, ports: [{containerPort: 8080}]}]
---
apiVersion: v1
kind: Pod
metadata: {name: CLUSTER-api, labels: {app: api}}
spec:
  nodeName: CLUSTER-worker2
  containers: [{name: echo, image: echo, ports: [{containerPort: 3000}]}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-web-to-api}
spec:
  podSelector: {matchLabels: {app: api}}
  policyTypes: [Ingress]
  ingress:
    - from: [{podSelector: {matchLabels: {role: web}}}]
      ports: [{port: 3000}]
---
apiVersion: v1
kind: Service
metadata: {name: app-service}
spec:
  selector: {app: CLUSTER-app}
  ports: [{port: 80, targetPort: http}]
---
apiVersion: v1
kind: Service
metadata: {name: nobody}
spec:
  selector: {app: nobody}
  ports: [{port: 80}]
"""

NODES = ("control-plane", "worker", "worker2")


class Watcher:
    """`netlab observe -o json` in the background; each line kept with the time it arrived."""

    def __init__(self, lab: Lab) -> None:
        self.proc = subprocess.Popen(
            ["nsenter", f"--net=/run/netns/{lab.host_ns}", sys.executable, "-m", "netlab.cli", "--cluster",
             lab.cluster, "observe", "-o", "json", "--timeout", "240"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.events: list[tuple[float, dict]] = []
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.events.append((time.monotonic(), json.loads(line)))

    def find(self, since: float, **want) -> tuple[float, dict] | None:
        for at, ev in list(self.events):
            if at >= since and all(_get(ev, k) == v for k, v in want.items()):
                return at, ev
        return None

    def stop(self) -> str:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.thread.join(timeout=5)
        return self.proc.stderr.read()


def _get(ev: dict, path: str):
    for part in path.split("__"):
        ev = ev.get(part) if isinstance(ev, dict) else None
    return ev


def _logging(lab: Lab) -> list[str]:
    """The nodes whose table has a log statement."""
    return [n for n in NODES
            if " log " in lab.in_ns(f"{lab.cluster}-{n}", "nft", "list", "table", "inet", "netlab").stdout]


def _cluster_ip(lab: Lab, svc: str) -> str:
    return json.loads(lab.netlab("get", "svc", svc, "-o", "json").stdout)["spec"]["clusterIP"]


def test_observe_verdicts(lab: Lab) -> None:
    c = lab.cluster
    lab.netlab("up", str(lab.write("lab.yaml", LAB)), timeout=180)
    assert _logging(lab) == [], "with nobody observing the ruleset must have no log statements"
    api_ip = lab.pod_ip(f"{c}-api")
    app_ip, nobody_ip = _cluster_ip(lab, "app-service"), _cluster_ip(lab, "nobody")
    watcher = Watcher(lab)
    try:
        wait_for(lambda: _logging(lab) == list(NODES), timeout=30, what="log statements on every node")
        time.sleep(0.5)  # the observer prints "observing" once it saw them too

        # Allowed by the named policy rule, delivered on the api pod's node.
        start = time.monotonic()
        assert lab.curl(c + "-web", f"http://{api_ip}:3000/", timeout=5).returncode == 0
        at, ev = wait_for(lambda: watcher.find(start, verdict="FORWARDED", destination__ip=api_ip,
                                               source__pod=f"default/{c}-web"), timeout=5, what="allowed flow")
        assert ev["policy"] == "default/allow-web-to-api ingress rule 0", ev
        assert ev["node"] == f"{c}-worker2" and ev["protocol"] == "TCP" and "SYN" in ev["flags"], ev
        assert at - start < 1.0 + 0.5, f"shown {at - start:.2f}s after the request"

        # Dropped: the api pod is isolated and `role: other` is not allowed.
        start = time.monotonic()
        assert lab.curl(c + "-other", f"http://{api_ip}:3000/", timeout=1).returncode != 0
        _, ev = wait_for(lambda: watcher.find(start, verdict="DROPPED", source__pod=f"default/{c}-other"),
                         timeout=5, what="dropped flow")
        assert ev["reason"] == "default deny: pod isolated for ingress by policies default/allow-web-to-api", ev
        assert ev["destination"]["pod"] == f"default/{c}-api", ev

        # Rejected: a Service without endpoints.
        start = time.monotonic()
        assert lab.curl(c + "-web", f"http://{nobody_ip}:80/", timeout=3).returncode == 7  # refused
        at, ev = wait_for(lambda: watcher.find(start, verdict="REJECTED", service="default/nobody"),
                          timeout=5, what="rejected flow")
        assert ev["reason"] == "Service default/nobody has no ready endpoints", ev
        assert ev["source"]["pod"] == f"default/{c}-web" and ev["service_address"] == f"{nobody_ip}:80", ev
        assert at - start < 1.0 + 0.5

        # DNAT to the endpoint the kernel chose, named as the pod that answered.
        for _ in range(3):
            start = time.monotonic()
            out = lab.curl(c + "-web", f"http://{app_ip}:80/", timeout=5)
            assert out.returncode == 0, out.stderr
            answered = echo_answer(out.stdout)["pod"]
            _, ev = wait_for(lambda s=start: watcher.find(s, service="default/app-service", verdict="FORWARDED"),
                             timeout=5, what="DNAT flow")
            assert ev["destination"]["pod"] == f"default/{answered}", (ev, answered)
            assert ev["service_address"] == f"{app_ip}:80" and ev["destination"]["port"] == 3000, ev
            assert any(n.startswith(f"DNAT {app_ip}:80 -> ") for n in ev["nat"]), ev

        # Conntrack DESTROY: a refused connection (RST) is closed at once and its entry goes within 10 s.
        start = time.monotonic()
        app_pod, app_pod_ip = ev["destination"]["pod"], ev["destination"]["ip"]  # not isolated: RST from its kernel
        assert lab.curl(c + "-web", f"http://{app_pod_ip}:3001/", timeout=3).returncode == 7
        _, ev = wait_for(lambda: watcher.find(start, verdict="ENDED", destination__port=3001), timeout=25,
                         what="conntrack DESTROY of the refused connection")
        assert ev["source"]["pod"] == f"default/{c}-web" and ev["destination"]["pod"] == app_pod, ev
        assert ev["node"] == f"{c}-worker" and ev["flags"] == ["CLOSE"], ev
        assert "1 packets/60 bytes sent, 1/40 back" in ev["reason"], ev
    finally:
        err = watcher.stop()
    assert watcher.proc.returncode == 0, err
    wait_for(lambda: _logging(lab) == [], timeout=15, what="log statements gone after the observer ended")
    _counters_in_describe(lab, api_ip, app_ip)
    # What it saw is recorded: --last with a filter prints it and stops.
    out = lab.netlab("observe", "--last", "50", "--verdict", "rejected", "-o", "json").stdout.splitlines()
    assert [json.loads(line)["service"] for line in out] == ["default/nobody"], out


def _counters_in_describe(lab: Lab, api_ip: str, app_ip: str) -> None:
    """`describe networkpolicy` / `describe svc` show the nft counters of the rules (always compiled in)."""
    c = lab.cluster
    assert lab.curl(c + "-web", f"http://{api_ip}:3000/", timeout=5).returncode == 0
    assert lab.curl(c + "-other", f"http://{api_ip}:3000/", timeout=1).returncode != 0
    answered = [echo_answer(lab.curl(c + "-web", f"http://{app_ip}:80/", timeout=5).stdout)["pod"] for _ in range(4)]
    out = lab.netlab("describe", "networkpolicy", "allow-web-to-api").stdout
    rows = {(m[1], m[2], m[3]): int(m[4]) for m in re.finditer(
        r"^\s+(\S+)\s+(.*?)\s+(allowed|dropped)\s+(\d+) packets\s+\d+ bytes$", out, re.M)}
    api = f"default/{c}-api"
    assert rows[(api, "ingress rule 0", "allowed")] >= 1, out
    assert rows[(api, "ingress default deny (isolated by default/allow-web-to-api)", "dropped")] >= 1, out
    out = lab.netlab("describe", "svc", "app-service").stdout
    section = out.split("New connections per endpoint (nft counters):\n", 1)[1]
    counted = {line.split()[2]: int(line.split()[3]) for line in section.splitlines()
               if line.strip().endswith(" connections")}
    for pod in set(answered):
        assert counted[pod] >= answered.count(pod), (out, answered)
    assert sum(counted.values()) >= len(answered), out


LOCAL = """
apiVersion: v1
kind: Pod
metadata: {name: CLUSTER-ep, labels: {app: CLUSTER-local}}
spec:
  nodeName: CLUSTER-worker
  containers: [{name: echo, image: echo, ports: [{containerPort: 3000}]}]
---
apiVersion: v1
kind: Pod
metadata: {name: CLUSTER-cl}
spec:
  nodeName: CLUSTER-worker2
  containers: [{name: echo, image: echo, ports: [{containerPort: 3000}]}]
---
apiVersion: v1
kind: Service
metadata: {name: itp-local}
spec:
  internalTrafficPolicy: Local
  selector: {app: CLUSTER-local}
  ports: [{port: 80, targetPort: 3000}]
---
apiVersion: v1
kind: Service
metadata: {name: etp-local}
spec:
  type: NodePort
  externalTrafficPolicy: Local
  selector: {app: CLUSTER-local}
  ports: [{port: 80, targetPort: 3000}]
"""


def test_observe_traffic_policy_drops(lab: Lab) -> None:
    """Drops the service rules know besides policy and missing endpoints: a traffic policy Local reached on
    a node without a local endpoint (the client waits: kube-proxy drops), named with the Service."""
    c = lab.cluster
    lab.netlab("up", str(lab.write("local.yaml", LOCAL)), timeout=180)
    itp_ip = _cluster_ip(lab, "itp-local")
    etp = json.loads(lab.netlab("get", "svc", "etp-local", "-o", "json").stdout)
    node_port = etp["spec"]["ports"][0]["nodePort"]
    nodes = {n["metadata"]["name"]: n["status"]["addresses"][0]["address"]
             for n in json.loads(lab.netlab("get", "nodes", "-o", "json").stdout)["items"]}
    worker2 = nodes[f"{c}-worker2"]
    watcher = Watcher(lab)
    try:
        wait_for(lambda: _logging(lab) == list(NODES), timeout=30, what="log statements on every node")
        time.sleep(0.5)
        # internalTrafficPolicy Local: the client's node (worker2) has no endpoint of the Service.
        start = time.monotonic()
        assert lab.curl(f"{c}-cl", f"http://{itp_ip}:80/", timeout=1).returncode == 28
        at, ev = wait_for(lambda: watcher.find(start, verdict="DROPPED", service="default/itp-local"),
                          timeout=5, what="internalTrafficPolicy drop")
        assert ev["reason"] == "internalTrafficPolicy Local: no endpoint of default/itp-local on this node", ev
        assert ev["node"] == f"{c}-worker2" and ev["source"]["pod"] == f"default/{c}-cl", ev
        assert ev["service_address"] == f"{itp_ip}:80" and at - start < 1.0 + 1.5, ev
        # externalTrafficPolicy Local: the NodePort of worker2, reached from the host.
        start = time.monotonic()
        assert lab.curl(None, f"http://{worker2}:{node_port}/", timeout=1).returncode == 28
        _, ev = wait_for(lambda: watcher.find(start, verdict="DROPPED", service="default/etp-local"),
                         timeout=5, what="externalTrafficPolicy drop")
        assert ev["reason"] == "externalTrafficPolicy Local: no endpoint of default/etp-local on this node", ev
        assert ev["node"] == f"{c}-worker2" and ev["source"]["what"] == "host", ev
        # The node with the endpoint forwards both.
        start = time.monotonic()
        assert lab.curl(None, f"http://{nodes[f'{c}-worker']}:{node_port}/", timeout=5).returncode == 0
        _, ev = wait_for(lambda: watcher.find(start, verdict="FORWARDED", service="default/etp-local"),
                         timeout=5, what="externalTrafficPolicy forward on the endpoint's node")
        assert ev["destination"]["pod"] == f"default/{c}-ep", ev
    finally:
        err = watcher.stop()
    assert watcher.proc.returncode == 0, err
    # The filters and JSON output over the recorded events: only the drops, only this Service.
    out = lab.netlab("observe", "--since", "5m", "--verdict", "dropped", "--service", "itp-local", "-o", "json")
    events = [json.loads(line) for line in out.stdout.splitlines()]
    assert events and {e["service"] for e in events} == {"default/itp-local"}, out.stdout
    assert {e["verdict"] for e in events} == {"DROPPED"}, out.stdout


DUAL = """
kind: Cluster
apiVersion: kind.x-k8s.io/v1alpha4
networking: {ipFamily: dual}
nodes: [{role: control-plane}, {role: worker}, {role: worker}]
---
""" + LAB.replace("metadata: {name: app-service}\nspec:\n",
                  "metadata: {name: app-service}\nspec:\n  ipFamilyPolicy: PreferDualStack\n")


def test_observe_names_ipv6_flows(lab: Lab) -> None:
    """In a dual-stack cluster observe reads IPv6 packets and conntrack entries as it reads IPv4 ones."""
    c = lab.cluster
    lab.netlab("up", str(lab.write("dual.yaml", DUAL)), timeout=180)
    svc = json.loads(lab.netlab("get", "svc", "app-service", "-o", "json").stdout)["spec"]
    cluster_ip6 = next(ip for ip in svc["clusterIPs"] if ":" in ip)
    api6 = next(e["ip"] for e in json.loads(lab.netlab("get", "pod", f"{c}-api", "-o", "json").stdout)
                ["status"]["podIPs"] if ":" in e["ip"])
    watcher = Watcher(lab)
    try:
        wait_for(lambda: _logging(lab) == list(NODES), timeout=30, what="log statements on every node")
        time.sleep(0.5)
        start = time.monotonic()
        answer = lab.curl(f"{c}-web", f"http://[{cluster_ip6}]/", timeout=5)
        assert answer.returncode == 0, answer.stderr
        backend = echo_answer(answer.stdout)["pod"]
        _, ev = wait_for(lambda: watcher.find(start, verdict="FORWARDED", service="default/app-service"),
                         timeout=5, what="the IPv6 ClusterIP connection's verdict")
        assert ev["service_address"] == f"[{cluster_ip6}]:80" and ev["source"]["pod"] == f"default/{c}-web", ev
        assert ev["destination"]["pod"] == f"default/{backend}" and ":" in ev["destination"]["ip"], ev
        # a refused connection's conntrack entry (CLOSE) goes within seconds, then its IPv6 tuples are read
        start = time.monotonic()
        assert lab.curl(f"{c}-web", f"http://[{ev['destination']['ip']}]:3001/", timeout=3).returncode == 7
        _, ended = wait_for(lambda: watcher.find(start, verdict="ENDED", destination__port=3001), timeout=25,
                            what="conntrack DESTROY of the refused IPv6 connection")
        assert ended["source"]["pod"] == f"default/{c}-web", ended
        assert ended["destination"]["pod"] == ev["destination"]["pod"], ended
        assert ended["flags"] == ["CLOSE"] and ":" in ended["source"]["ip"], ended
        # the policy isolating api drops IPv6 from other, by name
        start = time.monotonic()
        assert lab.curl(f"{c}-other", f"http://[{api6}]:3000/", timeout=1).returncode == 28
        _, drop = wait_for(lambda: watcher.find(start, verdict="DROPPED", destination__pod=f"default/{c}-api"),
                           timeout=5, what="the IPv6 policy drop")
        assert drop["source"]["pod"] == f"default/{c}-other" and drop["destination"]["ip"] == api6, drop
        assert "default deny" in drop["reason"] and drop["policy"] == "default/allow-web-to-api", drop
    finally:
        err = watcher.stop()
    assert watcher.proc.returncode == 0, err
