"""Every teaching lab: `netlab lab start NN` brings its manifests up, `netlab lab check NN` passes all its checks.

The checks move real packets and read the real nftables rules, so a broken kernel rule fails them.
"""

from __future__ import annotations

import re

import pytest
from conftest import Lab

from netlab.labs import list_labs, load_checks

LABS = list_labs()


def test_labs_are_found() -> None:
    assert [lab.number for lab in LABS] == list(range(1, len(LABS) + 1)) and len(LABS) >= 6
    for found in LABS:
        assert found.readme.exists() and found.manifests.is_dir() and found.check_file.exists(), found.path
        assert load_checks(found), f"{found.check_file} defines no checks"


@pytest.mark.parametrize("number", [f"{found.number:02d}" for found in LABS],
                         ids=[found.name for found in LABS])
def test_lab(lab: Lab, number: str) -> None:
    started = lab.netlab("lab", "start", number, timeout=180)
    assert "is up" in started.stdout, started.stdout + started.stderr
    result = lab.netlab("lab", "check", number, timeout=600, check=False)
    out = result.stdout + result.stderr
    assert result.returncode == 0, out
    assert "FAIL" not in out and re.search(r"^PASS ", out, re.M), out
    total = len(load_checks(next(found for found in LABS if f"{found.number:02d}" == number)))
    assert f"{total}/{total} checks passed" in out, out
