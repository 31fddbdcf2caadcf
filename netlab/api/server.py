"""The controller's Kubernetes-shaped REST API on a root-only Unix socket.

Paths and JSON follow the Kubernetes API (`/api/v1/namespaces/{ns}/pods`, List kinds, Status
errors); `POST /apis/netlab.dev/v1alpha1/apply` takes a batch of objects, validated as a whole.
"""

from __future__ import annotations

import json
import logging
import os
import time
from urllib.parse import parse_qs, urlparse

from netlab.api import dataplane_view, resources
from netlab.api.backend import Backend
from netlab.api.errors import ApiError
from netlab.api.httpbase import Aborted, BoundedUnixHTTPServer, DeadlineRequestHandler
from netlab.api.request import parse_apply_body, validated_objects
from netlab.api.resources import ADDONS_PATH, APPLY_PATH, DATAPLANE_PATH
from netlab.compile.label_selectors import matches_text

log = logging.getLogger("netlab.api")


class _Server(BoundedUnixHTTPServer):
    controller: Backend


def serve(controller: Backend, socket_path: str, **limits: float) -> _Server:
    """The API server on a root-only Unix socket (not yet serving: call serve_forever).

    `limits` override httpbase's max_connections, read_timeout and write_timeout.
    """
    if os.path.exists(socket_path):
        os.unlink(socket_path)
    old = os.umask(0o077)  # root only
    try:
        server = _Server(socket_path, Handler, **limits)  # type: ignore[arg-type]
    finally:
        os.umask(old)
    os.chmod(socket_path, 0o600)
    server.controller = controller
    return server


def parse_path(path: str) -> tuple[resources.Resource, str | None, str | None, str | None]:
    """-> (resource, namespace, name, subresource); raises ApiError(404) for unknown paths."""
    parts = [p for p in path.split("/") if p]
    if parts[:2] == ["api", "v1"]:
        api_version, rest = "v1", parts[2:]
    elif len(parts) >= 3 and parts[0] == "apis":
        api_version, rest = f"{parts[1]}/{parts[2]}", parts[3:]
    else:
        raise ApiError(404, "NotFound", f"the server could not find the requested resource ({path})")
    namespace = None
    if len(rest) >= 3 and rest[0] == "namespaces":
        namespace, rest = rest[1], rest[2:]
    elif len(rest) == 2 and rest[0] == "namespaces":
        return resources.BY_KIND["Namespace"], None, rest[1], None
    if not rest:
        raise ApiError(404, "NotFound", f"the server could not find the requested resource ({path})")
    resource = resources.by_path(api_version, rest[0])
    if resource is None:
        raise ApiError(404, "NotFound", f"the server could not find the requested resource ({path})")
    name = rest[1] if len(rest) > 1 else None
    sub = rest[2] if len(rest) > 2 else None
    return resource, namespace, name, sub


class Handler(DeadlineRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def address_string(self) -> str:
        return "unix"

    def log_message(self, fmt: str, *args) -> None:
        log.debug("api " + fmt, *args)

    def _send(self, code: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        if not self._body_read and (self.headers.get("Content-Length", "0").strip() not in ("", "0")
                                    or self.headers.get("Transfer-Encoding")):
            # A body left unread would be taken for the next request: answer, then close.
            self.send_header("Connection", "close")
            self.close_connection = True
        try:
            self.end_headers()
            self.wfile.write(data)
        except (ConnectionError, TimeoutError) as e:   # the client went away or stopped reading
            raise Aborted(str(e)) from e

    def _dispatch(self, method: str) -> None:
        self._body_read = False
        url = urlparse(self.path)
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        try:
            if url.path.startswith(ADDONS_PATH) and method in ("POST", "DELETE"):
                name = url.path[len(ADDONS_PATH):].strip("/")
                self._send(200, self.server.controller.set_addon(name, method == "POST"))
                return
            if method == "GET" and url.path == ADDONS_PATH:
                self._send(200, {"items": [{"name": "ingress-nginx",
                                            "enabled": "ingress-nginx" in self.server.controller.state.addons}]})
                return
            if method == "POST" and url.path == APPLY_PATH:
                objects, dry_run = parse_apply_body(self._body())
                ctl = self.server.controller
                items = ctl.apply(validated_objects(objects, ctl.state.cluster), dry_run)
                self._send(200, {"kind": "ApplyResult", "apiVersion": "netlab.dev/v1alpha1", "items": items})
                return
            if method == "GET" and url.path == DATAPLANE_PATH:
                self._send(200, dataplane_view.served(self.server.controller))
                return
            resource, ns, name, sub = parse_path(url.path)
            ctl = self.server.controller
            if method == "GET" and sub == "log" and resource.kind == "Pod":
                self._log(ns or "default", name, query)
            elif method == "GET" and sub == "netlab" and resource.kind == "Ingress":
                self._send(200, ctl.ingress_detail(ns or "default", name))
            elif method == "GET" and name is None:
                items = ctl.list(resource.kind, ns)
                selector = query.get("labelSelector")
                if selector:
                    items = [o for o in items if matches_text(selector, o["metadata"].get("labels") or {})]
                self._send(200, {"kind": f"{resource.kind}List", "apiVersion": resource.api_version,
                                 "metadata": {"resourceVersion": str(ctl.state.resource_version)}, "items": items})
            elif method == "GET":
                ns_filter = (ns or "default") if resource.namespaced else None
                found = [o for o in ctl.list(resource.kind, ns_filter) if o["metadata"]["name"] == name]
                if not found:
                    raise ApiError(404, "NotFound", f'{resource.plural} "{name}" not found')
                self._send(200, found[0])
            elif method == "DELETE" and name:
                removed = ctl.delete(resource.kind, (ns or "default") if resource.namespaced else "", name)
                self._send(200, removed)
            else:
                raise ApiError(405, "MethodNotAllowed", f"{method} is not supported on {url.path}")
        except ApiError as e:
            self._send(e.code, e.status())
        except Aborted:
            self.close_connection = True
        except Exception as e:  # an internal error still answers with a Status
            log.exception("API request failed")
            self._send(500, ApiError(500, "InternalError", f"internal error: {e}").status())

    def _body(self) -> bytes:
        data = self.read_request_body()
        self._body_read = True
        return data

    def _log(self, ns: str, name: str, query: dict) -> None:
        ctl = self.server.controller
        pod = ctl.state.pods.get(f"{ns}/{name}")
        if pod is None:
            raise ApiError(404, "NotFound", f'pods "{name}" not found')
        containers = [c["name"] for c in pod.spec.get("containers", [])]
        container = query.get("container") or (containers[0] if len(containers) == 1 else None)
        if container not in containers:
            raise ApiError(400, "BadRequest", f"a container name must be specified for pod {name}, "
                           f"choose one of: {containers}")
        path = ctl.supervisor.log_path(pod.key, container)
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        follow = query.get("follow") == "true"
        try:
            with open(path, "rb") as f:
                while True:
                    chunk = f.read(65536)
                    if chunk:
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                        self.wfile.flush()
                    elif not follow or f"{ns}/{name}" not in ctl.state.pods:
                        break
                    else:
                        time.sleep(0.2)
        except FileNotFoundError:
            pass
        except (ConnectionError, TimeoutError) as e:   # the client went away or stopped reading
            raise Aborted(str(e)) from e
        self.wfile.write(b"0\r\n\r\n")

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_PATCH(self) -> None:
        self._dispatch("PATCH")
