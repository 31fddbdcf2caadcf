"""Golden files: each manifest set's compiled outputs (topology, nft ruleset per node, DNS zone, nginx.conf).

A change to what netlab compiles shows as a diff here. When the change is meant, rewrite the files with
`NETLAB_UPDATE_GOLDEN=1 python -m pytest tests/golden` and review the diff before committing it.
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path

import pytest
from render import compile_set, render_files

HERE = Path(__file__).parent
REPO = HERE.parent.parent
SETS = {
    "bundled": sorted((REPO / "manifests").glob("*.yaml")),  # what `netlab up manifests/` starts
    "netpol": [HERE / "inputs" / "netpol.yaml"],
    "vxlan": [HERE / "inputs" / "vxlan.yaml"],
    "ingress": [HERE / "inputs" / "ingress.yaml"],
}
UPDATE = os.environ.get("NETLAB_UPDATE_GOLDEN") == "1"


@pytest.mark.parametrize("name", sorted(SETS))
def test_golden(name: str) -> None:
    files = render_files(compile_set(SETS[name]))
    directory = HERE / name
    if UPDATE:
        directory.mkdir(exist_ok=True)
        for stale in set(p.name for p in directory.iterdir()) - set(files):
            (directory / stale).unlink()
        for fname, text in files.items():
            (directory / fname).write_text(text)
    on_disk = {p.name for p in directory.iterdir()} if directory.is_dir() else set()
    assert on_disk == set(files), f"golden files of {name!r} differ in names (NETLAB_UPDATE_GOLDEN=1 rewrites them)"
    for fname, text in files.items():
        expected = (directory / fname).read_text()
        diff = "".join(difflib.unified_diff(expected.splitlines(True), text.splitlines(True),
                                            f"{name}/{fname} (golden)", f"{name}/{fname} (compiled)"))
        assert not diff, f"compiled output changed (NETLAB_UPDATE_GOLDEN=1 rewrites the files):\n{diff}"


def test_compile_is_deterministic() -> None:
    assert render_files(compile_set(SETS["bundled"])) == render_files(compile_set(SETS["bundled"]))
