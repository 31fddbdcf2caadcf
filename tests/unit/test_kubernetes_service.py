"""The `kubernetes` Service in `default`, its Endpoints at the API, and the variables every container gets."""

from __future__ import annotations

from types import SimpleNamespace

from netlab.compile import addons
from netlab.compile.config import ClusterConfig
from netlab.compile.containerspec import api_service_env


def _objects(config: ClusterConfig, host_ip: str = "172.18.0.1", port: int = 6444) -> dict[str, dict]:
    return {f"{o['kind']}/default/{o['metadata']['name']}": o for o in addons.kubernetes_objects(config, host_ip, port)}


def test_service_at_the_first_service_address_port_443_to_the_api_port() -> None:
    config = ClusterConfig.from_manifest({"networking": {"serviceSubnet": "10.100.0.0/16"}})
    svc, ep = addons.kubernetes_objects(config, "172.18.0.1", 6444)
    assert svc["metadata"]["namespace"] == "default" and svc["metadata"]["name"] == "kubernetes"
    assert svc["spec"]["clusterIP"] == "10.100.0.1" and "selector" not in svc["spec"]
    assert svc["spec"]["ports"] == [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": 6444}]
    assert ep["kind"] == "Endpoints" and ep["subsets"] == [
        {"addresses": [{"ip": "172.18.0.1"}], "ports": [{"name": "https", "port": 6444, "protocol": "TCP"}]}]
    assert addons.is_addon(svc) and addons.is_addon(ep)


def test_containers_get_the_kubelets_variables() -> None:
    config = ClusterConfig.from_manifest(None)
    env = api_service_env(_objects(config), {"default/kubernetes": SimpleNamespace(cluster_ip="10.96.0.1")})
    assert env == {
        "KUBERNETES_SERVICE_HOST": "10.96.0.1", "KUBERNETES_SERVICE_PORT": "443",
        "KUBERNETES_SERVICE_PORT_HTTPS": "443", "KUBERNETES_PORT": "tcp://10.96.0.1:443",
        "KUBERNETES_PORT_443_TCP": "tcp://10.96.0.1:443", "KUBERNETES_PORT_443_TCP_PROTO": "tcp",
        "KUBERNETES_PORT_443_TCP_PORT": "443", "KUBERNETES_PORT_443_TCP_ADDR": "10.96.0.1",
    }


def test_no_service_no_variables() -> None:
    assert api_service_env({}, {}) == {}
