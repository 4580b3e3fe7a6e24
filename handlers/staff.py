"""The secretary's books: the roster, a member's card, the floating-member register.

Callback data (prefix "ros"), re-checked against the one permission check on every press:
  u:<unit>  choose a unit (for /roster)      p:<unit>:<filter>:<page>  a roster page
  m:<unit>:<member>  a member's card         rm / tr:<membership>  ask to remove / transfer out
  rmy / try:<membership>  do it              sec / org:<membership>  appoint (admins)
  reg:<unit>  the register spreadsheet
"""

from __future__ import annotations

from html import escape

from telegram import InputFile, Update

from bot.context import BotContext
from bot.files import spreadsheet
from handlers import callbacks
from handlers.common import refresh_menu
from handlers.notify import about_unit, language_of, notify
from handlers.profile import profile_card
from handlers.ui import (
    STATUS_KEYS,
    TYPE_KEYS,
    buttons,
    edit_or_say,
    local_time,
    run_press,
    say,
    short,
    unit_name,
)
from models.members import (
    RosterFilter,
    floating_register,
    get_membership,
    remove_member,
    roster,
    transfer_out,
)
from models.org import descendant_ids, get_unit
from models.permissions import Permission, Role, can, grant_role, require
from models.staff import managed_units, open_membership, unreachable_members

PREFIX = "ros"
FILTER_KEYS = {
    RosterFilter.all: "staff.filter.all",
    RosterFilter.floating: "staff.filter.floating",
    RosterFilter.regular: "staff.filter.regular",
    RosterFilter.undeclared: "staff.filter.undeclared",
}
FILTERS = tuple(FILTER_KEYS)
ROLE_KEYS = {Role.secretary: "role.secretary", Role.organizer: "role.organizer"}
YOU_ARE_KEYS = {
    Role.secretary: "staff.you_are_secretary",
    Role.organizer: "staff.you_are_organizer",
}
PAGE_SIZE = 8


async def _choose_unit(
    update: Update, context: BotContext, permission: Permission, action: str
) -> None:
    """Go straight to the only unit this person manages, or let them pick one."""
    assert update.effective_user
    async with context.db() as session:
        units = await managed_units(session, update.effective_user.id, permission)
    if not units:
        await say(update, context, context.t("error.secretaries_only"))
        return
    if len(units) == 1:
        await (
            show_page(update, context, units[0].id, 0, 1)
            if action == "u"
            else send_register(update, context, units[0].id)
        )
        return
    rows = [
        [(short(unit_name(context, u)), callbacks.data(PREFIX, action, u.id))] for u in units[:40]
    ]
    await say(update, context, context.t("staff.choose_unit"), buttons(*rows))


async def roster_command(update: Update, context: BotContext) -> None:
    await _choose_unit(update, context, Permission.view_roster, "u")


async def register_command(update: Update, context: BotContext) -> None:
    await _choose_unit(update, context, Permission.export_register, "reg")


async def unreachable_command(update: Update, context: BotContext) -> None:
    """/unreachable: members who blocked the bot, with a phone number to call instead."""
    assert update.effective_user
    async with context.db() as session:
        units = await managed_units(session, update.effective_user.id, Permission.view_roster)
        people = await unreachable_members(session, update.effective_user.id)
    if not units:
        await say(update, context, context.t("error.secretaries_only"))
        return
    if not people:
        await say(update, context, context.t("staff.unreachable_none"))
        return
    lines = [context.t("staff.unreachable_title")]
    for member, unit in people[:50]:
        lines.append(
            context.t(
                "staff.unreachable_line",
                name=escape(member.real_name or "—"),
                unit=escape(unit_name(context, unit)),
                phone=escape(member.phone or "—"),
            )
        )
    await say(update, context, "\n".join(lines))


async def show_page(
    update: Update, context: BotContext, unit_id: int, filter_index: int, page: int
) -> None:
    assert update.effective_user
    if filter_index >= len(FILTERS):
        raise callbacks.StaleButton(filter_index)
    chosen = FILTERS[filter_index]
    async with context.db() as session:
        await require(session, update.effective_user.id, Permission.view_roster, unit_id)
        unit = await get_unit(session, unit_id)
        result = await roster(session, unit_id, chosen, max(page, 1), PAGE_SIZE)
    lines = [
        context.t(
            "staff.roster_title",
            unit=escape(unit_name(context, unit)),
            filter=context.t(FILTER_KEYS[chosen]),
            total=result.total,
        )
    ]
    rows: list[list[tuple[str, str]]] = []
    for number, member in enumerate(result.members, start=(result.page - 1) * PAGE_SIZE + 1):
        kind = context.t(TYPE_KEYS[member.member_type]) if member.member_type else "—"
        lines.append(f"{number}. {escape(member.real_name or '—')} — {kind}")
        label = short(f"{number}. {member.real_name or '—'}")
        rows.append([(label, callbacks.data(PREFIX, "m", unit_id, member.id))])
    if not result.members:
        lines.append(context.t("staff.roster_empty"))
    rows.append(
        [
            (
                ("✓ " if index == filter_index else "") + context.t(FILTER_KEYS[f]),
                callbacks.data(PREFIX, "p", unit_id, index, 1),
            )
            for index, f in enumerate(FILTERS)
        ]
    )
    navigation = []
    if result.page > 1:
        navigation.append(
            ("‹", callbacks.data(PREFIX, "p", unit_id, filter_index, result.page - 1))
        )
    if result.page < result.pages:
        navigation.append(
            ("›", callbacks.data(PREFIX, "p", unit_id, filter_index, result.page + 1))
        )
    if navigation:
        lines.append(context.t("staff.page", page=result.page, pages=result.pages))
        rows.append(navigation)
    await edit_or_say(update, context, "\n".join(lines), buttons(*rows))


async def show_member(update: Update, context: BotContext, unit_id: int, member_id: int) -> None:
    assert update.effective_user
    viewer = update.effective_user.id
    async with context.db() as session:
        await require(session, viewer, Permission.view_roster, unit_id)
        membership = await open_membership(
            session, member_id, await descendant_ids(session, unit_id)
        )
        may_manage = await can(session, viewer, Permission.manage_members, membership.org_unit_id)
        may_appoint = await can(session, viewer, Permission.appoint_roles, membership.org_unit_id)
    text = "\n".join(
        [
            profile_card(context, membership.member),
            context.t(
                "staff.member_unit",
                unit=escape(unit_name(context, membership.unit)),
                since=local_time(context, membership.decided_at or membership.requested_at),
            ),
        ]
    )
    rows = []
    if may_manage:
        rows.append(
            [
                (context.t("staff.remove_button"), callbacks.data(PREFIX, "rm", membership.id)),
                (context.t("staff.transfer_button"), callbacks.data(PREFIX, "tr", membership.id)),
            ]
        )
    if may_appoint:
        rows.append(
            [
                (context.t("staff.make_secretary"), callbacks.data(PREFIX, "sec", membership.id)),
                (context.t("staff.make_organizer"), callbacks.data(PREFIX, "org", membership.id)),
            ]
        )
    rows.append([(context.t("button.back"), callbacks.data(PREFIX, "p", unit_id, 0, 1))])
    await edit_or_say(update, context, text, buttons(*rows))


async def ask_end(update: Update, context: BotContext, membership_id: int, transfer: bool) -> None:
    assert update.effective_user
    async with context.db() as session:
        membership = await get_membership(session, membership_id)
        await require(
            session, update.effective_user.id, Permission.manage_members, membership.org_unit_id
        )
    key = "staff.transfer_confirm" if transfer else "staff.remove_confirm"
    text = context.t(
        key,
        name=escape(membership.member.real_name or "—"),
        unit=escape(unit_name(context, membership.unit)),
    )
    yes = callbacks.data(PREFIX, "try" if transfer else "rmy", membership.id)
    back = callbacks.data(PREFIX, "m", membership.org_unit_id, membership.member_id)
    await edit_or_say(
        update,
        context,
        text,
        buttons([(context.t("staff.yes_button"), yes)], [(context.t("button.back"), back)]),
    )


async def end_membership(
    update: Update, context: BotContext, membership_id: int, transfer: bool
) -> None:
    assert update.effective_user
    operation = transfer_out if transfer else remove_member
    async with context.db() as session:
        membership = await operation(
            session, membership_id, update.effective_user.id, context.now()
        )
        told = about_unit("staff.member_told_removed", membership.unit)
        member_id = membership.member.telegram_id
        await notify(context, session, member_id, membership.unit, "membership_ended", told)
    name = escape(membership.member.real_name or "—")
    unit = escape(unit_name(context, membership.unit))
    done = "staff.transferred" if transfer else "staff.removed"
    await edit_or_say(update, context, context.t(done, name=name, unit=unit))


async def appoint(update: Update, context: BotContext, membership_id: int, role: Role) -> str:
    assert update.effective_user
    async with context.db() as session:
        membership = await get_membership(session, membership_id)
        await require(
            session, update.effective_user.id, Permission.appoint_roles, membership.org_unit_id
        )
        appointee = membership.member.telegram_id
        if appointee is None:
            raise callbacks.StaleButton(membership_id)
        await grant_role(session, appointee, role, membership.org_unit_id, update.effective_user.id)
        told = about_unit(YOU_ARE_KEYS[role], membership.unit)
        await notify(context, session, appointee, membership.unit, "appointed", told)
        language = await language_of(context, session, appointee)
    await refresh_menu(context, appointee, language)
    role_name = context.t(ROLE_KEYS[role])
    return context.t("staff.appointed", name=membership.member.real_name or "—", role=role_name)


async def send_register(update: Update, context: BotContext, unit_id: int) -> None:
    """流动党员档案: the unit's floating members as a spreadsheet."""
    assert update.effective_user and update.effective_chat
    async with context.db() as session:
        await require(session, update.effective_user.id, Permission.export_register, unit_id)
        unit = await get_unit(session, unit_id)
        records = await floating_register(session, unit_id, context.language)
    headers = [context.t(key) for key in REGISTER_COLUMNS]
    rows = [
        [
            r.name,
            r.phone,
            r.home_branch,
            r.workplace,
            r.unit_name,
            local_time(context, r.reported_at),
            local_time(context, r.approved_at),
            context.t(STATUS_KEYS[r.status]),
        ]
        for r in records
    ]
    body = spreadsheet(context.t("register.sheet_title"), headers, rows)
    date = context.now().strftime("%Y%m%d")
    await context.bot.send_document(
        update.effective_chat.id,
        InputFile(body, filename=f"floating-register-{unit.code}-{date}.xlsx"),
        caption=context.t(
            "register.caption", unit=escape(unit_name(context, unit)), count=len(records)
        ),
        parse_mode="HTML",
    )


REGISTER_COLUMNS = (
    "register.column.name",
    "register.column.phone",
    "register.column.home_branch",
    "register.column.workplace",
    "register.column.unit",
    "register.column.reported_at",
    "register.column.approved_at",
    "register.column.status",
)


SHAPES = {
    "u": 1,
    "p": 3,
    "m": 2,
    "rm": 1,
    "tr": 1,
    "rmy": 1,
    "try": 1,
    "sec": 1,
    "org": 1,
    "reg": 1,
}


async def on_press(update: Update, context: BotContext) -> None:
    await run_press(update, context, lambda: _pressed(update, context))


async def _pressed(update: Update, context: BotContext) -> str | None:
    assert update.callback_query
    action, ids = callbacks.parse(update.callback_query.data, PREFIX)
    if SHAPES.get(action) != len(ids):
        raise callbacks.StaleButton(update.callback_query.data)
    if action in ("sec", "org"):
        return await appoint(
            update, context, ids[0], Role.secretary if action == "sec" else Role.organizer
        )
    if action == "u":
        await show_page(update, context, ids[0], 0, 1)
    elif action == "p":
        await show_page(update, context, *ids)
    elif action == "m":
        await show_member(update, context, *ids)
    elif action in ("rm", "tr"):
        await ask_end(update, context, ids[0], transfer=action == "tr")
    elif action in ("rmy", "try"):
        await end_membership(update, context, ids[0], transfer=action == "try")
    else:
        await send_register(update, context, ids[0])
    return None
