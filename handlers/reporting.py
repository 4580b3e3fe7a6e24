"""报到: a member reports to a branch (by its QR code or from the tree); secretaries decide.

Callback data (prefix "rep"), ids re-checked on every press:
  tree:<community>:<parent>  browse the tree (community 1 = 双报到), parent 0 = the top
  pick:<community>:<unit>    the confirm screen      send:<community>:<unit>  send the report
  ok:<report>  approve       no:<report>  reject (asks the reason)
  leave:<unit>  leave a unit (after the confirm in /me)   qr:<unit>  the unit's QR code
"""

from __future__ import annotations

from functools import partial
from html import escape

from telegram import InlineKeyboardMarkup, InputFile, Update

from bot.context import BotContext
from bot.files import qr_png
from bot.i18n import t
from handlers import callbacks
from handlers.notify import about_unit, notify
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
from models.errors import DomainError, InvalidState, NotFound
from models.members import (
    Membership,
    MembershipKind,
    MembershipStatus,
    MemberType,
    Via,
    approve_report,
    get_member,
    get_membership,
    leave,
    pending_reports,
    reject_report,
    report,
)
from models.org import (
    INVITE_PAYLOAD_PREFIX,
    OrgUnit,
    UnitKind,
    get_unit,
    invite_payload,
    list_tree,
    unit_by_invite,
    unit_display_name,
)
from models.permissions import Permission, require
from models.staff import managed_units, reviewers_of

PREFIX = "rep"
PENDING_SHOWN = 10
REPORTABLE = {
    0: (UnitKind.branch, UnitKind.group),  # managed by a branch
    1: (UnitKind.community,),  # 双报到
}


def invite_link(context: BotContext, unit: OrgUnit) -> str:
    return f"https://t.me/{context.bot.username}?start={invite_payload(unit)}"


# --- the member reports ------------------------------------------------------------------


async def remember_invite(update: Update, context: BotContext, payload: str) -> bool:
    """A /start payload: remember the unit whose reporting point was scanned.

    False (after saying why) when the payload is not a valid reporting link.
    """
    assert update.effective_user
    code = payload.removeprefix(INVITE_PAYLOAD_PREFIX)
    try:
        if not payload.startswith(INVITE_PAYLOAD_PREFIX):
            raise NotFound("unit.not_found", payload)
        async with context.db() as session:
            unit = await unit_by_invite(session, code)
            account = await touch_account(session, update.effective_user.id)
            account.report_unit_id = unit.id
    except NotFound:
        await say(update, context, context.t("report.bad_invite"))
        return False
    return True


async def send_remembered_report(update: Update, context: BotContext) -> bool:
    """Send the report for the reporting point the member scanned, if there is one."""
    assert update.effective_user
    async with context.db() as session:
        account = await touch_account(session, update.effective_user.id)
        unit_id, account.report_unit_id = account.report_unit_id, None
    if unit_id is None:
        return False
    await submit_report(update, context, unit_id, via_invite=True)
    return True


async def submit_report(
    update: Update, context: BotContext, unit_id: int, *, via_invite: bool
) -> None:
    """Create the report and, in the same transaction, the cards for its reviewers."""
    assert update.effective_user
    try:
        async with context.db() as session:
            member = await get_member(session, update.effective_user.id)
            if member is None:
                raise InvalidState("profile.incomplete")
            unit = await get_unit(session, unit_id)
            community = unit.kind is UnitKind.community
            membership = await report(
                session,
                member,
                unit,
                kind=MembershipKind.community if community else MembershipKind.primary,
                via=Via.invite if via_invite else Via.tree,
                now=context.now(),
            )
            for reviewer in await reviewers_of(session, unit.id):
                card = partial(report_card, context, membership)
                await notify(context, session, reviewer, unit, "report_card", card)
    except DomainError as error:
        await answer_error(update, context, error)
        return
    await say(update, context, context.t("report.sent", unit=escape(unit_name(context, unit))))


def report_card(
    context: BotContext, membership: Membership, language: str
) -> tuple[str, InlineKeyboardMarkup]:
    member, unit = membership.member, membership.unit
    kind = member.member_type
    type_text = t(language, TYPE_KEYS[kind]) if kind else "—"
    if kind is MemberType.floating and member.home_branch:
        type_text += t(language, "profile.home_branch_suffix", home=escape(member.home_branch))
    text = t(
        language,
        "report.card_community" if membership.kind is MembershipKind.community else "report.card",
        name=escape(member.real_name or "—"),
        type=type_text,
        phone=escape(member.phone or "—"),
        workplace=escape(member.workplace or "—"),
        unit=escape(unit_display_name(unit, language)),
        time=local_time(context, membership.requested_at, unit.timezone),
    )
    markup = buttons(
        [
            (t(language, "report.approve_button"), callbacks.data(PREFIX, "ok", membership.id)),
            (t(language, "report.reject_button"), callbacks.data(PREFIX, "no", membership.id)),
        ]
    )
    return text, markup


# --- secretaries decide ---------------------------------------------------------------------


async def _show_decided(update: Update, context: BotContext, report_id: int) -> None:
    """An old card: show on it what became of the report."""
    async with context.db() as session:
        membership = await get_membership(session, report_id)
    status = context.t(STATUS_KEYS[membership.status])
    text, _ = report_card(context, membership, context.language)
    await edit_or_say(
        update, context, text + "\n\n" + context.t("report.card_status", status=status)
    )


async def approve_pressed(update: Update, context: BotContext, report_id: int) -> str:
    assert update.effective_user
    try:
        async with context.db() as session:
            membership = await approve_report(
                session, report_id, update.effective_user.id, context.now()
            )
            told = about_unit("report.approved", membership.unit)
            await notify(
                context,
                session,
                membership.member.telegram_id,
                membership.unit,
                "report_decided",
                told,
            )
    except InvalidState:
        await _show_decided(update, context, report_id)
        raise
    text, _ = report_card(context, membership, context.language)
    await edit_or_say(update, context, text + "\n\n" + context.t("report.card_approved"))
    return context.t("report.approved_short")


async def reject_pressed(update: Update, context: BotContext, report_id: int) -> None:
    """Rejecting needs a reason, typed next (see `save_reject_reason`)."""
    assert update.effective_user
    async with context.db() as session:
        membership = await get_membership(session, report_id)
        await require(
            session, update.effective_user.id, Permission.approve_reports, membership.org_unit_id
        )
        if membership.status is not MembershipStatus.pending:
            raise InvalidState("report.already_decided")
        await expect(session, update.effective_user.id, f"reject:{report_id}")
    name = escape(membership.member.real_name or "—")
    await say(update, context, context.t("report.ask_reason", name=name))


async def save_reject_reason(
    update: Update, context: BotContext, report_id: int, reason: str
) -> None:
    assert update.effective_user
    try:
        async with context.db() as session:
            membership = await reject_report(
                session, report_id, update.effective_user.id, reason, context.now()
            )
            await expect(session, update.effective_user.id, None)
            told = about_unit("report.rejected", membership.unit, reason=escape(reason.strip()))
            await notify(
                context,
                session,
                membership.member.telegram_id,
                membership.unit,
                "report_decided",
                told,
            )
    except InvalidState as error:
        async with context.db() as session:
            await expect(session, update.effective_user.id, None)
        await answer_error(update, context, error)
        return
    except DomainError as error:  # a bad reason: the question stays open
        await answer_error(update, context, error)
        return
    name = escape(membership.member.real_name or "—")
    await say(update, context, context.t("report.rejected_done", name=name))


async def pending_command(update: Update, context: BotContext) -> None:
    """/pending: the reports waiting for this secretary, as cards with buttons."""
    assert update.effective_user
    async with context.db() as session:
        may_review = await managed_units(
            session, update.effective_user.id, Permission.approve_reports
        )
        reports = await pending_reports(session, update.effective_user.id)
    if not may_review:
        await say(update, context, context.t("error.secretaries_only"))
        return
    if not reports:
        await say(update, context, context.t("report.none_pending"))
        return
    await say(update, context, context.t("report.pending_title", count=len(reports)))
    for membership in reports[:PENDING_SHOWN]:
        text, markup = report_card(context, membership, context.language)
        await say(update, context, text, markup)  # type: ignore[arg-type]
    if len(reports) > PENDING_SHOWN:
        await say(
            update, context, context.t("report.more_pending", count=len(reports) - PENDING_SHOWN)
        )


# --- choosing a unit from the tree, leaving ---------------------------------------------------


async def browse(update: Update, context: BotContext, community: int, parent_id: int) -> None:
    async with context.db() as session:
        tree = await list_tree(session)
    units = {unit.id: unit for _, unit in tree}
    children = [u for _, u in tree if (u.parent_id or 0) == parent_id]
    if parent_id and parent_id not in units:
        raise callbacks.StaleButton(parent_id)
    has_children = {u.parent_id for _, u in tree}
    rows = []
    for unit in children:
        if unit.kind in REPORTABLE[community]:
            action = "pick"
        elif unit.id in has_children:
            action = "tree"
        else:
            continue  # nothing to report to down there
        rows.append(
            [(short(unit_name(context, unit)), callbacks.data(PREFIX, action, community, unit.id))]
        )
    if parent_id:
        back = units[parent_id].parent_id or 0
        rows.append([(context.t("button.back"), callbacks.data(PREFIX, "tree", community, back))])
    key = "report.choose_community" if community else "report.choose_branch"
    if not children:
        key = "report.no_units"
    await edit_or_say(update, context, context.t(key), buttons(*rows) if rows else None)


async def pick(update: Update, context: BotContext, community: int, unit_id: int) -> None:
    async with context.db() as session:
        unit = await get_unit(session, unit_id)
        tree = await list_tree(session)
    if unit.kind not in REPORTABLE[community]:
        raise callbacks.StaleButton(unit_id)
    rows = [[(context.t("report.send_button"), callbacks.data(PREFIX, "send", community, unit.id))]]
    if any(u.parent_id == unit.id for _, u in tree):
        rows.append(
            [
                (
                    context.t("report.open_subunits"),
                    callbacks.data(PREFIX, "tree", community, unit.id),
                )
            ]
        )
    rows.append(
        [(context.t("button.back"), callbacks.data(PREFIX, "tree", community, unit.parent_id or 0))]
    )
    text = context.t(
        "report.confirm",
        unit=escape(unit_name(context, unit)),
        address=escape(unit.address or "—"),
    )
    await edit_or_say(update, context, text, buttons(*rows))


async def confirm_leave(update: Update, context: BotContext, unit_id: int) -> None:
    async with context.db() as session:
        unit = await get_unit(session, unit_id)
    markup = buttons(
        [(context.t("leave.confirm_button"), callbacks.data(PREFIX, "leave", unit_id))],
        [(context.t("leave.keep_button"), callbacks.data(PREFIX, "stay", unit_id))],
    )
    await say(
        update, context, context.t("leave.confirm", unit=escape(unit_name(context, unit))), markup
    )


async def leave_confirmed(update: Update, context: BotContext, unit_id: int) -> None:
    assert update.effective_user
    async with context.db() as session:
        member = await get_member(session, update.effective_user.id)
        if member is None:
            raise NotFound("membership.not_found")
        membership = await leave(session, member, unit_id, context.now())
        unit = await get_unit(session, membership.org_unit_id)
    await edit_or_say(
        update, context, context.t("leave.done", unit=escape(unit_name(context, unit)))
    )


# --- the reporting point's QR code ---------------------------------------------------------------


async def qr_command(update: Update, context: BotContext) -> None:
    """/qr: the QR code to print for a unit's reporting point."""
    assert update.effective_user
    async with context.db() as session:
        units = [
            u
            for u in await managed_units(session, update.effective_user.id, Permission.view_roster)
            if u.kind in (*REPORTABLE[0], *REPORTABLE[1])
        ]
    if not units:
        await say(update, context, context.t("error.secretaries_only"))
    elif len(units) == 1:
        await send_qr(update, context, units[0].id)
    else:
        rows = [
            [(short(unit_name(context, u)), callbacks.data(PREFIX, "qr", u.id))] for u in units[:40]
        ]
        await say(update, context, context.t("report.qr_choose"), buttons(*rows))


async def send_qr(update: Update, context: BotContext, unit_id: int) -> None:
    assert update.effective_user and update.effective_chat
    async with context.db() as session:
        unit = await get_unit(session, unit_id)
        await require(session, update.effective_user.id, Permission.view_roster, unit.id)
    link = invite_link(context, unit)
    await context.bot.send_photo(
        update.effective_chat.id,
        InputFile(qr_png(link), filename=f"reporting-point-{unit.code}.png"),
        caption=context.t("report.qr_caption", unit=escape(unit_name(context, unit)), link=link),
        parse_mode="HTML",
    )


# --- every "rep:" press ---------------------------------------------------------------------------


async def on_press(update: Update, context: BotContext) -> None:
    await run_press(update, context, lambda: _pressed(update, context))


async def _pressed(update: Update, context: BotContext) -> str | None:
    assert update.callback_query
    action, ids = callbacks.parse(update.callback_query.data, PREFIX)
    if action == "ok" and len(ids) == 1:
        return await approve_pressed(update, context, ids[0])
    if action == "no" and len(ids) == 1:
        await reject_pressed(update, context, ids[0])
    elif action == "tree" and len(ids) == 2 and ids[0] in REPORTABLE:
        await browse(update, context, ids[0], ids[1])
    elif action == "pick" and len(ids) == 2 and ids[0] in REPORTABLE:
        await pick(update, context, ids[0], ids[1])
    elif action == "send" and len(ids) == 2 and ids[0] in REPORTABLE:
        await edit_or_say(update, context, context.t("report.sending"))
        await submit_report(update, context, ids[1], via_invite=False)
    elif action == "leave" and len(ids) == 1:
        await leave_confirmed(update, context, ids[0])
    elif action == "stay" and len(ids) == 1:
        await edit_or_say(update, context, context.t("leave.kept"))
    elif action == "qr" and len(ids) == 1:
        await send_qr(update, context, ids[0])
    else:
        raise callbacks.StaleButton(update.callback_query.data)
    return None
