"""kube-proxy's UDP conntrack clean-up, as data: which flows a change of endpoints makes stale."""

from __future__ import annotations

from netlab.compile.services import Endpoint, ResolvedService, ServicePortView
from netlab.compile.stale_flows import StaleFlow, stale_flows


def svc(endpoints: list[str], protocol: str = "UDP", node_port: int | None = None, lb: str | None = None,
        ready: bool = True) -> ResolvedService:
    port = ServicePortView("dns", protocol, 53, node_port, {ip: 5353 for ip in endpoints})
    return ResolvedService("default", "dns", "ClusterIP", "10.96.0.20", lb, (port,),
                           tuple(Endpoint(ip, f"p{i}", "n", ready) for i, ip in enumerate(endpoints)))


def test_a_removed_endpoint_makes_its_flows_stale_on_every_way_in():
    before = [svc(["10.244.1.2", "10.244.2.2"], node_port=30053, lb="172.18.255.200")]
    after = [svc(["10.244.2.2"], node_port=30053, lb="172.18.255.200")]
    assert stale_flows(before, after) == [StaleFlow(None, 30053, "10.244.1.2"),
                                          StaleFlow("10.96.0.20", 53, "10.244.1.2"),
                                          StaleFlow("172.18.255.200", 53, "10.244.1.2")]


def test_first_endpoint_clears_every_flow_to_the_service_and_tcp_is_left_alone():
    assert stale_flows([svc([])], [svc(["10.244.1.2"])]) == [StaleFlow("10.96.0.20", 53, None)]
    assert stale_flows([svc(["10.244.1.2"], "TCP")], [svc([], "TCP")]) == []
    assert stale_flows([svc(["10.244.1.2"])], [svc(["10.244.1.2"])]) == []


def test_an_endpoint_turning_unready_or_a_deleted_service_is_stale_too():
    assert stale_flows([svc(["10.244.1.2"])], [svc(["10.244.1.2"], ready=False)]) == [
        StaleFlow("10.96.0.20", 53, "10.244.1.2")]
    assert stale_flows([svc(["10.244.1.2"])], []) == [StaleFlow("10.96.0.20", 53, "10.244.1.2")]
