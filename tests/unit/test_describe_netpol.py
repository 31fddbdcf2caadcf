"""`describe networkpolicy`: kubectl's layout, then the policy resolved to pods, IPs, CIDRs and ports."""

from __future__ import annotations

from netlab.cli import printers
from netlab.compile.netpol import PolicyNamespace, PolicyPod
from netlab.compile.netpol_explain import explain

NOW = 1_700_000_000.0

PODS = [
    PolicyPod("x", "a", "10.244.1.2", "worker", {"pod": "a"}, (("serve-80-tcp", 80, "TCP"),)),
    PolicyPod("x", "b", "10.244.2.2", "worker2", {"pod": "b"}, (("serve-80-tcp", 8080, "TCP"),)),
    PolicyPod("y", "a", "10.244.1.3", "worker", {"pod": "a"}),
    PolicyPod("y", "b", "10.244.2.3", "worker2", {"pod": "b"}),
]
NAMESPACES = [PolicyNamespace("x", {"ns": "x"}), PolicyNamespace("y", {"ns": "y"})]

POLICY = {
    "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
    "metadata": {"name": "p", "namespace": "x", "creationTimestamp": "2023-11-14T22:00:00Z"},
    "spec": {
        "podSelector": {},
        "policyTypes": ["Ingress", "Egress"],
        "ingress": [
            {"from": [{"namespaceSelector": {"matchLabels": {"ns": "y"}}, "podSelector": {"matchLabels": {"pod": "a"}}},
                      {"ipBlock": {"cidr": "172.18.0.0/16", "except": ["172.18.0.0/24"]}}],
             "ports": [{"port": "serve-80-tcp"}]},
            {},
        ],
        "egress": [{"to": [{"podSelector": {"matchLabels": {"pod": "b"}}}],
                    "ports": [{"port": 53, "endPort": 60, "protocol": "UDP"}]}],
    },
}

KUBECTL_PART = """\
Name:         p
Namespace:    x
Created on:   2023-11-14 22:00:00 +0000 UTC
Labels:       <none>
Annotations:  <none>
Spec:
  PodSelector:     <none> (Allowing the specific traffic to all pods in this namespace)
  Allowing ingress traffic:
    To Port: serve-80-tcp/TCP
    From:
      NamespaceSelector: ns=y
      PodSelector: pod=a
    From:
      IPBlock:
        CIDR: 172.18.0.0/16
        Except: 172.18.0.0/24
    ----------
    To Port: <any> (traffic allowed to all ports)
    From: <any> (traffic not restricted by source)
  Allowing egress traffic:
    To Port: 53-60/UDP
    To:
      PodSelector: pod=b
  Policy Types: Ingress, Egress
"""


def test_without_explain_only_kubectls_layout():
    assert printers.describe("NetworkPolicy", POLICY, NOW, {}) == KUBECTL_PART


def test_explain_lists_selected_pods_and_resolved_peers_and_ports():
    out = printers.describe("NetworkPolicy", POLICY, NOW, {"explain": explain(POLICY, PODS, NAMESPACES)})
    assert out == KUBECTL_PART + """\
Selected pods (2):
  x/a  10.244.1.2  worker
  x/b  10.244.2.2  worker2
Allowing ingress traffic from:
  Rule 0:
    Peers:
      y/a  10.244.1.3
      CIDR 172.18.0.0/16 except 172.18.0.0/24
    Ports:
      x/a  TCP/80
      x/b  TCP/8080
  Rule 1:
    Peers: <any> (every source)
    Ports: <any>
Allowing egress traffic to:
  Rule 0:
    Peers:
      x/b  10.244.2.2
    Ports: UDP/53-60
"""


def test_default_deny_and_nothing_selected():
    deny = {"kind": "NetworkPolicy", "metadata": {"name": "deny", "namespace": "z"},
            "spec": {"podSelector": {"matchLabels": {"pod": "a"}}, "policyTypes": ["Ingress"]}}
    out = printers.describe("NetworkPolicy", deny, NOW, {"explain": explain(deny, PODS, NAMESPACES)})
    tail = out.split("  Policy Types: Ingress\n", 1)[1]
    assert tail == ("Selected pods (0):\n"
                    "  <none> (no pod matches the pod selector yet)\n"
                    "Allowing ingress traffic from:\n"
                    "  <none> (selected pods are isolated for ingress)\n")
    assert "egress traffic to" not in out


def test_peers_that_match_nothing_and_unresolvable_named_ports():
    pol = {"kind": "NetworkPolicy", "metadata": {"name": "q", "namespace": "y"},
           "spec": {"podSelector": {"matchLabels": {"pod": "a"}},
                    "ingress": [{"from": [{"podSelector": {"matchLabels": {"pod": "nobody"}}}],
                                 "ports": [{"port": "no-such-port"}]}]}}
    out = printers.describe("NetworkPolicy", pol, NOW, {"explain": explain(pol, PODS, NAMESPACES)})
    assert out.endswith("Selected pods (1):\n"
                        "  y/a  10.244.1.3  worker\n"
                        "Allowing ingress traffic from:\n"
                        "  Rule 0:\n"
                        "    Peers: <none> (nothing matches the peers yet)\n"
                        "    Ports: <none> (no named port resolves on any destination)\n")
