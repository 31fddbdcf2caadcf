"""Who is observing: one file per `netlab observe` process under the cluster's run directory.

The observer writes `<run>/observers/<pid>` before it reads and removes it when it ends; the
controller compiles the log statements (compile.nft_observe) while at least one listed process is
alive, and drops a file whose process is gone, so a killed observer leaves no logging behind.
"""

from __future__ import annotations

import os
from pathlib import Path

DIR = "observers"


def attach(run_dir: Path, pid: int | None = None) -> Path:
    path = Path(run_dir) / DIR / str(pid or os.getpid())
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("")
    return path


def detach(path: Path) -> None:
    path.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def attached(run_dir: Path) -> bool:
    """Whether a live observer is registered; stale files (dead processes) are removed."""
    try:
        entries = os.listdir(Path(run_dir) / DIR)
    except FileNotFoundError:
        return False
    live = False
    for name in entries:
        if name.isdigit() and _alive(int(name)):
            live = True
        else:
            (Path(run_dir) / DIR / name).unlink(missing_ok=True)
    return live
