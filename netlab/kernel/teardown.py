"""Remove every kernel object and process of one cluster, found by marker, not by state files.

Namespaces are recognised by the alias netlab puts on their `lo`; host links by their alias;
namespaces created but not yet marked (a crash mid-`up`) by the journal written before creating them.
"""

from __future__ import annotations

import os
import shutil
import signal
from pathlib import Path

from netlab.compile import names
from netlab.kernel import egress, rawlink
from netlab.kernel import netns as nsmod

JOURNAL = "netns.journal"


def journal_path(cluster: str) -> Path:
    return Path(names.state_dir(cluster)) / JOURNAL


def record_intent(cluster: str, netns_names: list[str]) -> None:
    """Write namespace names down before creating them, so a crash cannot orphan them."""
    if not netns_names:
        return
    path = journal_path(cluster)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)  # the state directory: root's only
    with open(os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600), "a") as f:
        f.write("".join(n + "\n" for n in netns_names))


def _journal(cluster: str) -> set[str]:
    try:
        return set(journal_path(cluster).read_text().split())
    except FileNotFoundError:
        return set()


def lo_alias(netns: str) -> str | None:
    try:
        return rawlink.link_alias(netns, 1)
    except (OSError, nsmod.NetnsError):
        return None


def cluster_namespaces(cluster: str) -> list[str]:
    """Namespaces that belong to `cluster`: marked ones, plus journalled ones nobody else marked."""
    journalled = _journal(cluster)
    found = []
    for name in nsmod.list_names():
        owner = names.cluster_of_alias(lo_alias(name))
        if owner == cluster or (owner is None and name in journalled):
            found.append(name)
    return found


def _processes_in(inodes: set[int]) -> list[int]:
    pids = []
    me = os.getpid()
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == me:
            continue
        try:
            if os.stat(f"/proc/{entry}/ns/net").st_ino in inodes:
                pids.append(int(entry))
        except OSError:
            continue
    return pids


def kill_processes_in(netns_names: list[str]) -> list[int]:
    """End the processes living in these namespaces (all of them were started by netlab)."""
    inodes = {i for i in (nsmod.netns_inode(n) for n in netns_names) if i is not None}
    if not inodes:
        return []
    pids = _processes_in(inodes)
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return pids


def kill_pidfile(path: Path, expected_cmd: str) -> bool:
    """Kill the process named in a pidfile, only if its command line still says it is ours."""
    try:
        pid = int(path.read_text().split()[0])
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except (OSError, ValueError, IndexError):
        return False
    if expected_cmd not in cmdline:
        return False
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return False
    return True


def _alive(pid: int) -> bool:
    """A killed process whose parent has not reaped it yet (a zombie) counts as gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def daemons(cluster: str) -> list[int]:
    """The cluster's own processes found by command line, for when pidfiles or namespaces are lost:
    the controller, the launcher and everything netlab started with a path under the cluster's run
    directory on its command line (the DNS relay, DNS pods, the ingress controller's nginx)."""
    markers = (
        f"{names.CONTROLLER_MODULE}\0--cluster\0{cluster}\0".encode(),
        f"{names.run_dir(cluster)}/".encode(),
    )
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
        except OSError:
            continue
        if any(m in cmdline for m in markers) and _alive(int(entry)):
            found.append(int(entry))
    return found


def host_links(cluster: str) -> list[str]:
    return sorted(n for n, alias in rawlink.link_aliases(None).items() if names.cluster_of_alias(alias) == cluster)


def teardown(cluster: str) -> list[str]:
    """Remove everything of `cluster`; return what was removed. Safe to run repeatedly."""
    removed = []
    run = Path(names.run_dir(cluster))
    for pidfile, cmd in names.DAEMON_PIDFILES:
        if kill_pidfile(run / pidfile, cmd):
            removed.append(f"process {pidfile.removesuffix('.pid')}")
    for pid in daemons(cluster):
        try:
            os.kill(pid, signal.SIGKILL)
            removed.append(f"process {pid}")
        except ProcessLookupError:
            pass
    namespaces = cluster_namespaces(cluster)
    pids = kill_processes_in(namespaces)
    if pids:
        removed.append(f"{len(pids)} container processes")
    nsmod.delete(namespaces)
    removed += [f"namespace {n}" for n in namespaces]
    # /etc/netns entries of journalled namespaces that are already gone (deleted by hand, say) are ours too.
    journalled_gone = [n for n in _journal(cluster) if not nsmod.exists(n)]
    for n in namespaces + journalled_gone:
        shutil.rmtree(names.netns_etc_dir(n), ignore_errors=True)
    if egress.remove_host_egress(cluster):
        removed.append(f"nftables table {names.host_nft_table(cluster)}")
    links = host_links(cluster)
    if links:
        nsmod.run_ip_batch((f"link delete {link}" for link in links), force=True)
        removed += [f"link {link}" for link in links]
    for directory in (run, Path(names.state_dir(cluster))):
        if directory.exists():
            shutil.rmtree(directory, ignore_errors=True)
            removed.append(f"directory {directory}")
    return removed
