"""`netlab trace` predictions as a table: (source, destination, port) -> where the connection ends.

"ip:port" for each endpoint a connection can reach (every numgen arm), "REJECT" for a refusal by the
rules, "TIMEOUT" for a drop, "UNREACHABLE" when the host has no route. All derived from the compiled
rules by the interpreter, so a rule change shows up here.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from netlab.compile.netpol import PolicyNamespace
from netlab.compile.services import Endpoint, ResolvedService, ServicePortView
from netlab.trace.model import PolicyInputs, plan
from tests.unit.test_trace_model import world

DNS = ResolvedService("kube-system", "kube-dns", "ClusterIP", "10.96.0.10", None,
                      (ServicePortView("dns", "UDP", 53, None, {"10.244.2.2": 53}),
                       ServicePortView("http", "TCP", 80, None, {"10.244.1.3": 3000})),
                      (Endpoint("10.244.2.2", "pod-c", "lab-worker2", True),
                       Endpoint("10.244.1.3", "pod-b", "lab-worker", True)))
NAMED = {"metadata": {"name": "named", "namespace": "default"},
         "spec": {"podSelector": {"matchLabels": {"app": "app"}}, "policyTypes": ["Ingress"],
                  "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {"team": "blue"}}}],
                               "ports": [{"port": "web"}]}]}}
EGRESS = {"metadata": {"name": "web-out", "namespace": "default"},
          "spec": {"podSelector": {"matchLabels": {"app": "web"}}, "policyTypes": ["Egress"],
                   "egress": [{"to": [{"ipBlock": {"cidr": "10.244.0.0/16", "except": ["10.244.2.0/24"]}}]}]}}


def outcome(src: str, dst: str, port: int, proto: str = "tcp", *, svcs=None, pi=None) -> set[str] | str:
    topo, default_svcs, default_pi = world()
    p = plan(src, dst, port, proto, topo, default_svcs + [DNS] if svcs is None else svcs,
             default_pi if pi is None else pi)
    if p.outcome == "connected":
        return {f"{c.ip}:{c.port}" for c in p.candidates}
    if p.outcome == "refused" and not p.candidates:
        return "REJECT"
    return p.outcome.upper()


@pytest.mark.parametrize(("src", "dst", "port", "proto", "expected"), [
    ("pod-a", "10.96.0.10", 80, "tcp", {"10.244.1.3:3000"}),
    ("pod-a", "10.96.0.10", 53, "udp", "REFUSED"),  # DNAT to 10.244.2.2:53, where pod-c declares only 3000
    ("pod-a", "10.96.0.10", 53, "tcp", "REJECT"),  # the service has no TCP 53
    ("pod-a", "app-service", 80, "tcp", {"10.244.1.3:3000", "10.244.2.2:3000"}),
    ("node:lab-worker2", "app-service", 80, "tcp", {"10.244.1.3:3000", "10.244.2.2:3000"}),
    ("pod-a", "nobody", 80, "tcp", "REJECT"),
    ("pod-a", "10.96.100.1", 8080, "tcp", "REJECT"),
    ("host", "172.18.0.3", 30080, "tcp", {"10.244.2.2:3000"}),  # NodePort on any node
    ("pod-a", "172.18.0.4", 30080, "tcp", {"10.244.2.2:3000"}),  # a pod to another node's NodePort
    ("host", "172.18.255.200", 80, "tcp", {"10.244.1.3:3000", "10.244.2.2:3000"}),
    ("host", "10.96.100.1", 80, "tcp", "UNREACHABLE"),
    ("pod-a", "api", 3000, "tcp", {"10.244.2.3:3000"}),
    ("pod-b", "api", 3000, "tcp", "TIMEOUT"),  # api-allow-web admits only app=web
    ("pod-a", "api", 3001, "tcp", "TIMEOUT"),  # ... and only port 3000
])
def test_where_connections_end(src, dst, port, proto, expected) -> None:
    assert outcome(src, dst, port, proto) == expected


def test_udp_is_dnatted_to_the_udp_target() -> None:
    topo, svcs, pi = world()
    p = plan("pod-a", "10.96.0.10", 53, "udp", topo, svcs + [DNS], pi)
    assert [(c.ip, c.port, c.pod) for c in p.candidates] == [("10.244.2.2", 53, "default/pod-c")]


def test_external_traffic_policy_local() -> None:
    _topo, svcs, _pi = world()
    local = [replace(s, external_local=True) for s in svcs]
    assert outcome("host", "172.18.0.3", 30080, svcs=local) == "TIMEOUT"  # no endpoint on lab-worker
    assert outcome("host", "172.18.0.4", 30080, svcs=local) == {"10.244.2.2:3000"}
    # From inside the cluster kube-proxy short-circuits Local to every endpoint, even on lab-worker.
    assert outcome("pod-a", "172.18.0.3", 30080, svcs=local) == {"10.244.2.2:3000"}
    assert outcome("node:lab-worker", "172.18.0.3", 30080, svcs=local) == {"10.244.2.2:3000"}
    assert outcome("pod-a", "172.18.255.200", 80, svcs=local) == {"10.244.1.3:3000", "10.244.2.2:3000"}
    # ... but to another node's NodePort (none there, endpoint on a third node) the pod's IP is kept and the
    # endpoint answers it directly, around the DNAT: the client times out, as with kube-proxy
    assert outcome("pod-a", "172.18.0.2", 30080, svcs=local) == "TIMEOUT"
    assert outcome("pod-a", "172.18.0.2", 30080) == {"10.244.2.2:3000"}, "Cluster policy masquerades"
    topo, _svcs, pi = world()
    for src, why in (("pod-a", "is a pod"), ("node:lab-worker", "fib saddr type local")):
        steps = plan(src, "172.18.0.3", 30080, "tcp", topo, local, pi).steps
        short = [s for s in steps if "short-circuited" in s.what]
        assert len(short) == 1 and why in short[0].detail, [s.what for s in steps]


def test_policies_by_namespace_named_port_and_ip_block() -> None:
    topo, svcs, pi = world()
    pods = tuple(replace(p, ports=(("web", 3000, "TCP"),)) for p in pi.pods)
    blue = PolicyInputs(pods, (PolicyNamespace("default", {"team": "blue"}),), (NAMED, EGRESS))
    red = PolicyInputs(pods, (PolicyNamespace("default", {"team": "red"}),), (NAMED, EGRESS))
    assert outcome("pod-a", "10.244.1.3", 3000, pi=blue) == {"10.244.1.3:3000"}
    assert outcome("pod-a", "10.244.1.3", 3000, pi=red) == "TIMEOUT"  # namespace not team=blue
    assert outcome("api", "10.244.1.3", 3001, pi=blue) == "TIMEOUT"  # not the named port
    assert outcome("pod-a", "10.244.2.3", 3000, pi=blue) == "TIMEOUT"  # egress: except 10.244.2.0/24
    steps = plan("pod-a", "10.244.2.3", 3000, "tcp", topo, svcs, blue).steps
    assert any(s.what == "egress of pod-a: DENIED by default/web-out" for s in steps)
    steps = plan("pod-a", "10.244.1.3", 3000, "tcp", topo, svcs, blue).steps
    assert any(s.what == "ingress of pod-b: allowed by default/named rule 0" for s in steps)
    assert any(s.what == "egress of pod-a: allowed by default/web-out rule 0" for s in steps)


def test_traces_follow_the_rules_given() -> None:
    """The walk reads the rulesets it is handed: rules that drop everything make every flow time out."""
    from netlab.compile.nftables import Chain
    from netlab.trace.model import node_rulesets

    topo, svcs, pi = world()
    rss = node_rulesets(topo, svcs, pi, "10.244.0.0/16")
    assert outcome("pod-a", "app-service", 80) == {"10.244.1.3:3000", "10.244.2.2:3000"}
    for rs in rss.values():
        rs.chains["service-ips-only"] = Chain("service-ips-only", ("drop",))
        rs.sets["service-ips"] = replace(rs.sets["service-ips"], elements=frozenset(
            e.split(" : ")[0] + " : goto service-ips-only" for e in rs.sets["service-ips"].elements))
    p = plan("pod-a", "10.96.100.1", 80, "tcp", topo, svcs, pi, rulesets=rss)
    assert p.outcome == "timeout"


def test_a_rule_the_tracer_does_not_understand_fails_the_trace() -> None:
    from netlab.compile.nftables import Chain
    from netlab.trace.model import node_rulesets
    from netlab.trace.nft_eval import NftSyntaxError

    topo, svcs, pi = world()
    rss = node_rulesets(topo, svcs, pi, "10.244.0.0/16")
    rs = rss["lab-worker"]
    rs.chains["unused"] = Chain("unused", ('ip daddr 10.96.100.1 limit rate 1/second accept',))
    with pytest.raises(NftSyntaxError, match="cannot interpret"):
        plan("pod-a", "10.244.1.3", 3000, "tcp", topo, svcs, pi, rulesets=rss)  # even if no packet reaches it
    rs.chains["unused"] = Chain("unused", ("goto gone",))
    with pytest.raises(NftSyntaxError, match="missing chain gone"):
        plan("pod-a", "10.244.1.3", 3000, "tcp", topo, svcs, pi, rulesets=rss)
