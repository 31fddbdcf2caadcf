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

# The fixed chains and sets of the `inet netlab` table (kube-proxy's nftables shape: base chains named
# <type>-<hook>, dispatch through verdict maps). Per-service, per-endpoint and per-policy names are made
# from these prefixes by compile/nft_services.py and compile/nft_policy.py with nft_name().
CHAIN_SERVICES = "services"
CHAIN_NAT_PREROUTING = "nat-prerouting"
CHAIN_NAT_OUTPUT = "nat-output"
CHAIN_NAT_POSTROUTING = "nat-postrouting"
CHAIN_MASQUERADING = "masquerading"
CHAIN_MARK_FOR_MASQUERADE = "mark-for-masquerade"
CHAIN_REJECT = "reject-chain"
CHAIN_NO_LOCAL_ENDPOINTS = "no-local-endpoints"  # internalTrafficPolicy Local, none on this node: drop
CHAIN_ENDPOINTS_CHECK = "endpoints-check"
CHAIN_FILTER_PREROUTING = "filter-prerouting"
CHAIN_FILTER_OUTPUT = "filter-output"
CHAIN_CLUSTER_IPS_CHECK = "cluster-ips-check"
CHAIN_FILTER_PREROUTING_POST_DNAT = "filter-prerouting-post-dnat"
CHAIN_FILTER_OUTPUT_POST_DNAT = "filter-output-post-dnat"
CHAIN_POLICY = "filter-forward-policy"
CHAIN_IP_MASQ_AGENT = "ip-masq-agent"  # egress SNAT with ip-masq-agent's semantics (compile/nft_masquerade.py)
CHAIN_TRACE_PREFIX = "trace-"  # `netlab trace` adds trace-<hook> for the time of one probe
NFLOG_GROUP = 4242  # the `log group` of the verdict rules while `netlab observe` runs (per node namespace)
SET_SERVICE_IPS = "service-ips"
SET_SERVICE_NODEPORTS = "service-nodeports"
SET_NO_ENDPOINT_SERVICES = "no-endpoint-services"
SET_NO_ENDPOINT_NODEPORTS = "no-endpoint-nodeports"
SET_NODEPORT_IPS = "nodeport-ips"
SET_CLUSTER_IPS = "cluster-ips"
SET_POLICY_INGRESS = "policy-ingress-pods"
SET_POLICY_EGRESS = "policy-egress-pods"
SET_POLICY_INGRESS6 = "policy-ingress-pods6"   # dual-stack: the same, by IPv6 address
SET_POLICY_EGRESS6 = "policy-egress-pods6"
SET_NO_MASQUERADE = "no-masquerade"
# hostPort DNAT (the portmap CNI plugin's job, independent of the service proxy): compile/nft_hostports.py
CHAIN_HOSTPORT_PREROUTING = "hostport-prerouting"
CHAIN_HOSTPORT_OUTPUT = "hostport-output"
CHAIN_HOSTPORTS = "hostports"
SET_HOSTPORTS = "hostport-dispatch"


def host_nft_table(cluster: str) -> str:
    """The host namespace's `inet` table of one cluster (egress SNAT): several clusters can share a host."""
    return f"{NFT_TABLE}-{cluster}"


_IFNAME_OK = re.compile(r"^[A-Za-z0-9_.-]{1,15}$")


def _hash(text: str, length: int) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def _bounded(name: str, limit: int) -> str:
    """name itself when it fits, else a prefix and `_<hash16>` of the whole name (unique, readable start)."""
    if len(name) <= limit:
        return name
    suffix = f"_{_hash(name, 16)}"
    return name[:limit - len(suffix)] + suffix


def hash8(text: str) -> str:
    return _hash(text, 8)


def nft_service_chain(port_id: str) -> str:
    """`service-<hash8>-<ns>/<svc>/<proto>/<port>`: picks an endpoint of one service port."""
    return nft_name(f"service-{hash8(port_id)}-{port_id}")


def nft_external_chain(port_id: str) -> str:
    """`external-<hash8>-...`: NodePort and LoadBalancer traffic of one service port."""
    return nft_name(f"external-{hash8(port_id)}-{port_id}")


def nft_internal_local_chain(port_id: str) -> str:
    """`local-<hash8>-...`: ClusterIP traffic of one service port with internalTrafficPolicy Local."""
    return nft_name(f"local-{hash8(port_id)}-{port_id}")


def nft_firewall_chain(port_id: str) -> str:
    """`firewall-<hash8>-...`: loadBalancerSourceRanges of one service port's LoadBalancer IP."""
    return nft_name(f"firewall-{hash8(port_id)}-{port_id}")


def nft_hostport_chain(pod_key: str, protocol: str, host_ip: str, port: int) -> str:
    """`hostport-<hash8>-<ns>/<pod>/<proto>/<hostIP>/<port>`: one hostPort's DNAT to its pod."""
    port_id = f"{pod_key}/{protocol.lower()}/{host_ip or 'any'}/{port}"
    return nft_name(f"hostport-{hash8(port_id)}-{port_id}")


def nft_endpoint_chain(port_id: str, endpoint: str) -> str:
    """`endpoint-<hash8>-<port id>__<ip>/<targetPort>`: DNAT to one endpoint."""
    return nft_name(f"endpoint-{hash8(port_id + '__' + endpoint)}-{port_id}__{endpoint}")


def nft_affinity_set(port_id: str, ip: str, target: int) -> str:
    """`affinity-<hash8>-...`: the clients that went to one endpoint (sessionAffinity ClientIP)."""
    return nft_name(f"affinity-{hash8(port_id + '__' + ip)}-{port_id}__{ip}/{target}")


def nft_pod_chain(direction: str, pod_key: str) -> str:
    """`ingress-<hash8>-<ns>/<pod>` or `egress-<hash8>-<ns>/<pod>`: one isolated pod's policy rules."""
    return nft_name(f"{direction.lower()}-{hash8(pod_key)}-{pod_key}")


def nft_policy_rule_set(kind: str, direction: str, policy_key: str, index: int, pod_key: str | None = None) -> str:
    """`<dir>-<kind>-<hash8>-<ns>/<policy>/<rule#>[/<ns>/<pod>]`: peers or ports of one policy rule."""
    name = f"{direction.lower()}-{kind}-{hash8(policy_key)}-{policy_key}/{index}"
    return nft_name(f"{name}/{pod_key}" if pod_key is not None else name)


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


def pod_run_netns(namespace: str, pod: str, node: str, host_network: bool) -> str:
    """Where a pod's containers run: its own namespace, or its node's with hostNetwork."""
    return node_netns(node) if host_network else pod_netns(namespace, pod)


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
