"""/record: the member's own attendance, leave, make-up study and volunteer hours."""

from __future__ import annotations

from datetime import datetime
from html import escape
from zoneinfo import ZoneInfo

from telegram import Update

from handlers.context import BotContext
from handlers.ui import edit_or_say, page_title
from models.attendance import MemberRecord, Outcome, RecordEntry, member_record
from models.members import Member, get_member
from models.paging import page_of
from views.buttons import RecordPage, RecordYear, keyboard, pager
from views.dates import format_hours, format_when
from views.labels import OUTCOME_KEYS

# A line is a time, a title (at most 100) and an outcome: at most about 250 UTF-16 units.
ENTRIES_PAGE = 10


async def record_command(update: Update, context: BotContext) -> None:
    await show_record(update, context, RecordPage(1))


def this_year(context: BotContext) -> int:
    """The year now in the bot's time zone."""
    return context.now().astimezone(ZoneInfo(context.services.defaults.timezone)).year


async def year_record(
    context: BotContext, member: Member, year: int | None = None
) -> tuple[MemberRecord, int]:
    """The member's record with the totals of a year (this year's without)."""
    year = this_year(context) if year is None else year
    zone = ZoneInfo(context.services.defaults.timezone)
    since, until = datetime(year, 1, 1, tzinfo=zone), datetime(year + 1, 1, 1, tzinfo=zone)
    return await member_record(context.session, member, context.now(), since, until), year


def totals_text(context: BotContext, record: MemberRecord, year: int) -> str:
    totals = record.totals
    rate = totals.attendance_rate
    title = context.t(
        "events.record_title",
        year=year,
        attended=totals.attended,
        excused=totals.excused,
        absent=totals.absent,
        made_up=totals.made_up,
        rate="—" if rate is None else f"{rate:.0%}",
        hours=format_hours(totals.volunteer_hours),
        saplings=totals.saplings_planted,
    )
    more = context.t(
        "events.record_more",
        asked=record.notices.asked,
        acknowledged=record.notices.acknowledged,
        signed_up=totals.signed_up,
        signed_up_attended=totals.signed_up_attended,
    )
    return f"{title}\n{more}"


async def entry_lines(context: BotContext, entries: list[RecordEntry]) -> list[str]:
    """One line per activity (past, or under way and checked in): when, what, and what
    became of the member."""
    lines = []
    for entry in entries:
        starts = entry.activity.starts_at.astimezone(await context.activity_zone(entry.activity))
        lines.append(
            context.t(
                "events.record_line",
                when=format_when(starts, context.language),
                title=escape(entry.activity.title),
                outcome=outcome_text(context, entry),
            )
        )
    return lines


def outcome_text(context: BotContext, entry: RecordEntry) -> str:
    """What became of the member; a check-in before the record is closed (at the end) is
    said as the activity's card says it: checked in, confirmed when it ends."""
    if entry.outcome is Outcome.attended and entry.activity.record_closed_at is None:
        return context.t("events.outcome.checked_in_open")
    return context.t(OUTCOME_KEYS[entry.outcome])


async def show_record(update: Update, context: BotContext, press: RecordPage) -> None:
    """/record: this year's totals, then the past activities, most recent first, a page at
    a time."""
    assert update.effective_user
    member = await get_member(context.session, update.effective_user.id)
    if member is None or member.forgotten_at is not None:
        edit_or_say(update, context, context.t("events.not_member"))
        return
    record, year = await year_record(context, member)
    shown = page_of(record.entries, press.page, ENTRIES_PAGE)
    lines = [
        totals_text(context, record, year),
        "",
        page_title(context, context.t("events.record_entries", total=shown.total), shown),
    ]
    lines += await entry_lines(context, shown.items)
    if not record.entries:
        lines.append(context.t("events.record_empty"))
    last_year = (context.t("events.record_year_button", year=year - 1), RecordYear(year - 1))
    markup = keyboard(pager(shown, RecordPage), [last_year])
    edit_or_say(update, context, "\n".join(lines), markup)


async def show_year(update: Update, context: BotContext, press: RecordYear) -> None:
    """The totals of last year (or this year), in place of /record."""
    assert update.effective_user
    member = await get_member(context.session, update.effective_user.id)
    if member is None or member.forgotten_at is not None:
        edit_or_say(update, context, context.t("events.not_member"))
        return
    now_year = this_year(context)
    back = [(context.t("events.record_back_button", year=now_year), RecordPage(1))]
    if press.year not in (now_year, now_year - 1):  # a button kept from an earlier year
        text = context.t("events.record_year_unavailable", year=press.year)
        edit_or_say(update, context, text, keyboard(back))
        return
    record, year = await year_record(context, member, press.year)
    edit_or_say(update, context, totals_text(context, record, year), keyboard(back))
