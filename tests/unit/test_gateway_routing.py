"""The gateway controller's pure core: route attachment and statuses (gateway_attach), and the nginx maps
(gateway_nginx), checked by evaluating the rendered maps for a request as nginx does (first regex wins)."""

import re
import shutil
import subprocess

import pytest

from netlab.compile.gateway_attach import gateway_world, host_matches, intersect
from netlab.compile.gateway_nginx import render
from netlab.compile.gateway_objects import gateway_class, proxy_objects
from netlab.model.gateway import apply_defaults

SERVICES = {"app/a": object(), "app/b": object(), "other/c": object()}
ENDPOINTS = {("app", "a", 80): (("10.244.1.2", 3000),), ("app", "b", 80): (("10.244.2.2", 3000),),
             ("other", "c", 80): (("10.244.1.9", 3000),)}


def obj(kind, name, spec, ns="app", created="2026-01-01T00:00:00Z", api="gateway.networking.k8s.io/v1"):
    d = {"apiVersion": api, "kind": kind, "metadata": {"name": name, "namespace": ns, "generation": 2,
                                                         "creationTimestamp": created}, "spec": spec}
    apply_defaults(kind, d)
    return d


def gateway(*listeners):
    return obj("Gateway", "gw", {"gatewayClassName": "netlab", "listeners": list(listeners)})


def listener(name="http", port=80, hostname=None, **allowed):
    out = {"name": name, "port": port, "protocol": "HTTP", **({"allowedRoutes": allowed} if allowed else {})}
    return {**out, "hostname": hostname} if hostname else out


def route(name, rules, ns="app", hostnames=None, parent=None, created="2026-01-01T00:00:00Z"):
    spec = {"parentRefs": [parent or {"name": "gw", "namespace": "app"}], "rules": rules}
    if hostnames:
        spec["hostnames"] = hostnames
    return obj("HTTPRoute", name, spec, ns=ns, created=created)


def to(*names, port=80):
    return [{"name": n, "port": port} for n in names]


def world(*objects, namespaces=()):
    return gateway_world([gateway_class(), *namespaces, *objects], SERVICES)


def parent_conditions(w, name, ns="app"):
    return {c["type"]: (c["status"], c["reason"]) for c in w.route_parents[f"HTTPRoute/{ns}/{name}"][0]["conditions"]}


# ----------------------------------------------------------------------------------------------- hostnames

@pytest.mark.parametrize("listener_host,route_host,expected", [
    (None, "a.example", "a.example"),
    ("a.example", "a.example", "a.example"),
    ("*.example", "a.example", "a.example"),
    ("*.example", "a.b.example", "a.b.example"),
    ("a.example", "*.example", "a.example"),
    ("*.example", "*.a.example", "*.a.example"),
    ("*.a.example", "*.example", "*.a.example"),
    ("a.example", "b.example", None),
    ("*.example", "example", None),
    ("*.foo.example", "*.bar.example", None),
])
def test_hostname_intersection(listener_host, route_host, expected):
    assert intersect(listener_host, route_host) == expected


def test_wildcards_match_one_or_more_labels_but_not_the_suffix_itself():
    assert host_matches("*.example.com", "a.example.com") and host_matches("*.example.com", "a.b.example.com")
    assert not host_matches("*.example.com", "example.com") and not host_matches("*.example.com", "xexample.com")


# ----------------------------------------------------------------------------------------------- attachment

def test_allowed_routes_same_all_and_selector():
    ns_labels = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "other", "labels": {"team": "x"}}}
    selector = {"namespaces": {"from": "Selector", "selector": {"matchLabels": {"team": "x"}}}}
    for allowed, accepted in (({}, "NotAllowedByListeners"), ({"namespaces": {"from": "All"}}, "Accepted"),
                              (selector, "Accepted")):
        w = world(gateway(listener(**allowed)), route("r", [{"backendRefs": to("c")}], ns="other"),
                  namespaces=[ns_labels])
        assert parent_conditions(w, "r", "other")["Accepted"][1] == accepted
        assert w.plans["app/gw"].attached.get("http", 0) == (1 if accepted == "Accepted" else 0)


def test_parent_ref_section_name_port_and_hostnames():
    gw = gateway(listener("a", 80, "a.example"), listener("b", 8080))
    w = world(gw, route("bysection", [{}], parent={"name": "gw", "sectionName": "b"}),
              route("byport", [{}], parent={"name": "gw", "port": 80}),
              route("nosuch", [{}], parent={"name": "gw", "sectionName": "c"}),
              route("farhost", [{}], hostnames=["z.example"], parent={"name": "gw", "sectionName": "a"}))
    assert parent_conditions(w, "bysection")["Accepted"] == ("True", "Accepted")
    assert parent_conditions(w, "nosuch")["Accepted"] == ("False", "NoMatchingParent")
    assert parent_conditions(w, "farhost")["Accepted"] == ("False", "NoMatchingListenerHostname")
    assert w.plans["app/gw"].attached == {"b": 1, "a": 1}
    status = w.route_parents["HTTPRoute/app/bysection"][0]
    assert status["controllerName"] == "netlab.dev/gateway-controller"
    assert all(c["observedGeneration"] == 2 for c in status["conditions"])


def test_backend_refs_resolve_with_reference_grants():
    cross = route("r", [{"backendRefs": [{"name": "c", "namespace": "other", "port": 80}]}])
    assert parent_conditions(world(gateway(listener()), cross), "r")["ResolvedRefs"] == ("False", "RefNotPermitted")
    grant = obj("ReferenceGrant", "g", {"from": [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute",
                                                  "namespace": "app"}], "to": [{"group": "", "kind": "Service"}]},
                ns="other", api="gateway.networking.k8s.io/v1beta1")
    assert parent_conditions(world(gateway(listener()), cross, grant), "r")["ResolvedRefs"] == ("True", "ResolvedRefs")
    wrong_ns_grant = {**grant, "metadata": {**grant["metadata"], "namespace": "app"}}
    assert parent_conditions(world(gateway(listener()), cross, wrong_ns_grant), "r")["ResolvedRefs"][1] == \
        "RefNotPermitted"
    missing = route("m", [{"backendRefs": to("nope")}])
    assert parent_conditions(world(gateway(listener()), missing), "m")["ResolvedRefs"] == ("False", "BackendNotFound")
    kind = route("k", [{"backendRefs": [{"name": "a", "port": 80, "kind": "Pod"}]}])
    assert parent_conditions(world(gateway(listener()), kind), "k")["ResolvedRefs"] == ("False", "InvalidKind")


def test_gateways_of_other_classes_are_left_alone():
    other = obj("Gateway", "gw", {"gatewayClassName": "istio", "listeners": [listener()]})
    w = world(other, route("r", [{}]))
    assert w.plans == {} and w.route_parents == {}
    assert proxy_objects([other], w.classes, "/run/x") == []
    objs = proxy_objects([gateway(listener(), listener("b", 8080))], w.classes, "/run/x")
    assert [o["kind"] for o in objs] == ["Deployment", "Service"]
    assert [p["port"] for p in objs[1]["spec"]["ports"]] == [80, 8080] and objs[1]["spec"]["type"] == "LoadBalancer"


# ----------------------------------------------------------------------------------------------- nginx maps

def _maps(conf: str) -> dict[str, tuple[str, list[tuple[str, str]], str]]:
    """variable -> (source, [(pattern, value)], default) for every map in the rendered conf."""
    out = {}
    for m in re.finditer(r"map (\"[^\"]*\"|\S+) (\$\w+) \{(.*?)\}\n", conf + "\n", re.S):
        source, var, body = m.group(1).strip('"'), m.group(2), m.group(3)
        entries, default = [], ""
        for line in re.split(r";\s*", body):
            line = line.strip()
            if not line:
                continue
            key, _, value = line.partition(" ")
            if key == "default":
                default = value
            else:
                entries.append((key.strip('"').replace("\\\\", "\\"), value.strip().strip('"')))
        out[var] = (source, entries, default)
    return out


def _eval(maps, text: str, request: dict) -> str:
    return re.sub(r"\$\{?(\w+)\}?", lambda m: _var(maps, "$" + m.group(1), request), text)


def _var(maps, var: str, request: dict) -> str:
    if var in maps:
        source, entries, default = maps[var]
        value = _eval(maps, source, request)
        for pattern, result in entries:
            found = re.search(pattern[1:].replace("(?<", "(?P<"), value) if pattern.startswith("~") else None
            if found or pattern == value:
                captured = {"$" + k: v or "" for k, v in (found.groupdict() if found else {}).items()}
                return _eval(maps, result, {**request, **captured})
        return _eval(maps, default.strip('"'), request)
    return request.get(var, "")


def dispatch(conf: str, path="/", host="app.example", method="GET", port="80", **extra) -> str:
    """The upstream (or gw_404/gw_500/gw_503) nginx picks for a request, as its maps say."""
    request = {"$uri": path, "$host": host, "$request_method": method, "$server_port": port, **extra}
    return _var(_maps(conf), "$gw_upstream", request)


def conf_for(*routes, listeners=None):
    w = world(gateway(*(listeners or [listener()])), *routes)
    conf, notes = render(w.plans["app/gw"], ENDPOINTS, "/run/netlab/x/gateways/app_gw")
    return conf


def test_precedence_exact_then_longest_prefix_then_method_headers_query():
    conf = conf_for(route("r", [
        {"matches": [{"path": {"type": "PathPrefix", "value": "/"}}], "backendRefs": to("a")},
        {"matches": [{"path": {"type": "PathPrefix", "value": "/shop"}}], "backendRefs": to("b")},
        {"matches": [{"path": {"type": "Exact", "value": "/shop/cart"}}], "backendRefs": [
            {"name": "c", "namespace": "other", "port": 80}]},
        {"matches": [{"path": {"type": "PathPrefix", "value": "/"}, "headers": [{"name": "X-V", "value": "2"}]}],
         "backendRefs": to("b")},
        {"matches": [{"path": {"type": "PathPrefix", "value": "/shop"}, "method": "POST"}], "backendRefs": to("a")},
    ]))
    assert dispatch(conf, "/") == "gw_app_a_80"
    assert dispatch(conf, "/shop/x") == "gw_app_b_80"
    assert dispatch(conf, "/shopping") == "gw_app_a_80", "PathPrefix matches whole path elements"
    assert dispatch(conf, "/shop/cart") == "gw_500", "Exact wins; its cross-namespace ref has no grant"
    assert dispatch(conf, "/", **{"$http_x_v": "2"}) == "gw_app_b_80"
    assert dispatch(conf, "/shop", method="POST") == "gw_app_a_80", "method beats no method on the same path"
    assert dispatch(conf, "/shop", **{"$http_x_v": "2"}) == "gw_app_b_80", "the longer prefix beats headers"


def test_oldest_route_wins_a_tie_and_hosts_are_separate():
    older = route("older", [{"backendRefs": to("a")}], created="2026-01-01T00:00:00Z")
    newer = route("newer", [{"backendRefs": to("b")}], created="2026-02-01T00:00:00Z")
    assert dispatch(conf_for(newer, older), "/x") == "gw_app_a_80"
    specific = route("specific", [{"backendRefs": to("b")}], hostnames=["shop.example"])
    wild = route("wild", [{"backendRefs": to("a")}], hostnames=["*.example"])
    conf = conf_for(wild, specific)
    assert dispatch(conf, "/", host="shop.example") == "gw_app_b_80"
    assert dispatch(conf, "/", host="blog.example") == "gw_app_a_80"
    assert dispatch(conf, "/", host="example") == "gw_404"


def test_listener_hostnames_pick_the_most_specific_listener():
    conf = conf_for(route("any", [{"backendRefs": to("a")}], parent={"name": "gw", "sectionName": "any"}),
                    route("shop", [{"backendRefs": to("b")}], parent={"name": "gw", "sectionName": "shop"}),
                    listeners=[listener("any"), listener("shop", hostname="*.shop.example")])
    assert dispatch(conf, "/", host="www.shop.example") == "gw_app_b_80"
    assert dispatch(conf, "/", host="www.blog.example") == "gw_app_a_80"


def test_weights_redirects_and_missing_endpoints():
    conf = conf_for(route("r", [
        {"matches": [{"path": {"type": "PathPrefix", "value": "/w"}}],
         "backendRefs": [{"name": "a", "port": 80, "weight": 1}, {"name": "b", "port": 80, "weight": 3},
                         {"name": "c", "port": 80, "weight": 0}]},
        {"matches": [{"path": {"type": "PathPrefix", "value": "/old"}}],
         "filters": [{"type": "RequestRedirect", "requestRedirect": {"scheme": "https", "port": 8443,
                                                                     "path": {"type": "ReplaceFullPath",
                                                                              "replaceFullPath": "/new"}}}]},
        {"matches": [{"path": {"type": "PathPrefix", "value": "/gone"}}], "backendRefs": [{"name": "a", "port": 81}]},
    ]))
    assert "split_clients" in conf and "25.00% gw_app_a_80;" in conf and "* gw_app_b_80;" in conf
    assert "gw_app_c" not in conf, "weight 0 takes no traffic"
    assert 'return 302 $gw_redirect_302;' in conf
    maps = _maps(conf)
    request = {"$uri": "/old/x", "$host": "app.example", "$request_method": "GET", "$server_port": "80"}
    assert _var(maps, "$gw_redirect_302", request) == "https://app.example:8443/new"
    assert dispatch(conf, "/gone") == "gw_503", "a Service port without ready endpoints answers 503"


def test_rewrites_and_header_modifiers():
    conf = conf_for(route("r", [
        {"matches": [{"path": {"type": "PathPrefix", "value": "/api/"}}],
         "filters": [{"type": "URLRewrite", "urlRewrite": {"hostname": "internal", "path": {
             "type": "ReplacePrefixMatch", "replacePrefixMatch": "/"}}},
                     {"type": "RequestHeaderModifier", "requestHeaderModifier": {
                         "set": [{"name": "X-Cost", "value": "$5\r\nX-Evil: 1"}], "remove": ["Cookie"]}}],
         "backendRefs": to("a")}]))
    maps = _maps(conf)
    request = {"$uri": "/api/v1/x", "$host": "app.example", "$request_method": "GET", "$server_port": "80"}
    assert _var(maps, "$gw_uri", request) == "/v1/x"
    assert _var(maps, "$gw_uri", {**request, "$uri": "/api"}) == "/"
    assert _var(maps, "$gw_h_host", request) == "internal"
    assert maps["$gw_h_x_cost"][1] == [("t0", "${gw_dollar}5X-Evil: 1")], \
        "a literal $ cannot start a variable, and CR/LF cannot split the header"
    assert _var(maps, "$gw_h_cookie", request) == ""
    assert "proxy_set_header cookie $gw_h_cookie;" in conf


@pytest.mark.skipif(shutil.which("nginx") is None, reason="nginx is not installed")
def test_rendered_configuration_is_accepted_by_nginx(tmp_path):
    w = world(gateway(listener(), listener("s", 80, "*.shop.example"), listener("t", 8080)), route("r", [
        {"matches": [{"path": {"type": "RegularExpression", "value": "/v[0-9]+/.*"},
                      "queryParams": [{"name": "q", "value": "a b"}]}], "backendRefs": to("a", "b")},
        {"filters": [{"type": "RequestRedirect", "requestRedirect": {"statusCode": 301}}]}]))
    conf, _ = render(w.plans["app/gw"], ENDPOINTS, str(tmp_path))
    assert_nginx_accepts(conf, tmp_path)


def assert_nginx_accepts(conf: str, tmp_path) -> None:
    """`nginx -t` on a configuration rendered for the directory tmp_path."""
    for sub in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (tmp_path / "tmp" / sub).mkdir(parents=True)
    (tmp_path / "nginx.conf").write_text(conf)
    proc = subprocess.run(["nginx", "-t", "-c", str(tmp_path / "nginx.conf"), "-p", str(tmp_path), "-e", "stderr"],
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr


# ----------------------------------------------------------------------------------------------- HTTPS

def _self_signed(host: str) -> tuple[str, str]:
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, host)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), critical=False)
            .sign(key, hashes.SHA256()))
    return (cert.public_bytes(serialization.Encoding.PEM).decode(),
            key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption()).decode())


def _tls_secret(name, ns, host="secure.example"):
    crt, key = _self_signed(host)
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, "namespace": ns},
            "stringData": {"tls.crt": crt, "tls.key": key}}


def https(name, secret, ns=None, hostname=None, port=443):
    ref = {"name": secret, **({"namespace": ns} if ns else {})}
    out = {"name": name, "port": port, "protocol": "HTTPS", "tls": {"mode": "Terminate", "certificateRefs": [ref]}}
    return {**out, "hostname": hostname} if hostname else out


def listener_status(w, name):
    from netlab.compile.gateway_attach import gateway_status

    status = gateway_status(w.plans["app/gw"], "172.18.255.200", True)
    li = next(li for li in status["listeners"] if li["name"] == name)
    return {c["type"]: (c["status"], c["reason"]) for c in li["conditions"]}


def test_https_listener_certificates_resolve_or_say_why():
    grant = obj("ReferenceGrant", "certs", {"from": [{"group": "gateway.networking.k8s.io", "kind": "Gateway",
                                                      "namespace": "app"}], "to": [{"group": "", "kind": "Secret"}]},
                ns="other", api="gateway.networking.k8s.io/v1beta1")
    gw = gateway(https("ok", "cert"), https("missing", "nope", port=8443), https("far", "cert", ns="other", port=9443))
    w = world(gw, _tls_secret("cert", "app"), _tls_secret("cert", "other"))
    assert listener_status(w, "ok")["ResolvedRefs"] == ("True", "ResolvedRefs")
    assert listener_status(w, "missing")["ResolvedRefs"] == ("False", "InvalidCertificateRef")
    assert listener_status(w, "missing")["Programmed"] == ("False", "Invalid")
    assert listener_status(w, "far")["ResolvedRefs"] == ("False", "RefNotPermitted")
    w = world(gw, _tls_secret("cert", "app"), _tls_secret("cert", "other"), grant)
    assert listener_status(w, "far")["ResolvedRefs"] == ("True", "ResolvedRefs")
    passthrough = gateway({"name": "p", "port": 443, "protocol": "HTTPS", "tls": {"mode": "Passthrough"}})
    assert listener_status(world(passthrough), "p")["Accepted"] == ("False", "UnsupportedProtocol")


@pytest.mark.skipif(shutil.which("nginx") is None, reason="nginx is not installed")
def test_https_servers_per_listener_hostname(tmp_path):
    from netlab.compile.gateway_desired import gateway_desired

    gw = gateway(listener(), https("a", "cert-a", hostname="a.example"), https("w", "cert-w", hostname="*.example"))
    objects = [gateway_class(), gw, _tls_secret("cert-a", "app", "a.example"),
               _tls_secret("cert-w", "app", "x.example"), route("r", [{"backendRefs": to("a")}])]
    desired = gateway_desired(objects, {}, str(tmp_path))
    directory, rendered = desired.configs["app/gw"]
    conf = rendered.nginx_conf
    assert "listen 443 ssl default_server;" in conf and "server_name a.example;" in conf
    assert "server_name *.example;" in conf and conf.count("listen 443 ssl") == 2
    assert sorted(p.rsplit("/", 1)[1] for p in rendered.files) == ["app_cert-a.crt", "app_cert-a.key",
                                                                   "app_cert-w.crt", "app_cert-w.key"]
    for path, content in rendered.files.items():
        (tmp_path / "app_gw" / "certs").mkdir(parents=True, exist_ok=True)
        open(path, "wb").write(content if isinstance(content, bytes) else content.encode())
    for sub in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (tmp_path / "app_gw" / "tmp" / sub).mkdir(parents=True)
    (tmp_path / "app_gw" / "nginx.conf").write_text(conf)
    proc = subprocess.run(["nginx", "-t", "-c", f"{directory}/nginx.conf", "-p", directory, "-e", "stderr"],
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr


def test_response_header_modifier():
    conf = conf_for(route("r", [{"filters": [{"type": "ResponseHeaderModifier", "responseHeaderModifier": {
        "set": [{"name": "X-Frame", "value": "deny"}], "add": [{"name": "Vary", "value": "X-V"}],
        "remove": ["Server"]}}], "backendRefs": to("a")}]))
    maps = _maps(conf)
    request = {"$uri": "/", "$host": "app.example", "$request_method": "GET", "$server_port": "80",
               "$upstream_http_vary": "Accept", "$upstream_http_server": "echo", "$upstream_http_x_frame": "allow"}
    assert _var(maps, "$gw_rh_x_frame", request) == "deny"
    assert _var(maps, "$gw_rh_vary", request) == "Accept,X-V"
    assert _var(maps, "$gw_rh_server", request) == ""
    assert _var(maps, "$gw_rh_server", {**request, "$server_port": "81"}) == "echo", "no target: passed through"
    assert "proxy_hide_header server;" in conf and "add_header server $gw_rh_server always;" in conf


def test_listeners_of_two_protocols_on_one_port_conflict():
    gw = gateway(listener("plain", 443), https("tls", "cert"), listener("other", 80))
    w = world(gw, _tls_secret("cert", "app"), route("r", [{"backendRefs": to("a")}]))
    assert listener_status(w, "plain")["Conflicted"] == ("True", "ProtocolConflict")
    assert listener_status(w, "tls")["Programmed"] == ("False", "Invalid")
    assert listener_status(w, "other")["Conflicted"] == ("False", "NoConflicts")
    assert w.plans["app/gw"].attached == {"other": 1}
    conf, _ = render(w.plans["app/gw"], ENDPOINTS, "/x")
    assert "listen 443" not in conf and "listen 80;" in conf


def test_gateway_nginx_listens_on_ipv6_too_in_a_cluster_with_ipv6(tmp_path):
    """IPv6 (issue 16): every listen is repeated for [::]; the status lists the Service's address of each
    family; an IPv4 cluster's configuration has no [::]."""
    from netlab.compile.gateway_attach import gateway_status
    from netlab.compile.gateway_desired import gateway_desired

    gw = gateway(listener(), https("a", "cert-a", hostname="a.example"))
    objects = [gateway_class(), gw, _tls_secret("cert-a", "app", "a.example"), route("r", [{"backendRefs": to("a")}])]
    six = gateway_desired(objects, {}, str(tmp_path), ipv6=True).configs["app/gw"][1].nginx_conf
    four = gateway_desired(objects, {}, str(tmp_path)).configs["app/gw"][1].nginx_conf
    assert "listen [::]:80;" in six and "listen [::]:443 ssl default_server;" in six
    assert six.count("listen [::]:") == six.count("listen ") // 2 and "[::]" not in four
    status = gateway_status(world(gw).plans["app/gw"], "172.18.255.200", True, ("fc00:f853:ccd:e793::255:200",))
    assert [a["value"] for a in status["addresses"]] == ["172.18.255.200", "fc00:f853:ccd:e793::255:200"]
