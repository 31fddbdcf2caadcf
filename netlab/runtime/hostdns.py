"""The host's own resolvers, read at run time (the compile layer only gets the list)."""

from __future__ import annotations

import os

HOST_RESOLV_CONF = "/etc/resolv.conf"


def nameservers(resolv_conf_text: str) -> list[str]:
    """The `nameserver` addresses of a resolv.conf, in order."""
    lines = resolv_conf_text.splitlines()
    return [parts[1] for parts in (line.split() for line in lines) if len(parts) >= 2 and parts[0] == "nameserver"]


def host_upstreams(resolv_conf: str | None = None) -> list[str]:
    """The host's resolvers, as the host itself uses them (loopback ones such as 127.0.0.53 included).

    NETLAB_HOST_RESOLV_CONF names another file (tests point it at a resolver of their own)."""
    resolv_conf = resolv_conf or os.environ.get("NETLAB_HOST_RESOLV_CONF") or HOST_RESOLV_CONF
    try:
        with open(resolv_conf) as f:
            return nameservers(f.read())
    except OSError:
        return []
