"""nftables state as data, rendered to `nft -f` text, and the transaction between two states.

kube-proxy's nftables mode is the model: one private table, a few static base chains that dispatch
through maps, small generated chains per service/endpoint/policy, and changes applied as one atomic
transaction that touches only the chains and elements that differ.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

FAMILY = "inet"


@dataclass(frozen=True)
class Chain:
    name: str
    rules: tuple[str, ...] = ()
    hook: str | None = None  # e.g. "type nat hook prerouting priority dstnat; policy accept;"
    # Must not change over the chain's life: render_diff keeps a chain, and the kernel its first comment.
    comment: str | None = None
    # Why each rule is there, e.g. "default/web ingress rule 0" (not rendered): `netlab trace` names the
    # rule that decided with it. Not compared: two chains with the same rules are the same kernel state.
    notes: tuple[str, ...] = field(default=(), compare=False)


@dataclass(frozen=True)
class SetOrMap:
    name: str
    declaration: str  # e.g. "type ipv4_addr . inet_proto . inet_service : verdict;"
    elements: frozenset[str] = frozenset()
    comment: str | None = None


@dataclass
class Ruleset:
    """Everything netlab wants in one namespace's `inet netlab` table."""

    table: str = "netlab"
    chains: dict[str, Chain] = field(default_factory=dict)
    sets: dict[str, SetOrMap] = field(default_factory=dict)

    def add_chain(self, chain: Chain) -> None:
        if chain.name in self.chains:
            raise ValueError(f"duplicate chain {chain.name}")
        self.chains[chain.name] = chain

    def add_set(self, s: SetOrMap) -> None:
        if s.name in self.sets:
            raise ValueError(f"duplicate set {s.name}")
        self.sets[s.name] = s

    def merge(self, other: Ruleset) -> None:
        for c in other.chains.values():
            self.add_chain(c)
        for s in other.sets.values():
            self.add_set(s)


def quote(name: str) -> str:
    """Chain and set names (letters, digits, `-_./`) need no quoting; one place to change if they do."""
    return name


def _chain_decl(chain: Chain) -> str:
    parts = []
    if chain.comment:
        parts.append(f'comment "{chain.comment}";')
    if chain.hook:
        parts.append(chain.hook)
    return " ".join(parts)


def _set_body(s: SetOrMap) -> str:
    body = s.declaration
    if s.comment:
        body += f' comment "{s.comment}";'
    return body


def _kind(s: SetOrMap) -> str:
    return "map" if ":" in s.declaration.split(";")[0] else "set"


def _elements(s: SetOrMap) -> list[str]:
    return sorted(s.elements)


def render_full(ruleset: Ruleset) -> str:
    """A transaction that replaces the table whole (first sync, or after a controller restart)."""
    t = f"{FAMILY} {ruleset.table}"
    lines = [f"add table {t}", f"delete table {t}", f"add table {t}"]
    lines += _create_objects(ruleset, t, ruleset.sets.values(), ruleset.chains.values())
    return "\n".join(lines) + "\n"


def _create_objects(ruleset: Ruleset, t: str, sets, chains) -> list[str]:
    lines = []
    sets = sorted(sets, key=lambda s: s.name)
    chains = sorted(chains, key=lambda c: c.name)
    for s in sets:
        lines.append(f"add {_kind(s)} {t} {quote(s.name)} {{ {_set_body(s)} }}")
    # Declare every chain before any element or rule, so jumps and gotos resolve.
    for c in chains:
        lines.append(f"add chain {t} {quote(c.name)} {{ {_chain_decl(c)} }}")
    for s in sets:
        lines += _add_elements(t, s, _elements(s))
    for c in chains:
        lines += [f"add rule {t} {quote(c.name)} {rule}" for rule in c.rules]
    return lines


def _add_elements(t: str, s: SetOrMap, elements: list[str], chunk: int = 1000) -> list[str]:
    return [f"add element {t} {quote(s.name)} {{ {', '.join(elements[i:i + chunk])} }}"
            for i in range(0, len(elements), chunk)]


def _delete_elements(t: str, s: SetOrMap, elements: list[str], chunk: int = 1000) -> list[str]:
    return [f"delete element {t} {quote(s.name)} {{ {', '.join(elements[i:i + chunk])} }}"
            for i in range(0, len(elements), chunk)]


def render_diff(old: Ruleset, new: Ruleset) -> str:
    """The smallest transaction taking the kernel from `old` (what netlab applied) to `new`.

    Order matters inside one transaction: everything is declared before rules and elements refer to
    it; a set whose declaration changed (an affinity timeout) can only be deleted and declared again
    once no rule refers to it, so the chains that use it are flushed first and refilled after; map
    elements that point at a chain go before the chain is deleted.
    """
    t = f"{FAMILY} {new.table}"
    kept = {n for n, c in new.chains.items() if n in old.chains and old.chains[n].hook == c.hook}
    new_chains = [c for n, c in new.chains.items() if n not in kept]
    gone_chains = [c for n, c in old.chains.items() if n not in kept]
    fresh_sets = [s for n, s in new.sets.items() if n not in old.sets]
    redeclared = [s for n, s in new.sets.items() if n in old.sets and old.sets[n].declaration != s.declaration]
    gone_sets = [s for n, s in old.sets.items() if n not in new.sets]
    users = {n for n in kept for r in old.chains[n].rules for s in redeclared if _refers(r, s.name)}
    refill = sorted({n for n in kept if old.chains[n].rules != new.chains[n].rules} | users)

    lines = [f"add {_kind(s)} {t} {quote(s.name)} {{ {_set_body(s)} }}" for s in sorted(fresh_sets, key=_name)]
    lines += [f"add chain {t} {quote(c.name)} {{ {_chain_decl(c)} }}" for c in sorted(new_chains, key=_name)]
    # Flush before any delete: a rule of a refilled or vanishing chain may use what goes.
    lines += [f"flush chain {t} {quote(n)}" for n in refill]
    lines += [f"flush chain {t} {quote(c.name)}" for c in sorted(gone_chains, key=_name)]
    for s in sorted(redeclared, key=_name):
        lines += [f"delete {_kind(old.sets[s.name])} {t} {quote(s.name)}",
                  f"add {_kind(s)} {t} {quote(s.name)} {{ {_set_body(s)} }}"]
    for s in sorted(fresh_sets + redeclared, key=_name):
        lines += _add_elements(t, s, _elements(s))
    for c in sorted(new_chains, key=_name):
        lines += [f"add rule {t} {quote(c.name)} {rule}" for rule in c.rules]
    for n in refill:
        lines += [f"add rule {t} {quote(n)} {rule}" for rule in new.chains[n].rules]
    for name, s in sorted(new.sets.items()):
        if name in old.sets and old.sets[name].declaration == s.declaration:
            lines += _delete_elements(t, s, sorted(old.sets[name].elements - s.elements))
            lines += _add_elements(t, s, sorted(s.elements - old.sets[name].elements))
    for s in sorted(gone_sets, key=_name):
        lines.append(f"delete {_kind(s)} {t} {quote(s.name)}")
    for c in sorted(gone_chains, key=_name):
        lines.append(f"delete chain {t} {quote(c.name)}")
    return "\n".join(lines) + ("\n" if lines else "")


def _name(obj: Chain | SetOrMap) -> str:
    return obj.name


def _refers(rule: str, set_name: str) -> bool:
    return re.search(r"@" + re.escape(set_name) + r"(?![\w./-])", rule) is not None
