"""tcpdump processes in namespaces: started, waited for, and stopped by pid (never by name)."""

from __future__ import annotations

import select
import signal
import subprocess
import time
from pathlib import Path

from netlab.kernel import netns as nsmod


class Captures:
    """One `tcpdump -w` per (netns, interface); each stops by itself after `count` packets."""

    def __init__(self, directory: Path) -> None:
        self.dir = directory
        self.procs: list[tuple[str, subprocess.Popen, Path]] = []

    def start(self, label: str, netns: str | None, iface: str, bpf: str, count: int) -> None:
        path = self.dir / f"hop{len(self.procs)}.pcap"
        argv = ["tcpdump", "-i", iface, "-n", "-U", "-s", "262144", "-c", str(count), "-w", str(path), bpf]
        with nsmod.entered(netns):  # the child starts in this thread's namespace
            proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.procs.append((label, proc, path))

    def wait_listening(self, timeout: float = 10.0) -> list[str]:
        """Until every tcpdump says it is listening; returns the errors of those that exited instead."""
        deadline = time.monotonic() + timeout
        errors = []
        for label, proc, _ in self.procs:
            buf = b""
            while b"listening on" not in buf and time.monotonic() < deadline:
                ready, _, _ = select.select([proc.stderr], [], [], max(0.0, deadline - time.monotonic()))
                if not ready:
                    break
                chunk = proc.stderr.read1(4096)
                if not chunk:
                    errors.append(f"{label}: {buf.decode(errors='replace').strip() or 'tcpdump exited'}")
                    break
                buf += chunk
        return errors

    def wait(self, timeout: float) -> None:
        """Until every tcpdump has its count or `timeout` seconds passed."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and any(p.poll() is None for _, p, _ in self.procs):
            time.sleep(0.1)

    def stop(self) -> None:
        """SIGINT (tcpdump flushes its file), then SIGKILL after 3 s: only the processes started here."""
        for _, proc, _ in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
        for _, proc, _ in self.procs:
            try:
                proc.wait(timeout=3)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            if proc.stderr is not None:
                proc.stderr.close()

    def files(self) -> list[tuple[str, Path]]:
        return [(label, path) for label, _, path in self.procs]
