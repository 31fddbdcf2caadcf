"""The Cluster file's `apiServer: {address, port}`: validated with file/field errors, carried into ClusterConfig."""

from __future__ import annotations

import io

import pytest

from netlab.compile.config import ClusterConfig
from netlab.model import ManifestError, from_dict, load
from netlab.model.cluster import Cluster


def _cluster(api_server: dict) -> dict:
    return {"apiVersion": "netlab.dev/v1alpha1", "kind": "Cluster", "apiServer": api_server}


def test_defaults_and_a_configured_endpoint() -> None:
    assert ClusterConfig.from_manifest(None).api_port is None
    c = from_dict(_cluster({"address": "127.0.0.2", "port": 7443}))
    assert isinstance(c, Cluster) and (c.api_server.address, c.api_server.port) == ("127.0.0.2", 7443)
    config = ClusterConfig.from_manifest(c.to_dict())
    assert (config.api_address, config.api_port) == ("127.0.0.2", 7443)


@pytest.mark.parametrize("api_server,field", [
    ({"port": 70000}, "apiServer.port"),
    ({"port": 0}, "apiServer.port"),
    ({"address": "localhost"}, "apiServer.address"),
    ({"address": "0.0.0.0"}, "apiServer.address"),
    ({"port": "https"}, "apiServer.port"),
    ({"bind": "x"}, "apiServer.bind"),
])
def test_bad_values_name_the_field(api_server: dict, field: str) -> None:
    with pytest.raises(ManifestError) as info:
        from_dict(_cluster(api_server))
    assert any(p.field == field for p in info.value.problems), [str(p) for p in info.value.problems]


def test_problems_name_the_file() -> None:
    text = "apiVersion: netlab.dev/v1alpha1\nkind: Cluster\napiServer: {port: 99999}\n"
    with pytest.raises(ManifestError) as info:
        load(["-"], stdin=io.StringIO(text))
    assert "apiServer.port" in str(info.value) and "<stdin>" in str(info.value)


def test_kinds_api_server_address_and_port_are_honoured() -> None:
    c = from_dict({"apiVersion": "kind.x-k8s.io/v1alpha4", "kind": "Cluster",
                   "networking": {"apiServerAddress": "127.0.0.3", "apiServerPort": 7443}})
    assert isinstance(c, Cluster) and c.notes == []
    config = ClusterConfig.from_manifest(c.to_dict())
    assert (config.api_address, config.api_port) == ("127.0.0.3", 7443)
    random_port = from_dict({"apiVersion": "kind.x-k8s.io/v1alpha4", "kind": "Cluster",
                             "networking": {"apiServerPort": 0}})
    assert random_port.api_server.port is None
