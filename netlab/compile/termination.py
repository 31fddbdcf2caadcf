"""Graceful termination of a deleted pod, as the kubelet does it. Pure: the plan; runtime/termination.py acts.

A deleted pod is Terminating: `preStop` hooks run, then each container gets SIGTERM (as soon as its hook is
done), then SIGKILL once terminationGracePeriodSeconds have passed since the deletion began (a hook that used
the whole period still leaves its container MIN_KILL_GRACE seconds after SIGTERM, as the kubelet's
minimumGracePeriodInSeconds). The pod object goes once no container runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from netlab.compile.workloads import PlacedPod

DEFAULT_GRACE = 30  # terminationGracePeriodSeconds when the pod spec does not say
MIN_KILL_GRACE = 2  # seconds from SIGTERM to SIGKILL at least (kubelet's minimumGracePeriodInSeconds)
HOOK_ACTIONS = ("exec", "httpGet", "sleep", "tcpSocket")


@dataclass
class Termination:
    """One pod being deleted. Times are wall clock, so that a restarted controller carries on."""

    pod: PlacedPod
    since: float  # when the deletion began
    grace: int  # seconds from `since` to SIGKILL
    hooks_started: set[str] = field(default_factory=set)  # containers whose preStop hook was started
    hooks_done: set[str] = field(default_factory=set)  # containers whose preStop hook finished (or was given up)
    sigterm: dict[str, float] = field(default_factory=dict)  # container -> when it got SIGTERM
    killed: set[str] = field(default_factory=set)  # containers that got SIGKILL

    @property
    def deadline(self) -> float:
        return self.since + self.grace

    def to_dict(self) -> dict:
        return {"pod": self.pod.to_dict(), "since": self.since, "grace": self.grace,
                "hooksStarted": sorted(self.hooks_started),
                "hooksDone": sorted(self.hooks_done), "sigterm": self.sigterm, "killed": sorted(self.killed)}

    @staticmethod
    def from_dict(d: dict) -> Termination:
        """A hook that was running when the last controller stopped counts as done (it is not run twice)."""
        started = set(d.get("hooksStarted") or ())
        return Termination(PlacedPod.from_dict(d["pod"]), float(d["since"]), int(d["grace"]), started,
                           started | set(d.get("hooksDone") or ()), dict(d.get("sigterm") or {}),
                           set(d.get("killed") or ()))


def grace_period(spec: dict, requested: int | None = None) -> int:
    """The grace period of a deletion: DeleteOptions' gracePeriodSeconds when given, else the pod's
    terminationGracePeriodSeconds, else 30. Negative values count as 0 (kubectl's --force)."""
    if requested is None:
        requested = spec.get("terminationGracePeriodSeconds")
    if requested is None:
        return DEFAULT_GRACE
    return max(0, int(requested))


def pre_stop_hooks(spec: dict) -> dict[str, dict]:
    """Container name -> its preStop handler (one of HOOK_ACTIONS), for containers that have one."""
    out = {}
    for c in spec.get("containers") or []:
        hook = ((c.get("lifecycle") or {}).get("preStop")) or {}
        if any(action in hook for action in HOOK_ACTIONS):
            out[c["name"]] = hook
    return out


@dataclass(frozen=True)
class Step:
    run_hooks: tuple[str, ...] = ()  # containers whose preStop hook is to start now
    sigterm: tuple[str, ...] = ()  # containers to send SIGTERM now
    sigkill: tuple[str, ...] = ()  # containers to send SIGKILL now


def step(t: Termination, running: set[str], now: float) -> Step:
    """What to do for a terminating pod now. `running`: its containers still running."""
    hooks = pre_stop_hooks(t.pod.spec)
    past_deadline = now >= t.deadline
    start = tuple(sorted(c for c in hooks if c in running and c not in t.hooks_started
                         and not past_deadline))
    term = tuple(sorted(c for c in running if c not in t.sigterm
                        and (c not in hooks or c in t.hooks_done or past_deadline)))
    kill = tuple(sorted(c for c in running if c in t.sigterm and c not in t.killed
                        and now >= max(t.deadline, t.sigterm[c] + MIN_KILL_GRACE)))
    return Step(start, term, kill)
