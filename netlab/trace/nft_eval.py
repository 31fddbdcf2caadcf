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

from dataclasses import dataclass, replace

from netlab.compile.nftables import Chain, Ruleset
from netlab.trace.nft_syntax import (
    NftSyntaxError,
    Stmt,
    check_refs,
    component_matches,
    is_exact,
    parse_rule,
    priority,
    split_element,
)

__all__ = ["ACCEPT", "DROP", "REJECT", "Hit", "Interpreter", "NftSyntaxError", "Packet"]

ACCEPT, DROP, REJECT = "accept", "drop", "reject"
MAX_DEPTH = 32  # the kernel's jump stack limit is 16 per base chain; deeper means a loop


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
    local_src: bool = False  # saddr is an address of the evaluating node (`fib saddr type local`)
    trail: tuple[Hit, ...] = ()

    def chains(self) -> list[str]:
        """The chains of the rules that matched, in order, without repeats."""
        return list(dict.fromkeys(h.chain for h in self.trail))


# ---------------------------------------------------------------------------------------- matching


def _family(pkt: Packet) -> str:
    return "ip6" if ":" in pkt.saddr else "ip"


def _other_family(s: Stmt, pkt: Packet) -> bool:
    """True if the statement reads the other family's header (`ip6 saddr` of an IPv4 packet): as in the
    kernel, such a statement never matches."""
    return any(k.split()[0] in ("ip", "ip6") and k.split()[0] != _family(pkt) for k in s.keys)


def _value(pkt: Packet, key: str) -> str:
    if key in ("ip6 saddr", "ip6 daddr"):
        key = key.replace("ip6", "ip")
    if key == "meta nfproto":
        return "ipv6" if _family(pkt) == "ip6" else "ipv4"
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
    if key == "fib saddr type":
        return "local" if pkt.local_src else "unicast"
    if key == "icmpv6 type":
        return ""  # the traced packets are TCP or UDP: an ICMPv6 match never takes them
    raise NftSyntaxError(f"no value for {key!r}")


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
            if all(is_exact(k) for k in key):
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

    def __init__(self, ruleset: Ruleset) -> None:
        self.ruleset = ruleset
        self._elements = {n: _Elements(s.elements) for n, s in ruleset.sets.items()}

    def check(self) -> Interpreter:
        """Every rule parses and every jump/goto/@set it or a map element names exists, whether or not a
        packet ever reaches it."""
        chains, sets = set(self.ruleset.chains), set(self.ruleset.sets)
        for name, chain in self.ruleset.chains.items():
            if chain.hook:
                priority(chain.hook)
            for i, rule in enumerate(chain.rules):
                parse_rule(rule)
                check_refs(f"chain {name} rule {i}", rule, chains, sets)
        for name, s in self.ruleset.sets.items():
            for element in s.elements:
                if " : " in element:
                    check_refs(f"map {name}", element.partition(" : ")[2], chains, sets)
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
        text = self.ruleset.chains[chain].rules[index]
        verdicts = ["continue"]
        for s in parse_rule(text):
            if _other_family(s, pkt):
                return [(pkt, "continue")]
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
                ip = ip.strip("[]")   # an IPv6 target is written [addr]:port
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
        if name not in self.ruleset.chains:
            raise NftSyntaxError(f"jump to a missing chain {name}")
        if depth > MAX_DEPTH:
            raise NftSyntaxError(f"chain loop through {name}")
        rules = self.ruleset.chains[name].rules
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
        for c in self.ruleset.chains.values():
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
