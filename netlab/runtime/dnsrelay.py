"""The DNS relay: forwards external names from the cluster DNS to the host's resolvers. Pods cannot
reach the host's resolvers (often on loopback); a relay listening on the host's underlay address can."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from netlab.compile import addons
from netlab.runtime import hostdns


def relay_pid(run_dir: Path) -> int | None:
    """The running relay's pid, if its pidfile names a living relay."""
    try:
        pid = int((run_dir / "dns-relay.pid").read_text())
        alive = b"netlab.runtime.dns" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, ValueError):
        return None
    return pid if alive else None


def ensure_relay(run_dir: Path, listen: str) -> None:
    """Start the relay on ``listen``:53 unless one runs already."""
    if relay_pid(run_dir):
        return
    view = run_dir / "dns" / "relay.json"
    view.parent.mkdir(parents=True, exist_ok=True)
    view.write_text(json.dumps(addons.relay_view(hostdns.host_upstreams())))
    with open(run_dir / "dns" / "relay.log", "ab") as logf:
        proc = subprocess.Popen(
            [sys.executable, "-m", "netlab.runtime.dns", "--view", str(view), "--listen", listen, "--port", "53"],
            stdin=subprocess.DEVNULL, stdout=logf, stderr=logf, start_new_session=True)
    (run_dir / "dns-relay.pid").write_text(f"{proc.pid}\n")
