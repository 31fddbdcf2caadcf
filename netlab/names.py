"""Every kernel-visible name netlab creates comes from this module.

Names must be recognisable as netlab's (so `down` finds them without state files),
fit the kernel's 15-character interface limit, and be unique per cluster.
"""

from __future__ import annotations

import hashlib
import re

IFNAMSIZ = 15
ALIAS_PREFIX = "netlab:"
POD_VETH_PREFIX = "nlp"
UNDERLAY_VETH_PREFIX = "nlu"
NODE_BRIDGE = "cni0"
NODE_UPLINK = "eth0"
POD_IFACE = "eth0"
VXLAN_DEVICE = "nlvxlan0"
NFT_TABLE = "netlab"

_IFNAME_OK = re.compile(r"^[A-Za-z0-9_.-]{1,15}$")


def _hash(text: str, length: int) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def pod_netns(namespace: str, pod: str) -> str:
    """`ip netns exec pod-a ...` must work for pods in `default`, so only others carry their namespace."""
    return pod if namespace == "default" else f"{pod}.{namespace}"


def node_netns(node: str) -> str:
    """Node names already follow kind (`<cluster>-control-plane`, `<cluster>-worker2`)."""
    return node


def underlay_bridge(cluster: str) -> str:
    return "netlab0" if cluster == "netlab" else f"nlb{_hash(cluster, 8)}"


def pod_veth(cluster: str, namespace: str, pod: str) -> str:
    return POD_VETH_PREFIX + _hash(f"{cluster}/{namespace}/{pod}", 10)


def underlay_veth(cluster: str, node: str) -> str:
    return UNDERLAY_VETH_PREFIX + _hash(f"{cluster}/{node}", 10)


def pod_alias(cluster: str, namespace: str, pod: str) -> str:
    return f"{ALIAS_PREFIX}{cluster}:pod:{namespace}/{pod}"


def node_alias(cluster: str, node: str) -> str:
    return f"{ALIAS_PREFIX}{cluster}:node:{node}"


def underlay_alias(cluster: str) -> str:
    return f"{ALIAS_PREFIX}{cluster}:underlay"


def cluster_of_alias(alias: str | None) -> str | None:
    """The cluster an interface alias marks, or None when it is not netlab's."""
    if not alias or not alias.startswith(ALIAS_PREFIX):
        return None
    rest = alias[len(ALIAS_PREFIX):]
    return rest.split(":", 1)[0] or None


def valid_ifname(name: str) -> bool:
    return bool(_IFNAME_OK.match(name)) and len(name) <= IFNAMSIZ


def state_dir(cluster: str) -> str:
    return f"/var/lib/netlab/{cluster}"


def run_dir(cluster: str) -> str:
    return f"/run/netlab/{cluster}"


def netns_etc_dir(netns: str) -> str:
    return f"/etc/netns/{netns}"
