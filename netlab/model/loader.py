"""Read manifest files, directories and stdin into raw documents with their source position."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import yaml

from . import limits
from .problems import ManifestError, Problem, Source

MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")
STDIN_NAME = "<stdin>"


@dataclass(frozen=True)
class RawDoc:
    source: Source
    data: dict


class _Loader(yaml.SafeLoader):
    """SafeLoader that keeps timestamps as strings (as Kubernetes does) and rejects duplicate keys."""

    yaml_implicit_resolvers = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.tag != "tag:yaml.org,2002:merge":
                key = self.construct_object(key_node, deep=deep)
                if key in seen:
                    raise yaml.constructor.ConstructorError(
                        "while constructing a mapping", node.start_mark,
                        f"found duplicate key {key!r}", key_node.start_mark,
                    )
                seen.add(key)
        return super().construct_mapping(node, deep=deep)

    def compose_document(self) -> yaml.Node:
        self._depth = 0
        return super().compose_document()

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node:
        # PyYAML composes recursively: stop before Python's recursion limit does (20,000 `[`).
        self._depth += 1
        try:
            if self._depth > limits.MAX_DEPTH:
                mark = self.peek_event().start_mark
                raise yaml.composer.ComposerError(None, None, f"nesting deeper than {limits.MAX_DEPTH} levels",
                                                  mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def _type_name(value: Any) -> str:
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    return type(value).__name__


def _is_list_kind(data: dict) -> bool:
    kind = data.get("kind")
    return isinstance(kind, str) and kind.endswith("List") and isinstance(data.get("items"), list)


def _emit(data: Any, source: Source, item_lines: list[int | None] | None,
          docs: list[RawDoc], problems: list[Problem]) -> None:
    """Add one parsed document (flattening ``kind: List``) to docs, or a problem."""
    if not isinstance(data, dict):
        problems.append(Problem(source, f"document {source.doc + 1}", "",
                                f"expected a mapping (object), got {_type_name(data)}"))
        return
    if not _is_list_kind(data):
        docs.append(RawDoc(source, data))
        return
    for i, item in enumerate(data["items"]):
        line = item_lines[i] if item_lines and i < len(item_lines) else source.line
        item_source = Source(source.file, source.doc, line)
        if isinstance(item, dict):
            docs.append(RawDoc(item_source, item))
        else:
            problems.append(Problem(item_source, f"document {source.doc + 1}", f"items[{i}]",
                                    f"expected a mapping (object), got {_type_name(item)}"))


def _item_lines(node: yaml.Node) -> list[int | None] | None:
    if not isinstance(node, yaml.MappingNode):
        return None
    for key_node, value_node in node.value:
        if getattr(key_node, "value", None) == "items" and isinstance(value_node, yaml.SequenceNode):
            return [child.start_mark.line + 1 for child in value_node.value]
    return None


def _document_starts(text: str) -> list[int]:
    """Offsets where YAML documents start: `---` or `...` at the start of a line (never inside a
    scalar there). str.find, because a regex takes seconds over 50 MB."""
    starts = {0}
    for marker in ("\n---", "\n..."):
        i = text.find(marker)
        while i != -1:
            if i + 4 == len(text) or text[i + 4] in " \t\r\n":
                starts.add(i + 1)
            i = text.find(marker, i + 1)
    return sorted(starts)


def _oversized_document(text: str, name: str) -> Problem | None:
    """A document over the API server's request limit, found without parsing (a 50 MB one is slow)."""
    if len(text) <= limits.MAX_DOCUMENT_BYTES // 4 and len(text.encode()) <= limits.MAX_DOCUMENT_BYTES:
        return None
    starts = _document_starts(text) + [len(text)]
    for index, (start, end) in enumerate(zip(starts, starts[1:], strict=False)):
        # a character is 1 to 4 bytes in UTF-8: encode only where the count of characters cannot decide
        size = end - start if end - start > limits.MAX_DOCUMENT_BYTES else len(text[start:end].encode())
        if size > limits.MAX_DOCUMENT_BYTES:
            line = text.count("\n", 0, start) + 1
            return Problem(Source(name, index, line), "", "",
                           f"document is too large: over {limits.MAX_DOCUMENT_BYTES} bytes (3 MiB, the API "
                           f"server's request limit); nothing in this file was read")
    return None


def _parse_yaml(text: str, name: str, docs: list[RawDoc], problems: list[Problem]) -> None:
    oversized = _oversized_document(text, name)
    if oversized is not None:
        problems.append(oversized)
        return
    loader = _Loader(text)
    index = 0
    try:
        while loader.check_node():
            node = loader.get_node()
            refused = limits.yaml_expansion_problem(node)
            if refused is not None:
                problems.append(Problem(Source(name, index, node.start_mark.line + 1), "", "",
                                        f"invalid YAML: {refused}"))
                index += 1
                continue
            data = loader.construct_document(node)
            if data is not None:
                _emit(data, Source(name, index, node.start_mark.line + 1), _item_lines(node), docs, problems)
            index += 1
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        what = " ".join(p for p in (exc.context, exc.problem) if p)
        problems.append(Problem(Source(name, index, line), "", "", f"invalid YAML: {what}"))
    except yaml.YAMLError as exc:
        problems.append(Problem(Source(name, index, None), "", "", f"invalid YAML: {exc}"))
    except RecursionError:  # a backstop: compose_node stops deep nesting first
        problems.append(Problem(Source(name, index, None), "", "", "invalid YAML: nested too deeply"))
    finally:
        loader.dispose()


def _parse_json(text: str, name: str, docs: list[RawDoc], problems: list[Problem]) -> None:
    if len(text) > limits.MAX_DOCUMENT_BYTES:
        problems.append(Problem(Source(name, 0, 1), "", "",
                                f"document is too large: {len(text.encode())} bytes, the limit is "
                                f"{limits.MAX_DOCUMENT_BYTES} (3 MiB, the API server's request limit)"))
        return
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        problems.append(Problem(Source(name, 0, exc.lineno), "", "", f"invalid JSON: {exc.msg}"))
        return
    except RecursionError:
        problems.append(Problem(Source(name, 0, 1), "", "",
                                f"invalid JSON: nesting deeper than {limits.MAX_DEPTH} levels"))
        return
    too_deep = limits.data_depth_problem(data)
    if too_deep is not None:
        problems.append(Problem(Source(name, 0, 1), "", "", f"invalid JSON: {too_deep}"))
        return
    _emit(data, Source(name, 0, 1), None, docs, problems)


def _parse_text(text: str, name: str, docs: list[RawDoc], problems: list[Problem]) -> None:
    if name.endswith(".json"):
        _parse_json(text, name, docs, problems)
    else:
        _parse_yaml(text, name, docs, problems)


def _files_under(directory: Path) -> list[Path]:
    return sorted(p for p in directory.rglob("*") if p.is_file() and p.suffix in MANIFEST_SUFFIXES)


def _read_file(path: Path, docs: list[RawDoc], problems: list[Problem]) -> None:
    name = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(Problem(None, "", "", f"cannot read {name}: {exc}"))
        return
    _parse_text(text, name, docs, problems)


def read_paths(paths: Sequence[str], stdin: TextIO | None = None) -> tuple[list[RawDoc], list[Problem]]:
    """Like ``load_paths`` but returns the problems instead of raising."""
    docs: list[RawDoc] = []
    problems: list[Problem] = []
    for raw in paths:
        if raw == "-":
            stream = stdin if stdin is not None else sys.stdin
            _parse_yaml(stream.read(), STDIN_NAME, docs, problems)
            continue
        path = Path(raw)
        if path.is_dir():
            for file in _files_under(path):
                _read_file(file, docs, problems)
        elif path.exists():
            _read_file(path, docs, problems)
        else:
            problems.append(Problem(None, "", "", f"{raw}: no such file or directory"))
    return docs, problems


def load_paths(paths: Sequence[str], stdin: TextIO | None = None) -> list[RawDoc]:
    """Read files, directories (recursively, sorted) and ``-`` (stdin); raise ManifestError on any problem."""
    docs, problems = read_paths(paths, stdin)
    if problems:
        raise ManifestError(problems)
    return docs
