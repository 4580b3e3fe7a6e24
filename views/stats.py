"""How /stats reads: a unit's figures for a period, a committee's units side by side, the
pages of members and meetings, and the labels of the charts (views.charts draws them)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, tzinfo
from functools import partial
from html import escape
from typing import Any

from telegram import InlineKeyboardMarkup

from models.org import OrgUnit, unit_display_name
from models.paging import Page
from models.stats.figures import (
    ActivityFigures,
    Attendance,
    BranchRow,
    CommitteeStats,
    MemberFigures,
    Notices,
    Requirement,
    Service,
    UnitStats,
)
from models.stats.period import Period, Preset, preset
from views.activities import kind_title
from views.buttons import (
    Button,
    Row,
    StatsActivities,
    StatsChart,
    StatsDates,
    StatsMembers,
    StatsOf,
    StatsPreset,
    keyboard,
    pager,
    short,
)
from views.dates import EN_MONTHS, format_hours, format_when
from views.i18n import t
from views.labels import ACTIVITY_KIND_KEYS, PRESET_KEYS
from views.notices import number

# The charts a press can ask for; their titles' keys (literal, for the catalog test).
CHARTS = {
    "att": "stats.chart.attendance",
    "hours": "stats.chart.hours",
    "life": "stats.chart.life",
}
PRESET_BUTTONS = (Preset.month, Preset.quarter, Preset.year, Preset.last_year)
LOWEST_SHOWN = 5  # members with the lowest attendance named on the summary
# A member line is a name (at most 50) and five numbers; a meeting line a date, a kind and a
# title (at most 100): pages of 15 and 10 stay far below Telegram's 4096.
MEMBERS_PAGE = 15
ACTIVITIES_PAGE = 10


def format_date(day: date, language: str) -> str:
    """ "2026年10月1日" or "1 Oct 2026"."""
    if language == "en":
        return f"{day.day} {EN_MONTHS[day.month - 1]} {day.year}"
    return f"{day.year}年{day.month}月{day.day}日"


def month_label(first: date, language: str, with_year: bool) -> str:
    """ "10月" or "Oct" (with the year when the months cross one)."""
    if language == "en":
        name = EN_MONTHS[first.month - 1]
        return f"{name} {first.year}" if with_year else name
    return f"{first.year}年{first.month}月" if with_year else f"{first.month}月"


def percent(value: float | None) -> str:
    return "—" if value is None else f"{value:.0%}"


def period_text(period: Period, today: date, language: str) -> str:
    """The period in words: "本季度（2026年10月1日至12月31日）" or just the dates."""
    dates = t(
        language,
        "stats.period",
        first=format_date(period.first, language),
        last=format_date(period.last, language),
    )
    for kind, key in PRESET_KEYS.items():
        if preset(kind, today) == period:
            return t(language, "stats.period_named", name=t(language, key), dates=dates)
    return dates


def unit_name(unit: OrgUnit, language: str) -> str:
    return escape(unit_display_name(unit, language))


def requirement_lines(requirement: Requirement, period: Period, today: date, lang: str) -> str:
    """One kind of 三会一课: held of required, and when behind, what is late and what is
    still possible before the period ends."""
    per = "stats.per_quarter" if requirement.per_quarter else "stats.per_month"
    mark = "⚠️" if requirement.behind else "✅"
    lines = [
        t(
            lang,
            "stats.life_line",
            mark=mark,
            kind=t(lang, ACTIVITY_KIND_KEYS[requirement.kind]),
            held=requirement.held,
            required=requirement.required,
            per=t(lang, per),
        )
    ]
    late = requirement.due_so_far - requirement.held
    if late > 0:
        lines.append(t(lang, "stats.life_late", due=requirement.due_so_far, held=requirement.held))
    if requirement.still_needed and period.last >= today:
        lines.append(
            t(
                lang,
                "stats.life_plan",
                needed=requirement.still_needed,
                scheduled=requirement.scheduled,
                last=format_date(period.last, lang),
                days=(period.last - today).days + 1,
            )
        )
    return "\n".join(lines)


def attendance_text(attendance: Attendance, meetings: int, lang: str) -> str:
    text = t(
        lang,
        "stats.attendance",
        meetings=number(meetings, lang),
        present=number(attendance.present, lang),
        excused=number(attendance.excused, lang),
        absent=number(attendance.absent, lang),
        made_up=number(attendance.made_up, lang),
        rate=percent(attendance.rate),
    )
    if attendance.walk_ins:
        text += "\n" + t(lang, "stats.walk_ins", count=number(attendance.walk_ins, lang))
    return text


def service_text(service: Service, lang: str) -> str:
    if not service.activities:
        return t(lang, "stats.no_service")
    lines = [
        t(
            lang,
            "stats.service",
            activities=number(service.activities, lang),
            hours=format_hours(service.hours),
        ),
        t(
            lang,
            "stats.seats",
            signed_up=number(service.signed_up, lang),
            capacity=number(service.capacity, lang),
            waitlisted=number(service.waitlisted, lang),
            no_shows=number(service.no_shows, lang),
        ),
    ]
    if service.unlimited:
        lines.append(t(lang, "stats.unlimited", count=service.unlimited))
    if service.saplings_pledged or service.saplings_planted:
        lines.append(
            t(
                lang,
                "stats.saplings",
                pledged=number(service.saplings_pledged, lang),
                planted=number(service.saplings_planted, lang),
            )
        )
    if service.money_pledged:
        lines.append(t(lang, "stats.money", amount=number(service.money_pledged, lang)))
    return "\n".join(lines)


def unit_text(stats: UnitStats, today: date, lang: str) -> str:
    """A unit's summary: 三会一课, attendance, service, reporting, notices."""
    head = [
        t(lang, "stats.title", unit=unit_name(stats.unit, lang)),
        period_text(stats.period, today, lang),
    ]
    if stats.empty:
        return "\n".join([*head, "", t(lang, "stats.empty")])
    parts = [
        "\n".join(head),
        "\n".join(
            [t(lang, "stats.life_heading")]
            + [requirement_lines(r, stats.period, today, lang) for r in stats.life]
        ),
        "\n".join(
            [
                t(lang, "stats.attendance_heading"),
                attendance_text(stats.attendance, len(stats.activities), lang),
                *_lowest(stats.members, lang),
            ]
        ),
        "\n".join([t(lang, "stats.service_heading"), service_text(stats.service, lang)]),
        "\n".join([t(lang, "stats.reporting_heading"), reporting_text(stats, lang)]),
        "\n".join([t(lang, "stats.notices_heading"), notices_text(stats.notices, lang)]),
    ]
    return "\n\n".join(parts)


def _lowest(members: Sequence[MemberFigures], lang: str) -> list[str]:
    """The members whose attendance is lowest (below full), to follow up with."""
    low = [m for m in members if m.attendance.rate is not None and m.attendance.rate < 1]
    if not low:
        return []
    names = t(lang, "stats.name_separator").join(
        t(lang, "stats.member_rate", name=escape(m.name), rate=percent(m.attendance.rate))
        for m in low[:LOWEST_SHOWN]
    )
    return [t(lang, "stats.lowest", names=names)]


def reporting_text(stats: UnitStats | BranchRow, lang: str) -> str:
    r = stats.reporting
    return t(
        lang,
        "stats.reporting",
        reported=number(r.reported, lang),
        approved=number(r.approved, lang),
        rejected=number(r.rejected, lang),
        waiting=number(r.waiting, lang),
        members=number(r.members, lang),
        floating=number(r.floating, lang),
        dual=number(r.dual_reported, lang),
    )


def notices_text(notices: Notices, lang: str) -> str:
    if not notices.sent:
        return t(lang, "stats.no_notices")
    return t(
        lang,
        "stats.notices",
        sent=number(notices.sent, lang),
        asked=number(notices.asked, lang),
        acknowledged=number(notices.acknowledged, lang),
        share=percent(notices.acknowledged_share),
    )


def row_line(index: int, row: BranchRow, lang: str) -> str:
    """One unit below a committee, on two lines."""
    key = "stats.row_behind" if row.behind else "stats.row"
    return t(
        lang,
        key,
        index=index,
        unit=unit_name(row.unit, lang),
        held=row.life_held,
        required=row.life_required,
        behind=row.behind,
        rate=percent(row.attendance.rate),
        hours=format_hours(row.service.hours),
        acknowledged=percent(row.notices.acknowledged_share),
    )


def committee_text(stats: CommitteeStats, shown: Page[BranchRow], today: date, lang: str) -> str:
    total = stats.total
    lines = [
        t(lang, "stats.title", unit=unit_name(stats.unit, lang)),
        period_text(stats.period, today, lang),
        "",
        t(
            lang,
            "stats.total",
            held=total.life_held,
            required=total.life_required,
            behind=total.behind,
            rate=percent(total.attendance.rate),
            hours=format_hours(total.service.hours),
            acknowledged=percent(total.notices.acknowledged_share),
        ),
        reporting_text(total, lang),
        "",
    ]
    if not stats.rows:
        lines.append(t(lang, "stats.no_units_below"))
    lines += [row_line(shown.offset + i, row, lang) for i, row in enumerate(shown.items, 1)]
    return "\n".join(lines)


def member_line(member: MemberFigures, lang: str) -> str:
    a = member.attendance
    return t(
        lang,
        "stats.member_line",
        name=escape(member.name),
        present=a.present,
        excused=a.excused,
        absent=a.absent,
        made_up=a.made_up,
        rate=percent(a.rate),
    )


def activity_line(figures: ActivityFigures, zone: tzinfo, lang: str) -> str:
    a = figures.attendance
    return t(
        lang,
        "stats.activity_line",
        when=format_when(figures.starts_at.astimezone(zone), lang),
        kind_title=escape(kind_title(figures.kind, figures.title, lang)),
        present=a.present,
        counted=a.counted,
        rate=percent(a.rate),
    )


def period_rows(unit_id: int, period: Period, lang: str) -> list[Row]:
    """The presets, and typed dates."""
    presets: list[tuple[str, Button]] = [
        (t(lang, PRESET_KEYS[kind]), StatsPreset(unit_id, kind.value)) for kind in PRESET_BUTTONS
    ]
    return [presets, [(t(lang, "stats.dates_button"), StatsDates(unit_id))]]


def chart_row(unit_id: int, period: Period, lang: str) -> Row:
    key = period.key()
    return [
        (t(lang, "stats.chart_button.att"), StatsChart(unit_id, "att", key)),
        (t(lang, "stats.chart_button.hours"), StatsChart(unit_id, "hours", key)),
        (t(lang, "stats.chart_button.life"), StatsChart(unit_id, "life", key)),
    ]


def unit_keyboard(
    stats: UnitStats, lang: str, *, up: OrgUnit | None, export: Button | None
) -> InlineKeyboardMarkup:
    unit_id, key = stats.unit.id, stats.period.key()
    lists: list[tuple[str, Button]] = []
    if stats.members:
        lists.append((t(lang, "stats.members_button"), StatsMembers(unit_id, key, 1)))
    if stats.activities:
        lists.append((t(lang, "stats.activities_button"), StatsActivities(unit_id, key, 1)))
    return keyboard(
        lists,
        [] if stats.empty else chart_row(unit_id, stats.period, lang),
        *period_rows(unit_id, stats.period, lang),
        _export_and_up(stats.period, lang, up, export),
    )


def committee_keyboard(
    stats: CommitteeStats,
    shown: Page[BranchRow],
    lang: str,
    *,
    up: OrgUnit | None,
    export: Button | None,
) -> InlineKeyboardMarkup:
    unit_id, key = stats.unit.id, stats.period.key()
    opens = [
        [(short(unit_display_name(row.unit, lang)), StatsOf(row.unit.id, key, 1))]
        for row in shown.items
    ]
    return keyboard(
        *opens,
        pager(shown, lambda page: StatsOf(unit_id, key, page)),
        chart_row(unit_id, stats.period, lang),
        *period_rows(unit_id, stats.period, lang),
        _export_and_up(stats.period, lang, up, export),
    )


def _export_and_up(
    period: Period, lang: str, up: OrgUnit | None, export: Button | None
) -> list[tuple[str, Button]]:
    row: list[tuple[str, Button]] = []
    if export is not None:
        row.append((t(lang, "stats.export_button"), export))
    if up is not None:
        label = t(lang, "stats.up_button", unit=unit_display_name(up, lang))
        row.append((short(label), StatsOf(up.id, period.key(), 1)))
    return row


def back_row(unit_id: int, period: Period, lang: str) -> Row:
    return [(t(lang, "stats.back_button"), StatsOf(unit_id, period.key(), 1))]


def chart_of(
    figures: UnitStats | CommitteeStats, chart: str, lang: str
) -> Callable[[], bytes] | None:
    """How to draw the chart asked for (in a worker thread), or None when there is nothing
    to draw: no meeting held, no hour served."""
    empty = t(lang, "stats.nothing_to_draw")
    title = t(lang, CHARTS[chart])
    if chart == "life":
        # A unit: each kind held against required; a committee: each unit below it.
        if isinstance(figures, CommitteeStats):
            labels = [unit_display_name(row.unit, lang) for row in figures.rows]
            held = [row.life_held for row in figures.rows]
            required = [row.life_required for row in figures.rows]
        else:
            labels = [t(lang, ACTIVITY_KIND_KEYS[r.kind]) for r in figures.life]
            held = [r.held for r in figures.life]
            required = [r.required for r in figures.life]
        if not any(required):
            return None
        return partial(
            _completion_chart,
            title,
            labels,
            held,
            required,
            held_label=t(lang, "stats.chart.held"),
            required_label=t(lang, "stats.chart.required"),
            empty_text=empty,
        )
    if isinstance(figures, CommitteeStats):
        labels = [unit_display_name(row.unit, lang) for row in figures.rows]
        if chart == "att":
            values: list[float | None] = [row.attendance.rate for row in figures.rows]
        else:
            values = [row.service.hours for row in figures.rows]
    else:
        with_year = figures.period.first.year != figures.period.last.year
        labels = [month_label(m.first, lang, with_year) for m in figures.months]
        if chart == "att":
            values = [m.attendance.rate for m in figures.months]
        else:
            values = [m.hours for m in figures.months]
    if all(v is None for v in values) or (chart == "hours" and not any(values)):
        return None  # no meeting held, or no hour served
    if chart == "att":
        return partial(_bar_chart, title, labels, values, value_format="{:.0%}", empty_text=empty)
    return partial(
        _bar_chart,
        title,
        labels,
        values,
        value_format="{:g}",
        y_label=t(lang, "stats.chart.hours_axis"),
        empty_text=empty,
    )


# matplotlib (about 30 MB and 0.3 s) is imported by the first chart drawn, in the worker
# thread that draws it, not by every process that starts the bot.
def _bar_chart(*args: Any, **kwargs: Any) -> bytes:
    from views import charts

    return charts.bar_chart(*args, **kwargs)


def _completion_chart(*args: Any, **kwargs: Any) -> bytes:
    from views import charts

    return charts.completion_chart(*args, **kwargs)
