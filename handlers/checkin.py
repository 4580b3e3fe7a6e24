"""签到 and 签退 by the member: the rotating QR code of the secretary's check-in screen, the
location, and check-out (the check-out screen's code, or the card's button).

Deep links: /start qi_… and /start qo_… (a screen's code, models.attendance.tokens)
ask the member to confirm, after the strict checks at the scan (check_scan); the
confirmation checks in (or out) when pressed in the member's own chat. At a tree
planting the member is asked first how many saplings they planted. /start c_<share
code>, the fixed code of earlier versions, no longer checks in (a photo of it worked
from anywhere): it says where check-in is now and shows the card. Whether check-in is
open, and near enough, is the domain's (models.attendance).
"""

from __future__ import annotations

from html import escape

from telegram import (
    KeyboardButton,
    Location,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)

from handlers.context import BotContext
from handlers.conversation import Conversation, State, Step
from handlers.events import send_card, show_card
from handlers.ui import edit_or_say, say, say_to
from models.activities import (
    Activity,
    ActivityKind,
    CheckInMethod,
    Participation,
    activity_by_share_code,
    get_activity,
)
from models.attendance import (
    ScreenPurpose,
    Token,
    check_in,
    check_in_allowed,
    check_out,
    check_out_allowed,
    check_scan,
    read_token,
    service_hours,
    signed_token,
    typed_saplings,
)
from models.errors import NotFound
from models.members import Member, member_of
from views.buttons import (
    AskCheckIn,
    AskCheckOut,
    ConfirmCheckIn,
    ConfirmCheckOut,
    StaleButton,
    keyboard,
)
from views.dates import format_hours

OLD_PAYLOAD_PREFIX = "c_"  # the fixed check-in code of earlier versions
CONFIRMS = {
    ScreenPurpose.check_in: (ConfirmCheckIn, "checkin.confirm", "checkin.confirm_button"),
    ScreenPurpose.check_out: (ConfirmCheckOut, "checkout.confirm", "checkout.confirm_button"),
}


def location_keyboard(context: BotContext) -> ReplyKeyboardMarkup:
    button = KeyboardButton(context.t("events.share_location_button"), request_location=True)
    return ReplyKeyboardMarkup([[button]], resize_keyboard=True, one_time_keyboard=True)


async def checkin_pressed(update: Update, context: BotContext, press: AskCheckIn) -> None:
    """Asks for the location with a share-location button."""
    await check_in_allowed(
        context.session, press.activity_id, CheckInMethod.location, context.now()
    )
    await CHECKIN.ask(update, context, "location", {"activity_id": press.activity_id})


async def ask_location(update: Update, context: BotContext, state: State) -> None:
    assert update.effective_user
    activity = await get_activity(context.session, state.data["activity_id"])
    text = context.t("events.ask_location", title=escape(activity.title))
    say_to(context, update.effective_user.id, text, location_keyboard(context))


async def save_location(
    update: Update, context: BotContext, state: State, location: Location
) -> None:
    """Too far away keeps the question open (they may be on the way); see handlers.errors."""
    assert update.effective_user
    me = update.effective_user.id
    member = await member_of(context.session, me)
    activity_id = state.data["activity_id"]
    await check_in(
        context.session,
        activity_id,
        member,
        CheckInMethod.location,
        context.now(),
        latitude=location.latitude,
        longitude=location.longitude,
    )
    await CHECKIN.end(context, me)
    title = escape((await get_activity(context.session, activity_id)).title)
    say(update, context, context.t("events.checked_in", title=title), ReplyKeyboardRemove())
    await show_card(update, context, activity_id)


CHECKIN = Conversation(
    "checkin",
    [
        Step(
            "location",
            ask_location,
            on_location=save_location,
            hint="error.unexpected_message",
            keyboard=location_keyboard,
        )
    ],
)


# --- the screen's code -------------------------------------------------------------------------


async def scanned(update: Update, context: BotContext, payload: str) -> None:
    """/start qi_… or qo_…: a screen's code, scanned with the phone's camera. Refusals
    (forged, expired, not open, not expected) come now, before a confirmation is offered."""
    assert update.effective_user
    token = read_token(context.services.check_in_secret, payload)
    member = await member_of(context.session, update.effective_user.id)
    activity = await check_scan(context.session, token, member, context.now())
    button, text_key, button_key = CONFIRMS[token.purpose]
    expires = int(token.expires_at.timestamp())
    markup = keyboard([(context.t(button_key), button(activity.id, expires, token.signature))])
    say(update, context, context.t(text_key, title=escape(activity.title)), markup)


def _in_own_chat(update: Update, context: BotContext) -> None:
    """A confirmation counts as the bot sent it, in the member's own chat with the bot: one
    forwarded, or pressed by someone else where it was sent, is stale."""
    query, user = update.callback_query, update.effective_user
    assert query and user
    message = query.message
    if (
        not isinstance(message, Message)
        or message.chat.id != user.id
        or message.forward_origin is not None
        or message.from_user is None
        or message.from_user.id != context.bot.id
    ):
        raise StaleButton("a confirmation pressed outside the member's own chat")


def _pressed_token(
    context: BotContext, press: ConfirmCheckIn | ConfirmCheckOut, purpose: ScreenPurpose
) -> Token:
    """The scanned token a confirmation button carries, its signature checked again."""
    secret = context.services.check_in_secret
    return signed_token(secret, press.activity_id, purpose, press.expires, press.signature)


async def check_in_confirmed(update: Update, context: BotContext, press: ConfirmCheckIn) -> None:
    _in_own_chat(update, context)
    assert update.effective_user
    token = _pressed_token(context, press, ScreenPurpose.check_in)
    member = await member_of(context.session, update.effective_user.id)
    await check_in(
        context.session, press.activity_id, member, CheckInMethod.qr, context.now(), token=token
    )
    title = escape((await get_activity(context.session, press.activity_id)).title)
    edit_or_say(update, context, context.t("events.checked_in", title=title))
    await send_card(update, context, press.activity_id)


async def check_out_confirmed(update: Update, context: BotContext, press: ConfirmCheckOut) -> None:
    _in_own_chat(update, context)
    assert update.effective_user
    token = _pressed_token(context, press, ScreenPurpose.check_out)
    member = await member_of(context.session, update.effective_user.id)
    activity = await check_out_allowed(
        context.session, press.activity_id, member, context.now(), token
    )
    await _check_out(update, context, activity, member)


# --- check-out ----------------------------------------------------------------------------------


async def check_out_pressed(update: Update, context: BotContext, press: AskCheckOut) -> None:
    """The card's Check out."""
    assert update.effective_user
    member = await member_of(context.session, update.effective_user.id)
    activity = await check_out_allowed(context.session, press.activity_id, member, context.now())
    await _check_out(update, context, activity, member)


async def _check_out(
    update: Update, context: BotContext, activity: Activity, member: Member
) -> None:
    """Checked out at once, or (a tree planting) once the saplings are said. The answer is
    recorded without the code: it was checked when the confirmation was pressed, and typing
    a number may take longer than a code's grace."""
    if activity.kind is ActivityKind.tree_planting:
        await CHECKOUT.ask(update, context, "saplings", {"activity_id": activity.id})
        return
    row = await check_out(context.session, activity.id, member, context.now())
    await _checked_out(update, context, activity, row)


async def _checked_out(
    update: Update, context: BotContext, activity: Activity, row: Participation
) -> None:
    hours = format_hours(service_hours(activity, row))
    lines = [context.t("checkout.done", title=escape(activity.title), hours=hours)]
    if row.saplings_planted is not None:
        lines.append(context.t("checkout.saplings_done", saplings=row.saplings_planted))
    edit_or_say(update, context, "\n".join(lines))
    await send_card(update, context, activity.id)


async def ask_saplings(update: Update, context: BotContext, state: State) -> None:
    assert update.effective_user
    activity = await get_activity(context.session, state.data["activity_id"])
    text = context.t("checkout.ask_saplings", title=escape(activity.title))
    say_to(context, update.effective_user.id, text)


async def save_saplings(update: Update, context: BotContext, state: State, text: str) -> None:
    """Not a whole number keeps the question open; see handlers.errors."""
    assert update.effective_user
    me = update.effective_user.id
    saplings = typed_saplings(text)
    member = await member_of(context.session, me)
    activity_id = state.data["activity_id"]
    row = await check_out(context.session, activity_id, member, context.now(), saplings=saplings)
    await CHECKOUT.end(context, me)
    await _checked_out(update, context, await get_activity(context.session, activity_id), row)


CHECKOUT = Conversation(
    "checkout",
    [Step("saplings", ask_saplings, on_text=save_saplings, hint="error.saplings_invalid")],
)


# --- the fixed code of earlier versions ---------------------------------------------------------


async def old_link(update: Update, context: BotContext, payload: str) -> None:
    """/start c_<share code>: check-in is by the screen's code now; the card, to see why."""
    try:
        activity = await activity_by_share_code(
            context.session, payload.removeprefix(OLD_PAYLOAD_PREFIX)
        )
    except NotFound:
        say(update, context, context.t("events.bad_link"))
        return
    say(update, context, context.t("checkin.scan_the_screen"))
    await show_card(update, context, activity.id)
