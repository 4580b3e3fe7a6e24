"""Dates and times as people type them, in Chinese and English (views/dates.py)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from views.dates import format_when, next_weekday, parse_when, typed_iso, typed_spoken

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
        ("next Saturday 9am", at(3, 21, 9)),  # Saturday of next week, as 下周六
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


# Moments to read from: a Tuesday morning (NOW), a Friday afternoon, a Saturday, a Sunday,
# the last day of April (no 31st), the end of the year.
FRIDAY_3PM = at(3, 13, 15)
SATURDAY_8AM = at(3, 14, 8)
SUNDAY_10AM = at(3, 15, 10)
APRIL_30 = at(4, 30, 10)
YEAR_END = at(12, 30, 10)


@pytest.mark.parametrize(
    ("text", "now", "expected"),
    [
        # This week's, next week's and the week after's days (weeks start on Monday).
        ("本周五 14:00", NOW, at(3, 13, 14)),
        ("本周五 14:00", FRIDAY_3PM, at(3, 13, 14)),  # today, an hour ago: the caller says passed
        ("这周五下午两点", NOW, at(3, 13, 14)),
        ("这个星期五 下午2点", NOW, at(3, 13, 14)),
        ("这周六 10点", NOW, at(3, 14, 10)),
        ("本周日 上午10点", NOW, at(3, 15, 10)),
        ("这周一 9点", NOW, at(3, 9, 9)),  # Monday of this week: yesterday
        ("本周日 上午10点", SUNDAY_10AM, at(3, 15, 10)),
        ("周六上午9点", NOW, at(3, 14, 9)),
        ("周六上午9点", SATURDAY_8AM, at(3, 14, 9)),  # today is Saturday: today
        ("周二 9点", NOW, at(3, 10, 9)),
        ("周五 14:00", SATURDAY_8AM, at(3, 20, 14)),  # the coming Friday
        ("下周六 9:00", NOW, at(3, 21, 9)),
        ("下周六上午9点", SUNDAY_10AM, at(3, 21, 9)),  # on Sunday next week starts tomorrow
        ("下个星期六 上午九点", NOW, at(3, 21, 9)),
        ("下下周一 9点", NOW, at(3, 23, 9)),
        ("下下个礼拜三 下午3点", NOW, at(3, 25, 15)),
        ("上周五 14:00", NOW, at(3, 6, 14)),
        # The day of the month: this month's, or the next month's once it has passed.
        ("5号下午3点", NOW, at(4, 5, 15)),
        ("12号下午3点", NOW, at(3, 12, 15)),
        ("10号 下午3点", NOW, at(3, 10, 15)),  # today
        ("十五日 上午9点", NOW, at(3, 15, 9)),
        ("31号 9点", APRIL_30, at(5, 31, 9)),  # April has no 31st
        ("5号 9点", YEAR_END, at(1, 5, 9, year=2027)),
        ("下个月5号 9点", NOW, at(4, 5, 9)),
        ("本月5号 9点", NOW, at(3, 5, 9)),  # said so: this month's, passed
        ("后天上午十点半", NOW, at(3, 12, 10, 30)),
        ("大后天 晚上7点", NOW, at(3, 13, 19)),
        # A time alone is today's.
        ("下午3点", NOW, at(3, 10, 15)),
        ("下午3点", FRIDAY_3PM, at(3, 13, 15)),
        ("十点半", NOW, at(3, 10, 10, 30)),
        ("晚上8点", NOW, at(3, 10, 20)),
        ("15:00", NOW, at(3, 10, 15)),
        ("9点15分", NOW, at(3, 10, 9, 15)),
        # A bare hour of 1 to 6 is the afternoon; 凌晨 and 上午 keep it in the morning;
        # the colon form is a 24-hour clock.
        ("三点半", NOW, at(3, 10, 15, 30)),
        ("两点", NOW, at(3, 10, 14)),
        ("明天3点", NOW, at(3, 11, 15)),
        ("周五6点", NOW, at(3, 13, 18)),
        ("七点", NOW, at(3, 10, 7)),
        ("12点", NOW, at(3, 10, 12)),
        ("凌晨3点", NOW, at(3, 10, 3)),
        ("上午3点半", NOW, at(3, 10, 3, 30)),
        ("3:30", NOW, at(3, 10, 3, 30)),
        ("明天 3:00", NOW, at(3, 11, 3)),
        # The past is read (the caller says it has passed).
        ("昨天上午9点", NOW, at(3, 9, 9)),
        ("昨天 9:00", NOW, at(3, 9, 9)),
        ("昨晚8点", NOW, at(3, 9, 20)),
        ("前天下午3点", NOW, at(3, 8, 15)),
        ("大前天 9点", NOW, at(3, 7, 9)),
        ("2020-01-01 09:00", NOW, at(1, 1, 9, year=2020)),
        # English.
        ("next Saturday 9am", NOW, at(3, 21, 9)),
        ("next Saturday 9am", SUNDAY_10AM, at(3, 21, 9)),
        ("Saturday 9am", NOW, at(3, 14, 9)),
        ("Saturday 9am", SATURDAY_8AM, at(3, 14, 9)),
        ("this Saturday 9am", NOW, at(3, 14, 9)),
        ("this saturday at 9:30am", NOW, at(3, 14, 9, 30)),
        ("Sat 9am", NOW, at(3, 14, 9)),
        ("next Tue 9am", NOW, at(3, 17, 9)),
        ("Friday 2pm", FRIDAY_3PM, at(3, 13, 14)),  # today, an hour ago
        ("tomorrow 3pm", NOW, at(3, 11, 15)),
        ("tomorrow at 3pm", NOW, at(3, 11, 15)),
        ("3pm tomorrow", NOW, at(3, 11, 15)),
        ("9am on Saturday", NOW, at(3, 14, 9)),
        ("the day after tomorrow 10am", NOW, at(3, 12, 10)),
        ("tonight 8pm", NOW, at(3, 10, 20)),
        ("tomorrow noon", NOW, at(3, 11, 12)),
        ("3pm", NOW, at(3, 10, 15)),
        ("3pm", FRIDAY_3PM, at(3, 13, 15)),
        ("3 PM", NOW, at(3, 10, 15)),
        ("12am", NOW, at(3, 10, 0)),
        ("12pm", NOW, at(3, 10, 12)),
        ("yesterday 9am", NOW, at(3, 9, 9)),
        ("yesterday 9:00", NOW, at(3, 9, 9)),
        ("the day before yesterday 9am", NOW, at(3, 8, 9)),
        ("December 31 9am", YEAR_END, at(12, 31, 9)),
        ("Jan 2 9am", YEAR_END, at(1, 2, 9, year=2027)),
    ],
)
def test_reads_each_typed_form_from_a_given_moment(
    text: str, now: datetime, expected: datetime
) -> None:
    assert parse_when(text, now, "Asia/Shanghai") == expected


@pytest.mark.parametrize("text", ["13pm", "0am", "25:00", "下午25点", "32号 9点", "下个月31号 9点"])
def test_impossible_times_give_none(text: str) -> None:
    # 下个月31号 from March: April has no 31st.
    assert parse_when(text, NOW, "Asia/Shanghai") is None


def test_today_and_the_week_are_the_zones() -> None:
    """01:30 UTC on Tuesday is Tuesday morning in Shanghai but Monday evening in New York."""
    new_york = ZoneInfo("America/New_York")
    now = datetime(2026, 3, 10, 1, 30, tzinfo=ZoneInfo("UTC"))
    assert parse_when("下午3点", now, new_york) == datetime(2026, 3, 9, 15, 0, tzinfo=new_york)
    assert parse_when("3pm", now, new_york) == datetime(2026, 3, 9, 15, 0, tzinfo=new_york)
    tomorrow = parse_when("明天上午9点", now, "America/New_York")
    assert tomorrow == datetime(2026, 3, 10, 9, 0, tzinfo=new_york)
    assert tomorrow is not None and tomorrow.utcoffset() == timedelta(hours=-4)  # EDT
    sunday = parse_when("本周日 10点", now, new_york)  # Monday there: this week's Sunday
    assert sunday == datetime(2026, 3, 15, 10, 0, tzinfo=new_york)
    assert parse_when("下周六 9:00", now, "Asia/Shanghai") == at(3, 21, 9)


def test_next_weekday_is_always_ahead() -> None:
    assert next_weekday(date(2026, 3, 10), 5) == date(2026, 3, 14)  # Tuesday → Saturday
    assert next_weekday(date(2026, 3, 13), 5) == date(2026, 3, 14)  # Friday → tomorrow
    assert next_weekday(date(2026, 3, 14), 5) == date(2026, 3, 21)  # Saturday → a week on
    assert next_weekday(date(2026, 12, 30), 0) == date(2027, 1, 4)


def test_typed_examples() -> None:
    day = date(2026, 3, 14)
    assert typed_iso(day, time(9)) == "2026-03-14 09:00"
    assert typed_spoken(day, time(9), "zh") == "3月14日 上午9点"
    assert typed_spoken(day, time(9, 30), "zh") == "3月14日 上午9点半"
    assert typed_spoken(day, time(18), "zh") == "3月14日 下午6点"
    assert typed_spoken(day, time(9), "en") == "14 Mar 9am"
    assert typed_spoken(day, time(18, 15), "en") == "14 Mar 6:15pm"


# Days to type an example from: a week of March and the turn of the year.
EXAMPLE_TODAYS = [date(2026, 3, 9) + timedelta(days=n) for n in range(7)]
EXAMPLE_TODAYS += [date(2026, 12, 26) + timedelta(days=n) for n in range(10)]


@pytest.mark.parametrize("today", EXAMPLE_TODAYS, ids=str)
@pytest.mark.parametrize("language", ["zh", "en"])
def test_an_example_typed_back_is_read_as_it_was_meant(today: date, language: str) -> None:
    """Every example a question shows (any weekday ahead, any hour and minute) is read
    back, late in the day it was shown, as the moment it stands for."""
    now = datetime.combine(today, time(23, 59), SHANGHAI)
    for weekday in range(7):
        day = next_weekday(today, weekday)
        for hour in range(24):
            for minute in (0, 15, 30):
                meant = datetime.combine(day, time(hour, minute), SHANGHAI)
                spoken = typed_spoken(day, time(hour, minute), language)
                assert parse_when(spoken, now, SHANGHAI) == meant, spoken
                assert parse_when(typed_iso(day, time(hour, minute)), now, SHANGHAI) == meant
