"""`tty: true` containers run on a terminal of their own: `kubectl attach -it` and `kubectl run -it --rm -- sh`
give a prompt, job control, window sizes, several attaches, and the container outlives its clients."""

from __future__ import annotations

import time

from tests.integration.conftest import wait_for
from tests.integration.test_kubectl_stream import _in_pty, _kubectl_argv

MANIFEST = """
kind: Cluster
apiVersion: netlab.dev/v1alpha1
nodes:
  - role: control-plane
---
apiVersion: v1
kind: Pod
metadata:
  name: CLUSTER-term
spec:
  containers:
    - name: shell
      image: busybox
      command: ["sh"]
      stdin: true
      tty: true
"""

SPDY = {"KUBECTL_REMOTE_COMMAND_WEBSOCKETS": "false"}


def test_attach_to_a_terminal_and_run_it_rm(lab) -> None:
    lab.netlab("up", str(lab.write("lab.yaml", MANIFEST)), timeout=180)
    c = lab.cluster
    pod = f"{c}-term"
    wait_for(lambda: "Running" in lab.kubectl("get", "pod", pod, check=False).stdout, timeout=60,
             what="the tty pod running")
    kubectl = _kubectl_argv(lab)
    detaching = ["timeout", "-s", "KILL", "15", *kubectl]   # the client vanishes after 15 s
    # a real terminal: the shell sees a tty, our window size, and has job control; closing the client
    # (kubectl killed by the test's end) leaves the shell running
    out, _ = _in_pty(detaching + ["attach", "-it", pod], [
        ("send", b"\n"), ("expect", rb"[#$] "), ("send", b"tty; stty size\n"),
        ("expect", rb"/dev/pts/\d+\r\n30 100\r\n"), ("size", (41, 132)), ("send", b"stty size\n"),
        ("expect", rb"41 132"), ("send", b"sleep 100 &\n"),
        ("send", b"jobs\n"), ("expect", rb"Running\s+sleep 100"), ("send", b"echo marker-$((6*7))\n"),
        ("expect", rb"marker-42")], timeout=40)
    assert b"marker-42" in out
    assert "Running" in lab.kubectl("get", "pod", pod, check=False).stdout
    # its output went to the log as well, and another attach (over kubectl's SPDY fallback) sees the
    # same shell: the job started before is still there
    wait_for(lambda: "marker-42" in lab.kubectl("logs", pod, check=False).stdout, timeout=10,
             what="the terminal's output in the log")
    out, _ = _in_pty(detaching + ["attach", "-it", pod], [
        ("send", b"\n"), ("expect", rb"[#$] "), ("send", b"jobs; echo again-$((2+3))\n"),
        ("expect", rb"sleep 100[\s\S]*again-5")], timeout=40, env=SPDY)
    assert "Running" in lab.kubectl("get", "pod", pod, check=False).stdout
    # the shell's exit ends attach with its status, and the container with it
    started = time.monotonic()
    out, code = _in_pty(detaching + ["attach", "-it", pod], [
        ("send", b"\n"), ("expect", rb"[#$] "), ("send", b"exit 4\n")], timeout=40)
    assert time.monotonic() - started < 12 and code != 137, out   # it ended with the shell, not by timeout
    last = "jsonpath={.status.containerStatuses[0].lastState.terminated.exitCode}"
    wait_for(lambda: lab.kubectl("get", "pod", pod, "-o", last, check=False).stdout == "4", timeout=30,
             what="the shell's exit code")

    # run -it --rm -- sh: a prompt, a typed command, exit, and the pod is deleted
    out, code = _in_pty(kubectl + ["run", f"{c}-sh", "--image=busybox", "-it", "--rm", "--",
                                   "sh"], [
        ("expect", rb"[#$] "), ("send", b"echo typed-$((20+1))\n"), ("expect", rb"typed-21"),
        ("send", b"exit\n"), ("expect", rf'pod "{c}-sh" deleted'.encode())], timeout=60)
    assert code == 0, out
    # `run --rm` does not wait (its --wait is false): the pod goes once its termination is over
    wait_for(lambda: lab.kubectl("get", "pod", f"{c}-sh", check=False).returncode != 0, timeout=30,
             what="the --rm pod to be gone")

    # a command that is done before attach comes: its output from the log, its status, the pod deleted,
    # without waiting for a terminal that is gone
    for i in range(3):
        started = time.monotonic()
        out, code = _in_pty(kubectl + ["run", f"{c}-true{i}", "--image=busybox", "-it", "--rm", "--restart=Never",
                                       "--", "sh", "-c", "echo quick-$((40+2))"],
                            [("expect", rf'pod "{c}-true{i}" deleted'.encode())], timeout=60)
        print(f"run -it --rm: {time.monotonic() - started:.2f} s")
        assert code == 0 and b"quick-42" in out, out
