"""The forked per-node worker of kernel/podnet.py ends in itself whatever happens (issue 11's crash tests found a
worker whose result write failed after the controller died going on as a copy of the controller)."""

from __future__ import annotations

import os
import socket
import stat

from netlab.compile.topology import NodeNet
from netlab.kernel import podnet

NODE = NodeNet(name="n", index=1, role="worker", netns="netlab-test-no-such-netns", underlay_ip="172.18.0.9",
               uplink_veth="x", pod_cidr="10.244.9.0/24", gateway="10.244.9.1", vxlan_mac="", bridge_mac="")


def _run_worker(parent_gone: bool) -> tuple[int, bytes]:
    read_fd, write_fd = os.pipe()
    if parent_gone:
        os.close(read_fd)
        read_fd = os.open(os.devnull, os.O_RDONLY)
    pid = os.fork()
    if pid == 0:
        try:
            podnet._worker(read_fd, write_fd, NODE, [])
        finally:
            os._exit(99)  # reached only if the worker returned or raised into its caller
    os.close(write_fd)
    with os.fdopen(read_fd, "rb") as inp:
        out = inp.read()
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), out


def test_a_failing_worker_reports_and_exits() -> None:
    code, out = _run_worker(parent_gone=False)
    assert code == 1 and b"netlab-test-no-such-netns" in out


def test_a_worker_whose_parent_is_gone_exits_instead_of_returning() -> None:
    code, _ = _run_worker(parent_gone=True)
    assert code == 1


def test_inherited_sockets_are_pointed_at_dev_null() -> None:
    a, b = socket.socketpair()
    pid = os.fork()
    if pid == 0:
        podnet._drop_inherited_sockets(keep=-1)
        os._exit(0 if stat.S_ISCHR(os.fstat(a.fileno()).st_mode) and stat.S_ISCHR(os.fstat(b.fileno()).st_mode)
                 else 3)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    a.sendall(b"x")  # the parent's ends are untouched
    assert b.recv(1) == b"x"
    a.close()
    b.close()
