"""The `proxy` subresources of pods and services (`kubectl proxy`, `kubectl get --raw .../proxy/`).

`services/[scheme:]NAME[:PORT]/proxy/PATH` picks a ready endpoint of the Service (PORT: the service
port's name or number) and `pods/NAME[:PORT]/proxy/PATH` names the pod; the request is sent to that
pod's IP and target port from inside the pod's network namespace (where its IP is always reachable),
and the answer is streamed back. With scheme `https` the request goes over TLS, the pod's certificate
unverified, as kube-apiserver's proxy does.
"""

from __future__ import annotations

import contextlib
import http.client
import socket
import ssl

from aiohttp import web

from netlab.api.errors import ApiError
from netlab.compile import names
from netlab.kernel import netns as nsmod

CHUNK = 65536
TIMEOUT = 30.0
HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailers",
              "transfer-encoding", "upgrade", "content-length", "host"}


def split_target(text: str) -> tuple[str, str, str]:
    """`[scheme:]name[:port]` -> (scheme, name, port); scheme and port may be empty."""
    parts = text.split(":")
    if len(parts) == 3:
        return parts[0], parts[1], parts[2]
    if len(parts) == 2:
        return ("", parts[0], parts[1]) if parts[0] not in ("http", "https") else (parts[0], parts[1], "")
    return "", text, ""


def _unavailable(message: str) -> ApiError:
    return ApiError(503, "ServiceUnavailable", message)


def service_backend(service: dict, endpoints: dict | None, port: str) -> tuple[str, str, int]:
    """(pod namespace, pod name, target port) of a ready endpoint for the service port `port` (its name
    or number; empty: the only port)."""
    name = service["metadata"]["name"]
    ports = service["spec"].get("ports") or []
    if port:
        chosen = [p for p in ports if port in (p.get("name") or "", str(p.get("port")))]
    else:
        chosen = ports if len(ports) == 1 else []
    if not chosen:
        raise _unavailable(f'no service port "{port}" found for service "{name}"')
    wanted = chosen[0].get("name") or ""
    for subset in (endpoints or {}).get("subsets") or []:
        match = [p for p in subset.get("ports") or [] if (p.get("name") or "") == wanted]
        for address in subset.get("addresses") or []:
            ref = address.get("targetRef") or {}
            if match and ref.get("kind") == "Pod":
                return ref.get("namespace") or service["metadata"]["namespace"], ref["name"], int(match[0]["port"])
    raise _unavailable(f'no endpoints available for service "{name}"')


def _open(netns: str, ip: str, port: int) -> socket.socket:
    with nsmod.entered(netns):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.settimeout(TIMEOUT)
    try:
        sock.connect((ip, port))
    except OSError:
        sock.close()
        raise
    return sock


def _backend_tls() -> ssl.SSLContext:
    """TLS towards a pod, as kube-apiserver's proxy dials `https:` targets: the pod's certificate is not
    verified (nothing in the cluster signs pods' serving certificates)."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def _request(netns: str, ip: str, port: int, method: str, target: str, headers: dict[str, str],
             body: bytes, tls: bool = False) -> http.client.HTTPResponse:
    conn = http.client.HTTPConnection(ip, port, timeout=TIMEOUT)
    sock = _open(netns, ip, port)
    if tls:
        try:
            sock = _backend_tls().wrap_socket(sock)
        except (OSError, ssl.SSLError):
            sock.close()
            raise
    conn.sock = sock
    conn.request(method, target, body=body or None, headers=headers)
    return conn.getresponse()


async def handle_proxy(request: web.Request, api, kind: str, ns: str, target: str, rest: str) -> web.StreamResponse:
    ctl = api.controller
    scheme, name, port = split_target(target)
    if kind == "services":
        service = await api.run(ctl.get, "Service", ns, name)
        try:
            endpoints = await api.run(ctl.get, "Endpoints", ns, name)
        except ApiError:
            endpoints = None
        pod_ns, pod_name, pod_port = service_backend(service, endpoints, port)
    else:
        pod_ns, pod_name = ns, name
        pod_port = int(port) if port.isdigit() else await _named_port(api, ns, name, port)
    pod = await api.run(ctl.get, "Pod", pod_ns, pod_name)
    ip = (pod.get("status") or {}).get("podIP")
    if not ip:
        raise _unavailable(f'pod "{pod_name}" has no IP yet')
    path = "/" + rest.lstrip("/") + (f"?{request.query_string}" if request.query_string else "")
    headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP | {"authorization"}}
    headers["Host"] = f"{ip}:{pod_port}"
    body = await api.body(request)
    try:
        spec = pod.get("spec") or {}
        netns = names.pod_run_netns(pod_ns, pod_name, spec.get("nodeName", ""), bool(spec.get("hostNetwork")))
        upstream = await api.run(_request, netns, ip, pod_port, request.method, path, headers, body,
                                 scheme == "https")
    except OSError as e:
        raise _unavailable(f"error trying to reach service: dial tcp {ip}:{pod_port}: {e}") from e
    try:
        response = web.StreamResponse(status=upstream.status, reason=upstream.reason)
        for key, value in upstream.getheaders():
            if key.lower() not in HOP_BY_HOP:
                response.headers.add(key, value)
        response.enable_chunked_encoding()
        await response.prepare(request)
        with contextlib.suppress(ConnectionError):
            while chunk := await api.run(upstream.read1, CHUNK):
                await response.write(chunk)
            await response.write_eof()
        return response
    finally:
        upstream.close()


async def _named_port(api, ns: str, name: str, port: str) -> int:
    """A pod's port given by name (empty: 80, as kube-apiserver's default)."""
    if not port:
        return 80
    pod = await api.run(api.controller.get, "Pod", ns, name)
    for container in pod["spec"].get("containers", []):
        for p in container.get("ports") or []:
            if p.get("name") == port:
                return int(p["containerPort"])
    raise ApiError(400, "BadRequest", f'pod "{name}" has no port named "{port}"')
