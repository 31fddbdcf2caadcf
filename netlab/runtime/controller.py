"""One controller per cluster: owns the desired state, reconciles the kernel, supervises containers.

Run as `python -m netlab.runtime.controller --cluster NAME` (started by `netlab up`).
"""

from __future__ import annotations

import argparse
import collections
import json
import logging
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from netlab.api import views
from netlab.api.errors import ApiError
from netlab.api.resources import BUILTIN_NAMESPACES, CLUSTER_SCOPED
from netlab.compile import addons, names
from netlab.compile.config import ClusterConfig
from netlab.compile.nftables import Ruleset
from netlab.compile.resolv import resolv_conf
from netlab.compile.services import Allocation, AllocationError, Pools, ResolvedService, allocate, resolve, svc_key
from netlab.compile.topology import Topology
from netlab.compile.workloads import PlacedPod, PlacementError, expand, place
from netlab.kernel import neighbours, podnet, teardown
from netlab.runtime import hostdns, phases, precheck
from netlab.runtime import state as statemod
from netlab.runtime.containers import ContainerSpec, Supervisor
from netlab.runtime.dataplane import Dataplane, policy_rulesets
from netlab.runtime.files import write_atomic
from netlab.runtime.ingresssync import IngressSync
from netlab.runtime.launcher_client import ensure_launcher
from netlab.runtime.probes import Prober, ProbeState

log = logging.getLogger("netlab.controller")


class Controller:
    def __init__(self, cluster: str):
        self.cluster = cluster
        loaded = statemod.load(cluster)
        if loaded is None:
            raise SystemExit(f"no state for cluster {cluster!r}: run `netlab up` first")
        self.state = loaded
        self.config = ClusterConfig.from_manifest(loaded.cluster, loaded.cluster_name)
        self.run_dir = Path(names.run_dir(cluster))
        self.lock = threading.RLock()
        self.events: collections.deque[dict] = collections.deque(maxlen=1000)
        self.rng = random.Random()
        self.started = time.time()
        self.supervisor: Supervisor | None = None
        self.prober = Prober(clock=time.time)
        self.dataplane = Dataplane()
        self.ready: dict[str, bool] = {}
        self.terminated: frozenset[str] = frozenset()  # pods in phase Succeeded/Failed: never endpoints
        self.resolved: dict[str, ResolvedService] = {}
        self.ingress = IngressSync(self.run_dir)
        self._next_reserved: dict[str, str] = dict(self.state.last_reserved)  # the IPAM cursor _place advanced
        self._rules_checked: dict[str, Ruleset] = {}  # node -> the last ruleset `nft --check` accepted

    # ----- lifecycle -------------------------------------------------------------------
    def start(self) -> None:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        launcher = ensure_launcher(str(self.run_dir / "launcher.sock"), str(self.run_dir / "launcher.log"))
        (self.run_dir / "launcher.pid").write_text(f"{launcher.ping()}\n")
        self.supervisor = Supervisor(
            launcher, self.run_dir / "pods", self.config.backoff_initial, self.config.backoff_max
        )
        with self.lock:
            self._reconcile_all()
        self._start_dns_relay()

    def _start_dns_relay(self) -> None:
        """Forward external names from the cluster DNS to the host's resolvers through a relay on the
        host's underlay address (unless the Cluster file names upstreams itself)."""
        if self.config.dns_upstreams is not None or self._relay_pid():
            return
        view = self.run_dir / "dns" / "relay.json"
        view.parent.mkdir(parents=True, exist_ok=True)
        view.write_text(json.dumps(addons.relay_view(hostdns.host_upstreams())))
        with open(self.run_dir / "dns" / "relay.log", "ab") as logf:
            proc = subprocess.Popen(
                [sys.executable, "-m", "netlab.runtime.dns", "--view", str(view), "--listen",
                 self.topology({}).host_ip, "--port", "53"],
                stdin=subprocess.DEVNULL, stdout=logf, stderr=logf, start_new_session=True)
        (self.run_dir / "dns-relay.pid").write_text(f"{proc.pid}\n")

    def _relay_pid(self) -> int | None:
        try:
            pid = int((self.run_dir / "dns-relay.pid").read_text())
            alive = b"netlab.runtime.dns" in Path(f"/proc/{pid}/cmdline").read_bytes()
        except (OSError, ValueError):
            return None
        return pid if alive else None

    def topology(self, pods: dict[str, PlacedPod] | None = None) -> Topology:
        pods = self.state.pods if pods is None else pods
        return self.config.topology([(p.namespace, p.name, p.node, p.ip) for p in pods.values()])

    def _reconcile_all(self) -> None:
        """Converge the kernel to the state file: after a restart, a crash, or a lost namespace."""
        topo = self.topology()
        teardown.record_intent(self.cluster, [n.netns for n in topo.nodes] + [p.netns for p in topo.pods])
        for change in podnet.apply_topology(topo):
            self.event("Reconciled", change)
        wanted = {n.netns for n in topo.nodes} | {p.netns for p in topo.pods}
        stale = [n for n in teardown.cluster_namespaces(self.cluster) if n not in wanted]
        if stale:
            teardown.kill_processes_in(stale)
            podnet.remove_namespaces(stale)
        for pod in self.state.pods.values():
            self._write_resolv(pod)
        self.supervisor.sync(self._container_specs())
        self._sync_dataplane()

    def tick(self) -> None:
        with self.lock:
            for ev in self.supervisor.tick():
                self.event(ev.reason, ev.message, f"Pod {ev.pod_key}")
            self.prober.sync(self._probe_states())
            self.prober.tick()
            for pod_key, container, message in self.prober.drain_events():
                self.event("Unhealthy", f"{container}: {message}", f"Pod {pod_key}")
            for pod_key, container, message in self.prober.liveness_failures():
                self.event("Killing", f"Container {container} failed liveness probe ({message}), will be restarted",
                           f"Pod {pod_key}")
                self.supervisor.kill_container(pod_key, container)
            self.prober.take_changed()
            for change in self.ingress.reload_if_pending(self._ingress_pid()):
                self.event("IngressSync", change)
            if self._ready_map() != self.ready or self._terminated() != self.terminated:
                self._sync_dataplane()

    def _ready_map(self) -> dict[str, bool]:
        out = {}
        for key, pod in self.state.pods.items():
            statuses = self.supervisor.status(key)
            out[key] = bool(statuses) and all(
                st.state == "running" and self.probe_ready(pod, st.name) for st in statuses)
            if pod.namespace == addons.INGRESS_NAMESPACE and self.ingress.pending_reload:
                out[key] = False  # like ingress-nginx: not ready until the current configuration is loaded
        return out

    def _terminated(self) -> frozenset[str]:
        return frozenset(key for key, pod in self.state.pods.items()
                         if views.has_terminated(self.supervisor.status(key), pod.spec.get("restartPolicy", "Always")))

    def probe_ready(self, pod: PlacedPod, container: str) -> bool:
        probed = any(c["name"] == container and c.get("readinessProbe") for c in pod.spec.get("containers", []))
        return self.prober.ready(pod.key, container, probed)

    def _probe_states(self) -> list[ProbeState]:
        topo_nodes = {n.name: n.netns for n in self.topology({}).nodes}
        wanted = []
        for key, pod in self.state.pods.items():
            running = {st.name: st for st in self.supervisor.status(key) if st.state == "running"}
            for c in pod.spec.get("containers", []):
                st = running.get(c["name"])
                if st is None:
                    continue
                named = {cp["name"]: cp["containerPort"] for cp in c.get("ports") or [] if cp.get("name")}
                for kind in ("readiness", "liveness"):
                    spec = c.get(f"{kind}Probe")
                    if spec:
                        wanted.append(ProbeState(key, c["name"], kind, spec, pod.ip, pod.netns,
                                                 topo_nodes[pod.node], named, st.started_at or time.time()))
        return wanted

    def _ingress_pid(self) -> int | None:
        """The running nginx master (the ingress controller container), once it has run for a second."""
        for key, pod in self.state.pods.items():
            if pod.namespace == addons.INGRESS_NAMESPACE:
                for st in self.supervisor.status(key):
                    if st.state == "running" and st.started_at and time.time() - st.started_at > 1.0:
                        return st.pid
        return None

    def _sync_ingress(self) -> None:
        if not any(p.namespace == addons.INGRESS_NAMESPACE for p in self.state.pods.values()):
            return
        for change in self.ingress.sync(list(self.state.objects.values()), self.resolved, self._ingress_pid()):
            self.event("IngressSync", change)

    def ingress_detail(self, namespace: str, name: str) -> dict:
        key = f"{namespace}/{name}"
        with self.lock:
            return {"rules": [r for r in self.ingress.rules if r["ingress"] == key],
                    "notes": self.ingress.notes.get(key, []), "error": self.ingress.error}

    def _write_dns_view(self, services: list[ResolvedService]) -> None:
        namespaces = set(BUILTIN_NAMESPACES) | {o["metadata"]["name"] for o in self.state.objects.values()
                                                if o["kind"] == "Namespace"}
        upstreams = list(self.config.dns_upstreams) if self.config.dns_upstreams is not None \
            else [f"{self.topology({}).host_ip}:53"]
        view = addons.dns_view(self.config, services, list(self.state.pods.values()), sorted(namespaces), upstreams)
        path = self.run_dir / "dns" / "view.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, json.dumps(view, indent=1, sort_keys=True), skip_unchanged=True)

    def _pools(self) -> Pools:
        return Pools(self.config.service_subnet, self.config.node_port_range, *self.config.lb_pool)

    def _allocate(self, objects: dict[str, dict]) -> dict[str, Allocation]:
        services = [o for o in objects.values() if o["kind"] == "Service"]
        try:
            return allocate(services, self.state.allocations, self._pools())
        except AllocationError as e:
            causes = [{"object": o, "field": f, "message": m} for o, f, m in e.problems]
            raise ApiError(422, "Invalid", str(e), causes) from e

    def _sync_dataplane(self) -> None:
        """Endpoints follow pod readiness; nft rules and LoadBalancer announcements follow endpoints."""
        self.ready = self._ready_map()
        self.terminated = self._terminated()
        pods = list(self.state.pods.values())
        user_eps = {f"{o['metadata'].get('namespace', 'default')}/{o['metadata']['name']}": o
                    for o in self.state.objects.values() if o["kind"] == "Endpoints"}
        resolved = {}
        for obj in self.state.objects.values():
            if obj["kind"] != "Service":
                continue
            key = svc_key(obj)
            alloc = self.state.allocations.get(key, Allocation())
            resolved[key] = resolve(obj, alloc, pods, self.ready, user_eps.get(key), self.terminated)
        before = {k: v.endpoints for k, v in self.resolved.items()}
        self.resolved = resolved
        for key, rs in resolved.items():
            if before.get(key) != rs.endpoints and key in before:
                ready = sum(1 for e in rs.endpoints if e.ready)
                self.event("EndpointsChanged", f"{ready} ready of {len(rs.endpoints)} endpoints",
                           f"Service {key}")
        self._write_dns_view(list(resolved.values()))
        self._sync_ingress()
        t0 = time.monotonic()
        policies = policy_rulesets(self.topology(), self.state)
        for change in self.dataplane.sync(self.topology(), self.config.pod_subnet, list(resolved.values()),
                                          policies):
            self.event("RulesChanged", change)
        log.info("dataplane: %d services, %.3fs", len(resolved), time.monotonic() - t0)

    def event(self, reason: str, message: str, obj: str = "") -> None:
        if not obj:
            # Kernel changes are phrased "node X: ..." or "pod ns/name: ...": attribute them to that object.
            head, sep, rest = message.partition(": ")
            kind, _, name = head.partition(" ")
            if sep and kind in ("node", "pod") and name and " " not in name:
                obj, message = f"{kind.capitalize()} {name}", rest
        self.events.append({"time": time.time(), "reason": reason, "message": message, "object": obj})
        log.info("%s %s %s", reason, obj, message)

    # ----- apply and delete ------------------------------------------------------------
    def _with_addons(self, objects: dict[str, dict], enabled: list[str] | None = None) -> dict[str, dict]:
        """Add (or update) the cluster's own objects where the user has none of the same name; remove the
        ingress controller when nothing needs it."""
        enabled = self.state.addons if enabled is None else enabled
        wanted = addons.dns_objects(self.config, sys.executable, str(self.run_dir / "dns" / "view.json"))
        if addons.ingress_wanted(list(objects.values()), "ingress-nginx" in enabled):
            wanted += addons.ingress_objects(self.ingress.argv())
        out, missing = addons.merge_addons(objects, wanted, statemod.object_key)
        for key, obj in missing:
            old = objects.get(key)
            out[key] = old if old is not None and _strip(old) == _strip(obj) else _stamp(obj, old, self.rng)
        return out

    def set_addon(self, name: str, enabled: bool) -> dict:
        if name not in ("ingress-nginx",):
            raise ApiError(404, "NotFound", f'addon "{name}" not found (known: ingress-nginx)')
        with self.lock:
            names = sorted(set(self.state.addons) | {name}) if enabled else [a for a in self.state.addons if a != name]
            objects = self._with_addons(self.state.objects, names)
            pods = self._place(objects)
            allocations = self._allocate(objects)
            self._commit(objects, pods, allocations, addons=names)
            self.event("AddonChanged", f"addon {name} {'enabled' if enabled else 'disabled'}")
            return {"name": name, "enabled": enabled}

    def apply(self, objects: list[dict], dry_run: bool = False) -> list[dict]:
        with self.lock:
            new_objects = dict(self.state.objects)
            results = []
            for obj in objects:
                key = statemod.object_key(obj)
                old = new_objects.get(key)
                if old is not None and _strip(old) == _strip(obj):
                    action = "unchanged"
                else:
                    action = "configured" if old is not None else "created"
                    obj = _stamp(obj, old, self.rng)
                    new_objects[key] = obj
                results.append({"kind": obj["kind"], "name": obj["metadata"]["name"],
                                "namespace": obj["metadata"].get("namespace", ""), "action": action})
            new_objects = self._with_addons(new_objects)
            self._check_namespaces(new_objects, objects)
            new_pods = self._place(new_objects)
            allocations = self._allocate(new_objects)
            try:
                if dry_run:
                    self._check_rules(new_objects, new_pods, allocations)
                    return results
                self._commit(new_objects, new_pods, allocations)
            except ApiError as e:
                raise _naming(e, [f"{r['kind']} {r['namespace']}/{r['name']}" for r in results
                                  if r["action"] != "unchanged"]) from e
            for r in results:
                if r["action"] != "unchanged":
                    self.event(r["action"].capitalize(), f"{r['kind']} {r['namespace']}/{r['name']} {r['action']}")
            return results

    def delete(self, kind: str, namespace: str, name: str) -> dict:
        with self.lock:
            key = f"{kind}/{namespace if kind not in CLUSTER_SCOPED else ''}/{name}"
            new_objects = dict(self.state.objects)
            if key in new_objects:
                removed = new_objects.pop(key)
                if kind == "Namespace":
                    new_objects = {k: o for k, o in new_objects.items()
                                   if (o["metadata"].get("namespace") or "") != name}
            elif kind == "Pod" and f"{namespace}/{name}" in self.state.pods:
                # A Deployment's pod: delete it and let the Deployment replace it, as a ReplicaSet would.
                pod = self.state.pods[f"{namespace}/{name}"]
                pods = {k: p for k, p in self.state.pods.items() if k != pod.key}
                new_pods = self._place(new_objects, pods)
                self._commit(new_objects, new_pods, self.state.allocations)
                return views.pod(pod, [], self.topology())
            else:
                raise ApiError(404, "NotFound", f'{kind.lower()}s "{name}" not found')
            new_objects = self._with_addons(new_objects)
            new_pods = self._place(new_objects)
            self._commit(new_objects, new_pods, self._allocate(new_objects))
            self.event("Deleted", f"{kind} {namespace}/{name} deleted")
            return removed

    def _check_namespaces(self, objects: dict[str, dict], applied: list[dict]) -> None:
        known = set(BUILTIN_NAMESPACES) | {o["metadata"]["name"] for o in objects.values() if o["kind"] == "Namespace"}
        causes = []
        for obj in applied:
            ns = obj["metadata"].get("namespace")
            if obj["kind"] not in CLUSTER_SCOPED and ns and ns not in known:
                causes.append({"object": f"{obj['kind']} {ns}/{obj['metadata']['name']}",
                               "field": "metadata.namespace", "message": f'namespaces "{ns}" not found'})
        if causes:
            raise ApiError(422, "Invalid", "; ".join(c["message"] for c in causes), causes)

    def _place(self, objects: dict[str, dict], previous: dict[str, PlacedPod] | None = None) -> dict[str, PlacedPod]:
        previous = self.state.pods if previous is None else previous
        pods = [o for o in objects.values() if o["kind"] == "Pod"]
        deploys = [o for o in objects.values() if o["kind"] == "Deployment"]
        replicasets = [o for o in objects.values() if o["kind"] == "ReplicaSet"]
        wanted = expand(pods, deploys, previous, replicasets)
        nodes = self.topology({}).nodes
        cursor = dict(self.state.last_reserved)
        try:
            placed = place(wanted, nodes, previous, time.time(), self.rng, cursor)
        except PlacementError as e:
            causes = [{"object": o, "field": f, "message": m} for o, f, m in e.problems]
            raise ApiError(422, "Invalid", str(e), causes) from e
        self._next_reserved = cursor
        return {p.key: p for p in placed}

    def _check_rules(self, objects: dict[str, dict], pods: dict[str, PlacedPod],
                     allocations: dict[str, Allocation]) -> None:
        """Render every node's table for the would-be state and let `nft --check` judge it, with every
        pod ready (so every endpoint the state can produce is in it). A node whose table is the same as
        the last one that passed is not checked again."""
        user_eps = {f"{o['metadata'].get('namespace', 'default')}/{o['metadata']['name']}": o
                    for o in objects.values() if o["kind"] == "Endpoints"}
        all_ready = dict.fromkeys(pods, True)
        services = [resolve(o, allocations.get(svc_key(o), Allocation()), list(pods.values()), all_ready,
                            user_eps.get(svc_key(o))) for o in objects.values() if o["kind"] == "Service"]
        topo = self.topology(pods)
        would_be = statemod.State(objects=objects, pods=pods)
        wanted = self.dataplane.rulesets(topo, self.config.pod_subnet, services, policy_rulesets(topo, would_be))
        problems = precheck.rules_problems(topo, wanted, self._rules_checked)
        if problems:
            raise ApiError(422, "Invalid", "; ".join(problems))

    def _commit(self, objects: dict[str, dict], pods: dict[str, PlacedPod],
                allocations: dict[str, Allocation], addons: list[str] | None = None) -> None:
        """Take the kernel to the new state completely, or leave it and the state as they were.

        Everything that can be judged without side effects is checked first (derived names, foreign
        namespaces, `nft --check`). A failure after that puts the previous state back and converges the
        kernel to it again. The state file is written only once the kernel has taken the change; the
        namespace journal is written before any namespace is made, so `down` finds them after a crash.
        """
        t0 = time.monotonic()
        moved = {k for k, p in self.state.pods.items() if k in pods and (pods[k].node, pods[k].ip) != (p.node, p.ip)}
        causes = precheck.name_problems(pods, [k for k in pods if k not in self.state.pods or k in moved])
        if causes:
            raise ApiError(422, "Invalid", "; ".join(f"{c['object']}: {c['message']}" for c in causes), causes)
        causes = precheck.foreign_netns_problems(self.cluster, pods, self.state.pods)
        if causes:
            raise ApiError(422, "Invalid", "; ".join(c["message"] for c in causes), causes)
        self._check_rules(objects, pods, allocations)
        log.info("commit: checked in %.3fs", time.monotonic() - t0)
        previous = (self.state.objects, self.state.pods, self.state.allocations, self.state.addons,
                    self.state.resource_version, self.state.last_reserved)
        try:
            self._change_kernel(objects, pods, allocations, addons)
        except Exception as e:
            log.exception("commit failed; rolling back")
            (self.state.objects, self.state.pods, self.state.allocations, self.state.addons,
             self.state.resource_version, self.state.last_reserved) = previous
            self._roll_back([k for k, p in pods.items() if k in previous[1] and previous[1][k].spec != p.spec])
            raise ApiError(500, "InternalError",
                           f"the kernel refused the change ({e}); it was rolled back, the cluster is as before") from e
        statemod.save(self.cluster, self.state)

    def _roll_back(self, respecced: list[str]) -> None:
        """Converge the kernel to the (restored) state: the reconcile path, with the rules replaced whole,
        since a failed transaction leaves the dataplane's idea of the kernel uncertain. Pods whose spec
        the change had altered get their containers restarted with the old spec."""
        self.dataplane = Dataplane()
        self._rules_checked.clear()
        try:
            for key in respecced:
                self.supervisor.stop_pod(key)
            self._reconcile_all()
        except Exception:  # the next apply or restart converges again; the first error is the one to report
            log.exception("rollback did not converge")

    def _change_kernel(self, objects: dict[str, dict], pods: dict[str, PlacedPod],
                       allocations: dict[str, Allocation], addons: list[str] | None) -> None:
        before = self.state.pods
        gone = [p for k, p in before.items() if k not in pods or (pods[k].node, pods[k].ip) != (p.node, p.ip)]
        respec = [k for k, p in pods.items() if k in before and before[k].spec != p.spec]
        new = [p for k, p in pods.items() if k not in before or before[k] in gone]
        self.state.objects = objects
        self.state.pods = pods
        self.state.allocations = allocations
        self.state.last_reserved = self._next_reserved
        if addons is not None:
            self.state.addons = addons
        self.state.resource_version += 1
        topo = self.topology()
        for pod in gone:
            self.supervisor.stop_pod(pod.key)
        for key in respec:
            self.supervisor.stop_pod(key)
        if gone:
            teardown.kill_processes_in([p.netns for p in gone])
            for change in podnet.remove_namespaces([p.netns for p in gone]):
                self.event("Killing", change)
            for change in neighbours.forget(topo, [(p.node, p.ip) for p in gone]):
                self.event("NeighboursCleaned", change)
        t0 = time.monotonic()
        if new:
            nets = [n for n in topo.pods if f"{n.namespace}/{n.name}" in {p.key for p in new}]
            teardown.record_intent(self.cluster, [n.netns for n in nets])
            phases.reached(phases.NAMESPACES)
            for change in podnet.ensure_pods(topo, nets):
                self.event("Created", change)
            for pod in new:
                self._write_resolv(pod)
            phases.reached(phases.VETHS)
        t1 = time.monotonic()
        self._sync_ingress()
        self.supervisor.sync(self._container_specs())
        self._sync_dataplane()
        phases.reached(phases.RULES)
        log.info("commit: %d new, %d gone; kernel %.3fs, containers %.3fs", len(new), len(gone), t1 - t0,
                 time.monotonic() - t1)

    def _write_resolv(self, pod: PlacedPod) -> None:
        directory = Path(names.netns_etc_dir(pod.netns))
        directory.mkdir(parents=True, exist_ok=True)
        text = resolv_conf(pod.namespace, self.config.cluster_domain, views.dns_ip(self.config))
        path = directory / "resolv.conf"
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
            os.chmod(path, 0o644)  # read by containers of any user (the controller's umask is 077)

    def _container_specs(self) -> list[ContainerSpec]:
        topo = self.topology()
        node_ip = {n.name: n.underlay_ip for n in topo.nodes}
        specs = []
        # The cluster's own pods (DNS, ingress) start first: everything else waits on them being Ready.
        system = (addons.DNS_NAMESPACE, addons.INGRESS_NAMESPACE)
        for pod in sorted(self.state.pods.values(), key=lambda p: (p.namespace not in system, p.key)):
            specs += views.container_specs(pod, node_ip[pod.node])
        return specs

    # ----- reads -------------------------------------------------------------------------
    def list(self, kind: str, namespace: str | None) -> list[dict]:
        with self.lock:
            return views.list_objects(self, kind, namespace)


def _naming(e: ApiError, changed: list[str]) -> ApiError:
    """An error that names no object gets the objects the request changed."""
    if e.causes or not changed:
        return e
    more = f" and {len(changed) - 5} more" if len(changed) > 5 else ""
    return ApiError(e.code, e.reason, f"{', '.join(changed[:5])}{more}: {e}")


def _strip(obj: dict) -> dict:
    meta = {k: v for k, v in obj["metadata"].items()
            if k not in ("uid", "creationTimestamp", "resourceVersion", "generation")}
    return {**obj, "metadata": meta}


def _stamp(obj: dict, old: dict | None, rng: random.Random) -> dict:
    meta = dict(obj["metadata"])
    if old is not None:
        meta["uid"] = old["metadata"]["uid"]
        meta["creationTimestamp"] = old["metadata"]["creationTimestamp"]
        meta["generation"] = old["metadata"].get("generation", 1) + 1
    else:
        meta["uid"] = f"{rng.getrandbits(128):032x}"
        meta["creationTimestamp"] = views.timestamp(time.time())
        meta["generation"] = 1
    return {**obj, "metadata": meta}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="netlab-controller")
    parser.add_argument("--cluster", required=True)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    from netlab.api.server import serve

    controller = Controller(args.cluster)
    run = Path(names.run_dir(args.cluster))
    run.mkdir(parents=True, exist_ok=True)
    (run / "controller.pid").write_text(f"{os.getpid()}\n")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    controller.start()
    server = serve(controller, str(run / "api.sock"))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    while not stop.wait(0.2):
        try:
            controller.tick()
        except Exception:  # keep supervising; the error is in the log
            log.exception("tick failed")
    server.shutdown()
    return 0


if __name__ == "__main__":
    # Run from the imported module, not __main__, so its classes are the ones the API module sees.
    from netlab.runtime import controller as _controller

    raise SystemExit(_controller.main())
