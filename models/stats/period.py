"""The period a figure covers: whole local days, from `first` to `last` inclusive.

Secretaries report by month, quarter and year; `preset` gives those around today, and
`check_period` refuses what cannot be a period of the record (reversed, not begun yet,
or longer than a branch committee's five-year term). Buttons carry a period as two
number (`key`, `Period.of_key`: 2026010120261231), so a press is checked again like
typed dates.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from models.errors import InvalidInput

# 支部委员会每届任期三年或五年: a whole term is the longest period worth one report.
PERIOD_MAX_DAYS = 5 * 366
KEY_SPLIT = 10**8  # above any yyyymmdd: a button's one number holds both days


class Preset(enum.StrEnum):
    month = "month"
    quarter = "quarter"
    year = "year"
    last_month = "last_month"
    last_quarter = "last_quarter"
    last_year = "last_year"


@dataclass(frozen=True)
class Period:
    first: date  # the first day, inclusive
    last: date  # the last day, inclusive

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    def starts_at(self, zone: ZoneInfo) -> datetime:
        """The first moment of the period, in UTC (midnight of `first` in the unit's zone)."""
        return datetime.combine(self.first, time(), zone).astimezone(UTC)

    def ends_at(self, zone: ZoneInfo) -> datetime:
        """The moment after the period (midnight after `last`), in UTC: exclusive."""
        return datetime.combine(self.last + timedelta(days=1), time(), zone).astimezone(UTC)

    def months(self) -> list[date]:
        """The first day of each calendar month the period touches."""
        found, month = [], self.first.replace(day=1)
        while month <= self.last:
            found.append(month)
            month = _next_month(month)
        return found

    def quarters(self) -> list[date]:
        """The first day of each calendar quarter the period touches."""
        return sorted({_quarter_start(month) for month in self.months()})

    def key(self) -> int:
        """The period as one number for a button: 2026010120260331 (first, then last)."""
        return _day_number(self.first) * KEY_SPLIT + _day_number(self.last)

    @staticmethod
    def of_key(key: int) -> Period:
        """The period a button carried; InvalidInput period.invalid for a number that is no
        two dates (a forged press)."""
        try:
            return Period(_number_day(key // KEY_SPLIT), _number_day(key % KEY_SPLIT))
        except ValueError as error:
            raise InvalidInput("period", "period.invalid", detail=str(key)) from error


def preset(kind: Preset, today: date) -> Period:
    """This (or the last) month, quarter or year around `today`; the current ones end with
    the calendar's, not today: what is still scheduled in them counts as planned."""
    if kind in (Preset.month, Preset.last_month):
        first = today.replace(day=1)
        if kind is Preset.last_month:
            first = (first - timedelta(days=1)).replace(day=1)
        return Period(first, _next_month(first) - timedelta(days=1))
    if kind in (Preset.quarter, Preset.last_quarter):
        first = _quarter_start(today)
        if kind is Preset.last_quarter:
            first = _quarter_start(first - timedelta(days=1))
        return Period(first, _next_month(_next_month(_next_month(first))) - timedelta(days=1))
    year = today.year - (1 if kind is Preset.last_year else 0)
    return Period(date(year, 1, 1), date(year, 12, 31))


def check_period(first: date, last: date, today: date) -> Period:
    """A period a report can cover, or InvalidInput saying why not."""
    if last < first:
        raise InvalidInput("period", "period.reversed", detail=f"{first} > {last}")
    if first > today:
        raise InvalidInput("period", "period.not_begun", detail=str(first))
    period = Period(first, last)
    if period.days > PERIOD_MAX_DAYS:
        raise InvalidInput("period", "period.too_long", detail=f"{period.days} days")
    return period


def carried_period(key: int, today: date) -> Period:
    """The period a button carried, checked as if typed: a forged or stale one (reversed,
    not begun by now, too long, no dates at all) is refused like a typed one."""
    period = Period.of_key(key)
    return check_period(period.first, period.last, today)


def _next_month(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def _quarter_start(day: date) -> date:
    return date(day.year, (day.month - 1) // 3 * 3 + 1, 1)


def _day_number(day: date) -> int:
    return day.year * 10000 + day.month * 100 + day.day


def _number_day(number: int) -> date:
    return date(number // 10000, number // 100 % 100, number % 100)
