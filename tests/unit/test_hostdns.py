"""The host's resolvers are read by the runtime, never by the pure compile layer."""

from netlab.runtime import hostdns


def test_nameservers_in_order_without_comments_or_options():
    text = "# generated\nsearch example.org\nnameserver 127.0.0.53\noptions edns0\nnameserver  10.0.0.2 \nnameserver\n"
    assert hostdns.nameservers(text) == ["127.0.0.53", "10.0.0.2"]


def test_host_upstreams_reads_the_file_named_by_the_environment(tmp_path, monkeypatch):
    resolv = tmp_path / "resolv.conf"
    resolv.write_text("nameserver 192.0.2.53\n")
    monkeypatch.setenv("NETLAB_HOST_RESOLV_CONF", str(resolv))
    assert hostdns.host_upstreams() == ["192.0.2.53"]
    assert hostdns.host_upstreams(str(tmp_path / "missing")) == []
