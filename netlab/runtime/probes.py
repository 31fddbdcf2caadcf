"""Readiness and liveness probes, run as the kubelet runs them: from the pod's node, against the pod IP.

Each probe runs in a small thread pool with its own timeout; results follow Kubernetes' thresholds
(initialDelaySeconds, periodSeconds, successThreshold, failureThreshold).
"""

from __future__ import annotations

import http.client
import socket
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from netlab.kernel import netns as nsmod


def _family(address: str) -> int:
    """The socket family of an address (a pod of an IPv6-only cluster is probed over IPv6)."""
    return socket.AF_INET6 if ":" in address else socket.AF_INET


@dataclass
class ProbeState:
    pod_key: str
    container: str
    kind: str  # readiness | liveness
    spec: dict
    pod_ip: str
    pod_netns: str
    node_netns: str
    named_ports: dict[str, int]
    started: float
    next_run: float = 0.0
    running: bool = False
    successes: int = 0
    failures: int = 0
    ok: bool = False  # readiness starts failed; liveness starts passing (see __post_init__)
    last_message: str = ""
    events: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.ok = self.kind == "liveness"
        self.next_run = self.started + float(self.spec.get("initialDelaySeconds", 0))


def _port(value, named: dict[str, int]) -> int:
    return value if isinstance(value, int) else named[value]


def run_probe(p: ProbeState) -> tuple[bool, str]:
    timeout = float(p.spec.get("timeoutSeconds", 1))
    try:
        if "httpGet" in p.spec:
            h = p.spec["httpGet"]
            port = _port(h["port"], p.named_ports)
            host = h.get("host") or p.pod_ip
            with nsmod.entered(p.node_netns):
                sock = socket.socket(_family(host), socket.SOCK_STREAM)
            sock.settimeout(timeout)
            sock.connect((host, port))
            conn = http.client.HTTPConnection(p.pod_ip, port, timeout=timeout)
            conn.sock = sock
            conn.request("GET", h.get("path", "/"), headers={"User-Agent": "kube-probe/netlab"})
            status = conn.getresponse().status
            conn.close()
            return 200 <= status < 400, f"HTTP probe failed with statuscode: {status}"
        if "tcpSocket" in p.spec:
            port = _port(p.spec["tcpSocket"]["port"], p.named_ports)
            with nsmod.entered(p.node_netns):
                sock = socket.socket(_family(p.pod_ip), socket.SOCK_STREAM)
            with sock:
                sock.settimeout(timeout)
                sock.connect((p.pod_ip, port))
            return True, ""
        if "exec" in p.spec:
            cmd = ["ip", "netns", "exec", p.pod_netns, *p.spec["exec"]["command"]]
            proc = subprocess.run(cmd, capture_output=True, timeout=timeout)
            return proc.returncode == 0, f"command exited with {proc.returncode}"
    except (OSError, KeyError, http.client.HTTPException, subprocess.TimeoutExpired) as e:
        return False, f"probe failed: {e}"
    return True, ""


class Prober:
    def __init__(self, workers: int = 4, clock=time.monotonic):
        self.clock = clock
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="probe")
        self.lock = threading.Lock()
        self.probes: dict[tuple[str, str, str], ProbeState] = {}
        self.changed = False

    def sync(self, wanted: list[ProbeState]) -> None:
        """Keep the state of probes that still exist; a (re)started container starts its probes afresh."""
        with self.lock:
            new = {}
            for p in wanted:
                key = (p.pod_key, p.container, p.kind)
                old = self.probes.get(key)
                new[key] = old if old is not None and old.started == p.started and old.spec == p.spec else p
            self.probes = new

    def tick(self) -> None:
        now = self.clock()
        with self.lock:
            due = [p for p in self.probes.values() if not p.running and p.next_run <= now]
            for p in due:
                p.running = True
        for p in due:
            self.pool.submit(self._run, p)

    def _run(self, p: ProbeState) -> None:
        try:
            ok, message = run_probe(p)
        except Exception as e:  # a probe that cannot even run has failed; it must not stay "running"
            ok, message = False, f"probe error: {type(e).__name__}: {e}"
        with self.lock:
            p.running = False
            p.next_run = self.clock() + float(p.spec.get("periodSeconds", 10))
            if ok:
                p.successes, p.failures = p.successes + 1, 0
                if not p.ok and p.successes >= int(p.spec.get("successThreshold", 1)):
                    p.ok, self.changed = True, True
            else:
                p.failures, p.successes = p.failures + 1, 0
                p.last_message = message
                if p.ok and p.failures >= int(p.spec.get("failureThreshold", 3)):
                    p.ok, self.changed = False, True
                    p.events.append(f"{p.kind.capitalize()} probe failed: {message}")

    def take_changed(self) -> bool:
        with self.lock:
            changed, self.changed = self.changed, False
            return changed

    def ready(self, pod_key: str, container: str, has_probe: bool = False) -> bool:
        """A container with a readiness probe is unready until the probe has passed."""
        p = self.probes.get((pod_key, container, "readiness"))
        return (not has_probe) if p is None else p.ok

    def liveness_failures(self) -> list[tuple[str, str, str]]:
        """(pod_key, container, message) for containers whose liveness probe just failed; resets them."""
        out = []
        with self.lock:
            for (pod_key, container, kind), p in self.probes.items():
                if kind == "liveness" and not p.ok:
                    out.append((pod_key, container, p.last_message))
                    p.ok, p.failures = True, 0
        return out

    def drain_events(self) -> list[tuple[str, str, str]]:
        out = []
        with self.lock:
            for (pod_key, container, _kind), p in self.probes.items():
                out += [(pod_key, container, e) for e in p.events]
                p.events.clear()
        return out

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)
