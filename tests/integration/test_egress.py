"""Issue 17 (part): egress to the outside through SNAT, node then host, with ip-masq-agent's semantics.

"The internet" is a namespace made here and attached to the isolated test host namespace by a veth:
203.0.113.10 (masqueraded) and 192.0.2.10 (listed in nonMasqueradeCIDRs: reached with the pod's IP).
Nothing is routed or NATed to a real uplink.
"""

from __future__ import annotations

import json
import subprocess
import sys

from conftest import echo_answer, wait_for

EGRESS = """
kind: Cluster
apiVersion: netlab.dev/v1alpha1
nonMasqueradeCIDRs: [192.0.2.0/24]
nodes: [{role: control-plane}, {role: worker}, {role: worker}]
---
apiVersion: v1
kind: Pod
metadata: {name: CLUSTER-client, labels: {app: client}}
spec:
  nodeName: CLUSTER-worker
  containers: [{name: echo, image: echo, ports: [{containerPort: 3000}]}]
---
apiVersion: v1
kind: Pod
metadata: {name: CLUSTER-server, labels: {app: server}}
spec:
  nodeName: CLUSTER-worker2
  containers: [{name: echo, image: echo, ports: [{containerPort: 3000}]}]
---
apiVersion: v1
kind: Service
metadata: {name: server}
spec:
  selector: {app: server}
  ports: [{port: 80, targetPort: 3000}]
"""


class Internet:
    """A namespace standing in for the outside, behind the test's host namespace, running an echo server."""

    def __init__(self, lab) -> None:
        self.lab = lab
        self.netns = f"nlt-inet-{lab.cluster}"
        self.host_if, self.peer_if = f"nli{lab.cluster}", f"nlo{lab.cluster}"
        self.server: subprocess.Popen | None = None

    def __enter__(self) -> Internet:
        run = self._run
        run("ip", "netns", "add", self.netns)
        run("ip", "-n", self.lab.host_ns, "link", "add", self.host_if, "type", "veth", "peer", "name",
            self.peer_if, "netns", self.netns)
        for addr in ("203.0.113.1/24", "192.0.2.1/24"):
            run("ip", "-n", self.lab.host_ns, "addr", "add", addr, "dev", self.host_if)
        run("ip", "-n", self.lab.host_ns, "link", "set", self.host_if, "up")
        for addr in ("203.0.113.10/24", "192.0.2.10/24"):
            run("ip", "-n", self.netns, "addr", "add", addr, "dev", self.peer_if)
        run("ip", "-n", self.netns, "link", "set", self.peer_if, "up")
        run("ip", "-n", self.netns, "link", "set", "lo", "up")
        # Replies to un-NATed pod addresses (nonMasqueradeCIDRs) go back through the host.
        run("ip", "-n", self.netns, "route", "add", "10.244.0.0/16", "via", "192.0.2.1")
        self.server = subprocess.Popen(
            ["ip", "netns", "exec", self.netns, sys.executable, "-m", "netlab.images.echo", "--port", "8080"],
            env={"POD_NAME": "internet", "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"},
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(lambda: self.lab.in_ns(self.netns, "curl", "-sS", "--max-time", "1",
                                        "http://203.0.113.10:8080/").returncode == 0,
                 timeout=20, what="the internet's echo server")
        return self

    def __exit__(self, *exc) -> None:
        if self.server is not None:
            self.server.kill()
            self.server.wait(timeout=10)
        subprocess.run(["ip", "netns", "delete", self.netns], capture_output=True)

    @staticmethod
    def _run(*argv: str) -> None:
        subprocess.run(argv, check=True, capture_output=True)


def _client_seen(lab, netns: str, url: str) -> str:
    proc = lab.curl(netns, url, timeout=5)
    assert proc.returncode == 0, f"{url} from {netns}: {proc.stderr}"
    return echo_answer(proc.stdout)["client"].rsplit(":", 1)[0]


def test_pods_reach_the_outside_through_snat(lab):
    lab.netlab("up", str(lab.write("egress.yaml", EGRESS)))
    c = lab.cluster
    client, server = f"{c}-client", f"{c}-server"
    client_ip, server_ip = lab.pod_ip(client), lab.pod_ip(server)
    with Internet(lab) as inet:
        # Masqueraded twice: by the node (ip-masq-agent) to its address, by the host to its own on the way
        # out; the host masquerades only underlay sources, so seeing its address means the node did too.
        assert _client_seen(lab, client, "http://203.0.113.10:8080/") == "203.0.113.1"
        # conntrack in the node: the reply comes back to the node's address (the node's SNAT).
        node_ip = json.loads(lab.netlab("get", "node", f"{c}-worker", "-o", "json").stdout)[
            "status"]["addresses"][0]["address"]
        tracked = lab.in_ns(f"{c}-worker", "conntrack", "-L", "-d", "203.0.113.10").stdout
        assert f"src={client_ip} dst=203.0.113.10" in tracked and f"dst={node_ip}" in tracked, tracked
        # nonMasqueradeCIDRs: the outside sees the pod's own IP.
        assert _client_seen(lab, client, "http://192.0.2.10:8080/") == client_ip
        # In-cluster traffic keeps the pod IP: pod to pod on another node, and through a Service.
        assert _client_seen(lab, client, f"http://{server_ip}:3000/") == client_ip
        assert _client_seen(lab, client, "http://server/") == client_ip
        # The node's table holds the ip-masq-agent chain and the non-masquerade set.
        rules = lab.in_ns(f"{c}-worker", "nft", "list", "table", "inet", "netlab").stdout
        assert "ip-masq-agent" in rules and "192.0.2.0/24" in rules, rules
        traced = lab.netlab("trace", client, "203.0.113.10:8080", check=False)
        out = traced.stdout + traced.stderr
        assert traced.returncode == 0, out
        assert f"SNAT (masquerade) {client_ip} -> " in out and "The probe matches" in out, out
        kept = lab.netlab("trace", client, "192.0.2.10:8080", "--no-probe", check=False).stdout
        assert "no SNAT: ip-masq-agent returns" in kept, kept
        assert inet.server is not None
    # down removes the host's table of this cluster.
    lab.netlab("down")
    tables = lab.host("nft", "list", "tables").stdout
    assert f"netlab-{c}" not in tables, tables
