"""The member's side of their record: consent, the profile steps, /me, /mydata, /forget.

The profile is built one step at a time. Which step comes next is read from the
stored member (what is still missing), and the answer a step expects is kept in
`Account.awaiting`, so a member can stop halfway and carry on after a restart.
"""

from __future__ import annotations

import json
from html import escape

from telegram import (
    InputFile,
    KeyboardButton,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)

from bot.context import BotContext
from handlers import activities, callbacks, reporting
from handlers.ui import (
    STATUS_KEYS,
    TYPE_KEYS,
    answer_error,
    buttons,
    edit_or_say,
    local_time,
    run_press,
    say,
    short,
    unit_name,
)
from models.account import expect, touch_account
from models.activities import SHARE_PAYLOAD_PREFIX
from models.errors import DomainError
from models.members import (
    Member,
    MembershipStatus,
    MemberType,
    export_member_data,
    forget_member,
    get_member,
    give_consent,
    memberships_of,
    set_member_type,
    set_phone,
    set_real_name,
    set_workplace,
    start_profile,
)

PREFIX = "prof"
TYPES = (MemberType.regular, MemberType.floating, MemberType.undeclared)
# Fields a member can change from /me, by index in callback data.
EDITABLE = ("name", "phone", "member_type", "workplace")


def next_step(member: Member | None) -> str | None:
    """The first thing the profile still lacks, or None when it is complete."""
    if member is None or member.consent_at is None:
        return "consent"
    if not member.real_name:
        return "name"
    if not member.phone:
        return "phone"
    if member.member_type is None:
        return "member_type"
    if member.member_type is MemberType.floating and not member.home_branch:
        return "home_branch"
    return None


async def ask(update: Update, context: BotContext, step: str) -> None:
    """Put one question, and remember that its answer is expected."""
    assert update.effective_user
    async with context.db() as session:
        await expect(session, update.effective_user.id, step)
    if step == "consent":
        markup = buttons(
            [(context.t("profile.consent_yes"), callbacks.data(PREFIX, "consent", 1))],
            [(context.t("profile.consent_no"), callbacks.data(PREFIX, "consent", 0))],
        )
        await say(update, context, context.t("profile.consent"), markup)
    elif step == "name":
        await say(update, context, context.t("profile.ask_name"), ReplyKeyboardRemove())
    elif step == "phone":
        keyboard = ReplyKeyboardMarkup(
            [[KeyboardButton(context.t("profile.share_phone"), request_contact=True)]],
            resize_keyboard=True,
            one_time_keyboard=True,
        )
        await say(update, context, context.t("profile.ask_phone"), keyboard)
    elif step == "member_type":
        rows = [
            [(context.t(TYPE_KEYS[kind]), callbacks.data(PREFIX, "type", index))]
            for index, kind in enumerate(TYPES)
        ]
        await say(update, context, context.t("profile.ask_type"), buttons(*rows))
    elif step == "home_branch":
        await say(update, context, context.t("profile.ask_home_branch"))
    elif step == "workplace":
        skip = buttons([(context.t("profile.skip"), callbacks.data(PREFIX, "skipwork"))])
        await say(update, context, context.t("profile.ask_workplace"), skip)


async def continue_profile(update: Update, context: BotContext, onboarding: bool) -> None:
    """After a step: ask what is still missing, else finish (or go back to /me)."""
    assert update.effective_user
    async with context.db() as session:
        member = await get_member(session, update.effective_user.id)
    step = next_step(member)
    if step is not None:
        await ask(update, context, step)
    elif onboarding:
        await ask(update, context, "workplace")  # the last, optional question
    else:
        await finish(update, context)


async def finish(update: Update, context: BotContext) -> None:
    """The profile is complete: show it, and send the report the member came for."""
    assert update.effective_user
    async with context.db() as session:
        await expect(session, update.effective_user.id, None)
    await say(update, context, context.t("profile.saved"), ReplyKeyboardRemove())
    if not await reporting.send_remembered_report(update, context):
        await show_me(update, context)


# --- /start ----------------------------------------------------------------------------


async def start(update: Update, context: BotContext) -> None:
    """/start, with or without a payload: a reporting point (r_<invite>), an activity's
    share link (a_<code>) or its venue check-in code (c_<code>)."""
    assert update.effective_user
    payload = context.args[0] if context.args else None
    user = update.effective_user
    if payload is not None and payload.startswith(SHARE_PAYLOAD_PREFIX):
        await activities.open_shared(update, context, payload)
        return
    if payload is not None and payload.startswith(activities.CHECKIN_PAYLOAD_PREFIX):
        await activities.check_in_by_qr(update, context, payload)
        return
    async with context.db() as session:
        member = await get_member(session, user.id)
    invited = payload is not None and await reporting.remember_invite(update, context, payload)
    step = next_step(member)
    if step == "consent":
        await say(update, context, context.t("start.welcome", name=escape(user.first_name)))
        await ask(update, context, step)
    elif step is not None:
        await say(update, context, context.t("profile.resume"))
        await ask(update, context, step)
    elif invited:
        await reporting.send_remembered_report(update, context)
    else:
        await say(update, context, context.t("start.welcome_back", name=escape(user.first_name)))
        await show_me(update, context)


# --- answers to the steps ----------------------------------------------------------------


async def consent_chosen(update: Update, context: BotContext, agreed: bool) -> None:
    assert update.effective_user
    if not agreed:
        async with context.db() as session:
            await expect(session, update.effective_user.id, None)
        await edit_or_say(update, context, context.t("profile.consent_declined"))
        return
    async with context.db() as session:
        member = await get_member(session, update.effective_user.id)
        if member is None:
            member = await start_profile(session, update.effective_user.id, context.now())
        if member.consent_at is None:
            await give_consent(session, member, context.now())
    await edit_or_say(update, context, context.t("profile.consent_given"))
    await continue_profile(update, context, onboarding=True)


async def save_text(update: Update, context: BotContext, step: str, text: str) -> None:
    """A typed answer to the name, home-branch or workplace question."""
    assert update.effective_user
    try:
        async with context.db() as session:
            member = await get_member(session, update.effective_user.id)
            if member is None or member.consent_at is None:
                await ask(update, context, "consent")
                return
            onboarding = next_step(member) is not None
            if step == "name":
                set_real_name(member, text)
            elif step == "home_branch":
                set_member_type(member, MemberType.floating, text)
            else:
                set_workplace(member, text)
    except DomainError as error:
        await answer_error(update, context, error)  # the question stays open
        return
    if step == "workplace":
        await finish(update, context)
    else:
        await continue_profile(update, context, onboarding)


async def save_contact(update: Update, context: BotContext) -> None:
    """The share-contact button: only the member's own number is accepted."""
    message, user = update.effective_message, update.effective_user
    assert message and message.contact and user
    if message.contact.user_id != user.id:
        await say(update, context, context.t("profile.not_own_contact"))
        return
    try:
        async with context.db() as session:
            member = await get_member(session, user.id)
            if member is None or member.consent_at is None:
                await ask(update, context, "consent")
                return
            onboarding = next_step(member) is not None
            set_phone(member, message.contact.phone_number)
    except DomainError as error:
        await answer_error(update, context, error)
        return
    await say(update, context, context.t("profile.phone_saved"), ReplyKeyboardRemove())
    await continue_profile(update, context, onboarding)


async def type_chosen(update: Update, context: BotContext, index: int) -> None:
    assert update.effective_user
    if index >= len(TYPES):
        raise callbacks.StaleButton(index)
    kind = TYPES[index]
    async with context.db() as session:
        member = await get_member(session, update.effective_user.id)
        if member is None or member.consent_at is None:
            await ask(update, context, "consent")
            return
        onboarding = next_step(member) is not None
        if kind is not MemberType.floating:  # floating is saved with its home branch, asked next
            set_member_type(member, kind, None)
    await edit_or_say(
        update, context, context.t("profile.type_chosen", type=context.t(TYPE_KEYS[kind]))
    )
    if kind is MemberType.floating:
        await ask(update, context, "home_branch")
    else:
        await continue_profile(update, context, onboarding)


async def on_press(update: Update, context: BotContext) -> None:
    """Every "prof:" button."""
    await run_press(update, context, lambda: _pressed(update, context))


async def _pressed(update: Update, context: BotContext) -> None:
    assert update.callback_query
    action, ids = callbacks.parse(update.callback_query.data, PREFIX)
    if action == "consent" and len(ids) == 1 and ids[0] in (0, 1):
        await consent_chosen(update, context, agreed=ids[0] == 1)
    elif action == "type" and len(ids) == 1:
        await type_chosen(update, context, ids[0])
    elif action == "skipwork" and not ids:
        await edit_or_say(update, context, context.t("profile.workplace_skipped"))
        await finish(update, context)
    elif action == "edit" and len(ids) == 1 and ids[0] < len(EDITABLE):
        await ask(update, context, EDITABLE[ids[0]])
    elif action == "leave" and len(ids) == 1:
        await reporting.confirm_leave(update, context, ids[0])
    else:
        raise callbacks.StaleButton(update.callback_query.data)


# --- /me, /mydata, /forget ----------------------------------------------------------------


def profile_card(context: BotContext, member: Member) -> str:
    kind = member.member_type
    type_text = context.t(TYPE_KEYS[kind]) if kind else "—"
    if kind is MemberType.floating and member.home_branch:
        type_text += context.t("profile.home_branch_suffix", home=escape(member.home_branch))
    return context.t(
        "profile.card",
        name=escape(member.real_name or "—"),
        phone=escape(member.phone or "—"),
        type=type_text,
        workplace=escape(member.workplace or "—"),
    )


async def show_me(update: Update, context: BotContext) -> None:
    """/me: the profile, the units, and what can be changed."""
    assert update.effective_user
    async with context.db() as session:
        member = await get_member(session, update.effective_user.id)
        memberships = await memberships_of(session, member) if member else []
    if member is None or next_step(member) is not None:
        await say(update, context, context.t("profile.none_yet"))
        return
    lines = [profile_card(context, member), "", context.t("profile.units_title")]
    open_units = []
    for membership in memberships:
        if membership.status in (MembershipStatus.pending, MembershipStatus.active):
            open_units.append(membership.unit)
        lines.append(
            context.t(
                "profile.unit_line",
                unit=escape(unit_name(context, membership.unit)),
                status=context.t(STATUS_KEYS[membership.status]),
                since=local_time(context, membership.decided_at or membership.requested_at),
            )
        )
    if not memberships:
        lines.append(context.t("profile.no_units"))
    rows = [
        [
            (context.t("profile.edit_name"), callbacks.data(PREFIX, "edit", 0)),
            (context.t("profile.edit_phone"), callbacks.data(PREFIX, "edit", 1)),
        ],
        [
            (context.t("profile.edit_type"), callbacks.data(PREFIX, "edit", 2)),
            (context.t("profile.edit_workplace"), callbacks.data(PREFIX, "edit", 3)),
        ],
        [
            (context.t("report.to_branch_button"), callbacks.data(reporting.PREFIX, "tree", 0, 0)),
            (context.t("report.community_button"), callbacks.data(reporting.PREFIX, "tree", 1, 0)),
        ],
    ]
    for unit in open_units:
        label = context.t("profile.leave_button", unit=unit_name(context, unit))
        rows.append([(short(label), callbacks.data(PREFIX, "leave", unit.id))])
    await say(update, context, "\n".join(lines), buttons(*rows))


async def my_data(update: Update, context: BotContext) -> None:
    """/mydata: everything stored about the member, as a JSON file."""
    assert update.effective_user and update.effective_chat
    async with context.db() as session:
        member = await get_member(session, update.effective_user.id)
        data = await export_member_data(session, member) if member else None
    if data is None:
        await say(update, context, context.t("profile.nothing_stored"))
        return
    body = json.dumps(data, ensure_ascii=False, indent=2).encode()
    await context.bot.send_document(
        update.effective_chat.id,
        InputFile(body, filename="branchbot-my-data.json"),
        caption=context.t("profile.mydata_caption"),
    )


async def forget_command(update: Update, context: BotContext) -> None:
    """/forget: asks first; nothing is deleted without the second press."""
    markup = buttons(
        [(context.t("forget.confirm_button"), callbacks.data("fgt", "yes"))],
        [(context.t("forget.keep_button"), callbacks.data("fgt", "no"))],
    )
    await say(update, context, context.t("forget.confirm"), markup)


async def forget_pressed(update: Update, context: BotContext) -> None:
    await run_press(update, context, lambda: _forget_pressed(update, context))


async def _forget_pressed(update: Update, context: BotContext) -> None:
    assert update.callback_query and update.effective_user
    action, _ = callbacks.parse(update.callback_query.data, "fgt")
    if action != "yes":
        await edit_or_say(update, context, context.t("forget.kept"))
        return
    async with context.db() as session:
        member = await get_member(session, update.effective_user.id)
        if member is not None:
            await forget_member(session, member, context.now())
    await edit_or_say(update, context, context.t("forget.done"))


async def cancel(update: Update, context: BotContext) -> None:
    """/cancel: stop whatever question is open; what was saved stays saved."""
    assert update.effective_user
    async with context.db() as session:
        account = await touch_account(session, update.effective_user.id)
        had_question = account.awaiting is not None
        account.awaiting = None
    key = "cancel.done" if had_question else "cancel.nothing"
    await say(update, context, context.t(key), ReplyKeyboardRemove())
