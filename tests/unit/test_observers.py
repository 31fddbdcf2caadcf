"""runtime.observers: who observes, as pid files; a dead observer's file does not keep the logging on."""

from __future__ import annotations

import os
import subprocess

from netlab.runtime import observers


def test_attach_detach_and_stale_files(tmp_path) -> None:
    assert not observers.attached(tmp_path)
    mine = observers.attach(tmp_path)
    assert mine.name == str(os.getpid()) and observers.attached(tmp_path)
    observers.detach(mine)
    assert not observers.attached(tmp_path)
    dead = subprocess.Popen(["true"])
    dead.wait()
    stale = observers.attach(tmp_path, dead.pid)
    (tmp_path / observers.DIR / "junk").write_text("")
    assert not observers.attached(tmp_path)
    assert not stale.exists() and not (tmp_path / observers.DIR / "junk").exists()
