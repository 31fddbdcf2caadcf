"""The nftables syntax netlab emits, parsed into statements; anything else is an `NftSyntaxError`. Pure.

Used by the trace interpreter (`netlab.trace.nft_eval`) and by the fake `nft -f` of the unit tests.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from functools import lru_cache

_PRIORITIES = {"raw": -300, "mangle": -150, "dstnat": -100, "filter": 0, "security": 50, "srcnat": 100}
_SELECTORS = {("ip", "saddr"), ("ip", "daddr"), ("ip6", "saddr"), ("ip6", "daddr"), ("meta", "nfproto"),
              ("meta", "l4proto"), ("th", "dport"), ("tcp", "dport"),
              ("udp", "dport"), ("meta", "mark"), ("ct", "state"), ("icmpv6", "type")}
_VERDICTS = {"accept", "drop", "return", "reject", "continue"}
_TOKEN = re.compile(r'"[^"]*"|[{}]|[^\s{}]+')

class NftSyntaxError(ValueError):
    """A rule, set element or chain declaration the interpreter does not understand."""


@dataclass(frozen=True)
class Stmt:
    kind: str  # match | lookup | vmap | verdict | mark | dnat | masquerade | reject | nop
    keys: tuple[str, ...] = ()  # "ip saddr", "meta l4proto", "numgen random mod 2", ...
    op: str = "=="
    value: str = ""  # literal, "@set" or the verdict / dnat target / mark expression
    arms: tuple[str, ...] = ()  # anonymous vmap elements


def tokens(text: str) -> list[str]:
    return _TOKEN.findall(text)


def _braced(toks: list[str], i: int) -> tuple[list[str], int]:
    """The element strings inside `{ ... }` starting at toks[i] == "{", and the index after "}"."""
    if i >= len(toks) or toks[i] != "{":
        raise NftSyntaxError("expected {")
    j = toks.index("}", i)
    body = " ".join(toks[i + 1:j])
    return [e.strip() for e in body.split(",") if e.strip()], j + 1


def _keys(toks: list[str], i: int) -> tuple[tuple[str, ...], int]:
    """A selector or a concatenation of selectors (`ip daddr . meta l4proto . th dport`)."""
    keys = []
    while True:
        if toks[i:i + 3] == ["fib", "saddr", "type"]:  # the route type of the source: `local` for the node's own
            keys.append("fib saddr type")
            i += 3
        elif toks[i] == "numgen" and toks[i + 1:i + 3] == ["random", "mod"] and toks[i + 3].isdigit():
            keys.append(" ".join(toks[i:i + 4]))
            i += 4
        elif tuple(toks[i:i + 2]) in _SELECTORS:
            keys.append(" ".join(toks[i:i + 2]))
            i += 2
        else:
            raise NftSyntaxError(f"unknown selector {' '.join(toks[i:i + 2])!r}")
        if i < len(toks) and toks[i] == ".":
            i += 1
            continue
        return tuple(keys), i


def _after_keys(keys: tuple[str, ...], toks: list[str], i: int) -> tuple[Stmt, int]:
    if i >= len(toks):
        raise NftSyntaxError(f"{' . '.join(keys)} compared with nothing")
    t = toks[i]
    if t == "vmap":
        if toks[i + 1].startswith("@"):
            return Stmt("vmap", keys, value=toks[i + 1]), i + 2
        arms, j = _braced(toks, i + 1)
        return Stmt("vmap", keys, arms=tuple(arms)), j
    if keys == ("meta mark",) and t == "set":
        if toks[i + 1:i + 3] != ["meta", "mark"] or toks[i + 3] not in ("|", "^", "&"):
            raise NftSyntaxError(f"unknown mark expression {' '.join(toks[i:i + 5])!r}")
        return Stmt("mark", keys, op=toks[i + 3], value=toks[i + 4]), i + 5
    if keys == ("meta mark",) and t == "&":
        if toks[i + 2] != "==":
            raise NftSyntaxError("expected == after the mark mask")
        return Stmt("match", keys, op="&", value=f"{toks[i + 1]} {toks[i + 3]}"), i + 4
    if t in ("==", "!="):
        return Stmt("match", keys, op=t, value=toks[i + 1]), i + 2
    if t in ("{", "}") or t in _VERDICTS or t in ("jump", "goto"):
        raise NftSyntaxError(f"{' . '.join(keys)} compared with {t!r}")
    return Stmt("match", keys, value=t), i + 1


def _statement(toks: list[str], i: int) -> tuple[Stmt, int]:
    t = toks[i]
    if t in ("jump", "goto"):
        return Stmt("verdict", value=f"{t} {toks[i + 1]}"), i + 2
    if t in ("accept", "drop", "return"):
        return Stmt("verdict", value=t), i + 1
    if t == "reject":
        if toks[i + 1:i + 2] == ["with"]:
            return Stmt("verdict", value="reject"), i + 4  # reject with <family> <code>
        return Stmt("verdict", value="reject"), i + 1
    if t == "masquerade":
        j = i + 1 + (toks[i + 1:i + 2] == ["fully-random"])
        return Stmt("masquerade"), j
    if t == "dnat" and toks[i + 1] in ("ip", "ip6") and toks[i + 2:i + 3] == ["to"]:
        return Stmt("dnat", value=toks[i + 3]), i + 4   # addr:port, or [addr]:port for ip6
    if t == "counter":
        return Stmt("nop"), i + 1
    if t == "log":  # `log prefix "..." group N` (netlab observe): no effect on the packet
        j = i + 1
        while toks[j:j + 1] and toks[j] in ("prefix", "group"):
            j += 2
        return Stmt("nop", value="log"), j
    if t == "comment" and toks[i + 1].startswith('"'):
        return Stmt("nop", value=toks[i + 1]), i + 2
    if t == "update" and toks[i + 1].startswith("@"):
        keys, j = _braced(toks, i + 2)
        for k in keys:
            _keys(tokens(k), 0)
        return Stmt("nop", value=toks[i + 1]), j
    keys, j = _keys(toks, i)
    if j < len(toks) and toks[j].startswith("@"):
        return Stmt("lookup", keys, value=toks[j]), j + 1
    return _after_keys(keys, toks, j)


@lru_cache(maxsize=65536)
def parse_rule(text: str) -> tuple[Stmt, ...]:
    """The statements of one rule; NftSyntaxError for anything netlab does not emit."""
    toks = tokens(text)
    out: list[Stmt] = []
    i = 0
    try:
        while i < len(toks):
            stmt, i = _statement(toks, i)
            out.append(stmt)
    except (IndexError, ValueError) as e:
        raise NftSyntaxError(f"cannot interpret rule {text!r}: {e}") from None
    final = [s for s in out if s.kind in ("verdict", "vmap", "dnat", "masquerade")]
    if len(final) > 1 or (final and any(s.kind not in ("nop",) for s in out[out.index(final[0]) + 1:])):
        raise NftSyntaxError(f"cannot interpret rule {text!r}: statements after its verdict")
    return tuple(out)


_JUMPS = re.compile(r"(?:jump|goto)\s+([^\s,}]+)")
_SETS = re.compile(r"@([^\s,}]+)")


@lru_cache(maxsize=65536)
def references(text: str) -> tuple[frozenset[str], frozenset[str]]:
    """(chains, sets) one rule or map element refers to."""
    return frozenset(_JUMPS.findall(text)), frozenset(_SETS.findall(text))


def priority(hook: str) -> tuple[str, str, int, str]:
    """`type nat hook prerouting priority dstnat - 10; policy accept;` -> (type, hook, -110, policy)."""
    m = re.fullmatch(r"type (\w+) hook (\w+) priority ([^;]+); policy (accept|drop);", hook.strip())
    if not m:
        raise NftSyntaxError(f"cannot interpret chain declaration {hook!r}")
    expr = m[3].split()
    if expr[0] not in _PRIORITIES and not re.fullmatch(r"-?\d+", expr[0]):
        raise NftSyntaxError(f"cannot interpret priority {m[3]!r}")
    value = _PRIORITIES[expr[0]] if expr[0] in _PRIORITIES else int(expr[0])
    if len(expr) == 3 and expr[1] in "+-" and expr[2].isdigit():
        value += int(expr[2]) * (1 if expr[1] == "+" else -1)
    elif len(expr) != 1:
        raise NftSyntaxError(f"cannot interpret priority {m[3]!r}")
    return m[1], m[2], value, m[4]


def component_matches(pattern: str, value: str) -> bool:
    """One element component: address, prefix, range (addresses or numbers), protocol or number."""
    if pattern == value:
        return True
    try:
        if "/" in pattern:
            return ipaddress.ip_address(value) in ipaddress.ip_network(pattern, strict=False)
        if "-" in pattern and pattern[0].isdigit():
            lo, hi = pattern.split("-", 1)
            if lo.isdigit() and hi.isdigit() and value.isdigit():
                return int(lo) <= int(value) <= int(hi)
            return ipaddress.ip_address(lo) <= ipaddress.ip_address(value) <= ipaddress.ip_address(hi)
        if pattern[0].isdigit() and "." in pattern and "." in value:
            return ipaddress.ip_address(pattern) == ipaddress.ip_address(value)
    except ValueError:
        return False
    return False


def split_element(element: str) -> tuple[list[str], str | None]:
    """`10.96.0.1 . tcp . 80 : goto x` -> (["10.96.0.1", "tcp", "80"], "goto x")."""
    key, sep, verdict = element.partition(" : ")
    return [k.strip() for k in key.split(" . ")], (verdict.strip() if sep else None)


def check_refs(where: str, text: str, chains: set[str], sets: set[str]) -> None:
    used_chains, used_sets = references(text)
    missing = [f"chain {c}" for c in sorted(used_chains - chains)] + [f"set @{s}" for s in sorted(used_sets - sets)]
    if missing:
        raise NftSyntaxError(f"{where} refers to a missing {', '.join(missing)}")


def is_exact(component: str) -> bool:
    return "/" not in component and not ("-" in component and component[:1].isdigit())
