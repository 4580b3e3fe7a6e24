"""Reading dates and times as people type them, in Chinese and English, and showing them back:
the one place that formats a moment or a time span for people.

Two small readers take the everyday forms, and dateparser (1.5) the rest: ISO and slashed
dates ("2026-03-12 09:00", "2026/3/12 9:00") and English dates with a month ("March 12
9:00", "12 Mar 2026 09:00"). The readers take text made of one date part (or none) and
one time part:

- Chinese dates: "3月12日", "2026年3月12日", "5号" (day 5 of this month, or of the next
  when the 5th has passed; "下个月5号", "本月5号"), "今天", "明天", "后天", "大后天",
  "昨天", "前天", "大前天", "今晚", "明晚", "昨晚", "周五" (also 星期五, 礼拜五: this one or
  the coming one, today included), "本周五"/"这周五" (Friday of this calendar week, which
  may have passed), "下周五" (of next week), "下下周五" (the week after), "上周五" (of last
  week). Weeks start on Monday.
- Chinese times: "9点", "9点半", "9点15分", "十点半", "9:30", with a period word or not
  ("上午", "下午", "晚上", "凌晨", "中午"...).
- English: "3pm", "9:30am", "15:00", "noon", after or before "today", "tonight",
  "tomorrow", "yesterday", "the day after tomorrow", "the day before yesterday",
  "Saturday", "this Saturday", "next Saturday".

The rules people expect of them:

- A time without a date is today's ("下午3点", "3pm", "15:00"): if it has passed, the
  caller says so, and the person can add the day.
- A bare hour of 1 to 6 with "点" and no period word is the afternoon: "三点半" is 15:30,
  "两点" 14:00, as a secretary means when saying when a meeting is. "凌晨3点" or
  "上午3点" is 03:00; "7点" to "12点" are the morning and noon. The clock form "3:30" is a
  24-hour clock, read as written (03:30), as is "15:00".
- "下周六" and "next Saturday" both mean the Saturday of next week (weeks start on
  Monday); "周六", "Saturday" and "this Saturday" the coming Saturday (today when it is
  Saturday). "next Saturday" is ambiguous in English, so the reply shows the date back
  in full ("Sat 21 Mar 2026, 09:00") and the person sees which Saturday it is.
- A month and day without a year ("1月5日") already past this year is next year's.
- Past moments are read ("昨天上午9点", "yesterday 9am", "上周五 14:00"); whether a
  moment may be in the past is the caller's check, which says that time has passed.

A date without a time gives None: an activity needs a time.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime, time, timedelta, tzinfo
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
RELATIVE_DAYS = {"大前天": -3, "前天": -2, "昨天": -1, "昨日": -1, "昨晚": -1}
RELATIVE_DAYS |= {"今天": 0, "今日": 0, "今晚": 0, "明天": 1, "明日": 1, "明晚": 1}
RELATIVE_DAYS |= {"后天": 2, "大后天": 3}
# 本周五 is Friday of this calendar week, 下周五 of the next, 上周五 of the last.
WEEKS = {"本": 0, "这": 0, "这个": 0, "下": 1, "下个": 1, "下下": 2, "下下个": 2, "上": -1}
WEEKS |= {"上个": -1}
MONTHS_ON = {"本月": 0, "这个月": 0, "下月": 1, "下个月": 1}
# Period words: which hours they shift to the afternoon (1-11 → 13-23).
AFTERNOON = {"下午", "傍晚", "晚上", "夜里", "今晚", "明晚", "昨晚"}
MORNING = {"上午", "早上", "早晨", "凌晨"}
# "三点半" with no period word: hours 1-6 are the afternoon (nobody meets at 03:30).
BARE_AFTERNOON = range(1, 7)

_DATE = (
    rf"(?:(?P<year>\d{{4}})年)?(?P<month>{NUMBER})月(?P<day>{NUMBER})[日号]?"
    r"|(?P<iso_y>\d{4})[-/.](?P<iso_m>\d{1,2})[-/.](?P<iso_d>\d{1,2})"
    r"|(?P<relative>大前天|前天|昨天|昨日|大后天|后天|今天|今日|明天|明日)"
    r"|(?P<week>本|这个?|下下个?|下个?|上个?)?(?:周|星期|礼拜)(?P<weekday>[一二三四五六日天七1-7])"
    rf"|(?P<month_on>本月|这个月|下个?月)?(?P<day_of_month>{NUMBER})[日号]"
)
_PERIOD = r"上午|早上|早晨|凌晨|中午|下午|傍晚|晚上|夜里"
_TIME = (
    rf"(?P<period>{_PERIOD})?"
    rf"(?P<hour>{NUMBER})(?:[点時时](?P<half>半)?(?:(?P<minute>{NUMBER})分?)?|:(?P<clock>\d{{2}}))"
)
# The evening words 今晚/明晚/昨晚 are a date and a period at once; either part may be
# left out (a time alone is today's; a date alone is read, to say it needs a time).
CHINESE = re.compile(rf"(?:(?P<evening>今晚|明晚|昨晚)|{_DATE})?\s*(?:{_TIME})?")

EN_WEEKDAYS_TYPED = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_EN_DAY = (
    r"(?P<relative>today|tonight|tomorrow|yesterday"
    r"|(?:the )?day after tomorrow|(?:the )?day before yesterday)"
    r"|(?:(?P<which>this|next|coming) )?"
    r"(?P<weekday>monday|mon|tuesday|tues|tue|wednesday|wed|thursday|thurs|thu"
    r"|friday|fri|saturday|sat|sunday|sun)\.?"
)
_EN_TIME = (
    r"(?P<hour>\d{1,2})(?:[:.](?P<minute>\d{2}))? ?(?P<meridiem>[ap])\.?m\.?"
    r"|(?P<clock_hour>\d{1,2}):(?P<clock_minute>\d{2})"
    r"|(?P<noon>noon|midday)|(?P<midnight>midnight)"
)
# "tomorrow 3pm", "tomorrow at 3pm", "3pm tomorrow", "9am on Saturday", "3pm".
ENGLISH_FORMS = (
    re.compile(rf"(?:(?:{_EN_DAY}),? (?:at )?)?(?:{_EN_TIME})"),
    re.compile(rf"(?:{_EN_TIME}),? (?:on )?(?:{_EN_DAY})"),
)
EN_RELATIVE_DAYS = {"today": 0, "tonight": 0, "tomorrow": 1, "yesterday": -1}
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


def _weekday_on(today: date, weekday: int, weeks: int | None) -> date:
    """The `weekday` of the week `weeks` from this one (Monday first), or with None the
    coming one (today when it is that day)."""
    if weeks is None:
        return today + timedelta(days=(weekday - today.weekday()) % 7)
    return today + timedelta(days=7 * weeks - today.weekday() + weekday)


def _day_in_month(today: date, months: int, day: int) -> date:
    """Day `day` of the month `months` after today's; ValueError when it has no such day."""
    index = today.month - 1 + months
    return date(today.year + index // 12, index % 12 + 1, day)


def _day_of_month(match: re.Match[str], today: date) -> date | None:
    """5号: the 5th of this month, or of the next month having one when it has passed;
    下个月5号 and 本月5号 say which month."""
    day = _number(match["day_of_month"])
    if day is None:
        return None
    months = [MONTHS_ON[match["month_on"]]] if match["month_on"] else [0, 1, 2]
    for offset in months:
        try:
            found = _day_in_month(today, offset, day)
        except ValueError:
            continue
        if match["month_on"] or found >= today:
            return found
    return None


def _chinese_date(match: re.Match[str], today: date) -> date | None:
    if match["evening"]:
        return today + timedelta(days=RELATIVE_DAYS[match["evening"]])
    if match["relative"]:
        return today + timedelta(days=RELATIVE_DAYS[match["relative"]])
    if match["weekday"]:
        weeks = WEEKS[match["week"]] if match["week"] else None
        return _weekday_on(today, WEEKDAYS[match["weekday"]], weeks)
    if match["day_of_month"]:
        return _day_of_month(match, today)
    if match["iso_y"]:
        year, month, day = int(match["iso_y"]), int(match["iso_m"]), int(match["iso_d"])
        explicit_year = True
    elif match["month"]:
        month_n, day_n = _number(match["month"]), _number(match["day"])
        if month_n is None or day_n is None:
            return None
        year, month, day = int(match["year"] or today.year), month_n, day_n
        explicit_year = match["year"] is not None
    else:
        return today  # a time alone
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
    elif period is None and match["clock"] is None and hour in BARE_AFTERNOON:
        hour += 12
    if not (0 <= hour < 24 and 0 <= minute < 60):
        return None
    return hour, minute


def _parse_chinese(text: str, local_now: datetime) -> datetime | bool | None:
    """The datetime, None (a Chinese date without a time, or impossible), or False (not ours)."""
    match = CHINESE.fullmatch(text)
    if match is None or not text:
        return False
    day = _chinese_date(match, local_now.date())
    if day is None or match["hour"] is None:
        return None
    clock = _chinese_time(match)
    if clock is None:
        return None
    return datetime(day.year, day.month, day.day, *clock, tzinfo=local_now.tzinfo)


def _english_date(match: re.Match[str], today: date) -> date:
    relative = match["relative"]
    if relative:
        if relative.endswith("after tomorrow"):
            return today + timedelta(days=2)
        if relative.endswith("before yesterday"):
            return today - timedelta(days=2)
        return today + timedelta(days=EN_RELATIVE_DAYS[relative])
    if match["weekday"]:
        weekday = EN_WEEKDAYS_TYPED.index(match["weekday"][:3])
        return _weekday_on(today, weekday, 1 if match["which"] == "next" else None)
    return today  # a time alone


def _english_time(match: re.Match[str]) -> tuple[int, int] | None:
    if match["noon"]:
        return 12, 0
    if match["midnight"]:
        return 0, 0
    if match["clock_hour"]:
        hour, minute = int(match["clock_hour"]), int(match["clock_minute"])
        return (hour, minute) if hour < 24 and minute < 60 else None
    hour, minute = int(match["hour"]), int(match["minute"] or 0)
    if not (1 <= hour <= 12 and minute < 60):
        return None
    return hour % 12 + (12 if match["meridiem"] == "p" else 0), minute


def _parse_english(text: str, local_now: datetime) -> datetime | bool | None:
    """The datetime, None (an impossible time: "13pm"), or False (not ours: dateparser's)."""
    lowered = text.lower()
    match = next((m for form in ENGLISH_FORMS if (m := form.fullmatch(lowered))), None)
    if match is None:
        return False
    day, clock = _english_date(match, local_now.date()), _english_time(match)
    if clock is None:
        return None
    return datetime(day.year, day.month, day.day, *clock, tzinfo=local_now.tzinfo)


def parse_when(text: str, now: datetime, timezone: str | ZoneInfo) -> datetime | None:
    """What the person typed as an aware datetime in `timezone`, or None if unreadable or
    without a time of day. Relative words ("tomorrow", "周五") count from `now`; the
    result may be in the past."""
    zone = timezone if isinstance(timezone, ZoneInfo) else ZoneInfo(timezone)
    local_now = now.astimezone(zone)
    # NFKC: full-width digits and colons (９：００) become ASCII.
    cleaned = " ".join(unicodedata.normalize("NFKC", text).split())
    if not cleaned or len(cleaned) > TYPED_MAX:
        return None
    for reader, typed in ((_parse_chinese, cleaned.replace(" ", "")), (_parse_english, cleaned)):
        read = reader(typed, local_now)
        if read is not False:
            return read or None
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


def next_weekday(today: date, weekday: int) -> date:
    """The first `weekday` (Monday = 0) after today: a week on when today is that day.
    The day of an example in a question, always ahead."""
    return today + timedelta(days=(weekday - today.weekday() - 1) % 7 + 1)


def typed_iso(day: date, clock: time) -> str:
    """ "2026-03-14 09:00": the day and time as typed in figures, which parse_when reads."""
    return f"{day.isoformat()} {clock:%H:%M}"


def typed_spoken(day: date, clock: time, language: str) -> str:
    """ "3月14日 上午9点半" or "14 Mar 9:30am": the day and time as people type them, which
    parse_when reads back (without a year: meant for a day within the year ahead)."""
    hour, minute = clock.hour, clock.minute
    if language == "en":
        figures = f"{hour % 12 or 12}" + (f":{minute:02d}" if minute else "")
        return f"{day.day} {EN_MONTHS[day.month - 1]} {figures}{'pm' if hour >= 12 else 'am'}"
    if hour < 6:
        period, shown = "凌晨", hour
    elif hour < 12:
        period, shown = "上午", hour
    elif hour == 12:
        period, shown = "中午", hour
    else:
        period, shown = ("下午" if hour <= 18 else "晚上"), hour - 12
    minutes = "" if minute == 0 else "半" if minute == 30 else f"{minute}分"
    return f"{day.month}月{day.day}日 {period}{shown}点{minutes}"


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
