"""Pod names the kernel must still keep apart: a dot that reads as a namespace, and very long names."""

from __future__ import annotations

import os

from conftest import echo_answer, wait_for

from netlab.compile import names

PODS = """
apiVersion: v1
kind: Namespace
metadata: {name: CLUSTER}
---
apiVersion: v1
kind: Pod
metadata: {name: rp-client, namespace: CLUSTER}
spec:
  containers: [{name: echo, image: echo}]
---
apiVersion: v1
kind: Pod
metadata: {name: rp-client.CLUSTER}
spec:
  containers: [{name: echo, image: echo}]
---
apiVersion: v1
kind: Pod
metadata: {name: LONG}
spec:
  containers: [{name: echo, image: echo}]
"""


def test_pods_whose_names_used_to_collide_or_overflow_get_their_own_namespaces(lab):
    long = f"l{lab.cluster}" + "x" * (246 - 1 - len(lab.cluster))  # default_<246> is the longest file name
    path = lab.write("pods.yaml", PODS.replace("LONG", long))
    lab.netlab("up", str(path), timeout=180)
    dotted = names.pod_netns("default", f"rp-client.{lab.cluster}")
    plain = names.pod_netns(lab.cluster, "rp-client")
    assert dotted == f"rp-client.{lab.cluster}.default" and plain == f"rp-client.{lab.cluster}"
    for netns, pod, ns in ((dotted, f"rp-client.{lab.cluster}", "default"), (plain, "rp-client", lab.cluster),
                           (names.pod_netns("default", long), long, "default")):
        assert os.path.exists(f"/run/netns/{netns}")
        ip = lab.pod_ip(pod, ns)
        answer = wait_for(lambda ip=ip: lab.curl(None, f"http://{ip}/").stdout, what=f"{pod} answers")
        assert echo_answer(answer)["pod"] == pod
    # deleting the dotted pod must leave the other one running
    lab.netlab("delete", "pod", f"rp-client.{lab.cluster}")
    wait_for(lambda: not os.path.exists(f"/run/netns/{dotted}"), what="dotted pod's netns gone")
    ip = lab.pod_ip("rp-client", lab.cluster)
    assert echo_answer(lab.curl(None, f"http://{ip}/").stdout)["pod"] == "rp-client"
