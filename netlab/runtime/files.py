"""Files only root may read: netlab's state holds Secrets, its run directory sockets and logs."""

from __future__ import annotations

import os
from pathlib import Path


def private_dir(path: str | os.PathLike[str]) -> Path:
    """Make path (and its parent, e.g. /var/lib/netlab or /run/netlab) directories only root may enter."""
    path = Path(path)
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    for d in (path, path.parent):
        if d.stat().st_mode & 0o077:
            os.chmod(d, 0o700)
    return path
