"""Confine a container process: its pod's network namespace, a mount namespace of its own, and the
identity and capabilities of its netlab.compile.security.Profile.

Called in the launcher's forked child (single-threaded, root, all capabilities) just before it execs
the container or runs the echo server. This is ctypes over libc rather than `setpriv`/`unshare`
exec'd by the child because the echo server is forked, not exec'd (one interpreter per container
would cost ~10 MB each), so it must be confined in-process; one implementation serves both.

The mount namespace lives as long as its container (no pinning), so it survives the controller:
- "/" becomes a recursive slave first (as `ip netns exec` does): nothing propagates back to the host,
  while the host's unmounts (e.g. `ip netns delete`) still propagate in.
- /sys is a fresh sysfs of the pod's network namespace; /etc/netns/<netns>/* are bound over /etc/*
  (both as `ip netns exec` does, so resolv.conf applies); /etc/hosts names the pod, as kubelet's does
  (so the pod's own host name resolves without DNS).
- netlab's and the host's private places (/run with every socket in it, /var/lib/netlab, /etc/netns,
  /root, /home, /tmp, /var/tmp, /etc/ssh) are covered by empty tmpfs; password hashes by /dev/null.
  Leaving out the host's files altogether would need a root file system per image, which netlab,
  running the host's binaries, does not have.
- Unless privileged: the host's file systems are read-only, /dev holds only null, zero, full, random,
  urandom, tty and a private devpts, and the kernel knobs in /proc are read-only or masked (containerd's
  masked and read-only paths), so writing to the host, raw disks or core_pattern is not possible.
- hostPath volumes and the files of configMap, secret, downwardAPI and emptyDir volumes (Profile.mounts)
  are bound last, read-only or not as asked. A mount point missing on the host is made in an overlay of
  its nearest existing parent directory, whose upper layer is in the container's own /run; one missing
  directly under "/" (/data) makes "/" itself an overlay (the host's mounts moved over, then a
  switch_root-style change of root), only for the containers that need it.
Each container also has IPC and UTS namespaces of its own (host name: the pod's), and is PID 1 of a
PID namespace of its own (the launcher forks it there, see
:func:`pid_namespace_for_child`), with a /proc to match: it cannot see or signal the host's processes.
`netlab exec` enters the same namespaces with :func:`join` and gets the same identity.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import stat
import sys
from collections.abc import Iterator

from netlab.compile.security import CAP_NUMBER, Profile, cap_mask

CLONE_NEWNS = 0x00020000
CLONE_NEWPID = 0x20000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUTS = 0x04000000
CLONE_NEWNET = 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 0x1, 0x2, 0x4, 0x8
MS_REMOUNT, MS_BIND, MS_MOVE, MS_REC, MS_SLAVE = 0x20, 0x1000, 0x2000, 0x4000, 0x80000
MNT_DETACH = 0x2
PR_SET_KEEPCAPS, PR_CAPBSET_DROP, PR_SET_NO_NEW_PRIVS, PR_CAP_AMBIENT = 8, 24, 38, 47
PR_CAP_AMBIENT_CLEAR_ALL = 4
SYS_MOUNT_SETATTR = 442  # the same number on every architecture (added after the syscall tables were unified)
MOUNT_ATTR_RDONLY = 0x1
AT_RECURSIVE = 0x8000
AT_FDCWD = -100
LINUX_CAPABILITY_VERSION_3 = 0x20080522

HIDDEN_DIRS = ("/run", "/var/lib/netlab", "/etc/netns", "/root", "/home", "/tmp", "/var/tmp", "/etc/ssh")
HIDDEN_FILES = ("/etc/shadow", "/etc/gshadow", "/etc/shadow-", "/etc/gshadow-")
POD_HOSTS = "/run/pod/hosts"
POD_RESOLV = "/run/pod/resolv.conf"
OVERLAY_SCRATCH = "/run/pod/overlay"  # upper layers of the overlays that make missing mount points (own /run)
ROOT_SCRATCH = "/tmp"  # where the root overlay's layers live (a tmpfs of its own, hidden under the new root)
_ROOT_OVERLAID = False  # set in the container's process once "/" is its overlay
WRITABLE = ("/run", "/tmp", "/var/tmp")  # tmpfs that stay writable on the otherwise read-only host
DEVICES = ("null", "zero", "full", "random", "urandom", "tty")
DEV_LINKS = {"fd": "/proc/self/fd", "stdin": "/proc/self/fd/0", "stdout": "/proc/self/fd/1",
             "stderr": "/proc/self/fd/2", "ptmx": "pts/ptmx"}
# containerd's defaults (oci/mounts.go, pkg/cri): masked paths get /dev/null or an empty tmpfs.
MASKED = ("/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
          "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware", "/sys/devices/virtual/powercap")
READ_ONLY_PROC = ("/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger")

POD_SYSCTLS = {"net.ipv4.ip_unprivileged_port_start": "0", "net.ipv4.ping_group_range": "0 2147483647"}

_libc = ctypes.CDLL(None, use_errno=True)
_libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]
_libc.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]
_libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]


class SandboxError(OSError):
    pass


class _MountAttr(ctypes.Structure):
    _fields_ = [("attr_set", ctypes.c_uint64), ("attr_clr", ctypes.c_uint64),
                ("propagation", ctypes.c_uint64), ("userns_fd", ctypes.c_uint64)]


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


def _check(ret: int, what: str) -> None:
    if ret != 0:
        err = ctypes.get_errno()
        raise SandboxError(err, f"{what}: {os.strerror(err)}")


def _enc(s: str | None) -> bytes | None:
    return s.encode() if s is not None else None


def _mount(src: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    _check(_libc.mount(_enc(src), target.encode(), _enc(fstype), flags, _enc(data)), f"mount {target}")


def _set_readonly(path: str, recursive: bool, readonly: bool = True) -> None:
    attr = _MountAttr(MOUNT_ATTR_RDONLY if readonly else 0, 0 if readonly else MOUNT_ATTR_RDONLY, 0, 0)
    flags = AT_RECURSIVE if recursive else 0
    ret = _libc.syscall(SYS_MOUNT_SETATTR, AT_FDCWD, path.encode(), flags, ctypes.byref(attr),
                        ctypes.sizeof(attr))
    _check(ret, f"mount_setattr {path}")


def _prctl(option: int, arg: int = 0, arg3: int = 0) -> None:
    _check(_libc.prctl(option, arg, arg3, 0, 0), f"prctl({option})")


def _setns(path: str, nstype: int) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        _check(_libc.setns(fd, nstype), f"setns {path}")
    finally:
        os.close(fd)


def _ensure_target(path: str, like_dir: bool) -> str:
    """The real path to mount on (bind mounts follow symlinks such as /etc/resolv.conf -> /run/...),
    created when missing (possible only under our tmpfs, before the host turns read-only)."""
    real = os.path.realpath(path)
    if not os.path.lexists(real):
        if not any(real.startswith(d + "/") for d in HIDDEN_DIRS):
            _overlay_ancestor(real, path)
        os.makedirs(real if like_dir else os.path.dirname(real), exist_ok=True)
        if not like_dir:
            os.close(os.open(real, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o644))
    return real


def _needs_root_overlay(path: str) -> bool:
    """A mount point that is missing directly under "/" (an overlay of "/" itself makes it)."""
    real = os.path.realpath(path)
    if os.path.lexists(real) or any(real.startswith(d + "/") for d in HIDDEN_DIRS):
        return False
    ancestor = os.path.dirname(real)
    while not os.path.lexists(ancestor):
        ancestor = os.path.dirname(ancestor)
    return ancestor == "/"


def _top_mounts() -> list[str]:
    """The mount points whose parent is the root mount, from /proc/self/mountinfo, in mount order."""
    entries = []
    with open("/proc/self/mountinfo", encoding="utf-8") as f:
        for line in f:
            fields = line.split()
            entries.append((fields[0], fields[1], fields[4].encode().decode("unicode_escape")))
    root = next(mid for mid, _parent, point in reversed(entries) if point == "/")
    return [point for _mid, parent, point in entries if parent == root and point != "/"]


def _overlay_root() -> None:
    """Make "/" an overlay of the host's root (upper layer in a tmpfs of this mount namespace), with every
    mount of the host moved over, and change root into it, as switch_root does: mount points missing under
    "/" can then be made without changing the host."""
    global _ROOT_OVERLAID
    tops = _top_mounts()
    _mount("tmpfs", ROOT_SCRATCH, "tmpfs", MS_NOSUID | MS_NODEV, "mode=755")
    for layer in ("upper", "work", "root"):
        os.makedirs(f"{ROOT_SCRATCH}/{layer}")
    os.chmod(f"{ROOT_SCRATCH}/upper", os.stat("/").st_mode & 0o7777)
    new_root = f"{ROOT_SCRATCH}/root"
    _mount("overlay", new_root, "overlay", 0, f"lowerdir=/,upperdir={ROOT_SCRATCH}/upper,workdir={ROOT_SCRATCH}/work")
    for point in tops:
        if point != ROOT_SCRATCH and os.path.lexists(new_root + point):
            _mount(point, new_root + point, None, MS_BIND | MS_REC)
    os.chdir(new_root)
    _mount(new_root, "/", None, MS_MOVE)
    _check(_libc.chroot(b"."), "chroot")
    os.chdir("/")
    _ROOT_OVERLAID = True


def _overlay_ancestor(real: str, path: str) -> None:
    """Make a missing mount point creatable without changing the host: its nearest existing ancestor (not
    "/") gets an overlay whose upper layer lives in the container's own /run tmpfs, so the ancestor shows
    the host's files plus the new mount point, in this mount namespace only."""
    ancestor = os.path.dirname(real)
    while not os.path.lexists(ancestor):
        ancestor = os.path.dirname(ancestor)
    if ancestor == "/" and _ROOT_OVERLAID:
        return   # "/" is this container's overlay: the mount point can be made in it
    if ancestor == "/" or not os.path.isdir(ancestor):
        raise SandboxError(2, f"mount path {path} does not exist and cannot be made (its nearest existing parent "
                              f"is {ancestor}; netlab makes mount points under {', '.join(HIDDEN_DIRS)} or below "
                              "an existing directory other than /)")
    os.makedirs(OVERLAY_SCRATCH, exist_ok=True)
    scratch = f"{OVERLAY_SCRATCH}/{len(os.listdir(OVERLAY_SCRATCH))}"
    for layer in ("upper", "work"):
        os.makedirs(f"{scratch}/{layer}")
    os.chmod(f"{scratch}/upper", os.stat(ancestor).st_mode & 0o7777)
    _mount("overlay", ancestor, "overlay", 0,
           f"lowerdir={ancestor},upperdir={scratch}/upper,workdir={scratch}/work")


def _bind_fd(fd: int, target: str, readonly: bool) -> None:
    """Bind what fd (an O_PATH handle taken before the host was hidden) names onto target."""
    real = _ensure_target(target, like_dir=stat.S_ISDIR(os.fstat(fd).st_mode))
    _mount(f"/proc/self/fd/{fd}", real, None, MS_BIND | MS_REC)
    _set_readonly(real, recursive=True, readonly=readonly)


def _hide() -> None:
    for d in HIDDEN_DIRS:
        if os.path.isdir(d) and not os.path.islink(d):
            mode = "1777" if d in ("/tmp", "/var/tmp") else "755"
            _mount("tmpfs", d, "tmpfs", MS_NOSUID | MS_NODEV, f"mode={mode},size=64m")
    for f in HIDDEN_FILES:
        if os.path.isfile(f):
            _mount("/dev/null", f, None, MS_BIND)


def _private_dev() -> None:
    """A /dev with only the harmless devices (the tmpfs is nodev; the bound nodes keep working)."""
    keep = {name: os.open(f"/dev/{name}", os.O_PATH | os.O_CLOEXEC)
            for name in DEVICES if os.path.exists(f"/dev/{name}")}
    _mount("tmpfs", "/dev", "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=755,size=64k")
    for name, fd in keep.items():
        os.close(os.open(f"/dev/{name}", os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o666))
        _mount(f"/proc/self/fd/{fd}", f"/dev/{name}", None, MS_BIND)
        os.close(fd)
    os.mkdir("/dev/pts")
    _mount("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620")
    os.mkdir("/dev/shm", 0o1777)
    _mount("shm", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=1777,size=64m")
    for name, target in DEV_LINKS.items():
        os.symlink(target, f"/dev/{name}")


def _mask_proc() -> None:
    for path in MASKED:
        if os.path.isdir(path):
            _mount("tmpfs", path, "tmpfs", MS_RDONLY, "size=0")
        elif os.path.exists(path):
            _mount("/dev/null", path, None, MS_BIND)
    for path in READ_ONLY_PROC:
        if os.path.exists(path):
            _mount(path, path, None, MS_BIND | MS_REC)
            _set_readonly(path, recursive=True)


def _pod_sysctls() -> None:
    """What containerd 2 sets in every pod sandbox (enable_unprivileged_ports/icmp): non-root containers
    may bind ports below 1024 and ping. Per network namespace, so only the pod is affected."""
    for name, value in POD_SYSCTLS.items():
        with open(f"/proc/sys/{name.replace('.', '/')}", "w") as f:
            f.write(value)


@contextlib.contextmanager
def pid_namespace_for_child() -> Iterator[None]:
    """The process forked inside the block is PID 1 of a new PID namespace (as in a container: it sees
    and can signal only its own processes); the caller itself stays where it is."""
    own = os.open("/proc/self/ns/pid", os.O_RDONLY | os.O_CLOEXEC)
    try:
        _check(_libc.unshare(CLONE_NEWPID), "unshare(CLONE_NEWPID)")
        try:
            yield
        finally:
            _check(_libc.setns(own, CLONE_NEWPID), "setns(own PID namespace)")  # later children: here again
    finally:
        os.close(own)


def confine(netns: str | None, profile: Profile) -> None:
    """Enter the pod's network namespace and a new mount namespace laid out as the module says."""
    if netns:
        _setns(f"/run/netns/{netns}", CLONE_NEWNET)
        if not profile.host_network:  # the node's namespace keeps its own settings, as with containerd
            _pod_sysctls()
    flags = CLONE_NEWNS | (0 if profile.host_ipc else CLONE_NEWIPC) | (CLONE_NEWUTS if profile.hostname else 0)
    _check(_libc.unshare(flags), "unshare")
    if profile.hostname:
        name = profile.hostname.encode()
        _check(_libc.sethostname(name, len(name)), "sethostname")
    _mount(None, "/", None, MS_REC | MS_SLAVE)
    if os.getpid() == 1:  # in a PID namespace of its own: a /proc that shows only it
        _mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    binds: list[tuple[int, str, bool]] = []  # taken before anything is hidden
    if netns:
        etc = f"/etc/netns/{netns}"
        for name in sorted(os.listdir(etc)) if os.path.isdir(etc) else []:
            binds.append((os.open(f"{etc}/{name}", os.O_PATH | os.O_CLOEXEC), f"/etc/{name}", True))
        ro = os.statvfs("/sys").f_flag & os.ST_RDONLY
        _check(_libc.umount2(b"/sys", MNT_DETACH), "umount /sys")
        _mount(netns, "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC | (MS_RDONLY if ro else 0))
    keep = {os.path.realpath(p) for p in (sys.prefix, sys.base_prefix, _package_root())}
    for path in sorted(keep):
        if any(path == d or path.startswith(d + "/") for d in HIDDEN_DIRS) and os.path.isdir(path):
            binds.append((os.open(path, os.O_PATH | os.O_CLOEXEC), path, True))
    for src, dst, readonly, create in profile.mounts:
        if create:
            os.makedirs(src, mode=0o755, exist_ok=True)
        binds.append((os.open(src, os.O_PATH | os.O_CLOEXEC), dst, readonly))
    if any(_needs_root_overlay(dst) for _src, dst, _ro, _create in profile.mounts):
        _overlay_root()   # after every source was opened on the host, before anything is hidden
    _hide()
    # kubelet's /etc/hosts and a hostNetwork pod's resolv.conf, kept in the container's own /run
    for text, path, target in ((profile.hosts, POD_HOSTS, "/etc/hosts"),
                               (profile.resolv, POD_RESOLV, "/etc/resolv.conf")):
        if text:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w") as f:
                f.write(text)
            os.chmod(path, 0o644)
            binds.append((os.open(path, os.O_PATH | os.O_CLOEXEC), target, True))
    if not profile.privileged:
        for fd, dst, _ in binds:  # mount points must exist before the host turns read-only
            _ensure_target(dst, like_dir=stat.S_ISDIR(os.fstat(fd).st_mode))
        _mask_proc()
        _set_readonly("/", recursive=True)
        for path in () if profile.read_only_root else WRITABLE:
            if os.path.isdir(path) and os.path.ismount(path):
                _set_readonly(path, recursive=False, readonly=False)
        _set_readonly("/proc", recursive=False, readonly=False)
        _private_dev()
    for fd, dst, readonly in binds:
        _bind_fd(fd, dst, readonly)
        os.close(fd)
    os.chdir("/")


def _package_root() -> str:
    """The directory holding the netlab package (system pods run `python -m netlab...`)."""
    return os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _cap_last() -> int:
    try:
        with open("/proc/sys/kernel/cap_last_cap") as f:
            return int(f.read())
    except (OSError, ValueError):
        return max(CAP_NUMBER.values())


def drop_privileges(profile: Profile) -> None:
    """Bounding set, groups, uid/gid, capability sets and no_new_privs as runc leaves them after execve."""
    keep = cap_mask(profile.caps) if not profile.privileged else (1 << 64) - 1
    for cap in range(_cap_last() + 1):
        if not keep >> cap & 1:
            _prctl(PR_CAPBSET_DROP, cap)
    _prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL)
    os.setgroups(list(profile.groups))
    os.setresgid(profile.gid, profile.gid, profile.gid)
    os.setresuid(profile.uid, profile.uid, profile.uid)  # for uid != 0 the kernel clears permitted/effective
    if profile.uid == 0:
        header = _CapHeader(LINUX_CAPABILITY_VERSION_3, 0)
        data = (_CapData * 2)()
        _check(_libc.capget(ctypes.byref(header), data), "capget")
        mask = keep & (data[0].permitted | data[1].permitted << 32)  # a privileged pod gets what we have
        data = (_CapData * 2)(_CapData(mask & 0xFFFFFFFF, mask & 0xFFFFFFFF, 0),
                              _CapData(mask >> 32, mask >> 32, 0))
        _check(_libc.capset(ctypes.byref(header), data), "capset")
    if profile.no_new_privs:
        _prctl(PR_SET_NO_NEW_PRIVS, 1)


def join(pid: int) -> None:
    """Join a running container's network, IPC, UTS, PID and mount namespaces (pid: its PID 1, as the host sees it).

    A PID namespace is entered only by children: fork, then :func:`drop_privileges` and exec in the
    child (netlab.runtime.podexec does). The caller must be single-threaded (setns of a mount namespace
    requires it)."""
    fds = [(os.open(f"/proc/{pid}/ns/{ns}", os.O_RDONLY | os.O_CLOEXEC), flag)
           for ns, flag in (("net", CLONE_NEWNET), ("ipc", CLONE_NEWIPC), ("uts", CLONE_NEWUTS),
                            ("pid", CLONE_NEWPID), ("mnt", CLONE_NEWNS))]
    try:
        for fd, flag in fds:
            _check(_libc.setns(fd, flag), f"setns {flag:#x}")
    finally:
        for fd, _ in fds:
            os.close(fd)
    os.chdir("/")
