"""Starting the controller's API server: the port, the PKI and the endpoint record the CLI reads."""

from __future__ import annotations

import resource

from netlab.compile import names
from netlab.compile.serviceaccount import TokenIssuer
from netlab.compile.topology import order_by_family


def start_api(controller):
    """Serve the API on the configured (or recorded, or default) loopback port, then on the host's underlay
    address too once the controller has made it; record the endpoint for the CLI."""
    from netlab.api import endpoint, pki
    from netlab.api.server import PORT_SEARCH, ApiServer

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)   # each API connection is a descriptor
    if soft != resource.RLIM_INFINITY and soft < 8192:
        resource.setrlimit(resource.RLIMIT_NOFILE, (8192 if hard == resource.RLIM_INFINITY else min(hard, 8192), hard))
    config, previous = controller.config, endpoint.load(controller.cluster)
    endpoint.remove(controller.cluster)   # until this controller has started: `up` waits for the new record
    port = config.api_port or (previous.port if previous else endpoint.DEFAULT_PORT)
    keys = pki.Pki(names.pki_dir(controller.cluster))
    server = ApiServer(controller, keys)
    if keys.sa_key.exists():   # pods' service account tokens are signed with it (netlab.compile.serviceaccount)
        controller.sa_issuer = TokenIssuer(keys.sa_key.read_bytes(), keys.ca_cert.read_bytes())
    port = server.start(config.api_address, port, search=0 if config.api_port else PORT_SEARCH, ready=False)
    topo = config.topology()   # pods reach the API at the host's underlay address of the primary family
    host_ip = order_by_family([topo.host_ip, topo.host_ip6], config.ip_families)[0]
    controller.api_endpoint = (host_ip, port)
    return server, endpoint.Endpoint(config.api_address, port, host_ip)
