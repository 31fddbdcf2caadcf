"""Problems found while loading and validating manifests.

Validation never stops at the first problem: every layer returns a list of
``Problem`` and only the caller decides to raise ``ManifestError``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Source:
    """Where a document came from: file, 0-based document index, 1-based line (when known)."""

    file: str
    doc: int
    line: int | None = None

    def __str__(self) -> str:
        if self.line is not None:
            return f"{self.file}:{self.line}"
        return f"{self.file}#{self.doc}"


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the input, located as precisely as possible."""

    source: Source | None
    obj: str
    field: str
    message: str

    def __str__(self) -> str:
        parts = [str(p) for p in (self.source, self.obj, self.field) if p]
        parts.append(self.message)
        return ": ".join(parts)


class ManifestError(Exception):
    """Raised with every problem found, never just the first."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems: list[Problem] = list(problems)
        super().__init__(str(self))

    def __str__(self) -> str:
        return "\n".join(str(p) for p in self.problems)
