"""Apply nftables transactions inside a namespace with one `nft -f -` (atomic)."""

from __future__ import annotations

import subprocess

from netlab.kernel import netns as nsmod


class NftError(RuntimeError):
    pass


def apply(netns: str | None, text: str, check_only: bool = False) -> None:
    """Run the transaction in `netns`; the child inherits this thread's namespace, so no `ip netns exec`."""
    if not text.strip():
        return
    cmd = ["nft", "-c", "-f", "-"] if check_only else ["nft", "-f", "-"]
    with nsmod.entered(netns):
        proc = subprocess.run(cmd, input=text, text=True, capture_output=True)
    if proc.returncode != 0:
        raise NftError(f"nft -f failed in {netns or 'host'}: {proc.stderr.strip()}")


def counters(netns: str | None, table: str) -> dict[str, list[tuple[int, int] | None]]:
    """chain -> each rule's (packets, bytes) in order, None for a rule without a counter, read with
    `nft -j list table inet <table>` (JSON: rules come in chain order)."""
    import json

    with nsmod.entered(netns):
        proc = subprocess.run(["nft", "-j", "list", "table", "inet", table], capture_output=True, text=True)
    if proc.returncode != 0:
        raise NftError(f"nft list table failed in {netns or 'host'}: {proc.stderr.strip()}")
    out: dict[str, list[tuple[int, int] | None]] = {}
    for item in json.loads(proc.stdout).get("nftables", []):
        rule = item.get("rule")
        if rule is None:
            continue
        found = next((e["counter"] for e in rule.get("expr", []) if isinstance(e, dict) and "counter" in e), None)
        out.setdefault(rule["chain"], []).append(
            (found["packets"], found["bytes"]) if isinstance(found, dict) else None)
    return out
