"""The files of a container's configMap, secret, downwardAPI and emptyDir volumes, written under the pod's
own directory (root's, in netlab's run directory) and bound by the sandbox at their mountPath inside the
container's private mount namespace, as hostPath volumes are. The host's file system outside netlab's run
directory is never changed.

    <pod_dir>/volumes/<volume>/...   one directory per volume, shared by the pod's containers
"""

from __future__ import annotations

import base64
import os
import shutil
from pathlib import Path
from typing import Any


def _safe(rel: str) -> bool:
    parts = Path(rel).parts
    return bool(parts) and not Path(rel).is_absolute() and ".." not in parts


def _owned(path: Path, mode: int, fs_group: int | None, mask: int) -> None:
    """The kubelet's volume ownership: with an fsGroup, the group owns it and may read (and, for an
    emptyDir, write) it; directories get the setgid bit so new files inherit the group."""
    if fs_group is not None:
        os.chown(path, -1, fs_group)
        mode |= mask | (0o2000 if path.is_dir() else 0)
    os.chmod(path, mode)


def write_volume(directory: Path, files: dict[str, dict[str, Any]] | None, fs_group: int | None = None) -> None:
    """Make directory hold exactly `files` (an emptyDir, files None, keeps what its containers wrote)."""
    directory.mkdir(parents=True, exist_ok=True)
    # an emptyDir is writable by the pod's users
    _owned(directory, 0o777 if files is None else 0o755, fs_group, 0o770 if files is None else 0o550)
    if files is None:
        return
    for entry in directory.iterdir():
        if entry.name not in {Path(rel).parts[0] for rel in files if _safe(rel)}:
            shutil.rmtree(entry) if entry.is_dir() and not entry.is_symlink() else entry.unlink()
    for rel, f in files.items():
        if not _safe(rel):
            continue
        path = directory / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_bytes(base64.b64decode(f["data"]))
        _owned(tmp, int(f.get("mode", 0o644)) & 0o777, fs_group, 0o440)
        os.replace(tmp, path)   # a reader sees the old or the new file, never half of one


def materialize(pod_dir: Path, volumes: list[dict[str, Any]]) -> list[list]:
    """Write every volume's files; the sandbox mounts for them: [host path, mountPath, read-only, create]."""
    mounts = []
    for vol in volumes:
        directory = pod_dir / "volumes" / vol["name"]
        write_volume(directory, vol.get("files"), vol.get("fsGroup"))
        sub = vol.get("subPath")
        src = directory / sub if sub and _safe(sub) else directory
        if sub and not src.exists():
            src.mkdir(parents=True, exist_ok=True)   # as the kubelet creates a missing subPath (a directory)
        mounts.append([str(src), vol["mountPath"], bool(vol.get("readOnly")), False])
    return mounts
