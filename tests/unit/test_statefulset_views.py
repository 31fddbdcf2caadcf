"""What the API shows of StatefulSets, DaemonSets and ReplicationControllers: stored defaults, checks, rows."""

from __future__ import annotations

from netlab.api.columns import kind_columns
from netlab.model.model import parse_one

TEMPLATE = {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c", "image": "echo"}]}}


def _parsed(kind: str, api_version: str = "apps/v1", **spec) -> tuple[dict, list]:
    obj, problems = parse_one({"apiVersion": api_version, "kind": kind, "metadata": {"name": "web"},
                               "spec": spec})
    return (obj.to_dict() if obj is not None else {}), [(p.field, p.message) for p in problems]


def test_statefulset_defaults_as_the_api_server():
    obj, problems = _parsed("StatefulSet", serviceName="nginx", selector={"matchLabels": {"app": "web"}},
                            template=TEMPLATE)
    assert problems == []
    spec = obj["spec"]
    assert spec["replicas"] == 1 and spec["podManagementPolicy"] == "OrderedReady"
    assert spec["updateStrategy"] == {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}}
    assert spec["revisionHistoryLimit"] == 10


def test_daemonset_and_rc_defaults():
    obj, _ = _parsed("DaemonSet", selector={"matchLabels": {"app": "web"}}, template=TEMPLATE)
    assert obj["spec"]["updateStrategy"]["rollingUpdate"] == {"maxUnavailable": 1, "maxSurge": 0}
    obj, problems = _parsed("ReplicationController", "v1", template=TEMPLATE)
    assert problems == [] and obj["spec"]["selector"] == {"app": "web"} and obj["spec"]["replicas"] == 1


def test_problems_name_their_fields():
    _, problems = _parsed("StatefulSet", selector={"matchLabels": {"app": "other"}}, template=TEMPLATE,
                          replicas=-1)
    assert [f for f, _ in problems] == ["spec.replicas", "spec.template.metadata.labels"]
    _, problems = _parsed("DaemonSet", selector={"matchLabels": {"app": "web"}})
    assert problems == [("spec.template", "required field is missing")]


def test_get_rows():
    sts = {"metadata": {"name": "web"}, "spec": {"replicas": 3, "template": TEMPLATE},
           "status": {"readyReplicas": 2}}
    cols = kind_columns("StatefulSet")
    assert [c.name for c in cols.all_columns() if c.priority == 0] == ["Name", "Ready", "Age"]
    assert cols.row_cells(sts, 0.0, False)[:2] == ["web", "2/3"]
    ds = {"metadata": {"name": "agent"}, "spec": {"template": {**TEMPLATE, "spec": {
        **TEMPLATE["spec"], "nodeSelector": {"disk": "ssd"}}}},
          "status": {"desiredNumberScheduled": 2, "currentNumberScheduled": 2, "numberReady": 1,
                     "updatedNumberScheduled": 2, "numberAvailable": 1}}
    assert kind_columns("DaemonSet").row_cells(ds, 0.0, False)[:7] == ["agent", "2", "2", "1", "2", "1", "disk=ssd"]
    rc = {"metadata": {"name": "old"}, "spec": {"replicas": 2, "selector": {"app": "web"}, "template": TEMPLATE},
          "status": {"replicas": 2, "readyReplicas": 1}}
    assert kind_columns("ReplicationController").row_cells(rc, 0.0, True)[1:4] == ["2", "2", "1"]
    assert kind_columns("ReplicationController").row_cells(rc, 0.0, True)[-1] == "app=web"
