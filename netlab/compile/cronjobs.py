"""CronJob schedules: the standard 5-field cron syntax and its @macros, as the CronJob controller reads them
(minute hour day-of-month month day-of-week; names like jan or mon; `*`, `?`, lists, ranges and steps).
Pure: times are UTC epoch seconds unless a time zone is given.

As in cron (and the Go library the controller uses), when both day-of-month and day-of-week are restricted
a day matches if EITHER does; a field that starts with `*` does not restrict.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

MACROS = {
    "@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *", "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *",
}
_MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
_DAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]
# (name, low, high, names mapped to numbers)
_FIELDS = (("minute", 0, 59, {}), ("hour", 0, 23, {}), ("day of month", 1, 31, {}),
           ("month", 1, 12, {m: i + 1 for i, m in enumerate(_MONTHS)}),
           ("day of week", 0, 7, {d: i for i, d in enumerate(_DAYS)}))
MAX_STEPS = 10_000  # next_after gives up after this many candidate days (an impossible date like Feb 30)


class ScheduleError(ValueError):
    pass


@dataclass(frozen=True)
class Schedule:
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]  # 0 = Sunday
    any_day: bool  # day of month starts with '*' or '?'
    any_weekday: bool
    zone: tzinfo = UTC

    def day_matches(self, d: datetime) -> bool:
        dom = d.day in self.days
        dow = (d.isoweekday() % 7) in self.weekdays
        if self.any_day or self.any_weekday:
            return dom and dow
        return dom or dow

    def next_after(self, t: float) -> float | None:
        """The first scheduled time strictly after `t` (epoch seconds), or None if there is none."""
        d = datetime.fromtimestamp(t, self.zone).replace(second=0, microsecond=0) + timedelta(minutes=1)
        for _ in range(MAX_STEPS):
            if d.month not in self.months or not self.day_matches(d):
                d = (d + timedelta(days=1)).replace(hour=0, minute=0)
                continue
            hour = min((h for h in self.hours if h >= d.hour), default=None)
            if hour is None:
                d = (d + timedelta(days=1)).replace(hour=0, minute=0)
                continue
            if hour != d.hour:
                d = d.replace(hour=hour, minute=0)
            minute = min((m for m in self.minutes if m >= d.minute), default=None)
            if minute is None:
                d = d.replace(minute=0) + timedelta(hours=1)
                continue
            return d.replace(minute=minute).timestamp()
        return None

    def latest_between(self, after: float, until: float) -> float | None:
        """The last scheduled time in (after, until], or None: searched in growing windows back from `until`,
        so a long outage with a dense schedule stays cheap (the controller only starts the latest one)."""
        for span in (3600, 86400, 32 * 86400, 400 * 86400, 5 * 366 * 86400):
            start = max(after, until - span)
            last, t = None, start
            for _ in range(2000):
                nxt = self.next_after(t)
                if nxt is None or nxt > until:
                    break
                last = t = nxt
            if last is not None or start == after:
                return last
        return None


def parse(schedule: str, time_zone: str | None = None) -> Schedule:
    """The schedule, or ScheduleError saying what is wrong. `TZ=`/`CRON_TZ=` prefixes and `time_zone`
    (an IANA name, as spec.timeZone) set the zone its fields are read in."""
    text = schedule.strip()
    zone_name = time_zone
    if text.startswith(("TZ=", "CRON_TZ=")):
        prefix, _, text = text.partition(" ")
        zone_name = prefix.split("=", 1)[1]
    try:
        zone: tzinfo = ZoneInfo(zone_name) if zone_name else UTC
    except (KeyError, ValueError) as e:
        raise ScheduleError(f"unknown time zone {zone_name!r}") from e
    text = MACROS.get(text.strip().lower(), text.strip())
    parts = text.split()
    if len(parts) != 5:
        raise ScheduleError(f"expected exactly 5 fields, found {len(parts)}: {schedule!r}")
    sets = [_field(p, *spec) for p, spec in zip(parts, _FIELDS, strict=True)]
    weekdays = frozenset(d % 7 for d in sets[4])
    return Schedule(*sets[:4], weekdays, parts[2][0] in "*?", parts[4][0] in "*?", zone)


def _field(text: str, name: str, low: int, high: int, names: dict[str, int]) -> frozenset[int]:
    out: set[int] = set()
    for item in text.split(","):
        rng, _, step_text = item.partition("/")
        step = _number(step_text, name, {}) if step_text else 1
        if step < 1:
            raise ScheduleError(f"{name}: step must be positive in {item!r}")
        if rng in ("*", "?"):
            first, last = low, high
        elif "-" in rng:
            a, b = rng.split("-", 1)
            first, last = _number(a, name, names), _number(b, name, names)
        else:
            first = _number(rng, name, names)
            last = high if step_text else first
        if not low <= first <= last <= high:
            raise ScheduleError(f"{name}: {item!r} is outside {low}-{high} or its range is reversed")
        out.update(range(first, last + 1, step))
    return frozenset(out)


def _number(text: str, name: str, names: dict[str, int]) -> int:
    if text.lower() in names:
        return names[text.lower()]
    if not text.isdigit():
        raise ScheduleError(f"{name}: {text!r} is not a number")
    return int(text)


@dataclass(frozen=True)
class CronStep:
    due: float | None = None  # create the Job for this schedule time
    replace: bool = False  # delete the active Jobs first (concurrencyPolicy Replace)
    last: float | None = None  # the new last schedule time (None: unchanged)


def next_step(spec: dict, schedule: Schedule, since: float, active: int, now: float) -> CronStep:
    """What a CronJob does at `now`: `since` is its last schedule time (or its creation), `active` how many of
    its Jobs run. Only the latest missed time is started, as upstream; one older than
    startingDeadlineSeconds is skipped; Forbid waits (and starts it late, within the deadline)."""
    due = schedule.latest_between(since, now)
    if spec.get("suspend") or due is None:
        return CronStep()
    deadline = spec.get("startingDeadlineSeconds")
    if deadline is not None and now - due > deadline:
        return CronStep(last=due)
    policy = spec.get("concurrencyPolicy") or "Allow"
    if active and policy == "Forbid":
        return CronStep()
    return CronStep(due=due, replace=bool(active) and policy == "Replace", last=due)


def job_name(cronjob: str, due: float) -> str:
    """The CronJob controller's name for a scheduled Job: <cronjob>-<scheduled time in minutes since 1970>."""
    return f"{cronjob}-{int(due // 60)}"


def beyond_history(spec: dict, finished: list[tuple[str, float, str]]) -> list[str]:
    """Names of finished Jobs ((Complete|Failed, end time, name)) beyond the history limits, oldest first."""
    out = []
    for kind, limit in (("Complete", spec.get("successfulJobsHistoryLimit", 3)),
                        ("Failed", spec.get("failedJobsHistoryLimit", 1))):
        done = sorted((end, name) for k, end, name in finished if k == kind)
        out += [name for _, name in done[:max(len(done) - limit, 0)]]
    return out
