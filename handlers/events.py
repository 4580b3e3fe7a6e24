"""Activities, the member's side: /events, the activity's card, its calendar file, its link.

The card's buttons lead to handlers.signup (sign up, cancel, attend), handlers.leave
(请假) and handlers.checkin (签到, and 签退 where the activity asks for it). Deep link:
/start a_<share code> opens the card.
"""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo
from html import escape

from telegram import InlineKeyboardMarkup, Update

from handlers.context import BotContext
from handlers.ui import page_title, say, say_to, send_file, show
from models.activities import (
    SEAT_STATUSES,
    SHARE_PAYLOAD_PREFIX,
    ActivityMode,
    ActivityStatus,
    MemberView,
    ParticipationStatus,
    activity_by_share_code,
    ics_for,
    member_view,
    share_payload,
    upcoming_for_member,
)
from models.attendance import check_in_open, check_out_open
from models.errors import NotFound
from models.members import active_member, get_member
from models.org import unit_display_name
from views.activities import begins_with_kind, card_lines, kind_name, list_label, seats_line
from views.buttons import (
    AskCheckIn,
    AskCheckOut,
    AskLeave,
    Attend,
    Button,
    CalendarFile,
    CancelSignUp,
    EnterCode,
    EventsPage,
    MyCalendar,
    OpenCard,
    ShowCard,
    SignUp,
    keyboard,
    pager,
)
from views.dates import format_when
from views.labels import PARTICIPATION_KEYS, PLEDGE_LINE_KEYS

PAGE_SIZE = 5  # each with its title (at most 100), kind and time: far from the limits


# --- /events ------------------------------------------------------------------------------


async def events_command(update: Update, context: BotContext) -> None:
    await show_list(update, context, EventsPage(1))


async def show_list(update: Update, context: BotContext, press: EventsPage) -> None:
    assert update.effective_user
    member = await active_member(context.session, update.effective_user.id)
    if member is None:
        show(update, context, context.t("events.not_member"))
        return
    found = await upcoming_for_member(context.session, member, context.now(), press.page, PAGE_SIZE)
    if not found.items:
        show(update, context, context.t("events.none"))
        return
    lines = [page_title(context, context.t("events.list_title", total=found.total), found)]
    rows: list[list[tuple[str, Button]]] = []
    for item in found.items:
        activity, mine = item.activity, item.participation
        starts = activity.starts_at.astimezone(await context.activity_zone(activity))
        status = " · " + context.t(PARTICIPATION_KEYS[mine.status]) if mine else ""
        # "主题党日" above "主题党日 · …" says it twice: the kind only when the title lacks it
        said_twice = begins_with_kind(activity.kind, activity.title, context.language)
        line_key = "events.list_line_dated" if said_twice else "events.list_line"
        lines.append(
            context.t(
                line_key,
                title=escape(activity.title),
                when=format_when(starts, context.language),
                kind=kind_name(activity.kind, context.language),
                status=status,
            )
        )
        rows.append([(list_label(starts, activity.title, context.language), ShowCard(activity.id))])
    rows.append(pager(found, EventsPage))
    rows.append([(context.t("events.my_calendar_button"), MyCalendar())])
    show(update, context, "\n\n".join(lines), keyboard(*rows))


# --- the card ---------------------------------------------------------------------------------


def _status_line(context: BotContext, view: MemberView, zone: tzinfo) -> str:
    activity, mine = view.activity, view.mine
    if mine is None and not view.in_audience:
        unit = escape(unit_display_name(view.unit, context.language))
        return context.t("events.not_in_audience", unit=unit)
    if mine is None:
        key = "events.status.none_expected"
        if activity.mode is ActivityMode.signup:
            key = "events.status.none_signup"
        return context.t("events.your_status", status=context.t(key))
    status = context.t(PARTICIPATION_KEYS[mine.status])
    if mine.status is ParticipationStatus.waitlisted and view.position is not None:
        status += context.t("events.position", position=view.position)
    if mine.checked_in_at is not None and activity.record_closed_at is None:
        status = context.t("events.outcome.checked_in_open")  # as /record says it
    elif mine.checked_in_at is not None:
        status += context.t("events.checked_in_suffix")
    lines = [context.t("events.your_status", status=status)]
    if mine.pledge_amount is not None and activity.pledge_kind in PLEDGE_LINE_KEYS:
        lines.append(context.t(PLEDGE_LINE_KEYS[activity.pledge_kind], amount=mine.pledge_amount))
    if mine.status is ParticipationStatus.signed_up:
        cutoff = activity.starts_at - timedelta(hours=activity.cancel_cutoff_hours)
        when = format_when(cutoff.astimezone(zone), context.language)
        lines.append(context.t("events.cancel_until", when=when))
    return "\n".join(lines)


def card_text(context: BotContext, view: MemberView, zone: tzinfo) -> str:
    activity = view.activity
    lines = card_lines(context.language, activity, view.unit, zone)
    lines.append("")
    seats = seats_line(context.language, activity, view.seats_left, view.waiting)
    if seats:
        lines.append(seats)
    if activity.status is ActivityStatus.cancelled:
        lines.append(context.t("events.card_cancelled"))
    elif context.now() >= activity.ends_at:
        lines.append(context.t("events.card_over"))
    lines.append(_status_line(context, view, zone))
    lines += ["", context.t("events.card_share", link=context.link(share_payload(activity)))]
    return "\n".join(lines)


def _answer_buttons(
    context: BotContext, view: MemberView, now: datetime
) -> list[tuple[str, Button]]:
    """Sign up / cancel / join the waitlist, or attend / request leave."""
    activity, mine = view.activity, view.mine
    status = mine.status if mine else None
    if activity.mode is ActivityMode.signup:
        if status is ParticipationStatus.signed_up:
            return [(context.t("events.cancel_button"), CancelSignUp(activity.id))]
        if status is ParticipationStatus.waitlisted:
            return [(context.t("events.leave_waitlist_button"), CancelSignUp(activity.id))]
        if status in (None, ParticipationStatus.cancelled):
            key = "events.waitlist_button" if view.seats_left == 0 else "events.signup_button"
            return [(context.t(key), SignUp(activity.id))]
        return []
    answer: list[tuple[str, Button]] = []
    if status is not ParticipationStatus.attending:
        answer.append((context.t("events.attend_button"), Attend(activity.id)))
    asked = (ParticipationStatus.leave_requested, ParticipationStatus.excused)
    checked_in = mine is not None and mine.checked_in_at is not None
    if status not in asked and not checked_in and now < activity.starts_at:
        answer.append((context.t("events.leave_button"), AskLeave(activity.id)))
    return answer


def _check_in_buttons(context: BotContext, view: MemberView) -> list[tuple[str, Button]]:
    """The ways to check in that the activity's creator chose and the card can offer (the
    QR code is scanned from the secretary's screen)."""
    activity = view.activity
    row: list[tuple[str, Button]] = []
    if activity.check_in_by_location and activity.latitude is not None:
        row.append((context.t("events.checkin_button"), AskCheckIn(activity.id)))
    if activity.check_in_by_code:
        row.append((context.t("checkin.code_button"), EnterCode(activity.id)))
    return row


def card_buttons(context: BotContext, view: MemberView) -> InlineKeyboardMarkup:
    activity, mine = view.activity, view.mine
    now = context.now()
    rows: list[list[tuple[str, Button]]] = []
    live = activity.status is ActivityStatus.scheduled and now < activity.ends_at
    if live and view.in_audience:
        answer = _answer_buttons(context, view, now)
        if answer:
            rows.append(answer)
        status = mine.status if mine else None
        may_check_in = activity.mode is ActivityMode.expected or status in SEAT_STATUSES
        checked_in = mine is not None and mine.checked_in_at is not None
        if check_in_open(activity, now) and (may_check_in or activity.walk_ins_allowed):
            if not checked_in:
                rows.append(_check_in_buttons(context, view))
    if activity.check_out_required and check_out_open(activity, mine, now):
        rows.append([(context.t("events.checkout_button"), AskCheckOut(activity.id))])
    rows.append([(context.t("events.calendar_button"), CalendarFile(activity.id))])
    rows.append([(context.t("events.back_button"), EventsPage(1))])
    return keyboard(*rows)


async def render_card(
    update: Update, context: BotContext, activity_id: int
) -> tuple[str, InlineKeyboardMarkup]:
    assert update.effective_user
    member = await get_member(context.session, update.effective_user.id)
    view = await member_view(context.session, activity_id, member)
    zone = await context.zone(view.unit)
    return card_text(context, view, zone), card_buttons(context, view)


async def show_card(update: Update, context: BotContext, activity_id: int) -> None:
    """The card in place of the pressed message, or anew (see handlers.ui.show)."""
    show(update, context, *await render_card(update, context, activity_id))


async def card_pressed(update: Update, context: BotContext, press: ShowCard) -> None:
    await show_card(update, context, press.activity_id)


async def send_card(update: Update, context: BotContext, activity_id: int) -> None:
    """The card as a new message, below what the pressed message became."""
    assert update.effective_user
    text, markup = await render_card(update, context, activity_id)
    say_to(context, update.effective_user.id, text, markup)


async def card_sent_anew(update: Update, context: BotContext, press: OpenCard) -> None:
    """From a notice: the notice stays, the card comes as a new message."""
    await send_card(update, context, press.activity_id)


async def open_shared(update: Update, context: BotContext, payload: str) -> None:
    """/start a_<share code>: the activity's card, or why the link opens nothing."""
    try:
        activity = await activity_by_share_code(
            context.session, payload.removeprefix(SHARE_PAYLOAD_PREFIX)
        )
    except NotFound:
        say(update, context, context.t("events.bad_link"))
        return
    await show_card(update, context, activity.id)


async def send_calendar(update: Update, context: BotContext, press: CalendarFile) -> None:
    view = await member_view(context.session, press.activity_id, None)
    zone = await context.zone(view.unit)
    caption = context.t("events.calendar_caption", title=escape(view.activity.title))
    body = ics_for(view.activity, str(zone))
    send_file(update, context, body, f"activity-{view.activity.id}.ics", caption)
