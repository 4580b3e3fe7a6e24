"""报到: a member reports to a branch (by its QR code or from the tree); secretaries decide.

The domain (models.members) checks every rule and permission and tells the
reviewers and the member; this module asks, and shows the outcome.
"""

from __future__ import annotations

from functools import partial
from html import escape

from telegram import Update

from handlers.context import BotContext
from handlers.conversation import Conversation, State, Step
from handlers.ui import (
    attempt,
    decide,
    edit_or_say,
    error_text,
    page_title,
    say,
    send_file,
)
from models.account import touch_account
from models.errors import DomainError, NotFound
from models.members import (
    Membership,
    Via,
    approve_report,
    get_membership,
    leave_unit,
    pending_page,
    reject_report,
    report_reviewer,
    report_to_decide,
    submit_report,
)
from models.org import (
    INVITE_PAYLOAD_PREFIX,
    REPORTABLE_KINDS,
    OrgUnit,
    UnitKind,
    get_unit,
    invite_payload,
    list_tree,
    unit_by_invite,
    unit_display_name,
)
from models.staff import reporting_point, reporting_points
from views.buttons import (
    ApproveReport,
    BrowsePage,
    BrowseUnits,
    Button,
    LeaveUnit,
    OpenReport,
    PendingPage,
    PickUnit,
    QrUnits,
    RejectReport,
    ReportingPointQr,
    SendReport,
    StaleButton,
    StayInUnit,
    choice_keyboard,
    keyboard,
    pager,
    short,
)
from views.dates import format_local
from views.files import qr_png
from views.labels import MEMBERSHIP_STATUS_KEYS
from views.notifications import ReportSubmitted, render, report_card_text
from views.unit_tree import TOP, UnitTree

# A line of /pending holds a name (at most 50 letters), a unit's name (at most 100) and a
# time: at most about 330 UTF-16 units, so 10 make about 3300, and 10 buttons.
PENDING_PAGE = 10


def _unit_name(context: BotContext, unit: OrgUnit) -> str:
    return escape(unit_display_name(unit, context.language))


# --- the member reports ------------------------------------------------------------------


async def remember_invite(update: Update, context: BotContext, payload: str) -> bool:
    """A /start payload: remember the unit whose reporting point was scanned.

    False (after saying why) when the payload is not a valid reporting link.
    """
    assert update.effective_user
    try:
        if not payload.startswith(INVITE_PAYLOAD_PREFIX):
            raise NotFound("unit.not_found", payload)
        unit = await unit_by_invite(context.session, payload.removeprefix(INVITE_PAYLOAD_PREFIX))
    except NotFound:
        say(update, context, context.t("report.bad_invite"))
        return False
    account = await touch_account(context.session, update.effective_user.id)
    account.report_unit_id = unit.id
    return True


async def send_remembered_report(update: Update, context: BotContext) -> bool:
    """Send the report for the reporting point the member scanned, if there is one."""
    assert update.effective_user
    account = await touch_account(context.session, update.effective_user.id)
    unit_id, account.report_unit_id = account.report_unit_id, None
    if unit_id is None:
        return False
    await _submit(update, context, unit_id, Via.invite)
    return True


async def send_pressed(update: Update, context: BotContext, press: SendReport) -> None:
    edit_or_say(update, context, context.t("report.sending"))
    await _submit(update, context, press.unit_id, Via.tree)


async def _submit(update: Update, context: BotContext, unit_id: int, via: Via) -> None:
    """Send the report; a refusal (already reported, say) is said in a message of its own,
    without undoing the rest of the update (the profile just completed, the screen)."""
    assert update.effective_user
    me = update.effective_user.id
    result = await attempt(
        context, submit_report(context.session, me, unit_id, via=via, now=context.now())
    )
    if isinstance(result, DomainError):
        say(update, context, error_text(context, result))
        return
    say(update, context, await _sent_text(context, result.unit))


async def _sent_text(context: BotContext, unit: OrgUnit) -> str:
    """The report is on its way, and who decides it: those who get its card (models.
    permissions.reviewing), named by what they are."""
    reviewer = await report_reviewer(context.session, unit.id)
    name = _unit_name(context, unit)
    if reviewer is None:
        return context.t("report.sent_admins", unit=name)
    if reviewer.id == unit.id and unit.kind is UnitKind.branch:
        return context.t("report.sent", unit=name)
    if reviewer.id == unit.id and unit.kind is UnitKind.community:
        return context.t("report.sent_community", unit=name)
    return context.t("report.sent_reviewed_by", unit=name, reviewer=_unit_name(context, reviewer))


# --- secretaries decide ---------------------------------------------------------------------


async def _card_text(context: BotContext, membership: Membership) -> str:
    return report_card_text(membership, context.language, await context.zone(membership.unit))


async def approve_pressed(update: Update, context: BotContext, press: ApproveReport) -> str | None:
    assert update.effective_user
    me = update.effective_user.id
    result = await decide(
        update,
        context,
        approve_report(context.session, press.report_id, me, context.now()),
        lambda: _show_decided(update, context, press.report_id),
    )
    if result is None:
        return None
    text = await _card_text(context, result)
    edit_or_say(update, context, text + "\n\n" + context.t("report.card_approved"))
    return context.t("report.approved_short")


async def _show_decided(update: Update, context: BotContext, report_id: int) -> None:
    membership = await get_membership(context.session, report_id)
    status = context.t(MEMBERSHIP_STATUS_KEYS[membership.status])
    text = await _card_text(context, membership)
    edit_or_say(update, context, text + "\n\n" + context.t("report.card_status", status=status))


async def reject_pressed(update: Update, context: BotContext, press: RejectReport) -> None:
    """Rejecting needs a reason, typed next."""
    assert update.effective_user
    membership = await report_to_decide(context.session, press.report_id, update.effective_user.id)
    await REJECT.ask(update, context, "reason", {"report_id": membership.id})


async def ask_reason(update: Update, context: BotContext, state: State) -> None:
    membership = await get_membership(context.session, state.data["report_id"])
    name = escape(membership.member.real_name or "—")
    say(update, context, context.t("report.ask_reason", name=name))


async def save_reason(update: Update, context: BotContext, state: State, reason: str) -> None:
    assert update.effective_user
    me = update.effective_user.id
    membership = await reject_report(
        context.session, state.data["report_id"], me, reason, context.now()
    )
    await REJECT.end(context, me)
    name = escape(membership.member.real_name or "—")
    say(update, context, context.t("report.rejected_done", name=name))


REJECT = Conversation(
    "reject",
    [Step("reason", ask_reason, on_text=save_reason, placeholder="report.reason_placeholder")],
)


async def pending_command(update: Update, context: BotContext) -> None:
    await show_pending(update, context, PendingPage(1))


async def show_pending(update: Update, context: BotContext, press: PendingPage) -> None:
    """/pending: the reports waiting for this secretary, a page at a time; each opens its card
    with Approve and Reject."""
    assert update.effective_user
    me = update.effective_user.id
    shown = await pending_page(context.session, me, press.page, PENDING_PAGE)
    if not shown.items:
        edit_or_say(update, context, context.t("report.none_pending"))
        return
    lines = [page_title(context, context.t("report.pending_title", count=shown.total), shown)]
    rows: list[list[tuple[str, Button]]] = []
    for number, membership in enumerate(shown.items, start=shown.offset + 1):
        name = membership.member.real_name or "—"
        when = format_local(membership.requested_at, await context.zone(membership.unit))
        unit = _unit_name(context, membership.unit)
        lines.append(
            context.t("report.pending_line", number=number, name=escape(name), unit=unit, time=when)
        )
        rows.append([(short(f"{number}. {name}"), OpenReport(membership.id))])
    rows.append(pager(shown, PendingPage))
    edit_or_say(update, context, "\n".join(lines), keyboard(*rows))


async def open_report(update: Update, context: BotContext, press: OpenReport) -> None:
    """A report's card from the list, as a message of its own: the list stays for the next."""
    assert update.effective_user
    membership = await report_to_decide(context.session, press.report_id, update.effective_user.id)
    zone = await context.zone(membership.unit)
    say(update, context, *render(ReportSubmitted(membership), context.language, zone))


# --- choosing a unit from the tree, leaving ---------------------------------------------------


async def browse(update: Update, context: BotContext, press: BrowseUnits) -> None:
    await browse_page(update, context, BrowsePage(press.community, press.parent_id, 1))


async def _tree(context: BotContext, community: bool) -> UnitTree:
    units = [unit for _, unit in await list_tree(context.session)]
    return UnitTree(units, REPORTABLE_KINDS[community])


def _back(context: BotContext, community: bool, level_id: int | None) -> list[tuple[str, Button]]:
    if level_id is None:
        return []
    return [(context.t("button.back"), BrowseUnits(community, level_id))]


async def browse_page(update: Update, context: BotContext, press: BrowsePage) -> None:
    """A step down the tree (views.unit_tree): the units to report to, or to open."""
    tree = await _tree(context, press.community)
    if press.parent_id and press.parent_id not in tree.units:
        raise StaleButton(press.parent_id)
    level = tree.level(press.parent_id)
    options: list[tuple[str, Button]] = [
        (label, PickUnit(press.community, unit.id))
        if tree.takes_reports(unit)
        else (label, BrowseUnits(press.community, unit.id))
        for label, unit in zip(tree.labels(level, context.language), level.options, strict=True)
    ]
    back = _back(context, press.community, tree.back_of(level.unit_id))
    key = "report.choose_community" if press.community else "report.choose_branch"
    if not options:
        markup = keyboard(back) if back else None
        edit_or_say(update, context, context.t("report.no_units"), markup)
        return
    turn = partial(BrowsePage, press.community, level.unit_id)
    edit_or_say(update, context, context.t(key), choice_keyboard(options, press.page, turn, back))


async def pick(update: Update, context: BotContext, press: PickUnit) -> None:
    unit = await get_unit(context.session, press.unit_id)
    if unit.kind not in REPORTABLE_KINDS[press.community]:
        raise StaleButton(press.unit_id)
    tree = await _tree(context, press.community)
    rows = [[(context.t("report.send_button"), SendReport(press.community, unit.id))]]
    if tree.below(unit.id):
        rows.append([(context.t("report.open_subunits"), BrowseUnits(press.community, unit.id))])
    back_to = tree.back_of(unit.id)
    if back_to is None:  # not on the way down from the top (an old button): the unit above
        back_to = unit.parent_id or TOP
    rows.append(_back(context, press.community, back_to))
    text = context.t(
        "report.confirm", unit=_unit_name(context, unit), address=escape(unit.address or "—")
    )
    edit_or_say(update, context, text, keyboard(*rows))


async def confirm_leave(update: Update, context: BotContext, unit_id: int) -> None:
    unit = await get_unit(context.session, unit_id)
    markup = keyboard(
        [(context.t("leave.confirm_button"), LeaveUnit(unit_id))],
        [(context.t("leave.keep_button"), StayInUnit(unit_id))],
    )
    say(update, context, context.t("leave.confirm", unit=_unit_name(context, unit)), markup)


async def leave_confirmed(update: Update, context: BotContext, press: LeaveUnit) -> None:
    assert update.effective_user
    membership = await leave_unit(
        context.session, update.effective_user.id, press.unit_id, context.now()
    )
    edit_or_say(update, context, context.t("leave.done", unit=_unit_name(context, membership.unit)))


async def stay_pressed(update: Update, context: BotContext, press: StayInUnit) -> None:
    edit_or_say(update, context, context.t("leave.kept"))


# --- the reporting point's QR code ---------------------------------------------------------------


async def qr_command(update: Update, context: BotContext) -> None:
    await choose_qr(update, context, QrUnits(1))


async def choose_qr(update: Update, context: BotContext, press: QrUnits) -> None:
    """/qr: the QR code to print for a unit's reporting point."""
    assert update.effective_user
    units = await reporting_points(context.session, update.effective_user.id)
    if len(units) == 1:
        await send_qr(update, context, ReportingPointQr(units[0].id))
        return
    options = [(unit_display_name(u, context.language), ReportingPointQr(u.id)) for u in units]
    markup = choice_keyboard(options, press.page, QrUnits)
    edit_or_say(update, context, context.t("report.qr_choose"), markup)


async def send_qr(update: Update, context: BotContext, press: ReportingPointQr) -> None:
    assert update.effective_user
    unit = await reporting_point(context.session, update.effective_user.id, press.unit_id)
    link = context.link(invite_payload(unit))
    caption = context.t("report.qr_caption", unit=_unit_name(context, unit), link=link)
    send_file(
        update, context, qr_png(link), f"reporting-point-{unit.code}.png", caption, photo=True
    )
