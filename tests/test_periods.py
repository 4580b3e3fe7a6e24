"""Periods of /stats and /export: the presets around a day, the checks, typed periods."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

import pytest

from models.errors import InvalidInput
from models.stats.period import PERIOD_MAX_DAYS, Period, Preset, check_period, preset
from views.dates import parse_period

TODAY = date(2026, 12, 2)


@pytest.mark.parametrize(
    ("kind", "first", "last"),
    [
        (Preset.month, date(2026, 12, 1), date(2026, 12, 31)),
        (Preset.quarter, date(2026, 10, 1), date(2026, 12, 31)),
        (Preset.year, date(2026, 1, 1), date(2026, 12, 31)),
        (Preset.last_month, date(2026, 11, 1), date(2026, 11, 30)),
        (Preset.last_quarter, date(2026, 7, 1), date(2026, 9, 30)),
        (Preset.last_year, date(2025, 1, 1), date(2025, 12, 31)),
    ],
)
def test_presets_around_a_day(kind: Preset, first: date, last: date) -> None:
    assert preset(kind, TODAY) == Period(first, last)


def test_presets_across_a_year_and_in_february() -> None:
    assert preset(Preset.last_month, date(2026, 1, 15)) == Period(
        date(2025, 12, 1), date(2025, 12, 31)
    )
    assert preset(Preset.last_quarter, date(2026, 2, 1)) == Period(
        date(2025, 10, 1), date(2025, 12, 31)
    )
    assert preset(Preset.month, date(2028, 2, 10)).last == date(2028, 2, 29)


def test_months_and_quarters_a_period_touches() -> None:
    period = Period(date(2026, 3, 5), date(2026, 4, 20))
    assert period.months() == [date(2026, 3, 1), date(2026, 4, 1)]
    assert period.quarters() == [date(2026, 1, 1), date(2026, 4, 1)]
    assert Period(date(2026, 1, 1), date(2026, 12, 31)).quarters() == [
        date(2026, 1, 1),
        date(2026, 4, 1),
        date(2026, 7, 1),
        date(2026, 10, 1),
    ]


def test_the_moments_of_a_period_are_local_midnights() -> None:
    zone = ZoneInfo("Asia/Shanghai")
    period = Period(date(2026, 10, 1), date(2026, 10, 31))
    assert period.starts_at(zone).isoformat() == "2026-09-30T16:00:00+00:00"
    assert period.ends_at(zone).isoformat() == "2026-10-31T16:00:00+00:00"


def test_a_period_travels_in_a_button_and_back() -> None:
    period = Period(date(2026, 1, 1), date(2026, 6, 30))
    assert period.key() == 2026010120260630
    assert Period.of_key(period.key()) == period
    for forged in [2026023020260301, 1, 9999999920260101, 2026010199999999]:
        with pytest.raises(InvalidInput) as refused:
            Period.of_key(forged)
        assert refused.value.reason == "period.invalid"


@pytest.mark.parametrize(
    ("first", "last", "reason"),
    [
        (date(2026, 6, 30), date(2026, 1, 1), "period.reversed"),
        (date(2027, 1, 1), date(2027, 3, 31), "period.not_begun"),
        (date(2016, 1, 1), date(2026, 12, 31), "period.too_long"),
    ],
)
def test_periods_a_report_cannot_cover(first: date, last: date, reason: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        check_period(first, last, TODAY)
    assert refused.value.reason == reason


def test_the_longest_period_is_a_five_year_term() -> None:
    first = date(2022, 1, 1)
    longest = date.fromordinal(first.toordinal() + PERIOD_MAX_DAYS - 1)
    assert check_period(first, longest, TODAY).days == PERIOD_MAX_DAYS
    with pytest.raises(InvalidInput):
        check_period(first, date.fromordinal(longest.toordinal() + 1), TODAY)
    # A period running into the future is this month, quarter or year: allowed.
    assert check_period(date(2026, 12, 1), date(2026, 12, 31), TODAY).days == 31


@pytest.mark.parametrize(
    ("typed", "first", "last"),
    [
        ("2026-01-01 2026-06-30", date(2026, 1, 1), date(2026, 6, 30)),
        ("2026-01-01 至 2026-06-30", date(2026, 1, 1), date(2026, 6, 30)),
        ("2026/1/1-2026/3/31", date(2026, 1, 1), date(2026, 3, 31)),
        ("2026.1.1 - 2026.3.31", date(2026, 1, 1), date(2026, 3, 31)),
        ("2026年1月1日至6月30日", date(2026, 1, 1), date(2026, 6, 30)),
        ("2025年12月1日到2026年1月31日", date(2025, 12, 1), date(2026, 1, 31)),
        ("２０２６－０３－０１　２０２６－０３－１５", date(2026, 3, 1), date(2026, 3, 15)),
        ("2026-05-04", date(2026, 5, 4), date(2026, 5, 4)),
        ("2026-02", date(2026, 2, 1), date(2026, 2, 28)),
        ("2026年3月", date(2026, 3, 1), date(2026, 3, 31)),
        ("2026-03 2026-05", date(2026, 3, 1), date(2026, 5, 31)),
        ("2025", date(2025, 1, 1), date(2025, 12, 31)),
        ("2025年", date(2025, 1, 1), date(2025, 12, 31)),
    ],
)
def test_typed_periods(typed: str, first: date, last: date) -> None:
    assert parse_period(typed) == (first, last)


@pytest.mark.parametrize(
    ("typed", "reason"),
    [
        ("last spring", "period.unreadable"),
        ("", "period.unreadable"),
        ("3月1日至5月1日", "period.unreadable"),  # no year anywhere
        ("2026-01-01 2026-02-01 2026-03-01", "period.unreadable"),
        ("2026-02-30 2026-03-31", "period.impossible"),
        ("2026-13", "period.impossible"),
    ],
)
def test_typed_periods_not_understood(typed: str, reason: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        parse_period(typed)
    assert refused.value.reason == reason
