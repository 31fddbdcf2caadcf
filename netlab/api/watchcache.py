"""The API's watch cache: the last snapshot of every kind as the API shows it, and a bounded history of
changes, each with a cluster-wide monotonic resourceVersion (as the apiserver's cacher over etcd).

Pure and thread-safe: the controller feeds it (`refresh`) after each commit and after each tick whose
observations changed something; the API server (another thread, possibly asyncio) reads it.
Objects handed out are shared: callers must not mutate them.
"""

from __future__ import annotations

import collections
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from netlab.api.errors import ApiError

ADDED, MODIFIED, DELETED = "ADDED", "MODIFIED", "DELETED"


class Gone(ApiError):
    """410 Expired: the history no longer reaches back to the resourceVersion asked for."""

    def __init__(self, asked: int, oldest: int):
        super().__init__(410, "Expired", f"too old resource version: {asked} ({oldest})")


@dataclass(frozen=True)
class Change:
    rv: int
    type: str  # ADDED | MODIFIED | DELETED
    kind: str
    namespace: str
    object: dict  # carries metadata.resourceVersion == str(rv)
    previous: dict | None = None  # the object as it was before a MODIFIED or DELETED


def select(changes: Iterable[Change], match: Callable[[dict], bool]) -> list[Change]:
    """Changes as a watch with a label/field selector sees them (as upstream's cacher): an object that
    stops matching is DELETED, one that starts matching is ADDED, others' changes are left out."""
    out = []
    for c in changes:
        now = c.type != DELETED and match(c.object)
        before = c.previous is not None and match(c.previous)
        if now and before:
            out.append(c)
        elif now:
            out.append(Change(c.rv, ADDED, c.kind, c.namespace, c.object, c.previous))
        elif before:
            out.append(Change(c.rv, DELETED, c.kind, c.namespace, c.object, c.previous))
    return out


def _key(obj: dict) -> tuple[str, str]:
    meta = obj["metadata"]
    return meta.get("namespace") or "", meta["name"]


def _with_rv(obj: dict, rv: int) -> dict:
    return {**obj, "metadata": {**obj["metadata"], "resourceVersion": str(rv)}}


def _plain(obj: dict) -> dict:
    """The object without a resourceVersion, as views build it (what changes are detected on)."""
    meta = obj.get("metadata") or {}
    if "resourceVersion" not in meta:
        return obj
    return {**obj, "metadata": {k: v for k, v in meta.items() if k != "resourceVersion"}}


def parse_rv(value: str | int | None) -> int | None:
    """resourceVersion from a query: None for absent or "" (and 0 for "0"); 400 when not a number."""
    if value is None or value == "":
        return None
    try:
        rv = int(value)
    except (TypeError, ValueError):
        raise ApiError(400, "BadRequest", f'invalid resource version "{value}"') from None
    if rv < 0:
        raise ApiError(400, "BadRequest", f'invalid resource version "{value}"')
    return rv


class WatchCache:
    def __init__(self, start_rv: int = 0, history: int = 5000):
        self._cond = threading.Condition()
        self._rv = start_rv
        self._compacted = start_rv  # every change after this rv is still in the history
        self._history: collections.deque[Change] = collections.deque()
        self._max_history = history
        # kind -> (namespace, name) -> (plain view, view with resourceVersion)
        self._snap: dict[str, dict[tuple[str, str], tuple[dict, dict]]] = {}
        self._listeners: list[Callable[[int], None]] = []

    @property
    def rv(self) -> int:
        with self._cond:
            return self._rv

    # ----- feeding (the controller's thread) ----------------------------------------------
    def refresh(self, views: Mapping[str, Iterable[dict]]) -> int:
        """Take the current views of the kinds given (kinds not given are left as they are); objects that
        changed get the next resourceVersions. Returns the number of changes."""
        changes: list[Change] = []
        with self._cond:
            for kind, objects in views.items():
                changes += self._diff(kind, objects)
            self._history.extend(changes)
            while len(self._history) > self._max_history:
                self._compacted = self._history.popleft().rv
            if changes:
                self._cond.notify_all()
            listeners, rv = list(self._listeners), self._rv
        if changes:
            for fn in listeners:
                fn(rv)
        return len(changes)

    def _diff(self, kind: str, objects: Iterable[dict]) -> list[Change]:
        old = self._snap.get(kind, {})
        new: dict[tuple[str, str], tuple[dict, dict]] = {}
        changes = []
        for obj in objects:
            plain = _plain(obj)
            key = _key(plain)
            before = old.get(key)
            if before is not None and before[0] == plain:
                new[key] = before
                continue
            self._rv += 1
            shown = _with_rv(plain, self._rv)
            new[key] = (plain, shown)
            changes.append(Change(self._rv, MODIFIED if before is not None else ADDED, kind, key[0], shown,
                                  before[1] if before is not None else None))
        for key, (_plain_obj, shown) in old.items():
            if key not in new:
                self._rv += 1
                changes.append(Change(self._rv, DELETED, kind, key[0], _with_rv(shown, self._rv), shown))
        self._snap[kind] = new
        return changes

    # ----- reading (the server's threads) --------------------------------------------------
    def list(self, kind: str, namespace: str | None = None) -> tuple[list[dict], int]:
        """The objects of kind in namespace (None: all) sorted by namespace and name (Events in the order
        they last changed), and the resourceVersion of this snapshot."""
        with self._cond:
            entries = self._snap.get(kind, {})
            items = [shown for (ns, _name), (_p, shown) in entries.items() if namespace is None or ns == namespace]
            rv = self._rv
        if kind == "Event":
            items.sort(key=lambda o: int(o["metadata"]["resourceVersion"]))
        else:
            items.sort(key=_key)
        return items, rv

    def get(self, kind: str, namespace: str | None, name: str) -> dict | None:
        with self._cond:
            entry = self._snap.get(kind, {}).get((namespace or "", name))
            return entry[1] if entry else None

    def events_since(self, kind: str, namespace: str | None, rv: int) -> list[Change]:
        """The changes of kind (in namespace; None: all) after rv. Raises Gone when the history has lost
        changes after rv. An rv ahead of the cache's gives nothing (yet)."""
        with self._cond:
            if rv < self._compacted:
                raise Gone(rv, self._compacted)
            return [c for c in self._history if c.rv > rv and c.kind == kind
                    and (namespace is None or c.namespace == namespace)]

    def start_watch(self, kind: str, namespace: str | None, resource_version: str | int | None
                    ) -> tuple[list[Change], int]:
        """What a watch sends first, and the rv it continues from (as upstream): with no resourceVersion or
        "0", an ADDED for every current object, then changes from now; else the changes after it."""
        rv = parse_rv(resource_version)
        if not rv:
            items, now = self.list(kind, namespace)
            return [Change(int(o["metadata"]["resourceVersion"]), ADDED, kind, _key(o)[0], o) for o in items], now
        changes = self.events_since(kind, namespace, rv)
        return changes, max([rv] + [c.rv for c in changes])

    def wait_past(self, rv: int, timeout: float) -> int:
        """Block until the cache's resourceVersion is past rv (or timeout); returns the current one."""
        with self._cond:
            self._cond.wait_for(lambda: self._rv > rv, timeout)
            return self._rv

    def add_listener(self, fn: Callable[[int], None]) -> None:
        """fn(rv) is called (in the feeding thread, outside the cache's lock) after every refresh that
        changed something: an asyncio server passes `lambda rv: loop.call_soon_threadsafe(...)`."""
        with self._cond:
            self._listeners.append(fn)

    def remove_listener(self, fn: Callable[[int], None]) -> None:
        with self._cond:
            if fn in self._listeners:
                self._listeners.remove(fn)
