"""nginx.conf for the ingress controller, rendered from Ingress objects the way ingress-nginx does.

Pure: `render(ingresses, backends, secrets, ...)` turns Kubernetes JSON (camelCase dicts) into a
`RenderedConfig` (the nginx.conf text, the certificate files to write under `run_dir`, and notes for
`describe ingress`). netlab.compile.nginx_ingress reads the Ingress objects (selection, annotations,
paths, TLS secrets) into servers; this module writes them as nginx.conf. netlab.runtime.nginx_process writes
the files, checks and reloads nginx.

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

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

from netlab.compile.nginx_ingress import (
    EXACT,
    IMPLEMENTATION_SPECIFIC,
    PREFIX,
    Annotations,
    IngressPath,
    Notes,
    Server,
    age_key,
    backend_key,
    backend_label,
    collect,
    ingress_key,
    ingress_meta,
    redirects_to_https,
    select_ingresses,
)

REDIRECT_CODE = 308
CONF_NAME = "nginx.conf"
TMP_DIR = "tmp"
ROOT_REGEX, ROOT_REGEX_CI = '~ "^/"', '~* "^/"'

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


# ----------------------------------------------------------------------------------------------- nginx text


def quote(text: str) -> str:
    """`text` as a double-quoted nginx string (backslash and quote escaped)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _lit(text: str) -> str:
    return text if _PLAIN_RE.match(text) else quote(text)


def regex_escape(path: str) -> str:
    """`path` with PCRE metacharacters escaped, to match literally inside an nginx regex."""
    return "".join("\\" + c if c in "\\.^$*+?()[]{}|" else c for c in path)


def upstream_name(key: tuple[str, str, int | str]) -> str:
    """Upstream block name for (namespace, service, port): '_' cannot occur in those names, so it is unique."""
    ns, svc, port = key
    return f"{ns}_{svc}_{port}"


def _server_name(host: str) -> str:
    if host.startswith("*."):
        return "~^[^.]+" + regex_escape(host[1:]) + "$"
    return host


def _location_specs(p: IngressPath, regex_mode: bool) -> list[tuple[str, bool]]:
    """The nginx location modifiers+paths for one Ingress path: [(spec, synthetic)]; synthetic entries are the
    extra `= /foo` of a Prefix path, which yields silently to an explicit Exact path."""
    path = p.path
    if p.path_type == EXACT:
        if path != "/" and path.endswith("/"):
            # nginx answers a request for `/foo` with a 301 to `/foo/` when a `/foo/` location (exact ones
            # included) proxies, before looking at any other location; Kubernetes says Exact `/foo/` does
            # not match `/foo` at all, so this one is an anchored regex, which has no such redirect.
            return [(f"~ {quote('^' + regex_escape(path) + '$')}", False)]
        return [(f"= {_lit(path)}", False)]
    if p.path_type == PREFIX:
        base = path.rstrip("/") or "/"
        if regex_mode:
            if p.ann.use_regex and set(path) & _REGEX_CHARS:
                return [(f"~* {quote('^' + path)}", False)]
            if base == "/":
                return [(ROOT_REGEX, False)]
            return [(f"~ {quote('^' + regex_escape(base) + '(?:/|$)')}", False)]
        if base == "/":
            return [("/", False)]
        return [(_lit(base + "/"), False), (f"= {_lit(base)}", True)]
    if regex_mode:
        return [(f"~* {quote('^' + path)}", False)]
    return [(_lit(path), False)]


def _location_order(spec: str, p: IngressPath) -> tuple:
    """Exact locations first, then regex locations longest path first (their order decides), then prefixes.
    An Exact path rendered as a regex comes before every other regex, so it wins as `=` would."""
    if spec.startswith("= ") or p.path_type == EXACT:
        return (0, 0, spec)
    if spec.startswith("~"):
        return (1, -len(p.path.rstrip("/") or "/"), "")  # stable: among equal lengths the older Ingress first
    return (2, 0, spec)


class _Renderer:
    def __init__(self, backends: Mapping, http_port: int, https_port: int, listen_address: str | None,
                 ipv6: bool = False) -> None:
        self.backends = backends
        self.http_port = http_port
        self.https_port = https_port
        self.addr = f"{listen_address}:" if listen_address else ""
        self.ipv6 = ipv6 and not listen_address   # `listen 80` is IPv4 only: add `listen [::]:80`
        self.upstreams: dict[str, Backend] = {}

    def _proxy(self, namespace: str, backend: Mapping, ann: Annotations, ingress: str, notes: Notes) -> list[str]:
        key = backend_key(namespace, backend)
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

    def location(self, spec: str, p: IngressPath, server: Server, notes: Notes) -> list[str]:
        body = [f"# {p.ingress}: {p.path} ({p.path_type}) -> {backend_label(p.backend)}"]
        body += self._redirect(p.ann, server)
        proxy = self._proxy(p.namespace, p.backend, p.ann, p.ingress, notes)
        if p.needs_rewrite and not proxy[0].startswith("return"):
            body.append(f"rewrite {quote('(?i)' + p.path)} {quote(p.ann.rewrite_target or '/')} break;")
        body += proxy
        return [f"location {spec} {{"] + [f"    {line}" for line in body] + ["}"]

    def _redirect(self, ann: Annotations, server: Server) -> list[str]:
        if ann.force_ssl_redirect or (server.tls and ann.ssl_redirect):
            port = "" if self.https_port == 443 else f":{self.https_port}"
            return [f"if ($scheme = http) {{ return {REDIRECT_CODE} https://$host{port}$request_uri; }}"]
        return []

    def root_location(self, spec: str, server: Server, notes: Notes) -> list[str]:
        if server.default_backend is None:
            return [f"location {spec} {{", '    return 404 "default backend - 404\\n";', "}"]
        ingress, backend, ann = server.default_backend
        namespace = ingress.split("/", 1)[0]
        body = [f"# {ingress}: default backend -> {backend_label(backend)}"]
        body += self._redirect(ann, server) if server.host else []
        body += self._proxy(namespace, backend, ann, ingress, notes)
        return [f"location {spec} {{"] + [f"    {line}" for line in body] + ["}"]

    def server(self, server: Server, default_cert: tuple[str, str], notes: Notes) -> list[str]:
        regex_mode = any(p.regex for p in server.paths)
        taken: dict[str, IngressPath] = {}
        entries: list[tuple[tuple, str, IngressPath]] = []
        synthetic: list[tuple[str, IngressPath]] = []
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
        if self.ipv6:
            lines += [f"    listen [::]:{self.http_port}{ds};", f"    listen [::]:{self.https_port} ssl{ds};"]
        lines.append(f"    server_name {_server_name(server.host) if server.host else '_'};")
        cert, key = server.cert or default_cert
        lines += [f"    ssl_certificate {quote(cert)};", f"    ssl_certificate_key {quote(key)};"]
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
        f"pid {quote(run_dir + '/nginx.pid')};",
        f"error_log {quote(run_dir + '/error.log')} notice;",
        "worker_shutdown_timeout 240s;",
        "events {}",
        "",
        "http {",
    ]
    http = [
        f"client_body_temp_path {quote(tmp + '/client_body')};",
        f"proxy_temp_path {quote(tmp + '/proxy')};",
        f"fastcgi_temp_path {quote(tmp + '/fastcgi')};",
        f"uwsgi_temp_path {quote(tmp + '/uwsgi')};",
        f"scgi_temp_path {quote(tmp + '/scgi')};",
        "log_format upstreaminfo '$remote_addr - $remote_user [$time_local] \"$request\" $status $body_bytes_sent "
        "\"$http_referer\" \"$http_user_agent\" $request_length $request_time $upstream_addr $upstream_status "
        "$req_id';",
        f"access_log {quote(access_log)} upstreaminfo;",
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
    healthz_port: int | None = None,
    ipv6: bool = False,
) -> RenderedConfig:
    """Render nginx.conf for the Ingresses of `ingress_classes`; see the module docstring for the rules."""
    run_dir = run_dir.rstrip("/") or "/"
    notes = Notes()
    selected = select_ingresses(ingresses, ingress_classes, default_class)
    for ing in selected:
        notes.by_ingress.setdefault(ingress_key(ing), [])
    servers, files = collect(selected, secrets, run_dir, notes)
    r = _Renderer(backends, http_port, https_port, listen_address, ipv6)
    blocks: list[str] = []
    for host in sorted(servers, key=lambda h: (h != "", h)):
        blocks += [""] + r.server(servers[host], default_cert, notes)
    if healthz_port:
        blocks += [""] + _healthz_server(healthz_port)
    head, http = _main_context(run_dir, user, access_log)
    http += [""] + r.upstream_blocks() + blocks
    text = "\n".join(head + [f"    {line}" if line else "" for line in http] + ["}", ""])
    return RenderedConfig(nginx_conf=text, files=dict(sorted(files.items())), notes=notes.by_ingress)


def _healthz_server(port: int) -> list[str]:
    """ingress-nginx's health endpoint (its probes' `/healthz` on 10254): 200 while nginx serves."""
    return ["server { # ingress-nginx's healthz port", f"    listen {port};", "    access_log off;",
            '    location = /healthz { return 200 "ok\\n"; }', "    location / { return 404; }", "}"]


def resolve_rules(ingresses: list[dict], backends: Mapping[tuple[str, str, int | str], Backend]) -> list[dict]:
    """Rows for `describe ingress`: every rule path (and default backend) resolved to its endpoints.

    Each row: ingress ("ns/name"), host ("*" when none), path ("" for a default backend), pathType,
    backend ("svc:port"), endpoints (["ip:port", ...]), error (None, "service not found" or "no endpoints")
    and httpsRedirect (plain HTTP is answered with a redirect to HTTPS).
    """
    rows = []
    for ing in sorted(ingresses, key=age_key):
        key = ingress_key(ing)
        namespace = ingress_meta(ing).get("namespace") or "default"
        spec = ing.get("spec") or {}
        items = []
        if spec.get("defaultBackend"):
            items.append(("*", "", "", spec["defaultBackend"]))
        for rule in spec.get("rules") or []:
            for p in (rule.get("http") or {}).get("paths") or []:
                path_type = p.get("pathType") or IMPLEMENTATION_SPECIFIC
                items.append((rule.get("host") or "*", p.get("path") or "/", path_type, p.get("backend") or {}))
        for host, path, path_type, backend in items:
            bkey = backend_key(namespace, backend)
            found = backends.get(bkey) if bkey else None
            endpoints = [f"{ip}:{port}" for ip, port in sorted(found.endpoints)] if found else []
            error = None
            if bkey is None:
                error = "not a service backend"
            elif found is None:
                error = "service not found"
            elif not endpoints:
                error = "no endpoints"
            redirect = bool(path) and redirects_to_https(ing, host)  # a default backend never redirects
            rows.append({"ingress": key, "host": host, "path": path, "pathType": path_type,
                         "backend": backend_label(backend), "endpoints": endpoints, "error": error,
                         "httpsRedirect": redirect})
    return rows
