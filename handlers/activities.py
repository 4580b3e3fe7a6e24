"""The member's side of activities: /events, the card, sign-up, leave, check-in, /record.

Callback data (prefix "ev"), ids re-loaded and re-checked on every press:
  l:<page>  the list     v:<activity>  the card (o:<activity> the same, sent anew: from a notice)
  s:<activity>  sign up or join the waitlist
  c:<activity>  cancel my place or leave the waitlist       a:<activity>  attend
  r:<activity>  request leave (asks the reason)             ics:<activity>  calendar file
  ci:<activity>  check in (asks for the location)
Leave decisions (prefix "lv"): ok:<participation>  approve   no:<participation>  decline

Typed answers (handlers.input): "pledge:<activity>", "leave:<activity>" (text) and
"checkin:<activity>" (location). Deep links: /start a_<share code> opens the card,
/start c_<share code> (the venue's QR code) checks the member in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from html import escape
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import (
    InlineKeyboardMarkup,
    InputFile,
    KeyboardButton,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)

from bot.context import BotContext
from bot.dates import format_when
from bot.i18n import t
from bot.labels import ACTIVITY_KIND_KEYS
from handlers import callbacks
from handlers.notify import notify
from handlers.ui import (
    answer_error,
    buttons,
    edit_or_say,
    error_text,
    run_press,
    say,
    short,
    unit_name,
)
from models.account import expect
from models.activities import (
    SEAT_STATUSES,
    SHARE_PAYLOAD_PREFIX,
    Activity,
    ActivityMode,
    ActivityStatus,
    CheckInMethod,
    Participation,
    ParticipationStatus,
    PledgeKind,
    activity_by_share_code,
    cancel_signup,
    get_activity,
    ics_for,
    in_audience,
    participation_of,
    seats_left,
    share_payload,
    sign_up,
    upcoming_for_member,
    waitlist_length,
    waitlist_position,
)
from models.attendance import (
    CHECK_IN_OPENS_BEFORE,
    CheckInTooFar,
    Outcome,
    check_in,
    decide_leave,
    get_participation,
    member_record,
    request_leave,
    respond_attend,
)
from models.errors import DomainError, InvalidInput, InvalidState, NotFound
from models.members import Member, MembershipStatus, get_member, memberships_of
from models.org import OrgUnit, get_unit, unit_timezone
from models.staff import reviewers_of

PREFIX = "ev"
LEAVE_PREFIX = "lv"
CHECKIN_PAYLOAD_PREFIX = "c_"
PAGE_SIZE = 5
DESCRIPTION_SHOWN = 300  # the card is a summary; the calendar file has the whole text
RECORD_ENTRIES_SHOWN = 10

# Literal keys (not f-strings) so that the catalog test sees each one.

PARTICIPATION_KEYS = {
    ParticipationStatus.signed_up: "events.status.signed_up",
    ParticipationStatus.waitlisted: "events.status.waitlisted",
    ParticipationStatus.cancelled: "events.status.cancelled",
    ParticipationStatus.expected: "events.status.expected",
    ParticipationStatus.attending: "events.status.attending",
    ParticipationStatus.leave_requested: "events.status.leave_requested",
    ParticipationStatus.excused: "events.status.excused",
    ParticipationStatus.leave_declined: "events.status.leave_declined",
    ParticipationStatus.absent: "events.status.absent",
    ParticipationStatus.made_up: "events.status.made_up",
}

OUTCOME_KEYS = {
    Outcome.attended: "events.outcome.attended",
    Outcome.excused: "events.outcome.excused",
    Outcome.absent: "events.outcome.absent",
    Outcome.made_up: "events.outcome.made_up",
    Outcome.unconfirmed: "events.outcome.unconfirmed",
}

PLEDGE_QUESTION_KEYS = {
    PledgeKind.saplings: "events.ask_pledge_saplings",
    PledgeKind.money: "events.ask_pledge_money",
}

PLEDGE_LINE_KEYS = {
    PledgeKind.saplings: "events.pledge_saplings",
    PledgeKind.money: "events.pledge_money",
}


# --- who is asking --------------------------------------------------------------------------


async def _active_member(session: AsyncSession, telegram_id: int) -> Member | None:
    """The member, if they have a profile and at least one active membership."""
    member = await get_member(session, telegram_id)
    if member is None or member.forgotten_at is not None:
        return None
    memberships = await memberships_of(session, member)
    if not any(m.status is MembershipStatus.active for m in memberships):
        return None
    return member


async def _member_or_refuse(session: AsyncSession, telegram_id: int) -> Member:
    """For presses and typed answers: the member, or the refusal that explains how to report."""
    member = await get_member(session, telegram_id)
    if member is None or member.forgotten_at is not None:
        raise InvalidState("profile.incomplete")
    return member


async def _zone(context: BotContext, session: AsyncSession, unit: OrgUnit) -> ZoneInfo:
    return await unit_timezone(session, unit, context.services.config.bot.timezone)


def _when(starts_at: datetime, ends_at: datetime, zone: ZoneInfo, language: str) -> str:
    """ "2026年3月12日（周四）09:00–11:00", the end in full when it is another day."""
    start, end = starts_at.astimezone(zone), ends_at.astimezone(zone)
    end_text = f"{end:%H:%M}" if end.date() == start.date() else format_when(end, language)
    return f"{format_when(start, language)}–{end_text}"


def share_link(context: BotContext, activity: Activity) -> str:
    return f"https://t.me/{context.bot.username}?start={share_payload(activity)}"


def checkin_link(context: BotContext, activity: Activity) -> str:
    """The venue's check-in QR code opens this: the member is checked in by QR."""
    return (
        f"https://t.me/{context.bot.username}?start={CHECKIN_PAYLOAD_PREFIX}{activity.share_code}"
    )


# --- /events ------------------------------------------------------------------------------


async def events_command(update: Update, context: BotContext) -> None:
    await show_list(update, context, 1)


async def show_list(update: Update, context: BotContext, page: int) -> None:
    assert update.effective_user
    async with context.db() as session:
        member = await _active_member(session, update.effective_user.id)
        listing = await _list_page(context, session, member, page) if member else None
    if member is None:
        await _show(update, context, context.t("events.not_member"))
    elif listing is None:
        await _show(update, context, context.t("events.none"))
    else:
        await _show(update, context, *listing)


async def _list_page(
    context: BotContext, session: AsyncSession, member: Member, page: int
) -> tuple[str, InlineKeyboardMarkup] | None:
    """One page of what is coming, with a button per activity; None when nothing is."""
    found = await upcoming_for_member(session, member, context.now(), page, PAGE_SIZE)
    if not found.items:
        return None
    lines = [context.t("events.list_title", page=found.page, pages=found.pages)]
    rows: list[list[tuple[str, str]]] = []
    for item in found.items:
        activity, mine = item.activity, item.participation
        zone = await _zone(context, session, await get_unit(session, activity.org_unit_id))
        starts = activity.starts_at.astimezone(zone)
        status = " · " + context.t(PARTICIPATION_KEYS[mine.status]) if mine else ""
        lines.append(
            context.t(
                "events.list_line",
                title=escape(activity.title),
                when=format_when(starts, context.language),
                kind=context.t(ACTIVITY_KIND_KEYS[activity.kind]),
                status=status,
            )
        )
        label = f"{starts:%m-%d %H:%M} {activity.title}"
        rows.append([(short(label), callbacks.data(PREFIX, "v", activity.id))])
    navigation = []
    if found.page > 1:
        navigation.append(("‹", callbacks.data(PREFIX, "l", found.page - 1)))
    if found.page < found.pages:
        navigation.append(("›", callbacks.data(PREFIX, "l", found.page + 1)))
    if navigation:
        rows.append(navigation)
    return "\n\n".join(lines), buttons(*rows)


# --- the card ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class CardState:
    """What the card shows, read in one session."""

    activity: Activity
    unit: OrgUnit
    zone: ZoneInfo
    member: Member | None
    in_audience: bool
    mine: Participation | None
    position: int | None
    seats_left: int | None
    waiting: int


async def _card_state(
    session: AsyncSession, context: BotContext, activity: Activity, member: Member | None
) -> CardState:
    unit = await get_unit(session, activity.org_unit_id)
    audience = member is not None and await in_audience(session, activity, member.id)
    mine = await participation_of(session, activity.id, member.id) if member else None
    return CardState(
        activity=activity,
        unit=unit,
        zone=await _zone(context, session, unit),
        member=member,
        in_audience=audience,
        mine=mine,
        position=await waitlist_position(session, activity.id, member) if member else None,
        seats_left=await seats_left(session, activity.id),
        waiting=await waitlist_length(session, activity.id),
    )


def _status_line(context: BotContext, state: CardState) -> str:
    activity, mine = state.activity, state.mine
    if state.member is None or not state.in_audience:
        if mine is None:
            unit = escape(unit_name(context, state.unit))
            return context.t("events.not_in_audience", unit=unit)
    if mine is None:
        key = "events.status.none_expected"
        if activity.mode is ActivityMode.signup:
            key = "events.status.none_signup"
        return context.t("events.your_status", status=context.t(key))
    status = context.t(PARTICIPATION_KEYS[mine.status])
    if mine.status is ParticipationStatus.waitlisted and state.position is not None:
        status += context.t("events.position", position=state.position)
    if mine.checked_in_at is not None:
        status += context.t("events.checked_in_suffix")
    lines = [context.t("events.your_status", status=status)]
    if mine.pledge_amount is not None and activity.pledge_kind in PLEDGE_LINE_KEYS:
        lines.append(context.t(PLEDGE_LINE_KEYS[activity.pledge_kind], amount=mine.pledge_amount))
    if mine.status is ParticipationStatus.signed_up:
        cutoff = activity.starts_at - timedelta(hours=activity.cancel_cutoff_hours)
        lines.append(
            context.t(
                "events.cancel_until",
                when=format_when(cutoff.astimezone(state.zone), context.language),
            )
        )
    return "\n".join(lines)


def _seats_line(context: BotContext, state: CardState) -> str | None:
    activity = state.activity
    if activity.mode is not ActivityMode.signup:
        return None
    if state.seats_left is None:
        return context.t("events.seats_unlimited")
    if state.seats_left > 0:
        return context.t(
            "events.seats_left", left=state.seats_left, capacity=activity.capacity or 0
        )
    return context.t("events.seats_full", waiting=state.waiting)


def _checkin_open(activity: Activity, now: datetime) -> bool:
    return activity.starts_at - CHECK_IN_OPENS_BEFORE <= now <= activity.ends_at


def card_text(context: BotContext, state: CardState) -> str:
    activity = state.activity
    lines = [
        context.t(
            "events.card_title",
            title=escape(activity.title),
            kind=context.t(ACTIVITY_KIND_KEYS[activity.kind]),
        ),
        context.t("events.card_unit", unit=escape(unit_name(context, state.unit))),
        context.t(
            "events.card_when",
            when=_when(activity.starts_at, activity.ends_at, state.zone, context.language),
        ),
    ]
    if activity.place:
        lines.append(context.t("events.card_place", place=escape(activity.place)))
    if activity.mode is ActivityMode.signup and activity.signup_deadline is not None:
        deadline = activity.signup_deadline.astimezone(state.zone)
        lines.append(
            context.t("events.card_deadline", when=format_when(deadline, context.language))
        )
    if activity.description:
        text = activity.description
        if len(text) > DESCRIPTION_SHOWN:
            text = text[: DESCRIPTION_SHOWN - 1] + "…"
        lines += ["", escape(text)]
    lines.append("")
    seats = _seats_line(context, state)
    if seats:
        lines.append(seats)
    now = context.now()
    if activity.status is ActivityStatus.cancelled:
        lines.append(context.t("events.card_cancelled"))
    elif now >= activity.ends_at:
        lines.append(context.t("events.card_over"))
    lines.append(_status_line(context, state))
    lines += ["", context.t("events.card_share", link=share_link(context, activity))]
    return "\n".join(lines)


def card_buttons(context: BotContext, state: CardState) -> InlineKeyboardMarkup:
    activity, mine = state.activity, state.mine
    now = context.now()
    rows: list[list[tuple[str, str]]] = []
    status = mine.status if mine else None
    live = activity.status is ActivityStatus.scheduled and now < activity.ends_at
    if live and state.in_audience:
        if activity.mode is ActivityMode.signup:
            if status is ParticipationStatus.signed_up:
                rows.append([(context.t("events.cancel_button"), _cb("c", activity))])
            elif status is ParticipationStatus.waitlisted:
                rows.append([(context.t("events.leave_waitlist_button"), _cb("c", activity))])
            elif status in (None, ParticipationStatus.cancelled):
                key = "events.signup_button"
                if state.seats_left == 0:
                    key = "events.waitlist_button"
                rows.append([(context.t(key), _cb("s", activity))])
        else:
            answer = []
            if status is not ParticipationStatus.attending:
                answer.append((context.t("events.attend_button"), _cb("a", activity)))
            asked = (ParticipationStatus.leave_requested, ParticipationStatus.excused)
            checked_in = mine is not None and mine.checked_in_at is not None
            if status not in asked and not checked_in and now < activity.starts_at:
                answer.append((context.t("events.leave_button"), _cb("r", activity)))
            if answer:
                rows.append(answer)
        may_check_in = activity.mode is ActivityMode.expected or status in SEAT_STATUSES
        if _checkin_open(activity, now) and may_check_in and not (mine and mine.checked_in_at):
            rows.append([(context.t("events.checkin_button"), _cb("ci", activity))])
    rows.append([(context.t("events.calendar_button"), _cb("ics", activity))])
    rows.append([(context.t("events.back_button"), callbacks.data(PREFIX, "l", 1))])
    return buttons(*rows)


def _cb(action: str, activity: Activity) -> str:
    return callbacks.data(PREFIX, action, activity.id)


async def _render_card(
    context: BotContext, telegram_id: int, activity_id: int
) -> tuple[str, InlineKeyboardMarkup]:
    async with context.db() as session:
        activity = await get_activity(session, activity_id)
        member = await get_member(session, telegram_id)
        state = await _card_state(session, context, activity, member)
        return card_text(context, state), card_buttons(context, state)


async def show_card(update: Update, context: BotContext, activity_id: int) -> None:
    assert update.effective_user
    text, markup = await _render_card(context, update.effective_user.id, activity_id)
    await _show(update, context, text, markup)


async def _show(
    update: Update, context: BotContext, text: str, markup: InlineKeyboardMarkup | None = None
) -> None:
    """In place of the pressed message when it is in the person's own chat, else anew to
    them: a typed answer, a deep link, or a press on someone else's forwarded card."""
    assert update.effective_user
    user_id = update.effective_user.id
    query = update.callback_query
    if query is not None and query.message is not None and query.message.chat.id == user_id:
        await edit_or_say(update, context, text, markup)
    else:
        await _say_privately(context, user_id, text, markup)


async def _say_privately(
    context: BotContext,
    user_id: int,
    text: str,
    markup: InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove | None = None,
) -> None:
    await context.bot.send_message(user_id, text, parse_mode="HTML", reply_markup=markup)


async def open_shared(update: Update, context: BotContext, payload: str) -> None:
    """/start a_<share code>: the activity's card, or why the link opens nothing."""
    assert update.effective_user
    code = payload.removeprefix(SHARE_PAYLOAD_PREFIX)
    try:
        async with context.db() as session:
            activity = await activity_by_share_code(session, code)
    except NotFound:
        await say(update, context, context.t("events.bad_link"))
        return
    await show_card(update, context, activity.id)


# --- sign-up, cancel, attend --------------------------------------------------------------


async def _check_can_sign_up(
    session: AsyncSession, activity: Activity, member: Member, now: datetime
) -> None:
    """The refusals sign_up would give, before asking for a pledge (sign_up checks again)."""
    if activity.mode is not ActivityMode.signup:
        raise callbacks.StaleButton(activity.id)
    if activity.status is ActivityStatus.cancelled:
        raise InvalidState("activity.cancelled")
    if now >= activity.ends_at:
        raise InvalidState("activity.finished")
    if now > (activity.signup_deadline or activity.starts_at):
        raise InvalidState("signup.deadline_passed")
    if not await in_audience(session, activity, member.id):
        raise InvalidState("activity.not_in_audience")
    mine = await participation_of(session, activity.id, member.id)
    if mine is not None and mine.status is not ParticipationStatus.cancelled:
        raise InvalidState("signup.already")


async def sign_up_pressed(update: Update, context: BotContext, activity_id: int) -> str | None:
    assert update.effective_user
    user_id = update.effective_user.id
    async with context.db() as session:
        member = await _member_or_refuse(session, user_id)
        activity = await get_activity(session, activity_id)
        if activity.pledge_kind in PLEDGE_QUESTION_KEYS:
            await _check_can_sign_up(session, activity, member, context.now())
            await expect(session, user_id, f"pledge:{activity_id}")
            question = context.t(
                PLEDGE_QUESTION_KEYS[activity.pledge_kind], title=escape(activity.title)
            )
        else:
            question = None
            participation = await sign_up(session, activity_id, member, context.now())
            note = await _signed_up_note(context, session, participation, member)
    if question is not None:
        await _say_privately(context, user_id, question)
        return None
    await show_card(update, context, activity_id)
    return note


async def _signed_up_note(
    context: BotContext, session: AsyncSession, participation: Participation, member: Member
) -> str:
    if participation.status is ParticipationStatus.waitlisted:
        position = await waitlist_position(session, participation.activity_id, member)
        return context.t("events.waitlisted_note", position=position or 1)
    return context.t("events.signed_up_note")


async def save_pledge(update: Update, context: BotContext, activity_id: int, text: str) -> None:
    """The typed pledge: a whole number; anything else asks again."""
    assert update.effective_user
    user_id = update.effective_user.id
    if not text.strip():  # sign_up reads an empty pledge as "none"; here one was asked for
        await say(update, context, context.t("error.pledge_invalid"))
        return
    try:
        async with context.db() as session:
            member = await _member_or_refuse(session, user_id)
            participation = await sign_up(session, activity_id, member, context.now(), text)
            await expect(session, user_id, None)
            note = await _signed_up_note(context, session, participation, member)
    except InvalidInput as error:  # not a whole number: the question stays open
        await answer_error(update, context, error)
        return
    except DomainError as error:
        await _close_question(context, user_id)
        await answer_error(update, context, error)
        return
    await say(update, context, note)
    await show_card(update, context, activity_id)


async def cancel_pressed(update: Update, context: BotContext, activity_id: int) -> str:
    """Give up a seat or leave the waitlist; the first one waiting is told they have a seat."""
    assert update.effective_user
    async with context.db() as session:
        member = await _member_or_refuse(session, update.effective_user.id)
        mine = await participation_of(session, activity_id, member.id)
        was_waiting = mine is not None and mine.status is ParticipationStatus.waitlisted
        promoted = await cancel_signup(session, activity_id, member, context.now())
        if promoted is not None:
            activity = await get_activity(session, activity_id)
            unit = await get_unit(session, activity.org_unit_id)
            zone = await _zone(context, session, unit)
            render = partial(_promoted_message, activity, zone)
            await notify(context, session, promoted.telegram_id, unit, "seat_freed", render)
    await show_card(update, context, activity_id)
    note = "events.left_waitlist_note" if was_waiting else "events.cancelled_note"
    return context.t(note)


def _promoted_message(
    activity: Activity, zone: ZoneInfo, language: str
) -> tuple[str, InlineKeyboardMarkup]:
    text = t(
        language,
        "events.promoted",
        title=escape(activity.title),
        when=_when(activity.starts_at, activity.ends_at, zone, language),
    )
    markup = buttons([(t(language, "events.open_button"), _cb("o", activity))])
    return text, markup


async def attend_pressed(update: Update, context: BotContext, activity_id: int) -> str:
    assert update.effective_user
    async with context.db() as session:
        member = await _member_or_refuse(session, update.effective_user.id)
        await respond_attend(session, activity_id, member, context.now())
    await show_card(update, context, activity_id)
    return context.t("events.attend_note")


# --- leave (请假) -------------------------------------------------------------------------------


async def leave_pressed(update: Update, context: BotContext, activity_id: int) -> None:
    """Asks the reason; refuses first what request_leave would refuse anyway."""
    assert update.effective_user
    user_id = update.effective_user.id
    now = context.now()
    async with context.db() as session:
        member = await _member_or_refuse(session, user_id)
        activity = await get_activity(session, activity_id)
        if activity.mode is not ActivityMode.expected:
            raise callbacks.StaleButton(activity_id)
        if activity.status is ActivityStatus.cancelled:
            raise InvalidState("activity.cancelled")
        if now >= activity.starts_at:
            raise InvalidState("activity.started")
        if not await in_audience(session, activity, member.id):
            raise InvalidState("activity.not_in_audience")
        mine = await participation_of(session, activity_id, member.id)
        if mine is not None and mine.status is ParticipationStatus.leave_requested:
            raise InvalidState("leave.already_requested")
        if mine is not None and mine.status is ParticipationStatus.excused:
            raise InvalidState("leave.already_excused")
        await expect(session, user_id, f"leave:{activity_id}")
        title = escape(activity.title)
    await _say_privately(context, user_id, context.t("events.ask_leave_reason", title=title))


async def save_leave_reason(
    update: Update, context: BotContext, activity_id: int, reason: str
) -> None:
    """The typed reason: the request goes to the secretaries, each a card to decide on."""
    assert update.effective_user
    user_id = update.effective_user.id
    try:
        async with context.db() as session:
            member = await _member_or_refuse(session, user_id)
            participation = await request_leave(session, activity_id, member, reason, context.now())
            await expect(session, user_id, None)
            activity = await get_activity(session, activity_id)
            unit = await get_unit(session, activity.org_unit_id)
            zone = await _zone(context, session, unit)
            render = partial(leave_card, participation, activity, member, zone)
            for reviewer in await reviewers_of(session, unit.id):
                await notify(context, session, reviewer, unit, "leave_request", render)
    except InvalidInput as error:  # empty or too long: the question stays open
        await answer_error(update, context, error)
        return
    except DomainError as error:
        await _close_question(context, user_id)
        await answer_error(update, context, error)
        return
    await say(update, context, context.t("events.leave_sent"))
    await show_card(update, context, activity_id)


def leave_card(
    participation: Participation,
    activity: Activity,
    member: Member,
    zone: ZoneInfo,
    language: str,
    decided: str | None = None,
) -> tuple[str, InlineKeyboardMarkup | None]:
    """The secretary's card; `decided` (a catalog key) replaces the buttons with the outcome."""
    text = t(
        language,
        "events.leave_card",
        name=escape(member.real_name or "—"),
        title=escape(activity.title),
        when=format_when(activity.starts_at.astimezone(zone), language),
        reason=escape(participation.leave_reason or ""),
    )
    if decided is not None:
        return text + "\n\n" + t(language, decided), None
    markup = buttons(
        [
            (t(language, "events.approve_leave_button"), _leave_cb("ok", participation)),
            (t(language, "events.decline_leave_button"), _leave_cb("no", participation)),
        ]
    )
    return text, markup


def _leave_cb(action: str, participation: Participation) -> str:
    return callbacks.data(LEAVE_PREFIX, action, participation.id)


# What an old card shows, by the participation's status after the decision.
DECIDED_KEYS = {
    ParticipationStatus.excused: "events.leave_card_approved",
    ParticipationStatus.leave_declined: "events.leave_card_declined",
}


async def decide_pressed(
    update: Update, context: BotContext, participation_id: int, approve: bool
) -> str:
    assert update.effective_user
    try:
        async with context.db() as session:
            participation = await decide_leave(
                session, participation_id, update.effective_user.id, approve, context.now()
            )
            activity, member = participation.activity, participation.member
            unit = await get_unit(session, activity.org_unit_id)
            zone = await _zone(context, session, unit)
            told = partial(_leave_decided_message, activity, zone, approve)
            await notify(context, session, member.telegram_id, unit, "leave_decided", told)
    except InvalidState:
        await _show_decided(update, context, participation_id)
        raise
    decided = "events.leave_card_approved" if approve else "events.leave_card_declined"
    text, _ = leave_card(participation, activity, member, zone, context.language, decided)
    await _show(update, context, text)
    note = "events.leave_approved_note" if approve else "events.leave_declined_note"
    return context.t(note)


async def _show_decided(update: Update, context: BotContext, participation_id: int) -> None:
    """An old card: show on it what became of the request."""
    async with context.db() as session:
        participation = await get_participation(session, participation_id)
        unit = await get_unit(session, participation.activity.org_unit_id)
        zone = await _zone(context, session, unit)
    decided = DECIDED_KEYS.get(participation.status, "events.leave_card_withdrawn")
    text, _ = leave_card(
        participation,
        participation.activity,
        participation.member,
        zone,
        context.language,
        decided,
    )
    await _show(update, context, text)


def _leave_decided_message(
    activity: Activity, zone: ZoneInfo, approved: bool, language: str
) -> tuple[str, InlineKeyboardMarkup]:
    text = t(
        language,
        "events.leave_approved" if approved else "events.leave_declined",
        title=escape(activity.title),
        when=format_when(activity.starts_at.astimezone(zone), language),
    )
    markup = buttons([(t(language, "events.open_button"), _cb("o", activity))])
    return text, markup


# --- the calendar file ------------------------------------------------------------------------


async def send_calendar(update: Update, context: BotContext, activity_id: int) -> None:
    assert update.effective_user
    async with context.db() as session:
        activity = await get_activity(session, activity_id)
        zone = await _zone(context, session, await get_unit(session, activity.org_unit_id))
        body = ics_for(activity, str(zone))
    await context.bot.send_document(
        update.effective_user.id,
        InputFile(body, filename=f"activity-{activity.id}.ics"),
        caption=context.t("events.calendar_caption", title=escape(activity.title)),
        parse_mode="HTML",
    )


# --- check-in (签到) ------------------------------------------------------------------------------


async def checkin_pressed(update: Update, context: BotContext, activity_id: int) -> None:
    """Asks for the location with a share-location button."""
    assert update.effective_user
    user_id = update.effective_user.id
    now = context.now()
    async with context.db() as session:
        activity = await get_activity(session, activity_id)
        if activity.status is ActivityStatus.cancelled:
            raise InvalidState("activity.cancelled")
        if now < activity.starts_at - CHECK_IN_OPENS_BEFORE:
            raise InvalidState("checkin.not_open")
        if now > activity.ends_at:
            raise InvalidState("checkin.closed")
        if activity.latitude is None or activity.longitude is None:
            raise InvalidState("checkin.no_location")
        await expect(session, user_id, f"checkin:{activity_id}")
        title = escape(activity.title)
    await _say_privately(
        context, user_id, context.t("events.ask_location", title=title), _location_keyboard(context)
    )


def _location_keyboard(context: BotContext) -> ReplyKeyboardMarkup:
    button = KeyboardButton(context.t("events.share_location_button"), request_location=True)
    return ReplyKeyboardMarkup([[button]], resize_keyboard=True, one_time_keyboard=True)


async def save_checkin_location(update: Update, context: BotContext, activity_id: int) -> None:
    message = update.effective_message
    assert update.effective_user and message and message.location
    user_id = update.effective_user.id
    location = message.location
    try:
        async with context.db() as session:
            member = await _member_or_refuse(session, user_id)
            await check_in(
                session,
                activity_id,
                member,
                CheckInMethod.location,
                context.now(),
                location.latitude,
                location.longitude,
            )
            await expect(session, user_id, None)
            title = escape((await get_activity(session, activity_id)).title)
    except CheckInTooFar as error:  # maybe they are still on the way: the question stays open
        text = context.t("error.checkin_too_far", distance=error.distance_m)
        await say(update, context, text, _location_keyboard(context))
        return
    except DomainError as error:
        await _close_question(context, user_id)
        await say(update, context, error_text(context, error), ReplyKeyboardRemove())
        return
    await say(update, context, context.t("events.checked_in", title=title), ReplyKeyboardRemove())
    await show_card(update, context, activity_id)


async def check_in_by_qr(update: Update, context: BotContext, payload: str) -> None:
    """/start c_<share code>: the venue's QR code, scanned on site."""
    assert update.effective_user
    code = payload.removeprefix(CHECKIN_PAYLOAD_PREFIX)
    try:
        async with context.db() as session:
            activity = await activity_by_share_code(session, code)
            member = await _active_member(session, update.effective_user.id)
            if member is not None:
                await check_in(session, activity.id, member, CheckInMethod.qr, context.now())
    except NotFound:
        await say(update, context, context.t("events.bad_link"))
        return
    except DomainError as error:
        await answer_error(update, context, error)
        return
    if member is None:
        await say(update, context, context.t("events.not_member"))
        return
    await say(update, context, context.t("events.checked_in", title=escape(activity.title)))
    await show_card(update, context, activity.id)


async def _close_question(context: BotContext, user_id: int) -> None:
    async with context.db() as session:
        await expect(session, user_id, None)


# --- /record ---------------------------------------------------------------------------------


async def record_command(update: Update, context: BotContext) -> None:
    """/record: the member's own attendance, leave and volunteer hours."""
    assert update.effective_user
    async with context.db() as session:
        member = await get_member(session, update.effective_user.id)
        if member is None or member.forgotten_at is not None:
            await say(update, context, context.t("events.not_member"))
            return
        record = await member_record(session, member, context.now())
        hours = round(record.volunteer_hours, 1)
        lines = [
            context.t(
                "events.record_title",
                attended=record.attended,
                excused=record.excused,
                absent=record.absent,
                made_up=record.made_up,
                hours=format(hours, "g"),
            )
        ]
        for entry in record.entries[:RECORD_ENTRIES_SHOWN]:
            activity = entry.activity
            zone = await _zone(context, session, await get_unit(session, activity.org_unit_id))
            lines.append(
                context.t(
                    "events.record_line",
                    when=format_when(activity.starts_at.astimezone(zone), context.language),
                    title=escape(activity.title),
                    outcome=context.t(OUTCOME_KEYS[entry.outcome]),
                )
            )
        if not record.entries:
            lines.append(context.t("events.record_empty"))
    await say(update, context, "\n".join(lines))


# --- every "ev:" and "lv:" press ----------------------------------------------------------------


async def on_press(update: Update, context: BotContext) -> None:
    await run_press(update, context, lambda: _pressed(update, context))


async def _pressed(update: Update, context: BotContext) -> str | None:
    assert update.callback_query
    action, ids = callbacks.parse(update.callback_query.data, PREFIX)
    if len(ids) != 1:
        raise callbacks.StaleButton(update.callback_query.data)
    (target,) = ids
    if action == "l":
        await show_list(update, context, target)
    elif action == "v":
        await show_card(update, context, target)
    elif action == "o":  # from a notice: the notice stays, the card comes anew
        assert update.effective_user
        text, markup = await _render_card(context, update.effective_user.id, target)
        await _say_privately(context, update.effective_user.id, text, markup)
    elif action == "s":
        return await sign_up_pressed(update, context, target)
    elif action == "c":
        return await cancel_pressed(update, context, target)
    elif action == "a":
        return await attend_pressed(update, context, target)
    elif action == "r":
        await leave_pressed(update, context, target)
    elif action == "ics":
        await send_calendar(update, context, target)
    elif action == "ci":
        await checkin_pressed(update, context, target)
    else:
        raise callbacks.StaleButton(update.callback_query.data)
    return None


async def on_leave_press(update: Update, context: BotContext) -> None:
    await run_press(update, context, lambda: _leave_pressed(update, context))


async def _leave_pressed(update: Update, context: BotContext) -> str:
    assert update.callback_query
    action, ids = callbacks.parse(update.callback_query.data, LEAVE_PREFIX)
    if action not in ("ok", "no") or len(ids) != 1:
        raise callbacks.StaleButton(update.callback_query.data)
    return await decide_pressed(update, context, ids[0], approve=action == "ok")
