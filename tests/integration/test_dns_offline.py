"""Issue 10: in an offline lab an ExternalName still answers NOERROR with its CNAME (as CoreDNS), seen by dig."""

from __future__ import annotations

import pytest
from conftest import wait_for

LAB = """
kind: Cluster
apiVersion: netlab.dev/v1alpha1
DNS
---
apiVersion: v1
kind: Pod
metadata: {name: CLUSTER-client}
spec:
  containers: [{name: echo, image: echo}]
---
apiVersion: v1
kind: Service
metadata: {name: docs}
spec:
  type: ExternalName
  externalName: docs.example.invalid
"""


def _dig(lab, *args: str) -> str:
    return lab.in_ns(f"{lab.cluster}-client", "dig", "+time=4", "+tries=1", *args).stdout


@pytest.mark.parametrize("upstream", ["configured", "host-relay"])
def test_external_name_answers_its_cname_when_upstream_is_dead(lab, tmp_path, upstream):
    if upstream == "configured":
        # dns.upstreams names an address in the test's host namespace where nothing listens
        lab.netlab("up", str(lab.write("lab.yaml", LAB.replace("DNS", 'dns: {upstreams: ["172.18.0.1:5354"]}'))))
    else:
        # the default: the host's resolvers through the relay; the host's only resolver is dead
        resolv = tmp_path / "resolv.conf"
        resolv.write_text("nameserver 127.0.0.1\n")
        lab.netlab("up", str(lab.write("lab.yaml", LAB.replace("DNS", "dns: {replicas: 1}"))),
                   env={"NETLAB_HOST_RESOLV_CONF": str(resolv)})
    out = wait_for(lambda: (o := _dig(lab, "docs.default.svc.cluster.local")) and "status:" in o and o,
                   timeout=10, what="an answer from the cluster DNS")
    assert "status: NOERROR" in out, out
    answer = out.split(";; ANSWER SECTION:", 1)[1].split("\n\n", 1)[0]
    assert "CNAME\tdocs.example.invalid." in answer, out
    assert "status: SERVFAIL" in _dig(lab, "example.org"), "other names still fail as they should"
