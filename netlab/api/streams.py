"""Routing of the streaming subresources: pods' log, exec, attach, portforward and proxy, services' proxy.

The server asks `route(path)` first; a match is served here (netlab.api.logs, execstream, attach,
portforward, proxy), everything else by the server's verb handlers.
"""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from netlab.api import attach, execstream, logs, portforward, proxy
from netlab.api.errors import ApiError

POD_STREAMS = {"log": ("GET",), "exec": ("GET", "POST"), "attach": ("GET", "POST"),
               "portforward": ("GET", "POST")}


@dataclass(frozen=True)
class Route:
    resource: str     # "pods" | "services"
    namespace: str
    name: str         # for proxy: "[scheme:]name[:port]"
    sub: str          # "log" | "exec" | "attach" | "portforward" | "proxy"
    rest: str = ""    # the path after .../proxy


def route(path: str) -> Route | None:
    """The streaming subresource a path names, or None (pure)."""
    parts = path.split("/")
    # "", "api", "v1", "namespaces", ns, resource, name, sub, rest...
    if len(parts) < 8 or parts[1:4] != ["api", "v1", "namespaces"] or parts[5] not in ("pods", "services"):
        return None
    ns, resource, name, sub = parts[4], parts[5], parts[6], parts[7]
    if not ns or not name:
        return None
    if sub == "proxy":
        return Route(resource, ns, name, sub, "/".join(parts[8:]))
    if resource == "pods" and sub in POD_STREAMS and len(parts) == 8:
        return Route(resource, ns, name, sub)
    return None


async def serve(request: web.Request, api, r: Route) -> web.StreamResponse:
    if r.sub == "proxy":
        return await proxy.handle_proxy(request, api, r.resource, r.namespace, r.name, r.rest)
    if request.method not in POD_STREAMS[r.sub]:
        raise ApiError(405, "MethodNotAllowed", f"{request.method} is not supported on pods/{r.sub}")
    handler = {"log": logs.handle_log, "exec": execstream.handle_exec, "attach": attach.handle_attach,
               "portforward": portforward.handle_portforward}[r.sub]
    return await handler(request, api, r.namespace, r.name)
