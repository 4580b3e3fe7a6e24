"""Reading dates and times as people type them, in Chinese and English, and showing them back:
the one place that formats a moment or a time span for people.

dateparser (1.5) reads ISO and slashed dates ("2026-03-12 09:00", "2026/3/12 9:00"),
"2026年3月12日 09:00", "明天 15:00", "后天 9:00" and English ("next Saturday 9am",
"tomorrow 3pm", "March 12 9:00", "12 Mar 2026 09:00"). It returns nothing for the
everyday Chinese forms without a year or with a period word ("3月12日 上午9点",
"明天下午3点", "周五下午两点", "下周六上午9点", "今晚8点"), so a small reader below
handles text made of exactly one Chinese date part and one time part, and
everything else goes to dateparser.

A date without a time gives None: an activity needs a time. Whether the result is
in the past is the caller's check.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

import dateparser
from babel.dates import format_timedelta

from models.errors import InvalidInput

# No date and time people type is longer; dateparser would take its time over one that is.
TYPED_MAX = 100
CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5}
CN_DIGITS |= {"六": 6, "七": 7, "八": 8, "九": 9}
NUMBER = r"\d{1,2}|[零〇一二两三四五六七八九十]{1,3}"
# 周一 .. 周日 (also 周天, 星期, 礼拜, and 1-7): Monday = 0.
WEEKDAYS = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6, "七": 6}
WEEKDAYS |= {str(n): n - 1 for n in range(1, 8)}
RELATIVE_DAYS = {"今天": 0, "今日": 0, "今晚": 0, "明天": 1, "明日": 1, "明晚": 1}
RELATIVE_DAYS |= {"后天": 2, "大后天": 3}
# Period words: which hours they shift to the afternoon (1-11 → 13-23).
AFTERNOON = {"下午", "傍晚", "晚上", "夜里", "今晚", "明晚"}
MORNING = {"上午", "早上", "早晨", "凌晨"}

_DATE = (
    rf"(?:(?P<year>\d{{4}})年)?(?P<month>{NUMBER})月(?P<day>{NUMBER})[日号]?"
    r"|(?P<iso_y>\d{4})[-/.](?P<iso_m>\d{1,2})[-/.](?P<iso_d>\d{1,2})"
    r"|(?P<relative>大后天|后天|今天|今日|明天|明日)"
    r"|(?P<next>下个?)?(?:周|星期|礼拜)(?P<weekday>[一二三四五六日天七1-7])"
)
_PERIOD = r"上午|早上|早晨|凌晨|中午|下午|傍晚|晚上|夜里"
_TIME = (
    rf"(?P<period>{_PERIOD})?"
    rf"(?P<hour>{NUMBER})(?:[点時时](?P<half>半)?(?:(?P<minute>{NUMBER})分?)?|:(?P<clock>\d{{2}}))"
)
# The evening words 今晚/明晚 are a date and a period at once.
CHINESE = re.compile(
    rf"(?:(?P<evening>今晚|明晚)|{_DATE})\s*(?:{_TIME})?",
)
ENGLISH_TIME = re.compile(r"\d{1,2}:\d{2}|\d\s*[ap]\.?m\b|\bnoon\b|\bmidnight\b", re.IGNORECASE)


def _number(text: str) -> int | None:
    """12, "十二", "两", "二十五" → int; None when it is not a number we read."""
    if text.isdecimal():
        return int(text)
    if "十" in text:
        tens, _, ones = text.partition("十")
        if (tens and tens not in CN_DIGITS) or (ones and ones not in CN_DIGITS):
            return None
        return (CN_DIGITS[tens] if tens else 1) * 10 + (CN_DIGITS[ones] if ones else 0)
    return CN_DIGITS.get(text) if len(text) == 1 else None


def _chinese_date(match: re.Match[str], today: date) -> date | None:
    if match["evening"]:
        return today + timedelta(days=RELATIVE_DAYS[match["evening"]])
    if match["relative"]:
        return today + timedelta(days=RELATIVE_DAYS[match["relative"]])
    if match["weekday"]:
        weekday = WEEKDAYS[match["weekday"]]
        if match["next"]:  # 下周六: Saturday of next calendar week (weeks start on Monday)
            return today + timedelta(days=7 - today.weekday() + weekday)
        return today + timedelta(days=(weekday - today.weekday()) % 7)  # this one or the next
    if match["iso_y"]:
        year, month, day = int(match["iso_y"]), int(match["iso_m"]), int(match["iso_d"])
        explicit_year = True
    else:
        month_n, day_n = _number(match["month"]), _number(match["day"])
        if month_n is None or day_n is None:
            return None
        year, month, day = int(match["year"] or today.year), month_n, day_n
        explicit_year = match["year"] is not None
    try:
        result = date(year, month, day)
    except ValueError:
        return None
    if not explicit_year and result < today:  # "1月5日" typed in March means next January
        result = result.replace(year=year + 1)
    return result


def _chinese_time(match: re.Match[str]) -> tuple[int, int] | None:
    hour = _number(match["hour"])
    if hour is None:
        return None
    minute = 30 if match["half"] else 0
    if match["minute"] or match["clock"]:
        minute = _number(match["minute"] or match["clock"]) or 0
    period = match["period"] or match["evening"]
    if period in AFTERNOON and 1 <= hour < 12:
        hour += 12
    elif period == "中午" and 1 <= hour <= 3:  # 中午1点 is 13:00; 中午12点 is noon
        hour += 12
    elif period in MORNING and hour == 12:
        hour = 0
    if not (0 <= hour < 24 and 0 <= minute < 60):
        return None
    return hour, minute


def _parse_chinese(text: str, local_now: datetime) -> datetime | bool | None:
    """The datetime, None (a Chinese date without a time, or impossible), or False (not ours)."""
    match = CHINESE.fullmatch(text)
    if match is None:
        return False
    day = _chinese_date(match, local_now.date())
    if day is None or match["hour"] is None:
        return None
    clock = _chinese_time(match)
    if clock is None:
        return None
    return datetime(day.year, day.month, day.day, *clock, tzinfo=local_now.tzinfo)


def parse_when(text: str, now: datetime, timezone: str | ZoneInfo) -> datetime | None:
    """What the person typed as an aware datetime in `timezone`, or None if unreadable or
    without a time of day. Relative words ("tomorrow", "周五") count from `now`."""
    zone = timezone if isinstance(timezone, ZoneInfo) else ZoneInfo(timezone)
    local_now = now.astimezone(zone)
    # NFKC: full-width digits and colons (９：００) become ASCII.
    cleaned = " ".join(unicodedata.normalize("NFKC", text).split())
    if not cleaned or len(cleaned) > TYPED_MAX:
        return None
    chinese = _parse_chinese(cleaned.replace(" ", ""), local_now)
    if chinese is not False:
        return chinese or None
    if not ENGLISH_TIME.search(cleaned):
        return None  # a date alone: we need the time too
    parsed = dateparser.parse(
        cleaned,
        languages=["zh", "en"],
        settings={
            "PREFER_DATES_FROM": "future",
            "RELATIVE_BASE": local_now.replace(tzinfo=None),
            "TIMEZONE": zone.key,
            "RETURN_AS_TIMEZONE_AWARE": False,
        },
    )
    if parsed is None:
        return None
    if parsed.tzinfo is not None:  # the text named a zone ("9:00 UTC")
        return parsed.astimezone(zone)
    return parsed.replace(tzinfo=zone)  # wall time in the zone; zoneinfo applies DST


ZH_WEEKDAYS = "一二三四五六日"
EN_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
EN_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def format_when(dt: datetime, language: str) -> str:
    """ "2026年3月12日（周四）09:00" or "Thu 12 Mar 2026, 09:00", in dt's own zone."""
    if language == "en":
        weekday, month = EN_WEEKDAYS[dt.weekday()], EN_MONTHS[dt.month - 1]
        return f"{weekday} {dt.day} {month} {dt.year}, {dt:%H:%M}"
    return f"{dt.year}年{dt.month}月{dt.day}日（周{ZH_WEEKDAYS[dt.weekday()]}）{dt:%H:%M}"


def format_day(day: date, language: str) -> str:
    """ "3月12日 周四" or "Thu 12 Mar", short enough for a button."""
    if language == "en":
        return f"{EN_WEEKDAYS[day.weekday()]} {day.day} {EN_MONTHS[day.month - 1]}"
    return f"{day.month}月{day.day}日 周{ZH_WEEKDAYS[day.weekday()]}"


def format_span(starts_at: datetime, ends_at: datetime, zone: tzinfo, language: str) -> str:
    """ "2026年3月12日（周四）09:00–11:00" in `zone`; the end in full when it is another day."""
    start, end = starts_at.astimezone(zone), ends_at.astimezone(zone)
    end_text = f"{end:%H:%M}" if end.date() == start.date() else format_when(end, language)
    return f"{format_when(start, language)}–{end_text}"


def format_local(moment: datetime | None, zone: tzinfo) -> str:
    """A moment for lists and spreadsheets, as people in the branch read it: 2026-03-10 09:30."""
    if moment is None:
        return "—"
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M")


def format_wait(delta: timedelta, language: str) -> str:
    """How long until something ("2 hours", "30秒"), rounded to its largest unit (Babel)."""
    seconds = max(1, round(delta.total_seconds()))
    return format_timedelta(timedelta(seconds=seconds), threshold=1.5, locale=language)


def format_hours(hours: float) -> str:
    """Volunteer hours as people read them: to a tenth, without a trailing .0 (2.5, 3)."""
    return format(round(hours, 1), "g")


# A period typed for /stats: two dates ("2026-01-01 2026-06-30", "2026年1月1日至6月30日",
# the second may leave out the year), one or two months ("2026-03", "2026年3月至5月"
# is not read: months take their year), or a year ("2026").
_PERIOD_DATE = re.compile(
    r"(?<!\d)(?:(?P<y>\d{4})\s*[-/.年]\s*)?(?<!\d)(?P<m>\d{1,2})\s*[-/.月]\s*(?P<d>\d{1,2})(?!\d)"
)
_PERIOD_MONTH = re.compile(r"(?<!\d)(?P<y>\d{4})\s*[-/.年]\s*(?P<m>\d{1,2})(?!\d)")
_PERIOD_YEAR = re.compile(r"\s*(?P<y>\d{4})\s*年?\s*")


def parse_period(text: str) -> tuple[date, date]:
    """The first and last day of a typed period; InvalidInput period.unreadable for text
    that is not one, period.impossible for a date no calendar has (2026-02-30)."""
    typed = unicodedata.normalize("NFKC", text)[:TYPED_MAX]
    try:
        days = list(_PERIOD_DATE.finditer(typed))
        if 1 <= len(days) <= 2 and days[0]["y"]:
            year = int(days[0]["y"])
            found = []
            for match in days:
                year = int(match["y"] or year)
                found.append(date(year, int(match["m"]), int(match["d"])))
            return found[0], found[-1]
        months = list(_PERIOD_MONTH.finditer(typed))
        if 1 <= len(months) <= 2 and not days:
            first = date(int(months[0]["y"]), int(months[0]["m"]), 1)
            start_of_last = date(int(months[-1]["y"]), int(months[-1]["m"]), 1)
            return first, _month_end(start_of_last)
        year_only = _PERIOD_YEAR.fullmatch(typed)
        if year_only:
            return date(int(year_only["y"]), 1, 1), date(int(year_only["y"]), 12, 31)
    except ValueError as error:
        raise InvalidInput("period", "period.impossible", detail=typed) from error
    raise InvalidInput("period", "period.unreadable")


def _month_end(first: date) -> date:
    following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return following - timedelta(days=1)
