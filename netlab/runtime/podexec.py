"""`netlab exec`: run a command inside a running container, as `kubectl exec` does.

The command joins the container's network, PID and mount namespaces (so it sees what the container sees,
not the host) with the container's user, groups, capabilities, no_new_privs and environment, all read
from the container's pidfile, which the supervisor writes.

Run as ``python -m netlab.runtime.podexec --cluster C --namespace N --pod P --container X -- CMD...``
when the caller cannot exec itself (it must be single-threaded to join a mount namespace).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from netlab import names
from netlab.cluster.security import Profile
from netlab.runtime import sandbox
from netlab.runtime.containers import pod_dir
from netlab.runtime.launcher import proc_start_time


class ExecError(RuntimeError):
    pass


def pidfile(cluster: str, namespace: str, pod: str, container: str) -> Path:
    """Where the supervisor keeps the container's pid."""
    return pod_dir(Path(names.run_dir(cluster)) / "pods", f"{namespace}/{pod}") / f"{container}.pid"


def target(cluster: str, namespace: str, pod: str, container: str) -> tuple[int, Profile | None, dict[str, str]]:
    """(pid, profile, environment) of the running container; ExecError when it is not running."""
    try:
        data = json.loads(pidfile(cluster, namespace, pod, container).read_text())
    except (OSError, ValueError) as e:
        raise ExecError(f'container "{container}" in pod "{pod}" is not running') from e
    pid = data.get("pid")
    if not isinstance(pid, int) or proc_start_time(pid) != data.get("start_time"):
        raise ExecError(f'container "{container}" in pod "{pod}" is not running')
    security = data.get("security")
    return pid, Profile.from_dict(security) if security is not None else None, dict(data.get("env") or {})


def exec_in(cluster: str, namespace: str, pod: str, container: str, argv: list[str],
            extra_env: dict[str, str] | None = None) -> int:
    """Run argv inside the container; its exit status. This process must be single-threaded."""
    pid, profile, env = target(cluster, namespace, pod, container)
    env.update(extra_env or {})
    if profile is None:  # started unconfined (by an older netlab): its network namespace only
        os.execvpe("nsenter", ["nsenter", f"--target={pid}", "--net", "--", *argv], env)
    return sandbox.run_in(pid, profile, argv, env)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="netlab.runtime.podexec")
    for opt in ("--cluster", "--namespace", "--pod", "--container"):
        parser.add_argument(opt, required=True)
    parser.add_argument("command", nargs="+")
    args = parser.parse_args(argv)
    extra = {"TERM": os.environ["TERM"]} if "TERM" in os.environ else {}
    try:
        return exec_in(args.cluster, args.namespace, args.pod, args.container, args.command, extra)
    except (ExecError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
