"""How handlers talk: replies (sent after the update's commit), refusals, files.

Every reply is queued on the update's unit of work (handlers.work) and sent once
what the handler changed is saved; a handler never calls the Bot API itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Awaitable, Callable
from html import escape, unescape
from typing import Any, TypeVar

from telegram import (
    ForceReply,
    InlineKeyboardMarkup,
    InputFile,
    InputMediaPhoto,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)
from telegram.error import BadRequest

from handlers.context import BotContext
from models.attendance import CheckInNotOpen, CheckInTooFar, CodeSlowDown
from models.errors import (
    DomainError,
    InvalidInput,
    InvalidState,
    NotStaff,
    PermissionDenied,
    PrimaryElsewhere,
)
from models.notices import RemindTooSoon, TooLong
from models.notices.groups import LinkedElsewhere
from models.notifications import forget_since, pending_count
from models.paging import Page
from models.permissions import ROLE_PERMISSIONS, Permission, Role
from views.dates import format_wait

T = TypeVar("T")
Markup = InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove | ForceReply


def N_(key: str) -> str:
    """Marks a catalog key that is looked up later, so the catalog test can find it."""
    return key


# Domain error codes (models.errors) and what people are told. A test checks that
# every code the domain raises is here.
ERROR_MESSAGES: dict[str, str] = {
    "not_found": N_("error.not_found"),
    "permission.denied": N_("error.permission_denied"),
    "permission.not_staff": N_("error.secretaries_only"),
    "report.not_found": N_("error.not_found"),
    "unit.not_found": N_("error.not_found"),
    "membership.not_found": N_("error.not_found"),
    "member.not_found": N_("error.not_found"),
    "member.forgotten": N_("error.member_forgotten"),
    "profile.incomplete": N_("error.profile_incomplete"),
    "report.not_a_branch": N_("error.report_not_a_branch"),
    "report.not_a_community": N_("error.report_not_a_community"),
    "report.already_pending": N_("error.report_already_pending"),
    "report.already_active": N_("error.report_already_active"),
    "report.primary_elsewhere": N_("error.report_primary_elsewhere"),
    "report.already_decided": N_("error.report_already_decided"),
    "membership.not_open": N_("error.membership_not_open"),
    "membership.not_active": N_("error.membership_not_active"),
    "name.empty": N_("error.name_empty"),
    "name.too_long": N_("error.name_too_long"),
    "name.invalid": N_("error.name_invalid"),
    "phone.invalid": N_("error.phone_invalid"),
    "home_branch.empty": N_("error.home_branch_empty"),
    "home_branch.required": N_("error.home_branch_empty"),
    "member_type.invalid": N_("error.stale_button"),
    "phone.empty": N_("error.phone_invalid"),
    "unit.invite_not_found": N_("report.bad_invite"),
    "home_branch.too_long": N_("error.text_too_long"),
    "home_branch.invalid": N_("error.text_invalid"),
    "workplace.too_long": N_("error.text_too_long"),
    "workplace.invalid": N_("error.text_invalid"),
    "reason.empty": N_("error.reason_empty"),
    "reason.too_long": N_("error.text_too_long"),
    "reason.invalid": N_("error.text_invalid"),
    # Activities
    "activity.not_found": N_("error.not_found"),
    "participation.not_found": N_("error.not_found"),
    "activity.cancelled": N_("error.activity_cancelled"),
    "activity.finished": N_("error.activity_finished"),
    "activity.started": N_("error.activity_started"),
    "activity.not_started": N_("error.activity_not_started"),
    "activity.full": N_("error.activity_full"),
    "activity.not_editable": N_("error.activity_not_editable"),
    "activity.not_expected": N_("error.stale_button"),
    "activity.not_signup": N_("error.stale_button"),
    "activity.not_in_audience": N_("error.activity_not_in_audience"),
    "title.empty": N_("error.title_empty"),
    "title.too_long": N_("error.title_too_long"),
    "description.too_long": N_("error.description_too_long"),
    "place.too_long": N_("error.text_too_long"),
    "title.invalid": N_("error.text_invalid"),
    "place.empty": N_("error.place_empty"),
    "place.invalid": N_("error.text_invalid"),
    "description.empty": N_("error.description_empty"),
    "description.invalid": N_("error.text_invalid"),
    "starts_at.past": N_("error.starts_at_past"),
    "ends_at.before_start": N_("error.ends_at_before_start"),
    "signup_deadline.after_start": N_("error.deadline_after_start"),
    "time.naive": N_("error.apology"),
    "capacity.invalid": N_("error.capacity_invalid"),
    "capacity.below_taken": N_("error.capacity_below_taken"),
    "capacity.not_for_expected": N_("error.stale_button"),
    "kind.invalid": N_("error.stale_button"),
    "location.invalid": N_("error.location_invalid"),
    "cancel_cutoff.invalid": N_("error.apology"),
    "pledge.invalid": N_("error.pledge_invalid"),
    "pledge.not_accepted": N_("error.stale_button"),
    "pledge_kind.invalid": N_("error.stale_button"),
    "pledge_kind.not_for_expected": N_("error.stale_button"),
    "kind.not_recurring": N_("error.stale_button"),
    "rule.invalid": N_("error.stale_button"),
    "rule_day.invalid": N_("error.stale_button"),
    "duration.invalid": N_("error.ends_at_before_start"),
    "timezone.invalid": N_("error.apology"),
    "signup.already": N_("error.signup_already"),
    "signup.deadline_passed": N_("error.signup_deadline_passed"),
    "signup.cutoff_passed": N_("error.signup_cutoff_passed"),
    "signup.not_signed_up": N_("error.signup_not_signed_up"),
    "leave.already_requested": N_("error.leave_already_requested"),
    "leave.already_excused": N_("error.leave_already_excused"),
    "leave.already_decided": N_("error.leave_already_decided"),
    "checkin.not_open": N_("error.checkin_not_open"),
    "checkin.closed": N_("error.checkin_closed"),
    "checkin.already": N_("error.checkin_already"),
    "checkin.not_signed_up": N_("error.checkin_not_signed_up"),
    "checkin.location_missing": N_("error.checkin_no_place"),
    "checkin.no_location": N_("error.checkin_no_place"),
    "checkin.method_invalid": N_("error.stale_button"),
    "checkin.too_far": N_("error.checkin_too_far"),
    "made_up.not_missed": N_("error.made_up_not_missed"),
    "made_up.already_reported": N_("error.made_up_already_reported"),
    "made_up.already_decided": N_("error.made_up_already_decided"),
    "checkin.method_off": N_("error.checkin_method_off"),
    "checkin.token_invalid": N_("error.checkin_token_invalid"),
    "checkin.token_missing": N_("error.checkin_token_invalid"),
    "checkin.token_expired": N_("error.checkin_token_expired"),
    "checkin.token_wrong_activity": N_("error.checkin_token_wrong_activity"),
    "checkin.token_wrong_purpose": N_("error.checkin_token_wrong_purpose"),
    "checkin.code_wait": N_("error.checkin_code_wait"),
    "checkin.code_malformed": N_("error.checkin_code_malformed"),
    "checkin.location_needs_venue": N_("error.checkin_location_needs_venue"),
    "radius.invalid": N_("error.radius_invalid"),
    "check_out.not_for_kind": N_("error.stale_button"),
    "checkout.not_checked_in": N_("error.checkout_not_checked_in"),
    "checkout.already": N_("error.checkout_already"),
    "checkout.closed": N_("error.checkout_closed"),
    "saplings.invalid": N_("error.saplings_invalid"),
    "correction.invalid": N_("error.stale_button"),
    "attendance.own_record": N_("error.attendance_own_record"),
    "attendance.unchanged": N_("error.attendance_unchanged"),
    "activity.not_tree_planting": N_("error.stale_button"),
    # Check-in screens
    "screen.not_found": N_("error.not_found"),
    "screen.closed": N_("error.screen_closed"),
    "screen.qr_off": N_("error.screen_qr_off"),
    "screen.no_check_out": N_("error.stale_button"),
    "screen.check_out_over": N_("error.screen_check_out_over"),
    # The roster and the record (the secretary reads these about a member)
    "attendance.already_checked_in": N_("error.attendance_already_checked_in"),
    "attendance.not_checked_in": N_("error.attendance_not_checked_in"),
    "attendance.already_checked_out": N_("error.attendance_already_checked_out"),
    "attendance.not_missed": N_("error.attendance_not_missed"),
    "attendance.not_signed_up": N_("error.attendance_not_signed_up"),
    "activity.not_over": N_("error.activity_not_over"),
    # Notices
    "notice.not_found": N_("error.not_found"),
    "notice.empty": N_("error.notice_empty"),
    "notice.too_long": N_("error.notice_too_long"),
    "notice.caption_too_long": N_("error.notice_caption_too_long"),
    "notice.attachment_kind": N_("error.notice_attachment_kind"),
    "notice.attachment_too_large": N_("error.notice_attachment_too_large"),
    "notice.send_at_past": N_("error.notice_send_at_past"),
    "notice.send_at_too_far": N_("error.notice_send_at_too_far"),
    "notice.deadline_past": N_("error.notice_deadline_past"),
    "notice.deadline_too_far": N_("error.notice_deadline_too_far"),
    "notice.deadline_without_ack": N_("error.stale_button"),
    "notice.no_group": N_("error.notice_no_group"),
    "notice.audience_empty": N_("error.notice_audience_empty"),
    "notice.audience_needs_activity": N_("error.stale_button"),
    "notice.activity_elsewhere": N_("error.notice_not_your_unit"),
    "notice.earlier_notice_invalid": N_("error.notice_not_your_unit"),
    "notice.no_activities": N_("error.notice_no_activities"),
    "notice.no_earlier": N_("error.notice_no_earlier"),
    "notice.withdrawn": N_("error.notice_withdrawn"),
    "notice.not_a_recipient": N_("error.notice_not_a_recipient"),
    "notice.unit_left": N_("error.notice_unit_left"),
    "notice.no_ack": N_("error.notice_no_ack"),
    "notice.not_sent": N_("error.notice_not_sent"),
    "notice.nobody_to_remind": N_("error.notice_nobody_to_remind"),
    "notice.remind_too_soon": N_("error.notice_remind_too_soon"),
    # The branch's group chat
    "group.not_secretary": N_("error.group_not_secretary"),
    "group.linked_elsewhere": N_("error.group_linked_elsewhere"),
    "group.not_linked": N_("error.group_not_linked"),
    "group.changed": N_("error.group_changed"),
    "group.not_a_group": N_("error.group_not_a_group"),
    # Periods of /stats and /export
    "period.reversed": N_("error.period_reversed"),
    "period.not_begun": N_("error.period_not_begun"),
    "period.too_long": N_("error.period_too_long"),
    "period.invalid": N_("error.period_invalid"),
    "period.unreadable": N_("error.period_unreadable"),
    "period.impossible": N_("error.period_impossible"),
}


# A refusal for want of a permission says who holds it (models.permissions): by the roles
# other than admin that hold it, the refusal of a command nobody gave them a unit for
# (NotStaff) and of a press on a unit not theirs (PermissionDenied). A test checks that
# every permission's holders are here.
REFUSALS: dict[frozenset[Role], tuple[str, str]] = {
    frozenset({Role.secretary}): (N_("error.secretaries_only"), N_("error.permission_denied")),
    frozenset({Role.secretary, Role.organizer}): (
        N_("error.staff_only"),
        N_("error.permission_denied_staff"),
    ),
    frozenset(): (N_("error.admins_only"), N_("error.permission_denied_admins")),
}


def holders(permission: Permission) -> frozenset[Role]:
    """The roles below admin that hold `permission`."""
    return frozenset(
        role
        for role, held in ROLE_PERMISSIONS.items()
        if role is not Role.admin and permission in held
    )


def refusal_key(error: PermissionDenied) -> str:
    not_staff, denied = REFUSALS[holders(Permission(error.permission))]
    return not_staff if isinstance(error, NotStaff) else denied


def error_text(context: BotContext, error: DomainError) -> str:
    key = ERROR_MESSAGES.get(error.code)
    if isinstance(error, PermissionDenied) and error.code in (PermissionDenied.code, NotStaff.code):
        key = refusal_key(error)  # a refusal of its own (group.not_secretary) keeps its words
    elif key is None and isinstance(error, InvalidInput):
        key = ERROR_MESSAGES.get(error.reason)
    text = context.t(key or "error.apology")
    if isinstance(error, PrimaryElsewhere | LinkedElsewhere):
        text = text.format(unit=escape(error.unit_names[context.language]))
    if isinstance(error, CheckInTooFar):
        text = text.format(distance=error.distance_m, radius=error.radius_m)
    elif isinstance(error, CheckInNotOpen):
        text = text.format(wait=format_wait(error.opens_at - context.now(), context.language))
    elif isinstance(error, CodeSlowDown | RemindTooSoon):
        text = text.format(wait=format_wait(error.retry_at - context.now(), context.language))
    elif isinstance(error, TooLong):
        text = text.format(limit=error.limit, length=error.length)
    return text


def plain(html_text: str) -> str:
    """Alerts show no formatting: drop the tags and unescape."""
    return unescape(re.sub(r"<[^>]+>", "", html_text))


def say(
    update: Update,
    context: BotContext,
    text: str,
    markup: Markup | None = None,
    *,
    sent: Callable[[Message], Awaitable[None]] | None = None,
) -> None:
    """Reply in the chat the update came from (HTML); `sent` is given the message once it
    is there (a live figures message keeps its id, to be edited later)."""
    assert update.effective_chat
    if sent is None:
        say_to(context, update.effective_chat.id, text, markup)
        return
    chat_id = update.effective_chat.id

    async def send() -> None:
        await sent(await send_message(context, chat_id, text, markup))

    context.work.reply(send)


def send_message(
    context: BotContext, chat_id: int, text: str, markup: Markup | None = None
) -> Awaitable[Message]:
    """The one Bot API call for a message of ours (HTML): for replies queued on the work."""
    return context.bot.send_message(chat_id, text, reply_markup=markup)


def say_to(context: BotContext, chat_id: int, text: str, markup: Markup | None = None) -> None:
    asking = context.work.asking  # a question being put (handlers.conversation.Asking)
    if asking is None or asking.chat_id != chat_id:
        context.work.reply(lambda: send_message(context, chat_id, text, markup))
        return
    markup = asking.markup(markup)

    async def send() -> Message:
        message = await send_message(context, chat_id, text, markup)
        await asking.sent(message.message_id)
        return message

    context.work.reply(send)


def edit_or_say(
    update: Update, context: BotContext, text: str, markup: InlineKeyboardMarkup | None = None
) -> None:
    """Replace the message whose button was pressed; send anew when it can't be edited."""
    query = update.callback_query
    if query is None or query.message is None:
        say(update, context, text, markup)
        return

    asking = context.work.asking  # a question put in the edited message is remembered too
    shown_id = query.message.message_id

    async def edit() -> None:
        nonlocal shown_id
        if not _shows_already(query.message, text, markup):  # Telegram refuses a no-op edit
            try:
                await query.edit_message_text(text, reply_markup=markup)
            except BadRequest as exc:
                if "not modified" not in exc.message.lower():
                    assert update.effective_chat
                    sent = await send_message(context, update.effective_chat.id, text, markup)
                    shown_id = sent.message_id
        if asking is not None and asking.chat_id == query.message.chat.id:
            await asking.sent(shown_id)

    context.work.reply(edit)


def _shows_already(message: object, text: str, markup: InlineKeyboardMarkup | None) -> bool:
    """Whether the message reads `text` (HTML) with these buttons already."""
    shown = getattr(message, "text", None)
    return shown == plain(text).strip() and getattr(message, "reply_markup", None) == markup


def show(
    update: Update, context: BotContext, text: str, markup: InlineKeyboardMarkup | None = None
) -> None:
    """In place of the pressed message when it is in the person's own chat, else anew to
    them: a typed answer, a deep link, or a press on someone else's forwarded card."""
    assert update.effective_user
    user_id = update.effective_user.id
    query = update.callback_query
    if query is not None and query.message is not None and query.message.chat.id == user_id:
        edit_or_say(update, context, text, markup)
    else:
        say_to(context, user_id, text, markup)


def send_file(
    update: Update,
    context: BotContext,
    body: bytes | Callable[[], bytes],
    filename: str,
    caption: str,
    *,
    photo: bool = False,
    markup: InlineKeyboardMarkup | None = None,
    sent: Callable[[Message], Awaitable[None]] | None = None,
    progress: tuple[str, str] | None = None,
) -> None:
    """A document (or a photo: QR codes), in the person's own chat with the bot; `sent`
    is given the message once it is there (a screen keeps its id, to edit it later).

    `body` may be a function that builds the file: it runs in a worker thread after the
    commit, so that a big export holds neither the transaction nor the event loop. With
    `progress` (what to say while it is built, and once it is sent), a message says so
    first and is edited when the file is there."""
    assert update.effective_user
    chat_id = update.effective_user.id
    send_method = context.bot.send_photo if photo else context.bot.send_document

    async def send() -> None:
        notice = await send_message(context, chat_id, progress[0]) if progress else None
        data = body if isinstance(body, bytes) else await asyncio.to_thread(body)
        message = await send_method(
            chat_id,
            InputFile(data, filename=filename),
            caption=caption,
            reply_markup=markup,
        )
        if notice is not None and progress is not None:
            with contextlib.suppress(BadRequest):  # deleted meanwhile
                await notice.edit_text(
                    progress[1],
                )
        if sent is not None:
            await sent(message)

    context.work.reply(send)


def send_media(
    update: Update,
    context: BotContext,
    kind: str,
    file_id: str,
    caption: str,
    markup: InlineKeyboardMarkup | None = None,
) -> None:
    """A photo or document Telegram has already (by its file_id), in the chat the update
    came from, with `caption` (HTML)."""
    assert update.effective_chat
    chat_id = update.effective_chat.id
    send_method = context.bot.send_photo if kind == "photo" else context.bot.send_document
    context.work.reply(lambda: send_method(chat_id, file_id, caption=caption, reply_markup=markup))


def edit_buttons(update: Update, context: BotContext, markup: InlineKeyboardMarkup | None) -> None:
    """Replace only the buttons of the pressed message (a text or a caption alike)."""
    query = update.callback_query
    if query is None or query.message is None:
        return

    async def edit() -> None:
        if getattr(query.message, "reply_markup", None) == markup:
            return  # Telegram refuses an edit that changes nothing
        with contextlib.suppress(BadRequest):  # deleted meanwhile, or not modified
            await query.edit_message_reply_markup(reply_markup=markup)

    context.work.reply(edit)


def edit_caption(
    context: BotContext,
    chat_id: int,
    message_id: int,
    caption: str,
    markup: InlineKeyboardMarkup | None = None,
) -> None:
    """Replace the caption (and buttons) of a photo of ours; one that is gone is let be."""

    async def edit() -> None:
        with contextlib.suppress(BadRequest):  # deleted, or not modified
            await context.bot.edit_message_caption(
                chat_id=chat_id,
                message_id=message_id,
                caption=caption,
                reply_markup=markup,
            )

    context.work.reply(edit)


def edit_photo(
    context: BotContext,
    chat_id: int,
    message_id: int,
    media: InputMediaPhoto,
    markup: InlineKeyboardMarkup | None = None,
) -> None:
    """Replace a photo of ours (and its caption and buttons); one that is gone is let be."""

    async def edit() -> None:
        with contextlib.suppress(BadRequest):
            await context.bot.edit_message_media(
                media, chat_id=chat_id, message_id=message_id, reply_markup=markup
            )

    context.work.reply(edit)


# --- lists longer than one message ----------------------------------------------------------
#
# Every list a person asks for is shown a page at a time (models.paging), with ‹ 2/7 ›
# under it (views.buttons.pager). Each list's page size is chosen so that a page of the
# longest texts the domain allows stays well under Telegram's limits: 4096 characters of
# text (counted in UTF-16, where a character outside the BMP counts twice) and 100 buttons.
# Choices of many (units) are pages of buttons (views.buttons.choice_keyboard).


def page_title(context: BotContext, title: str, page: Page[Any]) -> str:
    """A list's first line: its title (which says how many in all), and which page this is
    when there is more than one."""
    if page.pages == 1:
        return title
    return context.t("list.page", title=title, page=page.page, pages=page.pages)


def answer_press(
    update: Update, context: BotContext, note: str | None, alert: bool = False
) -> None:
    """A press is answered exactly once: with a short note, or a refusal as an alert."""
    query = update.callback_query
    assert query
    text = plain(note)[:200] if note else None
    context.work.answered = True
    context.work.reply(lambda: query.answer(text, show_alert=alert))


async def attempt(context: BotContext, operation: Awaitable[T]) -> T | DomainError:
    """Run one domain operation whose refusal must not undo the rest of the update (a
    report sent at the end of the profile): inside a savepoint, so that when it is
    refused only its own writes are rolled back. The result, or the refusal."""
    recorded = pending_count(context.session)
    try:
        async with context.session.begin_nested():
            return await operation
    except DomainError as error:
        forget_since(context.session, recorded)
        return error


async def decide(
    update: Update,
    context: BotContext,
    operation: Awaitable[T],
    show_outcome: Callable[[], Awaitable[None]],
) -> T | None:
    """A secretary's decision pressed on a card. When it was decided already (by another
    secretary, or it is an old card), the card shows what became of it and the press is
    answered with why: None. Other refusals are refusals."""
    result = await attempt(context, operation)
    if isinstance(result, InvalidState):
        await show_outcome()
        answer_press(update, context, error_text(context, result), alert=True)
        return None
    if isinstance(result, DomainError):
        raise result
    return result
