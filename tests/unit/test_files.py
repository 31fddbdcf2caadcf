"""netlab.runtime.files.write_atomic: the one atomic file write every writer uses."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from netlab.runtime.files import write_atomic


def test_writes_text_and_bytes_with_the_mode_whatever_the_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        assert write_atomic(tmp_path / "a", "text\n")
        assert write_atomic(tmp_path / "b", b"\x00bytes", 0o644, durable=True)
    finally:
        os.umask(old)
    assert (tmp_path / "a").read_text() == "text\n"
    assert (tmp_path / "a").stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "b").read_bytes() == b"\x00bytes"
    assert (tmp_path / "b").stat().st_mode & 0o777 == 0o644
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "b"]  # no temporary file left


def test_skip_unchanged_leaves_an_identical_file_alone(tmp_path: Path) -> None:
    path = tmp_path / "conf"
    assert write_atomic(path, "x", skip_unchanged=True)
    inode = path.stat().st_ino
    assert not write_atomic(path, "x", skip_unchanged=True)
    assert path.stat().st_ino == inode
    assert write_atomic(path, "x", 0o644, skip_unchanged=True)  # a different mode is a change
    assert write_atomic(path, "y", 0o644, skip_unchanged=True)
    assert path.read_text() == "y"


def test_replaces_by_rename_and_never_makes_a_missing_directory(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_text("old")
    reader = open(path)  # a reader holding the old file keeps reading the old content
    write_atomic(path, "new")
    assert reader.read() == "old"
    reader.close()
    assert path.read_text() == "new"
    with pytest.raises(FileNotFoundError):
        write_atomic(tmp_path / "gone" / "exit", "0\n")
    assert not (tmp_path / "gone").exists()
