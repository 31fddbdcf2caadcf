"""The pure parts of the streaming API: the exec channel protocol, the SPDY/3.1 framer (against bytes
captured from kubectl 1.37), log tails, routing of the streaming subresources and the service proxy's
choice of endpoint."""

from __future__ import annotations

import json
import os
import struct
import zlib
from pathlib import Path

import pytest

from netlab.api import channels, execclient, logs, logtimes, proxy, spdy, streams, tunnel
from netlab.api.errors import ApiError

CAPTURE = Path(__file__).parent / "data" / "kubectl137_portforward_ws.txt"


# ----- channels ---------------------------------------------------------------------------------------
def test_protocol_choice_prefers_v5_and_refuses_unknown() -> None:
    assert channels.choose_protocol(["v4.channel.k8s.io", "v5.channel.k8s.io"]) == "v5.channel.k8s.io"
    assert channels.choose_protocol([" v4.channel.k8s.io"]) == "v4.channel.k8s.io"
    assert channels.choose_protocol(["channel.k8s.io", "base64.channel.k8s.io"]) is None


def test_client_messages() -> None:
    assert channels.parse(b"\x00ls\n", channels.V5) == channels.Message("stdin", b"ls\n")
    resize = channels.parse(b'\x04{"Width":132,"Height":41}\n', channels.V5)
    assert resize.kind == "resize" and resize.size == (132, 41)
    assert channels.parse(b"\x04{bad", channels.V5).kind == "ignored"
    assert channels.parse(b"\xff\x00", channels.V5) == channels.Message("close", channel=0)
    assert channels.parse(b"\xff\x00", channels.V4).kind == "ignored"   # v4 has no close message
    assert channels.parse(b"", channels.V5).kind == "ignored"


def test_exit_status_as_kubelet_reports_it() -> None:
    assert channels.exit_status(0, ["true"]) == {"metadata": {}, "status": "Success"}
    status = channels.exit_status(3, ["sh", "-c", "exit 3"])
    assert status["reason"] == "NonZeroExitCode"
    assert status["details"]["causes"] == [{"reason": "ExitCode", "message": "3"}]
    assert status["message"].endswith("error executing command [sh -c exit 3], exit code 3")
    frame = channels.status_frame(status)
    assert frame[0] == channels.ERROR and json.loads(frame[1:]) == status


# ----- SPDY/3.1 -----------------------------------------------------------------------------------------
def _captured() -> list[bytes]:
    return [bytes.fromhex(line.strip()) for line in CAPTURE.read_text().splitlines() if not line.startswith("#")]


def test_dictionary_is_the_drafts() -> None:
    # kubectl's first header block names the dictionary it was compressed with (zlib FDICT, adler32)
    first_block = b"".join(_captured())[18:]
    assert first_block[:2] == b"\x78\xf9"
    assert int.from_bytes(first_block[2:6], "big") == zlib.adler32(spdy.DICTIONARY)
    assert len(spdy.DICTIONARY) == 1423


def _summary(frames: list[spdy.Frame]) -> list[tuple]:
    return [(f.type, f.flags, f.stream_id, f.headers, f.data) for f in frames]


def test_kubectls_port_forward_session_parses() -> None:
    frames: list[spdy.Frame] = []
    codec = spdy.Codec()
    for message in _captured():    # in kubectl's own fragmentation: headers and bodies in separate messages
        frames += codec.feed(message)
    summary = _summary(frames)
    assert summary[0] == (spdy.SYN_STREAM, 0, 1, {"streamtype": "error", "port": "8080", "requestid": "0"}, b"")
    assert summary[1] == (0, spdy.FLAG_FIN, 1, {}, b"")      # kubectl closes its side of the error stream
    assert summary[2] == (spdy.SYN_STREAM, 0, 3, {"streamtype": "data", "port": "8080", "requestid": "0"}, b"")
    assert summary[3][:3] == (0, 0, 3) and summary[3][4].startswith(b"GET /a HTTP/1.1\r\n")
    assert summary[4] == (0, spdy.FLAG_FIN, 3, {}, b"")
    # the second connection's header blocks depend on the first's (one zlib context per session)
    assert summary[5][3] == {"port": "8080", "requestid": "1", "streamtype": "error"}
    assert summary[8][4].startswith(b"GET /b HTTP/1.1\r\n")
    assert len(frames) == 10

    byte_by_byte, codec = [], spdy.Codec()
    for byte in b"".join(_captured()):
        byte_by_byte += codec.feed(bytes([byte]))
    assert _summary(byte_by_byte) == summary


def test_replies_decode_with_a_peers_context() -> None:
    server, client = spdy.Codec(), spdy.Codec()
    wire = server.syn_reply(1) + server.syn_reply(3, {"x": "y"}) + spdy.data(3, b"hello") + spdy.data(3, b"", True)
    frames = client.feed(wire)
    assert _summary(frames) == [(spdy.SYN_REPLY, 0, 1, {}, b""), (spdy.SYN_REPLY, 0, 3, {"x": "y"}, b""),
                                (0, 0, 3, {}, b"hello"), (0, spdy.FLAG_FIN, 3, {}, b"")]
    assert wire[:4] == bytes([0x80, 0x03, 0x00, 0x02])       # control bit, version 3, SYN_REPLY


def test_control_frames() -> None:
    codec = spdy.Codec()
    (ping,) = codec.feed(spdy.ping(7))
    assert (ping.type, ping.value) == (spdy.PING, 7)
    (rst,) = codec.feed(spdy.rst_stream(5, spdy.CANCEL))
    assert (rst.type, rst.stream_id, rst.value) == (spdy.RST_STREAM, 5, spdy.CANCEL)
    (update,) = codec.feed(spdy.control(spdy.WINDOW_UPDATE, 0, struct.pack(">II", 3, 65536)))
    assert (update.type, update.stream_id, update.value) == (spdy.WINDOW_UPDATE, 3, 65536)
    (settings,) = codec.feed(spdy.control(spdy.SETTINGS, 0, struct.pack(">I", 0)))
    assert settings.type == spdy.SETTINGS
    with pytest.raises(spdy.SpdyError):
        codec.feed(struct.pack(">HHI", 0x8002, spdy.PING, 4) + b"\0\0\0\1")   # SPDY/2
    with pytest.raises(spdy.SpdyError):
        spdy.Codec().feed(spdy.control(spdy.SYN_STREAM, 0, struct.pack(">IIH", 1, 0, 0) + b"not zlib"))


def test_large_data_is_split_into_frames() -> None:
    payload = bytes(range(256)) * (70000)    # 17.9 MB: more than one frame's 16 MiB limit
    frames = spdy.Codec().feed(spdy.data(9, payload, fin=True))
    assert [len(f.data) for f in frames] == [spdy.MAX_FRAME, len(payload) - spdy.MAX_FRAME]
    assert [f.fin for f in frames] == [False, True] and b"".join(f.data for f in frames) == payload


def test_data_parts_are_the_frame_without_copying_the_payload() -> None:
    payload = b"x" * 300
    parts = spdy.data_parts(5, payload, fin=True)
    assert parts[1] is payload and parts[0] == b"\x00\x00\x00\x05\x01\x00\x01\x2c"
    assert b"".join(parts) == spdy.data(5, payload, fin=True)
    assert spdy.data_head(7, 3) + b"abc" == spdy.data(7, b"abc")
    frames = spdy.Codec().feed(spdy.data_head(3, 6) + b"ab" + b"cdef")   # one head for pieces written together
    assert [(f.stream_id, f.data) for f in frames] == [(3, b"abcdef")]


@pytest.mark.parametrize(("length", "head"), [
    (0, b"\x82\x00"), (125, b"\x82\x7d"), (126, b"\x82\x7e\x00\x7e"), (65535, b"\x82\x7e\xff\xff"),
    (65536, b"\x82\x7f\x00\x00\x00\x00\x00\x01\x00\x00"), (1 << 20, b"\x82\x7f" + (1 << 20).to_bytes(8, "big")),
])
def test_websocket_binary_frame_heads(length: int, head: bytes) -> None:
    # RFC 6455 5.2 (FIN, opcode 2, no mask), as aiohttp's own writer frames a message of that length
    assert tunnel.ws_binary_head(length) == head


# ----- logs -----------------------------------------------------------------------------------------
@pytest.mark.parametrize(("data", "lines", "rest"), [
    (b"a\nb\nc\n", 2, b"b\nc\n"), (b"a\nb\nc", 2, b"b\nc"), (b"a\nb\n", 5, b"a\nb\n"), (b"a\nb\n", 0, b""),
    (b"", 3, b""), (b"\n\n", 1, b"\n"),
])
def test_tail_offset(data: bytes, lines: int, rest: bytes) -> None:
    assert data[logs.tail_offset(data, lines):] == rest


def test_start_offset_reads_back_far_enough(tmp_path: Path) -> None:
    path = tmp_path / "c.log"
    path.write_bytes(b"".join(b"line %d %s\n" % (i, b"x" * 3000) for i in range(100)))
    assert path.read_bytes()[logs.start_offset(path, 40):].count(b"\n") == 40
    assert logs.start_offset(path, None) == 0
    assert logs.start_offset(path, 1000) == 0


# ----- routing and proxy ----------------------------------------------------------------------------
def test_routes() -> None:
    assert streams.route("/api/v1/namespaces/default/pods/web/exec") == streams.Route("pods", "default", "web", "exec")
    assert streams.route("/api/v1/namespaces/ns/pods/web/log").sub == "log"
    assert streams.route("/api/v1/namespaces/ns/services/http:svc:80/proxy/a/b") == streams.Route(
        "services", "ns", "http:svc:80", "proxy", "a/b")
    assert streams.route("/api/v1/namespaces/ns/pods/web:8080/proxy/").rest == ""
    for other in ("/api/v1/namespaces/default/pods/web", "/api/v1/namespaces/default/pods/web/status",
                  "/api/v1/namespaces/default/services/s/exec", "/apis/apps/v1/namespaces/d/deployments/x/scale",
                  "/api/v1/namespaces/default/pods/web/exec/more", "/api/v1/namespaces//pods/web/exec"):
        assert streams.route(other) is None, other


def test_split_target() -> None:
    assert proxy.split_target("svc") == ("", "svc", "")
    assert proxy.split_target("svc:80") == ("", "svc", "80")
    assert proxy.split_target("http:svc:") == ("http", "svc", "")
    assert proxy.split_target("https:svc:443") == ("https", "svc", "443")


SERVICE = {"metadata": {"name": "s", "namespace": "ns"},
           "spec": {"ports": [{"name": "http", "port": 80}, {"name": "admin", "port": 9000}]}}
ENDPOINTS = {"subsets": [{"addresses": [{"ip": "10.0.0.5", "targetRef": {"kind": "Pod", "name": "p1",
                                                                          "namespace": "ns"}}],
                          "ports": [{"name": "http", "port": 8080}, {"name": "admin", "port": 9090}]}]}


def test_service_backend_by_port_name_or_number() -> None:
    assert proxy.service_backend(SERVICE, ENDPOINTS, "http") == ("ns", "p1", 8080)
    assert proxy.service_backend(SERVICE, ENDPOINTS, "9000") == ("ns", "p1", 9090)
    for port, endpoints in (("", ENDPOINTS), ("nope", ENDPOINTS), ("http", None), ("http", {"subsets": []})):
        with pytest.raises(ApiError) as err:
            proxy.service_backend(SERVICE, endpoints, port)
        assert err.value.code == 503
    single = {"metadata": {"name": "s", "namespace": "ns"}, "spec": {"ports": [{"port": 80}]}}
    unnamed = {"subsets": [{"addresses": ENDPOINTS["subsets"][0]["addresses"], "ports": [{"port": 3000}]}]}
    assert proxy.service_backend(single, unnamed, "") == ("ns", "p1", 3000)


# ----- log times ------------------------------------------------------------------------------------
def test_log_times_stamp_each_stretch_when_first_seen(tmp_path: Path) -> None:
    now = [1000.0]
    times = logtimes.LogTimes(clock=lambda: now[0])
    path = tmp_path / "c.log"
    path.write_bytes(b"old\n")
    os.utime(path, (500.0, 500.0))
    times.observe(path)                  # bytes there at the first look: the file's modification time
    with path.open("ab") as f:
        f.write(b"new1\nnew2\n")
    now[0] = 1001.5
    times.observe(path)
    time_at = times.lookup(path)
    assert [time_at(4), time_at(9), time_at(14)] == [500.0, 1001.5, 1001.5]
    assert time_at(99) == 1001.5          # not seen yet: now
    moved = tmp_path / "c.previous.log"   # moved aside for `logs -p`: same inode, same times
    path.replace(moved)
    assert times.lookup(moved)(4) == 500.0
    times.forget_except([])
    now[0] = 2000.0
    assert times.lookup(moved)(4) == 2000.0


def test_rfc3339_as_kubelet_writes_it() -> None:
    assert logtimes.rfc3339(0.5) == "1970-01-01T00:00:00.500000000Z"
    assert logtimes.rfc3339(1764614400.25) == "2025-12-01T18:40:00.250000000Z"


# ----- netlab's own exec client -----------------------------------------------------------------------
def test_exec_client_request_and_exit_codes() -> None:
    path = execclient.exec_path("ns", "web", "c", ["sh", "-c", "echo a&b"], stdin=True, tty=False)
    assert path.startswith("/api/v1/namespaces/ns/pods/web/exec?container=c&stdout=true&stderr=true&stdin=true")
    assert path.endswith("&command=sh&command=-c&command=echo+a%26b")
    assert "stderr=false" in execclient.exec_path("ns", "web", "c", ["sh"], stdin=True, tty=True)
    assert execclient.exit_code(channels.exit_status(0, ["true"])) == 0
    assert execclient.exit_code(channels.exit_status(42, ["false"])) == 42
    assert execclient.exit_code(channels.failure_status("cannot start")) == 1
