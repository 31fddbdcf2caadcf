"""Ingress objects read the way ingress-nginx reads them: which Ingresses this controller serves, their
annotations, hosts and paths (validated, with notes for `describe ingress`), TLS secrets, and the servers
they add up to. Pure; netlab.compile.nginx turns the result into nginx.conf (the rules are in its docstring)."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field

ANNOTATION_PREFIX = "nginx.ingress.kubernetes.io/"
LEGACY_CLASS_ANNOTATION = "kubernetes.io/ingress.class"
KNOWN_ANNOTATIONS = frozenset({"rewrite-target", "use-regex", "ssl-redirect", "force-ssl-redirect", "backend-protocol"})
SUPPORTED_BACKEND_PROTOCOLS = ("HTTP", "HTTPS")
EXACT, PREFIX, IMPLEMENTATION_SPECIFIC = "Exact", "Prefix", "ImplementationSpecific"
PATH_TYPES = (EXACT, PREFIX, IMPLEMENTATION_SPECIFIC)
CERTS_DIR = "certs"
_HOST_RE = re.compile(r"^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


@dataclass(frozen=True)
class Annotations:
    rewrite_target: str | None = None
    use_regex: bool = False
    ssl_redirect: bool = True
    force_ssl_redirect: bool = False
    backend_protocol: str = "HTTP"


@dataclass(frozen=True)
class IngressPath:
    ingress: str  # ns/name
    namespace: str
    host: str  # "" for rules without host
    path: str
    path_type: str
    backend: dict
    ann: Annotations

    @property
    def needs_rewrite(self) -> bool:
        return bool(self.ann.rewrite_target) and self.ann.rewrite_target != self.path

    @property
    def regex(self) -> bool:
        return self.needs_rewrite or self.ann.use_regex


@dataclass
class Server:
    host: str
    paths: list[IngressPath] = field(default_factory=list)
    tls: bool = False
    cert: tuple[str, str] | None = None  # None: the default certificate
    default_backend: tuple[str, dict, Annotations] | None = None  # (ingress, backend, annotations)


class Notes:
    def __init__(self) -> None:
        self.by_ingress: dict[str, list[str]] = {}

    def add(self, ingress: str, text: str) -> None:
        notes = self.by_ingress.setdefault(ingress, [])
        if text not in notes:
            notes.append(text)


# ----------------------------------------------------------------------------------------------- selection


def ingress_meta(ing: Mapping) -> Mapping:
    return ing.get("metadata") or {}


def ingress_key(ing: Mapping) -> str:
    meta = ingress_meta(ing)
    return f"{meta.get('namespace') or 'default'}/{meta.get('name', '')}"


def age_key(ing: Mapping) -> tuple[str, str, str]:
    meta = ingress_meta(ing)
    return (meta.get("creationTimestamp") or "", meta.get("namespace") or "default", meta.get("name", ""))


def ingress_class_of(ing: Mapping) -> str | None:
    """spec.ingressClassName, else the legacy kubernetes.io/ingress.class annotation, else None."""
    cls = (ing.get("spec") or {}).get("ingressClassName")
    if cls:
        return cls
    return (ingress_meta(ing).get("annotations") or {}).get(LEGACY_CLASS_ANNOTATION) or None


def select_ingresses(ingresses: Iterable[Mapping], ingress_classes: Collection[str] = ("nginx",),
                     default_class: bool = False) -> list:
    """The Ingresses this controller serves (of one of `ingress_classes`, or of none when the default
    class is this controller's), oldest first."""
    chosen = []
    for ing in ingresses:
        cls = ingress_class_of(ing)
        if cls in ingress_classes or (cls is None and default_class):
            chosen.append(ing)
    return sorted(chosen, key=age_key)


# ----------------------------------------------------------------------------------------------- parsing


def _parse_bool(value: str, ingress: str, name: str, default: bool, notes: Notes) -> bool:
    text = str(value).strip().lower()
    if text in ("true", "1", "yes"):
        return True
    if text in ("false", "0", "no"):
        return False
    fallback = str(default).lower()
    notes.add(ingress, f"annotation {ANNOTATION_PREFIX}{name}: {value!r} is not a boolean, using {fallback}")
    return default


def _annotations(ing: Mapping, notes: Notes) -> Annotations:
    key = ingress_key(ing)
    raw = ingress_meta(ing).get("annotations") or {}
    values: dict = {}
    for name in sorted(raw):
        if not name.startswith(ANNOTATION_PREFIX):
            continue
        short = name[len(ANNOTATION_PREFIX):]
        value = raw[name]
        if short not in KNOWN_ANNOTATIONS:
            notes.add(key, f"annotation {name} is not supported by netlab and is ignored")
        elif short == "rewrite-target":
            target = str(value).strip()
            if not target or not target.isprintable() or any(c.isspace() for c in target):
                notes.add(key, f"annotation {name}: {value!r} is not a valid rewrite target, ignored")
            else:
                values["rewrite_target"] = target
        elif short == "backend-protocol":
            proto = str(value).strip().upper()
            if proto not in SUPPORTED_BACKEND_PROTOCOLS:
                notes.add(key, f"annotation {name}: {value!r} is not supported by netlab (HTTP, HTTPS), using HTTP")
            else:
                values["backend_protocol"] = proto
        else:
            default = getattr(Annotations(), short.replace("-", "_"))
            values[short.replace("-", "_")] = _parse_bool(value, key, short, default, notes)
    return Annotations(**values)


def redirects_to_https(ing: Mapping, host: str) -> bool:
    """Whether ingress-nginx answers plain HTTP for `host` ("*": a rule without host) of this Ingress with a
    redirect to HTTPS: always with force-ssl-redirect, with ssl-redirect (the default) where it has TLS."""
    ann = _annotations(ing, Notes())
    if ann.force_ssl_redirect:
        return True
    tls_hosts = [h for t in (ing.get("spec") or {}).get("tls") or [] for h in t.get("hosts") or []]
    return ann.ssl_redirect and host != "*" and _host_covered(host.lower(), tls_hosts)


def _valid_host(host: str) -> bool:
    return len(host) <= 253 and bool(_HOST_RE.match(host))


def backend_label(backend: Mapping) -> str:
    svc = backend.get("service") or {}
    port = svc.get("port") or {}
    port_text = port.get("number") if port.get("number") is not None else port.get("name", "")
    if svc:
        return f"{svc.get('name', '')}:{port_text}"
    res = backend.get("resource") or {}
    return f"{res.get('kind', 'resource')}/{res.get('name', '')}"


def backend_key(namespace: str, backend: Mapping) -> tuple[str, str, int | str] | None:
    svc = backend.get("service")
    if not svc or not svc.get("name"):
        return None
    port = svc.get("port") or {}
    value = port.get("number") if port.get("number") is not None else port.get("name")
    if value is None:
        return None
    return (namespace, svc["name"], value)


def _paths_of(ing: Mapping, ann: Annotations, notes: Notes) -> list[IngressPath]:
    key = ingress_key(ing)
    namespace = ingress_meta(ing).get("namespace") or "default"
    out = []
    for rule in (ing.get("spec") or {}).get("rules") or []:
        host = (rule.get("host") or "").lower()
        if host and not _valid_host(host):
            notes.add(key, f"host {host!r} is not a valid DNS name or wildcard, rule ignored")
            continue
        for p in (rule.get("http") or {}).get("paths") or []:
            path_type = p.get("pathType") or IMPLEMENTATION_SPECIFIC
            path = p.get("path") or "/"
            backend = p.get("backend") or {}
            if path_type not in PATH_TYPES:
                notes.add(key, f"path {path!r}: pathType {path_type!r} is not valid, path ignored")
                continue
            if not path.startswith("/") or not path.isprintable() or any(c.isspace() for c in path):
                notes.add(key, f"path {path!r} is not valid for nginx, path ignored")
                continue
            if path != "/" and ann.rewrite_target and ann.rewrite_target != path and "$" not in ann.rewrite_target:
                notes.add(key, f"path {path}: rewrite-target {ann.rewrite_target!r} has no capture group, so every "
                          f"request matching {path} reaches the backend as {ann.rewrite_target!r} (ingress-nginx >= "
                          "0.22); to strip the prefix use use-regex, path <prefix>(/|$)(.*) and rewrite-target /$2")
            if not backend.get("service"):
                notes.add(key, f"path {path!r}: backend {backend_label(backend)} is not a Service, answering 503")
            out.append(IngressPath(key, namespace, host, path, path_type, backend, ann))
    return out


# ----------------------------------------------------------------------------------------------- TLS


def _host_covered(host: str, names: Iterable[str]) -> bool:
    for name in names:
        name = name.lower().rstrip(".")
        if name == host:
            return True
        if name.startswith("*.") and not host.startswith("*."):
            head, _, rest = host.partition(".")
            if head and rest == name[2:]:
                return True
    return False


def load_secret(secret: Mapping) -> tuple[bytes, bytes, list[str]] | str:
    """(cert PEM, key PEM, DNS names) or the reason the secret cannot be used."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    data = secret.get("data") or {}
    string_data = secret.get("stringData") or {}
    blobs = {}
    for name in ("tls.crt", "tls.key"):
        if name in string_data:
            blobs[name] = str(string_data[name]).encode()
        elif name in data:
            try:
                blobs[name] = base64.b64decode(data[name], validate=True)
            except (binascii.Error, ValueError):
                return f"{name} is not valid base64"
        else:
            return f"it has no {name}"
    try:
        cert = x509.load_pem_x509_certificate(blobs["tls.crt"])
    except ValueError as exc:
        return f"tls.crt is not a PEM certificate ({exc})"
    try:
        key = serialization.load_pem_private_key(blobs["tls.key"], password=None)
    except (ValueError, TypeError) as exc:
        return f"tls.key is not an unencrypted PEM private key ({exc})"
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    if key.public_key().public_bytes(serialization.Encoding.DER, spki) != cert.public_key().public_bytes(
        serialization.Encoding.DER, spki
    ):
        return "tls.key does not match the certificate in tls.crt"
    names: list[str] = []
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
        names = [str(n) for n in san.value.get_values_for_type(x509.DNSName)]
    except x509.ExtensionNotFound:
        names = [str(a.value) for a in cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)]
    return blobs["tls.crt"], blobs["tls.key"], names


# ----------------------------------------------------------------------------------------------- servers


def collect(selected: list, secrets: Mapping, run_dir: str, notes: Notes) -> tuple[dict[str, Server], dict]:
    servers: dict[str, Server] = {"": Server("")}
    files: dict[str, bytes] = {}
    loaded: dict[tuple[str, str], tuple[bytes, bytes, list[str]] | str] = {}
    for ing in selected:
        key = ingress_key(ing)
        ann = _annotations(ing, notes)
        spec = ing.get("spec") or {}
        for p in _paths_of(ing, ann, notes):
            servers.setdefault(p.host, Server(p.host)).paths.append(p)
        if spec.get("defaultBackend"):
            hosts = {(r.get("host") or "").lower() for r in spec.get("rules") or []} | {""}
            for host in sorted(hosts):
                srv = servers.setdefault(host, Server(host))
                if srv.default_backend is None:
                    srv.default_backend = (key, spec["defaultBackend"], ann)
                elif host == "":
                    notes.add(key, f"defaultBackend ignored: the older Ingress {srv.default_backend[0]} sets one")
        namespace = ingress_meta(ing).get("namespace") or "default"
        for entry in spec.get("tls") or []:
            hosts = [h.lower() for h in entry.get("hosts") or []]
            name = entry.get("secretName")
            if not hosts:
                notes.add(key, "tls entry without hosts is not supported by netlab, ignored")
                continue
            cert: tuple[str, str] | None = None
            names: list[str] = []
            if not name:
                notes.add(key, f"tls for {', '.join(hosts)} has no secretName: using the default certificate")
            else:
                if (namespace, name) not in loaded:
                    secret = secrets.get((namespace, name))
                    loaded[(namespace, name)] = load_secret(secret) if secret is not None else "it does not exist"
                got = loaded[(namespace, name)]
                if isinstance(got, str):
                    notes.add(key, f"secret {namespace}/{name} cannot be used: {got}; using the default certificate")
                else:
                    crt_pem, key_pem, names = got
                    base = f"{run_dir}/{CERTS_DIR}/{namespace}_{name}"
                    files[base + ".crt"], files[base + ".key"] = crt_pem, key_pem
                    cert = (base + ".crt", base + ".key")
            for host in hosts:
                if not _valid_host(host):
                    notes.add(key, f"tls host {host!r} is not a valid DNS name or wildcard, ignored")
                    continue
                srv = servers.setdefault(host, Server(host))
                if srv.tls:
                    continue  # the oldest Ingress's certificate for this host wins
                srv.tls = True
                if cert is not None and not _host_covered(host, names):
                    notes.add(key, f"certificate in secret {namespace}/{name} does not cover host {host}: "
                              "using the default certificate")
                    continue
                srv.cert = cert
    # only keep files some server uses
    used = {path for srv in servers.values() if srv.cert for path in srv.cert}
    return servers, {p: c for p, c in files.items() if p in used}
