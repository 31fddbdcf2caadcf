"""Files only root may read (netlab's state holds Secrets, its run directory sockets and logs), written atomically."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def private_dir(path: str | os.PathLike[str]) -> Path:
    """Make path (and its parent, e.g. /var/lib/netlab or /run/netlab) directories only root may enter."""
    path = Path(path)
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    for d in (path, path.parent):
        if d.stat().st_mode & 0o077:
            os.chmod(d, 0o700)
    return path


def write_atomic(path: str | os.PathLike[str], content: str | bytes, mode: int = 0o600, *,
                 durable: bool = False, skip_unchanged: bool = False) -> bool:
    """Write content to path through a temporary file beside it and a rename: a reader sees the old file
    or the new one, never half of one. The file gets `mode` (default: root's only) whatever the umask.

    durable: fsync before the rename (the state file must survive a crash of the machine).
    skip_unchanged: leave a file that already holds content with mode alone and return False.
    The directory must exist: a writer whose directory was removed (a deleted pod's) must not make it again.
    """
    path = Path(path)
    data = content.encode() if isinstance(content, str) else content
    if skip_unchanged:
        try:
            if path.read_bytes() == data and (path.stat().st_mode & 0o777) == mode:
                return False
        except FileNotFoundError:
            pass
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            if durable:
                fh.flush()
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return True
