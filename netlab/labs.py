"""Teaching labs: discovery (`labs/NN-topic/`) and the small check API their `check.py` files use.

A lab is a directory `NN-topic` holding `README.md` (the walkthrough; its first heading is the title),
`manifests/` (what `netlab lab start NN` brings up) and `check.py`, which defines checks::

    from netlab.labs import LabContext, check, expect

    @check("web reaches app-service")
    def web_reaches_service(ctx: LabContext) -> None:
        reply = ctx.curl("web", "http://app-service")
        expect(reply.code == 200, f"web -> app-service: {reply}")

Checks run in file order against the running cluster; each one passes unless it raises. The helpers
run real commands (`ip netns exec`, `curl`, `dig`, the netlab CLI) in the namespace of the process
that runs the checks, which is "the host" of the cluster.
"""

from __future__ import annotations

import importlib.util
import json as jsonlib
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, TypeVar

from netlab.compile import names
from netlab.images import echo

LABS_DIR = Path(os.environ.get("NETLAB_LABS") or Path(__file__).resolve().parents[1] / "labs")

_LAB_DIR_RE = re.compile(r"^(\d{2})-([a-z0-9][a-z0-9-]*)$")
_CHECK_ATTR = "__netlab_check__"

T = TypeVar("T")


# ---------------------------------------------------------------------------------------------- discovery


@dataclass(frozen=True)
class Lab:
    number: int
    slug: str
    title: str
    path: Path

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def manifests(self) -> Path:
        return self.path / "manifests"

    @property
    def readme(self) -> Path:
        return self.path / "README.md"

    @property
    def check_file(self) -> Path:
        return self.path / "check.py"


def _title(readme: Path, fallback: str) -> str:
    try:
        for line in readme.read_text(encoding="utf-8").splitlines():
            if line.startswith("# "):
                return line[2:].strip()
    except OSError:
        pass
    return fallback


def list_labs(root: Path | None = None) -> list[Lab]:
    """Every `NN-topic` directory under `root` (default LABS_DIR), in number order."""
    root = root or LABS_DIR
    labs = []
    try:
        entries = sorted(p for p in root.iterdir() if p.is_dir())
    except OSError:
        return []
    for path in entries:
        m = _LAB_DIR_RE.match(path.name)
        if m:
            labs.append(Lab(int(m.group(1)), m.group(2), _title(path / "README.md", m.group(2)), path))
    return labs


def find_lab(ref: str, root: Path | None = None) -> Lab:
    """A lab by number (`1`, `01`), directory name (`01-pod-networking`) or topic (`pod-networking`)."""
    labs = list_labs(root)
    for lab in labs:
        if ref.isdigit() and int(ref) == lab.number or ref in (lab.name, lab.slug):
            return lab
    known = ", ".join(f"{lab.number:02d} ({lab.slug})" for lab in labs) or f"none in {root or LABS_DIR}"
    raise LookupError(f"no lab {ref!r}; labs: {known}")


# ---------------------------------------------------------------------------------------------- check API


class CheckFailed(AssertionError):
    """Raised by `expect`; its message is what the check saw."""


def expect(cond: object, message: str) -> None:
    """Fail the current check with `message` (what was seen) unless `cond` is true."""
    if not cond:
        raise CheckFailed(message)


def check(description: str) -> Callable[[Callable[[LabContext], None]], Callable[[LabContext], None]]:
    """Mark a function of a lab's check.py as a check; `description` is printed with PASS/FAIL."""

    def mark(fn: Callable[[LabContext], None]) -> Callable[[LabContext], None]:
        setattr(fn, _CHECK_ATTR, description)
        return fn

    return mark


@dataclass
class Http:
    """One curl: the status code (0 when no HTTP answer), the body, and curl's error if any."""

    code: int
    body: str
    error: str = ""

    @property
    def echo(self) -> dict[str, str]:
        """The `key: value` lines of netlab's echo server (pod, namespace, ip, node, client, ...)."""
        return echo.parse_text(self.body)

    def __str__(self) -> str:
        if self.code == 0:
            return f"no HTTP answer ({self.error or 'curl failed'})"
        first = self.body.strip().splitlines()[:3]
        return f"HTTP {self.code}: {' | '.join(first)}"


_CODE_MARK = "\nNETLAB-HTTP-CODE:"


@dataclass
class LabContext:
    """What a check works with: the cluster's name and helpers that run against it."""

    cluster: str
    lab: Lab
    notes: list[str] = field(default_factory=list)

    # -- running things

    def _run(self, argv: list[str], timeout: float, input: str | None = None) -> subprocess.CompletedProcess:
        try:
            return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, input=input)
        except subprocess.TimeoutExpired as e:
            raise CheckFailed(f"{' '.join(argv)}: no result within {timeout:.0f}s") from e
        except FileNotFoundError as e:
            raise CheckFailed(f"{argv[0]}: not installed (run scripts/provision.sh)") from e

    def netlab(self, *args: str, timeout: float = 60, check: bool = True, input: str | None = None) -> str:
        """The netlab CLI on this cluster; its stdout. Raises CheckFailed on a non-zero exit when `check`."""
        argv = [sys.executable, "-m", "netlab.cli", "--cluster", self.cluster, *args]
        proc = self._run(argv, timeout, input=input)
        if check and proc.returncode != 0:
            raise CheckFailed(f"netlab {' '.join(args)} failed: {(proc.stderr or proc.stdout).strip()}")
        return proc.stdout

    def host(self, *argv: str, timeout: float = 20) -> subprocess.CompletedProcess:
        """A command in the namespace the CLI runs in (the cluster's host)."""
        return self._run(list(argv), timeout)

    def pod_netns(self, pod: str, namespace: str = "default") -> str:
        return names.pod_netns(namespace, pod)

    def in_pod(self, pod: str, *argv: str, namespace: str = "default", timeout: float = 20
               ) -> subprocess.CompletedProcess:
        """A command in the pod's network namespace (`ip netns exec`, so its resolv.conf applies)."""
        return self._run(["ip", "netns", "exec", self.pod_netns(pod, namespace), *argv], timeout)

    def node_name(self, node: str) -> str:
        """`worker` -> `<cluster>-worker`; a full node name is returned as is."""
        return node if node.startswith(f"{self.cluster}-") else f"{self.cluster}-{node}"

    def in_node(self, node_suffix: str, *argv: str, timeout: float = 20) -> subprocess.CompletedProcess:
        """A command in a node's network namespace; `node_suffix` is `worker`, `control-plane`, ... or a full name."""
        return self._run(["ip", "netns", "exec", names.node_netns(self.node_name(node_suffix)), *argv], timeout)

    def curl(self, where: str, url: str, *, max_time: float = 3, headers: dict[str, str] | None = None,
             resolve: str | None = None, cacert: str | Path | None = None, namespace: str = "default",
             extra: tuple[str, ...] = ()) -> Http:
        """curl `url` from `where`: "host", "node:<suffix>" or a pod name (in `namespace`)."""
        argv = ["curl", "-sS", "--max-time", str(max_time), "-w", _CODE_MARK + "%{http_code}"]
        for key, value in (headers or {}).items():
            argv += ["-H", f"{key}: {value}"]
        if resolve:
            argv += ["--resolve", resolve]
        if cacert:
            argv += ["--cacert", str(cacert)]
        argv += [*extra, url]
        if where == "host":
            proc = self.host(*argv, timeout=max_time + 10)
        elif where.startswith("node:"):
            proc = self.in_node(where[5:], *argv, timeout=max_time + 10)
        else:
            proc = self.in_pod(where, *argv, namespace=namespace, timeout=max_time + 10)
        body, _, code = proc.stdout.rpartition(_CODE_MARK)
        try:
            status = int(code.strip() or 0)
        except ValueError:
            status = 0
        return Http(status, body, proc.stderr.strip())

    def dig(self, pod: str, *args: str, namespace: str = "default") -> list[str]:
        """`dig +short ARGS` from a pod; the answer lines."""
        proc = self.in_pod(pod, "dig", "+short", "+time=2", "+tries=2", *args, namespace=namespace)
        return [line.strip() for line in proc.stdout.splitlines() if line.strip() and not line.startswith(";")]

    def apply(self, path: str | Path) -> str:
        """`netlab apply -f PATH`; a relative path is taken from the lab's directory."""
        path = Path(path)
        return self.netlab("apply", "-f", str(path if path.is_absolute() else self.lab.path / path))

    # -- reading the cluster

    def json(self, kind: str, name: str | None = None, ns: str = "default", selector: str | None = None) -> Any:
        """`netlab get KIND [NAME] -n NS -o json`, parsed; a list's `items` for a list."""
        args = ["get", kind] + ([name] if name else []) + ["-n", ns, "-o", "json"]
        if selector:
            args += ["-l", selector]
        data = jsonlib.loads(self.netlab(*args))
        return data["items"] if name is None and isinstance(data, dict) and "items" in data else data

    def pods(self, selector: str | None = None, ns: str = "default") -> list[dict]:
        return self.json("pods", ns=ns, selector=selector)

    def pod(self, name: str, ns: str = "default") -> dict:
        return self.json("pod", name, ns=ns)

    def pod_ip(self, name: str, ns: str = "default") -> str:
        return self.pod(name, ns)["status"]["podIP"]

    def nodes(self) -> dict[str, str]:
        """Node name -> its underlay (InternalIP) address, from `get nodes`."""
        out = {}
        for node in self.json("nodes"):
            addrs = {a["type"]: a["address"] for a in node.get("status", {}).get("addresses", [])}
            out[node["metadata"]["name"]] = addrs.get("InternalIP", "")
        return out

    def node_cidrs(self) -> dict[str, str]:
        """Node name -> its pod CIDR (`spec.podCIDR`), from `get nodes`."""
        return {n["metadata"]["name"]: n.get("spec", {}).get("podCIDR", "") for n in self.json("nodes")}

    def ip_json(self, where: str, *args: str) -> list[dict]:
        """`ip -j ARGS` in a pod (name) or a node ("node:<suffix>"), parsed."""
        if where.startswith("node:"):
            proc = self.in_node(where[5:], "ip", "-j", *args)
        else:
            proc = self.in_pod(where, "ip", "-j", *args)
        expect(proc.returncode == 0, f"ip -j {' '.join(args)} in {where}: {proc.stderr.strip()}")
        return jsonlib.loads(proc.stdout or "[]")

    def service(self, name: str, ns: str = "default") -> dict:
        return self.json("service", name, ns=ns)

    def endpoint_ips(self, service: str, ns: str = "default") -> set[str]:
        eps = self.json("endpoints", service, ns=ns)
        return {a["ip"] for s in eps.get("subsets") or [] for a in s.get("addresses") or []}

    def load_balancer_ip(self, service: str, ns: str = "default") -> str:
        ingress = self.service(service, ns).get("status", {}).get("loadBalancer", {}).get("ingress") or []
        expect(ingress and ingress[0].get("ip"), f"service {ns}/{service} has no LoadBalancer IP: {ingress}")
        return ingress[0]["ip"]

    def capture(self, node_suffix: str, bpf: str, action: Callable[[], object], count: int = 1,
                iface: str = "eth0", timeout: float = 8) -> list[str]:
        """`tcpdump -ni IFACE BPF` in a node while `action` runs; the first `count` packet lines (maybe fewer)."""
        argv = ["ip", "netns", "exec", names.node_netns(self.node_name(node_suffix)),
                "tcpdump", "-lnni", iface, "-c", str(count), bpf]
        try:
            proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        except FileNotFoundError as e:
            raise CheckFailed("tcpdump: not installed (run scripts/provision.sh)") from e
        try:
            assert proc.stderr is not None
            started = proc.stderr.readline()  # "listening on eth0, ..." once the capture runs
            if "listening on" not in started:
                started += proc.stderr.readline()
            expect("listening on" in started, f"tcpdump did not start: {started.strip()}")
            action()
            try:
                out, _ = proc.communicate(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.terminate()
                out, _ = proc.communicate(timeout=5)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        return [line for line in out.splitlines() if line.strip()]

    # -- waiting

    def wait(self, probe: Callable[[], T], timeout: float = 10, interval: float = 0.2, what: str = "condition") -> T:
        """Call `probe` until it returns something true; CheckFailed with the last value after `timeout`."""
        deadline = time.monotonic() + timeout
        last: Any = None
        while True:
            try:
                last = probe()
            except CheckFailed as e:
                last = str(e)
            else:
                if last:
                    return last
            if time.monotonic() >= deadline:
                raise CheckFailed(f"{what}: not seen within {timeout:.0f}s (last: {last})")
            time.sleep(interval)


# ---------------------------------------------------------------------------------------------- running


@dataclass
class Result:
    description: str
    ok: bool
    detail: str = ""
    seconds: float = 0.0


def _load_module(lab: Lab) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"netlab_lab_check_{lab.number:02d}", lab.check_file)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {lab.check_file}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_checks(lab: Lab) -> list[tuple[str, Callable[[LabContext], None]]]:
    """The lab's checks, (description, function), in the order check.py defines them."""
    module = _load_module(lab)
    return [(getattr(fn, _CHECK_ATTR), fn) for fn in vars(module).values()
            if callable(fn) and hasattr(fn, _CHECK_ATTR)]


def iter_checks(lab: Lab, cluster: str) -> Iterator[Result]:
    """Run the lab's checks one by one, yielding each result as soon as it is known."""
    ctx = LabContext(cluster, lab)
    for description, fn in load_checks(lab):
        start = time.monotonic()
        try:
            fn(ctx)
        except CheckFailed as e:
            yield Result(description, False, str(e), time.monotonic() - start)
        except Exception as e:  # a broken check or an unexpected tool failure is a failure, not a crash
            yield Result(description, False, f"{type(e).__name__}: {e}", time.monotonic() - start)
        else:
            yield Result(description, True, "", time.monotonic() - start)


def format_result(result: Result) -> str:
    line = f"{'PASS' if result.ok else 'FAIL'}  {result.description}"
    if not result.ok and result.detail:
        line += "\n" + "\n".join(f"      seen: {d}" if i == 0 else f"            {d}"
                                 for i, d in enumerate(result.detail.splitlines()))
    return line


def run_checks(lab: Lab, cluster: str, echo: Callable[[str], None] = print) -> list[Result]:
    """Run every check of `lab` against the running `cluster`, printing a PASS/FAIL line for each."""
    results = []
    for result in iter_checks(lab, cluster):
        echo(format_result(result))
        results.append(result)
    return results


def cluster_running(cluster: str) -> bool:
    """True when the cluster's controller socket exists (the CLI can talk to it)."""
    return Path(names.api_endpoint_file(cluster)).exists()
