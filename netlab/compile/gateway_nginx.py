"""nginx.conf for one Gateway's proxy pods, rendered from its plan (netlab.compile.gateway_attach). Pure.

How a request is routed, the Gateway API's way, with stock nginx (no njs, no Lua):
- Each condition a route match uses (a path, a header, a query parameter, the method, a route
  hostname) is a `map` from the request variable to `1`/`0` (`$gw_cN`). The listener that takes the
  request is a `map` of `$host` per port (exact hostnames before wildcards, the longest suffix first).
- One `map` per port over the string "<listener>:<every condition's bit>" has a regex per route match,
  in the specification's precedence order: the most specific hostname, Exact path, the longest
  PathPrefix, method, most header matches, most query matches, then the oldest route, its name, the
  rule's and the match's order. nginx takes the first regex that matches, so the first match in that
  order wins; its value names a target (one route rule on one listener), or "" (404).
- Everything a target does is a `map` of `$gw_target`: the upstream (a `split_clients` by weight for
  several backendRefs; 500 for a backendRef that does not resolve, 503 for one without ready
  endpoints), RequestRedirect's Location, URLRewrite's path and Host, RequestHeaderModifier's headers.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from netlab.compile.gateway_attach import Attachment, BackendRef, GatewayPlan
from netlab.compile.gateway_order import ordered
from netlab.compile.gateway_servers import server_heads
from netlab.compile.gateway_timeouts import nginx_timeouts
from netlab.compile.nginx import quote, regex_escape

CONF_NAME = "nginx.conf"
MAX_TIMEOUT_SETTINGS = 40  # named locations reached by error_page statuses 560-599
_VAR_SAFE = re.compile(r"^[A-Za-z0-9_-]+$")
WELL_KNOWN = {("http", 80), ("https", 443)}
FORWARDED = {"x-forwarded-for": "$proxy_add_x_forwarded_for", "x-forwarded-proto": "$scheme",
             "x-forwarded-host": "$gw_req_host"}


def _value(text: str) -> str:
    """A user's literal as an nginx string: `$` cannot be escaped, so it comes from a variable; control
    characters (a CR/LF would split a header) are dropped."""
    text = "".join(c for c in str(text) if c.isprintable())
    return quote(text.replace("$", "${gw_dollar}"))


def _var(name: str) -> str:
    return name.lower().replace("-", "_")


@dataclass
class _Conditions:
    """The distinct conditions, each a map to 1/0, and their positions in the route key."""
    items: dict[tuple[str, str], int] = field(default_factory=dict)

    def add(self, variable: str, regex: str) -> int:
        return self.items.setdefault((variable, regex), len(self.items))

    def maps(self) -> list[str]:
        return [f"map {variable} $gw_c{i} {{ {quote('~' + regex)} 1; default 0; }}"
                for (variable, regex), i in sorted(self.items.items(), key=lambda kv: kv[1])]

    def key(self) -> str:
        return "".join(f"$gw_c{i}" for i in range(len(self.items)))


def _host_regex(host: str) -> str:
    if host.startswith("*."):
        return "^.+" + regex_escape(host[1:]) + "$"
    return "^" + regex_escape(host) + "$"


def _path_regex(kind: str, value: str) -> str | None:
    if kind == "Exact":
        return "^" + regex_escape(value) + "$"
    if kind == "RegularExpression":
        return f"^(?:{value})$"
    base = value.rstrip("/")
    return None if not base else "^" + regex_escape(base) + "(/.*)?$"


def _match_conditions(match: Mapping, host: str | None, conds: _Conditions, notes: list[str], where: str
                      ) -> list[int] | None:
    """The condition positions a match needs (None: it can never match here)."""
    positions = []
    if host is not None:
        positions.append(conds.add("$host", _host_regex(host)))
    path = match.get("path") or {}
    regex = _path_regex(path.get("type", "PathPrefix"), path.get("value", "/"))
    if regex is not None:
        positions.append(conds.add("$uri", regex))
    if match.get("method"):
        positions.append(conds.add("$request_method", f"^{match['method']}$"))
    for what, prefix in (("headers", "$http_"), ("queryParams", "$arg_")):
        for item in match.get(what) or []:
            name = item["name"]
            if not _VAR_SAFE.match(name) or (what == "queryParams" and "-" in name):
                notes.append(f"{where}: {what} name {name!r} cannot be matched by nginx, the match never applies")
                return None
            value_re = item["value"] if item.get("type") == "RegularExpression" else regex_escape(item["value"])
            positions.append(conds.add(prefix + _var(name), f"^(?:{value_re})$"))
    return positions


def _positional(positions: list[int]) -> str:
    out, at = "", 0
    for p in sorted(set(positions)):
        out += (f".{{{p - at}}}" if p > at else "") + "1"
        at = p + 1
    return out


def upstream_name(ref: BackendRef) -> str:
    return f"gw_{ref.namespace}_{ref.name}_{ref.port}"


class _Renderer:
    def __init__(self, plan: GatewayPlan, endpoints: Mapping[tuple[str, str, int], tuple[tuple[str, int], ...]]):
        self.plan = plan
        self.endpoints = endpoints
        self.listeners = {li.name: li for li in plan.listeners}
        self.conds = _Conditions()
        self.notes: list[str] = []
        self.upstreams: dict[str, tuple[tuple[str, int], ...]] = {}
        self.http: list[str] = []  # maps and split_clients per target
        self.target_maps: dict[str, dict[str, str]] = {}  # variable -> {target: value}
        self.mirrors = 0  # the most RequestMirror filters of one rule: one `mirror` per position
        self.timeouts: dict[tuple, int] = {}  # distinct nginx timeout settings -> their named location's index
        self.grpc_listeners: set[str] = set()  # listeners with a GRPCRoute: their ports speak HTTP/2

    def _set(self, variable: str, target: str, value: str) -> None:
        self.target_maps.setdefault(variable, {})[target] = value

    def _backend_value(self, ref: BackendRef) -> str:
        if ref.problem:
            return "gw_500"
        eps = self.endpoints.get((ref.namespace, ref.name, ref.port), ())
        if not eps:
            return "gw_503"
        name = upstream_name(ref)
        self.upstreams[name] = eps
        return name

    def _upstream(self, target: str, backends: tuple[BackendRef, ...]) -> str:
        live = [b for b in backends if b.weight > 0]
        if not live:
            return "gw_500"
        if len(live) == 1:
            return self._backend_value(live[0])
        total = sum(b.weight for b in live)
        lines, acc = [f'split_clients "${{request_id}}" $gw_split_{target} {{'], 0.0
        for b in live[:-1]:
            share = round(100.0 * b.weight / total, 2)
            acc += share
            if share > 0:
                lines.append(f"    {share:.2f}% {self._backend_value(b)};")
        lines += [f"    * {self._backend_value(live[-1])};", "}"]
        self.http += lines
        return f"$gw_split_{target}"

    def _prefix_rewrite(self, target: str, att: Attachment, replacement: str) -> str:
        """The new path+query for ReplacePrefixMatch: the matched prefix replaced, the rest kept."""
        prefix = ((att.matches[0].get("path") or {}).get("value") or "/").rstrip("/") if att.matches else ""
        base = replacement.rstrip("/")
        args = "$is_args$args"
        self.http += [f"map $uri $gw_prefix_{target} {{",
                      f"    {quote('~^' + regex_escape(prefix) + '/?$')} {_value(base or '/')[:-1]}{args}\";",
                      f"    {quote('~^' + regex_escape(prefix) + '(?<gw_rest_' + target + '>/.*)$')} "
                      f"{_value(base)[:-1]}$gw_rest_{target}{args}\";",
                      "    default $request_uri;", "}"]
        return f"$gw_prefix_{target}"

    def _path(self, target: str, att: Attachment, modifier: Mapping | None) -> str | None:
        if not modifier:
            return None
        if modifier.get("type") == "ReplaceFullPath":
            return _value(modifier.get("replaceFullPath") or "/")[:-1] + '$is_args$args"'
        return self._prefix_rewrite(target, att, modifier.get("replacePrefixMatch") or "/")

    def _redirect(self, target: str, att: Attachment, f: Mapping) -> None:
        listener = self.listeners[att.listener]
        own = "https" if listener.protocol == "HTTPS" else "http"
        scheme = f.get("scheme") or own
        port = f.get("port") or ((443 if scheme == "https" else 80) if f.get("scheme") else listener.port)
        host = _value(f["hostname"])[1:-1] if f.get("hostname") else "$host"
        path = self._path(target, att, f.get("path")) or "$request_uri"
        port_text = "" if (scheme, port) in WELL_KNOWN else f":{port}"
        location = f'"{scheme}://{host}{port_text}' + (path[1:] if path.startswith('"') else path + '"')
        self._set(f"$gw_redirect_{f.get('statusCode', 302)}", target, location)

    def _headers(self, target: str, f: Mapping, response: bool = False) -> None:
        """RequestHeaderModifier (the `$gw_h_*` headers sent upstream, from `$http_*`) or
        ResponseHeaderModifier (the `$gw_rh_*` headers sent back, from `$upstream_http_*`)."""
        mine, source, adds = ("$gw_rh_", "$upstream_http_", "$gw_rhadd_") if response else \
            ("$gw_h_", "$http_", "$gw_hadd_")
        for h in f.get("set") or []:
            self._set(f"{mine}{_var(h['name'])}", target, _value(h["value"]))
        for h in f.get("add") or []:
            var, add = _var(h["name"]), f"{adds}{target}_{_var(h['name'])}"
            self.http.append(f"map {source}{var} {add} {{ \"\" {_value(h['value'])}; "
                             f"default \"{source}{var},{_value(h['value'])[1:-1]}\"; }}")
            self._set(f"{mine}{var}", target, add)
        for name in f.get("remove") or []:
            self._set(f"{mine}{_var(name)}", target, '""')

    def target(self, target: str, att: Attachment) -> None:
        redirect = next((f for f in att.filters if f.get("type") == "RequestRedirect"), None)
        if redirect is not None:
            self._redirect(target, att, redirect["requestRedirect"])
            self._set("$gw_upstream", target, "gw_redirect")
            return
        self._set("$gw_upstream", target, self._upstream(target, att.backends))
        if att.grpc:
            self._set("$gw_grpc", target, "1")
            self.grpc_listeners.add(att.listener)
        self._mirrors(target, att)
        settings = nginx_timeouts(att.timeouts)
        if settings and settings not in self.timeouts and len(self.timeouts) >= MAX_TIMEOUT_SETTINGS:
            self.notes.append(f"{att.route}: rule {att.rule}: more than {MAX_TIMEOUT_SETTINGS} different timeouts "
                              "on one Gateway, this rule's are ignored")
        elif settings:
            self._set("$gw_timeout", target, str(self.timeouts.setdefault(settings, len(self.timeouts))))
        for f in att.filters:
            kind = f.get("type")
            if kind == "RequestHeaderModifier":
                self._headers(target, f["requestHeaderModifier"])
            elif kind == "ResponseHeaderModifier":
                self._headers(target, f["responseHeaderModifier"], response=True)
            elif kind == "URLRewrite":
                rewrite = f["urlRewrite"]
                if rewrite.get("hostname"):
                    self._set("$gw_h_host", target, _value(rewrite["hostname"]))
                path = self._path(target, att, rewrite.get("path"))
                if path:
                    self._set("$gw_uri", target, path)
            elif kind != "RequestMirror":  # mirrors: above
                self.notes.append(f"{att.route}: rule {att.rule}: filter {kind} is not supported by netlab yet, "
                                  "ignored")

    def _mirrors(self, target: str, att: Attachment) -> None:
        """`$gw_mirrorK`: the upstream the K-th RequestMirror copies this target's requests to ("" none: a
        backend that does not resolve or has no ready endpoints gets no copies); a percent below 100 is a
        split_clients on a key of its own, independent of the backendRefs' split."""
        if att.grpc and att.mirrors:
            self.notes.append(f"{att.route}: rule {att.rule}: RequestMirror on a GRPCRoute is not supported by "
                              "netlab yet, ignored")
            return
        for k, mirror in enumerate(att.mirrors):
            self.mirrors = max(self.mirrors, k + 1)
            ref = mirror.backend
            eps = self.endpoints.get((ref.namespace, ref.name, ref.port), ())
            if ref.problem or not eps or mirror.percent <= 0:
                continue
            name = upstream_name(ref)
            self.upstreams[name] = eps
            if mirror.percent < 100:
                self.http += [f'split_clients "${{request_id}}mirror{k}" $gw_msplit_{target}_{k} {{',
                              f"    {mirror.percent:.2f}% {name};", '    * "";', "}"]
                name = f"$gw_msplit_{target}_{k}"
            self._set(f"$gw_mirror{k}", target, name)

    def route_maps(self) -> list[str]:
        for n, att in enumerate(self.plan.attachments):
            self.target(f"t{n}", att)
        entries = []  # in precedence order
        for n, att, _m, match, host in ordered(self.plan):
            positions = _match_conditions(match, host, self.conds, self.notes, f"{att.route} rule {att.rule}")
            if positions is not None:
                entries.append((att.listener, positions, f"t{n}"))
        lines = []
        for port in sorted({li.port for li in self.plan.listeners}):
            on_port = [li for li in self.plan.listeners if li.port == port]
            lines += self._listener_map(port, on_port)
            lines.append(f'map "$gw_l{port}:{self.conds.key()}" $gw_r{port} {{')
            for li_name, positions, target in (e for e in entries if e[0] in {li.name for li in on_port}):
                lines.append(f"    {quote('~^' + li_name + ':' + _positional(positions))} {target};")
            lines += ['    default "";', "}"]
        lines.append("map $server_port $gw_target {")
        lines += [f"    {port} $gw_r{port};" for port in sorted({li.port for li in self.plan.listeners})]
        lines += ['    default "";', "}"]
        return lines

    @staticmethod
    def _listener_map(port: int, listeners: list) -> list[str]:
        exact = sorted((li for li in listeners if li.hostname and not li.hostname.startswith("*.")),
                       key=lambda li: li.hostname)
        wild = sorted((li for li in listeners if li.hostname and li.hostname.startswith("*.")),
                      key=lambda li: -len(li.hostname))
        catch = next((li.name for li in listeners if li.hostname is None), "-")
        lines = [f"map $host $gw_l{port} {{"]
        lines += [f"    {quote('~' + _host_regex(li.hostname))} {li.name};" for li in exact + wild]
        lines += [f"    default {quote(catch)};", "}"]
        return lines

    def target_map_lines(self) -> list[str]:
        defaults = {"$gw_upstream": "gw_404", "$gw_uri": "$request_uri", "$gw_redirect_301": '""',
                    "$gw_redirect_302": '""', "$gw_h_host": "$gw_req_host",
                    **{f"$gw_mirror{k}": '""' for k in range(self.mirrors)},
                    **({"$gw_timeout": '""'} if self.timeouts else {}),
                    **({"$gw_grpc": '""'} if self.grpc_listeners else {})}
        out = []
        for variable in sorted(set(self.target_maps) | set(defaults)):
            header = variable[len("$gw_h_"):] if variable.startswith("$gw_h_") else None
            default = defaults.get(variable) or FORWARDED.get((header or "").replace("_", "-")) or (
                f"$http_{header}" if header else f"$upstream_http_{variable[len('$gw_rh_'):]}")
            out.append(f"map $gw_target {variable} {{")
            out += [f"    {t} {v};" for t, v in sorted(self.target_maps.get(variable, {}).items())]
            out += [f"    default {default};", "}"]
        return out

    def proxy_headers(self) -> list[str]:
        names = {v[len("$gw_h_"):] for v in self.target_maps if v.startswith("$gw_h_")} | {"host"}
        names |= {_var(h) for h in FORWARDED}
        lines = [f"proxy_set_header {n.replace('_', '-')} $gw_h_{n};" for n in sorted(names)]
        for n in sorted(v[len("$gw_rh_"):] for v in self.target_maps if v.startswith("$gw_rh_")):
            # the upstream's header is hidden and sent again from the map (unchanged where no filter says)
            name = n.replace("_", "-")
            lines += [f"proxy_hide_header {name};", f"add_header {name} $gw_rh_{n} always;"]
        return lines


def _location(r: _Renderer, timeouts: tuple | None) -> list[str]:
    """The routing location's body: `location /` (timeouts None), which hands a target with `timeouts` to
    its named location (error_page on a status of netlab's own, 560 + index), or that named location."""
    lines = [f"set $gw_m{k} $gw_mirror{k};" for k in range(r.mirrors)]  # kept for the mirror subrequests
    lines += [f"mirror /_gw_mirror{k};" for k in range(r.mirrors)]
    lines += [
        'if ($gw_upstream = gw_404) { return 404 "no route matches\\n"; }',
        "if ($gw_redirect_301) { return 301 $gw_redirect_301; }",
        "if ($gw_redirect_302) { return 302 $gw_redirect_302; }",
        'if ($gw_upstream = gw_500) { return 500 "backend not resolved\\n"; }',
        'if ($gw_upstream = gw_503) { return 503 "no ready endpoints\\n"; }',
    ]
    if timeouts is None and r.grpc_listeners:
        lines += ["error_page 559 = @gw_grpc;", "if ($gw_grpc) { return 559; }"]
    if timeouts is None:
        for i in sorted(r.timeouts.values()):
            lines += [f"error_page {560 + i} = @gw_timeout_{i};", f'if ($gw_timeout = "{i}") {{ return {560 + i}; }}']
    lines += [f"{name} {value};" for name, value in timeouts or ()]
    return [*lines, *r.proxy_headers(), 'proxy_set_header Connection "";', "proxy_pass http://$gw_upstream$gw_uri;"]


def render(plan: GatewayPlan, endpoints: Mapping[tuple[str, str, int], tuple[tuple[str, int], ...]],
           run_dir: str, certs: Mapping[str, tuple[str, str]] | None = None,
           ipv6: bool = False) -> tuple[str, list[str]]:
    """(nginx.conf, notes) for one Gateway; `endpoints`: (ns, service, port) -> ready (pod IP, port);
    `certs`: HTTPS listener -> (certificate file, key file); `ipv6`: listen on IPv6 too."""
    r = _Renderer(plan, endpoints)
    routes = r.route_maps()
    for name in FORWARDED:  # the forwarded headers always have their own map (defaults above)
        r.target_maps.setdefault(f"$gw_h_{_var(name)}", {})
    targets = r.target_map_lines()
    tmp = f"{run_dir}/tmp"
    http = [
        f"client_body_temp_path {quote(tmp + '/client_body')};", f"proxy_temp_path {quote(tmp + '/proxy')};",
        f"fastcgi_temp_path {quote(tmp + '/fastcgi')};", f"uwsgi_temp_path {quote(tmp + '/uwsgi')};",
        f"scgi_temp_path {quote(tmp + '/scgi')};",
        f"access_log {quote(run_dir + '/access.log')};", "default_type text/plain;", "server_tokens off;",
        "keepalive_timeout 75s;", "variables_hash_max_size 4096;", "map_hash_bucket_size 128;",
        'geo $gw_dollar { default "$"; }',
        "map $http_host $gw_req_host { default $http_host; '' $host; }",
        "proxy_http_version 1.1;", "proxy_connect_timeout 5s;", "proxy_read_timeout 60s;",
        "proxy_next_upstream error timeout;", "proxy_redirect off;",
        "ssl_protocols TLSv1.2 TLSv1.3;", "ssl_session_cache shared:SSL:1m;",
        *r.conds.maps(), *routes, *r.http, *targets,
    ]
    for name in sorted(r.upstreams):
        http.append(f"upstream {name} {{")
        http += [f"    server {'[' + ip + ']' if ':' in ip else ip}:{port};" for ip, port in sorted(r.upstreams[name])]
        http += ["    keepalive 16;", "}"]
    grpc_ports = {li.port for li in plan.listeners if li.name in r.grpc_listeners}
    for head in server_heads(plan, certs or {}, grpc_ports, ipv6):
        http += ["server {", *head, "    location / {"]
        http += [f"        {line}" for line in _location(r, None)] + ["    }"]
        for settings, i in sorted(r.timeouts.items(), key=lambda kv: kv[1]):
            http += [f"    location @gw_timeout_{i} {{"]
            http += [f"        {line}" for line in _location(r, settings)] + ["    }"]
        if r.grpc_listeners:
            http += ["    location @gw_grpc {"]
            http += [f"        {line.replace('proxy_', 'grpc_')}" for line in r.proxy_headers()]
            http += ["        grpc_pass grpc://$gw_upstream;", "    }"]
        for k in range(r.mirrors):
            http += [f"    location = /_gw_mirror{k} {{", "        internal;",
                     f'        if ($gw_m{k} = "") {{ return 204; }}',
                     "        proxy_set_header Host $gw_req_host;", '        proxy_set_header Connection "";',
                     f"        proxy_pass http://$gw_m{k}$request_uri;", "    }"]
        http.append("}")
    head = [f"# Generated by netlab for Gateway {plan.key} (netlab.compile.gateway_nginx); do not edit.",
            "daemon off;", "worker_processes 1;", f"pid {quote(run_dir + '/nginx.pid')};",
            f"error_log {quote(run_dir + '/error.log')} notice;", "worker_shutdown_timeout 60s;", "events {}", "",
            "http {"]
    return "\n".join(head + [f"    {line}" if line else "" for line in http] + ["}", ""]), r.notes
