"""kubectl's get columns for the stored-only kinds, through the same Table code as the built-in ones."""

from __future__ import annotations

from netlab.api.columns import kind_columns

CREATED = "2026-01-01T00:00:00Z"
NOW = 1767225600.0 + 300   # five minutes later


def cells(kind: str, obj: dict, wide: bool = False) -> list[str]:
    obj = {"kind": kind, **obj, "metadata": {"name": "x", "creationTimestamp": CREATED, **obj.get("metadata", {})}}
    columns = kind_columns(kind)
    names = [c.name for c in columns.all_columns() if wide or c.priority == 0]
    row = columns.row_cells(obj, NOW, wide)
    assert len(names) == len(row), (names, row)
    return [f"{n}={v}" for n, v in zip(names, row, strict=True)]


def test_stored_kinds_rows() -> None:
    assert cells("ConfigMap", {"data": {"a": "1", "b": "2"}, "binaryData": {"c": ""}}) == [
        "Name=x", "Data=3", "Age=5m"]
    assert cells("ServiceAccount", {}) == ["Name=x", "Secrets=0", "Age=5m"]
    job = {"spec": {"completions": 3, "template": {"spec": {"containers": [{"name": "c", "image": "i"}]}}},
           "status": {"succeeded": 1}}
    assert cells("Job", job) == ["Name=x", "Status=Running", "Completions=1/3", "Duration=", "Age=5m"]
    assert cells("Job", job, wide=True)[-3:] == ["Containers=c", "Images=i", "Selector=<none>"]
    assert cells("CronJob", {"spec": {"schedule": "*/5 * * * *"}}) == [
        "Name=x", "Schedule=*/5 * * * *", "Timezone=<none>", "Suspend=False", "Active=0", "Last Schedule=<none>",
        "Age=5m"]
    binding = {"roleRef": {"kind": "Role", "name": "r"},
               "subjects": [{"kind": "ServiceAccount", "name": "sa", "namespace": "n"}, {"kind": "User", "name": "u"}]}
    assert cells("RoleBinding", binding, wide=True) == [
        "Name=x", "Role=Role/r", "Age=5m", "Users=u", "Groups=", "ServiceAccounts=n/sa"]
    assert cells("ClusterRole", {}) == ["Name=x", f"Created At={CREATED}"]
    assert cells("PodDisruptionBudget", {"spec": {"minAvailable": 1}}) == [
        "Name=x", "Min Available=1", "Max Unavailable=N/A", "Allowed Disruptions=0", "Age=5m"]
    assert cells("PriorityClass", {"value": 1000}) == [
        "Name=x", "Value=1000", "Global-Default=false", "Age=5m", "PreemptionPolicy=PreemptLowerPriority"]
    assert cells("ValidatingWebhookConfiguration", {"webhooks": [{}, {}]}) == ["Name=x", "Webhooks=2", "Age=5m"]
