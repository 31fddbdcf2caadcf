"""A pod's /etc/netns/<netns>/resolv.conf, as kubelet writes it for ClusterFirst pods."""

from __future__ import annotations


def resolv_conf(namespace: str, domain: str, nameserver: str) -> str:
    return (
        f"nameserver {nameserver}\n"
        f"search {namespace}.svc.{domain} svc.{domain} {domain}\n"
        "options ndots:5\n"
    )
