"""/calendar (and its button under /events): the member's own calendar as one .ics file.

What is in it and with which status: models.activities.calendar. Importing it again
updates the entries (the UIDs are the card's "Add to calendar" file's).
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from telegram import Update

from handlers.context import BotContext
from handlers.ui import plain, say, send_file
from models.activities import (
    CALENDAR_AHEAD,
    CALENDAR_PAST,
    ActivityStatus,
    MemberActivity,
    calendar_around,
    calendar_event_of,
    calendar_file,
)
from models.members import get_member
from views.buttons import MyCalendar
from views.labels import PARTICIPATION_KEYS

FILE_NAME = "my-calendar.ics"


async def calendar_command(update: Update, context: BotContext) -> None:
    await send_my_calendar(update, context)


async def calendar_pressed(update: Update, context: BotContext, press: MyCalendar) -> None:
    await send_my_calendar(update, context)


def _note(context: BotContext, item: MemberActivity) -> str:
    """The member's status at the activity, as the first line of the event's description."""
    if item.activity.status is ActivityStatus.cancelled:
        return plain(context.t("events.card_cancelled"))
    if item.participation is None:
        return ""
    status = context.t(PARTICIPATION_KEYS[item.participation.status])
    return plain(context.t("events.your_status", status=status))


async def send_my_calendar(update: Update, context: BotContext) -> None:
    assert update.effective_user
    member = await get_member(context.session, update.effective_user.id)
    if member is None or member.forgotten_at is not None:
        say(update, context, context.t("events.not_member"))
        return
    found = await calendar_around(context.session, member, context.now())
    if not found.entries:
        # Nobody's member yet: what /events says; else there is just nothing in the window.
        key = "events.my_calendar_empty" if found.unit_ids else "events.not_member"
        say(update, context, context.t(key, past=CALENDAR_PAST.days, ahead=CALENDAR_AHEAD.days))
        return
    if found.unit_ids:
        zone = await context.unit_zone(min(found.unit_ids))
    else:
        zone = ZoneInfo(context.services.defaults.timezone)
    events = [calendar_event_of(item, _note(context, item)) for item in found.entries]
    body = calendar_file(events, str(zone), name=context.t("events.my_calendar_name"))
    caption = context.t(
        "events.my_calendar_caption",
        count=len(events),
        past=CALENDAR_PAST.days,
        ahead=CALENDAR_AHEAD.days,
    )
    send_file(update, context, body, FILE_NAME, caption)
