"""Every kernel-visible name netlab creates comes from this module.

Names must be recognisable as netlab's (so `down` finds them without state files),
fit the kernel's 15-character interface limit, and be unique per cluster.
"""

from __future__ import annotations

import hashlib
import re

IFNAMSIZ = 15
NAME_MAX = 255  # a file name (iproute2 refuses a longer netns name: "Invalid netns name")
NETNS_MAX = NAME_MAX
IFALIAS_MAX = 254  # the kernel takes IFALIASZ - 1 = 255 bytes, and pyroute2 sends a trailing NUL
NFT_NAME_MAX = 255  # NFT_CHAIN_MAXNAMELEN / NFT_SET_MAXNAMELEN - 1: longer gives "out of range"
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


def _bounded(name: str, limit: int) -> str:
    """name itself when it fits, else a prefix and `_<hash16>` of the whole name (unique, readable start)."""
    if len(name) <= limit:
        return name
    suffix = f"_{_hash(name, 16)}"
    return name[:limit - len(suffix)] + suffix


def pod_netns(namespace: str, pod: str) -> str:
    """The pod's network namespace: `<pod>` in `default`, `<pod>.<namespace>` otherwise.

    `ip netns exec pod-a ...` must work for pods in `default`, so only others carry their namespace.
    The mapping is injective, because two pods sharing a namespace would destroy each other:
    - a Namespace name has no dot, so `<pod>.<namespace>` splits at its last dot;
    - a `default` pod whose name has a dot (`a.b`) would read as pod `a` of namespace `b`, so it
      is written `a.b.default`; a name without a dot is always a `default` pod;
    - a name longer than the kernel's NAME_MAX (iproute2 refuses it, and it is a directory under
      /etc/netns) keeps a readable prefix and gets a hash of the full key: `<prefix>_<hash16>.<ns>`.
      Kubernetes names never contain `_`, so a hashed name can never equal a readable one.
    Collisions with node namespaces (`<cluster>-worker`) are refused when pods are placed.
    """
    readable = pod if namespace == "default" and "." not in pod else f"{pod}.{namespace}"
    if len(readable) <= NETNS_MAX:
        return readable
    suffix = f"_{_hash(f'{namespace}/{pod}', 16)}.{namespace}"
    return pod[:NETNS_MAX - len(suffix)] + suffix


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
    """`netlab:<cluster>:pod:<ns>/<pod>`, cut to the kernel's alias limit (only the prefix is parsed)."""
    return _bounded(f"{ALIAS_PREFIX}{cluster}:pod:{namespace}/{pod}", IFALIAS_MAX)


def nft_name(name: str) -> str:
    """A chain or set name cut to nft's 255 characters; a cut name ends in a hash of the whole name."""
    return _bounded(name, NFT_NAME_MAX)


def pod_dir_name(namespace: str, pod: str) -> str:
    """`<ns>_<pod>`: a per-pod file or directory name, bounded by NAME_MAX (`_` is in neither name)."""
    return _bounded(f"{namespace}_{pod}", NAME_MAX)


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


# Files: a cluster's state (what it should be) survives a reboot, its run directory (sockets, pidfiles, logs) not.
STATE_ROOT = "/var/lib/netlab"
RUN_ROOT = "/run/netlab"
STATE_FILE = "state.json"
API_ENDPOINT = "apiserver.json"
CONTROLLER_MODULE = "netlab.runtime.controller"
LAUNCHER_MODULE = "netlab.runtime.launcher"
DNS_MODULE = "netlab.runtime.dns"
CONTROLLER_PIDFILE = "controller.pid"
LAUNCHER_PIDFILE = "launcher.pid"
DNS_RELAY_PIDFILE = "dns-relay.pid"
# Each daemon's pidfile in the run directory, with the module its command line runs (a stale pidfile naming
# someone else's process must not get that process killed).
DAEMON_PIDFILES = (
    (CONTROLLER_PIDFILE, CONTROLLER_MODULE),
    (LAUNCHER_PIDFILE, LAUNCHER_MODULE),
    (DNS_RELAY_PIDFILE, DNS_MODULE),
)


def state_dir(cluster: str) -> str:
    return f"{STATE_ROOT}/{cluster}"


def state_file(cluster: str) -> str:
    return f"{state_dir(cluster)}/{STATE_FILE}"


def run_dir(cluster: str) -> str:
    return f"{RUN_ROOT}/{cluster}"


def pki_dir(cluster: str) -> str:
    """The cluster CA, API serving and admin certificates (kept across `up`, removed by `down`)."""
    return f"{state_dir(cluster)}/pki"


def api_endpoint_file(cluster: str) -> str:
    """Where the running controller records the address and port its API listens on."""
    return f"{run_dir(cluster)}/{API_ENDPOINT}"


def netns_etc_dir(netns: str) -> str:
    return f"/etc/netns/{netns}"
