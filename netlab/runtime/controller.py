"""One controller per cluster: owns the desired state, reconciles the kernel, supervises containers.

Run as `python -m netlab.runtime.controller --cluster NAME` (started by `netlab up`).
"""

from __future__ import annotations

import argparse
import logging
import os
import random
import signal
import threading
import time
from pathlib import Path

from netlab.api import views
from netlab.api.errors import ApiError
from netlab.api.watchcache import WatchCache
from netlab.compile import names
from netlab.compile.config import ClusterConfig
from netlab.compile.desired import Desired, Observed, compile_desired, compile_topology
from netlab.compile.ingress_controller import runs_nginx
from netlab.compile.nftables import Ruleset
from netlab.compile.serviceaccount import TokenIssuer
from netlab.compile.services import Allocation, ResolvedService
from netlab.compile.topology import Topology
from netlab.compile.workloads import PlacedPod
from netlab.kernel import neighbours, podnet, teardown
from netlab.model import crd
from netlab.runtime import events as evmod
from netlab.runtime import observe, observers, phases, precheck, store
from netlab.runtime import state as statemod
from netlab.runtime.apiside import ALL_KINDS, ApiSide
from netlab.runtime.containers import Supervisor
from netlab.runtime.dataplane import Dataplane
from netlab.runtime.dnsrelay import ensure_relay
from netlab.runtime.events import EventLog
from netlab.runtime.gatewaysync import GatewaySync, proxy_pids
from netlab.runtime.ingresssync import IngressSync
from netlab.runtime.jobside import JobSide
from netlab.runtime.launcher_client import ensure_launcher
from netlab.runtime.podfiles import write_dns_view, write_resolv
from netlab.runtime.probes import Prober, ProbeState
from netlab.runtime.rollouts import RolloutSide
from netlab.runtime.store import check_namespaces, naming
from netlab.runtime.termination import TerminationSide

log = logging.getLogger("netlab.controller")


class Controller(ApiSide, RolloutSide, JobSide, TerminationSide):
    def __init__(self, cluster: str):
        self.cluster = cluster
        loaded = statemod.load(cluster)
        if loaded is None:
            raise SystemExit(f"no state for cluster {cluster!r}: run `netlab up` first")
        self.state = loaded
        crd.bind(lambda: self.state.objects)   # the stored CRDs' kinds are validated and served
        self.config = ClusterConfig.from_manifest(loaded.cluster, loaded.cluster_name)
        self.run_dir = Path(names.run_dir(cluster))
        self.lock = threading.RLock()
        self.eventlog = EventLog()
        # resourceVersions: the cache counts on from the block the last run reserved (see _refresh_views)
        self.watchcache = WatchCache(start_rv=loaded.resource_version)
        self._rv_reserved = loaded.resource_version
        self._dirty: set[str] = set(ALL_KINDS)  # the kinds whose views may have changed since the last refresh
        self._terminating: dict[str, float] = {}  # namespaces being deleted -> since when
        # deleted namespaces whose pods still terminate: shown Terminating until they are gone (as upstream's
        # namespace controller keeps it), so `kubectl delete ns` returns once everything in it is gone
        self._draining_namespaces: dict[str, dict] = {}
        self.rng = random.Random()
        self.started = time.time()
        self.api_endpoint: tuple[str, int] | None = None   # (host underlay address, port) of the API, for pods
        self.sa_issuer: TokenIssuer | None = None   # signs pods' service account tokens (set with the API)
        self.supervisor: Supervisor | None = None
        self.prober = Prober(clock=time.time)
        self.dataplane = Dataplane()
        self.observed = Observed()  # readiness etc. as the last compile saw it
        self.desired: Desired | None = None  # the last compiled desired state (what views read)
        self.applied: Desired | None = None  # the last one the kernel took whole; None: unknown, replace all
        self.ingress = IngressSync(self.run_dir)
        self.gateways = GatewaySync(self.run_dir)
        self._next_reserved: dict[str, str] = dict(self.state.last_reserved)  # the IPAM cursor _place advanced
        self._rules_checked: dict[str, Ruleset] = {}  # node -> the last ruleset `nft --check` accepted
        self._init_rollouts()
        self._init_jobs()
        self._init_termination()
        self._grace_requests: dict[str, int] = {}  # pod key -> a DELETE's gracePeriodSeconds, for its commit

    # ----- lifecycle -------------------------------------------------------------------
    def start(self) -> None:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        launcher = ensure_launcher(str(self.run_dir / "launcher.sock"), str(self.run_dir / "launcher.log"))
        (self.run_dir / "launcher.pid").write_text(f"{launcher.ping()}\n")
        self.supervisor = Supervisor(
            launcher, self.run_dir / "pods", self.config.backoff_initial, self.config.backoff_max
        )
        for key in self.state.terminating:   # before the first sync: their exits are not restarts
            self.supervisor.drain(key)
        with self.lock:
            self._reconcile_all()
            self._refresh_views()
        if self.config.dns_upstreams is None:  # otherwise the Cluster file names the upstreams itself
            ensure_relay(self.run_dir, self.config.topology().host_ip)

    @property
    def events(self) -> list[dict]:
        return self.eventlog.items

    @property
    def ready(self) -> dict[str, bool]:
        return dict(self.observed.ready)

    @property
    def terminated(self) -> frozenset[str]:
        return self.observed.terminated

    @property
    def resolved(self) -> dict[str, ResolvedService]:
        return dict(self.desired.services) if self.desired else {}

    def topology(self, pods: dict[str, PlacedPod] | None = None) -> Topology:
        if pods is None and self.desired is not None:
            return self.desired.topology
        return compile_topology(self.config, self.live_pods if pods is None else pods)

    def _reconcile_all(self) -> None:
        """Converge the kernel to the state file: after a restart, a crash, or a lost namespace."""
        topo = compile_topology(self.config, self.live_pods)
        teardown.record_intent(self.cluster, [n.netns for n in topo.nodes] + [p.netns for p in topo.pods])
        for change in podnet.apply_topology(topo):
            self.event("Reconciled", change)
        wanted = {n.netns for n in topo.nodes} | {p.netns for p in topo.pods}
        stale = [n for n in teardown.cluster_namespaces(self.cluster) if n not in wanted]
        if stale:
            teardown.kill_processes_in(stale)
            podnet.remove_namespaces(stale)
        observed = self._observe()
        desired = self._compile(observed, topo)
        for key, pod in self.live_pods.items():
            if pod.node and not pod.host_network:  # hostNetwork: the containers bind theirs; Pending: none
                write_resolv(pod.netns, desired.resolv[key])
        self._apply_workloads(desired, observed)

    def _apply_workloads(self, desired: Desired, observed: Observed) -> None:
        """Containers (their ingress configuration written before nginx starts), then the network, observed
        and compiled again when the containers just started changed readiness."""
        self._apply_ingress(desired)
        self.supervisor.sync(list(desired.containers))
        again = self._observe()
        if again != observed:
            desired = self._compile(again, desired.topology)
        self._apply_network(desired, again)

    def _sync(self) -> None:
        """Readiness changed: the network follows it (endpoints, DNS, ingress backends, rules)."""
        observed = self._observe()
        self._apply_network(self._compile(observed, self.topology()), observed)

    def _observe(self) -> Observed:
        ingress = any(runs_nginx(p.spec) for p in self.state.pods.values())
        return Observed(ready=self._ready_map(), terminated=self._terminated(),
                        terminating=frozenset(self.state.terminating),
                        ingress_dir=str(self.ingress.dir) if ingress else None,
                        default_cert=self.ingress.default_cert() if ingress else ("", ""),
                        gateway_root=str(self.gateways.root),
                        observing=observers.attached(self.run_dir),
                        ingress_argv=tuple(self.ingress.argv()), sa_issuer=self.sa_issuer)

    def _compile(self, observed: Observed, topo: Topology) -> Desired:
        return compile_desired(self.state.objects, self.config, observed, pods=self.live_pods,
                               allocations=self.state.allocations, topology=topo)

    def _apply_ingress(self, desired: Desired) -> None:
        if desired.ingress is not None:
            for change in self.ingress.apply(desired.ingress, self._ingress_pid()):
                self.event("IngressSync", change)
        if desired.gateways is not None:
            for change in self.gateways.apply(desired.gateways, self._gateway_pids(desired.gateways.configs)):
                self.event("GatewaySync", change)

    def _gateway_pids(self, keys) -> dict[str, int]:
        return proxy_pids(self.state.pods, self.supervisor, list(keys))

    def _apply_network(self, desired: Desired, observed: Observed) -> None:
        t0 = time.monotonic()
        before = self.desired.services if self.desired else {}
        self.observed, self.desired = observed, desired
        self._dirty |= ALL_KINDS
        for key, rs in desired.services.items():
            if key in before and before[key].endpoints != rs.endpoints:
                ready = sum(1 for e in rs.endpoints if e.ready)
                self.event("EndpointsChanged", f"{ready} ready of {len(rs.endpoints)} endpoints", f"Service {key}")
        write_dns_view(self.run_dir / "dns" / "view.json", desired.dns_view)
        self._apply_ingress(desired)
        applied, self.applied = self.applied, None  # unknown until the kernel has taken it whole
        for change in self.dataplane.apply(applied, desired):
            self.event("RulesChanged", change)
        self.applied = desired
        log.info("dataplane: %d services, %.3fs", len(desired.services), time.monotonic() - t0)

    def tick(self) -> None:
        with self.lock:
            for ev in self.supervisor.tick():
                self._container_event(ev.pod_key, ev.container, ev.reason, ev.message)
            self._terminate_step()
            self.prober.sync(self._probe_states())
            self.prober.tick()
            for pod_key, container, message in self.prober.drain_events():
                self.event("Unhealthy", message, f"Pod {pod_key}", component=evmod.KUBELET, container=container)
            for pod_key, container, _message in self.prober.liveness_failures():
                self.event("Killing", f"Container {container} failed liveness probe, will be restarted",
                           f"Pod {pod_key}", component=evmod.KUBELET, container=container)
                self.supervisor.kill_container(pod_key, container)
            if self.prober.take_changed():
                self._dirty |= views.POD_KINDS
            for change in self.ingress.reload_if_pending(self._ingress_pid()):
                self.event("IngressSync", change)
                self._dirty.add("Ingress")  # its status follows the rules nginx took
            if self.gateways.pending:
                for change in self.gateways.reload_if_pending(self._gateway_pids(self.gateways.pending)):
                    self.event("GatewaySync", change)
            if (self._ready_map() != self.observed.ready or self._terminated() != self.observed.terminated
                    or observers.attached(self.run_dir) != self.observed.observing):
                self._sync()
            self._roll_out()
            self._run_jobs()
            if self._dirty:
                self._refresh_views(set(self._dirty))

    def _ready_map(self) -> dict[str, bool]:
        return observe.ready_map(self.live_pods, self.supervisor, self.prober, self.ingress.pending_reload)

    def _terminated(self) -> frozenset[str]:
        return observe.terminated(self.live_pods, self.supervisor)

    def probe_ready(self, pod: PlacedPod, container: str) -> bool:
        return observe.probe_ready(self.prober, pod, container)

    def _probe_states(self) -> list[ProbeState]:
        nodes = {n.name: n.netns for n in self.config.topology().nodes}
        return observe.probe_states(self.live_pods, self.supervisor, nodes, self.config.ip_families)

    def _ingress_pid(self) -> int | None:
        return observe.ingress_pid(self.live_pods, self.supervisor)

    def ingress_detail(self, namespace: str, name: str) -> dict:
        key = f"{namespace}/{name}"
        with self.lock:
            return {"rules": [r for r in self.ingress.rules if r["ingress"] == key],
                    "notes": self.ingress.notes.get(key, []), "error": self.ingress.error}

    def _allocate(self, objects: dict[str, dict]) -> dict[str, Allocation]:
        return store.allocations(objects, self.state.allocations, self.config)

    # ----- apply and delete ------------------------------------------------------------
    def _with_addons(self, objects: dict[str, dict], enabled: list[str] | None = None) -> dict[str, dict]:
        enabled = self.state.addons if enabled is None else enabled
        return store.with_addons(objects, enabled, self.config, str(self.run_dir / "dns" / "view.json"),
                                 self.ingress.argv(), self.rng, self.api_endpoint, str(self.gateways.root))

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
            new_objects, results = store.merge(self.state.objects, objects, self.rng)
            new_objects = self._with_addons(new_objects)
            check_namespaces(new_objects, objects)
            new_pods = self._place(new_objects)
            allocations = self._allocate(new_objects)
            try:
                if dry_run:
                    self._check_rules(new_objects, new_pods, allocations)
                    return results
                self._commit(new_objects, new_pods, allocations)
            except ApiError as e:
                raise naming(e, [f"{r['kind']} {r['namespace']}/{r['name']}" for r in results
                                  if r["action"] != "unchanged"]) from e
            for r in results:
                if r["action"] != "unchanged":
                    self.event(r["action"].capitalize(), f"{r['kind']} {r['namespace']}/{r['name']} {r['action']}",
                               f"{r['kind']} {r['namespace']}/{r['name']}")
                    note = store.no_effect(r["kind"]) if r["action"] == "created" else None
                    if note:
                        self.event("NoEffect", note, f"{r['kind']} {r['namespace']}/{r['name']}")
            return results

    def _place(self, objects: dict[str, dict], previous: dict[str, PlacedPod] | None = None) -> dict[str, PlacedPod]:
        cursor = dict(self.state.last_reserved)
        pods = store.placement(objects, self.state.pods if previous is None else previous, self.config.topology().nodes,
                               self.rng, cursor, self.ready_since, self.job_view,
                               [t.pod for t in self.state.terminating.values()])
        self._next_reserved = cursor
        # a pod whose name a terminating one still holds comes once that one is gone (as a StatefulSet's)
        return self._with_pod_meta({k: p for k, p in pods.items() if k not in self.state.terminating})

    def _check_rules(self, objects: dict[str, dict], pods: dict[str, PlacedPod],
                     allocations: dict[str, Allocation]) -> Topology:
        """`nft --check` every node's table for the would-be state (a node whose table is the same as the
        last one that passed is not checked again); its topology serves the commit."""
        topo, problems = precheck.would_be_rules(objects, self.config, self._would_be_live(pods), allocations,
                                                 self._rules_checked)
        if problems:
            raise ApiError(422, "Invalid", "; ".join(problems))
        return topo

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
        topo = self._check_rules(objects, pods, allocations)
        log.info("commit: checked in %.3fs", time.monotonic() - t0)
        previous = (self.state.objects, self.state.pods, self.state.allocations, self.state.addons,
                    self.state.resource_version, self.state.last_reserved, dict(self.state.terminating))
        try:
            self._change_kernel(objects, pods, allocations, addons, topo)
        except Exception as e:
            log.exception("commit failed; rolling back")
            (self.state.objects, self.state.pods, self.state.allocations, self.state.addons,
             self.state.resource_version, self.state.last_reserved, self.state.terminating) = previous
            self._resume_not_terminating()
            self._roll_back([k for k, p in pods.items() if k in previous[1] and previous[1][k].spec != p.spec])
            self._refresh_views()
            raise ApiError(500, "InternalError",
                           f"the kernel refused the change ({e}); it was rolled back, the cluster is as before") from e
        statemod.save(self.cluster, self.state)
        self._refresh_views()

    def _roll_back(self, respecced: list[str]) -> None:
        """Converge the kernel to the (restored) state: the reconcile path, with the rules replaced whole,
        since a failed transaction leaves the dataplane's idea of the kernel uncertain. Pods whose spec
        the change had altered get their containers restarted with the old spec."""
        self.applied = None
        self._rules_checked.clear()
        try:
            for key in respecced:
                self.supervisor.stop_pod(key)
            self._reconcile_all()
        except Exception:  # the next apply or restart converges again; the first error is the one to report
            log.exception("rollback did not converge")

    def _change_kernel(self, objects: dict[str, dict], pods: dict[str, PlacedPod],
                       allocations: dict[str, Allocation], addons: list[str] | None, topo: Topology) -> None:
        before = self.state.pods
        gone = [p for k, p in before.items() if k in pods and (pods[k].node, pods[k].ip) != (p.node, p.ip)]
        gone += self._begin_termination([p for k, p in before.items() if k not in pods], self._grace_requests)
        respec = [k for k, p in pods.items() if k in before and before[k].spec != p.spec]
        new = [p for k, p in pods.items() if k not in before or before[k] in gone]
        self.state.objects = objects
        self.state.pods = pods
        self.state.allocations = allocations
        self.state.last_reserved = self._next_reserved
        if addons is not None:
            self.state.addons = addons
        for pod in gone:
            self.supervisor.stop_pod(pod.key)
        for key in respec:
            self.supervisor.stop_pod(key)
        # Only pods with a namespace of their own (not hostNetwork, not Pending): the name may be another's.
        gone = [p for p in gone if p.node and not p.host_network]
        if gone:
            teardown.kill_processes_in([p.netns for p in gone])
            for change in podnet.remove_namespaces([p.netns for p in gone]):
                self.event("Killing", change)
            for change in neighbours.forget(topo, [(p.node, p.ip) for p in gone]):
                self.event("NeighboursCleaned", change)
        observed = self._observe()
        desired = self._compile(observed, topo)
        t0 = time.monotonic()
        if new:
            nets = [n for n in topo.pods if f"{n.namespace}/{n.name}" in {p.key for p in new}]
            teardown.record_intent(self.cluster, [n.netns for n in nets])
            phases.reached(phases.NAMESPACES)
            for pod in new:
                if pod.node:
                    self.event("Scheduled", f"Successfully assigned {pod.key} to {pod.node}", f"Pod {pod.key}",
                               component=evmod.SCHEDULER)
                else:
                    self.event("FailedScheduling", pod.unschedulable, f"Pod {pod.key}", component=evmod.SCHEDULER)
            for change in podnet.ensure_pods(topo, nets):
                self.event("SandboxCreated", change)
            for pod in new:
                if pod.node and not pod.host_network:
                    write_resolv(pod.netns, desired.resolv[pod.key])
            phases.reached(phases.VETHS)
        t1 = time.monotonic()
        self._apply_workloads(desired, observed)
        phases.reached(phases.RULES)
        log.info("commit: %d new, %d gone; kernel %.3fs, containers %.3fs", len(new), len(gone), t1 - t0,
                 time.monotonic() - t1)

    # ----- reads -------------------------------------------------------------------------
    def list(self, kind: str, namespace: str | None) -> list[dict]:
        """Objects of kind in namespace (None: all) from the watch cache, with their resourceVersions."""
        return self.watchcache.list(kind, namespace)[0]

    def compiled(self) -> Desired | None:
        """The last compiled desired state (frozen; None before the first compile): what `netlab trace` walks."""
        with self.lock:
            return self.desired


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="netlab-controller")
    parser.add_argument("--cluster", required=True)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    from netlab.api import endpoint

    controller = Controller(args.cluster)
    run = Path(names.run_dir(args.cluster))
    run.mkdir(parents=True, exist_ok=True)
    (run / "controller.pid").write_text(f"{os.getpid()}\n")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    from netlab.runtime.apiserve import start_api

    server, where = start_api(controller)
    controller.start()
    server.ready.set()
    if where.host_address != where.address:
        server.listen_also(where.host_address)
    endpoint.save(args.cluster, where)
    log.info("API serving on %s (and %s:%d for pods)", where.url, where.host_address, where.port)
    while not stop.wait(0.2):
        try:
            controller.tick()
        except Exception:  # keep supervising; the error is in the log
            log.exception("tick failed")
    endpoint.remove(args.cluster)
    server.stop()
    return 0


if __name__ == "__main__":
    # Run from the imported module, not __main__, so its classes are the ones the API module sees.
    from netlab.runtime import controller as _controller

    raise SystemExit(_controller.main())
