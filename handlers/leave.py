"""请假: a member asks for leave from a meeting with a reason; a secretary decides.

The domain (models.attendance) refuses what does not fit, sends the request to the
unit's secretaries as a card, and tells the member the decision. The secretary decides
on the card or in /activities' leave list (handlers.manage), with the same words.
"""

from __future__ import annotations

from html import escape

from telegram import Update

from handlers.context import BotContext
from handlers.conversation import Conversation, State, Step
from handlers.events import show_card
from handlers.manage import LEAVE_LIST, show_people_page
from handlers.ui import decide, say, say_to, show
from models.activities import ParticipationStatus, get_activity
from models.attendance import decide_leave, get_participation, leave_allowed, request_leave
from models.members import member_of
from views.buttons import ApproveLeave, AskLeave, DecideLeaveInList, DeclineLeave, PeoplePage
from views.notifications import leave_card_text

# What an old card shows, by the participation's status after the decision.
DECIDED_KEYS = {
    ParticipationStatus.excused: "events.leave_card_approved",
    ParticipationStatus.leave_declined: "events.leave_card_declined",
}


async def leave_pressed(update: Update, context: BotContext, press: AskLeave) -> None:
    """Asks the reason; refuses first what request_leave would refuse anyway."""
    assert update.effective_user
    member = await member_of(context.session, update.effective_user.id)
    await leave_allowed(context.session, press.activity_id, member, context.now())
    await LEAVE.ask(update, context, "reason", {"activity_id": press.activity_id})


async def ask_reason(update: Update, context: BotContext, state: State) -> None:
    assert update.effective_user
    activity = await get_activity(context.session, state.data["activity_id"])
    text = context.t("events.ask_leave_reason", title=escape(activity.title))
    say_to(context, update.effective_user.id, text)


async def save_reason(update: Update, context: BotContext, state: State, reason: str) -> None:
    """The typed reason: the request goes to the secretaries, each a card to decide on."""
    assert update.effective_user
    me = update.effective_user.id
    member = await member_of(context.session, me)
    activity_id = state.data["activity_id"]
    await request_leave(context.session, activity_id, member, reason, context.now())
    await LEAVE.end(context, me)
    activity = await get_activity(context.session, activity_id)
    say(update, context, context.t("events.leave_sent", title=escape(activity.title)))
    await show_card(update, context, activity_id)


LEAVE = Conversation(
    "leave",
    [Step("reason", ask_reason, on_text=save_reason, placeholder="events.leave_placeholder")],
)


async def decide_pressed(
    update: Update, context: BotContext, press: ApproveLeave | DeclineLeave
) -> str | None:
    assert update.effective_user
    approve = isinstance(press, ApproveLeave)
    me, row = update.effective_user.id, press.participation_id
    decided = await decide(
        update,
        context,
        decide_leave(context.session, row, me, approve, context.now()),
        lambda: _show_card(update, context, row),
    )
    if decided is None:
        return None
    await _show_card(update, context, press.participation_id)
    return _decided_note(context, approve)


async def decide_in_list(
    update: Update, context: BotContext, press: DecideLeaveInList
) -> str | None:
    """Approve or Decline pressed in /activities' leave list: decided as on the request's
    card, and the list shown again on its page, without the request. One decided already
    (on the card, by another secretary) is said so, and the list is brought up to date."""
    assert update.effective_user
    participation = await get_participation(context.session, press.participation_id)
    page = PeoplePage(participation.activity_id, LEAVE_LIST, press.page)
    decided = await decide(
        update,
        context,
        decide_leave(
            context.session,
            press.participation_id,
            update.effective_user.id,
            press.approve,
            context.now(),
        ),
        lambda: show_people_page(update, context, page),
    )
    if decided is None:
        return None
    await show_people_page(update, context, page)
    return _decided_note(context, press.approve)


def _decided_note(context: BotContext, approve: bool) -> str:
    """The answer to the press: approved, or declined."""
    note = "events.leave_approved_note" if approve else "events.leave_declined_note"
    return context.t(note)


async def _show_card(update: Update, context: BotContext, participation_id: int) -> None:
    """The secretary's card, its buttons replaced by what became of the request."""
    participation = await get_participation(context.session, participation_id)
    activity = participation.activity
    zone = await context.activity_zone(activity)
    decided = DECIDED_KEYS.get(participation.status, "events.leave_card_withdrawn")
    text = leave_card_text(participation, activity, participation.member, context.language, zone)
    show(update, context, text + "\n\n" + context.t(decided))
