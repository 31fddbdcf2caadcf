"""securityContext -> what a container may do, as Kubernetes with containerd decides it (pure)."""

from __future__ import annotations

import pytest

from netlab.compile.security import (
    CAPABILITIES,
    DEFAULT_CAPS,
    ConfigError,
    Profile,
    cap_mask,
    hosts_file,
    problems,
    profile,
)

LABEL = "p_default(uid)"


def prof(container_sc: dict | None = None, pod_sc: dict | None = None, lookup=lambda uid: None, **extra) -> Profile:
    container = {"name": "c", "image": "x", **({"securityContext": container_sc} if container_sc else {}), **extra}
    spec = {"containers": [container], **({"securityContext": pod_sc} if pod_sc else {})}
    return profile(spec, container, LABEL, lookup)


def test_default_is_containerds_set_as_root() -> None:
    p = prof()
    assert (p.uid, p.gid, p.groups, p.no_new_privs, p.privileged) == (0, 0, (0,), False, False)
    assert p.caps == DEFAULT_CAPS and p.effective_caps() == DEFAULT_CAPS
    assert "NET_ADMIN" not in p.caps and "SYS_ADMIN" not in p.caps
    assert cap_mask(DEFAULT_CAPS) == 0xA80425FB  # what /proc/self/status shows in a containerd container


@pytest.mark.parametrize("caps, expected", [
    ({"add": ["NET_ADMIN"]}, DEFAULT_CAPS | {"NET_ADMIN"}),
    ({"add": ["net_admin", "SYS_TIME"]}, DEFAULT_CAPS | {"NET_ADMIN", "SYS_TIME"}),
    ({"drop": ["NET_RAW", "CHOWN"]}, DEFAULT_CAPS - {"NET_RAW", "CHOWN"}),
    ({"drop": ["ALL"]}, set()),
    ({"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]}, {"NET_BIND_SERVICE"}),
    ({"add": ["ALL"], "drop": ["SYS_ADMIN"]}, set(CAPABILITIES) - {"SYS_ADMIN"}),
    ({"add": ["NET_ADMIN"], "drop": ["NET_ADMIN"]}, DEFAULT_CAPS),  # drop wins
    ({"add": ["ALL"], "drop": ["ALL"]}, set()),
])
def test_capabilities_add_and_drop_as_containerd(caps, expected) -> None:
    assert prof({"capabilities": caps}).caps == frozenset(expected)


def test_privileged_gets_everything_and_ignores_drop() -> None:
    p = prof({"privileged": True, "capabilities": {"drop": ["ALL"]}})
    assert p.privileged and p.caps == frozenset(CAPABILITIES)


def test_unknown_capability_is_a_config_error_with_a_hint() -> None:
    with pytest.raises(ConfigError, match=r"unknown capability CAP_NET_ADMIN \(names are written without CAP_\)"):
        prof({"capabilities": {"add": ["CAP_NET_ADMIN"]}})


def test_users_container_over_pod_and_groups() -> None:
    p = prof({"runAsUser": 1234}, {"runAsUser": 1000, "runAsGroup": 3000, "supplementalGroups": [4000],
                                   "fsGroup": 2000})
    assert (p.uid, p.gid, p.groups) == (1234, 3000, (2000, 3000, 4000))
    assert p.caps == DEFAULT_CAPS and p.effective_caps() == frozenset()  # execve leaves a non-root user nothing


def test_group_comes_from_the_image_user_database_without_run_as_group() -> None:
    p = prof({"runAsUser": 33}, lookup=lambda uid: (33, [4, 27]) if uid == 33 else None)
    assert (p.uid, p.gid, p.groups) == (33, 33, (4, 27, 33))
    assert prof({"runAsUser": 4242}).gid == 0  # unknown user: group 0, as containerd


def test_run_as_non_root_refusals_say_what_kubelet_says() -> None:
    with pytest.raises(ConfigError, match=r'image will run as root \(pod: "p_default\(uid\)", container: c\)'):
        prof(pod_sc={"runAsNonRoot": True})
    with pytest.raises(ConfigError, match="container's runAsUser breaks non-root policy"):
        prof({"runAsUser": 0, "runAsNonRoot": True})
    assert prof({"runAsUser": 10}, {"runAsNonRoot": True}).uid == 10
    assert prof({"runAsNonRoot": False}, {"runAsNonRoot": True}).uid == 0  # the container's word wins


def test_allow_privilege_escalation_false_sets_no_new_privs() -> None:
    assert prof({"allowPrivilegeEscalation": False}).no_new_privs
    assert not prof({"allowPrivilegeEscalation": True}).no_new_privs
    assert not prof({"allowPrivilegeEscalation": False, "capabilities": {"add": ["NET_ADMIN"]}}).privileged


def test_read_only_root_filesystem() -> None:
    assert prof({"readOnlyRootFilesystem": True}).read_only_root and not prof().read_only_root


def test_api_problems_are_all_reported() -> None:
    spec = {"securityContext": {"runAsUser": -1, "supplementalGroups": [1, 2**31]},
            "containers": [{"name": "a", "securityContext": {"privileged": True, "allowPrivilegeEscalation": False,
                                                             "runAsGroup": "x"}},
                           {"name": "b", "securityContext": {"allowPrivilegeEscalation": False,
                                                             "capabilities": {"add": ["SYS_ADMIN"]}}}]}
    assert [path for path, _ in problems(spec)] == [
        "spec.securityContext.runAsUser", "spec.securityContext.supplementalGroups[1]",
        "spec.containers[0].securityContext.runAsGroup", "spec.containers[0].securityContext",
        "spec.containers[1].securityContext"]
    assert problems({"securityContext": {"fsGroup": -5}}, "spec.template.spec") == [
        ("spec.template.spec.securityContext.fsGroup", "must be between 0 and 2147483647, inclusive")]


def test_host_path_volume_mounts_and_round_trip() -> None:
    p = prof(volumeMounts=[{"name": "v", "mountPath": "/data", "readOnly": True}, {"name": "e", "mountPath": "/e"}])
    assert p.mounts == ()  # the volumes are not in the spec
    container = {"name": "c", "volumeMounts": [{"name": "v", "mountPath": "/data", "readOnly": True},
                                               {"name": "w", "mountPath": "/w"}, {"name": "e", "mountPath": "/e"}]}
    spec = {"containers": [container], "volumes": [
        {"name": "v", "hostPath": {"path": "/srv/v"}}, {"name": "w", "hostPath": {"path": "/srv/w",
                                                                               "type": "DirectoryOrCreate"}},
        {"name": "e", "emptyDir": {}}]}
    p = profile(spec, container, LABEL)
    assert p.mounts == (("/srv/v", "/data", True, False), ("/srv/w", "/w", False, True))
    assert Profile.from_dict(p.to_dict()) == p


def test_host_namespaces_and_hostname() -> None:
    container = {"name": "c"}
    p = profile({"containers": [container]}, container, LABEL, hostname="web-0")
    assert (p.hostname, p.host_pid, p.host_ipc) == ("web-0", False, False)
    long = profile({"containers": [container]}, container, LABEL, hostname="a" * 62 + "-b")
    assert long.hostname == "a" * 62  # 63 characters at most, no trailing dash (kubelet)
    host = profile({"containers": [container], "hostNetwork": True, "hostPID": True, "hostIPC": True},
                   container, LABEL, hostname="web-0")
    assert (host.hostname, host.host_pid, host.host_ipc) == ("", True, True)
    assert Profile.from_dict(host.to_dict()) == host


def test_hosts_file_as_kubelet_writes_it() -> None:
    text = hosts_file("10.244.1.5", "web-0", [{"ip": "192.0.2.9", "hostnames": ["foo.local", "bar.local"]}])
    lines = text.splitlines()
    assert lines[0] == "# Kubernetes-managed hosts file." and "127.0.0.1\tlocalhost" in lines
    assert "10.244.1.5\tweb-0" in lines
    assert lines[-2:] == ["# Entries added by HostAliases.", "192.0.2.9\tfoo.local\tbar.local"]
    container = {"name": "c"}
    assert "10.244.1.5\tweb-0" in profile({"containers": [container]}, container, LABEL, hostname="web-0",
                                           pod_ip="10.244.1.5").hosts
    assert profile({"containers": [container], "hostNetwork": True}, container, LABEL, hostname="web-0",
                   pod_ip="10.244.1.5").hosts == ""
