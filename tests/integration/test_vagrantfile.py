"""The Vagrantfile is valid for the installed vagrant (CI installs Debian's package to run this)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def test_vagrantfile_validates(tmp_path: Path) -> None:
    if not shutil.which("vagrant"):
        pytest.skip("vagrant is not installed (apt-get install vagrant)")
    env = {**os.environ, "VAGRANT_DOTFILE_PATH": str(tmp_path / ".vagrant")}  # leave no .vagrant/ in the repo
    proc = subprocess.run(["vagrant", "validate"], cwd=REPO, capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_vagrantfile_uses_the_provision_script() -> None:
    text = (REPO / "Vagrantfile").read_text()
    assert 'config.vm.box = ENV.fetch("NETLAB_VAGRANT_BOX", "debian/bookworm64")' in text
    assert 'provider "libvirt"' in text and 'type: "rsync"' in text
    assert "scripts/provision.sh" in text and "sudo netlab up /vagrant/manifests" in text
