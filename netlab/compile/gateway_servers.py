"""The nginx server heads of a Gateway's listeners (listen, server_name, certificates). Pure."""

from __future__ import annotations

from collections.abc import Mapping

from netlab.compile.gateway_attach import GatewayPlan
from netlab.compile.nginx import quote


def server_heads(plan: GatewayPlan, certs: Mapping[str, tuple[str, str]], http2: set[int],
                 ipv6: bool = False) -> list[list[str]]:
    """The `listen`/`server_name` (and certificate) lines of each server: one per HTTP port; one per HTTPS
    listener with a usable certificate, so that nginx's master loads every certificate and SNI picks the
    listener's (nginx's `*.` server names match one or more labels, as the Gateway API's do). The
    routing is the same in all of them (the maps above). A port in `http2` (it has a GRPCRoute) speaks
    HTTP/2: with TLS alongside HTTP/1.1 (ALPN), in plain text only HTTP/2 (nginx 1.22 cannot tell the two
    apart on one plain port), as gRPC clients speak it. With `ipv6` (the cluster has IPv6) every `listen`
    is repeated for `[::]`."""
    heads = [[f"    listen {port}{' http2' if port in http2 else ''};", "    server_name _;"]
             for port in sorted({li.port for li in plan.listeners if li.protocol == "HTTP" and li.supported})]
    for port in sorted({li.port for li in plan.listeners if li.protocol == "HTTPS" and li.name in certs}):
        on_port = [li for li in plan.listeners if li.port == port and li.name in certs]
        default = next((li for li in on_port if li.hostname is None), on_port[0])
        for li in on_port:
            crt, key = certs[li.name]
            heads.append([f"    listen {port} ssl{' http2' if port in http2 else ''}"
                          f"{' default_server' if li is default else ''};",
                          f"    server_name {li.hostname or '_'};",
                          f"    ssl_certificate {quote(crt)};", f"    ssl_certificate_key {quote(key)};"])
    if ipv6:
        heads = [[line for head_line in head for line in
                  ((head_line, head_line.replace("listen ", "listen [::]:", 1)) if head_line.startswith("    listen ")
                   else (head_line,))] for head in heads]
    return heads
