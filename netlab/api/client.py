"""The CLI's side of the controller API: HTTPS to the recorded endpoint, with the admin's client certificate."""

from __future__ import annotations

import http.client
import json
import ssl
from collections.abc import Iterator

from netlab.api import endpoint as endpoints
from netlab.api.endpoint import Endpoint
from netlab.api.pki import Pki
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


def client_ssl_context(pki: Pki) -> ssl.SSLContext:
    """Verify the server against the cluster CA; present the admin certificate."""
    ctx = ssl.create_default_context(cafile=str(pki.ca_cert))
    ctx.load_cert_chain(pki.admin_cert, pki.admin_key)
    return ctx


class Client:
    def __init__(self, cluster: str, timeout: float = 60.0, endpoint: Endpoint | None = None,
                 pki: Pki | None = None):
        self.cluster = cluster
        self.timeout = timeout
        self.endpoint = endpoint
        self.pki = pki or Pki(names.pki_dir(cluster))
        self._ssl: ssl.SSLContext | None = None

    def _unavailable(self, why: str) -> ApiUnavailable:
        return ApiUnavailable(f"cluster {self.cluster!r} is not running ({why}); "
                              "start it with `sudo netlab up <manifests>`")

    def _connection(self) -> http.client.HTTPSConnection:
        ep = self.endpoint or endpoints.load(self.cluster)
        if ep is None:
            raise self._unavailable(f"no API endpoint recorded at {names.api_endpoint_file(self.cluster)}")
        if self._ssl is None:
            try:
                self._ssl = client_ssl_context(self.pki)
            except PermissionError as e:
                raise ApiUnavailable(f"cannot read cluster {self.cluster!r}'s admin certificate ({e.filename}): "
                                     "run netlab with sudo, or use kubectl with the kubeconfig `up` wrote") from e
            except (OSError, ssl.SSLError) as e:
                raise self._unavailable(f"cannot read its certificates in {self.pki.dir}: {e}") from e
        self.last_url = ep.url
        return http.client.HTTPSConnection(ep.address, ep.port, timeout=self.timeout, context=self._ssl)

    def _open(self, method: str, path: str, body: dict | None = None) -> http.client.HTTPResponse:
        conn = self._connection()
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        try:
            try:
                conn.request(method, path, body=data, headers=headers)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the server answered before reading the whole body (e.g. 413): read that answer
            return conn.getresponse()
        except ConnectionRefusedError as e:
            raise self._unavailable(f"no controller answers at {self.last_url}") from e

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
