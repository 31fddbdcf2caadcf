"""Issue 7: NetworkPolicy in the kernel, checked with real packets against the pure model.

The upstream e2e model (kubernetes test/e2e/network/netpol): namespaces x, y, z (label `ns: <name>`),
each with pods a, b, c (label `pod: <name>`) serving TCP 80, TCP 81 and UDP 80, spread over two
workers. One cluster is built per module. Every case applies its policies, waits (polling, within 1 s)
until they take effect, probes all 81 ordered pairs for each (port, protocol) it names and compares the
observed matrix with BOTH `netlab.compile.netpol.allowed` (the model the rules are compiled from) and a
hand-written expectation, then deletes the policies again.
"""

from __future__ import annotations

import ipaddress
import json
import re
import secrets
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

import conftest
import pytest
import yaml
from conftest import Lab, wait_for

from netlab.compile.netpol import PolicyNamespace, PolicyPod, allowed, policy_pod

NSS = ("x", "y", "z")
PODS = ("a", "b", "c")
SHORT = tuple(f"{n}/{p}" for n in NSS for p in PODS)  # "x/a", ... in matrix order
PROBE_WORKERS = 16
PROBE_TIMEOUT = 1.0  # curl --max-time / UDP wait, per probe
EFFECT_TIMEOUT = 1.0  # a policy change must show in the kernel within this long after apply returns
HOST_IP = "172.18.0.1"  # the isolated host namespace's address on the underlay bridge

TCP80, TCP81, UDP80 = (80, "TCP"), (81, "TCP"), (80, "UDP")

UDP_PROBE = ("import socket,sys\n"
             "f=socket.AF_INET6 if ':' in sys.argv[1] else socket.AF_INET\n"
             "s=socket.socket(f,socket.SOCK_DGRAM);s.settimeout(float(sys.argv[3]))\n"
             "s.sendto(b'probe',(sys.argv[1],int(sys.argv[2])))\n"
             "try:\n s.recvfrom(4096)\nexcept OSError:\n sys.exit(1)\n")


# ---------------------------------------------------------------------------------------------- the cluster


@dataclass
class Model:
    lab: Lab
    pods: list[PolicyPod] = field(default_factory=list)
    namespaces: list[PolicyNamespace] = field(default_factory=list)
    by_short: dict[str, PolicyPod] = field(default_factory=dict)
    family: int = 4  # the family probed (test_netpol_ipv6 builds a dual-stack cluster and probes IPv6)

    def ns(self, short: str) -> str:
        return f"{self.lab.cluster}-{short}"

    def netns(self, short: str) -> str:
        ns, pod = short.split("/")
        return f"{pod}.{self.ns(ns)}"

    def ip(self, short: str) -> str:
        return self.by_short[short].ip

    def refresh(self) -> None:
        items = json.loads(self.lab.netlab("get", "pods", "-A", "-o", "json").stdout)["items"]
        self.pods = [policy_pod(p) for p in items]
        if self.family == 6:  # the model then decides for the IPv6 addresses (ipBlocks of IPv6 CIDRs)
            self.pods = [replace(p, ip=p.ip6) for p in self.pods]
        c = self.lab.cluster
        self.namespaces = [PolicyNamespace(self.ns(n), {"ns": n}) for n in NSS] + [
            PolicyNamespace(n) for n in ("default", "kube-system", "kube-public", "kube-node-lease")]
        by_key = {p.key: p for p in self.pods}
        self.by_short = {s: by_key[f"{c}-{s.split('/')[0]}/{s.split('/')[1]}"] for s in SHORT}


def _topology(cluster: str, dual: bool = False) -> list[dict]:
    docs: list[dict] = [{"kind": "Cluster", "apiVersion": "netlab.dev/v1alpha1",
                         "nodes": [{"role": "control-plane"}, {"role": "worker"}, {"role": "worker"}]}]
    if dual:
        docs[0]["networking"] = {"ipFamily": "dual"}
    for n in NSS:
        docs.append({"apiVersion": "v1", "kind": "Namespace",
                     "metadata": {"name": f"{cluster}-{n}", "labels": {"ns": n}}})
    ports = [{"name": f"serve-{port}-{proto.lower()}", "containerPort": port, "protocol": proto}
             for port, proto in (TCP80, TCP81, UDP80)]
    for i, short in enumerate(SHORT):
        n, p = short.split("/")
        docs.append({"apiVersion": "v1", "kind": "Pod",
                     "metadata": {"name": p, "namespace": f"{cluster}-{n}", "labels": {"pod": p}},
                     "spec": {"nodeName": f"{cluster}-worker" if i % 2 == 0 else f"{cluster}-worker2",
                              "containers": [{"name": "cont", "image": "echo", "ports": ports}]}})
    return docs


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Model]:
    yield from built_model(tmp_path_factory, 4)


def built_model(tmp_path_factory: pytest.TempPathFactory, family: int) -> Iterator[Model]:
    """The x/y/z cluster (dual-stack for family 6), probed over `family`; torn down after the module."""
    if conftest._SKIP:
        pytest.skip(conftest._SKIP)
    cluster = "np" + secrets.token_hex(3)
    host_ns = f"nlt-host-{cluster}"
    subprocess.run(["ip", "netns", "add", host_ns], check=True)
    lab = Lab(cluster, host_ns, tmp_path_factory.mktemp(cluster))
    try:
        subprocess.run(["ip", "-n", host_ns, "link", "set", "lo", "up"], check=True)
        path = lab.workdir / "model.yaml"
        path.write_text(yaml.safe_dump_all(_topology(cluster, dual=family == 6), sort_keys=False))
        lab.netlab("up", str(path), "--timeout", "60")
        m = Model(lab, family=family)
        m.refresh()
        assert len({p.node for p in m.by_short.values()}) == 2, "pods spread over both workers"
        wait_for(lambda: all(probe(m, s, s, *TCP80) for s in SHORT), timeout=10, what="echo servers up")
        yield m
    finally:
        lab.netlab("down", check=False, timeout=60)
        subprocess.run(["ip", "netns", "delete", host_ns], capture_output=True)


# ---------------------------------------------------------------------------------------------- probes


def probe_addr(lab: Lab, src_netns: str | None, ip: str, port: int, proto: str,
               timeout: float = PROBE_TIMEOUT) -> bool:
    """One connection attempt from a pod netns (or the isolated host with None); True if answered."""
    if proto == "TCP":
        host = f"[{ip}]" if ":" in ip else ip
        argv = ["curl", "-s", "-o", "/dev/null", "--max-time", str(timeout), f"http://{host}:{port}/"]
    else:
        argv = [sys.executable, "-c", UDP_PROBE, ip, str(port), str(timeout)]
    prefix = ["ip", "netns", "exec", src_netns] if src_netns else ["nsenter", f"--net=/run/netns/{lab.host_ns}"]
    try:
        return subprocess.run([*prefix, *argv], capture_output=True, timeout=timeout + 5).returncode == 0
    except subprocess.TimeoutExpired:
        return False


def probe(m: Model, src: str, dst: str, port: int, proto: str, timeout: float = PROBE_TIMEOUT) -> bool:
    return probe_addr(m.lab, m.netns(src), m.ip(dst), port, proto, timeout)


Matrix = dict[tuple[str, str], bool]


def observe(m: Model, port: int, proto: str) -> Matrix:
    pairs = [(s, d) for s in SHORT for d in SHORT]
    with ThreadPoolExecutor(max_workers=PROBE_WORKERS) as pool:
        results = list(pool.map(lambda sd: probe(m, sd[0], sd[1], port, proto), pairs))
    return dict(zip(pairs, results, strict=True))


def modelled(m: Model, policies: list[dict], port: int, proto: str) -> Matrix:
    return {(s, d): allowed(m.by_short[s], m.by_short[d], port, proto, m.pods, m.namespaces, policies)
            for s in SHORT for d in SHORT}


def render(title: str, matrix: Matrix) -> list[str]:
    lines = [title, "      " + " ".join(f"{d:>3}" for d in SHORT)]
    for s in SHORT:
        lines.append(f"{s:>5} " + " ".join(f"{'.' if matrix[s, d] else 'X':>3}" for d in SHORT))
    return lines


def side_by_side(*blocks: list[str]) -> str:
    width = max(len(line) for b in blocks for line in b) + 4
    rows = max(len(b) for b in blocks)
    return "\n".join("".join(f"{(b[i] if i < len(b) else ''):<{width}}" for b in blocks).rstrip()
                     for i in range(rows))


# ---------------------------------------------------------------------------------------------- policies


def policy(m: Model, ns: str, name: str, spec: dict) -> dict:
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": name, "namespace": m.ns(ns)}, "spec": spec}


def _policy_file(m: Model, policies: list[dict], name: str) -> Path:
    path = m.lab.workdir / (re.sub(r"[^A-Za-z0-9-]+", "-", name) + ".yaml")
    path.write_text(yaml.safe_dump_all(policies, sort_keys=False))
    return path


def _sentinel(m: Model, policies: list[dict], checks: list[tuple[int, str]]) -> tuple[str, str, int, str] | None:
    """A pair whose verdict the policies flip from allowed to denied (to poll for the change)."""
    for port, proto in checks:
        for (s, d), ok in modelled(m, policies, port, proto).items():
            if not ok:
                return s, d, port, proto
    return None


def _wait_effect(m: Model, sentinel: tuple[str, str, int, str] | None, want: bool, what: str) -> None:
    if sentinel is None:
        return
    s, d, port, proto = sentinel
    start = time.monotonic()
    while True:
        if probe(m, s, d, port, proto, timeout=0.25) == want:
            return
        if time.monotonic() - start > EFFECT_TIMEOUT:
            raise AssertionError(f"{what}: {s} -> {d} {port}/{proto} not {'allowed' if want else 'denied'} "
                                 f"{EFFECT_TIMEOUT}s after apply returned")


class Applied:
    """Context manager: apply policies, wait for the effect; on exit delete them and wait again."""

    def __init__(self, m: Model, name: str, policies: list[dict], checks: list[tuple[int, str]]) -> None:
        self.m, self.name, self.policies = m, name, policies
        self.path = _policy_file(m, policies, name) if policies else None
        self.sentinel = _sentinel(m, policies, checks) if policies else None

    def __enter__(self) -> Applied:
        if self.path:
            self.m.lab.netlab("apply", "-f", str(self.path))
            _wait_effect(self.m, self.sentinel, False, f"{self.name} applied")
        return self

    def __exit__(self, *exc) -> None:
        if self.path:
            self.m.lab.netlab("delete", "-f", str(self.path), check=exc[0] is None)
            if exc[0] is None:
                _wait_effect(self.m, self.sentinel, True, f"{self.name} deleted")


def check_matrices(m: Model, name: str, policies: list[dict], hand: dict[tuple[int, str], Callable]) -> None:
    """Apply, probe every (port, protocol) in `hand`, compare kernel vs model vs hand-written, delete."""
    failures = []
    with Applied(m, name, policies, list(hand)):
        for (port, proto), expect in hand.items():
            observed = observe(m, port, proto)
            model_m = modelled(m, policies, port, proto)
            # A lost probe (a UDP datagram or a slow start under load) can only look denied: such pairs are
            # probed once more, one at a time, with a longer wait. An answer can never be a loss.
            for s, d in [k for k, ok in model_m.items() if ok and not observed[k]]:
                observed[s, d] = probe(m, s, d, port, proto, timeout=3 * PROBE_TIMEOUT)
            hand_m = {(s, d): bool(s == d or expect(s, d)) for s in SHORT for d in SHORT}
            if observed != model_m or model_m != hand_m:
                failures.append(f"case {name!r} {port}/{proto}: '.' allowed, 'X' denied\n" + side_by_side(
                    render("expected (model)", model_m), render("expected (hand)", hand_m),
                    render("observed (kernel)", observed)))
    assert not failures, "\n\n".join(failures)


def _ns(short: str) -> str:
    return short.split("/")[0]


def _pod(short: str) -> str:
    return short.split("/")[1]


# ---------------------------------------------------------------------------------------------- cases


def test_no_policy_allows_everything(model):
    check_matrices(model, "no-policy", [], {TCP80: lambda s, d: True, TCP81: lambda s, d: True,
                                            UDP80: lambda s, d: True})


def test_default_deny_ingress_in_x(model):
    p = policy(model, "x", "deny-ingress", {"podSelector": {}, "policyTypes": ["Ingress"]})
    deny_x = {TCP80: lambda s, d: _ns(d) != "x", UDP80: lambda s, d: _ns(d) != "x"}
    check_matrices(model, "default-deny-ingress-x", [p], deny_x)


def test_allow_from_namespace_y_to_xa_on_port_80_only(model):
    p = policy(model, "x", "allow-y-to-a-80", {
        "podSelector": {"matchLabels": {"pod": "a"}},
        "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {"ns": "y"}}}],
                     "ports": [{"port": 80, "protocol": "TCP"}]}]})
    check_matrices(model, "allow-ns-y-to-x/a-port-80", [p], {
        TCP80: lambda s, d: d != "x/a" or _ns(s) == "y",
        TCP81: lambda s, d: d != "x/a",
        UDP80: lambda s, d: d != "x/a",
    })


def test_pod_and_namespace_selector_in_one_peer_is_an_and(model):
    p = policy(model, "x", "and-peer", {
        "podSelector": {},
        "ingress": [{"from": [{"namespaceSelector": {"matchExpressions": [
            {"key": "ns", "operator": "In", "values": ["y", "z"]}]},
            "podSelector": {"matchLabels": {"pod": "b"}}}]}]})
    check_matrices(model, "podSelector AND namespaceSelector", [p], {
        TCP80: lambda s, d: _ns(d) != "x" or (_ns(s) in "yz" and _pod(s) == "b")})


def test_pod_selector_and_namespace_selector_as_two_peers_is_an_or(model):
    p = policy(model, "x", "or-peers", {
        "podSelector": {},
        "ingress": [{"from": [{"namespaceSelector": {"matchExpressions": [
            {"key": "ns", "operator": "In", "values": ["y", "z"]}]}},
            {"podSelector": {"matchLabels": {"pod": "b"}}}]}]})
    check_matrices(model, "podSelector OR namespaceSelector", [p], {
        TCP80: lambda s, d: _ns(d) != "x" or _ns(s) in "yz" or s == "x/b"})


def test_egress_deny_all_in_y_except_dns(model):
    p = policy(model, "y", "egress-dns-only", {
        "podSelector": {}, "policyTypes": ["Egress"],
        "egress": [{"ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]}]})
    check_matrices(model, "egress deny-all in y but DNS", [p], {
        TCP80: lambda s, d: _ns(s) != "y", UDP80: lambda s, d: _ns(s) != "y"})


def test_ip_block_with_except(model):
    cidr = str(ipaddress.ip_network(f"{model.ip('x/a')}/16", strict=False))
    p = policy(model, "x", "ipblock-except", {
        "podSelector": {"matchLabels": {"pod": "a"}},
        "ingress": [{"from": [{"ipBlock": {"cidr": cidr,
                                            "except": [f"{model.ip('y/b')}/32", f"{model.ip('z/c')}/32"]}}]}]})
    hand = {TCP80: lambda s, d: d != "x/a" or s not in ("y/b", "z/c"),
            UDP80: lambda s, d: d != "x/a" or s not in ("y/b", "z/c")}
    check_matrices(model, "ipBlock with except", [p], hand)


def test_named_port_resolved_on_destination(model):
    p = policy(model, "x", "named-ports", {
        "podSelector": {},
        "ingress": [{"ports": [{"port": "serve-81-tcp", "protocol": "TCP"},
                               {"port": "serve-80-udp", "protocol": "UDP"}]}]})
    check_matrices(model, "named ingress ports", [p], {
        TCP80: lambda s, d: _ns(d) != "x", TCP81: lambda s, d: True, UDP80: lambda s, d: True})


def test_named_port_in_egress_rule(model):
    p = policy(model, "y", "egress-named", {
        "podSelector": {}, "policyTypes": ["Egress"], "egress": [{"ports": [{"port": "serve-81-tcp"}]}]})
    check_matrices(model, "named egress port", [p], {
        TCP80: lambda s, d: _ns(s) != "y", TCP81: lambda s, d: True})


def test_end_port_range(model):
    p = policy(model, "x", "end-port", {
        "podSelector": {}, "ingress": [{"ports": [{"port": 81, "endPort": 90, "protocol": "TCP"}]}]})
    check_matrices(model, "endPort 81-90", [p], {
        TCP80: lambda s, d: _ns(d) != "x", TCP81: lambda s, d: True, UDP80: lambda s, d: _ns(d) != "x"})


def test_seed_allow_web_to_api_shape(model):
    # manifests/40-network-policy.yaml with api -> pod a, web -> pod b, 3000 -> 81.
    p = policy(model, "x", "allow-web-to-api", {
        "podSelector": {"matchLabels": {"pod": "a"}}, "policyTypes": ["Ingress"],
        "ingress": [{"from": [{"podSelector": {"matchLabels": {"pod": "b"}}}],
                     "ports": [{"protocol": "TCP", "port": 81}]}]})
    check_matrices(model, "allow-web-to-api", [p], {
        TCP80: lambda s, d: d != "x/a", TCP81: lambda s, d: d != "x/a" or s == "x/b"})


def test_replies_to_allowed_connections_pass_isolation(model):
    # x pods: no ingress allowed at all, egress only to y. x -> y works only if the replies from y are
    # let through x's ingress isolation (conntrack), for TCP and for UDP.
    p = policy(model, "x", "stateful", {
        "podSelector": {}, "policyTypes": ["Ingress", "Egress"],
        "egress": [{"to": [{"namespaceSelector": {"matchLabels": {"ns": "y"}}}]}]})

    def expect(s, d):
        if _ns(d) == "x":
            return False
        return _ns(s) != "x" or _ns(d) == "y"

    check_matrices(model, "stateful replies", [p], {TCP80: expect, UDP80: expect})


# ---------------------------------------------------------------------------------------------- other paths


def test_traffic_through_a_cluster_ip_is_policed(model):
    lab = model.lab
    svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "svc-a", "namespace": model.ns("x")},
           "spec": {"selector": {"pod": "a"}, "ports": [{"port": 8080, "targetPort": 80, "protocol": "TCP"}]}}
    svc_path = _policy_file(model, [svc], "svc")
    lab.netlab("apply", "-f", str(svc_path))
    try:
        cluster_ip = json.loads(lab.netlab("get", "service", "svc-a", "-n", model.ns("x"), "-o", "json").stdout
                                )["spec"]["clusterIP"]
        wait_for(lambda: probe_addr(lab, model.netns("y/b"), cluster_ip, 8080, "TCP"), timeout=5,
                 what="ClusterIP answering")
        p = policy(model, "x", "svc-from-b", {
            "podSelector": {"matchLabels": {"pod": "a"}},
            "ingress": [{"from": [{"podSelector": {"matchLabels": {"pod": "b"}}}],
                         "ports": [{"port": 80, "protocol": "TCP"}]}]})
        with Applied(model, "svc-from-b", [p], [TCP80]):
            observed = {src: probe_addr(lab, model.netns(src), cluster_ip, 8080, "TCP")
                        for src in ("x/b", "y/b", "x/c")}
            expected = {src: allowed(model.by_short[src], model.by_short["x/a"], 80, "TCP", model.pods,
                                     model.namespaces, [p]) for src in observed}
            assert expected == {"x/b": True, "y/b": False, "x/c": False}
            assert observed == expected, f"through ClusterIP {cluster_ip}: expected {expected}, observed {observed}"
    finally:
        lab.netlab("delete", "-f", str(svc_path), check=False)


def test_host_to_pod_is_policed(model):
    lab = model.lab
    addrs = lab.host("ip", "-4", "-o", "addr", "show").stdout
    assert f"inet {HOST_IP}/" in addrs, f"the isolated host should own {HOST_IP}:\n{addrs}"
    deny = policy(model, "x", "deny-ingress", {"podSelector": {}, "policyTypes": ["Ingress"]})
    allow_host = policy(model, "x", "allow-host-to-a", {
        "podSelector": {"matchLabels": {"pod": "a"}},
        "ingress": [{"from": [{"ipBlock": {"cidr": f"{HOST_IP}/32"}}]}]})

    def host_view(policies):
        observed = {d: probe_addr(lab, None, model.ip(d), 80, "TCP") for d in ("x/a", "x/b", "y/a")}
        expected = {d: allowed(HOST_IP, model.by_short[d], 80, "TCP", model.pods, model.namespaces, policies)
                    for d in observed}
        return observed, expected

    with Applied(model, "host-deny", [deny], [TCP80]):
        observed, expected = host_view([deny])
        assert expected == {"x/a": False, "x/b": False, "y/a": True}
        assert observed == expected, f"host -> pods under default deny: expected {expected}, observed {observed}"
    with Applied(model, "host-allow", [deny, allow_host], [TCP80]):
        observed, expected = host_view([deny, allow_host])
        assert expected == {"x/a": True, "x/b": False, "y/a": True}
        assert observed == expected, f"host -> pods with ipBlock {HOST_IP}/32: expected {expected}, " \
                                     f"observed {observed}"
        assert not probe(model, "y/a", "x/a", 80, "TCP"), "the ipBlock admits the host, not pods"


HOLD = """
import socket, sys
s = socket.create_connection((sys.argv[1], 80), timeout=10)
buf = b""


def get(path):
    global buf
    s.sendall(b"GET " + path + b" HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n")
    print("sent", path.decode(), flush=True)
    while b"\\r\\n\\r\\n" not in buf:
        chunk = s.recv(65536)
        if not chunk:
            sys.exit("closed")
        buf += chunk
    head, buf = buf.split(b"\\r\\n\\r\\n", 1)
    length = int([h.split(b":")[1] for h in head.split(b"\\r\\n") if h.lower().startswith(b"content-length")][0])
    while len(buf) < length:
        chunk = s.recv(65536)
        if not chunk:
            sys.exit("closed")
        buf += chunk
    body, buf = buf[:length], buf[length:]
    print("got", head.split(b"\\r\\n")[0].decode(), [line for line in body.decode().splitlines()
                                                    if line.startswith("request:")], flush=True)


get(b"/delay/0")
get(b"/delay/5")  # the test changes policy while this response is pending, on the same connection
"""


def test_established_connection_survives_an_unrelated_policy_change(model):
    unrelated = policy(model, "z", "deny-ingress-z", {"podSelector": {}, "policyTypes": ["Ingress"]})
    client = subprocess.Popen(["ip", "netns", "exec", model.netns("y/a"), sys.executable, "-c", HOLD,
                               model.ip("x/b")], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    try:
        assert client.stdout is not None
        lines = [client.stdout.readline() for _ in range(3)]
        assert lines == ["sent /delay/0\n", "got HTTP/1.1 200 OK ['request: GET /delay/0 HTTP/1.1']\n",
                         "sent /delay/5\n"], lines
        t0 = time.monotonic()
        with Applied(model, "unrelated", [unrelated], [TCP80]):
            assert time.monotonic() - t0 < 5, "the policy change must land while the response is pending"
            out, err = client.communicate(timeout=15)
        want = "got HTTP/1.1 200 OK ['request: GET /delay/5 HTTP/1.1']\n"
        assert out == want, f"held connection cut: {out!r} {err!r}"
    finally:
        if client.poll() is None:
            client.kill()
            client.wait(timeout=5)


def test_describe_resolves_the_policy_to_live_pods(model):
    p = policy(model, "x", "allow-web-to-api", {
        "podSelector": {"matchLabels": {"pod": "a"}},
        "ingress": [{"from": [{"podSelector": {"matchLabels": {"pod": "b"}},
                               "namespaceSelector": {"matchLabels": {"ns": "y"}}}],
                     "ports": [{"port": "serve-81-tcp"}]}]})
    with Applied(model, "describe", [p], []):
        out = model.lab.netlab("describe", "networkpolicy", "allow-web-to-api", "-n", model.ns("x")).stdout
    xa, yb = model.by_short["x/a"], model.by_short["y/b"]
    assert f"Selected pods (1):\n  {xa.key}  {xa.ip}  {xa.node}\n" in out, out
    assert (f"Allowing ingress traffic from:\n  Rule 0:\n    Peers:\n      {yb.key}  {yb.ip}\n"
            f"    Ports: TCP/81\n") in out, out
