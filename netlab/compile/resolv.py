"""A pod's /etc/netns/<netns>/resolv.conf, as kubelet writes it for the pod's dnsPolicy and dnsConfig.

- ClusterFirst (default; ClusterFirstWithHostNet alike): the cluster DNS, the namespace's search path,
  ndots:5. A hostNetwork pod with ClusterFirst falls back to Default, as in kubelet.
- Default: the node's resolver. In netlab that is what the DNS server forwards to: `dns.upstreams` of
  the Cluster file, or netlab's relay on the host's underlay address.
- None: only what dnsConfig gives.
dnsConfig is appended to what the policy gives: nameservers and searches without duplicates, options
merged by name (the pod's value wins). Like kubelet, at most 3 nameservers and 32 search domains are kept.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from netlab.model.pod_dns import MAX_NAMESERVERS, MAX_SEARCHES


def resolv_conf(namespace: str, domain: str, nameserver: str, pod_spec: dict[str, Any] | None = None,
                node_nameservers: Sequence[str] = ()) -> str:
    spec = pod_spec or {}
    policy = spec.get("dnsPolicy") or "ClusterFirst"
    if policy == "ClusterFirst" and spec.get("hostNetwork"):
        policy = "Default"
    servers: list[str] = []
    searches: list[str] = []
    options: dict[str, str | None] = {}
    if policy in ("ClusterFirst", "ClusterFirstWithHostNet"):
        servers = [nameserver]
        searches = [f"{namespace}.svc.{domain}", f"svc.{domain}", domain]
        options = {"ndots": "5"}
    elif policy == "Default":
        servers = list(node_nameservers)
    extra = spec.get("dnsConfig") or {}
    servers = _unique(servers + list(extra.get("nameservers") or []))[:MAX_NAMESERVERS]
    searches = _unique(searches + list(extra.get("searches") or []))[:MAX_SEARCHES]
    for opt in extra.get("options") or []:
        options[opt["name"]] = opt.get("value")
    lines = [f"nameserver {s}" for s in servers]
    if searches:
        lines.append("search " + " ".join(searches))
    if options:
        lines.append("options " + " ".join(k if v is None else f"{k}:{v}" for k, v in options.items()))
    return "".join(f"{line}\n" for line in lines)


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))
