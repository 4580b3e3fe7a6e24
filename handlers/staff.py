"""The secretary's books: the roster, a member's card, the floating-member register,
members who cannot be reached. Who may see and do what is the domain's (models.staff).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from html import escape

from telegram import Update

from handlers.common import refresh_menu
from handlers.context import BotContext
from handlers.exports import send_export
from handlers.profile import profile_card
from handlers.ui import edit_or_say, page_title
from models.account import languages
from models.exports import ExportKind
from models.members import remove_member, roster, transfer_out
from models.org import OrgUnit, unit_display_name
from models.permissions import Permission, Role
from models.staff import (
    appoint,
    member_card,
    membership_to_end,
    staff_units,
    unreachable_page,
)
from views.buttons import (
    AskRemove,
    AskTransfer,
    Button,
    MakeOrganizer,
    MakeSecretary,
    MemberCard,
    RegisterOf,
    RegisterUnits,
    RemoveMember,
    RosterOf,
    RosterPage,
    RosterUnits,
    StaleButton,
    TransferOut,
    UnreachablePage,
    choice_keyboard,
    keyboard,
    pager,
    pager_keyboard,
    short,
)
from views.dates import format_local
from views.i18n import pick_language
from views.labels import (
    MEMBER_TYPE_KEYS,
    ROLE_KEYS,
    ROSTER_FILTER_KEYS,
)

FILTERS = tuple(ROSTER_FILTER_KEYS)
# A roster line is a name (at most 50 letters) and a type: a page of 8 is far from the
# limits, and a button each keeps to a phone's screen.
ROSTER_PAGE = 8
# An /unreachable line holds a name, a unit's name (at most 100) and a phone number: at
# most about 330 UTF-16 units, so 10 make about 3300.
UNREACHABLE_PAGE = 10


def _unit_name(context: BotContext, unit: OrgUnit) -> str:
    return escape(unit_display_name(unit, context.language))


async def roster_command(update: Update, context: BotContext) -> None:
    await choose_roster(update, context, RosterUnits(1))


async def choose_roster(update: Update, context: BotContext, press: RosterUnits) -> None:
    """/roster: the only unit this person manages, or a choice of them."""
    assert update.effective_user
    units = await staff_units(context.session, update.effective_user.id, Permission.view_roster)
    if len(units) == 1:
        await show_page(update, context, RosterPage(units[0].id, 0, 1))
    else:
        _choose(update, context, units, RosterOf, RosterUnits, press.page)


async def register_command(update: Update, context: BotContext) -> None:
    await choose_register(update, context, RegisterUnits(1))


async def choose_register(update: Update, context: BotContext, press: RegisterUnits) -> None:
    assert update.effective_user
    me = update.effective_user.id
    units = await staff_units(context.session, me, Permission.export_register)
    if len(units) == 1:
        await send_register(update, context, RegisterOf(units[0].id))
    else:
        _choose(update, context, units, RegisterOf, RegisterUnits, press.page)


def _choose(
    update: Update,
    context: BotContext,
    units: list[OrgUnit],
    button_for: Callable[[int], Button],
    page_button: Callable[[int], Button],
    page: int,
) -> None:
    options = [(unit_display_name(unit, context.language), button_for(unit.id)) for unit in units]
    markup = choice_keyboard(options, page, page_button)
    edit_or_say(update, context, context.t("staff.choose_unit"), markup)


async def unreachable_command(update: Update, context: BotContext) -> None:
    await show_unreachable(update, context, UnreachablePage(1))


async def show_unreachable(update: Update, context: BotContext, press: UnreachablePage) -> None:
    """/unreachable: members who blocked the bot, with a phone number to call instead."""
    assert update.effective_user
    me = update.effective_user.id
    shown = await unreachable_page(context.session, me, press.page, UNREACHABLE_PAGE)
    if not shown.items:
        edit_or_say(update, context, context.t("staff.unreachable_none"))
        return
    title = context.t("staff.unreachable_title", count=shown.total)
    lines = [page_title(context, title, shown)]
    for member, unit in shown.items:
        lines.append(
            context.t(
                "staff.unreachable_line",
                name=escape(member.real_name or "—"),
                unit=_unit_name(context, unit),
                phone=escape(member.phone or "—"),
            )
        )
    edit_or_say(update, context, "\n".join(lines), pager_keyboard(shown, UnreachablePage))


async def open_roster(update: Update, context: BotContext, press: RosterOf) -> None:
    await show_page(update, context, RosterPage(press.unit_id, 0, 1))


async def show_page(update: Update, context: BotContext, press: RosterPage) -> None:
    assert update.effective_user
    if press.filter >= len(FILTERS):
        raise StaleButton(press.filter)
    chosen = FILTERS[press.filter]
    result = await roster(
        context.session, update.effective_user.id, press.unit_id, chosen, press.page, ROSTER_PAGE
    )
    title = context.t(
        "staff.roster_title",
        unit=_unit_name(context, result.unit),
        filter=context.t(ROSTER_FILTER_KEYS[chosen]),
        total=result.total,
    )
    lines = [page_title(context, title, result)]
    rows: list[list[tuple[str, Button]]] = []
    for number, member in enumerate(result.items, start=result.offset + 1):
        kind = context.t(MEMBER_TYPE_KEYS[member.member_type]) if member.member_type else "—"
        lines.append(f"{number}. {escape(member.real_name or '—')} — {kind}")
        label = short(f"{number}. {member.real_name or '—'}")
        rows.append([(label, MemberCard(press.unit_id, member.id))])
    if not result.items:
        lines.append(context.t("staff.roster_empty"))
    rows.append(
        [
            (
                ("✓ " if index == press.filter else "") + context.t(ROSTER_FILTER_KEYS[f]),
                RosterPage(press.unit_id, index, 1),
            )
            for index, f in enumerate(FILTERS)
        ]
    )
    rows.append(pager(result, partial(RosterPage, press.unit_id, press.filter)))
    edit_or_say(update, context, "\n".join(lines), keyboard(*rows))


async def show_member(update: Update, context: BotContext, press: MemberCard) -> None:
    assert update.effective_user
    card = await member_card(
        context.session, update.effective_user.id, press.unit_id, press.member_id
    )
    membership = card.membership
    since = membership.decided_at or membership.requested_at
    text = "\n".join(
        [
            profile_card(context, membership.member, "staff.member_card"),
            context.t(
                "staff.member_unit",
                unit=_unit_name(context, membership.unit),
                since=format_local(since, await context.zone(membership.unit)),
            ),
        ]
    )
    rows = []
    if card.may_manage:
        rows.append(
            [
                (context.t("staff.remove_button"), AskRemove(membership.id)),
                (context.t("staff.transfer_button"), AskTransfer(membership.id)),
            ]
        )
    if card.may_appoint:
        rows.append(
            [
                (context.t("staff.make_secretary"), MakeSecretary(membership.id)),
                (context.t("staff.make_organizer"), MakeOrganizer(membership.id)),
            ]
        )
    rows.append([(context.t("button.back"), RosterPage(press.unit_id, 0, 1))])
    edit_or_say(update, context, text, keyboard(*rows))


async def ask_end(update: Update, context: BotContext, press: AskRemove | AskTransfer) -> None:
    assert update.effective_user
    membership = await membership_to_end(
        context.session, update.effective_user.id, press.membership_id
    )
    transfer = isinstance(press, AskTransfer)
    key = "staff.transfer_confirm" if transfer else "staff.remove_confirm"
    text = context.t(
        key,
        name=escape(membership.member.real_name or "—"),
        unit=_unit_name(context, membership.unit),
    )
    yes = TransferOut(membership.id) if transfer else RemoveMember(membership.id)
    back = MemberCard(membership.org_unit_id, membership.member_id)
    markup = keyboard([(context.t("staff.yes_button"), yes)], [(context.t("button.back"), back)])
    edit_or_say(update, context, text, markup)


async def end_membership(
    update: Update, context: BotContext, press: RemoveMember | TransferOut
) -> None:
    assert update.effective_user
    transfer = isinstance(press, TransferOut)
    operation = transfer_out if transfer else remove_member
    membership = await operation(
        context.session, press.membership_id, update.effective_user.id, context.now()
    )
    name = escape(membership.member.real_name or "—")
    done = "staff.transferred" if transfer else "staff.removed"
    edit_or_say(
        update, context, context.t(done, name=name, unit=_unit_name(context, membership.unit))
    )


async def appoint_pressed(
    update: Update, context: BotContext, press: MakeSecretary | MakeOrganizer
) -> str:
    assert update.effective_user
    role = Role.secretary if isinstance(press, MakeSecretary) else Role.organizer
    membership = await appoint(context.session, update.effective_user.id, press.membership_id, role)
    appointee = membership.member.telegram_id
    assert appointee is not None  # appoint refuses a forgotten member
    own, app = (await languages(context.session, [appointee])).get(appointee, (None, None))
    await refresh_menu(
        context, appointee, pick_language(own, app, context.services.defaults.language)
    )
    return context.t(
        "staff.appointed", name=membership.member.real_name or "—", role=context.t(ROLE_KEYS[role])
    )


async def send_register(update: Update, context: BotContext, press: RegisterOf) -> None:
    """流动党员台账: the unit's floating members as a spreadsheet (the export of /export)."""
    await send_export(update, context, press.unit_id, ExportKind.register)
