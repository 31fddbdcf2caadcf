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
