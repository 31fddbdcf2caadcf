"""Server-side Table output (meta.k8s.io/v1): kubectl's columns per kind, shared with the CLI printers."""

from __future__ import annotations

import time

import pytest

from netlab.api.columns import COLUMNS
from netlab.api.errors import ApiError
from netlab.api.table import to_table
from netlab.cli import printers

NOW = 1_700_000_000.0


def ts(ago: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(NOW - ago))


def pod(name: str, ip: str = "10.244.1.2", ready: bool = True, restarts: int = 0) -> dict:
    state = {"running": {"startedAt": ts(100)}} if ready else {"waiting": {"reason": "CrashLoopBackOff"}}
    return {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": "default", "uid": f"uid-{name}", "resourceVersion": "7",
                     "creationTimestamp": ts(300), "labels": {"app": "web"}},
        "spec": {"containers": [{"name": "web", "image": "netlab/echo"}], "nodeName": "worker"},
        "status": {"phase": "Running", "podIP": ip,
                   "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
                   "containerStatuses": [{"name": "web", "ready": ready, "restartCount": restarts,
                                          "state": state}]},
    }


def service(name: str) -> dict:
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": name, "namespace": "default", "creationTimestamp": ts(3600)},
            "spec": {"type": "NodePort", "clusterIP": "10.96.0.10", "selector": {"app": name},
                     "ports": [{"port": 80, "targetPort": 3000, "nodePort": 30080, "protocol": "TCP"}]}}


def names(table: dict, priority: int | None = None) -> list[str]:
    return [c["name"] for c in table["columnDefinitions"] if priority is None or c["priority"] == priority]


def test_pod_table_has_kubectls_columns_and_wide_ones_at_priority_1() -> None:
    table = to_table("Pod", [pod("web-1"), pod("web-2", "10.244.2.3", ready=False, restarts=4)],
                     {"resourceVersion": "42"}, now=NOW)
    assert table["kind"] == "Table" and table["apiVersion"] == "meta.k8s.io/v1"
    assert table["metadata"] == {"resourceVersion": "42"}
    assert names(table, 0) == ["Name", "Ready", "Status", "Restarts", "Age"]
    assert names(table, 1) == ["IP", "Node", "Nominated Node", "Readiness Gates"]
    name_column = table["columnDefinitions"][0]
    assert name_column["format"] == "name" and name_column["type"] == "string" and name_column["description"]
    assert table["rows"][0]["cells"] == ["web-1", "1/1", "Running", "0", "5m", "10.244.1.2", "worker", "<none>",
                                         "<none>"]
    assert table["rows"][1]["cells"][:4] == ["web-2", "0/1", "CrashLoopBackOff", "4"]


def test_rows_carry_partial_object_metadata_by_default() -> None:
    row = to_table("Pod", [pod("web-1")], {}, now=NOW)["rows"][0]
    assert row["object"] == {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                             "metadata": pod("web-1")["metadata"]}


@pytest.mark.parametrize(("include", "expected"), [("Object", pod("web-1")), ("None", None)])
def test_include_object_object_and_none(include: str, expected: dict | None) -> None:
    row = to_table("Pod", [pod("web-1")], {}, include_object=include, now=NOW)["rows"][0]
    assert row.get("object") == expected


def test_bad_include_object_is_a_400() -> None:
    with pytest.raises(ApiError) as err:
        to_table("Pod", [], {}, include_object="Everything")
    assert err.value.code == 400


def test_integer_columns_carry_numbers() -> None:
    rs = {"apiVersion": "apps/v1", "kind": "ReplicaSet",
          "metadata": {"name": "web-abc", "namespace": "default", "creationTimestamp": ts(60)},
          "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
                   "template": {"spec": {"containers": [{"name": "web", "image": "netlab/echo"}]}}},
          "status": {"replicas": 3, "readyReplicas": 2}}
    table = to_table("ReplicaSet", [rs], {}, now=NOW)
    assert table["rows"][0]["cells"] == ["web-abc", 3, 3, 2, "60s", "web", "netlab/echo", "app=web"]
    types = {c["name"]: c["type"] for c in table["columnDefinitions"]}
    assert types["Desired"] == "integer" and types["Age"] == "string"


def test_service_row_is_the_wide_one() -> None:
    table = to_table("Service", [service("web")], {}, now=NOW)
    assert names(table) == ["Name", "Type", "Cluster-IP", "External-IP", "Port(s)", "Age", "Selector"]
    assert table["rows"][0]["cells"] == ["web", "NodePort", "10.96.0.10", "<none>", "80:30080/TCP", "60m",
                                         "app=web"]


def test_events_have_no_leading_name_column() -> None:
    ev = {"apiVersion": "v1", "kind": "Event", "type": "Normal", "reason": "Started", "message": "Started web",
          "metadata": {"name": "web-1.abc", "namespace": "default", "creationTimestamp": ts(30)},
          "involvedObject": {"kind": "Pod", "name": "web-1", "fieldPath": "spec.containers{web}"},
          "source": {"component": "kubelet", "host": "worker"}, "count": 2,
          "firstTimestamp": ts(90), "lastTimestamp": ts(30)}
    table = to_table("Event", [ev], {}, now=NOW)
    assert names(table, 0) == ["Last Seen", "Type", "Reason", "Object", "Message"]
    assert table["rows"][0]["cells"] == ["30s", "Normal", "Started", "pod/web-1", "spec.containers{web}",
                                         "kubelet, worker", "Started web", "90s", 2, "web-1.abc"]


def test_kinds_without_columns_get_name_and_age() -> None:
    cm = {"apiVersion": "apps/v1", "kind": "ControllerRevision",
          "metadata": {"name": "cfg", "creationTimestamp": ts(10)}}
    table = to_table("ControllerRevision", [cm], {}, now=NOW)
    assert names(table) == ["Name", "Age"]
    assert table["rows"][0]["cells"] == ["cfg", "10s"]


def test_empty_list_keeps_the_columns() -> None:
    table = to_table("Service", [], {"resourceVersion": "1"}, now=NOW)
    assert table["rows"] == [] and names(table, 0)[0] == "Name"


@pytest.mark.parametrize("kind", sorted(COLUMNS))
def test_cli_header_is_the_tables_columns_upper_cased(kind: str) -> None:
    obj = {"apiVersion": "v1", "kind": kind, "metadata": {"name": "x", "namespace": "default",
                                                           "creationTimestamp": ts(5)}}
    for wide in (False, True):
        header = printers.table(kind, [obj], NOW, wide=wide).splitlines()[0].split()
        table = to_table(kind, [obj], {}, now=NOW)
        expected = [c["name"].upper() for c in table["columnDefinitions"] if wide or c["priority"] == 0]
        assert header == " ".join(expected).split()
        cells = printers.table(kind, [obj], NOW, wide=True).splitlines()[1]
        assert len(table["rows"][0]["cells"]) == len(table["columnDefinitions"]) and cells
