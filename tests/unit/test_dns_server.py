"""The DNS server over real sockets on 127.0.0.1 (no root): UDP, TCP, reload, forwarding, truncation, fuzz."""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import socket
import struct
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from dnslib import QTYPE, RCODE, RR, A, DNSRecord

from netlab.runtime import dns as server_mod
from netlab.runtime.files import write_atomic

SERVICE = {"name": "app", "namespace": "default", "type": "ClusterIP", "clusterIPs": ["10.96.12.3"], "headless": False,
           "ports": [{"name": "http", "port": 80, "protocol": "TCP"}],
           "endpoints": [{"ip": "10.244.1.2", "hostname": None, "ready": True}]}
EXTERNAL = {"name": "ext", "namespace": "default", "type": "ExternalName", "externalName": "www.example.com",
            "clusterIPs": [], "ports": [], "endpoints": []}
BIG = {"name": "big", "namespace": "default", "type": "ClusterIP", "clusterIPs": [], "headless": True,
       "ports": [{"name": "http", "port": 80, "protocol": "TCP"}],
       "endpoints": [{"ip": f"10.244.7.{i + 1}", "hostname": None, "ready": True} for i in range(100)]}


def view(upstreams: list[str], services: list[dict] | None = None) -> dict:
    return {"domain": "cluster.local", "ttl": 30, "dnsVersion": "1.1.0", "upstreams": upstreams,
            "services": [SERVICE, EXTERNAL, BIG] if services is None else services,
            "pods": [], "namespaces": ["default", "kube-system"]}


def write_view(path: Path, data: dict) -> None:
    write_atomic(path, json.dumps(data))


def free_port() -> int:
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
            u.bind(("127.0.0.1", 0))
            port = u.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as t:
                try:
                    t.bind(("127.0.0.1", port))
                except OSError:
                    continue
                return port
    raise RuntimeError("no free port")


@contextlib.contextmanager
def running(view_path: Path, upstream_timeout: float = 1.5) -> Iterator[int]:
    """The server on a free port in a thread with its own event loop; always stopped."""
    port = free_port()
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    holder: dict = {}

    async def main() -> None:
        stop = asyncio.Event()
        up = asyncio.Event()
        holder["stop"] = stop
        task = asyncio.create_task(server_mod.serve(str(view_path), "127.0.0.1", port, upstream_timeout, up, stop))
        await asyncio.wait([task, asyncio.create_task(up.wait())], return_when=asyncio.FIRST_COMPLETED)
        ready.set()
        await task

    thread = threading.Thread(target=lambda: loop.run_until_complete(main()), daemon=True)
    thread.start()
    try:
        assert ready.wait(5), "server did not start"
        yield port
    finally:
        if "stop" in holder:
            loop.call_soon_threadsafe(holder["stop"].set)
        thread.join(5)
        loop.close()


@contextlib.contextmanager
def udp_upstream(reply_ip: str | None, rcode: int | None = None) -> Iterator[int]:
    """A tiny upstream on 127.0.0.1: answers every A query with reply_ip, or stays silent when None;
    with rcode, answers every query with that rcode and no records."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.1)
    done = threading.Event()

    def run() -> None:
        while not done.is_set():
            try:
                data, addr = sock.recvfrom(4096)
            except (TimeoutError, OSError):
                continue
            if reply_ip is None and rcode is None:
                continue
            q = DNSRecord.parse(data)
            r = q.reply()
            if rcode is not None:
                r.header.rcode = rcode
                sock.sendto(r.pack(), addr)
                continue
            r.add_answer(RR(q.q.qname, QTYPE.A, rdata=A(reply_ip), ttl=60))
            sock.sendto(r.pack(), addr)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield sock.getsockname()[1]
    finally:
        done.set()
        thread.join(2)
        sock.close()


def ask(port: int, name: str, qtype: str = "A", tcp: bool = False, edns: int | None = None,
        timeout: float = 3.0) -> DNSRecord:
    q = DNSRecord.question(name, qtype)
    if edns:
        q.add_ar(server_mod.EDNS0(udp_len=edns))
    return DNSRecord.parse(q.send("127.0.0.1", port, tcp=tcp, timeout=timeout))


@pytest.fixture()
def view_path(tmp_path: Path) -> Path:
    path = tmp_path / "dns-view.json"
    write_view(path, view([]))
    return path


def test_udp_and_tcp_answers(view_path: Path) -> None:
    with running(view_path) as port:
        for tcp in (False, True):
            r = ask(port, "App.Default.svc.cluster.local", tcp=tcp)
            assert r.header.rcode == RCODE.NOERROR and r.header.aa
            assert [str(rr.rdata) for rr in r.rr] == ["10.96.12.3"]
            assert str(r.q.qname) == "App.Default.svc.cluster.local."    # the client's case echoed
            r = ask(port, "nope.default.svc.cluster.local", tcp=tcp)
            assert r.header.rcode == RCODE.NXDOMAIN and r.auth[0].rtype == QTYPE.SOA
            r = ask(port, "default.svc.cluster.local", tcp=tcp)
            assert r.header.rcode == RCODE.NOERROR and not r.rr and r.auth[0].rtype == QTYPE.SOA
        r = ask(port, "_http._tcp.app.default.svc.cluster.local", "SRV")
        assert [str(rr.rdata) for rr in r.rr] == ["0 100 80 app.default.svc.cluster.local."]
        assert [str(rr.rdata) for rr in r.ar] == ["10.96.12.3"]
        # the query ID is patched per query even when the answer is cached
        ids = {ask(port, "app.default.svc.cluster.local").header.id for _ in range(5)}
        assert len(ids) > 1
        # no upstreams: names outside the zone get SERVFAIL at once
        assert ask(port, "example.org").header.rcode == RCODE.SERVFAIL
        # EDNS queries get an OPT back
        r = ask(port, "app.default.svc.cluster.local", edns=1232)
        assert any(rr.rtype == QTYPE.OPT for rr in r.ar)


def test_reload_within_one_second(view_path: Path) -> None:
    with running(view_path) as port:
        assert ask(port, "new.default.svc.cluster.local").header.rcode == RCODE.NXDOMAIN
        svc = {**SERVICE, "name": "new", "clusterIPs": ["10.96.0.99"]}
        write_view(view_path, view([], [SERVICE, svc]))
        start = time.monotonic()
        while time.monotonic() - start < 1.0:
            r = ask(port, "new.default.svc.cluster.local")
            if r.header.rcode == RCODE.NOERROR:
                break
            time.sleep(0.02)
        assert [str(rr.rdata) for rr in r.rr] == ["10.96.0.99"], "not reloaded within 1 s"
        # a broken view keeps the old zone
        view_path.write_text('{"services": [')
        time.sleep(0.3)
        assert ask(port, "new.default.svc.cluster.local").header.rcode == RCODE.NOERROR
        # a deletion is seen too
        write_view(view_path, view([], [SERVICE]))
        deadline = time.monotonic() + 1.0
        while ask(port, "new.default.svc.cluster.local").header.rcode != RCODE.NXDOMAIN:
            assert time.monotonic() < deadline, "deletion not seen within 1 s"
            time.sleep(0.02)


def test_servfail_within_two_seconds_when_upstream_is_silent(tmp_path: Path) -> None:
    path = tmp_path / "v.json"
    with udp_upstream(None) as up:
        write_view(path, view([f"127.0.0.1:{up}"]))
        with running(path) as port:
            start = time.monotonic()
            r = ask(port, "example.org", timeout=5)
            elapsed = time.monotonic() - start
            assert r.header.rcode == RCODE.SERVFAIL
            assert elapsed < 2.0
            start = time.monotonic()
            assert ask(port, "example.org", tcp=True, timeout=5).header.rcode == RCODE.SERVFAIL
            assert time.monotonic() - start < 2.0


def test_forwarding_to_upstream(tmp_path: Path) -> None:
    path = tmp_path / "v.json"
    with udp_upstream(None) as silent, udp_upstream("192.0.2.7") as up:
        write_view(path, view([f"127.0.0.1:{silent}", f"127.0.0.1:{up}"]))
        with running(path) as port:
            for tcp in (False, True):
                r = ask(port, "www.Example.org", tcp=tcp)
                assert r.header.rcode == RCODE.NOERROR
                assert [str(rr.rdata) for rr in r.rr] == ["192.0.2.7"]
                assert str(r.q.qname) == "www.Example.org."
            # an ExternalName CNAME is followed upstream
            r = ask(port, "ext.default.svc.cluster.local")
            assert [(rr.rtype, str(rr.rdata)) for rr in r.rr] == [(QTYPE.CNAME, "www.example.com."),
                                                                   (QTYPE.A, "192.0.2.7")]
            # reverse names outside the ranges we know are forwarded too; ours are not
            assert ask(port, "1.1.1.1.in-addr.arpa", "PTR").header.rcode == RCODE.NOERROR
            r = ask(port, "3.12.96.10.in-addr.arpa", "PTR")
            assert [str(rr.rdata) for rr in r.rr] == ["app.default.svc.cluster.local."]


@pytest.mark.parametrize("rcode", [None, RCODE.SERVFAIL, RCODE.REFUSED, RCODE.NXDOMAIN])
def test_external_name_answers_its_cname_when_upstream_cannot_resolve_the_target(tmp_path: Path, rcode) -> None:
    """An offline lab (as CoreDNS): NOERROR with the CNAME alone, whatever upstream says or if it is silent."""
    path = tmp_path / "v.json"
    with udp_upstream(None, rcode) as up:
        write_view(path, view([f"127.0.0.1:{up}"]))
        with running(path, upstream_timeout=0.5) as port:
            for tcp in (False, True):
                r = ask(port, "ext.default.svc.cluster.local", tcp=tcp)
                assert r.header.rcode == RCODE.NOERROR
                assert [(rr.rtype, str(rr.rdata)) for rr in r.rr] == [(QTYPE.CNAME, "www.example.com.")]
            if rcode is not None:  # a name that is not an ExternalName keeps upstream's verdict
                assert ask(port, "www.example.com").header.rcode == rcode


def test_truncation_over_udp_and_full_answer_over_tcp(view_path: Path) -> None:
    with running(view_path) as port:
        r = ask(port, "big.default.svc.cluster.local")
        assert r.header.tc and not r.rr and str(r.q.qname) == "big.default.svc.cluster.local."
        r = ask(port, "big.default.svc.cluster.local", tcp=True)
        assert not r.header.tc and len(r.rr) == 100
        r = ask(port, "_http._tcp.big.default.svc.cluster.local", "SRV", tcp=True)
        assert len(r.rr) == 100 and len(r.ar) == 100 and {rr.rdata.weight for rr in r.rr} == {1}
        # a client advertising a large EDNS buffer gets it all over UDP
        r = ask(port, "big.default.svc.cluster.local", edns=4096)
        assert not r.header.tc and len(r.rr) == 100
        r = ask(port, "_http._tcp.big.default.svc.cluster.local", "SRV", edns=1232)
        assert r.header.tc and not r.rr


def raw_udp(port: int, packet: bytes, timeout: float = 2.0) -> bytes | None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        s.sendto(packet, ("127.0.0.1", port))
        try:
            return s.recv(65535)
        except TimeoutError:
            return None


def test_error_replies(view_path: Path) -> None:
    q = DNSRecord.question("app.default.svc.cluster.local").pack()
    with running(view_path) as port:
        notify = bytes(q[:2]) + bytes([q[2] | (4 << 3)]) + bytes(q[3:])
        reply = raw_udp(port, notify)
        assert reply is not None and reply[3] & 0x0F == RCODE.NOTIMP and reply[:2] == q[:2]
        two = bytes(q[:4]) + b"\x00\x02" + bytes(q[6:]) + bytes(q[12:])
        reply = raw_udp(port, two)
        assert reply is not None and reply[3] & 0x0F == RCODE.FORMERR
        reply = raw_udp(port, bytes(q[:-3]))   # truncated question
        assert reply is not None and reply[3] & 0x0F == RCODE.FORMERR
        assert raw_udp(port, b"\x01\x02\x03", timeout=0.3) is None   # too short to answer: dropped
        response = bytes(q[:2]) + bytes([q[2] | 0x80]) + bytes(q[3:])
        assert raw_udp(port, response, timeout=0.3) is None           # responses are never answered
        assert ask(port, "app.default.svc.cluster.local").header.rcode == RCODE.NOERROR


def mutate(rng: random.Random, base: bytes) -> bytes:
    data = bytearray(base)
    for _ in range(rng.randint(1, 6)):
        op = rng.random()
        if op < 0.4 and data:
            data[rng.randrange(len(data))] = rng.randrange(256)
        elif op < 0.6 and data:
            del data[rng.randrange(len(data)):]
        elif op < 0.8:
            data[rng.randrange(len(data) + 1):0] = rng.randbytes(rng.randint(1, 20))
        else:
            data[4:6] = struct.pack(">H", rng.randrange(4))
    return bytes(data)


def test_fuzz_never_crashes_or_stalls(tmp_path: Path) -> None:
    rng = random.Random(4)
    path = tmp_path / "v.json"
    seeds = [DNSRecord.question(n, t).pack() for n, t in [
        ("app.default.svc.cluster.local", "A"), ("_http._tcp.big.default.svc.cluster.local", "SRV"),
        ("3.12.96.10.in-addr.arpa", "PTR"), ("example.org", "AAAA"), ("1-2-3-4.default.pod.cluster.local", "A")]]
    edns = DNSRecord.question("big.default.svc.cluster.local")
    edns.add_ar(server_mod.EDNS0(udp_len=65535))
    seeds.append(edns.pack())
    with udp_upstream(None) as silent:
        write_view(path, view([f"127.0.0.1:{silent}"]))
        with running(path, upstream_timeout=0.5) as port:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                s.setblocking(False)
                for i in range(10_000):
                    if i % 3 == 0:
                        packet = rng.randbytes(rng.randint(0, 600))
                    else:
                        packet = mutate(rng, bytes(rng.choice(seeds)))
                    with contextlib.suppress(BlockingIOError):
                        s.sendto(packet[:65000], ("127.0.0.1", port))
                    if i % 200 == 0:
                        time.sleep(0.005)       # let the server keep up instead of filling the socket buffer
                    with contextlib.suppress(BlockingIOError):
                        while s.recv(65535):
                            pass
            for _ in range(30):                 # garbage over TCP too, framed and unframed
                with socket.create_connection(("127.0.0.1", port), timeout=2) as t:
                    packet = mutate(rng, bytes(rng.choice(seeds)))
                    t.sendall(rng.choice([struct.pack(">H", len(packet)) + packet, rng.randbytes(30), b"\xff\xff"]))
            # the junk already queued may take a while on a loaded machine: the server must get through it
            deadline = time.monotonic() + 15
            while True:
                try:
                    ask(port, "app.default.svc.cluster.local", timeout=1)
                    break
                except TimeoutError:
                    assert time.monotonic() < deadline, "the server stalled after the fuzz"
            start = time.monotonic()
            r = ask(port, "app.default.svc.cluster.local", timeout=2)
            assert r.header.rcode == RCODE.NOERROR and [str(rr.rdata) for rr in r.rr] == ["10.96.12.3"]
            assert ask(port, "app.default.svc.cluster.local", tcp=True, timeout=2).header.rcode == RCODE.NOERROR
            assert time.monotonic() - start < 1.0
