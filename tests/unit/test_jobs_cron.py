"""CronJob schedule parsing and the next/latest scheduled times."""

from datetime import UTC, datetime

import pytest

from netlab.compile import cronjobs


def ts(*args) -> float:
    return datetime(*args, tzinfo=UTC).timestamp()


def test_every_minute_is_the_next_minute():
    s = cronjobs.parse("* * * * *")
    assert s.next_after(ts(2026, 1, 1, 10, 0, 30)) == ts(2026, 1, 1, 10, 1)
    assert s.next_after(ts(2026, 1, 1, 10, 1)) == ts(2026, 1, 1, 10, 2)


def test_steps_ranges_lists_and_names():
    s = cronjobs.parse("*/15 9-17 * jan,MAR mon-fri")
    assert s.minutes == {0, 15, 30, 45}
    assert s.hours == set(range(9, 18))
    assert s.months == {1, 3}
    assert s.weekdays == {1, 2, 3, 4, 5}
    # Friday 2026-01-02 17:50 -> Monday 2026-01-05 09:00
    assert s.next_after(ts(2026, 1, 2, 17, 50)) == ts(2026, 1, 5, 9, 0)
    assert cronjobs.parse("5/20 * * * *").minutes == {5, 25, 45}


def test_macros():
    assert cronjobs.parse("@hourly").next_after(ts(2026, 1, 1, 10, 0)) == ts(2026, 1, 1, 11, 0)
    assert cronjobs.parse("@daily").next_after(ts(2026, 1, 1, 10, 0)) == ts(2026, 1, 2, 0, 0)
    assert cronjobs.parse("@yearly").next_after(ts(2026, 3, 1)) == ts(2027, 1, 1)
    assert cronjobs.parse("@weekly").next_after(ts(2026, 1, 1)) == ts(2026, 1, 4)  # a Sunday


def test_day_of_month_or_day_of_week_when_both_restricted():
    s = cronjobs.parse("0 0 13 * 5")  # the 13th, or any Friday
    assert s.next_after(ts(2026, 1, 1)) == ts(2026, 1, 2)  # Friday 2 Jan
    assert s.next_after(ts(2026, 1, 10)) == ts(2026, 1, 13)
    # a starred day of week restricts nothing: only the 13th
    assert cronjobs.parse("0 0 13 * *").next_after(ts(2026, 1, 1)) == ts(2026, 1, 13)


def test_sunday_as_seven_and_impossible_dates():
    assert cronjobs.parse("0 0 * * 7").weekdays == {0}
    assert cronjobs.parse("0 0 30 2 *").next_after(ts(2026, 1, 1)) is None


def test_time_zone():
    s = cronjobs.parse("0 9 * * *", "Europe/Berlin")
    assert s.next_after(ts(2026, 1, 1, 0, 0)) == ts(2026, 1, 1, 8, 0)  # CET is UTC+1
    assert cronjobs.parse("CRON_TZ=Asia/Tokyo 0 9 * * *").next_after(ts(2025, 12, 31, 23)) == ts(2026, 1, 1, 0, 0)


def test_latest_between_finds_the_most_recent_missed_time():
    s = cronjobs.parse("* * * * *")
    assert s.latest_between(ts(2026, 1, 1, 10, 0), ts(2026, 1, 1, 10, 0, 59)) is None
    assert s.latest_between(ts(2026, 1, 1, 10, 0), ts(2026, 1, 1, 10, 3, 5)) == ts(2026, 1, 1, 10, 3)
    # a week of missed minutes: still the latest one, cheaply
    assert s.latest_between(ts(2026, 1, 1), ts(2026, 1, 8, 12, 30, 1)) == ts(2026, 1, 8, 12, 30)
    assert cronjobs.parse("0 0 1 1 *").latest_between(ts(2020, 6, 1), ts(2026, 6, 1)) == ts(2026, 1, 1)


@pytest.mark.parametrize("bad", ["* * * *", "60 * * * *", "* 24 * * *", "* * 0 * *", "* * * 13 *",
                                 "* * * * 8", "*/0 * * * *", "5-2 * * * *", "a * * * *", "@often"])
def test_invalid_schedules_are_refused(bad):
    with pytest.raises(cronjobs.ScheduleError):
        cronjobs.parse(bad)


def test_unknown_time_zone():
    with pytest.raises(cronjobs.ScheduleError, match="time zone"):
        cronjobs.parse("* * * * *", "Mars/Olympus")


def _run(spec: dict, start: float, minutes: int, job_seconds: float) -> list[tuple[float, float, bool]]:
    """A CronJob driven by a 10-second clock: (when created, its scheduled time, replaced an active one)."""
    schedule = cronjobs.parse(spec["schedule"], spec.get("timeZone"))
    since, running, made = start, [], []
    now = start
    while now < start + minutes * 60:
        now += 10
        running = [t for t in running if now < t + job_seconds]
        step = cronjobs.next_step(spec, schedule, since, len(running), now)
        if step.replace:
            running = []
        if step.last is not None:
            since = step.last
        if step.due is not None:
            made.append((now, step.due, step.replace))
            running.append(now)
    return made


def test_every_minute_creates_one_job_per_minute_on_a_clock():
    made = _run({"schedule": "* * * * *"}, ts(2026, 1, 1, 10, 0, 5), 5, job_seconds=20)
    assert [due for _, due, _ in made] == [ts(2026, 1, 1, 10, m) for m in range(1, 6)]
    assert all(0 < created - due <= 10 for created, due, _ in made)
    assert cronjobs.job_name("backup", made[0][1]) == f"backup-{int(ts(2026, 1, 1, 10, 1) // 60)}"


def test_forbid_waits_for_the_running_job_and_replace_replaces_it():
    # jobs run 90 s: Allow overlaps, Forbid starts late (skipping), Replace replaces
    allow = _run({"schedule": "* * * * *"}, ts(2026, 1, 1), 4, job_seconds=90)
    assert len(allow) == 4
    forbid = _run({"schedule": "* * * * *", "concurrencyPolicy": "Forbid"}, ts(2026, 1, 1), 4, job_seconds=90)
    assert [due - ts(2026, 1, 1) for _, due, _ in forbid] == [60, 120, 240]  # 180 was missed while one ran
    assert all(b[0] - a[0] >= 90 for a, b in zip(forbid, forbid[1:], strict=False))  # never two at once
    replace = _run({"schedule": "* * * * *", "concurrencyPolicy": "Replace"}, ts(2026, 1, 1), 4, job_seconds=90)
    assert len(replace) == 4 and [r for _, _, r in replace] == [False, True, True, True]


def test_suspend_and_starting_deadline():
    assert _run({"schedule": "* * * * *", "suspend": True}, ts(2026, 1, 1), 3, job_seconds=5) == []
    schedule = cronjobs.parse("0 * * * *")
    # an hourly run missed by 10 minutes: skipped with a 5-minute deadline, started without one
    late = ts(2026, 1, 1, 10, 10)
    assert cronjobs.next_step({"startingDeadlineSeconds": 300}, schedule, ts(2026, 1, 1, 9, 30), 0, late) == \
        cronjobs.CronStep(last=ts(2026, 1, 1, 10))
    assert cronjobs.next_step({}, schedule, ts(2026, 1, 1, 9, 30), 0, late).due == ts(2026, 1, 1, 10)


def test_history_limits_delete_the_oldest_finished_jobs():
    finished = [("Complete", 1.0, "a"), ("Complete", 3.0, "c"), ("Complete", 2.0, "b"), ("Complete", 4.0, "d"),
                ("Failed", 1.5, "x"), ("Failed", 2.5, "y")]
    assert cronjobs.beyond_history({}, finished) == ["a", "x"]
    assert cronjobs.beyond_history({"successfulJobsHistoryLimit": 0, "failedJobsHistoryLimit": 2}, finished) == \
        ["a", "b", "c", "d"]
