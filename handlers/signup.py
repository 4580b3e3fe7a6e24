"""Signing up (volunteering, tree planting, with a pledge where asked), cancelling, and
answering an invitation to a meeting. Seats and the waitlist are the domain's
(models.activities): it refuses what does not fit and tells whoever gets a freed seat.
"""

from __future__ import annotations

from html import escape

from telegram import Update

from handlers.context import BotContext
from handlers.conversation import Conversation, State, Step
from handlers.events import show_card
from handlers.ui import say, say_to
from models.activities import (
    Participation,
    ParticipationStatus,
    cancel_signup,
    get_activity,
    participation_of,
    position_of,
    sign_up,
    sign_up_allowed,
)
from models.attendance import respond_attend
from models.errors import InvalidInput
from models.members import member_of
from views.buttons import Attend, CancelSignUp, SignUp
from views.labels import PLEDGE_QUESTION_KEYS


async def sign_up_pressed(update: Update, context: BotContext, press: SignUp) -> str | None:
    assert update.effective_user
    me = update.effective_user.id
    member = await member_of(context.session, me)
    activity = await get_activity(context.session, press.activity_id)
    if activity.pledge_kind in PLEDGE_QUESTION_KEYS:  # the pledge first, then the sign-up
        await sign_up_allowed(context.session, activity.id, member, context.now())
        await PLEDGE.ask(update, context, "amount", {"activity_id": activity.id})
        return None
    participation = await sign_up(context.session, activity.id, member, context.now())
    await show_card(update, context, activity.id)
    return await _signed_up_note(context, participation)


async def ask_pledge(update: Update, context: BotContext, state: State) -> None:
    assert update.effective_user
    activity = await get_activity(context.session, state.data["activity_id"])
    question = context.t(PLEDGE_QUESTION_KEYS[activity.pledge_kind], title=escape(activity.title))
    say_to(context, update.effective_user.id, question)


async def save_pledge(update: Update, context: BotContext, state: State, text: str) -> None:
    """The typed pledge: a whole number; anything else asks again."""
    assert update.effective_user
    me = update.effective_user.id
    if not text.strip():  # sign_up reads an empty pledge as "none"; here one was asked for
        raise InvalidInput("pledge", "pledge.invalid")
    member = await member_of(context.session, me)
    activity_id = state.data["activity_id"]
    participation = await sign_up(context.session, activity_id, member, context.now(), text)
    await PLEDGE.end(context, me)
    say(update, context, await _signed_up_note(context, participation))
    await show_card(update, context, activity_id)


PLEDGE = Conversation("pledge", [Step("amount", ask_pledge, on_text=save_pledge)])


async def _signed_up_note(context: BotContext, participation: Participation) -> str:
    if participation.status is ParticipationStatus.waitlisted:
        position = await position_of(context.session, participation)
        return context.t("events.waitlisted_note", position=position or 1)
    return context.t("events.signed_up_note")


async def cancel_pressed(update: Update, context: BotContext, press: CancelSignUp) -> str:
    """Give up a seat or leave the waitlist; the first one waiting is told they have a seat."""
    assert update.effective_user
    member = await member_of(context.session, update.effective_user.id)
    mine = await participation_of(context.session, press.activity_id, member.id)
    was_waiting = mine is not None and mine.status is ParticipationStatus.waitlisted
    await cancel_signup(context.session, press.activity_id, member, context.now())
    await show_card(update, context, press.activity_id)
    note = "events.left_waitlist_note" if was_waiting else "events.cancelled_note"
    return context.t(note)


async def attend_pressed(update: Update, context: BotContext, press: Attend) -> str:
    assert update.effective_user
    member = await member_of(context.session, update.effective_user.id)
    await respond_attend(context.session, press.activity_id, member, context.now())
    await show_card(update, context, press.activity_id)
    return context.t("events.attend_note")
