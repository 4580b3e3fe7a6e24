"""The member's side of their record: /start, consent, the profile steps, /me, /mydata,
/forget, /cancel.

The profile is one conversation (PROFILE below). Which step comes next is read
from the stored member (what is still missing), so a member can stop halfway and
carry on after a restart.
"""

from __future__ import annotations

import json
from html import escape

from telegram import Contact, KeyboardButton, ReplyKeyboardMarkup, ReplyKeyboardRemove, Update

from handlers import checkin, events, reporting
from handlers.context import BotContext
from handlers.conversation import Conversation, State, Step
from handlers.record import entry_lines, totals_text, year_record
from handlers.ui import edit_or_say, say, send_file
from models.account import close_question
from models.activities import SHARE_PAYLOAD_PREFIX
from models.attendance import TOKEN_PREFIX
from models.members import (
    Member,
    MembershipStatus,
    MemberType,
    get_member,
    give_consent,
    memberships_of,
    set_member_type,
    set_phone,
    set_real_name,
    set_workplace,
    start_profile,
)
from models.org import unit_display_name
from models.privacy import export_data, forget_user, has_personal_data
from views.buttons import (
    AskLeaveUnit,
    BrowseUnits,
    ChooseMemberType,
    ConfirmForget,
    Consent,
    EditProfile,
    KeepData,
    SkipWorkplace,
    StaleButton,
    keyboard,
    short,
)
from views.dates import format_local
from views.labels import MEMBER_TYPE_KEYS, MEMBERSHIP_STATUS_KEYS
from views.notifications import member_type_text

TYPES = (MemberType.regular, MemberType.floating, MemberType.undeclared)
# Fields a member can change from /me, by index in the button.
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


# --- the questions ------------------------------------------------------------------------


async def ask_consent(update: Update, context: BotContext, state: State) -> None:
    markup = keyboard(
        [(context.t("profile.consent_yes"), Consent(True))],
        [(context.t("profile.consent_no"), Consent(False))],
    )
    say(update, context, context.t("profile.consent"), markup)


async def ask_name(update: Update, context: BotContext, state: State) -> None:
    say(update, context, context.t("profile.ask_name"), ReplyKeyboardRemove())


def phone_keyboard(context: BotContext) -> ReplyKeyboardMarkup:
    return ReplyKeyboardMarkup(
        [[KeyboardButton(context.t("profile.share_phone"), request_contact=True)]],
        resize_keyboard=True,
        one_time_keyboard=True,
    )


async def ask_phone(update: Update, context: BotContext, state: State) -> None:
    say(update, context, context.t("profile.ask_phone"), phone_keyboard(context))


async def ask_type(update: Update, context: BotContext, state: State) -> None:
    rows = [
        [(context.t(MEMBER_TYPE_KEYS[kind]), ChooseMemberType(index))]
        for index, kind in enumerate(TYPES)
    ]
    say(update, context, context.t("profile.ask_type"), keyboard(*rows))


async def ask_home_branch(update: Update, context: BotContext, state: State) -> None:
    say(update, context, context.t("profile.ask_home_branch"))


async def ask_workplace(update: Update, context: BotContext, state: State) -> None:
    skip = keyboard([(context.t("profile.skip"), SkipWorkplace())])
    say(update, context, context.t("profile.ask_workplace"), skip)


# --- the answers ----------------------------------------------------------------------------


async def _consented_member(update: Update, context: BotContext) -> Member | None:
    """The member, once they agreed; else the consent question is put (again)."""
    assert update.effective_user
    member = await get_member(context.session, update.effective_user.id)
    if member is None or member.consent_at is None:
        await PROFILE.ask(update, context, "consent")
        return None
    return member


async def save_text(update: Update, context: BotContext, state: State, text: str) -> None:
    """A typed answer to the name, home-branch or workplace question."""
    member = await _consented_member(update, context)
    if member is None:
        return
    onboarding = next_step(member) is not None
    step = state.step.name
    if step == "name":
        set_real_name(member, text)
    elif step == "home_branch":
        set_member_type(member, MemberType.floating, text)
    else:
        set_workplace(member, text)
    if step == "workplace":
        await finish(update, context)
    else:
        await continue_profile(update, context, onboarding)


async def save_contact(update: Update, context: BotContext, state: State, contact: Contact) -> None:
    """The share-contact button: only the member's own number is accepted."""
    assert update.effective_user
    if contact.user_id != update.effective_user.id:
        say(update, context, context.t("profile.not_own_contact"))
        return
    member = await _consented_member(update, context)
    if member is None:
        return
    onboarding = next_step(member) is not None
    set_phone(member, contact.phone_number)
    say(update, context, context.t("profile.phone_saved"), ReplyKeyboardRemove())
    await continue_profile(update, context, onboarding)


PROFILE = Conversation(
    "profile",
    [
        Step("consent", ask_consent, reask=True),
        Step("name", ask_name, on_text=save_text),
        Step(
            "phone",
            ask_phone,
            on_contact=save_contact,
            hint="profile.use_phone_button",
            keyboard=phone_keyboard,
        ),
        Step("member_type", ask_type, reask=True),
        Step("home_branch", ask_home_branch, on_text=save_text),
        Step("workplace", ask_workplace, on_text=save_text),
    ],
)


async def continue_profile(update: Update, context: BotContext, onboarding: bool) -> None:
    """After a step: ask what is still missing, else finish (or go back to /me)."""
    assert update.effective_user
    step = next_step(await get_member(context.session, update.effective_user.id))
    if step is not None:
        await PROFILE.ask(update, context, step)
    elif onboarding:
        await PROFILE.ask(update, context, "workplace")  # the last, optional question
    else:
        await finish(update, context)


async def finish(update: Update, context: BotContext) -> None:
    """The profile is complete: show it, and send the report the member came for."""
    assert update.effective_user
    await PROFILE.end(context, update.effective_user.id)
    say(update, context, context.t("profile.saved"), ReplyKeyboardRemove())
    if not await reporting.send_remembered_report(update, context):
        await show_me(update, context)


async def consent_chosen(update: Update, context: BotContext, press: Consent) -> None:
    assert update.effective_user
    if not press.agreed:
        await PROFILE.end(context, update.effective_user.id)
        edit_or_say(update, context, context.t("profile.consent_declined"))
        return
    member = await start_profile(context.session, update.effective_user.id, context.now())
    await give_consent(context.session, member, context.now())
    edit_or_say(update, context, context.t("profile.consent_given"))
    await continue_profile(update, context, onboarding=True)


async def type_chosen(update: Update, context: BotContext, press: ChooseMemberType) -> None:
    if press.index >= len(TYPES):
        raise StaleButton(press.index)
    kind = TYPES[press.index]
    member = await _consented_member(update, context)
    if member is None:
        return
    onboarding = next_step(member) is not None
    if kind is not MemberType.floating:  # floating is saved with its home branch, asked next
        set_member_type(member, kind, None)
    edit_or_say(
        update, context, context.t("profile.type_chosen", type=context.t(MEMBER_TYPE_KEYS[kind]))
    )
    if kind is MemberType.floating:
        await PROFILE.ask(update, context, "home_branch")
    else:
        await continue_profile(update, context, onboarding)


async def workplace_skipped(update: Update, context: BotContext, press: SkipWorkplace) -> None:
    edit_or_say(update, context, context.t("profile.workplace_skipped"))
    await finish(update, context)


async def edit_pressed(update: Update, context: BotContext, press: EditProfile) -> None:
    if press.field >= len(EDITABLE):
        raise StaleButton(press.field)
    if await _consented_member(update, context) is not None:
        await PROFILE.ask(update, context, EDITABLE[press.field])


# --- /start -----------------------------------------------------------------------------------


async def start(update: Update, context: BotContext) -> None:
    """/start, with or without a payload: a reporting point (r_<invite>), an activity's
    share link (a_<code>), a check-in screen's code (qi_…, qo_…), or the fixed check-in
    code of earlier versions (c_<code>)."""
    assert update.effective_user
    payload = context.args[0] if context.args else None
    user = update.effective_user
    if payload is not None and payload.startswith(SHARE_PAYLOAD_PREFIX):
        await events.open_shared(update, context, payload)
        return
    if payload is not None and payload.startswith(TOKEN_PREFIX):
        await checkin.scanned(update, context, payload)
        return
    if payload is not None and payload.startswith(checkin.OLD_PAYLOAD_PREFIX):
        await checkin.old_link(update, context, payload)
        return
    member = await get_member(context.session, user.id)
    invited = payload is not None and await reporting.remember_invite(update, context, payload)
    step = next_step(member)
    if step == "consent":
        say(update, context, context.t("start.welcome", name=escape(user.first_name)))
        await PROFILE.ask(update, context, step)
    elif step is not None:
        say(update, context, context.t("profile.resume"))
        await PROFILE.ask(update, context, step)
    elif invited:
        await reporting.send_remembered_report(update, context)
    else:
        say(update, context, context.t("start.welcome_back", name=escape(user.first_name)))
        await show_me(update, context)


# --- /me, /mydata, /forget, /cancel -------------------------------------------------------------


def profile_card(context: BotContext, member: Member, key: str = "profile.card") -> str:
    """The member's details under a title: "profile.card" (my information, /me) or
    "staff.member_card" (a member's card as the secretary sees it)."""
    return context.t(
        key,
        name=escape(member.real_name or "—"),
        phone=escape(member.phone or "—"),
        type=member_type_text(member, context.language),
        workplace=escape(member.workplace or "—"),
    )


RECENT_SHOWN = 3  # past activities on /me


async def show_me(update: Update, context: BotContext) -> None:
    """/me: the profile, the units, and what can be changed."""
    assert update.effective_user
    member = await get_member(context.session, update.effective_user.id)
    if member is None or next_step(member) is not None:
        say(update, context, context.t("profile.none_yet"))
        return
    lines = [profile_card(context, member), "", context.t("profile.units_title")]
    open_units = []
    memberships = await memberships_of(context.session, member)
    for membership in memberships:
        if membership.status in (MembershipStatus.pending, MembershipStatus.active):
            open_units.append(membership.unit)
        lines.append(
            context.t(
                "profile.unit_line",
                unit=escape(unit_display_name(membership.unit, context.language)),
                status=context.t(MEMBERSHIP_STATUS_KEYS[membership.status]),
                since=format_local(
                    membership.decided_at or membership.requested_at,
                    await context.zone(membership.unit),
                ),
            )
        )
    if not memberships:
        lines.append(context.t("profile.no_units"))
    if memberships:  # this year's numbers and the latest; /record has all of it
        record, year = await year_record(context, member)
        lines += ["", totals_text(context, record, year)]
        lines += await entry_lines(context, record.entries[:RECENT_SHOWN])
    rows = [
        [
            (context.t("profile.edit_name"), EditProfile(0)),
            (context.t("profile.edit_phone"), EditProfile(1)),
        ],
        [
            (context.t("profile.edit_type"), EditProfile(2)),
            (context.t("profile.edit_workplace"), EditProfile(3)),
        ],
        [
            (context.t("report.to_branch_button"), BrowseUnits(False, 0)),
            (context.t("report.community_button"), BrowseUnits(True, 0)),
        ],
    ]
    for unit in open_units:
        label = context.t("profile.leave_button", unit=unit_display_name(unit, context.language))
        rows.append([(short(label), AskLeaveUnit(unit.id))])
    say(update, context, "\n".join(lines), keyboard(*rows))


async def my_data(update: Update, context: BotContext) -> None:
    """/mydata: everything stored about the person, as a JSON file (README: what it holds)."""
    assert update.effective_user
    data = await export_data(context.session, update.effective_user.id)
    if data is None:
        say(update, context, context.t("profile.nothing_stored"))
        return
    body = json.dumps(data, ensure_ascii=False, indent=2).encode()
    send_file(update, context, body, "branchbot-my-data.json", context.t("profile.mydata_caption"))


async def forget_command(update: Update, context: BotContext) -> None:
    """/forget: asks first; nothing is deleted without the second press. With nothing
    personal stored there is nothing to ask about, and the answer says so."""
    assert update.effective_user
    if not await has_personal_data(context.session, update.effective_user.id):
        say(update, context, context.t("forget.nothing_stored"))
        return
    markup = keyboard(
        [(context.t("forget.confirm_button"), ConfirmForget())],
        [(context.t("forget.keep_button"), KeepData())],
    )
    say(update, context, context.t("forget.confirm"), markup)


async def forget_confirmed(update: Update, context: BotContext, press: ConfirmForget) -> None:
    assert update.effective_user
    await forget_user(context.session, update.effective_user.id, context.now())
    edit_or_say(update, context, context.t("forget.done"))


async def data_kept(update: Update, context: BotContext, press: KeepData) -> None:
    edit_or_say(update, context, context.t("forget.kept"))


async def cancel(update: Update, context: BotContext) -> None:
    """/cancel: stop whatever question is open; what was saved stays saved."""
    assert update.effective_user
    had_question = await close_question(context.session, update.effective_user.id)
    key = "cancel.done" if had_question else "cancel.nothing"
    say(update, context, context.t(key), ReplyKeyboardRemove())
