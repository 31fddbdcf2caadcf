"""The kernel's own view of one flow: nftables tracing (`meta nftrace`) read back with `nft monitor trace`.

For each node the packet crosses, a chain `trace-prerouting` (or `trace-output` for a node's own
probe) is added to the node's `inet netlab` table at priority -350 (before conntrack and NAT), with
rules that set `meta nftrace` only for this flow's addresses and ports. `nft monitor trace` runs in
each of those namespaces while the probe is sent; its lines are parsed into (chain, rule, verdict).
The trace chains are always deleted afterwards, and no other table is ever touched.
"""

from __future__ import annotations

import re
import subprocess
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TypeVar

from netlab.compile import names
from netlab.kernel import netns as nsmod
from netlab.kernel import nft
from netlab.trace.result import TracePoint

T = TypeVar("T")
TRACE_PREFIX = names.CHAIN_TRACE_PREFIX
PRIORITY = -350
TABLE = f"inet {names.NFT_TABLE}"


@dataclass(frozen=True)
class TraceEvent:
    """One line of `nft monitor trace`."""

    node: str
    id: str
    table: str  # "inet netlab"
    chain: str
    kind: str  # packet | rule | verdict | policy | other
    rule: str  # the rule text (kind rule), the packet summary (kind packet), else ""
    verdict: str  # "jump services", "accept", "continue", ... ("" for packet lines)
    raw: str


_LINE = re.compile(r"^trace id (?P<id>\S+) (?P<family>\S+) (?P<table>\S+) (?P<chain>\S+) (?P<rest>.*)$")
_RULE = re.compile(r"^rule (?P<rule>.*?) \(verdict (?P<verdict>[^)]*)\)\s*$")


def parse_line(node: str, line: str) -> TraceEvent | None:
    """`trace id 7c1f inet netlab nat-prerouting rule jump services (verdict jump services)` -> TraceEvent."""
    m = _LINE.match(line.strip())
    if not m:
        return None
    rest = m["rest"].strip()
    table = f"{m['family']} {m['table']}"
    if rest.startswith("packet:"):
        return TraceEvent(node, m["id"], table, m["chain"], "packet", rest[len("packet:"):].strip(), "", line)
    r = _RULE.match(rest)
    if r:
        return TraceEvent(node, m["id"], table, m["chain"], "rule", r["rule"], r["verdict"], line)
    for kind in ("verdict", "policy"):
        if rest.startswith(kind + " "):
            return TraceEvent(node, m["id"], table, m["chain"], kind, "", rest[len(kind):].strip(), line)
    return TraceEvent(node, m["id"], table, m["chain"], "other", rest, "", line)


def parse(node: str, text: str) -> list[TraceEvent]:
    return [e for e in (parse_line(node, ln) for ln in text.splitlines()) if e is not None]


def chain_name(hook: str) -> str:
    return f"{TRACE_PREFIX}{hook}"


def match_rule(point: TracePoint, proto: str) -> str:
    ip = "ip6" if ":" in point.daddr else "ip"
    saddr = f"{ip} saddr {point.saddr} " if point.saddr else ""
    return f"{saddr}{ip} daddr {point.daddr} {proto} dport {point.dport} meta nftrace set 1"


def _hook_decl(hook: str) -> str:
    return f"type filter hook {hook} priority {PRIORITY}; policy accept;"


def render_add(hook: str, rules: Iterable[str]) -> str:
    chain = chain_name(hook)
    lines = [f"add chain {TABLE} {chain} {{ {_hook_decl(hook)} }}", f"flush chain {TABLE} {chain}"]
    lines += [f"add rule {TABLE} {chain} {r}" for r in rules]
    return "\n".join(lines) + "\n"


def render_delete(hook: str) -> str:
    """Idempotent: declaring the chain first makes the delete succeed whether or not it still exists."""
    chain = chain_name(hook)
    return (f"add chain {TABLE} {chain} {{ {_hook_decl(hook)} }}\n"
            f"flush chain {TABLE} {chain}\ndelete chain {TABLE} {chain}\n")


def plan_rules(points: Iterable[TracePoint], proto: str) -> dict[tuple[str, str], list[str]]:
    """(node, hook) -> the trace rules for that node's chain, deduplicated, in order."""
    out: dict[tuple[str, str], list[str]] = {}
    for p in points:
        rules = out.setdefault((p.node, p.hook), [])
        rule = match_rule(p, proto)
        if rule not in rules:
            rules.append(rule)
    return out


def traced(points: Iterable[TracePoint], proto: str, probe: Callable[[], T], *, settle: float = 0.3,
           linger: float = 0.3, node_netns: Callable[[str], str] = names.node_netns
           ) -> tuple[T, dict[str, list[TraceEvent]], list[str]]:
    """Run `probe()` with tracing enabled for the flow; return (probe result, events per node, problems).

    Problems are what could not be done (a node without the netlab table, nft errors); the probe still runs.
    """
    wanted = plan_rules(points, proto)
    nodes = sorted({node for node, _ in wanted})
    monitors: dict[str, subprocess.Popen] = {}
    installed: list[tuple[str, str]] = []
    problems: list[str] = []
    try:
        for node in nodes:
            with nsmod.entered(node_netns(node)):
                monitors[node] = subprocess.Popen(["stdbuf", "-oL", "nft", "monitor", "trace"],
                                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        time.sleep(settle)  # let every monitor subscribe before the first packet
        try:
            for (node, hook), rules in wanted.items():
                try:
                    nft.apply(node_netns(node), render_add(hook, rules))
                    installed.append((node, hook))
                except nft.NftError as e:
                    problems.append(f"{node}: could not add {chain_name(hook)}: {e}")
            result = probe()
            time.sleep(linger)  # trace events for the last packets
        finally:
            for node, hook in installed:
                try:
                    nft.apply(node_netns(node), render_delete(hook))
                except nft.NftError as e:
                    problems.append(f"{node}: could not delete {chain_name(hook)}: {e}")
    finally:
        events: dict[str, list[TraceEvent]] = {}
        for node, proc in monitors.items():
            proc.terminate()
            try:
                out, _ = proc.communicate(timeout=3)
            except subprocess.TimeoutExpired:
                proc.kill()
                out, _ = proc.communicate()
            events[node] = parse(node, out or "")
    return result, events, problems


def summarize(events: list[TraceEvent]) -> list[tuple[str, str, str]]:
    """(chain, rule, verdict) for the rule/verdict/policy lines of one node, in order."""
    out = []
    for e in events:
        if e.kind == "rule":
            out.append((e.chain, e.rule, e.verdict))
        elif e.kind in ("verdict", "policy"):
            out.append((e.chain, e.kind, e.verdict))
    return out
