"""The controller's event log (what `get events` and `describe` show)."""

from __future__ import annotations

import collections
import logging
import time

log = logging.getLogger("netlab.controller")


class EventLog:
    def __init__(self, maxlen: int = 1000) -> None:
        self.items: collections.deque[dict] = collections.deque(maxlen=maxlen)

    def add(self, reason: str, message: str, obj: str = "") -> None:
        if not obj:
            # Kernel changes are phrased "node X: ..." or "pod ns/name: ...": attribute them to that object.
            head, sep, rest = message.partition(": ")
            kind, _, name = head.partition(" ")
            if sep and kind in ("node", "pod") and name and " " not in name:
                obj, message = f"{kind.capitalize()} {name}", rest
        self.items.append({"time": time.time(), "reason": reason, "message": message, "object": obj})
        log.info("%s %s %s", reason, obj, message)
