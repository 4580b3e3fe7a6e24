"""补学: a member absent from organisational life reports what they studied instead, from
the note of their absence; the unit's secretaries confirm or decline it on a card, as
they decide leave (handlers.leave): a second secretary pressing sees what became of it.
The domain (models.attendance) refuses what does not fit and tells the member.
"""

from __future__ import annotations

from html import escape

from telegram import Update

from handlers.context import BotContext
from handlers.conversation import Conversation, State, Step
from handlers.ui import decide, say, say_to, show
from models.activities import ParticipationStatus, get_activity
from models.attendance import (
    decide_made_up,
    get_participation,
    report_made_up,
    report_made_up_allowed,
)
from models.members import member_of
from views.buttons import AskReportMadeUp, ConfirmMadeUp, DeclineMadeUp
from views.notifications import made_up_buttons, made_up_card_text


async def report_pressed(update: Update, context: BotContext, press: AskReportMadeUp) -> None:
    """Asks what they studied; refuses first what report_made_up would refuse anyway."""
    assert update.effective_user
    member = await member_of(context.session, update.effective_user.id)
    await report_made_up_allowed(context.session, press.activity_id, member, context.now())
    await MADE_UP.ask(update, context, "note", {"activity_id": press.activity_id})


async def ask_note(update: Update, context: BotContext, state: State) -> None:
    assert update.effective_user
    activity = await get_activity(context.session, state.data["activity_id"])
    text = context.t("record.ask_made_up", title=escape(activity.title))
    say_to(context, update.effective_user.id, text)


async def save_note(update: Update, context: BotContext, state: State, note: str) -> None:
    """What they studied: the report goes to the secretaries, each a card to decide on."""
    assert update.effective_user
    me = update.effective_user.id
    member = await member_of(context.session, me)
    await report_made_up(context.session, state.data["activity_id"], member, note, context.now())
    await MADE_UP.end(context, me)
    say(update, context, context.t("record.made_up_sent"))


MADE_UP = Conversation("made_up", [Step("note", ask_note, on_text=save_note)])


async def decide_pressed(
    update: Update, context: BotContext, press: ConfirmMadeUp | DeclineMadeUp
) -> str | None:
    assert update.effective_user
    approve = isinstance(press, ConfirmMadeUp)
    me, row = update.effective_user.id, press.participation_id
    decided = await decide(
        update,
        context,
        decide_made_up(context.session, row, me, approve, context.now()),
        lambda: _show_card(update, context, row),
    )
    if decided is None:
        return None
    await _show_card(update, context, row)
    note = "record.made_up_confirmed_note" if approve else "record.made_up_declined_note"
    return context.t(note)


async def _show_card(update: Update, context: BotContext, participation_id: int) -> None:
    """The secretary's card: its buttons replaced by what became of the report, or kept
    while it still waits (refused for another reason: one's own record)."""
    participation = await get_participation(context.session, participation_id)
    activity = participation.activity
    zone = await context.activity_zone(activity)
    text = made_up_card_text(participation, activity, participation.member, context.language, zone)
    if participation.status is ParticipationStatus.made_up:
        show(update, context, text + "\n\n" + context.t("record.made_up_card_confirmed"))
    elif participation.status is not ParticipationStatus.absent:
        show(update, context, text + "\n\n" + context.t("record.made_up_card_settled"))
    elif participation.made_up_reported_at is None:
        show(update, context, text + "\n\n" + context.t("record.made_up_card_declined"))
    else:
        show(update, context, text, made_up_buttons(context.language, participation))
