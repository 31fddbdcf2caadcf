"""Network namespaces: create and delete in bulk with `ip -batch`, enter in-process with setns(2).

pyroute2's netns helpers fork a process per call; entering a namespace on the calling
thread and opening netlink sockets there costs microseconds instead.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import subprocess
from collections.abc import Iterable, Iterator

NETNS_RUN_DIR = "/run/netns"
CLONE_NEWNET = 0x40000000

_libc = ctypes.CDLL(None, use_errno=True)


class NetnsError(RuntimeError):
    pass


def _setns_fd(fd: int) -> None:
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise NetnsError(f"setns failed: {os.strerror(err)}")


def netns_path(name: str) -> str:
    return os.path.join(NETNS_RUN_DIR, name)


def exists(name: str) -> bool:
    return os.path.exists(netns_path(name))


def list_names() -> list[str]:
    try:
        return sorted(os.listdir(NETNS_RUN_DIR))
    except FileNotFoundError:
        return []


@contextlib.contextmanager
def entered(name: str | None) -> Iterator[None]:
    """Run the block with the calling thread inside namespace `name` (None: stay where we are).

    Sockets opened inside the block stay bound to that namespace after it ends.
    """
    if name is None:
        yield
        return
    home = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    try:
        target = os.open(netns_path(name), os.O_RDONLY)
        try:
            _setns_fd(target)
        finally:
            os.close(target)
        try:
            yield
        finally:
            _setns_fd(home)
    finally:
        os.close(home)


def netns_inode(name: str) -> int | None:
    try:
        return os.stat(netns_path(name)).st_ino
    except FileNotFoundError:
        return None


def run_ip_batch(lines: Iterable[str], force: bool = False) -> None:
    """Run `ip -batch -` once for many commands; raise with ip's message on failure."""
    text = "".join(line + "\n" for line in lines)
    if not text:
        return
    cmd = ["ip", "-force", "-batch", "-"] if force else ["ip", "-batch", "-"]
    proc = subprocess.run(cmd, input=text, text=True, capture_output=True)
    if proc.returncode != 0 and not force:
        raise NetnsError(f"ip -batch failed: {proc.stderr.strip()}")


def create(names: Iterable[str]) -> list[str]:
    """Create the namespaces that do not exist yet; return those created."""
    missing = [n for n in names if not exists(n)]
    run_ip_batch(f"netns add {n}" for n in missing)
    return missing


def delete(names: Iterable[str]) -> None:
    present = [n for n in names if exists(n)]
    run_ip_batch((f"netns delete {n}" for n in present), force=True)


def write_sysctl(netns: str | None, key: str, value: str) -> None:
    """Write a per-namespace sysctl (/proc/sys/net follows the writer's namespace)."""
    path = "/proc/sys/" + key.replace(".", "/")
    with entered(netns), open(path, "w") as f:
        f.write(value)
