"""What the controller observes of the running world each tick: container states, readiness (probes),
completion, the ingress controller's nginx. Read-only; the compiler gets it as plain data (Observed)."""

from __future__ import annotations

import time
from collections.abc import Mapping

from netlab.api import views
from netlab.compile.ingress_controller import runs_nginx
from netlab.compile.workloads import PlacedPod
from netlab.runtime.containers import Supervisor
from netlab.runtime.probes import Prober, ProbeState


def probe_ready(prober: Prober, pod: PlacedPod, container: str) -> bool:
    probed = any(c["name"] == container and c.get("readinessProbe") for c in pod.spec.get("containers", []))
    return prober.ready(pod.key, container, probed)


def ready_map(pods: Mapping[str, PlacedPod], supervisor: Supervisor, prober: Prober,
              ingress_pending: bool) -> dict[str, bool]:
    out = {}
    for key, pod in pods.items():
        statuses = supervisor.status(key)
        out[key] = bool(statuses) and all(
            st.state == "running" and probe_ready(prober, pod, st.name) for st in statuses)
        if ingress_pending and runs_nginx(pod.spec):
            out[key] = False  # like ingress-nginx: not ready until the current configuration is loaded
    return out


def terminated(pods: Mapping[str, PlacedPod], supervisor: Supervisor) -> frozenset[str]:
    """Pods in phase Succeeded or Failed."""
    return frozenset(key for key, pod in pods.items()
                     if views.has_terminated(supervisor.status(key), pod.spec.get("restartPolicy", "Always")))


def probe_states(pods: Mapping[str, PlacedPod], supervisor: Supervisor,
                 node_netns: Mapping[str, str], families: tuple[str, ...] = ("IPv4",)) -> list[ProbeState]:
    """The probes that should run now: those of running containers, at the pod's status.podIP (its address
    of the cluster's primary family `families[0]`), as the kubelet probes."""
    wanted = []
    for key, pod in pods.items():
        running = {st.name: st for st in supervisor.status(key) if st.state == "running"}
        for c in pod.spec.get("containers", []):
            st = running.get(c["name"])
            if st is None:
                continue
            named = {cp["name"]: cp["containerPort"] for cp in c.get("ports") or [] if cp.get("name")}
            for kind in ("readiness", "liveness"):
                spec = c.get(f"{kind}Probe")
                if spec:
                    wanted.append(ProbeState(key, c["name"], kind, spec, pod.ips(families)[0], pod.run_netns,
                                             node_netns[pod.node], named, st.started_at or time.time()))
    return wanted


def ingress_pid(pods: Mapping[str, PlacedPod], supervisor: Supervisor) -> int | None:
    """The running nginx master (the ingress controller container), once it has run for a second."""
    for key, pod in sorted(pods.items()):
        if runs_nginx(pod.spec):
            for st in supervisor.status(key):
                if st.state == "running" and st.started_at and time.time() - st.started_at > 1.0:
                    return st.pid
    return None
