"""nginx.conf for the ingress controller, rendered from Ingress objects the way ingress-nginx does.

Pure: `render(ingresses, backends, secrets, ...)` turns Kubernetes JSON (camelCase dicts) into a
`RenderedConfig` (the nginx.conf text, the certificate files to write under `run_dir`, and notes for
`describe ingress`). netlab.runtime.ingress writes the files, checks and reloads nginx.

Matching, as the Kubernetes Ingress documentation and ingress-nginx define it:
- Ingresses are taken oldest first (creationTimestamp, then namespace/name); when two define the same
  host and path, the oldest wins and the other gets a note.
- Hosts: one `server` per host. `*.example.com` matches exactly one more DNS label (`a.example.com`,
  not `a.b.example.com` nor `example.com`), so it is rendered as a regex `server_name`. Rules with no
  host and the `spec.defaultBackend` of the oldest Ingress that has one go to the default server
  (`listen ... default_server`), which otherwise answers 404.
- Paths: `Exact` is `location = /p` (`/p/` with a trailing slash is the regex `~ "^/p/$"`, so that
  nginx does not redirect `/p` to it). `Prefix` is matched element by element (`/foo` matches `/foo`,
  `/foo/` and `/foo/bar` but not `/foobar`; a trailing slash in the rule is ignored) and rendered as
  ingress-nginx does, `location = /foo` plus `location /foo/`. `ImplementationSpecific` is an nginx
  prefix location. nginx picks the longest prefix, and `=` before any prefix, so the longest path wins.
- Regex mode (ingress-nginx's enforceRegexModifier): if any path of a host uses `use-regex: "true"`
  or a `rewrite-target` different from its path, every location of that host becomes a regex
  location, ordered by path length, longest first. `ImplementationSpecific` paths (and `Prefix`
  paths containing regex syntax under use-regex) become `~* "^<path>"` exactly as in ingress-nginx;
  netlab keeps the Kubernetes semantics of the other types there: `Exact` stays `= /p` and a literal
  `Prefix` becomes `~ "^/p(?:/|$)"` (ingress-nginx would render `~* "^/p"`, which also matches `/pq`).
- `rewrite-target` is ingress-nginx's (>= 0.22) `rewrite "(?i)<path>" <target> break;`: the whole
  URI is replaced by the target, capture groups `$1`... coming from the path. So the seed's
  `rewrite-target: /` on `/api` sends `/api/users` to the backend as `/`; stripping a prefix needs
  `use-regex` with path `/api(/|$)(.*)` and target `/$2`.
- `ssl-redirect` (default true) redirects HTTP to HTTPS with 308 when the host has TLS;
  `force-ssl-redirect` does so even without TLS. `backend-protocol: HTTPS` proxies with TLS,
  without verifying the backend's certificate.
- TLS: each `tls` entry's Secret (`tls.crt`/`tls.key`, base64) is written under `run_dir/certs` and
  served for its hosts; a missing or invalid secret, or one whose certificate does not cover the
  host, means the default (fake) certificate, with a note.
- A backend whose Service (or port) does not exist, or which has no ready endpoints, answers 503.
"""

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
REDIRECT_CODE = 308
CONF_NAME = "nginx.conf"
CERTS_DIR = "certs"
TMP_DIR = "tmp"
ROOT_REGEX, ROOT_REGEX_CI = '~ "^/"', '~* "^/"'

_HOST_RE = re.compile(r"^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
# characters that make a path a regex under use-regex (a '.' alone does not: /file.txt stays literal)
_REGEX_CHARS = set("^$()[]{}*+?|\\")
# literal path characters that can stay unquoted in nginx.conf
_PLAIN_RE = re.compile(r"^[A-Za-z0-9/._~%:@!,+=&*-]+$")


@dataclass(frozen=True)
class Backend:
    """A Service port as the ingress sees it: the ready endpoints (pod IP, targetPort) behind it."""

    namespace: str
    service: str
    port: int | str
    endpoints: tuple[tuple[str, int], ...] = ()


@dataclass
class RenderedConfig:
    nginx_conf: str
    files: dict[str, bytes] = field(default_factory=dict)  # absolute path under run_dir -> content
    notes: dict[str, list[str]] = field(default_factory=dict)  # "ns/name" -> notes for describe ingress

    def file_mode(self, path: str) -> int:
        """Permissions for a rendered file: root's only (nginx's master, running as root, reads them all)."""
        return 0o600


@dataclass(frozen=True)
class _Annotations:
    rewrite_target: str | None = None
    use_regex: bool = False
    ssl_redirect: bool = True
    force_ssl_redirect: bool = False
    backend_protocol: str = "HTTP"


@dataclass(frozen=True)
class _Path:
    ingress: str  # ns/name
    namespace: str
    host: str  # "" for rules without host
    path: str
    path_type: str
    backend: dict
    ann: _Annotations

    @property
    def needs_rewrite(self) -> bool:
        return bool(self.ann.rewrite_target) and self.ann.rewrite_target != self.path

    @property
    def regex(self) -> bool:
        return self.needs_rewrite or self.ann.use_regex


@dataclass
class _Server:
    host: str
    paths: list[_Path] = field(default_factory=list)
    tls: bool = False
    cert: tuple[str, str] | None = None  # None: the default certificate
    default_backend: tuple[str, dict, _Annotations] | None = None  # (ingress, backend, annotations)


class _Notes:
    def __init__(self) -> None:
        self.by_ingress: dict[str, list[str]] = {}

    def add(self, ingress: str, text: str) -> None:
        notes = self.by_ingress.setdefault(ingress, [])
        if text not in notes:
            notes.append(text)


# ----------------------------------------------------------------------------------------------- selection


def _meta(ing: Mapping) -> Mapping:
    return ing.get("metadata") or {}


def ingress_key(ing: Mapping) -> str:
    meta = _meta(ing)
    return f"{meta.get('namespace') or 'default'}/{meta.get('name', '')}"


def _age_key(ing: Mapping) -> tuple[str, str, str]:
    meta = _meta(ing)
    return (meta.get("creationTimestamp") or "", meta.get("namespace") or "default", meta.get("name", ""))


def ingress_class_of(ing: Mapping) -> str | None:
    """spec.ingressClassName, else the legacy kubernetes.io/ingress.class annotation, else None."""
    cls = (ing.get("spec") or {}).get("ingressClassName")
    if cls:
        return cls
    return (_meta(ing).get("annotations") or {}).get(LEGACY_CLASS_ANNOTATION) or None


def select_ingresses(ingresses: Iterable[Mapping], ingress_classes: Collection[str] = ("nginx",),
                     default_class: bool = False) -> list:
    """The Ingresses this controller serves (of one of `ingress_classes`, or of none when the default
    class is this controller's), oldest first."""
    chosen = []
    for ing in ingresses:
        cls = ingress_class_of(ing)
        if cls in ingress_classes or (cls is None and default_class):
            chosen.append(ing)
    return sorted(chosen, key=_age_key)


# ----------------------------------------------------------------------------------------------- parsing


def _parse_bool(value: str, ingress: str, name: str, default: bool, notes: _Notes) -> bool:
    text = str(value).strip().lower()
    if text in ("true", "1", "yes"):
        return True
    if text in ("false", "0", "no"):
        return False
    fallback = str(default).lower()
    notes.add(ingress, f"annotation {ANNOTATION_PREFIX}{name}: {value!r} is not a boolean, using {fallback}")
    return default


def _annotations(ing: Mapping, notes: _Notes) -> _Annotations:
    key = ingress_key(ing)
    raw = _meta(ing).get("annotations") or {}
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
            default = getattr(_Annotations(), short.replace("-", "_"))
            values[short.replace("-", "_")] = _parse_bool(value, key, short, default, notes)
    return _Annotations(**values)


def _valid_host(host: str) -> bool:
    return len(host) <= 253 and bool(_HOST_RE.match(host))


def _backend_label(backend: Mapping) -> str:
    svc = backend.get("service") or {}
    port = svc.get("port") or {}
    port_text = port.get("number") if port.get("number") is not None else port.get("name", "")
    if svc:
        return f"{svc.get('name', '')}:{port_text}"
    res = backend.get("resource") or {}
    return f"{res.get('kind', 'resource')}/{res.get('name', '')}"


def _backend_key(namespace: str, backend: Mapping) -> tuple[str, str, int | str] | None:
    svc = backend.get("service")
    if not svc or not svc.get("name"):
        return None
    port = svc.get("port") or {}
    value = port.get("number") if port.get("number") is not None else port.get("name")
    if value is None:
        return None
    return (namespace, svc["name"], value)


def _paths_of(ing: Mapping, ann: _Annotations, notes: _Notes) -> list[_Path]:
    key = ingress_key(ing)
    namespace = _meta(ing).get("namespace") or "default"
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
                notes.add(key, f"path {path!r}: backend {_backend_label(backend)} is not a Service, answering 503")
            out.append(_Path(key, namespace, host, path, path_type, backend, ann))
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


def _load_secret(secret: Mapping) -> tuple[bytes, bytes, list[str]] | str:
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


# ----------------------------------------------------------------------------------------------- nginx text


def _q(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _lit(text: str) -> str:
    return text if _PLAIN_RE.match(text) else _q(text)


def _regex_escape(path: str) -> str:
    return "".join("\\" + c if c in "\\.^$*+?()[]{}|" else c for c in path)


def upstream_name(key: tuple[str, str, int | str]) -> str:
    """Upstream block name for (namespace, service, port): '_' cannot occur in those names, so it is unique."""
    ns, svc, port = key
    return f"{ns}_{svc}_{port}"


def _server_name(host: str) -> str:
    if host.startswith("*."):
        return "~^[^.]+" + _regex_escape(host[1:]) + "$"
    return host


def _location_specs(p: _Path, regex_mode: bool) -> list[tuple[str, bool]]:
    """The nginx location modifiers+paths for one Ingress path: [(spec, synthetic)]; synthetic entries are the
    extra `= /foo` of a Prefix path, which yields silently to an explicit Exact path."""
    path = p.path
    if p.path_type == EXACT:
        if path != "/" and path.endswith("/"):
            # nginx answers a request for `/foo` with a 301 to `/foo/` when a `/foo/` location (exact ones
            # included) proxies, before looking at any other location; Kubernetes says Exact `/foo/` does
            # not match `/foo` at all, so this one is an anchored regex, which has no such redirect.
            return [(f"~ {_q('^' + _regex_escape(path) + '$')}", False)]
        return [(f"= {_lit(path)}", False)]
    if p.path_type == PREFIX:
        base = path.rstrip("/") or "/"
        if regex_mode:
            if p.ann.use_regex and set(path) & _REGEX_CHARS:
                return [(f"~* {_q('^' + path)}", False)]
            if base == "/":
                return [(ROOT_REGEX, False)]
            return [(f"~ {_q('^' + _regex_escape(base) + '(?:/|$)')}", False)]
        if base == "/":
            return [("/", False)]
        return [(_lit(base + "/"), False), (f"= {_lit(base)}", True)]
    if regex_mode:
        return [(f"~* {_q('^' + path)}", False)]
    return [(_lit(path), False)]


def _location_order(spec: str, p: _Path) -> tuple:
    """Exact locations first, then regex locations longest path first (their order decides), then prefixes.
    An Exact path rendered as a regex comes before every other regex, so it wins as `=` would."""
    if spec.startswith("= ") or p.path_type == EXACT:
        return (0, 0, spec)
    if spec.startswith("~"):
        return (1, -len(p.path.rstrip("/") or "/"), "")  # stable: among equal lengths the older Ingress first
    return (2, 0, spec)


class _Renderer:
    def __init__(self, backends: Mapping, http_port: int, https_port: int, listen_address: str | None) -> None:
        self.backends = backends
        self.http_port = http_port
        self.https_port = https_port
        self.addr = f"{listen_address}:" if listen_address else ""
        self.upstreams: dict[str, Backend] = {}

    def _proxy(self, namespace: str, backend: Mapping, ann: _Annotations, ingress: str, notes: _Notes) -> list[str]:
        key = _backend_key(namespace, backend)
        if key is None:
            return ['return 503 "no service backend\\n";']
        found = self.backends.get(key)
        if found is None:
            notes.add(ingress, f"service {namespace}/{key[1]} port {key[2]} not found, answering 503")
            return [f'return 503 "service {namespace}/{key[1]}:{key[2]} not found\\n";']
        if not found.endpoints:
            return [f'return 503 "no endpoints for service {namespace}/{key[1]}:{key[2]}\\n";']
        name = upstream_name(key)
        self.upstreams[name] = found
        lines = []
        if ann.backend_protocol == "HTTPS":
            lines += [f"proxy_pass https://{name};", "proxy_ssl_verify off;", "proxy_ssl_server_name on;"]
        else:
            lines.append(f"proxy_pass http://{name};")
        return lines

    def location(self, spec: str, p: _Path, server: _Server, notes: _Notes) -> list[str]:
        body = [f"# {p.ingress}: {p.path} ({p.path_type}) -> {_backend_label(p.backend)}"]
        body += self._redirect(p.ann, server)
        proxy = self._proxy(p.namespace, p.backend, p.ann, p.ingress, notes)
        if p.needs_rewrite and not proxy[0].startswith("return"):
            body.append(f"rewrite {_q('(?i)' + p.path)} {_q(p.ann.rewrite_target or '/')} break;")
        body += proxy
        return [f"location {spec} {{"] + [f"    {line}" for line in body] + ["}"]

    def _redirect(self, ann: _Annotations, server: _Server) -> list[str]:
        if ann.force_ssl_redirect or (server.tls and ann.ssl_redirect):
            port = "" if self.https_port == 443 else f":{self.https_port}"
            return [f"if ($scheme = http) {{ return {REDIRECT_CODE} https://$host{port}$request_uri; }}"]
        return []

    def root_location(self, spec: str, server: _Server, notes: _Notes) -> list[str]:
        if server.default_backend is None:
            return [f"location {spec} {{", '    return 404 "default backend - 404\\n";', "}"]
        ingress, backend, ann = server.default_backend
        namespace = ingress.split("/", 1)[0]
        body = [f"# {ingress}: default backend -> {_backend_label(backend)}"]
        body += self._redirect(ann, server) if server.host else []
        body += self._proxy(namespace, backend, ann, ingress, notes)
        return [f"location {spec} {{"] + [f"    {line}" for line in body] + ["}"]

    def server(self, server: _Server, default_cert: tuple[str, str], notes: _Notes) -> list[str]:
        regex_mode = any(p.regex for p in server.paths)
        taken: dict[str, _Path] = {}
        entries: list[tuple[tuple, str, _Path]] = []
        synthetic: list[tuple[str, _Path]] = []
        for p in server.paths:
            for spec, is_synthetic in _location_specs(p, regex_mode):
                if is_synthetic:
                    synthetic.append((spec, p))
                    continue
                if spec in taken:
                    winner = taken[spec]
                    where = server.host or "(any host)"
                    if winner.ingress != p.ingress:
                        notes.add(p.ingress, f"path {p.path} ({p.path_type}) on {where} is already defined by the "
                                  f"older Ingress {winner.ingress}, which wins")
                        notes.add(winner.ingress, f"path {winner.path} on {where} is also defined by the newer "
                                  f"Ingress {p.ingress}; this one wins")
                    else:
                        notes.add(p.ingress, f"path {p.path} ({p.path_type}) on {where} is defined twice, "
                                  "the first wins")
                    continue
                taken[spec] = p
                entries.append((_location_order(spec, p), spec, p))
        for spec, p in synthetic:
            if spec not in taken:
                taken[spec] = p
                entries.append((_location_order(spec, p), spec, p))
        root_spec = ROOT_REGEX if regex_mode else "/"
        has_root = bool({"/", ROOT_REGEX, ROOT_REGEX_CI} & set(taken))
        entries.sort(key=lambda e: e[0])

        lines: list[str] = ["server {"]
        ds = " default_server" if not server.host else ""
        lines += [f"    listen {self.addr}{self.http_port}{ds};", f"    listen {self.addr}{self.https_port} ssl{ds};"]
        lines.append(f"    server_name {_server_name(server.host) if server.host else '_'};")
        cert, key = server.cert or default_cert
        lines += [f"    ssl_certificate {_q(cert)};", f"    ssl_certificate_key {_q(key)};"]
        for _, spec, p in entries:
            lines += [f"    {line}" for line in self.location(spec, p, server, notes)]
        if not has_root:
            lines += [f"    {line}" for line in self.root_location(root_spec, server, notes)]
        lines.append("}")
        return lines

    def upstream_blocks(self) -> list[str]:
        lines = []
        for name in sorted(self.upstreams):
            b = self.upstreams[name]
            lines.append(f"upstream {name} {{")
            lines.append(f"    # {b.namespace}/{b.service}:{b.port}")
            for ip, port in sorted(set(b.endpoints)):
                host = f"[{ip}]" if ":" in ip else ip
                lines.append(f"    server {host}:{port};")
            lines += ["    keepalive 32;", "}"]
        return lines


def _main_context(run_dir: str, user: str | None, access_log: str) -> tuple[list[str], list[str]]:
    tmp = f"{run_dir}/{TMP_DIR}"
    head = ["# Generated by netlab from Ingress objects (netlab.compile.nginx); do not edit.", "daemon off;"]
    if user:
        head.append(f"user {user};")
    head += [
        "worker_processes 1;",
        f"pid {_q(run_dir + '/nginx.pid')};",
        f"error_log {_q(run_dir + '/error.log')} notice;",
        "worker_shutdown_timeout 240s;",
        "events {}",
        "",
        "http {",
    ]
    http = [
        f"client_body_temp_path {_q(tmp + '/client_body')};",
        f"proxy_temp_path {_q(tmp + '/proxy')};",
        f"fastcgi_temp_path {_q(tmp + '/fastcgi')};",
        f"uwsgi_temp_path {_q(tmp + '/uwsgi')};",
        f"scgi_temp_path {_q(tmp + '/scgi')};",
        "log_format upstreaminfo '$remote_addr - $remote_user [$time_local] \"$request\" $status $body_bytes_sent "
        "\"$http_referer\" \"$http_user_agent\" $request_length $request_time $upstream_addr $upstream_status "
        "$req_id';",
        f"access_log {_q(access_log)} upstreaminfo;",
        "default_type text/plain;",
        "server_tokens off;",
        "sendfile on;",
        "keepalive_timeout 75s;",
        "server_names_hash_bucket_size 128;",
        "server_names_hash_max_size 4096;",
        "ssl_protocols TLSv1.2 TLSv1.3;",
        "ssl_session_cache shared:SSL:10m;",
        "ssl_session_timeout 10m;",
        "",
        "map $http_upgrade $connection_upgrade { default upgrade; '' ''; }",
        "map $http_x_request_id $req_id { default $http_x_request_id; '' $request_id; }",
        "map $http_host $best_http_host { default $http_host; '' $host; }",
        "",
        "proxy_http_version 1.1;",
        "proxy_set_header Host $best_http_host;",
        "proxy_set_header Upgrade $http_upgrade;",
        "proxy_set_header Connection $connection_upgrade;",
        "proxy_set_header X-Request-ID $req_id;",
        "proxy_set_header X-Real-IP $remote_addr;",
        "proxy_set_header X-Forwarded-For $remote_addr;",
        "proxy_set_header X-Forwarded-Host $best_http_host;",
        "proxy_set_header X-Forwarded-Port $server_port;",
        "proxy_set_header X-Forwarded-Proto $scheme;",
        "proxy_set_header X-Forwarded-Scheme $scheme;",
        "proxy_set_header X-Scheme $scheme;",
        "proxy_set_header X-Original-URI $request_uri;",
        "proxy_set_header Proxy \"\";",
        "proxy_connect_timeout 5s;",
        "proxy_send_timeout 60s;",
        "proxy_read_timeout 60s;",
        "proxy_buffering on;",
        "proxy_next_upstream error timeout;",
        "proxy_redirect off;",
    ]
    return head, http


def _collect(selected: list, secrets: Mapping, run_dir: str, notes: _Notes) -> tuple[dict[str, _Server], dict]:
    servers: dict[str, _Server] = {"": _Server("")}
    files: dict[str, bytes] = {}
    loaded: dict[tuple[str, str], tuple[bytes, bytes, list[str]] | str] = {}
    for ing in selected:
        key = ingress_key(ing)
        ann = _annotations(ing, notes)
        spec = ing.get("spec") or {}
        for p in _paths_of(ing, ann, notes):
            servers.setdefault(p.host, _Server(p.host)).paths.append(p)
        if spec.get("defaultBackend"):
            hosts = {(r.get("host") or "").lower() for r in spec.get("rules") or []} | {""}
            for host in sorted(hosts):
                srv = servers.setdefault(host, _Server(host))
                if srv.default_backend is None:
                    srv.default_backend = (key, spec["defaultBackend"], ann)
                elif host == "":
                    notes.add(key, f"defaultBackend ignored: the older Ingress {srv.default_backend[0]} sets one")
        namespace = _meta(ing).get("namespace") or "default"
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
                    loaded[(namespace, name)] = _load_secret(secret) if secret is not None else "it does not exist"
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
                srv = servers.setdefault(host, _Server(host))
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


def render(
    ingresses: list[dict],
    backends: Mapping[tuple[str, str, int | str], Backend],
    secrets: Mapping[tuple[str, str], dict],
    *,
    ingress_classes: Collection[str] = ("nginx",),
    default_class: bool = False,
    run_dir: str,
    default_cert: tuple[str, str],
    http_port: int = 80,
    https_port: int = 443,
    listen_address: str | None = None,
    user: str | None = None,
    access_log: str = "/dev/stdout",
) -> RenderedConfig:
    """Render nginx.conf for the Ingresses of `ingress_classes`; see the module docstring for the rules."""
    run_dir = run_dir.rstrip("/") or "/"
    notes = _Notes()
    selected = select_ingresses(ingresses, ingress_classes, default_class)
    for ing in selected:
        notes.by_ingress.setdefault(ingress_key(ing), [])
    servers, files = _collect(selected, secrets, run_dir, notes)
    r = _Renderer(backends, http_port, https_port, listen_address)
    blocks: list[str] = []
    for host in sorted(servers, key=lambda h: (h != "", h)):
        blocks += [""] + r.server(servers[host], default_cert, notes)
    head, http = _main_context(run_dir, user, access_log)
    http += [""] + r.upstream_blocks() + blocks
    text = "\n".join(head + [f"    {line}" if line else "" for line in http] + ["}", ""])
    return RenderedConfig(nginx_conf=text, files=dict(sorted(files.items())), notes=notes.by_ingress)


def resolve_rules(ingresses: list[dict], backends: Mapping[tuple[str, str, int | str], Backend]) -> list[dict]:
    """Rows for `describe ingress`: every rule path (and default backend) resolved to its endpoints.

    Each row: ingress ("ns/name"), host ("*" when none), path ("" for a default backend), pathType,
    backend ("svc:port"), endpoints (["ip:port", ...]) and error (None, "service not found" or "no endpoints").
    """
    rows = []
    for ing in sorted(ingresses, key=_age_key):
        key = ingress_key(ing)
        namespace = _meta(ing).get("namespace") or "default"
        spec = ing.get("spec") or {}
        items = []
        if spec.get("defaultBackend"):
            items.append(("*", "", "", spec["defaultBackend"]))
        for rule in spec.get("rules") or []:
            for p in (rule.get("http") or {}).get("paths") or []:
                path_type = p.get("pathType") or IMPLEMENTATION_SPECIFIC
                items.append((rule.get("host") or "*", p.get("path") or "/", path_type, p.get("backend") or {}))
        for host, path, path_type, backend in items:
            bkey = _backend_key(namespace, backend)
            found = backends.get(bkey) if bkey else None
            endpoints = [f"{ip}:{port}" for ip, port in sorted(found.endpoints)] if found else []
            error = None
            if bkey is None:
                error = "not a service backend"
            elif found is None:
                error = "service not found"
            elif not endpoints:
                error = "no endpoints"
            rows.append({"ingress": key, "host": host, "path": path, "pathType": path_type,
                         "backend": _backend_label(backend), "endpoints": endpoints, "error": error})
    return rows
