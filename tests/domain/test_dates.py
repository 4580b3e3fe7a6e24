"""Dates and times as people type them, in Chinese and English (bot/dates.py)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from views.dates import format_when, parse_when

SHANGHAI = ZoneInfo("Asia/Shanghai")
# A Tuesday morning.
NOW = datetime(2026, 3, 10, 9, 0, tzinfo=SHANGHAI)


def at(month: int, day: int, hour: int, minute: int = 0, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-03-12 09:00", at(3, 12, 9)),
        ("2026/3/12 9:00", at(3, 12, 9)),
        ("2026年3月12日 09:00", at(3, 12, 9)),
        ("3月12日 上午9点", at(3, 12, 9)),
        ("3月12日9:30", at(3, 12, 9, 30)),
        ("明天下午3点", at(3, 11, 15)),
        ("明天 15:00", at(3, 11, 15)),
        ("后天 9:00", at(3, 12, 9)),
        ("周五下午两点", at(3, 13, 14)),
        ("星期五 14:00", at(3, 13, 14)),
        ("下周六上午9点", at(3, 21, 9)),
        ("下个礼拜一 9点15分", at(3, 16, 9, 15)),
        ("周日 上午十点半", at(3, 15, 10, 30)),
        ("12月5日 14:30", at(12, 5, 14, 30)),
        ("今晚8点", at(3, 10, 20)),
        ("明天中午12点", at(3, 11, 12)),
        ("1月5日 9点", at(1, 5, 9, year=2027)),  # already past this year: next January
        ("３月１２日　９：００", at(3, 12, 9)),  # full-width digits and space
        ("next Saturday 9am", at(3, 14, 9)),
        ("tomorrow 3pm", at(3, 11, 15)),
        ("March 12 9:00", at(3, 12, 9)),
        ("12 Mar 2026 09:00", at(3, 12, 9)),
    ],
)
def test_reads_the_forms_people_type(text: str, expected: datetime) -> None:
    parsed = parse_when(text, NOW, "Asia/Shanghai")
    assert parsed == expected
    assert parsed is not None and parsed.utcoffset() == expected.utcoffset()


@pytest.mark.parametrize(
    "text",
    [
        *("", "   ", "3月12日", "明天", "March 12", "2026-03-12", "2月30日 9点", "abc", "下午"),
        "9:00 " * 800,  # too long to be a time, read or not
        "2026-03-12 " + "9" * 5000 + ":00",
    ],
)
def test_a_date_without_a_time_or_nonsense_gives_none(text: str) -> None:
    assert parse_when(text, NOW, "Asia/Shanghai") is None


def test_the_timezone_is_the_branchs() -> None:
    berlin = parse_when("2026-03-30 19:00", NOW, "Europe/Berlin")
    assert berlin is not None and berlin.utcoffset().total_seconds() == 2 * 3600  # CEST
    winter = parse_when("3月12日 19:00", NOW, ZoneInfo("Europe/Berlin"))
    assert winter is not None and winter.utcoffset().total_seconds() == 3600  # CET


def test_format_when() -> None:
    assert format_when(at(3, 12, 9), "zh") == "2026年3月12日（周四）09:00"
    assert format_when(at(3, 12, 9), "en") == "Thu 12 Mar 2026, 09:00"
    assert format_when(at(12, 6, 14, 5), "zh") == "2026年12月6日（周日）14:05"
