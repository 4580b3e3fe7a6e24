"""签到: checking in at the venue, by sharing one's location or scanning the venue's QR code.

Deep link: /start c_<share code> (the venue's QR code) checks the member in. Whether
check-in is open, and near enough, is the domain's (models.attendance).
"""

from __future__ import annotations

from html import escape

from telegram import KeyboardButton, Location, ReplyKeyboardMarkup, ReplyKeyboardRemove, Update

from handlers.context import BotContext
from handlers.conversation import Conversation, State, Step
from handlers.events import show_card
from handlers.ui import say, say_to
from models.activities import CheckInMethod, activity_by_share_code, get_activity
from models.attendance import check_in, check_in_allowed
from models.errors import NotFound
from models.members import active_member, member_of
from views.buttons import AskCheckIn

PAYLOAD_PREFIX = "c_"


def checkin_payload(share_code: str) -> str:
    return f"{PAYLOAD_PREFIX}{share_code}"


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


async def check_in_by_qr(update: Update, context: BotContext, payload: str) -> None:
    """/start c_<share code>: the venue's QR code, scanned on site."""
    assert update.effective_user
    try:
        activity = await activity_by_share_code(
            context.session, payload.removeprefix(PAYLOAD_PREFIX)
        )
    except NotFound:
        say(update, context, context.t("events.bad_link"))
        return
    member = await active_member(context.session, update.effective_user.id)
    if member is None:
        say(update, context, context.t("events.not_member"))
        return
    await check_in(context.session, activity.id, member, CheckInMethod.qr, context.now())
    say(update, context, context.t("events.checked_in", title=escape(activity.title)))
    await show_card(update, context, activity.id)
