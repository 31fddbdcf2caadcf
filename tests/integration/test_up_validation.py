"""`netlab up` with manifests it cannot apply creates no cluster: nothing on the machine changes."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from test_cleanup import processes_of, snapshot

from netlab.compile import names

INVALID = """
apiVersion: v1
kind: Service
metadata: {name: CLUSTER-svc}
spec:
  ports: [{port: 0, protocol: ICMP}]
"""

OK_POD = """
apiVersion: v1
kind: Pod
metadata: {name: CLUSTER-ok}
spec:
  containers: [{name: echo, image: echo}]
"""

# Valid on its own, refused by the controller: the namespace does not exist.
REFUSED = """
apiVersion: v1
kind: Pod
metadata: {name: CLUSTER-p, namespace: CLUSTER-missing}
spec:
  containers: [{name: echo, image: echo}]
"""


def _assert_no_cluster(lab, before: dict) -> None:
    after = snapshot(lab)
    for key in ("links", "routes", "nft"):
        assert after[key] == before[key], key
    # machine-wide lists: other tests come and go, but nothing may carry this cluster's name
    assert [n for n in after["netns"] if lab.cluster in n and n != lab.host_ns] == []
    assert [n for n in after["etc_netns"] if lab.cluster in n] == []
    assert not Path(names.state_dir(lab.cluster)).exists()
    assert not Path(names.run_dir(lab.cluster)).exists()
    assert processes_of(lab.cluster) == []


def test_up_with_invalid_manifests_changes_nothing(lab):
    before = snapshot(lab)
    bad = lab.write("bad.yaml", INVALID)
    proc = lab.netlab("up", str(bad), check=False)
    assert proc.returncode == 1
    assert "spec.ports[0].port" in proc.stderr and "spec.ports[0].protocol" in proc.stderr
    assert "Traceback" not in proc.stderr
    _assert_no_cluster(lab, before)


def test_up_that_the_controller_refuses_removes_the_new_cluster(lab):
    before = snapshot(lab)
    refused = lab.write("refused.yaml", REFUSED)
    proc = lab.netlab("up", str(refused), check=False)
    assert proc.returncode == 1, proc.stdout
    assert f'namespaces "{lab.cluster}-missing" not found' in proc.stderr
    assert f"cluster {lab.cluster!r} was not created" in proc.stderr
    assert "Traceback" not in proc.stderr
    _assert_no_cluster(lab, before)


def test_up_of_an_empty_directory_is_an_error_and_up_without_paths_starts_an_empty_cluster(lab):
    before = snapshot(lab)
    empty = lab.workdir / "empty"
    empty.mkdir()
    proc = lab.netlab("up", str(empty), check=False)
    assert (proc.returncode, proc.stderr) == (1, f"error: no objects passed to up (read {empty})\n")
    _assert_no_cluster(lab, before)
    up = lab.netlab("up", timeout=180)
    assert "is up" in up.stdout
    assert any(n.startswith(f"{lab.cluster}-control-plane") for n in os.listdir("/run/netns"))


def test_up_with_the_loopback_down_says_so_and_changes_nothing(lab):
    """The API listens on 127.0.0.1: a host namespace whose `lo` is down (a fresh `ip netns add`) would leave
    `up` waiting for a controller it cannot reach. It is refused before anything is made."""
    subprocess.run(["ip", "-n", lab.host_ns, "link", "set", "lo", "down"], check=True)
    try:
        before = snapshot(lab)
        proc = lab.netlab("up", str(lab.write("ok.yaml", OK_POD)), check=False)
        assert proc.returncode == 1, proc.stdout
        assert "lo is down" in proc.stderr and "ip link set lo up" in proc.stderr
        _assert_no_cluster(lab, before)
    finally:
        subprocess.run(["ip", "-n", lab.host_ns, "link", "set", "lo", "up"], check=True)
