"""The observer behind `netlab observe`: NFLOG sockets in every node namespace, the controller told
that someone observes, records turned into flow events, the recent ones kept in a file.

It runs in the CLI's process (root, host namespace), not in the controller: reading a node's NFLOG
group needs a socket made inside that node's namespace, which the CLI can open as `trace` does, and a
crashed or killed observer costs nothing, because the controller stops logging as soon as the pid in
`<run>/observers/` is gone (runtime.observers).
"""

from __future__ import annotations

import json
import select
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from netlab.compile import names
from netlab.compile.nft_observe import NFLOG_GROUP
from netlab.kernel import netns as nsmod
from netlab.kernel.nflog import CtEventSocket, NflogSocket
from netlab.runtime import observers
from netlab.trace.flows import FlowEvent, Interpreter, from_dict

if TYPE_CHECKING:
    from netlab.api.dataplane_view import Dataplane

HISTORY = "flows.jsonl"
HISTORY_BYTES = 8 << 20  # the older half of the events goes when the file reaches this
# While observing: packet/byte counters in the DESTROY events, and when the connection started (so the
# observer needs no NEW events)
SYSCTLS = ("net/netfilter/nf_conntrack_acct", "net/netfilter/nf_conntrack_timestamp")
REFRESH = 2.0  # seconds between re-reads of the compiled data path (new pods, services, policies)


def _read_sysctl(netns: str, key: str) -> str:
    with nsmod.entered(netns):
        return Path("/proc/sys", key).read_text().strip()


def _kernel_logs(netns: str) -> bool:
    """Whether the node's `reject-chain` (in every table netlab makes) has its log statement yet."""
    with nsmod.entered(netns):
        proc = subprocess.run(["nft", "list", "chain", "inet", names.NFT_TABLE, names.CHAIN_REJECT],
                              capture_output=True, text=True)
    return f"group {NFLOG_GROUP}" in proc.stdout


def instrumented(dp: Dataplane) -> bool:
    marker = f"group {NFLOG_GROUP}"
    return any(marker in r for rs in dp.rulesets.values() for c in rs.chains.values() for r in c.rules)


class Observer:
    """Use as a context manager: sockets first (so nothing logged is missed), then the attach file."""

    def __init__(self, cluster: str, fetch: Callable[[], Dataplane]) -> None:
        self.run_dir = Path(names.run_dir(cluster))
        self.fetch = fetch
        self.dataplane = fetch()
        self.interp = Interpreter(self.dataplane)
        self.sockets: dict[str, NflogSocket] = {}
        self.ct_sockets: dict[str, CtEventSocket] = {}
        self._sysctls: dict[tuple[str, str], str] = {}  # (node netns, key) -> the value before we set it
        self.attach_file: Path | None = None
        self._fetched = time.monotonic()

    def __enter__(self) -> Observer:
        try:
            for node in self.dataplane.topology.nodes:
                self.sockets[node.name] = NflogSocket(node.netns, NFLOG_GROUP)
                self.ct_sockets[node.name] = CtEventSocket(node.netns)
                for key in SYSCTLS:
                    try:
                        self._sysctls[(node.netns, key)] = _read_sysctl(node.netns, key)
                    except FileNotFoundError:
                        continue  # a kernel without CONFIG_NF_CONNTRACK_TIMESTAMP: no durations in ENDED lines
                    nsmod.write_sysctl(node.netns, key, "1")
            self.attach_file = observers.attach(self.run_dir)
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc) -> None:
        if self.attach_file is not None:
            observers.detach(self.attach_file)
        for s in [*self.sockets.values(), *self.ct_sockets.values()]:
            s.close()
        self.sockets.clear()
        self.ct_sockets.clear()
        for (netns, key), value in self._sysctls.items():
            try:
                nsmod.write_sysctl(netns, key, value)
            except OSError:
                pass  # the node is gone (`down` while observing)
        self._sysctls.clear()

    @property
    def lost(self) -> int:
        return sum(s.lost for s in [*self.sockets.values(), *self.ct_sockets.values()])

    def wait_ready(self, timeout: float = 15.0) -> bool:
        """Until the controller has compiled the log statements (the served rulesets carry them) and every
        node's kernel has them (the API serves what was compiled a moment before it is applied)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._refresh(force=True)
            if instrumented(self.dataplane) and all(_kernel_logs(n.netns) for n in self.dataplane.topology.nodes):
                return True
            time.sleep(0.1)
        return False

    def _refresh(self, force: bool = False) -> None:
        if force or time.monotonic() - self._fetched >= REFRESH:
            self.dataplane = self.fetch()
            self.interp.names = Interpreter(self.dataplane).names
            self._fetched = time.monotonic()

    def poll(self, timeout: float) -> list[FlowEvent]:
        """The events of what the kernel logged within `timeout` seconds, DNATs joined to their verdicts."""
        ready, _, _ = select.select([*self.sockets.values(), *self.ct_sockets.values()], [], [], timeout)
        now = time.time()
        batch = [(node, r) for node, s in self.sockets.items() if s in ready for r in s.records()]
        cts = [(node, *e) for node, s in self.ct_sockets.items() if s in ready for e in s.events()]
        if batch or cts:
            self._refresh()
        # The nat rules' records first: a verdict on another node may be read in the same round.
        batch.sort(key=lambda nr: ":endpoint-" not in nr[1].prefix)
        events = [ev for node, r in batch
                  if (ev := self.interp.feed(node, r.prefix, r.payload, r.mark, now)) is not None]
        events += [ev for node, kind, ct in cts if (ev := self.interp.conntrack(node, kind, ct, now)) is not None]
        events += self.interp.expire(now)
        self._record(events)
        return events

    def _record(self, events: list[FlowEvent]) -> None:
        if not events:
            return
        path = self.run_dir / "observe" / HISTORY
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a") as f:
            f.writelines(ev.to_json() + "\n" for ev in events)
        if path.stat().st_size > HISTORY_BYTES:
            lines = path.read_text().splitlines(keepends=True)
            path.write_text("".join(lines[len(lines) // 2:]))


def history(cluster: str) -> Iterator[FlowEvent]:
    """The events earlier observers recorded, oldest first."""
    path = Path(names.run_dir(cluster)) / "observe" / HISTORY
    try:
        lines = path.read_text().splitlines()
    except FileNotFoundError:
        return
    for line in lines:
        try:
            yield from_dict(json.loads(line))
        except (ValueError, KeyError, TypeError):
            continue  # a line cut by a crash
