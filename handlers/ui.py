"""Small pieces every feature uses to talk: replies, names, times, errors."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import datetime
from html import escape, unescape
from zoneinfo import ZoneInfo

from telegram import (
    ForceReply,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest

from bot.context import BotContext
from handlers.callbacks import StaleButton
from models.errors import DomainError, InvalidInput, PrimaryElsewhere
from models.members import MembershipStatus, MemberType
from models.org import OrgUnit, unit_display_name

Markup = InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove | ForceReply


def N_(key: str) -> str:
    """Marks a catalog key that is looked up later, so the catalog test can find it."""
    return key


# Domain error codes (models.errors) and what people are told. A test checks that
# every code the domain raises is here.
ERROR_MESSAGES: dict[str, str] = {
    "not_found": N_("error.not_found"),
    "permission.denied": N_("error.permission_denied"),
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
    "made_up.not_missed": N_("error.stale_button"),
}


# Literal keys (not f-strings) so that the catalog test sees each one.
TYPE_KEYS = {
    MemberType.regular: "member_type.regular",
    MemberType.floating: "member_type.floating",
    MemberType.undeclared: "member_type.undeclared",
}

STATUS_KEYS = {
    MembershipStatus.pending: "membership.status.pending",
    MembershipStatus.active: "membership.status.active",
    MembershipStatus.rejected: "membership.status.rejected",
    MembershipStatus.left: "membership.status.left",
    MembershipStatus.transferred: "membership.status.transferred",
}


def error_text(context: BotContext, error: DomainError) -> str:
    key = ERROR_MESSAGES.get(error.code)
    if key is None and isinstance(error, InvalidInput):
        key = ERROR_MESSAGES.get(error.reason)
    text = context.t(key or "error.apology")
    if isinstance(error, PrimaryElsewhere):
        text = text.format(unit=escape(error.unit_names[context.language]))
    return text


def unit_name(context: BotContext, unit: OrgUnit) -> str:
    return unit_display_name(unit, context.language)


def local_time(context: BotContext, moment: datetime | None, timezone: str | None = None) -> str:
    """A moment as people in the branch read it: 2026-03-10 09:30."""
    if moment is None:
        return "—"
    zone = ZoneInfo(timezone or context.services.config.bot.timezone)
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M")


BUTTON_LABEL_MAX = 40  # longer labels are cut off on phones anyway


def short(label: str) -> str:
    """A button label that fits on a phone."""
    return label if len(label) <= BUTTON_LABEL_MAX else label[: BUTTON_LABEL_MAX - 1] + "…"


def buttons(*rows: list[tuple[str, str]]) -> InlineKeyboardMarkup:
    """Inline keyboard from rows of (label, callback_data)."""
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(label, callback_data=data) for label, data in row] for row in rows]
    )


async def say(
    update: Update, context: BotContext, text: str, markup: Markup | None = None
) -> Message:
    """Reply in the chat the update came from (HTML)."""
    assert update.effective_chat
    return await context.bot.send_message(
        update.effective_chat.id, text, parse_mode=ParseMode.HTML, reply_markup=markup
    )


async def edit_or_say(
    update: Update,
    context: BotContext,
    text: str,
    markup: InlineKeyboardMarkup | None = None,
) -> None:
    """Replace the message whose button was pressed; send anew when it can't be edited."""
    query = update.callback_query
    if query is not None and query.message is not None:
        try:
            await query.edit_message_text(text, parse_mode=ParseMode.HTML, reply_markup=markup)
            return
        except BadRequest as exc:
            if "not modified" in exc.message.lower():
                return
    await say(update, context, text, markup)


async def run_press(
    update: Update, context: BotContext, work: Callable[[], Awaitable[str | None]]
) -> None:
    """Every button press ends here: answered exactly once, refusals as an alert.

    `work` returns a short note for the answer (or None) and may raise a DomainError
    or StaleButton; either way the person gets an answer and nothing is half done.
    """
    query = update.callback_query
    assert query
    try:
        note = await work()
    except DomainError as error:
        await query.answer(_plain(error_text(context, error))[:200], show_alert=True)
        return
    except StaleButton:
        await query.answer(context.t("error.stale_button"), show_alert=True)
        return
    await query.answer(note[:200] if note else None)


async def answer_error(update: Update, context: BotContext, error: DomainError) -> None:
    """A refusal worth a message of its own (a press's refusals are alerts: see run_press)."""
    await say(update, context, error_text(context, error))


def _plain(html_text: str) -> str:
    """Alerts show no formatting: drop the tags and unescape."""
    return unescape(re.sub(r"<[^>]+>", "", html_text))
