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
