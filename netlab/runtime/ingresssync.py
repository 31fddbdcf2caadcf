"""Keeps the ingress controller's nginx in step with Ingresses, Secrets and endpoints.

The configuration is rendered from the objects, written, checked with `nginx -t`, and nginx is
reloaded with SIGHUP (graceful: requests in flight finish on the old workers).
"""

from __future__ import annotations

from pathlib import Path

from netlab.compile.addons import nginx_classes, nginx_serves_classless
from netlab.compile.nginx import Backend, render, resolve_rules
from netlab.compile.services import ResolvedService
from netlab.runtime.ingress import NginxConfig, conf_path, default_certificate


def backends_for(ingresses: list[dict], resolved: dict[str, ResolvedService]) -> dict[tuple, Backend]:
    """Every service port an Ingress names, with its ready endpoints (ip, targetPort)."""
    out: dict[tuple, Backend] = {}
    for ing in ingresses:
        ns = ing["metadata"].get("namespace", "default")
        spec = ing.get("spec") or {}
        refs = [spec.get("defaultBackend") or {}]
        for rule in spec.get("rules") or []:
            refs += [p.get("backend") or {} for p in (rule.get("http") or {}).get("paths") or []]
        for ref in refs:
            svc = ref.get("service")
            if not svc:
                continue
            port = (svc.get("port") or {}).get("number", (svc.get("port") or {}).get("name"))
            rs = resolved.get(f"{ns}/{svc['name']}")
            if rs is None or port is None:
                continue  # a missing service answers 503 until it appears
            for sp in rs.ports:
                if sp.port == port or (sp.name and sp.name == port):
                    eps = tuple((e.ip, sp.target[e.ip]) for e in rs.endpoints if e.ready and e.ip in sp.target)
                    out[(ns, svc["name"], port)] = Backend(ns, svc["name"], port, eps)
    return out


class IngressSync:
    def __init__(self, run_dir: Path):
        self.dir = run_dir / "ingress"
        self.nginx = NginxConfig()
        self.notes: dict[str, list[str]] = {}
        self.rules: list[dict] = []
        self.error: str | None = None
        self.pending_reload = False

    @property
    def conf(self) -> str:
        return conf_path(self.dir)

    def argv(self) -> list[str]:
        return self.nginx.nginx_argv(self.conf, self.dir)

    def sync(self, objects: list[dict], resolved: dict[str, ResolvedService], master_pid: int | None) -> list[str]:
        ingresses = [o for o in objects if o["kind"] == "Ingress"]
        secrets = {(o["metadata"].get("namespace", "default"), o["metadata"]["name"]): o
                   for o in objects if o["kind"] == "Secret"}
        classes, default_class = nginx_classes(objects), nginx_serves_classless(objects)
        backends = backends_for(ingresses, resolved)
        self.dir.mkdir(parents=True, exist_ok=True)
        rendered = render(ingresses, backends, secrets, ingress_classes=classes, default_class=default_class,
                          run_dir=str(self.dir), default_cert=default_certificate(self.dir))
        self.notes = rendered.notes
        self.rules = resolve_rules(ingresses, backends)
        if not self.nginx.write(rendered, self.dir):
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
