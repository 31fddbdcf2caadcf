"""KindInfo: what the API server needs to know about a kind netlab has no pydantic model for."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class KindInfo:
    kind: str
    group: str
    versions: tuple[str, ...]  # served versions, the preferred (storage) one first
    plural: str
    namespaced: bool
    short: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    crd: str = ""  # the defining CRD's name; "" for a built-in kind
    schemas: Mapping[str, dict] = field(default_factory=dict, compare=False, hash=False)  # version -> openAPIV3Schema

    def api_version(self, version: str | None = None) -> str:
        v = version or self.versions[0]
        return f"{self.group}/{v}" if self.group else v
