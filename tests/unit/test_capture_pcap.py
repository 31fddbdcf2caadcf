"""trace.pcap and trace.capture_plan: merging per-hop captures, reading addresses, choosing the hops (pure)."""

from __future__ import annotations

import socket
import struct

from netlab.trace.capture_plan import bpf, hops
from netlab.trace.model import plan
from netlab.trace.pcap import Record, read_pcap, summarize, write_pcapng
from tests.unit.test_trace_model import world


def frame(src: str, dst: str, sport: int, dport: int, proto: int = 6, flags: int = 0x02, payload: bytes = b"") -> bytes:
    l4 = (struct.pack("!HHIIBBHHH", sport, dport, 0, 0, 0x50, flags, 0, 0, 0) if proto == 6
          else struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload)
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(l4), 1, 0, 64, proto, 0, socket.inet_aton(src),
                     socket.inet_aton(dst))
    return b"\x02" * 6 + b"\x04" * 6 + b"\x08\x00" + ip + l4


def pcap(records: list[tuple[int, bytes]]) -> bytes:
    out = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1)
    for us, data in records:
        out += struct.pack("<IIII", us // 1_000_000, us % 1_000_000, len(data), len(data)) + data
    return out


def test_read_merge_and_write_pcapng() -> None:
    a = frame("10.244.1.2", "10.96.0.20", 40000, 80)
    b = frame("10.244.1.2", "10.244.2.2", 40000, 3000)
    lt, ra = read_pcap(pcap([(1_000_000, a), (3_000_000, a)]))
    _, rb = read_pcap(pcap([(2_000_000, b)]) + b"\x00\x01")  # a record cut short is left out
    assert lt == 1 and [r.ts_ns for r in ra] == [1_000_000_000, 3_000_000_000] and len(rb) == 1
    ng = write_pcapng([("web eth0", 1, ra), ("worker cni0", 1, rb)])
    assert ng[:4] == b"\x0a\x0d\x0d\x0a" and ng.count(b"worker cni0") == 1
    blocks, i = [], 0
    while i < len(ng):
        kind, length = struct.unpack_from("<II", ng, i)
        blocks.append((kind, ng[i + 8:i + length - 4]))
        i += length
    epbs = [struct.unpack_from("<III", body) for kind, body in blocks if kind == 6]
    assert [e[0] for e in epbs] == [0, 1, 0]  # time order across the two hops
    assert [kind for kind, _ in blocks[:3]] == [0x0A0D0D0A, 1, 1]


def test_summaries_show_addresses_and_vxlan() -> None:
    s = summarize(frame("10.244.1.2", "10.96.0.20", 40000, 80, flags=0x12))
    assert (s.src, s.dst, s.text) == ("10.244.1.2:40000", "10.96.0.20:80", "10.244.1.2:40000 > 10.96.0.20:80 TCP [S.]")
    inner = frame("10.244.1.2", "10.244.2.2", 40000, 3000)
    outer = frame("172.18.0.3", "172.18.0.4", 55555, 8472, proto=17, payload=b"\x08" + b"\0" * 7 + inner)
    v = summarize(outer)
    assert v.text == "VXLAN 172.18.0.3 > 172.18.0.4 | 10.244.1.2:40000 > 10.244.2.2:3000 TCP [S]"
    assert summarize(b"\0" * 12 + b"\x86\xdd" + b"\0" * 40) is None  # IPv6


def test_hops_follow_the_path_trace_computes() -> None:
    topo, svcs, pi = world()
    p = plan("default/pod-a", "10.96.100.1", 80, "tcp", topo, svcs, pi)
    labels = [h.label for h in hops(p, topo)]
    assert labels == ["default/pod-a eth0", "lab-worker cni0", "default/pod-b eth0",
                      "lab-worker eth0 (underlay)", "lab-worker2 cni0", "default/pod-c eth0"]
    f = bpf(p, topo, "tcp", underlay=True)
    assert f.startswith("tcp and (port 80 or port 3000) and (host ") and "host 10.244.1.2" in f
    assert "8472" not in f
    vx, _, _ = world("vxlan")
    assert bpf(p, vx, "tcp", underlay=True).endswith("or (udp port 8472)")
    assert Record(1, b"", 0).length == 0
