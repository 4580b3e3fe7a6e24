"""Rules that need no database: modes, typed capacities, recurrence dates."""

from __future__ import annotations

from datetime import date, time, timedelta

import pytest

from models.activities import (
    ActivityKind,
    ActivityMode,
    ActivitySeries,
    RecurrenceRule,
    mode_of,
    occurrence_dates,
    parse_capacity,
)
from models.errors import InvalidInput


def test_mode_follows_the_kind() -> None:
    assert mode_of("theme_day") is ActivityMode.expected
    assert mode_of(ActivityKind.lecture) is ActivityMode.expected
    assert mode_of("tree_planting") is ActivityMode.signup
    assert mode_of(ActivityKind.other) is ActivityMode.signup


def test_parse_capacity() -> None:
    assert parse_capacity(" 30 ") == 30
    assert parse_capacity("") is None
    assert parse_capacity("００１２") == 12  # full-width, with zeros
    for text in ("0", "-1", "abc", "1.5", "10001", "9" * 5000, "1" * 4301, "0" * 13 + "1"):
        with pytest.raises(InvalidInput) as caught:
            parse_capacity(text)
        assert caught.value.code == "capacity.invalid"


def _series(rule: RecurrenceRule, rule_day: int | None = None, tz: str = "Asia/Shanghai"):

    return ActivitySeries(rule=rule, rule_day=rule_day, local_time=time(15), timezone=tz)


def test_last_friday_of_each_month_in_2026() -> None:
    days = occurrence_dates(
        _series(RecurrenceRule.last_friday_monthly), date(2026, 1, 1), date(2026, 12, 31)
    )
    assert [d.day for d in days] == [30, 27, 27, 24, 29, 26, 31, 28, 25, 30, 27, 25]
    assert all(d.weekday() == 4 and (d + timedelta(days=7)).month != d.month for d in days)


def test_monthly_day_clamps_to_short_months_and_weekly() -> None:
    monthly = occurrence_dates(
        _series(RecurrenceRule.monthly_day, 31), date(2026, 1, 1), date(2026, 4, 30)
    )
    assert monthly == [date(2026, 1, 31), date(2026, 2, 28), date(2026, 3, 31), date(2026, 4, 30)]
    weekly = occurrence_dates(
        _series(RecurrenceRule.weekly, 2), date(2026, 3, 10), date(2026, 3, 31)
    )
    assert weekly == [date(2026, 3, 11), date(2026, 3, 18), date(2026, 3, 25)]
