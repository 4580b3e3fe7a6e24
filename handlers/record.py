"""/record: the member's own attendance, leave, make-up study and volunteer hours."""

from __future__ import annotations

from datetime import datetime
from html import escape
from zoneinfo import ZoneInfo

from telegram import Update

from handlers.context import BotContext
from handlers.ui import edit_or_say, page_title
from models.attendance import MemberRecord, RecordEntry, member_record
from models.members import Member, get_member
from models.paging import page_of
from views.buttons import RecordPage, pager_keyboard
from views.dates import format_hours, format_when
from views.labels import OUTCOME_KEYS

# A line is a time, a title (at most 100) and an outcome: at most about 250 UTF-16 units.
ENTRIES_PAGE = 10


async def record_command(update: Update, context: BotContext) -> None:
    await show_record(update, context, RecordPage(1))


async def year_record(context: BotContext, member: Member) -> tuple[MemberRecord, int]:
    """The member's record with this year's totals (the year of the bot's time zone)."""
    now = context.now()
    zone = ZoneInfo(context.services.defaults.timezone)
    year = now.astimezone(zone).year
    since = datetime(year, 1, 1, tzinfo=zone)
    return await member_record(context.session, member, now, since), year


def totals_text(context: BotContext, record: MemberRecord, year: int) -> str:
    totals = record.totals
    rate = totals.attendance_rate
    return context.t(
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


async def entry_lines(context: BotContext, entries: list[RecordEntry]) -> list[str]:
    """One line per past activity: when, what, and what became of the member."""
    lines = []
    for entry in entries:
        starts = entry.activity.starts_at.astimezone(await context.activity_zone(entry.activity))
        lines.append(
            context.t(
                "events.record_line",
                when=format_when(starts, context.language),
                title=escape(entry.activity.title),
                outcome=context.t(OUTCOME_KEYS[entry.outcome]),
            )
        )
    return lines


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
    edit_or_say(update, context, "\n".join(lines), pager_keyboard(shown, RecordPage))
