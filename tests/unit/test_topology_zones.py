"""trafficDistribution: EndpointSlice hints and kube-proxy's choice of endpoints per node, in the rules."""

from __future__ import annotations

from dataclasses import replace

from netlab.compile.endpoint_objects import endpointslice_object
from netlab.compile.nft_services import services_ruleset
from netlab.compile.services import Endpoint, ResolvedService, ServicePortView
from netlab.compile.topology_zones import endpoint_hints, topology_endpoints, with_zones
from netlab.model.core import ServiceSpec, check_service_spec
from netlab.trace.nft_eval import Interpreter, Packet

ZONES = {"n1": "a", "n2": "a", "n3": "b"}
EPS = (Endpoint("10.244.1.2", "p1", "n1", True), Endpoint("10.244.2.2", "p2", "n2", True),
       Endpoint("10.244.3.2", "p3", "n3", True))


def _svc(mode: str | None, endpoints=EPS, zones=ZONES) -> ResolvedService:
    port = ServicePortView("", "TCP", 80, None, {e.ip: 3000 for e in endpoints})
    svc = ResolvedService("default", "web", "ClusterIP", "10.96.0.50", None, (port,), tuple(endpoints),
                          traffic_distribution=mode)
    return with_zones(svc, zones)


def _picked(svc: ResolvedService, node: str) -> set[str]:
    return {e.ip for e in topology_endpoints(svc, list(svc.endpoints), node, ZONES.get(node))}


def test_hints_as_the_endpointslice_controller_sets_them():
    zonal, same_node = _svc("PreferSameZone"), _svc("PreferSameNode")
    assert endpoint_hints(zonal, zonal.endpoints[0]) == {"forZones": [{"name": "a"}]}
    assert endpoint_hints(_svc("PreferClose"), zonal.endpoints[2]) == {"forZones": [{"name": "b"}]}
    assert endpoint_hints(same_node, same_node.endpoints[1]) == {"forZones": [{"name": "a"}],
                                                                 "forNodes": [{"name": "n2"}]}
    assert endpoint_hints(_svc(None), zonal.endpoints[0]) is None
    not_ready = replace(zonal.endpoints[0], ready=False)
    assert endpoint_hints(zonal, not_ready) is None
    slice_eps = endpointslice_object(same_node, None)["endpoints"]
    assert slice_eps[2]["zone"] == "b" and slice_eps[2]["hints"]["forNodes"] == [{"name": "n3"}]
    assert "hints" not in endpointslice_object(_svc(None), None)["endpoints"][0]


def test_prefer_same_zone_uses_the_zone_when_it_has_endpoints():
    svc = _svc("PreferSameZone")
    assert _picked(svc, "n1") == {"10.244.1.2", "10.244.2.2"}
    assert _picked(svc, "n3") == {"10.244.3.2"}
    # A zone with no endpoint, or a node without a zone: every endpoint.
    only_a = _svc("PreferSameZone", EPS[:2])
    assert _picked(only_a, "n3") == {"10.244.1.2", "10.244.2.2"}
    assert {e.ip for e in topology_endpoints(svc, list(svc.endpoints), "n4", None)} == {e.ip for e in EPS}


def test_prefer_same_node_then_zone_then_all():
    svc = _svc("PreferSameNode")
    assert _picked(svc, "n1") == {"10.244.1.2"}
    without_n1 = _svc("PreferSameNode", EPS[1:])
    assert _picked(without_n1, "n1") == {"10.244.2.2"}  # no endpoint on n1: its zone
    only_b = _svc("PreferSameNode", EPS[2:])
    assert _picked(only_b, "n1") == {"10.244.3.2"}


def test_an_endpoint_without_a_zone_turns_zone_preference_off():
    svc = _svc("PreferSameZone", zones={"n1": "a", "n2": "a"})
    assert _picked(svc, "n1") == {e.ip for e in EPS}


def test_no_ready_endpoints_means_no_topology():
    svc = _svc("PreferSameZone", tuple(replace(e, ready=False) for e in EPS))
    assert _picked(svc, "n1") == {e.ip for e in EPS}


def _reached(svc: ResolvedService, node: str) -> set[str]:
    rules = Interpreter(services_ruleset(node, ["172.18.0.9"], "10.244.0.0/16", [svc], ZONES.get(node))).check()
    return {p.dnat[0] for p in rules.hook("prerouting", Packet("10.244.9.9", "10.96.0.50", "tcp", 80)) if p.dnat}


def test_rules_dispatch_to_the_preferred_endpoints_of_each_node():
    svc = _svc("PreferSameZone")
    assert _reached(svc, "n1") == {"10.244.1.2", "10.244.2.2"}
    assert _reached(svc, "n3") == {"10.244.3.2"}
    assert _reached(_svc("PreferSameNode"), "n2") == {"10.244.2.2"}
    assert _reached(_svc(None), "n3") == {e.ip for e in EPS}


def test_values_are_validated_as_the_api_does():
    spec = ServiceSpec.model_validate({"ports": [{"port": 80}], "trafficDistribution": "PreferNearby"})
    (problem,) = check_service_spec(spec, "spec")
    assert problem[0] == "spec.trafficDistribution" and '"PreferNearby"' in problem[1]
    for ok in ("PreferClose", "PreferSameZone", "PreferSameNode"):
        good = ServiceSpec.model_validate({"ports": [{"port": 80}], "trafficDistribution": ok})
        assert check_service_spec(good, "spec") == []


def test_trace_names_the_preference():
    from netlab.compile.config import ClusterConfig
    from netlab.trace.model import PolicyInputs, plan

    zone = "topology.kubernetes.io/zone"
    cfg = ClusterConfig.from_manifest({"nodes": [{"role": "control-plane"},
                                                 {"role": "worker", "labels": {zone: "a"}},
                                                 {"role": "worker", "labels": {zone: "b"}}]}, "lab")
    topo = cfg.topology([("default", "c", "lab-worker", "10.244.1.9")])
    eps = (Endpoint("10.244.1.2", "p1", "lab-worker", True), Endpoint("10.244.2.2", "p2", "lab-worker2", True))
    svc = _svc("PreferSameZone", eps, {"lab-worker": "a", "lab-worker2": "b"})
    p = plan("c", "10.96.0.50", 80, "tcp", topo, [svc], PolicyInputs((), {}, ()))
    assert {c.ip for c in p.candidates} == {"10.244.1.2"}
    assert any("trafficDistribution PreferSameZone: 1 of the service's 2 endpoint(s) from lab-worker (zone a)"
               in s.detail for s in p.steps), p.steps
