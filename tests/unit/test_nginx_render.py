"""netlab.compile.nginx: the rendered nginx.conf, then the same configurations served by real nginx on loopback."""

from __future__ import annotations

import base64
import datetime
import http.client
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from netlab.compile.nginx import Backend, render, resolve_rules, select_ingresses
from netlab.runtime.nginx_process import FAKE_CERT_CN, NginxConfig, conf_path, default_certificate

NGINX = "/usr/sbin/nginx"
RUN = "/run/netlab/test/ingress"
DEFAULT_CERT = (f"{RUN}/ssl/default.crt", f"{RUN}/ssl/default.key")
SEED_HOST = "learn.nextgenplayground.org"
A = "nginx.ingress.kubernetes.io/"


# ------------------------------------------------------------------------------------------------ builders


def path(p: str, svc: str, port: int | str = 80, kind: str = "Prefix") -> dict:
    port_ref = {"number": port} if isinstance(port, int) else {"name": port}
    return {"path": p, "pathType": kind, "backend": {"service": {"name": svc, "port": port_ref}}}


def ingress(name: str, rules: list[tuple[str, list[dict]]], *, ns: str = "default", ts: str = "2024-01-01T00:00:00Z",
            annotations: dict | None = None, tls: list[dict] | None = None, cls: str | None = "nginx",
            default_backend: tuple[str, int] | None = None) -> dict:
    spec: dict = {"rules": [({"host": h} if h else {}) | {"http": {"paths": ps}} for h, ps in rules]}
    if cls:
        spec["ingressClassName"] = cls
    if tls:
        spec["tls"] = tls
    if default_backend:
        spec["defaultBackend"] = {"service": {"name": default_backend[0], "port": {"number": default_backend[1]}}}
    meta = {"name": name, "namespace": ns, "creationTimestamp": ts, "annotations": annotations or {}}
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": meta, "spec": spec}


def seed_ingress() -> dict:
    return ingress(
        "app-ingress",
        [(SEED_HOST, [path("/", "app-service"), path("/api", "api-service")])],
        annotations={A + "rewrite-target": "/"},
        tls=[{"hosts": [SEED_HOST], "secretName": "tls-secret"}],
    )


def backend(svc: str, *endpoints: tuple[str, int], port: int | str = 80, ns: str = "default") -> dict:
    return {(ns, svc, port): Backend(ns, svc, port, tuple(endpoints))}


def tls_secret(name: str, cert_pem: bytes, key_pem: bytes, ns: str = "default") -> dict:
    data = {"tls.crt": base64.b64encode(cert_pem).decode(), "tls.key": base64.b64encode(key_pem).decode()}
    return {(ns, name): {"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
                         "metadata": {"name": name, "namespace": ns}, "data": data}}


def make_ca() -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "netlab test CA")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    return key, cert


def make_leaf(ca: tuple, *hosts: str) -> tuple[bytes, bytes]:
    ca_key, ca_cert = ca
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hosts[0])]))
            .issuer_name(ca_cert.subject).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1)).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(h) for h in hosts]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


def server_block(conf: str, name: str) -> str:
    start = conf.index(f"server_name {name};")
    return conf[start:conf.index("\n    }\n", start)]


# ------------------------------------------------------------------------------------------------ pure tests


def test_seed_ingress_renders_as_ingress_nginx_does():
    ca = make_ca()
    crt, key = make_leaf(ca, SEED_HOST)
    backends = backend("app-service", ("10.244.1.5", 8080), ("10.244.2.7", 8080)) | backend("api-service",
                                                                                            ("10.244.1.6", 3000))
    out = render([seed_ingress()], backends, tls_secret("tls-secret", crt, key), run_dir=RUN, default_cert=DEFAULT_CERT)
    conf = out.nginx_conf
    for line in ("daemon off;", "worker_processes 1;", f'pid "{RUN}/nginx.pid";', f'error_log "{RUN}/error.log"',
                 f'proxy_temp_path "{RUN}/tmp/proxy";', f'client_body_temp_path "{RUN}/tmp/client_body";',
                 "events {}", "listen 80 default_server;", "listen 443 ssl default_server;",
                 "proxy_set_header X-Forwarded-For $remote_addr;", "proxy_set_header X-Request-ID $req_id;",
                 "proxy_set_header X-Real-IP $remote_addr;", "proxy_set_header X-Forwarded-Proto $scheme;",
                 "proxy_set_header X-Forwarded-Host $best_http_host;", "proxy_set_header Host $best_http_host;"):
        assert line in conf, line
    assert "upstream default_app-service_80 {\n        # default/app-service:80\n" \
           "        server 10.244.1.5:8080;\n        server 10.244.2.7:8080;\n" in conf
    assert "server 10.244.1.6:3000;" in conf
    srv = server_block(conf, SEED_HOST)
    # rewrite-target makes the host regex-mode: longest path first, /api rewritten to / as ingress-nginx >= 0.22
    api, root = srv.index('location ~ "^/api(?:/|$)" {'), srv.index('location ~ "^/" {')
    assert api < root
    assert 'rewrite "(?i)/api" "/" break;' in srv
    assert srv.count("rewrite ") == 1  # path / equals the target: no rewrite
    assert srv.count("if ($scheme = http) { return 308 https://$host$request_uri; }") == 2
    assert f'ssl_certificate "{RUN}/certs/default_tls-secret.crt";' in srv
    assert out.files == {f"{RUN}/certs/default_tls-secret.crt": crt, f"{RUN}/certs/default_tls-secret.key": key}
    assert out.file_mode(f"{RUN}/certs/default_tls-secret.key") == 0o600
    assert [n for n in out.notes["default/app-ingress"] if "capture group" not in n] == []
    assert render([seed_ingress()], backends, tls_secret("tls-secret", crt, key), run_dir=RUN,
                  default_cert=DEFAULT_CERT) == out  # deterministic


def test_class_selection_and_legacy_annotation():
    mine = ingress("a", [], cls="nginx")
    other = ingress("b", [], cls="traefik")
    none = ingress("c", [], cls=None)
    legacy = ingress("d", [], cls=None, annotations={"kubernetes.io/ingress.class": "nginx"})
    legacy_other = ingress("e", [], cls=None, annotations={"kubernetes.io/ingress.class": "haproxy"})
    names = [i["metadata"]["name"] for i in select_ingresses([mine, other, none, legacy, legacy_other])]
    assert names == ["a", "d"]
    names = [i["metadata"]["name"] for i in select_ingresses([mine, other, none, legacy], default_class=True)]
    assert names == ["a", "c", "d"]
    names = [i["metadata"]["name"] for i in select_ingresses([mine, other, none], ingress_classes={"traefik"})]
    assert names == ["b"]


def test_exact_and_prefix_locations():
    ing = ingress("p", [("h.test", [path("/foo", "s"), path("/bar/", "s"), path("/exact", "s", kind="Exact"),
                                    path("/impl", "s", kind="ImplementationSpecific"), path("/", "s")])])
    srv = server_block(render([ing], backend("s", ("10.0.0.1", 80)), {}, run_dir=RUN,
                              default_cert=DEFAULT_CERT).nginx_conf, "h.test")
    for loc in ("location = /foo {", "location /foo/ {", "location = /bar {", "location /bar/ {",
                "location = /exact {", "location /impl {", "location / {"):
        assert loc in srv, loc
    assert "location /exact/" not in srv
    assert srv.count("location / {") == 1  # the rule's /, no default-backend root


def test_exact_path_with_trailing_slash_is_an_anchored_regex_before_other_regexes():
    ing = ingress("p", [("h.test", [path("/foo/", "s", kind="Exact"), path("/foo", "s"),
                                    path("/a.b/", "s", kind="Exact")])])
    srv = render([ing], backend("s", ("10.0.0.1", 80)), {}, run_dir="/r", default_cert=("/c", "/k")).nginx_conf
    assert 'location ~ "^/foo/$" {' in srv and r'location ~ "^/a\\.b/$" {' in srv
    assert "location = /foo/" not in srv and "location = /foo {" in srv and "location /foo/ {" in srv
    rx = ingress("r", [("h.test", [path("/foo/", "s", kind="Exact"),
                                   path("/foo/(.*)", "s", kind="ImplementationSpecific")])],
                 annotations={A + "use-regex": "true"})
    srv = render([rx], backend("s", ("10.0.0.1", 80)), {}, run_dir="/r", default_cert=("/c", "/k")).nginx_conf
    assert srv.index('location ~ "^/foo/$" {') < srv.index('location ~* "^/foo/(.*)" {')


def test_exact_path_wins_over_prefix_exact_copy_without_note():
    ing = ingress("p", [("h.test", [path("/foo", "prefix"), path("/foo", "exact", kind="Exact")])])
    b = backend("prefix", ("10.0.0.1", 80)) | backend("exact", ("10.0.0.2", 80))
    out = render([ing], b, {}, run_dir=RUN, default_cert=DEFAULT_CERT)
    srv = server_block(out.nginx_conf, "h.test")
    assert srv.count("location = /foo {") == 1
    assert "location = /foo {\n            # default/p: /foo (Exact)" in srv
    assert out.notes["default/p"] == []


def test_wildcard_host_matches_one_label():
    ing = ingress("w", [("*.example.com", [path("/", "s")]), ("www.example.com", [path("/", "s")])])
    conf = render([ing], backend("s", ("10.0.0.1", 80)), {}, run_dir=RUN, default_cert=DEFAULT_CERT).nginx_conf
    assert r"server_name ~^[^.]+\.example\.com$;" in conf
    assert "server_name www.example.com;" in conf


def test_two_ingresses_on_one_host_merge_and_oldest_wins():
    old = ingress("old", [("h.test", [path("/a", "sa"), path("/dup", "sa")])], ts="2024-01-01T00:00:00Z")
    new = ingress("new", [("h.test", [path("/b", "sb"), path("/dup/", "sb")])], ts="2024-02-01T00:00:00Z")
    b = backend("sa", ("10.0.0.1", 80)) | backend("sb", ("10.0.0.2", 80))
    out = render([new, old], b, {}, run_dir=RUN, default_cert=DEFAULT_CERT)
    assert out.nginx_conf.count("server_name h.test;") == 1
    srv = server_block(out.nginx_conf, "h.test")
    assert "location /a/ {" in srv and "location /b/ {" in srv
    assert "location /dup/ {\n            # default/old: /dup (Prefix)" in srv
    assert "default/new" not in srv.split("location /dup/ {")[1].split("}")[0]
    assert any("older Ingress default/old" in n for n in out.notes["default/new"])
    assert any("newer Ingress default/new" in n for n in out.notes["default/old"])


def test_default_backend_and_404():
    conf = render([], {}, {}, run_dir=RUN, default_cert=DEFAULT_CERT).nginx_conf
    assert 'return 404 "default backend - 404\\n";' in server_block(conf, "_")
    ing = ingress("d", [], default_backend=("fallback", 8080))
    out = render([ing], backend("fallback", ("10.0.0.9", 80), port=8080), {}, run_dir=RUN, default_cert=DEFAULT_CERT)
    srv = server_block(out.nginx_conf, "_")
    assert "proxy_pass http://default_fallback_8080;" in srv and "return 404" not in srv


def test_503_for_missing_service_and_no_endpoints():
    ing = ingress("x", [("h.test", [path("/gone", "missing"), path("/empty", "empty", port="http")])])
    out = render([ing], backend("empty", port="http"), {}, run_dir=RUN, default_cert=DEFAULT_CERT)
    srv = server_block(out.nginx_conf, "h.test")
    assert 'return 503 "service default/missing:80 not found\\n";' in srv
    assert 'return 503 "no endpoints for service default/empty:http\\n";' in srv
    assert "\n    upstream " not in out.nginx_conf  # an upstream without servers is invalid nginx
    assert any("default/missing port 80 not found" in n for n in out.notes["default/x"])


def test_notes_for_unknown_annotations_and_missing_secret():
    annotations = {A + "proxy-body-size": "8m", A + "ssl-redirect": "x", "example.com/other": "ignored silently"}
    ing = ingress("n", [("h.test", [path("/", "s")])], annotations=annotations,
                  tls=[{"hosts": ["h.test"], "secretName": "nope"}])
    out = render([ing], backend("s", ("10.0.0.1", 80)), {}, run_dir=RUN, default_cert=DEFAULT_CERT)
    notes = out.notes["default/n"]
    assert f"annotation {A}proxy-body-size is not supported by netlab and is ignored" in notes
    assert any("ssl-redirect" in n and "not a boolean" in n for n in notes)
    assert any("secret default/nope cannot be used: it does not exist; using the default certificate" in n
               for n in notes)
    assert not any("example.com/other" in n for n in notes)
    srv = server_block(out.nginx_conf, "h.test")
    assert f'ssl_certificate "{DEFAULT_CERT[0]}";' in srv
    assert "return 308" in srv  # TLS host (default certificate): ssl-redirect still applies
    assert out.files == {}


def test_certificate_not_covering_host_falls_back_to_default():
    crt, key = make_leaf(make_ca(), "other.test")
    ing = ingress("t", [("h.test", [path("/", "s")])], tls=[{"hosts": ["h.test"], "secretName": "c"}])
    out = render([ing], backend("s", ("10.0.0.1", 80)), tls_secret("c", crt, key), run_dir=RUN,
                 default_cert=DEFAULT_CERT)
    assert f'ssl_certificate "{DEFAULT_CERT[0]}";' in server_block(out.nginx_conf, "h.test")
    assert any("does not cover host h.test" in n for n in out.notes["default/t"])


def test_ssl_redirect_off_force_redirect_and_https_backend():
    off = ingress("off", [("tls.test", [path("/", "s")])], tls=[{"hosts": ["tls.test"]}],
                  annotations={A + "ssl-redirect": "false"})
    force = ingress("force", [("plain.test", [path("/", "s")])],
                    annotations={A + "force-ssl-redirect": "true", A + "backend-protocol": "HTTPS"})
    out = render([off, force], backend("s", ("10.0.0.1", 443)), {}, run_dir=RUN, default_cert=DEFAULT_CERT,
                 https_port=8443)
    assert "return 308" not in server_block(out.nginx_conf, "tls.test")
    plain = server_block(out.nginx_conf, "plain.test")
    assert "return 308 https://$host:8443$request_uri;" in plain
    assert "proxy_pass https://default_s_80;" in plain and "proxy_ssl_verify off;" in plain


def test_use_regex_capture_groups():
    ing = ingress("r", [("r.test", [path("/something(/|$)(.*)", "s", kind="ImplementationSpecific"),
                                    path("/x", "s", kind="Exact")])],
                  annotations={A + "use-regex": "true", A + "rewrite-target": "/$2"})
    srv = server_block(render([ing], backend("s", ("10.0.0.1", 80)), {}, run_dir=RUN,
                              default_cert=DEFAULT_CERT).nginx_conf, "r.test")
    assert 'location ~* "^/something(/|$)(.*)" {' in srv
    assert 'rewrite "(?i)/something(/|$)(.*)" "/$2" break;' in srv
    assert "location = /x {" in srv
    assert 'location ~ "^/" {\n            return 404' in srv  # root fallback is a regex too


def test_resolve_rules():
    rows = resolve_rules([seed_ingress()], backend("app-service", ("10.244.1.5", 8080)))
    assert rows == [
        {"ingress": "default/app-ingress", "host": SEED_HOST, "path": "/", "pathType": "Prefix",
         "backend": "app-service:80", "endpoints": ["10.244.1.5:8080"], "error": None, "httpsRedirect": True},
        {"ingress": "default/app-ingress", "host": SEED_HOST, "path": "/api", "pathType": "Prefix",
         "backend": "api-service:80", "endpoints": [], "error": "service not found", "httpsRedirect": True},
    ]


@pytest.mark.parametrize(("annotations", "tls_hosts", "host", "rule_path", "redirect"), [
    ({}, [SEED_HOST], SEED_HOST, "/", True),  # ssl-redirect is on by default where the host has TLS
    ({}, [], SEED_HOST, "/", False),
    ({}, ["*.example.org"], "a.example.org", "/", True),
    ({A + "ssl-redirect": "false"}, [SEED_HOST], SEED_HOST, "/", False),
    ({A + "force-ssl-redirect": "true"}, [], SEED_HOST, "/", True),
    ({A + "force-ssl-redirect": "true"}, [], "*", "/", True),
    ({}, [SEED_HOST], "*", "/", False),  # a rule without host is not covered by a TLS host
])
def test_resolve_rules_https_redirect(annotations, tls_hosts, host, rule_path, redirect):
    ing = ingress("r", [(None if host == "*" else host, [path(rule_path, "app-service")])], annotations=annotations,
                  tls=[{"hosts": tls_hosts, "secretName": "s"}] if tls_hosts else None)
    (row,) = resolve_rules([ing], backend("app-service", ("10.244.1.5", 8080)))
    assert row["httpsRedirect"] is redirect


# ------------------------------------------------------------------------------------------------ real nginx


class _Echo(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        if "slow" in self.path:
            time.sleep(1.5)
        body = json.dumps({"name": self.server.name, "path": self.path,  # type: ignore[attr-defined]
                           "headers": {k.lower(): v for k, v in self.headers.items()}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _request(port: int, host: str, target: str, ctx: ssl.SSLContext | None = None) -> tuple[int, dict, bytes]:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    try:
        if ctx is not None:
            sock = ctx.wrap_socket(sock, server_hostname=host)
        sock.sendall(f"GET {target} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
        resp = http.client.HTTPResponse(sock)
        resp.begin()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        sock.close()


def _who(port: int, host: str, target: str, ctx: ssl.SSLContext | None = None) -> tuple[int, str | None, str | None]:
    status, _, body = _request(port, host, target, ctx)
    if status != 200:
        return status, None, None
    doc = json.loads(body)
    return status, doc["name"], doc["path"]


@pytest.mark.skipif(not os.access(NGINX, os.X_OK), reason=f"{NGINX} not installed (apt-get install nginx)")
def test_real_nginx_routes_as_kubernetes_says():
    servers: list[ThreadingHTTPServer] = []
    proc: subprocess.Popen | None = None
    run_dir = tempfile.mkdtemp(prefix="netlab-nginx-")
    try:
        def start(name: str, ip: str = "127.0.0.2") -> tuple[str, int]:
            srv = ThreadingHTTPServer((ip, 0), _Echo)
            srv.daemon_threads = True
            srv.name = name  # type: ignore[attr-defined]
            threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True).start()
            servers.append(srv)
            return ip, srv.server_address[1]

        names = ["root", "aaa", "bb", "bbb", "foo", "exact", "exactprefix", "rx", "app", "api", "wild", "slow", "new"]
        backends: dict = {}
        for name in names:
            backends |= backend(name, start(name))
        backends |= backend("rr", start("rr1", "127.0.0.2"), start("rr2", "127.0.0.3"))
        backends |= backend("empty")

        ca = make_ca()
        crt, key = make_leaf(ca, SEED_HOST)
        secrets = tls_secret("tls-secret", crt, key)
        ingresses = [
            seed_ingress() | {"spec": seed_ingress()["spec"] | {"rules": [(
                {"host": SEED_HOST, "http": {"paths": [path("/", "app"), path("/api", "api")]}})]}},
            ingress("table", [("table.test", [path("/", "root"), path("/aaa", "aaa"), path("/aaa/bb", "bb"),
                                              path("/aaa/bbb/", "bbb"), path("/exact", "exact", kind="Exact"),
                                              path("/exact", "exactprefix")])]),
            ingress("prefix", [("prefix.test", [path("/foo", "foo")])]),
            ingress("exact", [("exact.test", [path("/foo", "exact", kind="Exact")])]),
            ingress("slash", [("slash.test", [path("/foo/", "exact", kind="Exact"), path("/", "root"),
                                              path("/pre/", "foo")])]),
            ingress("rx", [("rx.test", [path("/something(/|$)(.*)", "rx", kind="ImplementationSpecific"),
                                        path("/x/", "exact", kind="Exact")])],
                    annotations={A + "use-regex": "true", A + "rewrite-target": "/$2"}),
            ingress("wild", [("*.wild.test", [path("/", "wild")])]),
            ingress("misc", [("misc.test", [path("/empty", "empty"), path("/missing", "missing"), path("/rr", "rr"),
                                            path("/slow", "slow")])]),
        ]
        http_port, https_port = _free_port(), _free_port()
        cert_paths = default_certificate(run_dir)
        assert default_certificate(run_dir) == cert_paths  # generated once

        def render_now(ings: list[dict]) -> bool:
            rendered = render(ings, backends, secrets, run_dir=run_dir, default_cert=cert_paths, http_port=http_port,
                              https_port=https_port, listen_address="127.0.0.1", access_log=f"{run_dir}/access.log")
            return NginxConfig().write(rendered, run_dir)

        nginx = NginxConfig(NGINX)
        assert render_now(ingresses) is True
        assert render_now(ingresses) is False
        assert os.stat(f"{run_dir}/certs/default_tls-secret.key").st_mode & 0o777 == 0o600
        assert nginx.check(conf_path(run_dir)) is None
        log = open(Path(run_dir) / "nginx.out", "wb")
        proc = subprocess.Popen(nginx.nginx_argv(conf_path(run_dir), run_dir), stdout=log, stderr=log)
        log.close()
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", http_port), timeout=1).close()
                socket.create_connection(("127.0.0.1", https_port), timeout=1).close()
                break
            except OSError:
                assert proc.poll() is None, (Path(run_dir) / "nginx.out").read_text()
                assert time.monotonic() < deadline, "nginx did not start listening"
                time.sleep(0.05)

        # the Kubernetes examples table (Prefix element-wise, Exact, longest match wins, Exact before Prefix)
        h = "prefix.test"
        assert _who(http_port, h, "/foo")[1] == "foo"
        assert _who(http_port, h, "/foo/")[1] == "foo"
        assert _who(http_port, h, "/foo/bar")[1] == "foo"
        assert _who(http_port, h, "/foobar")[0] == 404
        assert _who(http_port, "exact.test", "/foo")[1] == "exact"
        assert _who(http_port, "exact.test", "/foo/")[0] == 404
        assert _who(http_port, "exact.test", "/bar")[0] == 404
        t = "table.test"
        assert _who(http_port, t, "/aaa/bbb")[1] == "bbb"  # /aaa/bbb/ ignores its trailing slash
        assert _who(http_port, t, "/aaa/bbb/")[1] == "bbb"
        assert _who(http_port, t, "/aaa/bbb/ccc")[1] == "bbb"
        assert _who(http_port, t, "/aaa/bbbxyz")[1] == "aaa"  # /aaa/bb does not match /aaa/bbbxyz
        assert _who(http_port, t, "/aaa/bb")[1] == "bb"
        assert _who(http_port, t, "/aaa/bb/c")[1] == "bb"
        assert _who(http_port, t, "/aaa/ccc")[1] == "aaa"
        assert _who(http_port, t, "/aaa")[1] == "aaa"
        assert _who(http_port, t, "/ccc")[1] == "root"
        assert _who(http_port, t, "/")[1] == "root"
        assert _who(http_port, t, "/exact")[1] == "exact"  # Exact preferred over Prefix of the same path
        assert _who(http_port, t, "/exact/")[1] == "exactprefix"
        assert _who(http_port, t, "/aaa/ccc?q=1") == (200, "aaa", "/aaa/ccc?q=1")
        # Exact /foo/ matches /foo/ only: /foo is not redirected to it but falls through to Prefix /
        assert _who(http_port, "slash.test", "/foo/")[1] == "exact"
        assert _who(http_port, "slash.test", "/foo") == (200, "root", "/foo")
        assert _who(http_port, "slash.test", "/foo/x")[1] == "root"
        assert _who(http_port, "slash.test", "/pre")[1] == "foo"  # Prefix /pre/ matches /pre and /pre/
        assert _who(http_port, "slash.test", "/pre/")[1] == "foo"
        assert _who(http_port, "rx.test", "/x/")[1] == "exact"  # the same in regex mode
        assert _who(http_port, "rx.test", "/x")[0] == 404

        # wildcard: exactly one label
        assert _who(http_port, "a.wild.test", "/x")[1] == "wild"
        assert _who(http_port, "a.b.wild.test", "/x")[0] == 404
        assert _who(http_port, "wild.test", "/x")[0] == 404
        # no host matches: the default server's 404
        status, _, body = _request(http_port, "nobody.test", "/")
        assert (status, body) == (404, b"default backend - 404\n")

        # rewrite-target with capture groups
        assert _who(http_port, "rx.test", "/something/new/x") == (200, "rx", "/new/x")
        assert _who(http_port, "rx.test", "/something") == (200, "rx", "/")

        # 503s, round robin
        assert _request(http_port, "misc.test", "/empty")[:1] == (503,)
        assert _request(http_port, "misc.test", "/missing")[:1] == (503,)
        assert {_who(http_port, "misc.test", "/rr")[1] for _ in range(6)} == {"rr1", "rr2"}

        # the seed: HTTP redirects to HTTPS (308), HTTPS verified against the test CA, /api rewritten to /
        status, headers, _ = _request(http_port, SEED_HOST, "/api/users?x=1")
        assert status == 308
        assert headers["location"] == f"https://{SEED_HOST}:{https_port}/api/users?x=1"
        ctx = ssl.create_default_context(cadata=ca[1].public_bytes(serialization.Encoding.PEM).decode())
        status, _, body = _request(https_port, SEED_HOST, "/api/users?x=1", ctx)
        doc = json.loads(body)
        assert (status, doc["name"], doc["path"]) == (200, "api", "/?x=1")
        assert doc["headers"]["host"] == SEED_HOST
        assert doc["headers"]["x-forwarded-proto"] == "https"
        assert doc["headers"]["x-forwarded-host"] == SEED_HOST
        assert doc["headers"]["x-real-ip"] == "127.0.0.1" and doc["headers"]["x-forwarded-for"] == "127.0.0.1"
        assert len(doc["headers"]["x-request-id"]) == 32
        assert _who(https_port, SEED_HOST, "/anything", ctx) == (200, "app", "/anything")
        # a host without TLS gets the fake default certificate
        raw = ssl.create_default_context()
        raw.check_hostname, raw.verify_mode = False, ssl.CERT_NONE
        with raw.wrap_socket(socket.create_connection(("127.0.0.1", https_port), timeout=10),
                             server_hostname="table.test") as tls:
            served = x509.load_der_x509_certificate(tls.getpeercert(binary_form=True))
        assert served.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == FAKE_CERT_CN
        with pytest.raises(ssl.SSLCertVerificationError):
            _request(https_port, "table.test", "/", ctx)

        # graceful reload: a slow request in flight completes while the new configuration takes over
        assert _request(http_port, "new.test", "/")[0] == 404
        result: dict = {}

        def slow() -> None:
            result["slow"] = _who(http_port, "misc.test", "/slow")

        worker = threading.Thread(target=slow)
        worker.start()
        time.sleep(0.3)  # the request is now inside the backend
        assert render_now(ingresses + [ingress("new", [("new.test", [path("/", "new")])])]) is True
        assert nginx.check(conf_path(run_dir)) is None
        assert NginxConfig.master_pid(run_dir) == proc.pid
        nginx.reload(proc.pid)
        deadline = time.monotonic() + 2
        while _request(http_port, "new.test", "/")[0] != 200:
            assert time.monotonic() < deadline, "reload not picked up within 2 s"
            time.sleep(0.05)
        worker.join(timeout=10)
        assert result["slow"] == (200, "slow", "/slow")
        assert proc.poll() is None
    finally:
        if proc is not None and proc.poll() is None:
            os.kill(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)
        for srv in servers:
            srv.shutdown()
            srv.server_close()
        shutil.rmtree(run_dir, ignore_errors=True)


def test_nginx_check_reports_errors(tmp_path):
    if not os.access(NGINX, os.X_OK):
        pytest.skip(f"{NGINX} not installed")
    conf = tmp_path / "nginx.conf"
    conf.write_text("events {}\nhttp { bogus_directive on; }\n")
    err = NginxConfig(NGINX).check(conf, tmp_path)
    assert err is not None and "bogus_directive" in err
    assert NginxConfig().nginx_argv("/r/nginx.conf", "/r") == [NGINX, "-c", "/r/nginx.conf", "-p", "/r", "-e", "stderr"]
