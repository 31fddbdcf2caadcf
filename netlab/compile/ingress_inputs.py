"""The ingress controller's nginx configuration, compiled from Ingresses, IngressClasses, Secrets and
the services' ready endpoints (rendering itself is netlab.compile.nginx)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from netlab.compile.addons import nginx_classes, nginx_serves_classless
from netlab.compile.nginx import Backend, RenderedConfig, render, resolve_rules
from netlab.compile.services import ResolvedService


@dataclass(frozen=True)
class IngressDesired:
    rendered: RenderedConfig  # nginx.conf and the certificate files
    rules: tuple[dict, ...]  # rows for `describe ingress`
    notes: Mapping[str, list[str]]  # "ns/name" -> notes


def backends_for(ingresses: list[dict], resolved: Mapping[str, ResolvedService]) -> dict[tuple, Backend]:
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
            service = resolved.get(f"{ns}/{svc['name']}")
            if service is None or port is None:
                continue  # a missing service answers 503 until it appears
            for sp in service.ports:
                if sp.port == port or (sp.name and sp.name == port):
                    eps = tuple((e.ip, sp.target[e.ip]) for e in service.endpoints if e.ready and e.ip in sp.target)
                    out[(ns, svc["name"], port)] = Backend(ns, svc["name"], port, eps)
    return out


def ingress_desired(objects: Iterable[dict], resolved: Mapping[str, ResolvedService], run_dir: str,
                    default_cert: tuple[str, str]) -> IngressDesired:
    objects = list(objects)
    ingresses = [o for o in objects if o["kind"] == "Ingress"]
    secrets = {(o["metadata"].get("namespace", "default"), o["metadata"]["name"]): o
               for o in objects if o["kind"] == "Secret"}
    backends = backends_for(ingresses, resolved)
    rendered = render(ingresses, backends, secrets, ingress_classes=nginx_classes(objects),
                      default_class=nginx_serves_classless(objects), run_dir=run_dir, default_cert=default_cert)
    return IngressDesired(rendered, tuple(resolve_rules(ingresses, backends)), rendered.notes)
