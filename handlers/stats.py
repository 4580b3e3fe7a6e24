"""/stats: the numbers a secretary or committee reports upward, for a unit and a period,
as text, charts and (through /export) spreadsheets. The figures are the domain's
(models.stats); who may see which unit too."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

from telegram import Update

from handlers.context import BotContext
from handlers.conversation import Conversation, State, Step
from handlers.exports import export_menu
from handlers.ui import edit_or_say, page_title, say, send_file, show
from models.org import OrgUnit, UnitKind, get_unit, unit_display_name
from models.paging import page_of
from models.permissions import Permission, can, require
from models.stats.figures import CommitteeStats, UnitStats
from models.stats.period import Preset, carried_period, check_period, preset
from models.stats.queries import committee_stats, stats_units, unit_stats
from views.buttons import (
    ExportMenu,
    StaleButton,
    StatsActivities,
    StatsChart,
    StatsDates,
    StatsExport,
    StatsMembers,
    StatsOf,
    StatsPreset,
    StatsUnits,
    choice_keyboard,
    keyboard,
    pager,
)
from views.dates import parse_period
from views.stats import (
    ACTIVITIES_PAGE,
    CHARTS,
    MEMBERS_PAGE,
    activity_line,
    back_row,
    chart_of,
    committee_keyboard,
    committee_text,
    member_line,
    period_text,
    unit_keyboard,
    unit_name,
    unit_text,
)

COMMITTEE_KINDS = (UnitKind.committee, UnitKind.community)
DEFAULT_PRESET = Preset.quarter  # covers both the monthly and the quarterly requirements
ROWS_PAGE = 10  # a committee's units below it: two lines each


async def stats_command(update: Update, context: BotContext) -> None:
    await choose_unit(update, context, StatsUnits(1))


async def choose_unit(update: Update, context: BotContext, press: StatsUnits) -> None:
    """The only unit this person may see the figures of, or a choice of them."""
    assert update.effective_user
    units = await stats_units(context.session, update.effective_user.id)
    if len(units) == 1:
        await preset_chosen(update, context, StatsPreset(units[0].id, DEFAULT_PRESET.value))
        return
    options = [
        (unit_display_name(unit, context.language), StatsPreset(unit.id, DEFAULT_PRESET.value))
        for unit in units
    ]
    markup = choice_keyboard(options, press.page, StatsUnits)
    edit_or_say(update, context, context.t("stats.choose_unit"), markup)


async def preset_chosen(update: Update, context: BotContext, press: StatsPreset) -> None:
    try:
        kind = Preset(press.preset)
    except ValueError as error:
        raise StaleButton(press.preset) from error
    unit, _, today = await _place(context, press.unit_id)
    period = preset(kind, today)
    await show_stats(update, context, StatsOf(unit.id, period.key(), 1))


async def _place(context: BotContext, unit_id: int) -> tuple[OrgUnit, ZoneInfo, date]:
    """The unit, its time zone and its local today (looked up once a press)."""
    unit = await get_unit(context.session, unit_id)
    zone = await context.zone(unit)
    return unit, zone, context.today(zone)


async def _figures(
    update: Update, context: BotContext, unit_id: int, key: int
) -> tuple[UnitStats | CommitteeStats, date]:
    """A committee's units side by side, or one unit's figures; and the unit's today."""
    assert update.effective_user
    unit, zone, today = await _place(context, unit_id)
    period = carried_period(key, today)
    now, me = context.now(), update.effective_user.id
    if unit.kind in COMMITTEE_KINDS:
        return await committee_stats(context.session, me, unit.id, period, now, zone), today
    return await unit_stats(context.session, me, unit.id, period, now, zone), today


async def _up(context: BotContext, unit: OrgUnit, telegram_id: int) -> OrgUnit | None:
    """The unit above, when this person may see its figures too (back up the tree)."""
    if unit.parent_id is None:
        return None
    if not await can(context.session, telegram_id, Permission.view_stats, unit.parent_id):
        return None
    return await get_unit(context.session, unit.parent_id)


async def show_stats(update: Update, context: BotContext, press: StatsOf) -> None:
    assert update.effective_user
    figures, today = await _figures(update, context, press.unit_id, press.period)
    lang, unit = context.language, figures.unit
    up = await _up(context, unit, update.effective_user.id)
    export = StatsExport(unit.id, figures.period.key())
    if isinstance(figures, CommitteeStats):
        shown = page_of(figures.rows, press.page, ROWS_PAGE)
        text = committee_text(figures, shown, today, lang)
        markup = committee_keyboard(figures, shown, lang, up=up, export=export)
    else:
        text = unit_text(figures, today, lang)
        markup = unit_keyboard(figures, lang, up=up, export=export)
    show(update, context, text, markup)


async def _unit_figures(
    update: Update, context: BotContext, unit_id: int, key: int
) -> tuple[UnitStats, ZoneInfo, date]:
    """One unit's figures (a committee's too: its whole tree), its zone and its today."""
    assert update.effective_user
    unit, zone, today = await _place(context, unit_id)
    period = carried_period(key, today)
    me = update.effective_user.id
    stats = await unit_stats(context.session, me, unit.id, period, context.now(), zone)
    return stats, zone, today


async def export_pressed(update: Update, context: BotContext, press: StatsExport) -> None:
    """/export's menu for the same unit and period, as a message of its own."""
    await export_menu(update, context, ExportMenu(press.unit_id, press.period, False), anew=True)


async def show_members(update: Update, context: BotContext, press: StatsMembers) -> None:
    """A page of the members' attendance, the lowest first."""
    stats, _, today = await _unit_figures(update, context, press.unit_id, press.period)
    lang = context.language
    shown = page_of(stats.members, press.page, MEMBERS_PAGE)
    title = context.t("stats.members_title", unit=unit_name(stats.unit, lang))
    lines = [page_title(context, title, shown), period_text(stats.period, today, lang)]
    lines += [member_line(member, lang) for member in shown.items]
    markup = keyboard(
        pager(shown, lambda page: StatsMembers(press.unit_id, press.period, page)),
        back_row(press.unit_id, stats.period, lang),
    )
    edit_or_say(update, context, "\n".join(lines), markup)


async def show_activities(update: Update, context: BotContext, press: StatsActivities) -> None:
    """A page of the meetings held, each with its attendance, the latest first."""
    stats, zone, today = await _unit_figures(update, context, press.unit_id, press.period)
    lang = context.language
    shown = page_of(list(reversed(stats.activities)), press.page, ACTIVITIES_PAGE)
    title = context.t("stats.activities_title", unit=unit_name(stats.unit, lang))
    lines = [page_title(context, title, shown), period_text(stats.period, today, lang)]
    lines += [activity_line(figures, zone, lang) for figures in shown.items]
    markup = keyboard(
        pager(shown, lambda page: StatsActivities(press.unit_id, press.period, page)),
        back_row(press.unit_id, stats.period, lang),
    )
    edit_or_say(update, context, "\n".join(lines), markup)


async def send_chart(update: Update, context: BotContext, press: StatsChart) -> str | None:
    """A chart of the figures as a picture, drawn in a worker thread once the update is
    done (as exports are built); a line of text when there is nothing to draw."""
    if press.chart not in CHARTS:
        raise StaleButton(press.chart)
    figures, today = await _figures(update, context, press.unit_id, press.period)
    lang = context.language
    drawing = chart_of(figures, press.chart, lang)
    if drawing is None:
        return context.t("stats.nothing_to_draw")
    title = context.t(CHARTS[press.chart])
    caption = context.t(
        "stats.chart_caption",
        chart=title,
        unit=unit_name(figures.unit, lang),
        period=period_text(figures.period, today, lang),
    )
    first, last = (f"{day:%Y%m%d}" for day in (figures.period.first, figures.period.last))
    name = f"{press.chart}-{figures.unit.code}-{first}-{last}.png"
    send_file(update, context, drawing, name, caption, photo=True)
    return None


async def ask_dates(update: Update, context: BotContext, press: StatsDates) -> None:
    assert update.effective_user
    unit = await get_unit(context.session, press.unit_id)
    await require(context.session, update.effective_user.id, Permission.view_stats, unit.id)
    await DATES.ask(update, context, "dates", {"unit_id": press.unit_id})


async def _ask(update: Update, context: BotContext, state: State) -> None:
    say(update, context, context.t("stats.ask_dates"))


async def dates_typed(update: Update, context: BotContext, state: State, text: str) -> None:
    """Typed dates: checked like a press, then the figures of that period."""
    assert update.effective_user
    unit, _, today = await _place(context, state.data["unit_id"])
    first, last = parse_period(text)
    period = check_period(first, last, today)
    await DATES.end(context, update.effective_user.id)
    await show_stats(update, context, StatsOf(unit.id, period.key(), 1))


DATES = Conversation("stats", [Step("dates", _ask, on_text=dates_typed, hint="stats.ask_dates")])
