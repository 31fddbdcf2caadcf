"""The ingress controller's nginx configuration, compiled from Ingresses, IngressClasses, Secrets and
the services' ready endpoints (rendering itself is netlab.compile.nginx)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from netlab.compile.addons import nginx_classes, nginx_serves_classless
from netlab.compile.ingress_controller import ControllerArgs
from netlab.compile.nginx import Backend, RenderedConfig, render, resolve_rules
from netlab.compile.nginx_ingress import CERTS_DIR, ingress_key, load_secret, select_ingresses
from netlab.compile.services import ResolvedService


@dataclass(frozen=True)
class IngressDesired:
    rendered: RenderedConfig  # nginx.conf and the certificate files
    rules: tuple[dict, ...]  # rows for `describe ingress`
    notes: Mapping[str, list[str]]  # "ns/name" -> notes
    publish_service: str | None = None  # "ns/name": the Service whose address Ingress statuses carry
    served: frozenset[str] = frozenset()  # "ns/name" of the Ingresses of this controller's classes


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


def default_certificate(args: ControllerArgs, secrets: Mapping[tuple[str, str], dict], run_dir: str,
                        fallback: tuple[str, str]) -> tuple[tuple[str, str], dict[str, bytes]]:
    """The default certificate's (cert, key) paths and the files to write for them: the Secret that
    `--default-ssl-certificate` names when it holds a usable tls.crt/tls.key, else the fake certificate."""
    ns, _, name = (args.default_ssl_certificate or "").partition("/")
    secret = secrets.get((ns, name)) if name else None
    got = load_secret(secret) if secret is not None else None
    if got is None or isinstance(got, str):
        return fallback, {}
    base = f"{run_dir}/{CERTS_DIR}/@default_{ns}_{name}"  # "@": no Ingress TLS secret has this name
    return (base + ".crt", base + ".key"), {base + ".crt": got[0], base + ".key": got[1]}


def ingress_desired(objects: Iterable[dict], resolved: Mapping[str, ResolvedService], run_dir: str,
                    default_cert: tuple[str, str], args: ControllerArgs | None = None,
                    ipv6: bool = False) -> IngressDesired:
    """What the ingress controller serves; args: the controller's flags (None: the built-in add-on's);
    ipv6: the cluster has IPv6, nginx listens on it too."""
    objects = list(objects)
    args = args or ControllerArgs(publish_service="ingress-nginx/ingress-nginx-controller")
    ingresses = [o for o in objects if o["kind"] == "Ingress"]
    secrets = {(o["metadata"].get("namespace", "default"), o["metadata"]["name"]): o
               for o in objects if o["kind"] == "Secret"}
    backends = backends_for(ingresses, resolved)
    cert, cert_files = default_certificate(args, secrets, run_dir, default_cert)
    classless = args.watch_without_class or nginx_serves_classless(objects, args.controller_class)
    classes = nginx_classes(objects, args.controller_class, args.ingress_class)
    served = frozenset(ingress_key(i) for i in select_ingresses(ingresses, classes, classless))
    rendered = render(ingresses, backends, secrets, ingress_classes=classes, default_class=classless,
                      run_dir=run_dir, default_cert=cert, http_port=args.http_port, https_port=args.https_port,
                      healthz_port=args.healthz_port, ipv6=ipv6)
    rendered.files.update(cert_files)
    return IngressDesired(rendered, tuple(resolve_rules(ingresses, backends)), rendered.notes, args.publish_service,
                          served)
