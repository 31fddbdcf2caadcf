"""An interpreter for the nftables rules netlab compiles: walk one packet through a `Ruleset`. Pure.

The idea is kube-proxy's `nftablesTracer` (pkg/proxy/nftables/helpers_test.go): instead of a second,
hand-written model of what the rules mean, evaluate the rules themselves. Only the syntax netlab emits
is understood; anything else raises `NftSyntaxError`, so a rule change the tracer cannot follow fails
its tests instead of passing silently.

Base chains of one hook run in priority order. `accept` ends a base chain (the next one still runs),
`drop`/`reject` end the packet. `numgen random` does not pick: every arm is followed, so a service
gives one result per endpoint. Every connection is treated as new (`ct state new`), as the first
packet of a connection is what NAT and policy decide on.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, replace
from functools import lru_cache

from netlab.compile.nftables import Chain, Ruleset

ACCEPT, DROP, REJECT = "accept", "drop", "reject"
_PRIORITIES = {"raw": -300, "mangle": -150, "dstnat": -100, "filter": 0, "security": 50, "srcnat": 100}
_SELECTORS = {("ip", "saddr"), ("ip", "daddr"), ("meta", "l4proto"), ("th", "dport"), ("tcp", "dport"),
              ("udp", "dport"), ("meta", "mark"), ("ct", "state")}
_VERDICTS = {"accept", "drop", "return", "reject", "continue"}
_TOKEN = re.compile(r'"[^"]*"|[{}]|[^\s{}]+')
MAX_DEPTH = 32  # the kernel's jump stack limit is 16 per base chain; deeper means a loop


class NftSyntaxError(ValueError):
    """A rule, set element or chain declaration the interpreter does not understand."""


@dataclass(frozen=True)
class Hit:
    """One rule that matched: where, its text, and what it did (`goto x`, `accept`, `continue`, ...)."""

    chain: str
    index: int
    rule: str
    verdict: str


@dataclass(frozen=True)
class Packet:
    """The packet as the rules see it, with what the rules did to it so far."""

    saddr: str
    daddr: str
    proto: str  # tcp | udp
    dport: int
    mark: int = 0
    ct_state: str = "new"
    dnat: tuple[str, int] | None = None
    masquerade: bool = False
    verdict: str | None = None  # None: still going (fell off a chain or returned)
    trail: tuple[Hit, ...] = ()

    def chains(self) -> list[str]:
        """The chains of the rules that matched, in order, without repeats."""
        return list(dict.fromkeys(h.chain for h in self.trail))


# ------------------------------------------------------------------------------------------- parsing


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
        if toks[i] == "numgen" and toks[i + 1:i + 3] == ["random", "mod"] and toks[i + 3].isdigit():
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
            return Stmt("verdict", value=REJECT), i + 4  # reject with <family> <code>
        return Stmt("verdict", value=REJECT), i + 1
    if t == "masquerade":
        j = i + 1 + (toks[i + 1:i + 2] == ["fully-random"])
        return Stmt("masquerade"), j
    if t == "dnat" and toks[i + 1:i + 3] == ["ip", "to"]:
        return Stmt("dnat", value=toks[i + 3]), i + 4
    if t == "counter":
        return Stmt("nop"), i + 1
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


# ---------------------------------------------------------------------------------------- matching


def _value(pkt: Packet, key: str) -> str:
    if key == "ip saddr":
        return pkt.saddr
    if key == "ip daddr":
        return pkt.daddr
    if key == "meta l4proto":
        return pkt.proto
    if key in ("th dport", "tcp dport", "udp dport"):
        return str(pkt.dport)
    if key == "meta mark":
        return str(pkt.mark)
    if key == "ct state":
        return pkt.ct_state
    raise NftSyntaxError(f"no value for {key!r}")


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


def _check_refs(where: str, text: str, chains: set[str], sets: set[str]) -> None:
    used_chains, used_sets = references(text)
    missing = [f"chain {c}" for c in sorted(used_chains - chains)] + [f"set @{s}" for s in sorted(used_sets - sets)]
    if missing:
        raise NftSyntaxError(f"{where} refers to a missing {', '.join(missing)}")


def _is_exact(component: str) -> bool:
    return "/" not in component and not ("-" in component and component[:1].isdigit())


class _Elements:
    """A set's elements, indexed: exact keys in a dict, prefixes and ranges scanned."""

    def __init__(self, elements: frozenset[str]) -> None:
        self.exact: dict[tuple[str, ...], list[str | None]] = {}
        self.ranged: list[tuple[list[str], str | None]] = []
        self.width: int | None = None
        for e in sorted(elements):
            key, verdict = split_element(e)
            if self.width is not None and len(key) != self.width:
                raise NftSyntaxError(f"element {e!r} has {len(key)} keys, others {self.width}")
            self.width = len(key)
            if all(_is_exact(k) for k in key):
                self.exact.setdefault(tuple(key), []).append(verdict)
            else:
                self.ranged.append((key, verdict))

    def matching(self, values: list[str]) -> list[str | None]:
        if self.width is not None and len(values) != self.width:
            raise NftSyntaxError(f"{len(values)} keys looked up in elements of {self.width}")
        out = list(self.exact.get(tuple(values), []))
        out += [v for k, v in self.ranged if all(component_matches(p, x) for p, x in zip(k, values, strict=True))]
        return out


class Interpreter:
    """Evaluate packets against one node's compiled `Ruleset`."""

    def __init__(self, rs: Ruleset) -> None:
        self.rs = rs
        self._elements = {n: _Elements(s.elements) for n, s in rs.sets.items()}

    def check(self) -> Interpreter:
        """Every rule parses and every jump/goto/@set it or a map element names exists, whether or not a
        packet ever reaches it."""
        chains, sets = set(self.rs.chains), set(self.rs.sets)
        for name, chain in self.rs.chains.items():
            if chain.hook:
                priority(chain.hook)
            for i, rule in enumerate(chain.rules):
                parse_rule(rule)
                _check_refs(f"chain {name} rule {i}", rule, chains, sets)
        for name, s in self.rs.sets.items():
            for element in s.elements:
                if " : " in element:
                    _check_refs(f"map {name}", element.partition(" : ")[2], chains, sets)
        return self

    def _lookup(self, ref: str, values: list[str]) -> list[str | None]:
        """The verdicts (None for a plain set) of the elements of @ref that match `values`."""
        name = ref.removeprefix("@")
        if name not in self._elements:
            raise NftSyntaxError(f"reference to a missing set @{name}")
        return self._elements[name].matching(values)

    def _match(self, s: Stmt, pkt: Packet) -> bool:
        if s.op == "&":
            mask, want = (int(x, 0) for x in s.value.split())
            return (pkt.mark & mask) == want
        value = _value(pkt, s.keys[0])
        if s.keys[0] == "ct state":
            hit = value in s.value.split(",")
        elif s.keys[0] in ("tcp dport", "udp dport"):
            hit = pkt.proto == s.keys[0].split()[0] and component_matches(s.value, value)
        else:
            hit = component_matches(s.value, value)
        return hit if s.op == "==" else not hit

    def _vmap(self, s: Stmt, pkt: Packet) -> list[str]:
        if s.keys[0].startswith("numgen"):
            mod = int(s.keys[0].split()[-1])
            arms = [split_element(a) for a in s.arms]
            if sorted(int(k[0]) for k, _ in arms) != list(range(mod)):
                raise NftSyntaxError(f"numgen mod {mod} map does not cover 0..{mod - 1}")
            return [v for _, v in arms if v]
        values = [_value(pkt, k) for k in s.keys]
        if s.value:
            return [v for v in self._lookup(s.value, values) if v]
        return [v for k, v in (split_element(a) for a in s.arms)
                if v and all(component_matches(p, x) for p, x in zip(k, values, strict=True))]

    def rule(self, chain: str, index: int, pkt: Packet) -> list[tuple[Packet, str]]:
        """[(packet after the rule, verdict)] ("continue": the rule did not decide); several for numgen."""
        text = self.rs.chains[chain].rules[index]
        verdicts = ["continue"]
        for s in parse_rule(text):
            if s.kind == "match" and not self._match(s, pkt):
                return [(pkt, "continue")]
            if s.kind == "lookup":
                values = [_value(pkt, k) for k in s.keys]
                if not self._lookup(s.value, values):
                    return [(pkt, "continue")]
            elif s.kind == "mark":
                arg = int(s.value, 0)
                pkt = replace(pkt, mark={"|": pkt.mark | arg, "^": pkt.mark ^ arg, "&": pkt.mark & arg}[s.op])
            elif s.kind == "dnat":
                ip, _, port = s.value.rpartition(":")
                pkt = replace(pkt, daddr=ip, dport=int(port), dnat=(ip, int(port)))
                verdicts = [ACCEPT]
            elif s.kind == "masquerade":
                pkt, verdicts = replace(pkt, masquerade=True), [ACCEPT]
            elif s.kind == "verdict":
                verdicts = [s.value]
            elif s.kind == "vmap":
                verdicts = self._vmap(s, pkt)
                if not verdicts:
                    return [(pkt, "continue")]
        return [(replace(pkt, trail=(*pkt.trail, Hit(chain, index, text, v))), v) for v in verdicts]

    def chain(self, name: str, pkt: Packet, start: int = 0, depth: int = 0) -> list[Packet]:
        """Run `name` from rule `start`: packets with a final verdict, or None (fell off / returned)."""
        if name not in self.rs.chains:
            raise NftSyntaxError(f"jump to a missing chain {name}")
        if depth > MAX_DEPTH:
            raise NftSyntaxError(f"chain loop through {name}")
        rules = self.rs.chains[name].rules
        for i in range(start, len(rules)):
            outs = self.rule(name, i, pkt)
            if len(outs) == 1 and outs[0][1] == "continue":
                pkt = outs[0][0]
                continue
            results: list[Packet] = []
            for p, verdict in outs:
                results += self._follow(name, i, p, verdict, depth)
            return results
        return [pkt]

    def _follow(self, name: str, i: int, pkt: Packet, verdict: str, depth: int) -> list[Packet]:
        if verdict == "continue":
            return self.chain(name, pkt, i + 1, depth)
        if verdict == "return":
            return [pkt]
        if verdict in (ACCEPT, DROP, REJECT):
            return [replace(pkt, verdict=verdict)]
        kind, target = verdict.split(None, 1)
        if kind == "goto":
            return self.chain(target, pkt, 0, depth + 1)
        out = []
        for p in self.chain(target, pkt, 0, depth + 1):
            out += [p] if p.verdict else self.chain(name, p, i + 1, depth)
        return out

    def base_chains(self, hook: str) -> list[tuple[int, Chain, str]]:
        found = []
        for c in self.rs.chains.values():
            if c.hook:
                _type, h, prio, policy = priority(c.hook)
                if h == hook:
                    found.append((prio, c, policy))
        return sorted(found, key=lambda t: (t[0], t[1].name))

    def hook(self, hook: str, pkt: Packet) -> list[Packet]:
        """Every base chain of `hook` in priority order; each result has verdict accept, drop or reject."""
        live = [replace(pkt, verdict=None)]
        done: list[Packet] = []
        for _prio, c, policy in self.base_chains(hook):
            nxt = []
            for p in live:
                for q in self.chain(c.name, p):
                    verdict = q.verdict or policy
                    if verdict == ACCEPT:
                        nxt.append(replace(q, verdict=None))
                    else:
                        done.append(replace(q, verdict=verdict))
            live = nxt
        return done + [replace(p, verdict=ACCEPT) for p in live]
