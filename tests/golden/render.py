"""Compile a manifest set the way the controller does, and render every compiled output as readable text.

This is the ONE place the golden tests drive the compiler: the add-ons and placement as the controller
makes them, then `compile_desired()` (netlab/compile/desired.py), whose `Desired` value holds the
topology, rulesets, DNS view and nginx.conf shown here.

Everything is deterministic: a fixed cluster name, run directory, clock, random seed and interpreter path,
and every pod counted ready (as the controller's `nft --check` pass does).
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass
from pathlib import Path

from netlab.compile import addons
from netlab.compile.config import ClusterConfig
from netlab.compile.desired import Desired, Observed, allocations, compile_desired, placement
from netlab.compile.dnszone import build_zone
from netlab.compile.nftables import Ruleset, render_full
from netlab.compile.topology import Topology
from netlab.model import validate
from netlab.runtime import state as statemod
from netlab.runtime.nginx_process import NginxConfig

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


def desired_set(paths: list[Path]) -> tuple[ClusterConfig, Desired]:
    """The manifests (and at most one Cluster document) compiled as the controller compiles them."""
    cluster_doc, objects = _objects(paths)
    config = ClusterConfig.from_manifest(cluster_doc, CLUSTER)
    objects = _with_addons(config, objects)
    pods = placement(objects, {}, config.topology().nodes, random.Random(SEED), {}, NOW)
    run = f"{RUN_DIR}/ingress"
    observed = Observed(all_ready=True, ingress_dir=run,
                        default_cert=(f"{run}/ssl/default.crt", f"{run}/ssl/default.key"))
    return config, compile_desired(objects, config, observed, pods=pods,
                                   allocations=allocations(objects, {}, config))


def compile_set(paths: list[Path]) -> Compiled:
    """The manifests (and at most one Cluster document) compiled into everything netlab would apply."""
    config, desired = desired_set(paths)
    nginx = desired.ingress.rendered.nginx_conf if desired.ingress is not None else None
    return Compiled(config, desired.topology, dict(desired.rulesets), dict(desired.dns_view), nginx)


# ------------------------------------------------------------------------------------------------ text


def _fields(obj: object, skip: tuple[str, ...] = ()) -> str:
    return " ".join(f"{k}={v}" for k, v in asdict(obj).items() if k not in skip and v not in (None, {}, ""))


def topology_text(topo: Topology) -> str:
    lines = [f"cluster {topo.cluster} mode={topo.mode} bridge={topo.bridge} host={topo.host_ip}"
             f"/{topo.underlay_prefix} pods={topo.pod_subnet} services={topo.service_cidr}", "", "host routes:"]
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
