"""Named points of a commit, logged; a test hook can hold the controller at one of them.

The crash-recovery tests kill the controller with SIGKILL at a chosen point of an apply. When the
environment names a pause file (NETLAB_PAUSE_FILE) and that file holds a phase name, the controller
logs "paused at phase <name>" on reaching that phase and waits (at most MAX_PAUSE seconds) while the
file still holds that name. Without the variable this is a log line and nothing else.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

log = logging.getLogger("netlab.phases")

NAMESPACES = "namespaces"  # journal written, pod namespaces not yet created
VETHS = "veths"  # pod namespaces and veths made, no container started
CONTAINERS = "containers"  # the launcher has forked the containers; the supervisor has not heard back
RULES = "rules"  # nftables loaded, the state file not yet written
ALL = (NAMESPACES, VETHS, CONTAINERS, RULES)
MAX_PAUSE = 60.0
ENV = "NETLAB_PAUSE_FILE"


def _wanted() -> str | None:
    path = os.environ.get(ENV)
    if not path:
        return None
    try:
        return Path(path).read_text().strip() or None
    except OSError:
        return None


def reached(phase: str) -> None:
    """Log the phase; hold here while the pause file asks for it (a test kills the process meanwhile)."""
    log.debug("phase %s", phase)
    if _wanted() != phase:
        return
    log.info("paused at phase %s", phase)
    deadline = time.monotonic() + MAX_PAUSE
    while _wanted() == phase and time.monotonic() < deadline:
        time.sleep(0.05)
