"""Issue 11, section 2: a controller killed (SIGKILL) in the middle of an apply recovers on `netlab up`.

The controller is held at a named phase of the commit through its test hook (NETLAB_PAUSE_FILE, see
netlab/runtime/phases.py), killed there by the pid in its pidfile, and brought back with `netlab up`.
Then every pod must be Ready with exactly one process per container, and a pod that existed before
must have answered all along.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from conftest import echo_answer, wait_for
from test_atomic_commit import BASE

from netlab.runtime import phases
from netlab.runtime.launcher_client import LauncherClient, proc_start_time

REPLICAS = 30

BATCH = """
apiVersion: apps/v1
kind: Deployment
metadata:
  name: NAME
spec:
  replicas: REPLICAS
  selector:
    matchLabels: {app: NAME}
  template:
    metadata:
      labels: {app: NAME}
    spec:
      containers:
        - name: echo
          image: echo
          ports: [{containerPort: 8080}]
"""


class Prober(threading.Thread):
    """Curls a pod from the host every 0.2 s until stopped (bounded: at most 10 minutes of probes)."""

    def __init__(self, lab, url: str, pod: str):
        super().__init__(daemon=True)
        self.lab, self.url, self.pod = lab, url, pod
        self.stop = threading.Event()
        self.failures: list[str] = []
        self.answers = 0

    def run(self) -> None:
        for _ in range(3000):
            if self.stop.is_set():
                return
            got = self.lab.curl(None, self.url, timeout=2)
            if got.returncode == 0 and echo_answer(got.stdout).get("pod") == self.pod:
                self.answers += 1
            else:
                self.failures.append(f"{time.strftime('%H:%M:%S')}: {got.returncode} {got.stderr.strip()}")
            self.stop.wait(0.2)


def _controller_pid(lab) -> int:
    return int(Path(f"/run/netlab/{lab.cluster}/controller.pid").read_text())


def _paused_count(lab) -> int:
    log = Path(f"/run/netlab/{lab.cluster}/controller.log")
    return log.read_text(errors="replace").count("paused at phase") if log.exists() else 0


def _pods(lab) -> list[dict]:
    return json.loads(lab.netlab("get", "pods", "-A", "-o", "json").stdout)["items"]


def _processes_in(netns: str) -> list[int]:
    inode = os.stat(f"/run/netns/{netns}").st_ino
    found = []
    for entry in os.listdir("/proc"):
        try:
            if entry.isdigit() and os.stat(f"/proc/{entry}/ns/net").st_ino == inode:
                found.append(int(entry))
        except OSError:
            continue
    return found


def _assert_converged(lab, batch: str) -> None:
    """Every pod Ready; one process per echo container, the one its pidfile names; the launcher has
    exactly one living child per container of the cluster, and none for anything else."""
    pods = _pods(lab)
    not_ready = [p["metadata"]["name"] for p in pods
                 if not any(c["type"] == "Ready" and c["status"] == "True" for c in p["status"]["conditions"])]
    assert not_ready == []
    mine = [p for p in pods if p["metadata"]["name"].startswith(batch) or p["metadata"]["name"].endswith("-keep")]
    assert len(mine) == REPLICAS + 1
    run = Path(f"/run/netlab/{lab.cluster}/pods")
    for p in mine:
        name = p["metadata"]["name"]
        record = json.loads((run / f"default_{name}" / "echo.pid").read_text())
        assert _processes_in(name) == [record["pid"]], name
    containers = {(p["metadata"]["namespace"], p["metadata"]["name"], c["name"])
                  for p in pods for c in p["spec"]["containers"]}
    children = [ch for ch in LauncherClient(f"/run/netlab/{lab.cluster}/launcher.sock").children()
                if proc_start_time(ch["pid"]) == ch["start_time"]]
    owners = []
    for ch in children:
        exitfile = Path(ch["exitfile"])
        ns, _, pod = exitfile.parent.name.partition("_")
        owners.append((ns, pod, exitfile.name.removesuffix(".exit")))
    assert sorted(owners) == sorted(containers)


def _interrupted_apply(lab, path: Path, phase: str | None, delay: float) -> subprocess.CompletedProcess:
    """Run `apply`; kill the controller once it pauses at `phase` (or after `delay` s without one)."""
    before = _paused_count(lab)
    argv = ["nsenter", f"--net=/run/netns/{lab.host_ns}", sys.executable, "-m", "netlab.cli",
            "--cluster", lab.cluster, "apply", "-f", str(path)]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        if phase:
            wait_for(lambda: _paused_count(lab) > before, timeout=60, interval=0.05, what=f"pause at {phase}")
        else:
            time.sleep(delay)
        os.kill(_controller_pid(lab), signal.SIGKILL)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return subprocess.CompletedProcess(argv, proc.returncode, out, err)


def test_controller_killed_mid_apply_converges(lab):
    c = lab.cluster
    pause = lab.workdir / "pause"
    env = {phases.ENV: str(pause)}
    lab.netlab("up", str(lab.write("base.yaml", BASE)), env=env)
    keep_ip = lab.pod_ip(f"{c}-keep")
    prober = Prober(lab, f"http://{keep_ip}:8080/", f"{c}-keep")
    prober.start()
    started = time.monotonic()
    try:
        for step, phase in enumerate([*phases.ALL, None]):
            batch = f"{c}-b{step}"
            path = lab.write(f"{batch}.yaml", BATCH.replace("NAME", batch).replace("REPLICAS", str(REPLICAS)))
            if phase:
                pause.write_text(phase)
            try:
                interrupted = _interrupted_apply(lab, path, phase, delay=0.8)
            finally:
                pause.unlink(missing_ok=True)
            if phase or interrupted.returncode != 0:  # a kill by timing may come after the apply finished
                assert interrupted.returncode != 0, (phase, interrupted.stdout)
                assert interrupted.stderr.startswith("error:") and "Traceback" not in interrupted.stderr, phase

            t0 = time.monotonic()
            again = lab.netlab("up", "--timeout", "60", str(path), env=env)
            assert "pods Ready" in again.stdout
            print(f"killed at {phase or 'a random moment'}: up again converged in {time.monotonic() - t0:.1f}s")
            _assert_converged(lab, batch)
            svc = json.loads(lab.netlab("get", "svc", "keep", "-o", "json").stdout)["spec"]["clusterIP"]
            assert echo_answer(lab.curl(f"{c}-keep", f"http://{svc}/", timeout=5).stdout)["pod"] == f"{c}-keep"
            lab.netlab("delete", "-f", str(path))
    finally:
        prober.stop.set()
        prober.join(timeout=10)
    assert prober.failures == [] and prober.answers > 10
    assert time.monotonic() - started < 240


def test_ctrl_c_during_apply_prints_an_error_line(lab):
    c = lab.cluster
    pause = lab.workdir / "pause"
    lab.netlab("up", str(lab.write("base.yaml", BASE)), env={phases.ENV: str(pause)})
    path = lab.write("one.yaml", BATCH.replace("NAME", f"{c}-one").replace("REPLICAS", "2"))
    pause.write_text(phases.RULES)
    before = _paused_count(lab)
    argv = ["nsenter", f"--net=/run/netns/{lab.host_ns}", sys.executable, "-m", "netlab.cli",
            "--cluster", c, "apply", "-f", str(path)]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: _paused_count(lab) > before, timeout=60, interval=0.05, what="pause at rules")
        proc.send_signal(signal.SIGINT)  # what Ctrl-C does (nsenter passes it on to the CLI it execs)
        _, err = proc.communicate(timeout=30)
    finally:
        pause.unlink(missing_ok=True)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode != 0 and err.startswith("error: interrupted") and "Traceback" not in err, err
    # The controller finishes the change on its own.
    wait_for(lambda: len([p for p in _pods(lab) if p["metadata"]["name"].startswith(f"{c}-one")]) == 2,
             timeout=30, interval=0.3, what="the interrupted apply to complete")


def test_controller_killed_while_it_restarts_containers_adopts_them(lab):
    """The crash the issue describes: containers forked, the controller killed before it recorded them.
    The next controller must adopt them (from the pidfiles the launcher wrote, or from the launcher's
    own table when a pidfile is lost), not start second copies that fail on `Address already in use`."""
    c = lab.cluster
    pause = lab.workdir / "pause"
    env = {phases.ENV: str(pause)}
    batch = f"{c}-b"
    path = lab.write("batch.yaml", BASE + "---\n" + BATCH.replace("NAME", batch).replace("REPLICAS", str(REPLICAS)))
    lab.netlab("up", str(path), env=env)
    run = Path(f"/run/netlab/{c}/pods")
    batch_dirs = sorted(run.glob(f"default_{batch}-*"))
    assert len(batch_dirs) == REPLICAS

    # The controller dies, and so do the batch's containers, their records lost with them: the next
    # controller starts them all again while it starts up...
    os.kill(_controller_pid(lab), signal.SIGKILL)
    for d in batch_dirs:
        record = json.loads((d / "echo.pid").read_text())
        if proc_start_time(record["pid"]) == record["start_time"]:
            os.killpg(record["pid"], signal.SIGKILL)
        (d / "echo.pid").unlink()
    pause.write_text(phases.CONTAINERS)
    before = _paused_count(lab)
    argv = ["nsenter", f"--net=/run/netns/{lab.host_ns}", sys.executable, "-m", "netlab.cli",
            "--cluster", c, "up", str(path)]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, **env})
    try:
        wait_for(lambda: _paused_count(lab) > before, timeout=60, interval=0.05, what="pause at containers")
        # ... and is killed once the launcher has forked them, before it heard back.
        os.kill(_controller_pid(lab), signal.SIGKILL)
        out, err = proc.communicate(timeout=60)
    finally:
        pause.unlink(missing_ok=True)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode != 0 and err.startswith("error:") and "Traceback" not in err, (out, err)
    children = LauncherClient(f"/run/netlab/{c}/launcher.sock").children()
    forked = {Path(ch["exitfile"]).parent.name: ch["pid"] for ch in children
              if Path(ch["exitfile"]).parent in batch_dirs and proc_start_time(ch["pid"]) == ch["start_time"]}
    assert len(forked) == REPLICAS
    for d in batch_dirs[::2]:
        (d / "echo.pid").unlink(missing_ok=True)  # lost as well: only the launcher still knows these

    lab.netlab("up", "--timeout", "60", str(path), env=env)
    _assert_converged(lab, batch)
    kept = {d.name: json.loads((d / "echo.pid").read_text())["pid"] for d in batch_dirs}
    assert kept == forked  # adopted, not replaced
    for d in batch_dirs[:5]:
        ip = lab.pod_ip(d.name.removeprefix("default_"))
        assert echo_answer(lab.curl(f"{c}-keep", f"http://{ip}:8080/", timeout=5).stdout)["ip"] == ip
    logs = "".join((d / "echo.log").read_text(errors="replace") for d in batch_dirs)
    assert "Address already in use" not in logs
