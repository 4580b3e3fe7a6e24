"""/record: the member's own attendance, leave, make-up study and volunteer hours."""

from __future__ import annotations

from html import escape

from telegram import Update

from handlers.context import BotContext
from handlers.ui import say
from models.attendance import member_record
from models.members import get_member
from views.dates import format_when
from views.labels import OUTCOME_KEYS

ENTRIES_SHOWN = 10


async def record_command(update: Update, context: BotContext) -> None:
    assert update.effective_user
    member = await get_member(context.session, update.effective_user.id)
    if member is None or member.forgotten_at is not None:
        say(update, context, context.t("events.not_member"))
        return
    record = await member_record(context.session, member, context.now())
    lines = [
        context.t(
            "events.record_title",
            attended=record.attended,
            excused=record.excused,
            absent=record.absent,
            made_up=record.made_up,
            hours=format(round(record.volunteer_hours, 1), "g"),
        )
    ]
    for entry in record.entries[:ENTRIES_SHOWN]:
        starts = entry.activity.starts_at.astimezone(await context.activity_zone(entry.activity))
        lines.append(
            context.t(
                "events.record_line",
                when=format_when(starts, context.language),
                title=escape(entry.activity.title),
                outcome=context.t(OUTCOME_KEYS[entry.outcome]),
            )
        )
    if not record.entries:
        lines.append(context.t("events.record_empty"))
    say(update, context, "\n".join(lines))
