"""Controller side of the ingress: keeps the nginx process (runtime.nginx_process) in step with Desired.ingress.

The configuration is written, checked with `nginx -t`, and nginx is reloaded with SIGHUP (graceful:
requests in flight finish on the old workers).
"""

from __future__ import annotations

from pathlib import Path

from netlab.compile.ingress_inputs import IngressDesired
from netlab.runtime.nginx_process import NginxConfig, conf_path, default_certificate


class IngressSync:
    def __init__(self, run_dir: Path):
        self.dir = run_dir / "ingress"
        self.nginx = NginxConfig()
        self.notes: dict[str, list[str]] = {}
        self.rules: list[dict] = []
        self.error: str | None = None
        self.pending_reload = False
        self.publish_service: str | None = None  # "ns/name" whose address the served Ingresses' status carries
        self.served: frozenset[str] = frozenset()  # "ns/name" of the Ingresses the controller serves

    @property
    def conf(self) -> str:
        return conf_path(self.dir)

    def argv(self) -> list[str]:
        return self.nginx.nginx_argv(self.conf, self.dir)

    def default_cert(self) -> tuple[str, str]:
        """The default certificate the configuration names (made once, under the ingress directory)."""
        self.dir.mkdir(parents=True, exist_ok=True)
        return default_certificate(self.dir)

    def apply(self, desired: IngressDesired, master_pid: int | None) -> list[str]:
        self.notes = dict(desired.notes)
        self.rules = list(desired.rules)
        self.publish_service, self.served = desired.publish_service, desired.served
        if not self.nginx.write(desired.rendered, self.dir):
            return []
        self.error = self.nginx.check(self.conf, self.dir)
        if self.error:
            return [f"nginx configuration rejected, keeping the running one: {self.error}"]
        if master_pid:
            self.nginx.reload(master_pid)
            return ["nginx reloaded"]
        self.pending_reload = True  # nginx is starting: reload once it runs
        return ["nginx configuration written"]

    def reload_if_pending(self, master_pid: int | None) -> list[str]:
        if not self.pending_reload or not master_pid:
            return []
        self.pending_reload = False
        self.nginx.reload(master_pid)
        return ["nginx reloaded"]
