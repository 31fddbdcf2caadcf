"""The controller's event log as core/v1 Events (what `get events` and `describe` show).

Events are recorded as the component upstream would record them (kubelet, default-scheduler,
deployment-controller; netlab's own doings as netlab-controller), in the involved object's namespace,
named `<object>.<hex nanoseconds>`; a repeat of the same event (same object, reason, message, type,
source) is aggregated into the first one (count, lastTimestamp), as client-go's event correlator does.
"""

from __future__ import annotations

import collections
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from netlab.api.views import timestamp

log = logging.getLogger("netlab.controller")

NORMAL, WARNING = "Normal", "Warning"
CONTROLLER, KUBELET, SCHEDULER = "netlab-controller", "kubelet", "default-scheduler"
DEPLOYMENT_CONTROLLER = "deployment-controller"

# Reasons upstream components report as warnings.
_WARNINGS = {"Unhealthy", "BackOff", "Failed", "FailedScheduling", "FailedMount", "ProbeWarning"}


@dataclass(frozen=True)
class Involved:
    """core/v1 ObjectReference of the object an event is about."""

    kind: str
    name: str
    namespace: str = ""
    uid: str = ""
    api_version: str = "v1"
    field_path: str = ""  # the part of it: "spec.containers{app}" for a container, as the kubelet says

    def ref(self) -> dict:
        out = {"kind": self.kind, "name": self.name, "apiVersion": self.api_version}
        for key, value in (("namespace", self.namespace), ("uid", self.uid), ("fieldPath", self.field_path)):
            if value:
                out[key] = value
        return out

    def part(self, field_path: str) -> Involved:
        return Involved(self.kind, self.name, self.namespace, self.uid, self.api_version, field_path)


def parse_object(obj: str, message: str) -> tuple[str, str, str]:
    """(kind, "ns/name" or "name", message) from the controller's "Kind ns/name" (or a kernel change
    phrased "node X: ..." / "pod ns/name: ..."); ("", "", message) when nothing is named."""
    if not obj:
        head, sep, rest = message.partition(": ")
        kind, _, name = head.partition(" ")
        if sep and kind in ("node", "pod") and name and " " not in name:
            return kind.capitalize(), name, rest
        return "", "", message
    kind, _, ref = obj.partition(" ")
    return kind, ref, message


class EventLog:
    """The last `maxlen` events (by last occurrence), as core/v1 Event dicts keyed by name."""

    def __init__(self, maxlen: int = 1000, clock: Callable[[], float] = time.time) -> None:
        self.maxlen, self.clock = maxlen, clock
        self._by_name: collections.OrderedDict[str, dict] = collections.OrderedDict()
        self._by_key: dict[tuple, str] = {}
        self._key_of: dict[str, tuple] = {}

    @property
    def items(self) -> list[dict]:
        return list(self._by_name.values())

    def __len__(self) -> int:
        return len(self._by_name)

    def drop_namespace(self, namespace: str) -> None:
        """A deleted namespace takes its events with it."""
        for name in [n for n, e in self._by_name.items() if e["metadata"]["namespace"] == namespace]:
            del self._by_name[name]
            del self._by_key[self._key_of.pop(name)]

    def record(self, involved: Involved, reason: str, message: str, *, type: str | None = None,
               component: str = CONTROLLER, host: str = "") -> dict:
        """Record one occurrence; returns the Event (a new dict on every change, so views compare)."""
        type = type or (WARNING if reason in _WARNINGS else NORMAL)
        now = self.clock()
        key = (involved, reason, message, type, component, host)
        name = self._by_key.get(key)
        old = self._by_name.get(name) if name else None
        if old is not None:
            ev = {**old, "count": old["count"] + 1, "lastTimestamp": timestamp(now)}
            self._by_name[name] = ev
            self._by_name.move_to_end(name)
        else:
            name = f"{involved.name}.{int(now * 1e9):x}"
            while name in self._by_name:  # two events in the same nanosecond tick
                name = f"{involved.name}.{int(now * 1e9) + len(self._by_name):x}"
            source = {"component": component, **({"host": host} if host else {})}
            ev = {
                "apiVersion": "v1", "kind": "Event",
                "metadata": {"name": name, "namespace": involved.namespace or "default",
                             "uid": str(uuid.uuid4()), "creationTimestamp": timestamp(now)},
                "involvedObject": involved.ref(), "reason": reason, "message": message, "type": type,
                "count": 1, "firstTimestamp": timestamp(now), "lastTimestamp": timestamp(now),
                "eventTime": None, "source": source, "reportingComponent": component,
                "reportingInstance": host or component,
            }
            self._by_name[name] = ev
            self._by_key[key], self._key_of[name] = name, key
            while len(self._by_name) > self.maxlen:
                gone, _ = self._by_name.popitem(last=False)
                del self._by_key[self._key_of.pop(gone)]
        log.info("%s %s %s/%s %s", reason, involved.kind, involved.namespace, involved.name, message)
        return ev


def kubelet_events(reason: str, container: str, message: str, image: str,
                   pod: str = "", stand_in: str = "") -> list[tuple[str, str]]:
    """(reason, message) pairs the kubelet records for one of the supervisor's container events: a start
    is Pulled, Created, Started (images are files on this machine: always present), and StandIn when
    netlab ran its echo server for an image it does not know (stand_in: the note saying so); the
    messages carry no pids or delays, so repeats aggregate as upstream's do."""
    if reason == "Started":
        return [("Pulled", f'Container image "{image}" already present on machine'),
                ("Created", f"Created container: {container}"), ("Started", f"Started container {container}"),
                *([("StandIn", stand_in)] if stand_in else [])]
    if reason == "BackOff" and message.startswith("Back-off"):
        return [("BackOff", f"Back-off restarting failed container {container} in pod {pod}")]
    return [(reason, message)]
