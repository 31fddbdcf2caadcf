"""Merging netlab's context into a kubeconfig and taking it out again, keeping everything else."""

from __future__ import annotations

import os
import pwd
import stat
from pathlib import Path

import pytest
import yaml

from netlab.api import pki as pkimod
from netlab.runtime import kubeconfig

OTHER = {
    "apiVersion": "v1", "kind": "Config",
    "clusters": [{"name": "kind-dev", "cluster": {"server": "https://127.0.0.1:40000"}}],
    "users": [{"name": "kind-dev", "user": {"token": "t"}}],
    "contexts": [{"name": "kind-dev", "context": {"cluster": "kind-dev", "user": "kind-dev"}}],
    "current-context": "kind-dev",
    "preferences": {"colors": True},
}


def _entry(cluster: str = "c1", server: str = "https://127.0.0.1:6443") -> dict:
    return kubeconfig.entry(cluster, server, b"CA", b"CERT", b"KEY")


def test_merge_adds_ours_makes_it_current_and_keeps_the_rest() -> None:
    doc = kubeconfig.merged(OTHER, _entry())
    assert doc["current-context"] == "netlab-c1"
    assert [c["name"] for c in doc["contexts"]] == ["kind-dev", "netlab-c1"]
    assert doc["preferences"] == {"colors": True}
    ours = next(c for c in doc["clusters"] if c["name"] == "netlab-c1")["cluster"]
    assert ours == {"server": "https://127.0.0.1:6443", "certificate-authority-data": "Q0E="}
    user = next(u for u in doc["users"] if u["name"] == "netlab-c1")["user"]
    assert user == {"client-certificate-data": "Q0VSVA==", "client-key-data": "S0VZ"}


def test_merging_again_replaces_instead_of_duplicating() -> None:
    doc = kubeconfig.merged(kubeconfig.merged(OTHER, _entry()), _entry(server="https://127.0.0.1:6444"))
    assert [c["name"] for c in doc["clusters"]].count("netlab-c1") == 1
    assert next(c for c in doc["clusters"] if c["name"] == "netlab-c1")["cluster"]["server"].endswith(":6444")


def test_removal_restores_the_others_and_clears_current_context() -> None:
    doc = kubeconfig.without(kubeconfig.merged(OTHER, _entry()), "c1")
    assert doc["clusters"] == OTHER["clusters"] and doc["users"] == OTHER["users"]
    assert doc["contexts"] == OTHER["contexts"] and doc["current-context"] == ""
    kept = kubeconfig.without({**kubeconfig.merged(OTHER, _entry()), "current-context": "kind-dev"}, "c1")
    assert kept["current-context"] == "kind-dev"


def test_target_is_the_first_kubeconfig_path_else_home(tmp_path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    t = kubeconfig.target({"KUBECONFIG": f"{first}{os.pathsep}{second}", "HOME": "/nowhere"})
    assert t.path == first
    assert kubeconfig.target({"HOME": str(tmp_path)}).path == tmp_path / ".kube" / "config"


def test_install_and_uninstall_a_file_atomically_0600(tmp_path) -> None:
    pki = pkimod.ensure(tmp_path / "pki", ["127.0.0.1"])
    path = tmp_path / "kube" / "config"
    path.parent.mkdir()
    path.write_text(yaml.safe_dump(OTHER))
    env = {"KUBECONFIG": str(path)}
    kubeconfig.install("c1", "https://127.0.0.1:6443", pki, env)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    doc = yaml.safe_load(path.read_text())
    assert doc["current-context"] == "netlab-c1" and len(doc["contexts"]) == 2
    assert kubeconfig.uninstall("c1", env) == path
    assert yaml.safe_load(path.read_text())["contexts"] == OTHER["contexts"]
    assert kubeconfig.uninstall("c1", env) is None     # nothing of ours left: the file is not rewritten
    assert [p.name for p in path.parent.iterdir()] == ["config"]   # no temporary file left behind


@pytest.mark.skipif(os.geteuid() != 0, reason="sudo's SUDO_USER only counts for root")
def test_under_sudo_the_file_is_the_invoking_users(tmp_path) -> None:
    nobody = pwd.getpwnam("nobody")
    t = kubeconfig.target({"SUDO_USER": "nobody", "HOME": "/root"})
    assert t.path == Path(nobody.pw_dir) / ".kube" / "config" and (t.uid, t.gid) == (nobody.pw_uid, nobody.pw_gid)
    mine = kubeconfig.Target(tmp_path / "new" / "config", nobody.pw_uid, nobody.pw_gid)
    kubeconfig.write(mine, kubeconfig.merged({}, _entry()))
    for path in (mine.path, mine.path.parent):
        assert (path.stat().st_uid, path.stat().st_gid) == (nobody.pw_uid, nobody.pw_gid)
    assert stat.S_IMODE(mine.path.stat().st_mode) == 0o600
