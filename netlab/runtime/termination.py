"""The controller's side of graceful termination (the kubelet's part of a pod deletion).

A mixin of netlab.runtime.controller.Controller (as RolloutSide is). A deleted pod leaves `state.pods` for
`state.terminating`: it keeps its namespace, address and containers, its endpoints turn terminating, and each
tick takes it one step along compile/termination's plan (preStop hooks, SIGTERM, SIGKILL). Once none of its
containers runs, its namespace goes and the pod object with it. The state file holds the plan's progress,
so a restarted controller carries on where the last one stopped.
"""

from __future__ import annotations

import http.client
import logging
import signal
import socket
import subprocess
import threading
import time

from netlab.compile import termination as plan
from netlab.compile.workloads import PlacedPod
from netlab.kernel import neighbours, podnet, teardown
from netlab.kernel import netns as nsmod
from netlab.runtime import events as evmod
from netlab.runtime import podexec
from netlab.runtime import state as statemod

log = logging.getLogger(__name__)


def run_hook(cluster: str, pod: PlacedPod, container: str, hook: dict, node_netns: str, timeout: float) -> str:
    """Run one preStop handler to its end (at most `timeout` seconds); "" when it succeeded, else why not."""
    timeout = max(timeout, 0.1)
    try:
        if "sleep" in hook:
            time.sleep(min(float(hook["sleep"].get("seconds", 0)), timeout))
            return ""
        if "exec" in hook:
            argv = podexec.command(cluster, pod.namespace, pod.name, container, list(hook["exec"]["command"]))
            proc = subprocess.run(argv, capture_output=True, timeout=timeout, stdin=subprocess.DEVNULL)
            return "" if proc.returncode == 0 else f"command exited with {proc.returncode}: {proc.stderr[-200:]!r}"
        action = hook.get("httpGet") or hook.get("tcpSocket") or {}
        port = _port(action.get("port"), pod, container)
        with nsmod.entered(node_netns):   # the kubelet's view: from the node
            host = action.get("host") or pod.ip or pod.ip6   # an IPv6-only cluster's pod: its IPv6 address
            sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
        sock.settimeout(timeout)
        sock.connect((host, port))
        if "tcpSocket" in hook:
            sock.close()
            return ""
        conn = http.client.HTTPConnection(host, port, timeout=timeout)
        conn.sock = sock
        conn.request("GET", action.get("path", "/"), headers={"User-Agent": "kube-lifecycle/netlab"})
        status = conn.getresponse().status
        conn.close()
        return "" if 200 <= status < 400 else f"HTTP lifecycle hook failed with statuscode: {status}"
    except (OSError, ValueError, KeyError, http.client.HTTPException, subprocess.TimeoutExpired) as e:
        return str(e)


def _port(value: object, pod: PlacedPod, container: str) -> int:
    if isinstance(value, int):
        return value
    for c in pod.spec.get("containers", []):
        if c["name"] == container:
            for cp in c.get("ports") or []:
                if cp.get("name") == value:
                    return int(cp["containerPort"])
    raise ValueError(f"no port named {value!r} in container {container}")


class TerminationSide:
    def _init_termination(self) -> None:
        self._hook_threads: dict[tuple[str, str], threading.Thread] = {}
        self._hook_results: dict[tuple[str, str], str] = {}  # filled by the hook threads

    @property
    def live_pods(self) -> dict[str, PlacedPod]:
        """Every pod that has a namespace: the placed ones and those still terminating."""
        return {**{k: t.pod for k, t in self.state.terminating.items()}, **self.state.pods}

    def _would_be_live(self, pods: dict[str, PlacedPod]) -> dict[str, PlacedPod]:
        """The pods with a namespace once `pods` is committed: those and every terminating one, the ones
        this commit deletes included (unless their grace period is 0)."""
        grace = self._grace_requests
        deleted = {k: p for k, p in self.state.pods.items()
                   if k not in pods and plan.grace_period(p.spec, grace.get(k)) > 0}
        draining = {k: t.pod for k, t in self.state.terminating.items()}
        return {**draining, **deleted, **pods}

    def _resume_not_terminating(self) -> None:
        """After a rolled-back commit: pods it had begun to delete run on as before."""
        for key in self.state.pods:
            if key not in self.state.terminating:
                self.supervisor.resume(key)

    def _begin_termination(self, pods: list[PlacedPod], grace: dict[str, int]) -> list[PlacedPod]:
        """Deleted pods start terminating; returns those to remove at once (grace period 0)."""
        now, at_once = time.time(), []
        for pod in pods:
            seconds = plan.grace_period(pod.spec, grace.get(pod.key))
            if seconds == 0:
                at_once.append(pod)
                continue
            self.state.terminating[pod.key] = plan.Termination(pod, now, seconds)
            self.supervisor.drain(pod.key)
            for c in sorted(self.supervisor.running(pod.key)):
                self.event("Killing", f"Stopping container {c}", f"Pod {pod.key}", component=evmod.KUBELET,
                           container=c)
        return at_once

    def _hasten_termination(self, key: str) -> None:
        """A pod deleted again while terminating: a shorter grace period counts from now (kubectl's
        --grace-period, --now, --force), a longer one changes nothing."""
        t, grace = self.state.terminating[key], self._grace_requests.get(key)
        if grace is not None:
            t.grace = min(t.grace, int(time.time() - t.since) + max(grace, 0))
            self._terminate_step()

    def _terminate_step(self) -> None:
        """One step of every terminating pod; pods whose containers are all gone are removed."""
        if not self.state.terminating:
            return
        now, changed, done = time.time(), False, []
        for key, t in self.state.terminating.items():
            self.supervisor.drain(key)   # again after a controller restart
            running = self.supervisor.running(key)
            for c in t.hooks_started - t.hooks_done:
                result = self._hook_results.pop((key, c), None)
                if result is not None or now >= t.deadline:
                    t.hooks_done.add(c)
                    changed = True
                    if result:
                        self.event("FailedPreStopHook", f"PreStopHook failed: {result}", f"Pod {key}",
                                   component=evmod.KUBELET, type="Warning", container=c)
            if not running:   # a hook still running is given up, as the kubelet gives it up
                done.append(key)
                continue
            changed |= self._act(key, t, plan.step(t, running, now), now)
        for key in done:
            self._finish(key)
        if changed or done:
            statemod.save(self.cluster, self.state)
        if done:
            self._after_termination()

    def _act(self, key: str, t: plan.Termination, step: plan.Step, now: float) -> bool:
        hooks = plan.pre_stop_hooks(t.pod.spec)
        nodes = {n.name: n.netns for n in self.config.topology().nodes}
        for c in step.run_hooks:
            t.hooks_started.add(c)
            th = threading.Thread(target=self._hook_thread, daemon=True,
                                  args=(key, t.pod, c, hooks[c], nodes[t.pod.node], t.deadline - now))
            self._hook_threads[(key, c)] = th
            th.start()
        for c in step.sigterm:
            t.sigterm[c] = now
            self.supervisor.signal_container(key, c, signal.SIGTERM)
        for c in step.sigkill:
            t.killed.add(c)
            self.supervisor.signal_container(key, c, signal.SIGKILL)
        return bool(step.run_hooks or step.sigterm or step.sigkill)

    def _hook_thread(self, key: str, pod: PlacedPod, container: str, hook: dict, node_netns: str,
                     timeout: float) -> None:
        self._hook_results[(key, container)] = run_hook(self.cluster, pod, container, hook, node_netns, timeout)

    def _draining_in(self, namespace: str) -> bool:
        return any(t.pod.namespace == namespace for t in self.state.terminating.values())

    def _finish(self, key: str) -> None:
        """The pod's containers are gone: its namespace and the pod object go too (and a deleted Kubernetes
        namespace it was the last pod of)."""
        t = self.state.terminating.pop(key)
        if t.pod.namespace in self._draining_namespaces and not self._draining_in(t.pod.namespace):
            del self._draining_namespaces[t.pod.namespace]
            self._terminating.pop(t.pod.namespace, None)
            self._dirty.add("Namespace")
        for k in [k for k in self._hook_threads if k[0] == key]:
            del self._hook_threads[k]
            self._hook_results.pop(k, None)
        self.supervisor.stop_pod(key)
        if not t.pod.node or t.pod.host_network:
            return   # no namespace of its own (a namespace of that name may be another cluster's pod's)
        topo = self.topology(self.live_pods)
        teardown.kill_processes_in([t.pod.netns])
        for change in podnet.remove_namespaces([t.pod.netns]):
            self.event("Killing", change)
        for change in neighbours.forget(topo, [(t.pod.node, t.pod.ip)]):
            self.event("NeighboursCleaned", change)

    def _after_termination(self) -> None:
        """The network without the gone pods; pods that waited for a name to be free (a StatefulSet's, a
        re-created Pod's) or for what the gone pod held (its host ports: Pending pods) are placed now."""
        try:
            pods = self._place(self.state.objects)
            if {k: p.node for k, p in pods.items()} != {k: p.node for k, p in self.state.pods.items()}:
                self._commit(self.state.objects, pods, self.state.allocations)
                return
            observed = self._observe()   # nothing waited: only the network changes (a cheaper step)
            self._apply_network(self._compile(observed, self.topology(self.live_pods)), observed)
            self._refresh_views()
        except Exception:  # the next tick or apply converges again
            log.exception("commit after termination failed")
