"""Typed answers: a text, contact or location goes to whatever question the bot last put.

The open question is `Account.awaiting`: a profile step ("name", "phone", ...; see
handlers.profile.ask), or "<prefix>:<id>" for questions about one record, routed
by TEXT_ROUTES and LOCATION_ROUTES below.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from telegram import Update

from bot.context import BotContext
from handlers import activities, common, organize, profile, reporting
from handlers.ui import say
from models.account import touch_account

TEXT_STEPS = ("name", "home_branch", "workplace")
BUTTON_STEPS = ("consent", "member_type")

# "<prefix>:<id>" → the handler of the typed answer, given the id and the text.
TextRoute = Callable[[Update, BotContext, int, str], Awaitable[None]]
TEXT_ROUTES: dict[str, TextRoute] = {
    "reject": reporting.save_reject_reason,
    "retime": organize.save_new_time,
    "replace": organize.save_new_place,
    "pledge": activities.save_pledge,
    "leave": activities.save_leave_reason,
}
# "<prefix>:<id>" → the handler of a shared location, given the id.
LocationRoute = Callable[[Update, BotContext, int], Awaitable[None]]
LOCATION_ROUTES: dict[str, LocationRoute] = {
    "checkin": activities.save_checkin_location,
}
# Whole-word states handled elsewhere (a multi-step conversation): "<prefix>" → handler.
StateRoute = Callable[[Update, BotContext, str, str], Awaitable[None]]
STATE_ROUTES: dict[str, StateRoute] = {"new": organize.on_typed}


async def _awaiting(update: Update, context: BotContext) -> str | None:
    assert update.effective_user
    async with context.db() as session:
        return (await touch_account(session, update.effective_user.id)).awaiting


def _split(awaiting: str | None) -> tuple[str, int | None]:
    prefix, _, rest = (awaiting or "").partition(":")
    return prefix, int(rest) if rest.isdigit() else None


async def on_text(update: Update, context: BotContext) -> None:
    message = update.effective_message
    assert message and message.text is not None
    awaiting = await _awaiting(update, context)
    prefix, record_id = _split(awaiting)
    if awaiting in TEXT_STEPS:
        await profile.save_text(update, context, awaiting, message.text)
    elif awaiting == "phone":
        await say(update, context, context.t("profile.use_phone_button"))
    elif awaiting in BUTTON_STEPS:
        await say(update, context, context.t("profile.use_buttons"))
        await profile.ask(update, context, awaiting)
    elif prefix in TEXT_ROUTES and record_id is not None:
        await TEXT_ROUTES[prefix](update, context, record_id, message.text)
    elif prefix in STATE_ROUTES:
        await STATE_ROUTES[prefix](update, context, awaiting or "", message.text)
    else:
        await common.unexpected_message(update, context)


async def on_contact(update: Update, context: BotContext) -> None:
    if await _awaiting(update, context) == "phone":
        await profile.save_contact(update, context)
    else:
        await common.unexpected_message(update, context)


async def on_location(update: Update, context: BotContext) -> None:
    prefix, record_id = _split(await _awaiting(update, context))
    if prefix in LOCATION_ROUTES and record_id is not None:
        await LOCATION_ROUTES[prefix](update, context, record_id)
    else:
        await common.unexpected_message(update, context)
