"""Compile a manifest set the way the controller does, and render every compiled output as readable text.

This is the ONE place the golden tests drive the compiler. It calls today's pure functions in the order
runtime/controller.py does (addons, placement, allocation, endpoints, rulesets, DNS view, nginx.conf);
when `compile_desired()` returns a `Desired` value, only `compile_set` changes.

Everything is deterministic: a fixed cluster name, run directory, clock, random seed and interpreter path,
and every pod counted ready (as the controller's `nft --check` pass does).
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass
from pathlib import Path

from netlab.api.resources import BUILTIN_NAMESPACES
from netlab.compile import addons
from netlab.compile.config import ClusterConfig
from netlab.compile.dnszone import build_zone
from netlab.compile.nftables import Ruleset, render_full
from netlab.compile.nginx import render as render_nginx
from netlab.compile.services import Allocation, Pools, ResolvedService, allocate, resolve, svc_key
from netlab.compile.topology import Topology
from netlab.compile.workloads import PlacedPod, expand, place
from netlab.model import validate
from netlab.runtime import state as statemod
from netlab.runtime.dataplane import Dataplane, policy_rulesets
from netlab.runtime.ingress import NginxConfig
from netlab.runtime.ingresssync import backends_for

CLUSTER = "golden"
RUN_DIR = f"/run/netlab/{CLUSTER}"
PYTHON = "/usr/bin/python3"
NOW = 1_767_225_600.0  # 2026-01-01T00:00:00Z
CREATED = "2026-01-01T00:00:00Z"
SEED = 12


@dataclass(frozen=True)
class Compiled:
    """What the golden files show; the fields a `Desired` value will hold."""

    config: ClusterConfig
    topology: Topology
    rulesets: dict[str, Ruleset]
    dns_view: dict
    nginx_conf: str | None


def _objects(paths: list[Path]) -> tuple[dict | None, dict[str, dict]]:
    cluster_doc, objects = None, {}
    for index, obj in enumerate(validate.load([str(p) for p in paths])):
        doc = obj.to_dict()
        if obj.kind == "Cluster":
            cluster_doc = doc
            continue
        doc["metadata"] = {**doc["metadata"], "uid": f"{index:032x}", "creationTimestamp": CREATED,
                           "generation": 1}
        objects[statemod.object_key(doc)] = doc
    return cluster_doc, objects


def _with_addons(config: ClusterConfig, objects: dict[str, dict]) -> dict[str, dict]:
    wanted = addons.dns_objects(config, PYTHON, f"{RUN_DIR}/dns/view.json")
    if addons.ingress_wanted(list(objects.values()), False):
        wanted += addons.ingress_objects(NginxConfig().nginx_argv(f"{RUN_DIR}/ingress/nginx.conf",
                                                                  f"{RUN_DIR}/ingress"))
    out, missing = addons.merge_addons(objects, wanted, statemod.object_key)
    for key, obj in missing:
        out[key] = {**obj, "metadata": {**obj["metadata"], "uid": f"addon-{key}", "creationTimestamp": CREATED,
                                        "generation": 1}}
    return out


def _place(config: ClusterConfig, objects: dict[str, dict]) -> dict[str, PlacedPod]:
    def of(kind: str) -> list[dict]:
        return [o for o in objects.values() if o["kind"] == kind]

    wanted = expand(of("Pod"), of("Deployment"), {}, of("ReplicaSet"))
    placed = place(wanted, config.topology().nodes, {}, NOW, random.Random(SEED), {})
    return {p.key: p for p in placed}


def _services(config: ClusterConfig, objects: dict[str, dict], pods: dict[str, PlacedPod]
              ) -> list[ResolvedService]:
    services = [o for o in objects.values() if o["kind"] == "Service"]
    allocations = allocate(services, {}, Pools(config.service_subnet, config.node_port_range, *config.lb_pool))
    user_eps = {svc_key(o): o for o in objects.values() if o["kind"] == "Endpoints"}
    ready = dict.fromkeys(pods, True)
    return [resolve(o, allocations.get(svc_key(o), Allocation()), list(pods.values()), ready, user_eps.get(svc_key(o)))
            for o in services]


def _nginx(objects: dict[str, dict], resolved: dict[str, ResolvedService]) -> str | None:
    values = list(objects.values())
    if not any(o["kind"] == "Ingress" for o in values):
        return None
    ingresses = [o for o in values if o["kind"] == "Ingress"]
    secrets = {(o["metadata"].get("namespace", "default"), o["metadata"]["name"]): o
               for o in values if o["kind"] == "Secret"}
    run = f"{RUN_DIR}/ingress"
    rendered = render_nginx(ingresses, backends_for(ingresses, resolved), secrets,
                            ingress_classes=addons.nginx_classes(values),
                            default_class=addons.nginx_serves_classless(values), run_dir=run,
                            default_cert=(f"{run}/ssl/default.crt", f"{run}/ssl/default.key"))
    return rendered.nginx_conf


def compile_set(paths: list[Path]) -> Compiled:
    """The manifests (and at most one Cluster document) compiled into everything netlab would apply."""
    cluster_doc, objects = _objects(paths)
    config = ClusterConfig.from_manifest(cluster_doc, CLUSTER)
    objects = _with_addons(config, objects)
    pods = _place(config, objects)
    services = _services(config, objects, pods)
    topo = config.topology([(p.namespace, p.name, p.node, p.ip) for p in pods.values()])
    state = statemod.State(objects=objects, pods=pods)
    rulesets = Dataplane().rulesets(topo, config.pod_subnet, services, policy_rulesets(topo, state))
    namespaces = set(BUILTIN_NAMESPACES) | {o["metadata"]["name"] for o in objects.values() if o["kind"] == "Namespace"}
    upstreams = [f"{topo.host_ip}:53"] if config.dns_upstreams is None else list(config.dns_upstreams)
    view = addons.dns_view(config, services, list(pods.values()), sorted(namespaces), upstreams)
    return Compiled(config, topo, rulesets, view, _nginx(objects, {s.key: s for s in services}))


# ------------------------------------------------------------------------------------------------ text


def _fields(obj: object, skip: tuple[str, ...] = ()) -> str:
    return " ".join(f"{k}={v}" for k, v in asdict(obj).items() if k not in skip and v not in (None, {}, ""))


def topology_text(topo: Topology) -> str:
    lines = [f"cluster {topo.cluster} mode={topo.mode} bridge={topo.bridge} host={topo.host_ip}"
             f"/{topo.underlay_prefix} services={topo.service_cidr}", "", "host routes:"]
    lines += [f"  {_fields(r)}" for r in topo.host_routes()]
    for node in topo.nodes:
        lines += ["", f"node {node.name}", f"  {_fields(node, ('name',))}", "  routes:"]
        lines += [f"    {_fields(r)}" for r in topo.node_routes(node)]
        lines += ["  pods:"] + [f"    {_fields(p, ('node',))}" for p in topo.pods_on(node.name)]
    return "\n".join(lines) + "\n"


def zone_text(view: dict) -> str:
    """The zone the DNS server answers from, one record a line, plus its empty non-terminals."""
    zone = build_zone(view)
    lines = [f"; domain {zone.domain} ttl {zone.ttl} upstreams {' '.join(view['upstreams'])}"]
    for name in sorted(zone.rrsets):
        for rtype in sorted(zone.rrsets[name]):
            lines += sorted(rr.toZone() for rr in zone.rrsets[name][rtype])
    lines += ["", "; empty non-terminals"] + [f"; {n}" for n in sorted(zone.ents)]
    lines += ["", "; reverse names of pods"] + [f"; {n}" for n in sorted(zone.reverse_names)]
    return "\n".join(lines) + "\n"


def render_files(compiled: Compiled) -> dict[str, str]:
    """Golden file name -> content."""
    files = {"topology.txt": topology_text(compiled.topology), "zone.txt": zone_text(compiled.dns_view)}
    for node, rs in sorted(compiled.rulesets.items()):
        files[f"{node}.nft"] = render_full(rs)
    if compiled.nginx_conf is not None:
        files["nginx.conf"] = compiled.nginx_conf
    return files
