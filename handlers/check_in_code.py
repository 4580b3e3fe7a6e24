"""签到 with the short code the secretary reads out at the venue (for members without a
camera at hand, or when the QR code is hard to scan).

The card's "enter the code" button opens a one-step question; the typed digits go to
the domain (models.attendance.enter_code), which counts wrong codes in a row and slows
the member down after a few: a wrong code keeps the question open, a wait closes it.
"""

from __future__ import annotations

from html import escape

from telegram import Update

from handlers.context import BotContext
from handlers.conversation import Conversation, State, Step
from handlers.events import show_card
from handlers.ui import say
from models.activities import CheckInMethod, get_activity
from models.attendance import WrongCode, check_in_allowed, enter_code
from models.members import member_of
from views.buttons import EnterCode
from views.dates import format_wait


async def code_pressed(update: Update, context: BotContext, press: EnterCode) -> None:
    await check_in_allowed(context.session, press.activity_id, CheckInMethod.code, context.now())
    await CODE.ask(update, context, "code", {"activity_id": press.activity_id})


async def ask_code(update: Update, context: BotContext, state: State) -> None:
    activity = await get_activity(context.session, state.data["activity_id"])
    say(update, context, context.t("checkin.ask_code", title=escape(activity.title)))


async def save_code(update: Update, context: BotContext, state: State, text: str) -> None:
    assert update.effective_user
    me = update.effective_user.id
    member = await member_of(context.session, me)
    activity_id = state.data["activity_id"]
    result = await enter_code(context.session, activity_id, member, text, context.now())
    if isinstance(result, WrongCode):
        if result.retry_at is None:
            say(update, context, context.t("checkin.wrong_code"))  # the question stays open
        else:
            await CODE.end(context, me)
            wait = format_wait(result.retry_at - context.now(), context.language)
            say(update, context, context.t("checkin.wrong_code_wait", wait=wait))
        return
    await CODE.end(context, me)
    title = escape((await get_activity(context.session, activity_id)).title)
    say(update, context, context.t("events.checked_in", title=title))
    await show_card(update, context, activity_id)


CODE = Conversation(
    "checkin_code",
    [Step("code", ask_code, on_text=save_code, hint="checkin.code_hint")],
)
