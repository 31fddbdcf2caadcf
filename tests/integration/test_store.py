"""Issue 13 stage 1: what the API lists carries resourceVersions, core/v1 Events as upstream components
record them, and Nodes as a kubelet reports them (read through netlab's own API and CLI)."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

from conftest import wait_for

DEPLOYMENT = """
apiVersion: v1
kind: Namespace
metadata: {name: CLUSTER-st}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: CLUSTER-st, labels: LABELS}
spec:
  replicas: REPLICAS
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: echo}]}
"""


def _manifest(lab, replicas: int, labels: str = "{}"):
    return lab.write("d.yaml", DEPLOYMENT.replace("REPLICAS", str(replicas)).replace("LABELS", labels))


def _get(lab, *args: str) -> dict:
    return json.loads(lab.netlab("get", *args, "-o", "json").stdout)


def _events(lab, ns: str) -> list[dict]:
    return _get(lab, "events", "-n", ns)["items"]


def test_versions_events_and_nodes(lab):
    ns = f"{lab.cluster}-st"
    lab.netlab("up", str(_manifest(lab, 2)))
    wait_for(lambda: all(p["status"]["phase"] == "Running" for p in _get(lab, "pods", "-n", ns)["items"]),
             timeout=20, what="pods running")
    pods = _get(lab, "pods", "-n", ns)["items"]
    versions = [int(p["metadata"]["resourceVersion"]) for p in pods]
    assert len(pods) == 2 and len(set(versions)) == 2
    deploy = _get(lab, "deployment", "web", "-n", ns)
    rv1, gen1 = int(deploy["metadata"]["resourceVersion"]), deploy["metadata"]["generation"]

    # Every pod: Scheduled by the scheduler, then the kubelet's Pulled/Created/Started, about its uid.
    events = _events(lab, ns)
    for p in pods:
        name, uid = p["metadata"]["name"], p["metadata"]["uid"]
        mine = [e for e in events if e["involvedObject"].get("uid") == uid
                and e["source"]["component"] != "netlab-controller"]  # netlab's own notes besides upstream's
        assert [e["reason"] for e in mine][:4] == ["Scheduled", "Pulled", "Created", "Started"], mine
        assert mine[0]["source"]["component"] == "default-scheduler"
        assert mine[0]["message"] == f"Successfully assigned {ns}/{name} to {p['spec']['nodeName']}"
        assert all(e["source"]["component"] == "kubelet" for e in mine[1:4])
        assert all(e["involvedObject"]["fieldPath"] == "spec.containers{web}" for e in mine[1:4])
        assert all(e["metadata"]["name"].startswith(f"{name}.") for e in mine)
    scaled = [e for e in events if e["reason"] == "ScalingReplicaSet"]
    rs = pods[0]["metadata"]["ownerReferences"][0]["name"]
    assert [e["message"] for e in scaled] == [f"Scaled up replica set {rs} from 0 to 2"]
    assert scaled[0]["involvedObject"]["kind"] == "Deployment" and scaled[0]["source"]["component"] == \
        "deployment-controller"

    # A label is not a spec change: a new resourceVersion, the same generation; replicas bump both.
    lab.netlab("apply", "-f", str(_manifest(lab, 2, "{tier: front}")))
    deploy = _get(lab, "deployment", "web", "-n", ns)
    rv2 = int(deploy["metadata"]["resourceVersion"])
    assert rv2 > rv1 and deploy["metadata"]["generation"] == gen1
    lab.netlab("apply", "-f", str(_manifest(lab, 3, "{tier: front}")))
    deploy = _get(lab, "deployment", "web", "-n", ns)
    assert int(deploy["metadata"]["resourceVersion"]) > rv2 and deploy["metadata"]["generation"] == gen1 + 1
    assert any(e["message"].endswith("from 2 to 3") for e in _events(lab, ns) if e["reason"] == "ScalingReplicaSet")

    nodes = _get(lab, "nodes")["items"]
    assert nodes
    for n in nodes:
        status = n["status"]
        assert {"type": "Hostname", "address": n["metadata"]["name"]} in status["addresses"]
        assert [a for a in status["addresses"] if a["type"] == "InternalIP"]
        assert n["spec"]["podCIDR"] and n["spec"]["podCIDRs"] == [n["spec"]["podCIDR"]]
        conds = {c["type"]: c["status"] for c in status["conditions"]}
        assert conds["Ready"] == "True" and conds["MemoryPressure"] == "False"
        assert status["nodeInfo"]["kubeletVersion"] == "v1.37.0-netlab"
        assert int(status["capacity"]["pods"]) > 0 and n["metadata"]["resourceVersion"]

    # resourceVersions keep growing across a controller's death: everything shown afterwards is newer.
    seen = max(int(o["metadata"]["resourceVersion"]) for kind in ("pods", "deployments", "nodes")
               for o in _get(lab, kind, "-A")["items"])
    pid = int(Path(f"/run/netlab/{lab.cluster}/controller.pid").read_text())
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text(),
             timeout=10, what="the controller to die")
    lab.netlab("up", str(_manifest(lab, 3, "{tier: front}")))
    after = [int(o["metadata"]["resourceVersion"]) for o in _get(lab, "pods", "-n", ns)["items"]]
    assert len(after) == 3 and min(after) > seen
