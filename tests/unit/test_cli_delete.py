"""`netlab delete -f`: a Namespace and the objects in it are all reported deleted, as kubectl does."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from netlab import cli
from netlab.api.client import ApiFailure
from netlab.cli import common

MANIFEST = """
apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: nginx}]}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec: {selector: {app: web}, ports: [{port: 80}]}
---
apiVersion: v1
kind: Service
metadata: {name: gone}
spec: {selector: {app: web}, ports: [{port: 80}]}
"""


class FakeClient:
    """Objects by API path; deleting a namespace takes what is inside with it, as netlab's controller does."""

    def __init__(self, paths: set[str]) -> None:
        self.paths = paths

    def request(self, method: str, path: str) -> dict:
        assert method == "DELETE"
        if path not in self.paths:
            name = path.rsplit("/", 1)[1]
            raise ApiFailure({"code": 404, "reason": "NotFound", "message": f'"{name}" not found'})
        self.paths.discard(path)
        if path.startswith("/api/v1/namespaces/") and path.count("/") == 4:
            inside = "/namespaces/" + path.rsplit("/", 1)[1] + "/"
            self.paths = {p for p in self.paths if inside not in p}
        return {}


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    path = tmp_path / "shop.yaml"
    path.write_text(MANIFEST)

    def invoke(existing: set[str]):
        monkeypatch.setattr(common, "client", lambda ctx: FakeClient(existing))
        return CliRunner().invoke(cli.main, ["--cluster", "x", "delete", "-f", str(path)], catch_exceptions=False)
    return invoke


def test_objects_the_namespace_took_along_are_reported_deleted(run):
    result = run({"/api/v1/namespaces/shop", "/apis/apps/v1/namespaces/shop/deployments/web",
                  "/api/v1/namespaces/shop/services/web", "/api/v1/namespaces/default/services/gone"})
    assert result.exit_code == 0, result.output
    assert result.output == ('namespace "shop" deleted\ndeployment.apps "web" deleted\nservice "web" deleted\n'
                             'service "gone" deleted\n')


def test_an_object_that_was_not_there_is_still_an_error(run):
    result = run({"/api/v1/namespaces/shop", "/apis/apps/v1/namespaces/shop/deployments/web",
                  "/api/v1/namespaces/shop/services/web"})
    assert result.exit_code == 1
    assert 'service "web" deleted\n' in result.output and 'Error from server (NotFound): "gone" not found' in \
        result.output
