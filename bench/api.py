"""The API's read side end to end: real kubectl and netlab's CLI against the real HTTPS server, with N pods
(default 200) in the watch cache, and where the time goes. No kernel: the controller is the synthetic
store of bench/store.py behind the real views and watch cache, so the figures are the API's own.

    python bench/api.py [PODS] [RUNS]

Prints, as min-median-max over RUNS runs:
- `kubectl get pods` (server-side Table) and `kubectl get pods -o json`, next to `netlab get pods`;
- the parts: kubectl without its discovery cache, a process start (`kubectl version --client`), a TLS
  handshake with a client certificate,
  one list on an open connection (Table and plain JSON), and the list's body built in process;
- watch latency, from a change fed to the watch cache to the event at the client: an HTTPS watch,
  `kubectl get pods -w`, `netlab get pods -w`.
Everything it makes (a bench cluster's PKI and endpoint record, a kubeconfig) is removed at the end.
"""

from __future__ import annotations

import http.client
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from store import fake_controller  # noqa: E402

from netlab.api import endpoint, reads, views  # noqa: E402
from netlab.api import pki as pkimod  # noqa: E402
from netlab.api.client import client_ssl_context  # noqa: E402
from netlab.api.resources import BY_KIND, RESOURCES  # noqa: E402
from netlab.api.server import ApiServer  # noqa: E402
from netlab.api.watchcache import WatchCache  # noqa: E402
from netlab.compile import names  # noqa: E402
from netlab.runtime import kubeconfig  # noqa: E402

KUBECTL = str(Path(sys.executable).parent / "kubectl")
TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"
PODS_PATH = "/api/v1/namespaces/default/pods"


def span(times: list[float]) -> str:
    ms = sorted(t * 1000 for t in times)
    return f"{ms[0]:6.1f} - {statistics.median(ms):6.1f} - {ms[-1]:6.1f} ms"


def timed(fn: Callable[[], object], runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def run(argv: list[str], env: dict[str, str]) -> None:
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=60, env=env)
    if proc.returncode != 0:
        raise SystemExit(f"{argv} failed: {proc.stderr}")


class Bench:
    def __init__(self, n_pods: int, workdir: Path):
        self.cluster = "bench" + secrets.token_hex(3)
        self.workdir = workdir
        self.cache = WatchCache()
        self.store = fake_controller(n_pods)
        self.snapshot = views.snapshot(self.store, [r.kind for r in RESOURCES])
        self.cache.refresh(self.snapshot)
        Path(names.run_dir(self.cluster)).mkdir(parents=True, exist_ok=True)
        self.pki = pkimod.ensure(names.pki_dir(self.cluster), ["127.0.0.1"])
        backend = SimpleNamespace(watchcache=self.cache, state=SimpleNamespace(cluster={}, addons=[], pods={}))
        self.server = ApiServer(backend, self.pki)
        self.port = self.server.start("127.0.0.1", 0)
        endpoint.save(self.cluster, endpoint.Endpoint("127.0.0.1", self.port))
        self.kubeconfig = workdir / "kubeconfig"
        server = f"https://127.0.0.1:{self.port}"
        self.kubeconfig.write_text(yaml.safe_dump(kubeconfig.entry_from_pki(self.cluster, server, self.pki)))
        self.env = {**os.environ, "HOME": str(workdir), "KUBECONFIG": str(self.kubeconfig)}
        self.ssl = client_ssl_context(self.pki)
        self.changes = 0
        self.store_backend = SimpleNamespace(watchcache=self.cache)

    def close(self) -> None:
        self.server.stop()
        endpoint.remove(self.cluster)
        shutil.rmtree(names.state_dir(self.cluster), ignore_errors=True)
        shutil.rmtree(names.run_dir(self.cluster), ignore_errors=True)

    def kubectl(self, *args: str) -> list[str]:
        return [KUBECTL, "--kubeconfig", str(self.kubeconfig), "--cache-dir", str(self.workdir / "cache"), *args]

    def kubectl_cold(self, i: int, *args: str) -> list[str]:
        """kubectl with an empty cache: it reads discovery (/api, /apis) before the list."""
        return [KUBECTL, "--kubeconfig", str(self.kubeconfig), "--cache-dir", str(self.workdir / f"cold{i}"), *args]

    def netlab(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "netlab.cli", "--cluster", self.cluster, *args]

    def connect(self) -> http.client.HTTPSConnection:
        conn = http.client.HTTPSConnection("127.0.0.1", self.port, context=self.ssl, timeout=10)
        conn.connect()
        return conn

    def change(self) -> None:
        """One pod's container restarts (its RESTARTS column changes), as a tick that saw it would feed it."""
        self.changes += 1
        pods = list(self.snapshot["Pod"])
        first = pods[0]
        statuses = [{**s, "restartCount": self.changes} for s in first["status"]["containerStatuses"]]
        pods[0] = {**first, "status": {**first["status"], "containerStatuses": statuses}}
        self.snapshot["Pod"] = pods
        self.cache.refresh({"Pod": pods})


def list_times(b: Bench, runs: int) -> None:
    run(b.kubectl("get", "pods"), b.env)   # discovery is cached from now on, as on a user's machine
    print(f"kubectl get pods           {span(timed(lambda: run(b.kubectl('get', 'pods'), b.env), runs))}")
    print(f"kubectl get pods -o json   {span(timed(lambda: run(b.kubectl('get', 'pods', '-o', 'json'), b.env), runs))}")
    print(f"netlab get pods            {span(timed(lambda: run(b.netlab('get', 'pods'), b.env), runs))}")
    print("where the time goes:")
    cold = iter(range(runs))
    print(f"  kubectl get pods, discovery not cached    "
          f"{span(timed(lambda: run(b.kubectl_cold(next(cold), 'get', 'pods'), b.env), runs))}")
    print(f"  process start (kubectl version --client)  "
          f"{span(timed(lambda: run([KUBECTL, 'version', '--client'], b.env), runs))}")
    print(f"  TLS handshake with a client certificate   {span(timed(lambda: b.connect().close(), runs))}")
    conn = b.connect()

    def one(accept: str) -> None:
        conn.request("GET", PODS_PATH + "?limit=500", headers={"Accept": accept})
        conn.getresponse().read()
    print(f"  list as Table on an open connection       {span(timed(lambda: one(TABLE), runs))}")
    print(f"  list as JSON on an open connection        {span(timed(lambda: one('application/json'), runs))}")
    conn.close()
    pods = BY_KIND["Pod"]
    for label, target in (("Table", reads.Target(reads.TABLE)), ("JSON", reads.Target())):
        times = timed(lambda t=target: reads.list_body(b.store_backend, pods, "default", {}, t), runs)
        print(f"  list body built in process ({label:5})       {span(times)}")


def watch_latency(b: Bench, runs: int) -> None:
    def through_lines(start: Callable[[], Callable[[], str]], label: str, settle: float) -> None:
        readline = start()
        time.sleep(settle)
        times = []
        for _ in range(runs):
            got = threading.Event()

            def reader(got: threading.Event = got) -> None:
                readline()
                got.set()
            thread = threading.Thread(target=reader, daemon=True)
            thread.start()
            t0 = time.perf_counter()
            b.change()
            if not got.wait(10):
                raise SystemExit(f"{label}: no event within 10 s")
            times.append(time.perf_counter() - t0)
            time.sleep(0.05)
        print(f"{label:26} {span(times)}")

    def https_watch() -> Callable[[], str]:
        conn = b.connect()
        conn.request("GET", PODS_PATH + f"?watch=1&resourceVersion={b.cache.rv}")
        resp = conn.getresponse()
        return lambda: resp.readline().decode()

    procs: list[subprocess.Popen] = []

    def process(argv: list[str], skip: int) -> Callable[[], Callable[[], str]]:
        def start() -> Callable[[], str]:
            proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=b.env)
            procs.append(proc)
            for _ in range(skip):   # the header and the first listing
                proc.stdout.readline()
            return proc.stdout.readline
        return start

    n = len(b.snapshot["Pod"])
    try:
        through_lines(https_watch, "HTTPS watch (?watch=1)", 0.2)
        through_lines(process(b.kubectl("get", "pods", "-w"), 1 + n), "kubectl get pods -w", 0.5)
        through_lines(process(b.netlab("get", "pods", "-w"), 1 + n), "netlab get pods -w", 0.5)
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(10)


def main() -> None:
    n_pods = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 10
    with tempfile.TemporaryDirectory(prefix="netlab-bench-api-") as tmp:
        b = Bench(n_pods, Path(tmp))
        try:
            print(f"{n_pods} pods, {runs} runs each, min - median - max")
            list_times(b, runs)
            watch_latency(b, runs)
        finally:
            b.close()


if __name__ == "__main__":
    main()
