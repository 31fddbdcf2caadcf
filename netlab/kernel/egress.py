"""The host's part of egress: forwarding on, and the cluster's own `inet netlab-<cluster>` table that
masquerades the nodes' traffic leaving the underlay (compile/nft_masquerade.py says what is in it)."""

from __future__ import annotations

import ipaddress
import subprocess

from netlab.compile import names
from netlab.compile.nft_masquerade import host_ruleset
from netlab.compile.nftables import FAMILY, render_full
from netlab.compile.topology import Topology
from netlab.kernel import netns as nsmod
from netlab.kernel import nft


def ensure_host_egress(topo: Topology) -> list[str]:
    """Idempotent: forwarding on in the host namespace, and the host table replaced whole (it is static)."""
    underlay = str(ipaddress.ip_network(f"{topo.host_ip}/{topo.underlay_prefix}", strict=False))
    # The host routes the nodes' traffic out, as Docker does for kind's network.
    nsmod.write_sysctl(None, "net.ipv4.ip_forward", "1")
    nft.apply(None, render_full(host_ruleset(topo.cluster, underlay, topo.bridge)))
    return []


def remove_host_egress(cluster: str) -> bool:
    """Delete the cluster's host table if it is there; True when it was."""
    table = f"{FAMILY} {names.host_nft_table(cluster)}"
    try:
        listed = subprocess.run(["nft", "list", "tables", FAMILY], capture_output=True, text=True).stdout
    except FileNotFoundError:
        return False
    if f"table {table}" not in listed.splitlines():
        return False
    nft.apply(None, f"delete table {table}\n")
    return True
