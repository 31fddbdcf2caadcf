"""Table tests for the pure DNS record compiler (netlab.compile.dnszone)."""

from __future__ import annotations

import pytest
from dnslib import QTYPE

from netlab.compile import dnszone as dns
from netlab.compile.dnszone import NOERROR, NXDOMAIN, REFUSED, QName, build_zone, parse_qname

Z = "cluster.local"

VIEW = {
    "domain": Z, "ttl": 30, "dnsVersion": "1.1.0", "upstreams": [],
    "services": [
        {"name": "app", "namespace": "default", "type": "ClusterIP", "clusterIPs": ["10.96.12.3"], "headless": False,
         "externalName": None, "publishNotReadyAddresses": False,
         "ports": [{"name": "http", "port": 80, "protocol": "TCP"}, {"name": None, "port": 8080, "protocol": "TCP"}],
         "endpoints": [{"ip": "10.244.1.2", "hostname": None, "ready": True, "podName": "app-1"}]},
        {"name": "web", "namespace": "default", "type": "ClusterIP", "clusterIPs": [], "headless": True,
         "ports": [{"name": "http", "port": 80, "protocol": "TCP"}, {"name": "dns", "port": 53, "protocol": "UDP"}],
         "endpoints": [{"ip": "10.244.1.10", "hostname": "web-0", "ready": True, "podName": "web-0"},
                       {"ip": "10.244.2.11", "hostname": "web-1", "ready": True, "podName": "web-1"},
                       {"ip": "10.244.2.12", "hostname": None, "ready": True, "podName": "x"},
                       {"ip": "10.244.2.13", "hostname": "web-3", "ready": False, "podName": "web-3"}]},
        {"name": "all", "namespace": "other", "type": "ClusterIP", "clusterIPs": [], "headless": True,
         "publishNotReadyAddresses": True, "ports": [],
         "endpoints": [{"ip": "10.244.3.2", "hostname": "a", "ready": False}]},
        {"name": "empty", "namespace": "default", "type": "ClusterIP", "clusterIPs": [], "headless": True,
         "ports": [{"name": "http", "port": 80, "protocol": "TCP"}],
         "endpoints": [{"ip": "10.244.3.9", "hostname": "z", "ready": False}]},
        {"name": "ext", "namespace": "default", "type": "ExternalName", "clusterIPs": [],
         "externalName": "www.example.com", "ports": [], "endpoints": []},
        {"name": "alias", "namespace": "default", "type": "ExternalName", "clusterIPs": [],
         "externalName": "app.default.svc.cluster.local", "ports": [], "endpoints": []},
        {"name": "Np", "namespace": "default", "type": "NodePort", "clusterIPs": ["10.96.0.77", "fd00::77"],
         "ports": [{"name": "HTTP", "port": 81, "protocol": "TCP"}], "endpoints": []},
        {"name": "kube-dns", "namespace": "kube-system", "type": "ClusterIP", "clusterIPs": ["10.96.0.10"],
         "ports": [{"name": "dns", "port": 53, "protocol": "UDP"}, {"name": "dns-tcp", "port": 53, "protocol": "TCP"}],
         "endpoints": [{"ip": "10.244.0.5", "ready": True}]},
    ],
    "pods": [{"name": "a", "namespace": "default", "ip": "10.244.1.2", "hostname": None, "subdomain": None},
             {"name": "lonely", "namespace": "empty-ns", "ip": "10.244.9.9"}],
    "namespaces": ["default", "kube-system", "other", "empty-ns"],
}


@pytest.fixture(scope="module")
def zone() -> dns.Zone:
    return build_zone(VIEW)


def rdatas(rrs: list) -> list[str]:
    return [str(rr.rdata) for rr in rrs]


# ---- parse_qname ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name, expected", [
    ("cluster.local", QName("apex", Z)),
    ("Cluster.Local.", QName("apex", Z)),
    ("example.com", QName("outside", "example.com")),
    ("local", QName("outside", "local")),
    ("xcluster.local", QName("outside", "xcluster.local")),
    ("dns-version.cluster.local", QName("dns-version", f"dns-version.{Z}")),
    ("ns.dns.cluster.local", QName("nameserver", f"ns.dns.{Z}")),
    ("svc.cluster.local", QName("type-root", f"svc.{Z}", pod_or_svc="svc")),
    ("pod.cluster.local", QName("type-root", f"pod.{Z}", pod_or_svc="pod")),
    ("default.svc.cluster.local", QName("namespace", f"default.svc.{Z}", "svc", "default")),
    ("default.pod.cluster.local", QName("namespace", f"default.pod.{Z}", "pod", "default")),
    ("App.Default.svc.cluster.local", QName("service", f"app.default.svc.{Z}", "svc", "default", "app")),
    ("web-0.web.default.svc.cluster.local",
     QName("endpoint", f"web-0.web.default.svc.{Z}", "svc", "default", "web", endpoint="web-0")),
    ("_http._tcp.app.default.svc.cluster.local",
     QName("srv", f"_http._tcp.app.default.svc.{Z}", "svc", "default", "app", port="http", protocol="tcp")),
    ("http.tcp.app.default.svc.cluster.local",
     QName("invalid", f"http.tcp.app.default.svc.{Z}", "svc", "default", "app")),
    ("a.b.c.app.default.svc.cluster.local",
     QName("invalid", f"a.b.c.app.default.svc.{Z}", "svc", "default", "app")),
    ("1-2-3-4.default.pod.cluster.local",
     QName("pod", f"1-2-3-4.default.pod.{Z}", "pod", "default", endpoint="1-2-3-4", ip="1.2.3.4")),
    ("fd00--1.default.pod.cluster.local",
     QName("pod", f"fd00--1.default.pod.{Z}", "pod", "default", endpoint="fd00--1", ip="fd00::1")),
    ("1-2-3-999.default.pod.cluster.local",
     QName("pod", f"1-2-3-999.default.pod.{Z}", "pod", "default", endpoint="1-2-3-999")),
    ("x.y.default.pod.cluster.local", QName("invalid", f"x.y.default.pod.{Z}", "pod", "default")),
    ("foo.cluster.local", QName("invalid", f"foo.{Z}")),
    ("a.foo.cluster.local", QName("invalid", f"a.foo.{Z}")),
    ("3.12.96.10.in-addr.arpa", QName("reverse", "3.12.96.10.in-addr.arpa", ip="10.96.12.3")),
    ("12.96.10.in-addr.arpa", QName("reverse", "12.96.10.in-addr.arpa")),
    ("in-addr.arpa", QName("reverse", "in-addr.arpa")),
    ("1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa",
     QName("reverse", "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa", ip="fd00::1")),
])
def test_parse_qname(name: str, expected: QName) -> None:
    assert parse_qname(name, Z) == expected


def test_parse_qname_other_domain() -> None:
    assert parse_qname("app.default.svc.k8s.test", "k8s.test.").kind == "service"
    assert parse_qname("app.default.svc.cluster.local", "k8s.test").kind == "outside"


# ---- positive answers ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("name, qtype, expected", [
    # ClusterIP service
    ("app.default.svc.cluster.local", "A", ["10.96.12.3"]),
    ("APP.DEFAULT.SVC.CLUSTER.LOCAL.", "A", ["10.96.12.3"]),
    ("np.default.svc.cluster.local", "A", ["10.96.0.77"]),
    ("np.default.svc.cluster.local", "AAAA", ["fd00::77"]),
    # endpoint names below a ClusterIP service (CoreDNS answers these for any service)
    ("10-244-1-2.app.default.svc.cluster.local", "A", ["10.244.1.2"]),
    # headless: ready endpoints only
    ("web.default.svc.cluster.local", "A", ["10.244.1.10", "10.244.2.11", "10.244.2.12"]),
    ("web-0.web.default.svc.cluster.local", "A", ["10.244.1.10"]),
    ("Web-1.Web.default.svc.cluster.local", "A", ["10.244.2.11"]),
    ("10-244-2-12.web.default.svc.cluster.local", "A", ["10.244.2.12"]),
    # publishNotReadyAddresses
    ("all.other.svc.cluster.local", "A", ["10.244.3.2"]),
    ("a.all.other.svc.cluster.local", "A", ["10.244.3.2"]),
    # SRV, ClusterIP form
    ("_http._tcp.app.default.svc.cluster.local", "SRV", ["0 100 80 app.default.svc.cluster.local."]),
    ("_HTTP._TCP.np.default.svc.cluster.local", "SRV", ["0 100 81 np.default.svc.cluster.local."]),
    ("_dns._udp.kube-dns.kube-system.svc.cluster.local", "SRV", ["0 100 53 kube-dns.kube-system.svc.cluster.local."]),
    # SRV, headless form: one per ready endpoint, weight 100/N
    ("_http._tcp.web.default.svc.cluster.local", "SRV",
     ["0 33 80 10-244-2-12.web.default.svc.cluster.local.", "0 33 80 web-0.web.default.svc.cluster.local.",
      "0 33 80 web-1.web.default.svc.cluster.local."]),
    ("_dns._udp.web.default.svc.cluster.local", "SRV",
     ["0 33 53 10-244-2-12.web.default.svc.cluster.local.", "0 33 53 web-0.web.default.svc.cluster.local.",
      "0 33 53 web-1.web.default.svc.cluster.local."]),
    # SRV on the service name itself: every port (CoreDNS's wildcard port), unnamed ones too
    ("app.default.svc.cluster.local", "SRV",
     ["0 50 80 app.default.svc.cluster.local.", "0 50 8080 app.default.svc.cluster.local."]),
    # PTR
    ("3.12.96.10.in-addr.arpa", "PTR", ["app.default.svc.cluster.local."]),
    ("77.0.96.10.in-addr.arpa", "PTR", ["np.default.svc.cluster.local."]),
    ("7.7.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa", "PTR",
     ["np.default.svc.cluster.local."]),
    ("10.1.244.10.in-addr.arpa", "PTR", ["web-0.web.default.svc.cluster.local."]),
    ("12.2.244.10.in-addr.arpa", "PTR", ["10-244-2-12.web.default.svc.cluster.local."]),
    # ExternalName: CNAME for any type; an in-zone target is followed
    ("ext.default.svc.cluster.local", "A", ["www.example.com."]),
    ("ext.default.svc.cluster.local", "AAAA", ["www.example.com."]),
    ("ext.default.svc.cluster.local", "CNAME", ["www.example.com."]),
    ("ext.default.svc.cluster.local", "MX", ["www.example.com."]),
    ("alias.default.svc.cluster.local", "A", ["app.default.svc.cluster.local.", "10.96.12.3"]),
    # pods insecure: any well-formed dashed IP in an existing namespace
    ("1-2-3-4.default.pod.cluster.local", "A", ["1.2.3.4"]),
    ("10-244-9-9.empty-ns.pod.cluster.local", "A", ["10.244.9.9"]),
    ("fd00--1.default.pod.cluster.local", "AAAA", ["fd00::1"]),
    # schema version, apex
    ("dns-version.cluster.local", "TXT", ['"1.1.0"']),
    ("cluster.local", "NS", ["ns.dns.cluster.local."]),
    ("ns.dns.cluster.local", "A", ["10.96.0.10"]),
])
def test_positive(zone: dns.Zone, name: str, qtype: str, expected: list[str]) -> None:
    answer = zone.lookup(name, getattr(QTYPE, qtype))
    assert answer.rcode == NOERROR
    assert answer.authoritative
    assert answer.authority == []
    assert sorted(rdatas(answer.answer)) == sorted(expected)
    assert all(rr.ttl == 30 for rr in answer.answer)


def test_soa_at_apex(zone: dns.Zone) -> None:
    answer = zone.lookup("cluster.local", QTYPE.SOA)
    assert answer.rcode == NOERROR
    [soa] = answer.answer
    assert str(soa.rname) == "cluster.local."
    assert str(soa.rdata.mname) == "ns.dns.cluster.local." and str(soa.rdata.rname) == "hostmaster.cluster.local."
    assert soa.rdata.times[-1] == 30


def test_srv_additional_has_target_addresses(zone: dns.Zone) -> None:
    answer = zone.lookup("_http._tcp.web.default.svc.cluster.local", QTYPE.SRV)
    assert {(str(rr.rname), str(rr.rdata)) for rr in answer.additional} == {
        ("web-0.web.default.svc.cluster.local.", "10.244.1.10"),
        ("web-1.web.default.svc.cluster.local.", "10.244.2.11"),
        ("10-244-2-12.web.default.svc.cluster.local.", "10.244.2.12"),
    }
    answer = zone.lookup("_http._tcp.app.default.svc.cluster.local", QTYPE.SRV)
    assert [(str(rr.rname), str(rr.rdata)) for rr in answer.additional] == [
        ("app.default.svc.cluster.local.", "10.96.12.3")]


def test_ns_additional(zone: dns.Zone) -> None:
    answer = zone.lookup("cluster.local", QTYPE.NS)
    assert rdatas(answer.additional) == ["10.96.0.10"]


def test_answer_owner_is_the_query_name(zone: dns.Zone) -> None:
    answer = zone.lookup("web-0.web.default.svc.cluster.local", QTYPE.A)
    assert str(answer.answer[0].rname) == "web-0.web.default.svc.cluster.local."


def test_cname_target_for_the_server(zone: dns.Zone) -> None:
    assert zone.lookup("ext.default.svc.cluster.local", QTYPE.A).cname_target == "www.example.com"
    assert zone.lookup("alias.default.svc.cluster.local", QTYPE.A).cname_target is None


# ---- negative answers: NXDOMAIN vs NODATA --------------------------------------------------------------------
@pytest.mark.parametrize("name, qtype, rcode", [
    # names that exist with another type: NODATA
    ("app.default.svc.cluster.local", "AAAA", NOERROR),
    ("app.default.svc.cluster.local", "TXT", NOERROR),
    ("web-0.web.default.svc.cluster.local", "AAAA", NOERROR),
    ("_http._tcp.app.default.svc.cluster.local", "A", NOERROR),
    ("cluster.local", "A", NOERROR),
    ("dns-version.cluster.local", "A", NOERROR),
    ("1-2-3-4.default.pod.cluster.local", "AAAA", NOERROR),
    ("3.12.96.10.in-addr.arpa", "A", NOERROR),
    # empty non-terminals: NODATA
    ("svc.cluster.local", "A", NOERROR),
    ("pod.cluster.local", "A", NOERROR),
    ("default.svc.cluster.local", "A", NOERROR),
    ("empty-ns.svc.cluster.local", "A", NOERROR),
    ("default.pod.cluster.local", "A", NOERROR),
    ("_tcp.app.default.svc.cluster.local", "SRV", NOERROR),
    ("dns.cluster.local", "A", NOERROR),
    # names that do not exist: NXDOMAIN
    ("nope.svc.cluster.local", "A", NXDOMAIN),
    ("nope.default.svc.cluster.local", "A", NXDOMAIN),
    ("app.nope.svc.cluster.local", "A", NXDOMAIN),
    ("web-3.web.default.svc.cluster.local", "A", NXDOMAIN),       # not ready
    ("web-9.web.default.svc.cluster.local", "A", NXDOMAIN),
    ("empty.default.svc.cluster.local", "A", NXDOMAIN),            # headless, no ready endpoint (spec 2.4.1)
    ("_http._tcp.empty.default.svc.cluster.local", "SRV", NXDOMAIN),
    ("_nope._tcp.app.default.svc.cluster.local", "SRV", NXDOMAIN),
    ("_http._udp.app.default.svc.cluster.local", "SRV", NXDOMAIN),
    ("_8080._tcp.app.default.svc.cluster.local", "SRV", NXDOMAIN),  # unnamed ports have no SRV record
    ("http.tcp.app.default.svc.cluster.local", "SRV", NXDOMAIN),
    ("1-2-3-4.nope.pod.cluster.local", "A", NXDOMAIN),
    ("1-2-3-999.default.pod.cluster.local", "A", NXDOMAIN),
    ("not-an-ip.default.pod.cluster.local", "A", NXDOMAIN),
    ("nope.pod.cluster.local", "A", NXDOMAIN),
    ("foo.cluster.local", "A", NXDOMAIN),
    ("x.ext.default.svc.cluster.local", "A", NXDOMAIN),
    ("9.9.244.10.in-addr.arpa", "PTR", NXDOMAIN),                  # a known pod IP without a record
    ("2.1.244.10.in-addr.arpa", "PTR", NXDOMAIN),                  # an endpoint of a ClusterIP service
])
def test_negative(zone: dns.Zone, name: str, qtype: str, rcode: int) -> None:
    answer = zone.lookup(name, getattr(QTYPE, qtype))
    assert (answer.rcode, answer.answer) == (rcode, [])
    assert answer.authoritative
    [soa] = answer.authority
    assert soa.rtype == QTYPE.SOA
    origin = "in-addr.arpa." if name.endswith("in-addr.arpa") else "cluster.local."
    assert str(soa.rname) == origin


def test_outside_names_are_not_ours(zone: dns.Zone) -> None:
    for name in ("example.com", "8.8.8.8.in-addr.arpa", "96.10.in-addr.arpa", "local"):
        assert not zone.owns(name)
        answer = zone.lookup(name, QTYPE.A)
        assert answer.rcode == REFUSED and not answer.authoritative
    assert zone.owns("anything.cluster.local") and zone.owns("3.12.96.10.in-addr.arpa")


def test_reverse_cidrs_make_a_range_ours() -> None:
    zone = build_zone({**VIEW, "reverseCIDRs": ["10.96.0.0/16"]})
    assert zone.owns("99.99.96.10.in-addr.arpa")
    assert zone.lookup("99.99.96.10.in-addr.arpa", QTYPE.PTR).rcode == NXDOMAIN
    assert not zone.owns("1.1.1.1.in-addr.arpa")


def test_ttl_configurable_and_default() -> None:
    zone = build_zone({**VIEW, "ttl": 5})
    assert zone.lookup("app.default.svc.cluster.local", QTYPE.A).answer[0].ttl == 5
    assert zone.lookup("nope.default.svc.cluster.local", QTYPE.A).authority[0].ttl == 5
    view = {k: v for k, v in VIEW.items() if k != "ttl"}
    assert build_zone(view).lookup("app.default.svc.cluster.local", QTYPE.A).answer[0].ttl == 30


def test_other_domain_and_empty_view() -> None:
    zone = build_zone({**VIEW, "domain": "k8s.test"})
    assert rdatas(zone.lookup("app.default.svc.k8s.test", QTYPE.A).answer) == ["10.96.12.3"]
    assert not zone.owns("app.default.svc.cluster.local")
    empty = build_zone({})
    assert empty.domain == "cluster.local"
    assert empty.lookup("app.default.svc.cluster.local", QTYPE.A).rcode == NXDOMAIN
    assert rdatas(empty.lookup("dns-version.cluster.local", QTYPE.TXT).answer) == ['"1.1.0"']


def test_bad_entries_are_skipped() -> None:
    ok = {"name": "ok", "namespace": "default", "clusterIPs": ["bad", "10.0.0.1"],
          "ports": [{"name": "p", "port": "80"}], "endpoints": [{"ip": "nope"}]}
    view = {"services": [{"name": "x"}, "junk", ok], "pods": [None, {"ip": "also-bad"}], "ttl": "x"}
    zone = build_zone(view)
    assert rdatas(zone.lookup("ok.default.svc.cluster.local", QTYPE.A).answer) == ["10.0.0.1"]


def test_large_headless_weights_never_zero() -> None:
    eps = [{"ip": f"10.244.{i // 250}.{i % 250 + 1}", "ready": True} for i in range(300)]
    view = {"services": [{"name": "big", "namespace": "default", "headless": True, "clusterIPs": [],
                          "ports": [{"name": "http", "port": 80, "protocol": "TCP"}], "endpoints": eps}]}
    answer = build_zone(view).lookup("_http._tcp.big.default.svc.cluster.local", QTYPE.SRV)
    assert len(answer.answer) == 300 and {rr.rdata.weight for rr in answer.answer} == {1}
    assert len(build_zone(view).lookup("big.default.svc.cluster.local", QTYPE.A).answer) == 300


def test_any_returns_every_rrset(zone: dns.Zone) -> None:
    answer = zone.lookup("app.default.svc.cluster.local", 255)
    assert {rr.rtype for rr in answer.answer} == {QTYPE.A, QTYPE.SRV}
