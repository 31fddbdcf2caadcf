"""A fake `nft -f` for unit tests: applies netlab's transactions to an in-memory table.

It understands the commands `netlab.compile.nftables` renders (add/delete table, add set/map/chain,
add/delete element, add rule, flush/delete chain, delete set/map) and checks what the kernel would
refuse, in transaction order: rules and map elements that jump/goto a missing chain or name a missing
@set, rules the tracer cannot interpret, deleting a chain or set something still refers to, deleting
an element that is not there, interval elements in a set without `flags interval`. A transaction that
fails changes nothing, as with `nft -f`.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field

from netlab.compile.nftables import Chain, Ruleset, SetOrMap
from netlab.trace.nft_syntax import NftSyntaxError, parse_rule, priority, references, split_element


class NftError(ValueError):
    """What `nft -f` would print before refusing the whole transaction."""


@dataclass
class FakeSet:
    kind: str  # set | map
    body: str
    elements: set[str] = field(default_factory=set)

    @property
    def declaration(self) -> str:
        return re.sub(r'\s*comment "[^"]*";', "", self.body).strip()


@dataclass
class FakeChain:
    body: str
    rules: list[str] = field(default_factory=list)

    @property
    def hook(self) -> str | None:
        rest = re.sub(r'comment "[^"]*";', "", self.body).strip()
        return rest or None


@dataclass
class FakeTable:
    sets: dict[str, FakeSet] = field(default_factory=dict)
    chains: dict[str, FakeChain] = field(default_factory=dict)


_OBJ = r"(?P<family>\w+) (?P<table>\S+)"
_CMDS = [
    ("add_table", re.compile(rf"add table {_OBJ}$")),
    ("delete_table", re.compile(rf"delete table {_OBJ}$")),
    ("add_set", re.compile(rf"add (?P<kind>set|map) {_OBJ} (?P<name>\S+) \{{ (?P<body>.*) \}}$")),
    ("add_chain", re.compile(rf"add chain {_OBJ} (?P<name>\S+) \{{ ?(?P<body>.*?) ?\}}$")),
    ("add_element", re.compile(rf"add element {_OBJ} (?P<name>\S+) \{{ (?P<body>.*) \}}$")),
    ("delete_element", re.compile(rf"delete element {_OBJ} (?P<name>\S+) \{{ (?P<body>.*) \}}$")),
    ("add_rule", re.compile(rf"add rule {_OBJ} (?P<name>\S+) (?P<body>.+)$")),
    ("flush_chain", re.compile(rf"flush chain {_OBJ} (?P<name>\S+)$")),
    ("delete_chain", re.compile(rf"delete chain {_OBJ} (?P<name>\S+)$")),
    ("delete_set", re.compile(rf"delete (?P<kind>set|map) {_OBJ} (?P<name>\S+)$")),
]


def _elements(body: str) -> list[str]:
    return [e.strip() for e in body.split(",") if e.strip()]


class FakeNft:
    def __init__(self) -> None:
        self.tables: dict[str, FakeTable] = {}
        self.transactions = 0

    def apply(self, text: str) -> None:
        """Apply one transaction atomically; NftError (and no change at all) if any command fails."""
        work = copy.deepcopy(self.tables)
        for n, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            for op, pattern in _CMDS:
                m = pattern.match(line)
                if m:
                    try:
                        getattr(self, "_" + op)(work, m)
                    except (NftError, NftSyntaxError) as e:
                        raise NftError(f"line {n}: {e}: {line[:200]}") from None
                    break
            else:
                raise NftError(f"line {n}: syntax error: {line[:200]}")
        self.tables = work
        self.transactions += 1

    # ----- commands -----

    @staticmethod
    def _table(work: dict[str, FakeTable], m: re.Match) -> FakeTable:
        key = f"{m['family']} {m['table']}"
        if key not in work:
            raise NftError(f"No such file or directory: table {key}")
        return work[key]

    def _add_table(self, work: dict[str, FakeTable], m: re.Match) -> None:
        work.setdefault(f"{m['family']} {m['table']}", FakeTable())

    def _delete_table(self, work: dict[str, FakeTable], m: re.Match) -> None:
        self._table(work, m)
        del work[f"{m['family']} {m['table']}"]

    def _add_set(self, work: dict[str, FakeTable], m: re.Match) -> None:
        t = self._table(work, m)
        old = t.sets.get(m["name"])
        if old is not None and (old.kind, old.body) != (m["kind"], m["body"]):
            raise NftError(f"File exists: {m['kind']} {m['name']} with another declaration")
        if old is None:
            t.sets[m["name"]] = FakeSet(m["kind"], m["body"])

    def _add_chain(self, work: dict[str, FakeTable], m: re.Match) -> None:
        t = self._table(work, m)
        chain = FakeChain(m["body"])
        if chain.hook:
            priority(chain.hook)
        old = t.chains.get(m["name"])
        if old is not None and old.hook != chain.hook:
            raise NftError(f"File exists: chain {m['name']} with another hook")
        t.chains.setdefault(m["name"], chain)

    def _check_refs(self, t: FakeTable, text: str) -> None:
        chains, sets = references(text)
        for c in chains:
            if c not in t.chains:
                raise NftError(f"Could not process rule: No such file or directory: chain {c}")
        for s in sets:
            if s not in t.sets:
                raise NftError(f"Could not process rule: No such file or directory: set @{s}")

    def _add_element(self, work: dict[str, FakeTable], m: re.Match) -> None:
        t = self._table(work, m)
        s = t.sets.get(m["name"])
        if s is None:
            raise NftError(f"No such file or directory: set {m['name']}")
        for e in _elements(m["body"]):
            key, verdict = split_element(e)
            if (verdict is None) != (s.kind == "set"):
                raise NftError(f"element {e!r} does not fit {s.kind} {m['name']}")
            if "interval" not in s.declaration and any("/" in k or re.fullmatch(r"[\d.]+-[\d.]+", k) for k in key):
                raise NftError(f"interval element {e!r} in {m['name']}, which has no `flags interval`")
            self._check_refs(t, verdict or "")
            s.elements.add(e)

    def _delete_element(self, work: dict[str, FakeTable], m: re.Match) -> None:
        t = self._table(work, m)
        s = t.sets.get(m["name"])
        if s is None:
            raise NftError(f"No such file or directory: set {m['name']}")
        for e in _elements(m["body"]):
            if e not in s.elements:
                raise NftError(f"No such file or directory: element {e!r} in {m['name']}")
            s.elements.remove(e)

    def _add_rule(self, work: dict[str, FakeTable], m: re.Match) -> None:
        t = self._table(work, m)
        if m["name"] not in t.chains:
            raise NftError(f"No such file or directory: chain {m['name']}")
        parse_rule(m["body"])
        self._check_refs(t, m["body"])
        t.chains[m["name"]].rules.append(m["body"])

    def _flush_chain(self, work: dict[str, FakeTable], m: re.Match) -> None:
        t = self._table(work, m)
        if m["name"] not in t.chains:
            raise NftError(f"No such file or directory: chain {m['name']}")
        t.chains[m["name"]].rules.clear()

    def _users(self, t: FakeTable, chain: str | None = None, set_name: str | None = None) -> list[str]:
        users = []
        for cname, c in t.chains.items():
            for r in c.rules:
                chains, sets = references(r)
                if chain in chains or set_name in sets:
                    users.append(f"chain {cname}")
        for sname, s in t.sets.items():
            for e in s.elements:
                chains, _sets = references(split_element(e)[1] or "")
                if chain in chains:
                    users.append(f"map {sname}")
        return users

    def _delete_chain(self, work: dict[str, FakeTable], m: re.Match) -> None:
        t = self._table(work, m)
        c = t.chains.get(m["name"])
        if c is None:
            raise NftError(f"No such file or directory: chain {m['name']}")
        users = self._users(t, chain=m["name"])
        if c.rules or users:
            raise NftError(f"Device or resource busy: chain {m['name']} (rules: {len(c.rules)}, used by "
                           f"{', '.join(sorted(set(users))) or 'nothing'})")
        del t.chains[m["name"]]

    def _delete_set(self, work: dict[str, FakeTable], m: re.Match) -> None:
        t = self._table(work, m)
        if m["name"] not in t.sets:
            raise NftError(f"No such file or directory: {m['kind']} {m['name']}")
        users = self._users(t, set_name=m["name"])
        if users:
            raise NftError(f"Device or resource busy: {m['kind']} {m['name']} used by {', '.join(sorted(set(users)))}")
        del t.sets[m["name"]]

    # ----- reading back -----

    def ruleset(self, table: str = "inet netlab") -> Ruleset:
        """The table as a `Ruleset` (comments dropped), e.g. to compare or to run the trace interpreter on."""
        t = self.tables[table]
        rs = Ruleset(table=table.split()[1])
        for name, s in t.sets.items():
            rs.add_set(SetOrMap(name, s.declaration, frozenset(s.elements)))
        for name, c in t.chains.items():
            rs.add_chain(Chain(name, tuple(c.rules), c.hook))
        return rs

    def snapshot(self, table: str = "inet netlab") -> dict:
        """Everything in the table, comparable with ==."""
        t = self.tables[table]
        return {"sets": {n: (s.kind, s.body, frozenset(s.elements)) for n, s in t.sets.items()},
                "chains": {n: (c.body, tuple(c.rules)) for n, c in t.chains.items()}}
