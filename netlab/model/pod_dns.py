"""The API server's checks of a pod's dnsPolicy and dnsConfig (kubelet limits alike)."""

from __future__ import annotations

from typing import Any

from .dns1123 import check_dns1123_subdomain
from .meta import check_ip

MAX_NAMESERVERS = 3
MAX_SEARCHES = 32
MAX_SEARCH_CHARS = 2048


def dns_problems(policy: str, config: dict[str, Any] | None, path: str) -> list[tuple[str, str]]:
    """The API server's checks of dnsPolicy/dnsConfig, every problem at once."""
    problems: list[tuple[str, str]] = []
    cfg = config or {}
    servers = cfg.get("nameservers") or []
    if policy == "None":
        if config is None:
            problems.append((f"{path}.dnsConfig", "must provide `dnsConfig` when `dnsPolicy` is None"))
        elif not servers:
            problems.append((f"{path}.dnsConfig.nameservers", "must provide at least one DNS nameserver when "
                             "`dnsPolicy` is None"))
    if len(servers) > MAX_NAMESERVERS:
        problems.append((f"{path}.dnsConfig.nameservers", f"must not have more than {MAX_NAMESERVERS} nameservers"))
    for i, s in enumerate(servers):
        problems += check_ip(s, f"{path}.dnsConfig.nameservers[{i}]")
    searches = cfg.get("searches") or []
    if len(searches) > MAX_SEARCHES:
        problems.append((f"{path}.dnsConfig.searches", f"must not have more than {MAX_SEARCHES} search paths"))
    if len(" ".join(searches)) > MAX_SEARCH_CHARS:
        problems.append((f"{path}.dnsConfig.searches", f"must not have more than {MAX_SEARCH_CHARS} characters"))
    for i, s in enumerate(searches):
        for msg in check_dns1123_subdomain(s[:-1] if s.endswith(".") else s):
            problems.append((f"{path}.dnsConfig.searches[{i}]", msg))
    for i, opt in enumerate(cfg.get("options") or []):
        if not (opt or {}).get("name"):
            problems.append((f"{path}.dnsConfig.options[{i}].name", "must not be empty"))
    return problems
