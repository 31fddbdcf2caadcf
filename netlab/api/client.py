"""The CLI's side of the controller API: HTTP over the cluster's Unix socket."""

from __future__ import annotations

import http.client
import json
import socket
from collections.abc import Iterator

from netlab.compile import names


class ApiUnavailable(Exception):
    pass


class ApiFailure(Exception):
    """A Status error from the controller."""

    def __init__(self, status: dict):
        super().__init__(status.get("message", "request failed"))
        self.status = status
        self.code = status.get("code", 500)
        self.causes = (status.get("details") or {}).get("causes") or []


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float):
        super().__init__("localhost", timeout=timeout)
        self.unix_path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        sock.connect(self.unix_path)
        self.sock = sock


class Client:
    def __init__(self, cluster: str, timeout: float = 60.0):
        self.cluster = cluster
        self.socket_path = names.api_socket(cluster)
        self.timeout = timeout

    def _open(self, method: str, path: str, body: dict | None = None) -> http.client.HTTPResponse:
        conn = _UnixConnection(self.socket_path, self.timeout)
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Content-Type": "application/json"} if data is not None else {}
        try:
            try:
                conn.request(method, path, body=data, headers=headers)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the server answered before reading the whole body (e.g. 413): read that answer
            return conn.getresponse()
        except (FileNotFoundError, ConnectionRefusedError) as e:
            raise ApiUnavailable(
                f"cluster {self.cluster!r} is not running (no controller at {self.socket_path}); "
                "start it with `sudo netlab up <manifests>`"
            ) from e

    def request(self, method: str, path: str, body: dict | None = None) -> dict:
        try:
            resp = self._open(method, path, body)
            raw = resp.read()
        except (http.client.HTTPException, OSError) as e:
            if isinstance(e, TimeoutError):
                why = f"no answer within {self.timeout:g}s"
            else:
                why = f"the connection was lost ({type(e).__name__}{': ' + str(e) if str(e) else ''})"
            raise ApiUnavailable(
                f"{method} {path}: {why}; the controller of cluster {self.cluster!r} may have stopped. "
                "A change it had not finished is not applied: check with `netlab get pods` and apply again "
                "(`sudo netlab up <manifests>` restarts a stopped controller)"
            ) from e
        try:
            payload = json.loads(raw or b"{}")
        except ValueError as e:  # not a Status (e.g. http.server's own HTML error page)
            if resp.status < 400:
                raise ApiUnavailable(f"{method} {path}: the controller answered {resp.status} with no JSON") from e
            payload = {"code": resp.status, "message": f"{resp.status} {resp.reason}: {raw[:200]!r}"}
        if resp.status >= 400:
            raise ApiFailure(payload if isinstance(payload, dict) else {"code": resp.status})
        return payload

    def get(self, path: str) -> dict:
        return self.request("GET", path)

    def stream(self, path: str) -> Iterator[bytes]:
        resp = self._open("GET", path)
        if resp.status >= 400:
            raise ApiFailure(json.loads(resp.read() or b"{}"))
        while True:
            chunk = resp.read1(65536)
            if not chunk:
                return
            yield chunk

    def alive(self) -> bool:
        try:
            self.get("/api/v1/namespaces")
            return True
        except (ApiUnavailable, OSError, ApiFailure):
            return False
