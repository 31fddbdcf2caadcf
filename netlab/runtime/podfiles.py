"""Files the controller writes from Desired: each pod's resolv.conf and the DNS server's view."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from netlab.compile import names
from netlab.runtime.files import write_atomic


def write_resolv(netns: str, text: str) -> None:
    directory = Path(names.netns_etc_dir(netns))
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "resolv.conf"
    if not path.exists() or path.read_text() != text:
        path.write_text(text)
        os.chmod(path, 0o644)  # read by containers of any user (the controller's umask is 077)


def write_dns_view(path: Path, view: Mapping[str, Any]) -> None:
    """Replace the view atomically (the DNS server reloads it on change); unchanged: not touched."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, json.dumps(view, indent=1, sort_keys=True), skip_unchanged=True)
