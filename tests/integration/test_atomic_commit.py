"""Issue 11, section 1: a change reaches the kernel whole or not at all, whatever reaches the controller.

The bad objects are posted straight to the API socket (no CLI validation on the way), and one kernel
failure is caused for real: a file where the new pod's /etc/netns directory must go.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from conftest import echo_answer, wait_for

BASE = """
apiVersion: v1
kind: Pod
metadata:
  name: CLUSTER-keep
  labels: {app: CLUSTER-keep}
spec:
  containers:
    - name: echo
      image: echo
      ports: [{containerPort: 8080}]
---
apiVersion: v1
kind: Service
metadata:
  name: keep
spec:
  selector: {app: CLUSTER-keep}
  ports: [{port: 80, targetPort: 8080}]
"""


def _post(lab, objects: list[dict]) -> tuple[int, dict]:
    """POST an apply straight to the controller's API, as any API client could."""
    return lab.api_curl("/apis/netlab.dev/v1alpha1/apply", "-X", "POST", body=json.dumps({"objects": objects}))


def _pod(name: str, namespace: str = "default", port: int = 8080) -> dict:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": namespace,
                                                            "labels": {"app": name[:63]}},
            "spec": {"containers": [{"name": "echo", "image": "echo", "ports": [{"containerPort": port}]}]}}


def _service(name: str, port: int, app: str) -> dict:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": "default"},
            "spec": {"selector": {"app": app}, "ports": [{"port": port, "targetPort": 8080}]}}


def _wait_ready(lab, pod: str, namespace: str = "default") -> None:
    def ready() -> bool:
        got = lab.netlab("get", "pod", pod, "-n", namespace, "-o", "json", check=False)
        conds = json.loads(got.stdout)["status"]["conditions"] if got.returncode == 0 else []
        return any(x["type"] == "Ready" and x["status"] == "True" for x in conds)

    wait_for(ready, timeout=30, interval=0.3, what=f"pod {pod} Ready")


def _stored(lab) -> dict:
    return json.loads(Path(f"/var/lib/netlab/{lab.cluster}/state.json").read_text())


def _pods_and_services(lab) -> set[str]:
    out = set()
    for kind in ("pods", "services"):
        items = json.loads(lab.netlab("get", kind, "-A", "-o", "json").stdout)["items"]
        out |= {f"{kind}/{i['metadata']['namespace']}/{i['metadata']['name']}" for i in items}
    return out


def _keep_answers(lab) -> None:
    ip = lab.pod_ip(f"{lab.cluster}-keep")
    assert echo_answer(lab.curl(None, f"http://{ip}:8080/").stdout)["pod"] == f"{lab.cluster}-keep"
    svc = json.loads(lab.netlab("get", "svc", "keep", "-o", "json").stdout)["spec"]["clusterIP"]
    client = f"{lab.cluster}-keep"
    assert echo_answer(lab.curl(client, f"http://{svc}/").stdout)["pod"] == f"{lab.cluster}-keep"


def _assert_unchanged(lab, listed: set[str], state: dict) -> None:
    assert _pods_and_services(lab) == listed
    after = _stored(lab)
    assert after["objects"].keys() == state["objects"].keys()
    assert after["pods"].keys() == state["pods"].keys()
    _keep_answers(lab)


def test_refused_changes_leave_the_lab_as_it_was(lab):
    c = lab.cluster
    lab.netlab("up", str(lab.write("base.yaml", BASE)))
    ns_doc = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": f"{c}-ns"}}
    assert _post(lab, [ns_doc])[0] == 200
    listed, state = _pods_and_services(lab), _stored(lab)

    # A Service port nft cannot hold, with a good pod in the same request: neither is applied.
    code, status = _post(lab, [_pod(f"{c}-new"), _service("bad", 70000, f"{c}-new")])
    assert 400 <= code < 600 and status["kind"] == "Status"
    assert "bad" in status["message"] or any("bad" in str(x.get("object")) for x in status["details"]["causes"])
    _assert_unchanged(lab, listed, state)
    assert not os.path.exists(f"/run/netns/{c}-new")

    # A pod name whose network namespace name the kernel refuses (too long for a file name).
    long_name = ("p" + c + "x" * 253)[:253]
    code, status = _post(lab, [_pod(long_name, f"{c}-ns")])
    assert 400 <= code < 600
    assert long_name[:40] in json.dumps(status)
    _assert_unchanged(lab, listed, state)

    # Two pods whose network namespace names used to be the same now get distinct ones, and both answer.
    assert _post(lab, [_pod(f"{c}-rp.{c}-ns")])[0] == 200
    assert _post(lab, [_pod(f"{c}-rp", f"{c}-ns")])[0] == 200
    for name, ns in ((f"{c}-rp.{c}-ns", "default"), (f"{c}-rp", f"{c}-ns")):
        _wait_ready(lab, name, ns)
        ip = lab.pod_ip(name, ns)
        assert echo_answer(lab.curl(f"{c}-keep", f"http://{ip}:8080/").stdout)["pod"] == name
    listed, state = _pods_and_services(lab), _stored(lab)

    # The next valid apply works, and everything before it still answers.
    good = lab.write("good.yaml", f"""
        apiVersion: v1
        kind: Pod
        metadata: {{name: {c}-good, labels: {{app: {c}-good}}}}
        spec:
          containers: [{{name: echo, image: echo, ports: [{{containerPort: 8080}}]}}]
        """)
    lab.netlab("apply", "-f", str(good))
    _wait_ready(lab, f"{c}-good")
    ip = lab.pod_ip(f"{c}-good")
    assert echo_answer(lab.curl(f"{c}-keep", f"http://{ip}:8080/", timeout=10).stdout)["pod"] == f"{c}-good"
    _keep_answers(lab)


def test_kernel_failure_mid_commit_is_rolled_back(lab):
    c = lab.cluster
    lab.netlab("up", str(lab.write("base.yaml", BASE)))
    listed, state = _pods_and_services(lab), _stored(lab)
    # The pod's namespace and veth are made, then its resolv.conf cannot be: a file is where its
    # /etc/netns directory must go. Nothing checks for that beforehand; the kernel work must be undone.
    blocker = Path(f"/etc/netns/{c}-doomed")
    blocker.parent.mkdir(parents=True, exist_ok=True)
    blocker.write_text("not a directory\n")
    try:
        bad = lab.write("doomed.yaml", f"""
            apiVersion: v1
            kind: Pod
            metadata: {{name: {c}-doomed, labels: {{app: {c}-doomed}}}}
            spec:
              containers: [{{name: echo, image: echo, ports: [{{containerPort: 8080}}]}}]
            ---
            apiVersion: v1
            kind: Service
            metadata: {{name: doomed}}
            spec:
              selector: {{app: {c}-doomed}}
              ports: [{{port: 80, targetPort: 8080}}]
            """)
        # The same request changes the running pod's spec (its port): the rollback must restore that too.
        respec = lab.write("respec.yaml", BASE.replace("8080", "8081").split("---")[0].replace("CLUSTER", c))
        both = lab.write("both.yaml", bad.read_text() + "---\n" + respec.read_text())
        failed = lab.netlab("apply", "-f", str(both), check=False)
        assert failed.returncode != 0
        assert failed.stderr.startswith("error:") and "Traceback" not in failed.stderr
        assert f"Pod default/{c}-doomed" in failed.stderr and "rolled back" in failed.stderr
        keep_ip = lab.pod_ip(f"{c}-keep")
        wait_for(lambda: lab.curl(None, f"http://{keep_ip}:8080/").returncode == 0, timeout=10,
                 what="the pod's old spec to run again")
        assert lab.curl(None, f"http://{keep_ip}:8081/", timeout=1).returncode != 0
        assert _stored(lab)["pods"][f"default/{c}-keep"]["spec"]["containers"][0]["ports"][0]["containerPort"] == 8080
        _assert_unchanged(lab, listed, state)
        assert not os.path.exists(f"/run/netns/{c}-doomed")
        assert not list(Path(f"/run/netlab/{lab.cluster}/pods").glob(f"default_{c}-doomed/*.pid"))
    finally:
        blocker.unlink(missing_ok=True)
    # With the obstacle gone, the same apply goes through and answers.
    lab.netlab("apply", "-f", str(bad))
    _wait_ready(lab, f"{c}-doomed")
    svc = json.loads(lab.netlab("get", "svc", "doomed", "-o", "json").stdout)["spec"]["clusterIP"]
    assert echo_answer(lab.curl(f"{c}-keep", f"http://{svc}/", timeout=10).stdout)["pod"] == f"{c}-doomed"
    _keep_answers(lab)


def test_rules_refused_after_containers_started_are_rolled_back(lab):
    """nftables refuses the change after the containers started: a node's table was deleted behind the
    controller's back, so its diff cannot apply (the check of a whole table cannot see that)."""
    c = lab.cluster
    lab.netlab("up", str(lab.write("base.yaml", BASE)))
    listed, state = _pods_and_services(lab), _stored(lab)
    node = json.loads(lab.netlab("get", "pod", f"{c}-keep", "-o", "json").stdout)["spec"]["nodeName"]
    subprocess.run(["ip", "netns", "exec", node, "nft", "delete", "table", "inet", "netlab"], check=True)
    change = lab.write("change.yaml", BASE.replace("8080", "8081").replace("name: keep", "name: moved"))
    failed = lab.netlab("apply", "-f", str(change), check=False)
    assert failed.returncode != 0 and failed.stderr.startswith("error:") and "rolled back" in failed.stderr
    assert "Traceback" not in failed.stderr
    keep_ip = lab.pod_ip(f"{c}-keep")
    wait_for(lambda: lab.curl(None, f"http://{keep_ip}:8080/").returncode == 0, timeout=10,
             what="the pod's old spec to run again")
    assert lab.curl(None, f"http://{keep_ip}:8081/", timeout=1).returncode != 0
    # The rollback loaded the node's whole table again: the Service answers through it.
    assert subprocess.run(["ip", "netns", "exec", node, "nft", "list", "table", "inet", "netlab"],
                          capture_output=True).returncode == 0
    _assert_unchanged(lab, listed, state)
    lab.netlab("apply", "-f", str(change))
    wait_for(lambda: lab.curl(None, f"http://{keep_ip}:8081/").returncode == 0, timeout=10, what="the new spec")
