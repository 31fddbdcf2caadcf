"""Controller side of the Gateways: keeps each Gateway's nginx (in its proxy pods) in step with
Desired.gateways. Each configuration is written to the Gateway's directory, checked with `nginx -t`, and
the running master reloaded with SIGHUP (graceful: requests in flight finish on the old workers)."""

from __future__ import annotations

import shutil
import time
from collections.abc import Mapping
from pathlib import Path

from netlab.compile.gateway_desired import GatewayDesired
from netlab.compile.gateway_objects import GATEWAY_LABEL
from netlab.compile.workloads import PlacedPod
from netlab.runtime.nginx_process import NginxConfig


def proxy_pids(pods: Mapping[str, PlacedPod], supervisor, keys: list[str]) -> dict[str, int]:
    """Gateway ns/name -> the pid of a running nginx master of its proxy pods (running for a second)."""
    out = {}
    for pod_key, pod in pods.items():
        key = f"{pod.namespace}/{pod.labels.get(GATEWAY_LABEL)}"
        if GATEWAY_LABEL not in pod.labels or key not in keys:
            continue
        for st in supervisor.status(pod_key):
            if st.state == "running" and st.pid and st.started_at and time.time() - st.started_at > 1.0:
                out[key] = st.pid
    return out


class GatewaySync:
    def __init__(self, run_dir: Path):
        self.root = run_dir / "gateways"
        self.nginx = NginxConfig()
        self.errors: dict[str, str] = {}
        self.pending: set[str] = set()
        self.desired: GatewayDesired | None = None

    def apply(self, desired: GatewayDesired, pids: Mapping[str, int]) -> list[str]:
        self.desired = desired
        changes = []
        for key, (directory, rendered) in sorted(desired.configs.items()):
            if not self.nginx.write(rendered, directory):
                continue
            error = self.nginx.check(f"{directory}/nginx.conf", directory)
            if error:
                self.errors[key] = error
                changes.append(f"Gateway {key}: nginx configuration rejected, keeping the running one: {error}")
                continue
            self.errors.pop(key, None)
            if key in pids:
                self.nginx.reload(pids[key])
                changes.append(f"Gateway {key}: nginx reloaded")
            else:
                self.pending.add(key)  # nginx is starting: reload once it runs
        self._remove_stale({d for d, _ in desired.configs.values()})
        return changes

    def _remove_stale(self, wanted: set[str]) -> None:
        if not self.root.is_dir():
            return
        for entry in self.root.iterdir():
            if entry.is_dir() and str(entry) not in wanted:
                shutil.rmtree(entry, ignore_errors=True)

    def reload_if_pending(self, pids: Mapping[str, int]) -> list[str]:
        done = []
        for key in sorted(self.pending & set(pids)):
            self.pending.discard(key)
            self.nginx.reload(pids[key])
            done.append(f"Gateway {key}: nginx reloaded")
        return done
