"""A threaded HTTP/1.1 server on a Unix socket that a slow, idle or greedy client cannot starve.

- Listen backlog of LISTEN_BACKLOG, so a burst of connections waits to be accepted instead of
  failing with EAGAIN (socketserver's default backlog is 5).
- At most `max_connections` handler threads (daemon threads); a connection beyond that is answered
  at once with a 429 Status and Retry-After, as the Kubernetes API server does when it is saturated.
- One read deadline per request: from the moment the server waits for a request (also on an idle
  keep-alive connection) until its body has been read. A client that sends one byte and stops is
  disconnected when it passes, and ties up one thread at most until then.
- A request body is read only when its Content-Length is within MAX_REQUEST_BODY (413 otherwise,
  before reading); chunked request bodies are refused with 411. The request line and headers
  together may take MAX_REQUEST_HEAD bytes (Go's http.Server default), or the connection is closed.

The limits and `read_body` do not depend on http.server, so a replacement server can keep them.
"""

from __future__ import annotations

import io
import json
import socket
import socketserver
import threading
import time
from http.server import BaseHTTPRequestHandler

from netlab.api.errors import ApiError

#: Kubernetes' API server limit for a request body (MaxRequestBodyBytes): twice etcd's 1.5 MiB object
#: limit, for the JSON encoding's overhead.
MAX_REQUEST_BODY = 3 * 1024 * 1024
#: Bytes of request line and headers (http.server alone allows 100 lines of 64 KiB).
MAX_REQUEST_HEAD = 1024 * 1024
#: Seconds from waiting for a request (or the next one on a keep-alive connection) to having its body.
READ_TIMEOUT = 10.0
#: Seconds a single write to a client that does not read may block.
WRITE_TIMEOUT = 30.0
MAX_CONNECTIONS = 256
LISTEN_BACKLOG = 1024


class Aborted(Exception):
    """The connection is no use any more (timed out, reset): close it without an answer."""


def body_length(headers, limit: int = MAX_REQUEST_BODY) -> int:
    """The request's body length from its headers, or ApiError 400/411/413 (nothing has been read)."""
    if "chunked" in (headers.get("Transfer-Encoding") or "").lower():
        raise ApiError(411, "LengthRequired", "a request body must have a Content-Length (chunked is not supported)")
    raw = headers.get_all("Content-Length") or []
    if not raw:
        return 0
    values = {v.strip() for v in raw}
    if len(values) != 1 or not next(iter(values)).isdigit():
        raise ApiError(400, "BadRequest", f"invalid Content-Length: {', '.join(raw)}")
    length = int(next(iter(values)))
    if length > limit:
        raise ApiError(413, "RequestEntityTooLarge",
                       f"the request body is {length} bytes; the limit is {limit} bytes ({limit // 1024 // 1024} MiB)")
    return length


def read_body(rfile: io.BufferedIOBase, headers, limit: int = MAX_REQUEST_BODY, length: int | None = None) -> bytes:
    """Read a request body within `limit`; a client that stops sending raises Aborted."""
    if length is None:
        length = body_length(headers, limit)
    try:
        data = rfile.read(length) if length else b""
    except (TimeoutError, OSError) as e:
        raise Aborted(f"reading the request body: {e}") from e
    if len(data) != length:
        raise Aborted("the client closed the connection before sending the whole body")
    return data


class _DeadlineReader(io.RawIOBase):
    """Socket reads that all share one deadline (a socket timeout alone restarts on every byte) and
    one byte budget (the request's head, then the body its Content-Length allowed)."""

    def __init__(self, sock: socket.socket, write_timeout: float) -> None:
        self.sock, self.write_timeout = sock, write_timeout
        self.deadline = time.monotonic()
        self.budget = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("request read deadline passed")
        if self.budget <= 0:
            raise Aborted("request head too large")
        self.sock.settimeout(remaining)
        try:
            with memoryview(buffer) as view:
                n = self.sock.recv_into(view[:self.budget])
        finally:
            self.sock.settimeout(self.write_timeout)
        self.budget -= n
        return n


class BoundedUnixHTTPServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = LISTEN_BACKLOG

    def __init__(self, path: str, handler: type[BaseHTTPRequestHandler], *, max_connections: int = MAX_CONNECTIONS,
                 read_timeout: float = READ_TIMEOUT, write_timeout: float = WRITE_TIMEOUT) -> None:
        self.read_timeout, self.write_timeout = read_timeout, write_timeout
        self.max_connections = max_connections
        self._slots = threading.BoundedSemaphore(max_connections)
        super().__init__(path, handler)

    def process_request(self, request, client_address) -> None:
        if not self._slots.acquire(blocking=False):
            self._refuse(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._slots.release()
            raise

    def process_request_thread(self, request, client_address) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()

    def _refuse(self, request: socket.socket) -> None:
        status = ApiError(429, "TooManyRequests",
                          f"too many connections (limit {self.max_connections}), please try again later").status()
        body = json.dumps(status).encode()
        head = (f"HTTP/1.1 429 Too Many Requests\r\nContent-Type: application/json\r\nRetry-After: 1\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode()
        try:
            request.setblocking(False)  # never let the accept loop wait on this client
            request.send(head + body)
        except OSError:
            pass
        self.shutdown_request(request)


class DeadlineRequestHandler(BaseHTTPRequestHandler):
    """BaseHTTPRequestHandler whose reads share the server's per-request deadline."""

    server: BoundedUnixHTTPServer

    def setup(self) -> None:
        super().setup()
        self.rfile.close()
        self._reader = _DeadlineReader(self.connection, self.server.write_timeout)
        self.connection.settimeout(self.server.write_timeout)
        self.rfile = io.BufferedReader(self._reader)

    def handle_one_request(self) -> None:
        self._reader.deadline = time.monotonic() + self.server.read_timeout
        self._reader.budget = MAX_REQUEST_HEAD
        try:
            super().handle_one_request()
        except (Aborted, ConnectionError, TimeoutError):
            self.close_connection = True

    def read_request_body(self, limit: int = MAX_REQUEST_BODY) -> bytes:
        """The body (see read_body); the byte budget grows by the Content-Length it allows."""
        length = body_length(self.headers, limit)
        self._reader.budget += length
        return read_body(self.rfile, self.headers, limit, length)
