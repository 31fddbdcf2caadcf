"""internalTrafficPolicy Local as kube-proxy's nftables mode does it: ClusterIP traffic only to the
client node's endpoints, dropped (not rejected) on a node without one; NodePort traffic unaffected."""

from __future__ import annotations

from netlab.compile.nft_services import external_chain, internal_local_chain, service_chain, services_ruleset
from netlab.compile.services import Allocation, resolve
from netlab.compile.workloads import PlacedPod

ALLOC = Allocation("10.96.0.50", {"80/TCP": 30080})
PODS = [PlacedPod("default", n, node, ip, n, 0.0, {"app": "web"},
                  {"containers": [{"name": "c", "ports": [{"containerPort": 8080}]}]})
        for n, node, ip in (("a", "lab-worker", "10.244.1.2"), ("b", "lab-worker2", "10.244.2.2"))]
READY = {"default/a": True, "default/b": True}


def _svc(policy: str | None, type_: str = "NodePort") -> dict:
    spec = {"type": type_, "selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": 8080}]}
    if policy:
        spec["internalTrafficPolicy"] = policy
    return {"kind": "Service", "metadata": {"name": "web", "namespace": "default"}, "spec": spec}


def _ruleset(node: str, policy: str | None, ready: dict = READY):
    svc = resolve(_svc(policy), ALLOC, PODS, ready)
    return svc, services_ruleset(node, ["172.18.0.3"], "10.244.0.0/16", [svc])


def test_cluster_policy_sends_cluster_ip_traffic_to_the_service_chain():
    svc, rs = _ruleset("lab-worker", None)
    port = svc.ports[0]
    assert not svc.internal_local
    assert f'10.96.0.50 . tcp . 80 : goto {service_chain(svc, port)}' in rs.sets["service-ips"].elements


def test_local_policy_uses_only_the_nodes_endpoints_for_cluster_ip_traffic():
    for node, ip in (("lab-worker", "10.244.1.2"), ("lab-worker2", "10.244.2.2")):
        svc, rs = _ruleset(node, "Local")
        port = svc.ports[0]
        local = internal_local_chain(svc, port)
        assert f'10.96.0.50 . tcp . 80 : goto {local}' in rs.sets["service-ips"].elements
        rules = "\n".join(rs.chains[local].rules)
        assert ip in rules and rules.count("goto") == 1, "one local endpoint, no random choice"
        # NodePort traffic is external traffic: every endpoint, whatever the internal policy.
        assert "numgen random mod 2" in "\n".join(rs.chains[service_chain(svc, port)].rules)
        assert rs.sets["no-endpoint-services"].elements == frozenset()


def test_local_policy_without_a_local_endpoint_drops_cluster_ip_traffic_only():
    svc, rs = _ruleset("lab-control-plane", "Local")
    assert rs.sets["no-endpoint-services"].elements == {"10.96.0.50 . tcp . 80 : goto no-local-endpoints"}
    assert rs.chains["no-local-endpoints"].rules == ("drop",)
    assert not any(e.startswith("10.96.0.50 ") for e in rs.sets["service-ips"].elements)
    assert internal_local_chain(svc, svc.ports[0]) not in rs.chains
    assert rs.sets["service-nodeports"].elements, "the NodePort still reaches the other nodes' endpoints"


def test_local_policy_with_no_ready_endpoint_at_all_rejects():
    _svc_, rs = _ruleset("lab-worker", "Local", {})
    assert rs.sets["no-endpoint-services"].elements == {"10.96.0.50 . tcp . 80 : goto reject-chain"}


def _eip_svc(type_: str = "ClusterIP", **extra) -> dict:
    svc = _svc(None, type_)
    svc["spec"].update({"externalIPs": ["192.0.2.80", "192.0.2.81"], **extra})
    return svc


def test_external_ips_go_through_the_external_chain_on_every_node():
    svc = resolve(_eip_svc(), Allocation("10.96.0.50"), PODS, READY)
    rs = services_ruleset("lab-control-plane", ["172.18.0.2"], "10.244.0.0/16", [svc])
    ext = external_chain(svc, svc.ports[0])
    assert {f"192.0.2.80 . tcp . 80 : goto {ext}", f"192.0.2.81 . tcp . 80 : goto {ext}"} <= \
        rs.sets["service-ips"].elements
    assert rs.chains[ext].rules[0] == "jump mark-for-masquerade", "Cluster policy: SNAT to the node"
    assert rs.sets["service-nodeports"].elements == frozenset(), "a ClusterIP service gets no node port"


def test_external_ips_follow_the_external_policy_and_reject_without_endpoints():
    svc = resolve(_eip_svc(externalTrafficPolicy="Local"), Allocation("10.96.0.50"), PODS, READY)
    rs = services_ruleset("lab-control-plane", ["172.18.0.2"], "10.244.0.0/16", [svc])
    assert rs.chains[external_chain(svc, svc.ports[0])].rules[-1] == "drop"
    # No endpoint on this node: traffic from outside the cluster is dropped; a pod short-circuits to
    # every endpoint, as kube-proxy does, keeping its own IP.
    assert _where(rs, "172.18.0.1", "192.0.2.81", 80) == {"DROP"}
    assert _where(rs, "10.244.0.9", "192.0.2.81", 80) == {"10.244.1.2:8080", "10.244.2.2:8080"}
    empty = resolve(_eip_svc(), Allocation("10.96.0.50"), PODS, {})
    rs = services_ruleset("lab-worker", ["172.18.0.3"], "10.244.0.0/16", [empty])
    assert "192.0.2.81 . tcp . 80 : goto reject-chain" in rs.sets["no-endpoint-services"].elements


def test_external_ips_are_checked():
    from netlab.model.core import Service

    svc = Service.model_validate({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "x"}, "spec": {
        "externalIPs": ["nope", "127.0.0.1", "192.0.2.1"], "externalTrafficPolicy": "Local", "ports": [{"port": 80}]}})
    assert [p for p, _ in svc.issues()] == ["spec.externalIPs[0]", "spec.externalIPs[1]"]


def _where(rs, src: str, dst: str, port: int) -> set[str]:
    from netlab.trace.nft_eval import Interpreter, Packet

    out = set()
    for p in Interpreter(rs).hook("prerouting", Packet(src, dst, "tcp", port)):
        out.add(p.verdict.upper() if p.verdict != "accept" else f"{p.daddr}:{p.dport}")
    return out


def test_load_balancer_source_ranges_let_only_those_sources_reach_the_lb_ip():
    raw = _svc(None, "LoadBalancer")
    raw["spec"]["loadBalancerSourceRanges"] = ["172.18.0.1/32", "192.0.2.0/24"]
    svc = resolve(raw, Allocation("10.96.0.50", {"80/TCP": 30080}, "172.18.255.200"), PODS, READY)
    rs = services_ruleset("lab-worker", ["172.18.0.3"], "10.244.0.0/16", [svc])
    both = {"10.244.1.2:8080", "10.244.2.2:8080"}
    assert _where(rs, "172.18.0.1", "172.18.255.200", 80) == both
    assert _where(rs, "192.0.2.7", "172.18.255.200", 80) == both
    assert _where(rs, "198.51.100.1", "172.18.255.200", 80) == {"DROP"}
    # Only the LoadBalancer IP is filtered, as in kube-proxy: the NodePort and ClusterIP are not.
    assert _where(rs, "198.51.100.1", "172.18.0.3", 30080) == both
    assert _where(rs, "198.51.100.1", "10.96.0.50", 80) == both


def test_internal_local_in_the_interpreter():
    _svc_, rs = _ruleset("lab-worker", "Local")
    assert _where(rs, "10.244.1.9", "10.96.0.50", 80) == {"10.244.1.2:8080"}
    _svc_, rs = _ruleset("lab-control-plane", "Local")
    assert _where(rs, "10.244.0.9", "10.96.0.50", 80) == {"DROP"}


def test_source_ranges_are_checked():
    from netlab.model.core import Service

    svc = Service.model_validate({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "x"}, "spec": {
        "type": "LoadBalancer", "loadBalancerSourceRanges": ["10.0.0.0/8", "ten"], "ports": [{"port": 80}]}})
    assert [p for p, _ in svc.issues()] == ["spec.loadBalancerSourceRanges[1]"]


def test_local_policy_keeps_client_ip_affinity_among_local_endpoints():
    raw = _svc("Local")
    raw["spec"].update({"sessionAffinity": "ClientIP", "sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 30}}})
    pods = [*PODS, PlacedPod("default", "c", "lab-worker", "10.244.1.3", "c", 0.0, {"app": "web"},
                             PODS[0].spec)]
    svc = resolve(raw, ALLOC, pods, {**READY, "default/c": True})
    rs = services_ruleset("lab-worker", ["172.18.0.3"], "10.244.0.0/16", [svc])
    rules = rs.chains[internal_local_chain(svc, svc.ports[0])].rules
    assert sum(r.startswith("ip saddr @") for r in rules) == 2 and rules[-1].startswith("numgen random mod 2")
    assert _where(rs, "10.244.1.9", "10.96.0.50", 80) == {"10.244.1.2:8080", "10.244.1.3:8080"}


def test_external_local_short_circuits_pods_and_the_node_itself_like_kube_proxy():
    from netlab.trace.nft_eval import Interpreter, Packet

    raw = _svc(None, "NodePort")
    raw["spec"]["externalTrafficPolicy"] = "Local"
    svc = resolve(raw, ALLOC, PODS, READY)
    rs = services_ruleset("lab-worker", ["172.18.0.3"], "10.244.0.0/16", [svc])
    assert rs.chains[external_chain(svc, svc.ports[0])].rules[:3] == (
        f"ip saddr 10.244.0.0/16 goto {service_chain(svc, svc.ports[0])}",
        "fib saddr type local jump mark-for-masquerade",
        f"fib saddr type local goto {service_chain(svc, svc.ports[0])}")
    # From outside: only this node's endpoint, client IP kept (no masquerade mark).
    outside = Interpreter(rs).hook("prerouting", Packet("172.18.0.1", "172.18.0.3", "tcp", 30080))
    assert [(p.daddr, p.mark) for p in outside] == [("10.244.1.2", 0)]
    # A pod: every endpoint, unmarked; the node itself (output hook, local source): every endpoint, marked.
    pod = Interpreter(rs).hook("prerouting", Packet("10.244.1.7", "172.18.0.3", "tcp", 30080))
    assert {(p.daddr, p.mark) for p in pod} == {("10.244.1.2", 0), ("10.244.2.2", 0)}
    node = Interpreter(rs).hook("output", Packet("172.18.0.3", "172.18.0.3", "tcp", 30080, local_src=True))
    assert {p.daddr for p in node} == {"10.244.1.2", "10.244.2.2"} and all(p.mark for p in node)
