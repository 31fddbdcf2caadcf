"""Watches (`?watch=1`): a chunked stream of JSON lines `{"type": ..., "object": ...}` fed by the watch cache,
on the server's event loop (a coroutine per watch, no thread: the cache's listener wakes it).

As kube-apiserver: a resourceVersion the history no longer reaches is answered 200 with one ERROR event
carrying the 410 Expired Status; label and field selectors turn an object entering or leaving the
selection into ADDED/DELETED; `allowWatchBookmarks` adds BOOKMARK events; `sendInitialEvents=true`
(client-go's watch-list) sends the current objects, then a BOOKMARK annotated
`k8s.io/initial-events-end`; the stream ends after `timeoutSeconds` or when the client goes away.
Objects go out as Table rows when the client asks for a Table (`kubectl get -w`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from aiohttp import web

from netlab.api import reads
from netlab.api.errors import ApiError
from netlab.api.resources import Resource
from netlab.api.watchcache import Change, WatchCache, select

#: A watch without timeoutSeconds ends after this long (kube-apiserver: --min-request-timeout 1800 s,
#: randomized up to twice that); clients re-watch from their last resourceVersion.
DEFAULT_TIMEOUT = 1800.0
#: How often a watch that allows bookmarks gets one (upstream: about a minute), and how often an idle
#: watch checks that its client is still there.
BOOKMARK_INTERVAL = 60.0
LIVENESS_INTERVAL = 1.0
INITIAL_EVENTS_END = "k8s.io/initial-events-end"


@dataclass(frozen=True)
class WatchOptions:
    timeout: float
    bookmarks: bool
    initial_events: bool | None   # sendInitialEvents: None when not given
    resource_version: str | None

    @classmethod
    def parse(cls, query: Mapping[str, str]) -> WatchOptions:
        raw = query.get("timeoutSeconds")
        try:
            timeout = float(raw) if raw not in (None, "") else DEFAULT_TIMEOUT
        except ValueError:
            raise ApiError(400, "BadRequest", f"invalid timeoutSeconds {raw!r}") from None
        if timeout < 0:
            raise ApiError(400, "BadRequest", f"invalid timeoutSeconds {raw!r}")
        send = query.get("sendInitialEvents")
        bookmarks = query.get("allowWatchBookmarks") in ("1", "true")
        initial = None if send in (None, "") else send in ("1", "true")
        if initial and not bookmarks:
            raise ApiError(422, "Invalid", "sendInitialEvents requires allowWatchBookmarks=true")
        if initial and query.get("resourceVersionMatch") not in (None, "", "NotOlderThan"):
            raise ApiError(422, "Invalid", "sendInitialEvents requires resourceVersionMatch=NotOlderThan")
        return cls(min(timeout or DEFAULT_TIMEOUT, DEFAULT_TIMEOUT), bookmarks, initial,
                   query.get("resourceVersion"))


def is_watch(query: Mapping[str, str]) -> bool:
    return query.get("watch") in ("1", "true", "True")


class WatchStream:
    """One client's watch: what to send, computed from the cache; the transport is the caller's."""

    def __init__(self, cache: WatchCache, resource: Resource, namespace: str | None,
                 match: Callable[[dict], bool], render: Callable[[dict], dict]) -> None:
        self.cache, self.resource, self.namespace = cache, resource, namespace
        self.match, self.render = match, render
        self.rv = 0

    def start(self, opts: WatchOptions) -> list[dict]:
        """The first events (raises Gone for a stale resourceVersion)."""
        kind = self.resource.kind
        if opts.initial_events:
            changes, self.rv = self.cache.start_watch(kind, self.namespace, None)
            events = self._events(changes)
            return events + [self.bookmark(initial_end=True)]
        if opts.initial_events is False and not reads_rv(opts.resource_version):
            self.rv = self.cache.rv       # "most recent", without synthetic ADDED events
            return []
        changes, self.rv = self.cache.start_watch(kind, self.namespace, opts.resource_version)
        return self._events(changes)

    def next(self) -> list[dict]:
        """The events after the last one sent (raises Gone when the client fell too far behind)."""
        changes = self.cache.events_since(self.resource.kind, self.namespace, self.rv)
        if changes:
            self.rv = max(self.rv, changes[-1].rv)
        return self._events(changes)

    def _events(self, changes: list[Change]) -> list[dict]:
        return [{"type": c.type, "object": self.render(c.object)} for c in select(changes, self.match)]

    def bookmark(self, initial_end: bool = False) -> dict:
        meta: dict = {"resourceVersion": str(self.rv)}
        if initial_end:
            meta["annotations"] = {INITIAL_EVENTS_END: "true"}
        return {"type": "BOOKMARK", "object": {"kind": self.resource.kind, "apiVersion": self.resource.api_version,
                                               "metadata": meta}}


def reads_rv(value: str | None) -> bool:
    return value not in (None, "", "0")


async def serve(request: web.Request, cache: WatchCache, resource: Resource, namespace: str | None,
                name: str | None, run: Callable[..., Awaitable], stopping: asyncio.Event) -> web.StreamResponse:
    """Stream a watch to the client until its timeout, until it leaves or until the server stops.
    `run(fn, *args)` calls into the cache from a worker thread (a refresh may hold the cache's lock for a
    few milliseconds)."""
    query = request.query
    target = reads.negotiate(request.headers.get("Accept"), is_list=False)
    match = reads.object_matcher(resource.kind, query, name)   # 400 for a bad selector, before streaming
    opts = WatchOptions.parse(query)
    stream = WatchStream(cache, resource, reads.scope(resource, namespace), match,
                         _renderer(resource, target, query))
    response = web.StreamResponse(headers={"Content-Type": "application/json", "Cache-Control": "no-cache"})
    response.enable_chunked_encoding()
    loop = asyncio.get_running_loop()
    changed = asyncio.Event()

    def wake(_rv: int) -> None:   # called in the controller's thread after a refresh: must not raise
        try:
            loop.call_soon_threadsafe(changed.set)
        except RuntimeError:   # the server's loop is closed: the watch is over
            pass

    cache.add_listener(wake)
    try:
        await response.prepare(request)
        try:
            await _send(response, await run(stream.start, opts))
            await _follow(request, response, stream, opts, changed, run, stopping)
        except ApiError as e:   # Gone: a stale or fallen-behind resourceVersion
            await _send(response, [{"type": "ERROR", "object": e.status()}])
        await response.write_eof()
    except (ConnectionError, asyncio.CancelledError):   # the client went away
        pass
    finally:
        cache.remove_listener(wake)
    return response


async def _follow(request: web.Request, response: web.StreamResponse, stream: WatchStream, opts: WatchOptions,
                  changed: asyncio.Event, run: Callable[..., Awaitable], stopping: asyncio.Event) -> None:
    deadline = time.monotonic() + opts.timeout
    next_bookmark = time.monotonic() + BOOKMARK_INTERVAL
    while True:
        now = time.monotonic()
        if now >= deadline or stopping.is_set() or _gone(request):
            return
        wait = min(deadline - now, LIVENESS_INTERVAL, max(0.0, next_bookmark - now) if opts.bookmarks else 1e9)
        try:
            await asyncio.wait_for(changed.wait(), wait)
        except TimeoutError:
            pass
        if changed.is_set():
            changed.clear()
            await _send(response, await run(stream.next))
        if opts.bookmarks and time.monotonic() >= next_bookmark:
            next_bookmark = time.monotonic() + BOOKMARK_INTERVAL
            await _send(response, [stream.bookmark()])


def _renderer(resource: Resource, target: reads.Target, query: Mapping[str, str]) -> Callable[[dict], dict]:
    """Each event's object in the target form. As upstream, only the first Table carries the column
    definitions (kubectl prints the header once); later ones have none."""
    headers_sent = False

    def render(obj: dict) -> dict:
        nonlocal headers_sent
        out = reads.render_object(resource, obj, target, query)
        if target.form == reads.TABLE:
            if headers_sent:
                out = {**out, "columnDefinitions": []}
            headers_sent = True
        return out
    return render


def _gone(request: web.Request) -> bool:
    transport = request.transport
    return transport is None or transport.is_closing()


async def _send(response: web.StreamResponse, events: list[dict]) -> None:
    if events:
        await response.write(b"".join(reads.encode(e) + b"\n" for e in events))
