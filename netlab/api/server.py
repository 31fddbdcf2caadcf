"""The controller's Kubernetes API over HTTPS (aiohttp), with client certificates signed by the cluster CA.

Paths and JSON follow the Kubernetes API (`/api/v1/namespaces/{ns}/pods`, List kinds, discovery, Status
errors); `POST /apis/netlab.dev/v1alpha1/apply` takes a batch of objects, validated as a whole.

The event loop runs in a thread of the controller process. The controller's state is guarded by its own
lock, so every call into it runs in a worker thread (asyncio.to_thread): a slow call delays only its own
client. A handler per verb (HANDLERS) and a pure path parser keep routing open for more verbs.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import errno
import json
import logging
import socket
import ssl
import threading
from collections.abc import Awaitable, Callable

from aiohttp import web

from netlab.api import dataplane_view, discovery, logtimes, openapi_routes, reads, streams, watch_stream, writes
from netlab.api.backend import Backend
from netlab.api.errors import ApiError
from netlab.api.paths import parse_path, strip_legacy_watch
from netlab.api.pki import Pki
from netlab.api.request import parse_apply_body, validated_objects
from netlab.api.resources import ADDONS_PATH, APPLY_PATH, DATAPLANE_PATH
from netlab.compile import serviceaccount

log = logging.getLogger("netlab.api")

#: Kubernetes' API server limit for a request body (MaxRequestBodyBytes): twice etcd's 1.5 MiB object
#: limit, for the JSON encoding's overhead.
MAX_REQUEST_BODY = 3 * 1024 * 1024
#: Seconds a connection may sit without a complete request (idle keep-alive, or a request head or body
#: that stopped arriving), and that a TLS handshake may take.
READ_TIMEOUT = 10.0
#: Open connections beyond this get a 429 Status (as kube-apiserver's max-in-flight limit answers).
MAX_CONNECTIONS = 512
LISTEN_BACKLOG = 1024
WORKER_THREADS = 16
HEALTH_PATHS = ("/healthz", "/livez", "/readyz")
PORT_SEARCH = 100   # ports tried after the first when the default one is taken

__all__ = ["ApiServer", "parse_path", "MAX_REQUEST_BODY", "READ_TIMEOUT"]

Handler = Callable[[web.Request, "ApiServer"], Awaitable[web.StreamResponse]]


def _json(code: int, body: dict) -> web.Response:
    return web.json_response(body, status=code, dumps=json.dumps)


def _unauthorized() -> ApiError:
    return ApiError(401, "Unauthorized", "Unauthorized")


def server_ssl_context(pki: Pki) -> ssl.SSLContext:
    """TLS with an optional client certificate: a request without one is answered 401 by the server, as
    kube-apiserver does. (A certificate the CA did not sign fails the handshake: Python's ssl cannot ask
    for a certificate without verifying it.)"""
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(pki.server_cert, pki.server_key)
    ctx.load_verify_locations(cafile=str(pki.ca_cert))
    ctx.verify_mode = ssl.CERT_OPTIONAL
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx


def bind(address: str, port: int, search: int = 0) -> socket.socket:
    """A TCP socket bound to address:port, or to the next free port within `search` ports after it."""
    for candidate in range(port, port + search + 1):
        sock = socket.socket(socket.AF_INET6 if ":" in address else socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((address, candidate))
            return sock
        except OSError as e:
            sock.close()
            if e.errno != errno.EADDRINUSE or candidate == port + search:
                raise
    raise AssertionError("unreachable")


@web.middleware
async def _statuses(request: web.Request, handler) -> web.StreamResponse:
    """Every error as a Kubernetes Status: ours, aiohttp's (413, 404 ...) and unexpected ones (500)."""
    try:
        return await handler(request)
    except ApiError as e:
        return _json(e.code, e.status())
    except web.HTTPException as e:
        reason = {413: "RequestEntityTooLarge", 404: "NotFound", 405: "MethodNotAllowed"}.get(e.status, e.reason)
        message = (f"the request body is larger than the limit of {MAX_REQUEST_BODY} bytes" if e.status == 413
                   else e.text or e.reason)
        return _json(e.status, ApiError(e.status, reason.replace(" ", ""), message).status())
    except Exception as e:
        log.exception("API request failed")
        return _json(500, ApiError(500, "InternalError", f"internal error: {e}").status())


SA_KEY = web.AppKey("sa_key", bytes)


@web.middleware
async def _authenticate(request: web.Request, handler) -> web.StreamResponse:
    """The client certificate (verified by the TLS layer) is the user, or a pod's service account token
    (`Authorization: Bearer`, see netlab.compile.serviceaccount); neither, no access."""
    transport = request.transport
    if transport is None:
        raise _unauthorized()
    if not transport.get_extra_info("peercert"):
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        key = request.app.get(SA_KEY)
        if scheme.lower() != "bearer" or not key or serviceaccount.verify(key, token.strip()) is None:
            raise _unauthorized()
    return await handler(request)


class ApiServer:
    """The HTTPS API of one controller, served from its own thread."""

    def __init__(self, controller: Backend, pki: Pki, *, read_timeout: float = READ_TIMEOUT,
                 max_connections: int = MAX_CONNECTIONS) -> None:
        self.controller, self.pki = controller, pki
        self.read_timeout, self.max_connections = read_timeout, max_connections
        self.address = ""
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._loop.set_default_executor(concurrent.futures.ThreadPoolExecutor(WORKER_THREADS, "netlab-api"))
        self._thread = threading.Thread(target=self._loop.run_forever, name="netlab-api", daemon=True)
        self._runner: web.AppRunner | None = None
        self._servers: list[asyncio.AbstractServer] = []
        self._ssl = server_ssl_context(pki)
        self.log_times = logtimes.LogTimes()   # when each stretch of each container log was written
        self._log_watch: asyncio.Future | None = None
        self.ready = threading.Event()   # until set, requests get 503 (the controller is still starting)
        self.stopping = asyncio.Event()  # set on stop: open watches end (on the loop's thread only)

    # ----- life cycle (called from the controller's thread) ---------------------------------------
    def start(self, address: str, port: int, search: int = 0, ready: bool = True) -> int:
        """Serve on address:port (or the next free port within `search`); returns the port. With
        ready=False requests get 503 until `self.ready` is set."""
        if ready:
            self.ready.set()
        self._thread.start()
        self._call(self._setup())
        sock = bind(address, port, search)
        self.address, self.port = address, sock.getsockname()[1]
        self._call(self._listen(sock))
        return self.port

    def listen_also(self, address: str) -> bool:
        """Also serve on address (the host's underlay address, for pods) at the same port."""
        try:
            self._call(self._listen(bind(address, self.port)))
            return True
        except OSError as e:
            log.warning("API not served on %s:%d: %s", address, self.port, e)
            return False

    def stop(self) -> None:
        if self._thread.is_alive():
            self._call(self._shutdown())
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(5)

    def _call(self, coro):
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(30)

    async def _setup(self) -> None:
        app = web.Application(middlewares=[_statuses, self._bounded, _authenticate],
                              client_max_size=MAX_REQUEST_BODY)
        if self.pki.sa_key.exists():
            app[SA_KEY] = self.pki.sa_key.read_bytes()
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None,
                                     keepalive_timeout=self.read_timeout)
        await self._runner.setup()
        self._log_watch = asyncio.ensure_future(logtimes.watch(self, self.log_times))   # for logs --timestamps

    async def _listen(self, sock: socket.socket) -> None:
        assert self._runner is not None and self._runner.server is not None
        server = await self._loop.create_server(self._runner.server, sock=sock, ssl=self._ssl,
                                                backlog=LISTEN_BACKLOG, ssl_handshake_timeout=self.read_timeout)
        self._servers.append(server)

    async def _shutdown(self) -> None:
        self.stopping.set()
        if self._log_watch is not None:
            self._log_watch.cancel()
        for server in self._servers:
            server.close()
        if self._runner is not None:
            await self._runner.cleanup()

    # ----- requests ------------------------------------------------------------------------------
    @web.middleware
    async def _bounded(self, request: web.Request, handler) -> web.StreamResponse:
        if not self.ready.is_set():
            response = _json(503, ApiError(503, "ServiceUnavailable", "the controller is starting, "
                                           "please try again later").status())
            response.headers["Retry-After"] = "1"
            return response
        server = self._runner.server if self._runner else None
        if server is not None and len(server.connections) > self.max_connections:
            response = _json(429, ApiError(429, "TooManyRequests", f"too many connections (limit "
                                           f"{self.max_connections}), please try again later").status())
            response.headers["Retry-After"] = "1"
            response.force_close()
            return response
        return await handler(request)

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        stream = streams.route(request.path)   # log, exec, attach, portforward, proxy: netlab.api.streams
        if stream is not None:
            return await streams.serve(request, self, stream)
        handler = HANDLERS.get(request.method)
        if handler is None:
            raise ApiError(405, "MethodNotAllowed", f"{request.method} is not supported on {request.path}")
        return await handler(request, self)

    async def body(self, request: web.Request) -> bytes:
        """The request body within MAX_REQUEST_BODY (413 before reading when Content-Length says more), read
        within the read timeout."""
        if (request.content_length or 0) > MAX_REQUEST_BODY:
            raise ApiError(413, "RequestEntityTooLarge", f"the request body is {request.content_length} bytes; "
                           f"the limit is {MAX_REQUEST_BODY} bytes ({MAX_REQUEST_BODY // 1024 // 1024} MiB)")
        try:
            async with asyncio.timeout(self.read_timeout):
                return await request.read()
        except TimeoutError as e:
            raise ApiError(408, "Timeout", "the request body did not arrive in time") from e

    def server_address(self) -> str:
        return f"{self.address}:{self.port}"

    async def run(self, fn, *args):
        """A controller call in a worker thread."""
        return await asyncio.to_thread(fn, *args)


# ----- verb handlers (the writes' logic: netlab/api/writes.py) -----------------------------------------------
async def handle_get(request: web.Request, api: ApiServer) -> web.StreamResponse:
    path, ctl = request.path.rstrip("/") or "/", api.controller
    if openapi_routes.is_openapi(path):
        return openapi_routes.answer(request, path)
    if writes.is_scale(path):
        return await writes.get_scale(request, api, path)
    if path in HEALTH_PATHS or any(path.startswith(h + "/") for h in HEALTH_PATHS):
        return web.Response(text="ok", content_type="text/plain")
    doc = discovery.document(path, api.server_address())
    if doc is not None:
        return _json(200, doc)
    if path == DATAPLANE_PATH:
        return _json(200, await api.run(dataplane_view.served, ctl))
    if path == ADDONS_PATH:
        addons = await api.run(lambda: list(ctl.state.addons))
        return _json(200, {"items": [{"name": "ingress-nginx", "enabled": "ingress-nginx" in addons}]})
    path, legacy_watch = strip_legacy_watch(path)
    resource, ns, name, sub = parse_path(path)
    query = request.query
    if sub == "netlab" and resource.kind == "Ingress":
        return _json(200, await api.run(ctl.ingress_detail, ns or "default", name))
    if sub is not None:
        raise ApiError(404, "NotFound", f"the server could not find the requested resource ({path})")
    if watch_stream.is_watch(query) or legacy_watch:
        return await watch_stream.serve(request, ctl.watchcache, resource, ns, name, api.run, api.stopping)
    target = reads.negotiate(request.headers.get("Accept"), is_list=name is None)
    if name is None:   # selected and encoded in the worker thread: a long list does not hold up the event loop
        body = await api.run(reads.list_body, ctl, resource, ns, query, target)
    else:
        body = await api.run(reads.get_body, ctl, resource, ns, name, query, target)
    return web.Response(body=body, content_type="application/json")


async def handle_post(request: web.Request, api: ApiServer) -> web.StreamResponse:
    path, ctl = request.path.rstrip("/"), api.controller
    if path.startswith(ADDONS_PATH + "/"):
        return _json(200, await api.run(ctl.set_addon, path[len(ADDONS_PATH):].strip("/"), True))
    if path == APPLY_PATH:
        objects, dry_run = parse_apply_body(await api.body(request))

        def apply() -> list[dict]:
            return ctl.apply(validated_objects(objects, ctl.state.cluster), dry_run)

        items = await api.run(apply)
        return _json(200, {"kind": "ApplyResult", "apiVersion": "netlab.dev/v1alpha1", "items": items})
    return await writes.create(request, api, path)


async def handle_delete(request: web.Request, api: ApiServer) -> web.StreamResponse:
    path, ctl = request.path.rstrip("/"), api.controller
    if path.startswith(ADDONS_PATH + "/"):
        return _json(200, await api.run(ctl.set_addon, path[len(ADDONS_PATH):].strip("/"), False))
    return await writes.delete(request, api, path)


async def handle_put(request: web.Request, api: ApiServer) -> web.StreamResponse:
    return await writes.replace(request, api, request.path.rstrip("/"))


async def handle_patch(request: web.Request, api: ApiServer) -> web.StreamResponse:
    return await writes.patch(request, api, request.path.rstrip("/"))


HANDLERS: dict[str, Handler] = {"GET": handle_get, "POST": handle_post, "DELETE": handle_delete,
                                "PUT": handle_put, "PATCH": handle_patch}
