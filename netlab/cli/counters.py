"""The nft counters `describe networkpolicy` and `describe svc` show (trace.counters), read in each node."""

from __future__ import annotations

import os

from netlab.compile import names


def rule_counters(cluster: str, kind: str, obj: dict) -> list[dict] | None:
    """Rows for the object, or None where the node namespaces cannot be read (not root, no cluster)."""
    if os.geteuid() != 0:
        return None
    from netlab.api.client import ApiFailure
    from netlab.cli.trace import _dataplane
    from netlab.kernel import nft
    from netlab.trace import counters

    try:
        dp = _dataplane(cluster)
        counts = {n.name: nft.counters(n.netns, names.NFT_TABLE) for n in dp.topology.nodes}
    except (ApiFailure, nft.NftError, OSError):
        return None
    meta = obj.get("metadata") or {}
    key = f"{meta.get('namespace', 'default')}/{meta.get('name', '')}"
    if kind == "NetworkPolicy":
        return counters.policy_rows(key, dp.rulesets, counts)
    svc = next((s for s in dp.services if s.key == key), None)
    return counters.service_rows(svc, counts) if svc is not None else []
