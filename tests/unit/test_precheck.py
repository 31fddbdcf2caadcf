"""The controller's own guard on derived names (netlab.runtime.precheck)."""

from __future__ import annotations

from netlab.compile.workloads import PlacedPod
from netlab.runtime.precheck import NETNS_MAX, name_problems


def pod(namespace: str, name: str, container: str = "c") -> PlacedPod:
    return PlacedPod(namespace, name, "n1", "10.244.1.2", "uid", 0.0, {}, {"containers": [{"name": container}]})


def test_valid_names_pass() -> None:
    pods = {p.key: p for p in (pod("default", "a"), pod("web", "a"), pod("web", "b"))}
    assert name_problems(pods, list(pods)) == []


def test_netns_name_too_long_is_named() -> None:
    long = pod("ns", "x" * (NETNS_MAX - 2))  # "<pod>.ns" is one character too long
    ok = pod("default", "y" * 200)
    pods = {long.key: long, ok.key: ok}
    causes = name_problems(pods, list(pods))
    assert [c["object"] for c in causes] == [f"Pod ns/{'x' * (NETNS_MAX - 2)}"]
    assert "network namespace name" in causes[0]["message"] and "254" in causes[0]["message"]


def test_illegal_netns_and_long_container_names() -> None:
    slash = pod("default", "a/b")
    long_container = pod("default", "c", container="k" * 250)
    pods = {slash.key: slash, long_container.key: long_container}
    messages = {c["object"]: c["message"] for c in name_problems(pods, list(pods))}
    assert "cannot be a network namespace name" in messages["Pod default/a/b"]
    assert "file names" in messages["Pod default/c"]


def test_collision_names_both_pods_and_only_new_ones_are_judged(monkeypatch) -> None:
    """netlab.compile.names makes the mapping injective; the controller's guard holds even if it were not."""
    from netlab.runtime import precheck

    monkeypatch.setattr(precheck.names, "pod_netns", lambda ns, name: "same")
    a, b = pod("default", "rp-client.rp-lab"), pod("rp-lab", "rp-client")
    pods = {a.key: a, b.key: b}
    causes = name_problems(pods, [b.key])
    assert causes == [{"object": "Pod rp-lab/rp-client", "field": "metadata.name",
                       "message": "its network namespace 'same' would be the same as pod "
                                  "default/rp-client.rp-lab's"}]
    assert name_problems(pods, []) == []
