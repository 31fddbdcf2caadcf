"""hostNetwork and hostPort, the pure parts: port conflicts, scheduling, the portmap DNAT rules (walked by the
trace interpreter), validation, and the pod's /etc/hosts and resolv.conf."""

from __future__ import annotations

import ipaddress
import random

import pytest
import yaml

from netlab.compile.config import ClusterConfig
from netlab.compile.desired import compile_objects, node_rulesets
from netlab.compile.hostports import HostPortMapping, HostPortUse, fits, mappings, wanted_ports
from netlab.compile.nft_hostports import add_hostports, hostport_chain
from netlab.compile.security import Profile, hosts_file
from netlab.compile.workloads import PlacedPod, WantedPod, place
from netlab.model.loader import RawDoc
from netlab.model.problems import Source
from netlab.model.validate import parse_objects
from netlab.trace.model import plan
from netlab.trace.nft_eval import Interpreter, Packet
from tests.unit.test_trace_model import world

TCP80 = HostPortUse("TCP", "", 80)


def _spec(*ports: dict, host_network: bool = False) -> dict:
    spec: dict = {"containers": [{"name": "c", "image": "i", "ports": list(ports)}]}
    if host_network:
        spec["hostNetwork"] = True
    return spec


@pytest.mark.parametrize(("a", "b", "conflict"), [
    (TCP80, HostPortUse("TCP", "", 80), True),
    (TCP80, HostPortUse("UDP", "", 80), False),  # another protocol
    (TCP80, HostPortUse("TCP", "", 81), False),
    (TCP80, HostPortUse("TCP", "172.18.0.3", 80), True),  # the wildcard covers every address
    (HostPortUse("TCP", "172.18.0.3", 80), HostPortUse("TCP", "10.244.1.1", 80), False),
    (HostPortUse("TCP", "172.18.0.3", 80), HostPortUse("TCP", "172.18.0.3", 80), True),
])
def test_conflicts_as_kube_scheduler_sees_them(a, b, conflict):
    assert a.conflicts(b) is conflict and b.conflicts(a) is conflict
    assert fits([a], [b]) is not conflict


def test_wanted_ports_count_host_ports_and_a_host_network_pods_container_ports():
    assert wanted_ports(_spec({"containerPort": 80})) == []
    assert wanted_ports(_spec({"containerPort": 80, "hostPort": 8080, "hostIP": "0.0.0.0"},
                              {"containerPort": 53, "hostPort": 53, "protocol": "UDP"})) == \
        [HostPortUse("TCP", "", 8080), HostPortUse("UDP", "", 53)]
    assert wanted_ports(_spec({"containerPort": 80}, host_network=True)) == [TCP80]


def test_mappings_are_for_pod_network_pods_only():
    spec = _spec({"containerPort": 80, "hostPort": 8080}, {"containerPort": 53, "hostPort": 5353, "protocol": "UDP",
                                                         "hostIP": "172.18.0.3"})
    assert mappings("default/web", "10.244.1.5", spec) == [
        HostPortMapping("default/web", "TCP", "", 8080, "10.244.1.5", 80),
        HostPortMapping("default/web", "UDP", "172.18.0.3", 5353, "10.244.1.5", 53)]
    assert mappings("default/h", "172.18.0.3", _spec({"containerPort": 80}, host_network=True)) == []


def _place(specs: list[dict], workers: int = 2, previous: dict | None = None) -> dict[str, PlacedPod]:
    cfg = ClusterConfig.from_manifest({"nodes": [{"role": "control-plane"}] + [{"role": "worker"}] * workers}, "hp")
    wanted = [WantedPod("default", f"p{i}", {}, s, None, None, f"Pod default/p{i}", "spec")
              for i, s in enumerate(specs)]
    placed = place(wanted, cfg.topology().nodes, previous or {}, 0.0, random.Random(1))
    return {p.name: p for p in placed}


def test_a_host_network_pod_has_its_nodes_address_and_no_pod_address():
    pods = _place([_spec({"containerPort": 80}, host_network=True), _spec({"containerPort": 80})])
    host = pods["p0"]
    assert host.host_network and host.ip in ("172.18.0.3", "172.18.0.4")
    assert host.run_netns == host.node and host.netns == "p0"
    assert pods["p1"].ip.startswith("10.244.") and pods["p1"].run_netns == "p1"


def test_a_taken_host_port_sends_the_pod_to_another_node_or_leaves_it_pending():
    web = _spec({"containerPort": 80, "hostPort": 8080})
    pods = _place([web, web])
    assert pods["p0"].node != pods["p1"].node
    assert _place([web, _spec({"containerPort": 80, "hostPort": 8080, "protocol": "UDP"})], workers=1)["p1"].node
    pods = _place([web, web, web])
    pending = pods["p2"]
    assert (pending.node, pending.ip) == ("", "")
    assert pending.unschedulable == ("0/2 nodes are available: 2 node(s) didn't have free ports for the requested "
                                     "pod ports.")
    assert PlacedPod.from_dict(pending.to_dict()) == pending
    hostnet = _spec({"containerPort": 8080}, host_network=True)
    assert _place([hostnet, web], workers=1)["p1"].node == ""  # a hostNetwork pod's containerPort is a hostPort
    # once the port is free again, the Pending pod is placed, with the uid it had
    prev = {p.key: p for p in pods.values() if p.name != "p0"}
    wanted = [WantedPod("default", n, {}, web, None, None, f"Pod default/{n}", "spec") for n in ("p1", "p2")]
    cfg = ClusterConfig.from_manifest({"nodes": [{"role": "control-plane"}, {"role": "worker"}, {"role": "worker"}]},
                                      "hp")
    again = {p.name: p for p in place(wanted, cfg.topology().nodes, prev, 5.0, random.Random(2))}
    assert again["p2"].node == pods["p0"].node and again["p2"].uid == pending.uid and not again["p2"].unschedulable


def test_pending_pods_are_nowhere_in_the_network_and_show_as_pending():
    from netlab.api.views import pod as pod_view
    from netlab.compile.desired import compile_topology
    cfg = ClusterConfig.from_manifest(None, "hp")
    pending = PlacedPod("default", "p", "", "", "u", 0.0, {"app": "x"}, _spec({"containerPort": 80, "hostPort": 80}),
                        unschedulable="0/2 nodes are available: 2 node(s) didn't have free ports for the requested "
                                      "pod ports.")
    assert compile_topology(cfg, {"default/p": pending}).pods == ()
    view = pod_view(pending, [], cfg.topology())
    assert view["status"]["phase"] == "Pending" and "nodeName" not in view["spec"]
    assert view["status"]["conditions"][0]["reason"] == "Unschedulable"


def test_running_pods_keep_their_ports():
    web = _spec({"containerPort": 80, "hostPort": 8080})
    first = _place([web])
    prev = {p.key: p for p in first.values()}
    again = _place([web, web], previous=prev)
    assert again["p0"] == first["p0"] and again["p1"].node != first["p0"].node


def test_a_terminating_pod_keeps_its_host_port_and_address_until_it_is_gone():
    web = _spec({"containerPort": 80, "hostPort": 8080})
    cfg = ClusterConfig.from_manifest({"nodes": [{"role": "control-plane"}, {"role": "worker"}]}, "hp")
    nodes = cfg.topology().nodes
    old = place([WantedPod("default", "old", {}, web, None, None, "Pod default/old", "spec")], nodes, {}, 0.0,
                random.Random(1))[0]
    new = [WantedPod("default", "new", {}, web, None, None, "Pod default/new", "spec")]
    # being deleted, by this placement (no longer wanted) or draining already: the port is still taken
    for previous, draining in (({old.key: old}, []), ({}, [old])):
        waiting = place(new, nodes, previous, 1.0, random.Random(2), {}, draining)[0]
        assert (waiting.node, waiting.ip) == ("", "") and "free ports" in waiting.unschedulable
    gone = place(new, nodes, {}, 2.0, random.Random(2), {})[0]
    assert gone.node == old.node
    # an address a draining pod holds is not given to another pod on its node
    plain = [WantedPod("default", f"p{i}", {}, _spec({"containerPort": 80}), None, None, f"Pod default/p{i}", "spec")
             for i in range(3)]
    cursor = {old.node: str(ipaddress.ip_address(old.ip) - 1)}
    placed = place(plain, nodes, {}, 3.0, random.Random(3), cursor, [old])
    assert old.ip not in {p.ip for p in placed}


def _hostport_world():
    topo, svcs, pi = world()
    pods = [PlacedPod("default", "pod-b", "lab-worker", "10.244.1.3", "u", 0.0, {},
                      _spec({"containerPort": 3000, "hostPort": 8080}, {"containerPort": 3000, "hostPort": 8053,
                                                                      "protocol": "UDP", "hostIP": "172.18.0.3"}))]
    rulesets = node_rulesets(topo, svcs, pi, "10.244.0.0/16")
    add_hostports(rulesets, topo, pods)
    return topo, svcs, pi, rulesets


def test_hostport_rules_dnat_the_nodes_addresses_and_mark_hairpin_traffic():
    _topo, _svcs, _pi, rulesets = _hostport_world()
    assert "hostports" not in rulesets["lab-worker2"].chains  # no hostPort there: nothing added
    it = Interpreter(rulesets["lab-worker"]).check()
    for daddr in ("172.18.0.3", "10.244.1.1"):
        (r,) = it.hook("prerouting", Packet("172.18.0.1", daddr, "tcp", 8080))
        assert r.dnat == ("10.244.1.3", 3000) and r.mark == 0
    (r,) = it.hook("prerouting", Packet("10.244.1.2", "172.18.0.3", "tcp", 8080))
    assert r.dnat == ("10.244.1.3", 3000) and r.mark == 0x4000  # a pod of this node: masqueraded
    (r,) = it.hook("output", Packet("172.18.0.3", "172.18.0.3", "udp", 8053))
    assert r.dnat == ("10.244.1.3", 3000)
    (r,) = it.hook("prerouting", Packet("172.18.0.1", "10.244.1.1", "udp", 8053))
    assert r.dnat is None  # hostIP given: only that address
    chain = hostport_chain(HostPortMapping("default/pod-b", "TCP", "", 8080, "10.244.1.3", 3000))
    assert chain.startswith("hostport-") and chain in rulesets["lab-worker"].chains


@pytest.mark.parametrize(("src", "hairpin"), [("host", False), ("pod-c", False), ("pod-a", True)])
def test_trace_shows_the_hostport_dnat(src, hairpin):
    topo, svcs, pi, rulesets = _hostport_world()
    p = plan(src, "172.18.0.3", 8080, "tcp", topo, svcs, pi, rulesets=rulesets)
    assert p.outcome == "connected", p.steps
    assert [(c.ip, c.port) for c in p.candidates] == [("10.244.1.3", 3000)]
    text = "\n".join(f"{s.what} {s.detail}" for s in p.steps)
    assert "hostPort 8080/tcp on 172.18.0.3" in text and "DNAT to 10.244.1.3:3000" in text
    assert ("hairpin" in text) is hairpin


def test_hosts_file_names_the_pods_fqdn_as_kubelet_writes_it():
    text = hosts_file("10.244.1.5", "web-0", [], "web-0.nginx.default.svc.cluster.local")
    assert text.splitlines()[-1] == "10.244.1.5\tweb-0.nginx.default.svc.cluster.local\tweb-0"
    assert hosts_file("10.244.1.5", "web-0", []).splitlines()[-1] == "10.244.1.5\tweb-0"


def _desired(docs: str):
    objs = list(yaml.safe_load_all(docs))
    return compile_objects({f"{o['kind']}/default/{o['metadata']['name']}": o for o in objs},
                           ClusterConfig.from_manifest(None, "hp"))


MANIFEST = """
apiVersion: v1
kind: Pod
metadata: {name: h, labels: {app: h}}
spec:
  hostNetwork: true
  dnsPolicy: ClusterFirstWithHostNet
  containers: [{name: c, image: i, ports: [{containerPort: 8080}]}]
---
apiVersion: v1
kind: Pod
metadata: {name: w, labels: {app: h}}
spec:
  hostname: web-0
  subdomain: sub
  containers: [{name: c, image: i, ports: [{containerPort: 80, hostPort: 9090}]}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny}
spec: {podSelector: {}, policyTypes: [Ingress]}
"""


def test_desired_state_of_a_host_network_pod_and_a_hostport_pod():
    d = _desired(MANIFEST)
    assert [p.name for p in d.topology.pods] == ["w"]  # no namespace, veth or address for h
    host = next(c for c in d.containers if c.pod_key == "default/h")
    node = next(n for n in d.topology.nodes if n.underlay_ip == host.identity["ip"])
    assert host.netns == node.netns
    profile = Profile.from_dict(host.security)
    assert profile.resolv.startswith("nameserver 10.96.0.10\nsearch default.svc.cluster.local")
    assert profile.hosts == "" and profile.hostname == ""  # the node's /etc/hosts and host name
    assert profile.host_network  # so the node's sysctls are left alone
    web = next(c for c in d.containers if c.pod_key == "default/w")
    assert "\tweb-0.sub.default.svc.cluster.local\tweb-0\n" in Profile.from_dict(web.security).hosts
    assert [p.name for p in d.network.policy.pods] == ["w"]  # NetworkPolicy does not select h
    w = next(p for p in d.topology.pods if p.name == "w")
    assert any("9090" in e for e in d.network.rulesets[w.node].sets["hostport-dispatch"].elements)


def test_validation_names_the_host_port_field():
    bad = MANIFEST.replace("ports: [{containerPort: 8080}]", "ports: [{containerPort: 8080, hostPort: 80}]")
    bad = bad.replace("hostPort: 9090", "hostPort: 70000")
    docs = [RawDoc(Source("t.yaml", i, 1), o) for i, o in enumerate(yaml.safe_load_all(bad))]
    text = str([(p.field, p.message) for p in parse_objects(docs)[1]])
    assert "spec.containers[0].ports[0].hostPort" in text and "must match `containerPort` (8080)" in text
    assert "must be between 1 and 65535, got 70000" in text


def test_a_pending_pod_with_a_node_name_stays_pending_and_a_daemonset_makes_no_second_one():
    from netlab.compile.desired import placement
    cfg = ClusterConfig.from_manifest(None, "hp")
    nodes = cfg.topology().nodes
    web = _spec({"containerPort": 80, "hostPort": 80})
    holder = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "holder", "namespace": "default"},
              "spec": {**web, "nodeName": "hp-worker"}}
    ds = {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "ds", "namespace": "default"},
          "spec": {"selector": {"matchLabels": {"a": "b"}},
                   "template": {"metadata": {"labels": {"a": "b"}}, "spec": web}}}
    objects = {"Pod/default/holder": holder, "DaemonSet/default/ds": ds}
    first = placement(objects, {}, nodes, random.Random(1), {}, 0.0)
    pending = [p for p in first.values() if not p.node]
    assert [p.spec["nodeName"] for p in pending] == ["hp-worker"] and len(first) == 3
    again = placement(objects, first, nodes, random.Random(2), {}, 1.0)
    assert again == first  # the same Pending pod: no second one, no "immutable nodeName" error


@pytest.mark.parametrize(("src", "arrival"), [("pod-a", "lab-worker2"), ("pod-c", None)])
def test_trace_to_a_service_of_host_network_pods(src, arrival):
    from netlab.compile.services import Endpoint, ResolvedService, ServicePortView
    topo, svcs, pi = world()
    hn = ResolvedService("default", "hn", "ClusterIP", "10.96.100.9", None,
                         (ServicePortView("", "TCP", 80, None, {"172.18.0.4": 18080}),),
                         (Endpoint("172.18.0.4", "h", "lab-worker2", True),))
    p = plan(src, "10.96.100.9", 80, "tcp", topo, [*svcs, hn], pi)
    assert p.outcome == "connected" and [(c.ip, c.node) for c in p.candidates] == [("172.18.0.4", "lab-worker2")]
    whats = [s.what for s in p.steps]
    assert "DNAT to 172.18.0.4:18080 (a hostNetwork pod on lab-worker2)" in whats
    if arrival:  # over the underlay to the node that has the address
        assert any(s.where == arrival and "its own address" in s.what for s in p.steps)
    else:
        assert "172.18.0.4 is this node's own address: delivered to the node's own sockets" in whats


def test_a_deployment_wanting_more_host_ports_than_nodes_runs_what_fits_and_leaves_the_rest_pending():
    from netlab.compile.desired import placement
    cfg = ClusterConfig.from_manifest(None, "hp")
    deploy = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "default"},
              "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
                       "template": {"metadata": {"labels": {"app": "web"}},
                                    "spec": _spec({"containerPort": 80, "hostPort": 80})}}}
    pods = placement({"Deployment/default/web": deploy}, {}, cfg.topology().nodes, random.Random(1), {}, 0.0)
    assert sorted(p.node for p in pods.values()) == ["", "hp-worker", "hp-worker2"]
    again = placement({"Deployment/default/web": deploy}, pods, cfg.topology().nodes, random.Random(2), {}, 1.0)
    assert again == pods  # the Pending replica stays the same pod


def test_graph_draws_a_host_network_pod_in_its_node_without_a_veth():
    from netlab.compile import graph
    node = {"kind": "Node", "metadata": {"name": "n1"}, "spec": {"podCIDR": "10.244.1.0/24"},
            "status": {"addresses": [{"type": "InternalIP", "address": "172.18.0.3"}]}}
    pods = [{"kind": "Pod", "metadata": {"name": n, "namespace": "default", "labels": {}},
             "spec": {"nodeName": "n1", **extra}, "status": {"phase": "Running", "podIP": ip}}
            for n, ip, extra in (("h", "172.18.0.3", {"hostNetwork": True}), ("p", "10.244.1.2", {}))]
    g = graph.build([node], pods, [], [], [], [])
    veths = {e.dst for e in g.edges if e.kind == "veth"}
    assert graph.pod_id("default", "p") in veths and graph.pod_id("default", "h") not in veths
    h = next(v for v in g.vertices if v.id == graph.pod_id("default", "h"))
    assert "hostNetwork" in h.lines and h.group == "nodegroup:n1"
