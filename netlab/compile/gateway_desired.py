"""The Gateway part of Desired: every netlab Gateway's nginx.conf (in its proxy's directory) and the
attachment picture the statuses are written from. Pure."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from netlab.compile.gateway_attach import GatewayWorld, gateway_world
from netlab.compile.gateway_nginx import render
from netlab.compile.gateway_objects import gateway_dir
from netlab.compile.gateway_tls import CERTS_DIR
from netlab.compile.nginx import RenderedConfig
from netlab.compile.services import ResolvedService


@dataclass(frozen=True)
class GatewayDesired:
    world: GatewayWorld
    configs: Mapping[str, tuple[str, RenderedConfig]]  # gateway ns/name -> (its directory, nginx.conf and certs)
    notes: Mapping[str, list[str]]  # gateway ns/name -> notes (what netlab could not render)


def ready_endpoints(services: Mapping[str, ResolvedService]) -> dict[tuple[str, str, int], tuple[tuple[str, int], ...]]:
    """(namespace, service, port) -> the ready (pod IP, target port) pairs behind that Service port."""
    out = {}
    for svc in services.values():
        for sp in svc.ports:
            out[(svc.namespace, svc.name, sp.port)] = tuple(sorted(
                (e.ip, sp.target[e.ip]) for e in svc.endpoints if e.ready and e.ip in sp.target))
    return out


def gateway_desired(objects: Iterable[dict], services: Mapping[str, ResolvedService], root: str,
                    ipv6: bool = False) -> GatewayDesired:
    """The Gateways' plans and nginx configurations; `ipv6`: the cluster has IPv6 (nginx listens on it)."""
    world = gateway_world(objects, services)
    endpoints = ready_endpoints(services)
    configs, notes = {}, {}
    for key, plan in sorted(world.plans.items()):
        directory = gateway_dir(root, plan.namespace, plan.name)
        files, certs = {}, {}
        for listener, cert in sorted(plan.certificates.items()):
            if len(cert) == 3:
                base = f"{directory}/{CERTS_DIR}/{cert[2]}"
                files[base + ".crt"], files[base + ".key"] = cert[0], cert[1]
                certs[listener] = (base + ".crt", base + ".key")
        conf, plan_notes = render(plan, endpoints, directory, certs, ipv6)
        configs[key] = (directory, RenderedConfig(conf, files))
        notes[key] = plan_notes
    return GatewayDesired(world, configs, notes)
