"""Rosters of a unit's active members, and the floating-member register (流动党员台账)."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models.errors import InvalidInput
from models.members.tables import Member, Membership, MembershipKind, MembershipStatus, MemberType
from models.org import OrgUnit, descendant_ids, get_unit, unit_display_name
from models.paging import Page, page_of_rows
from models.permissions import Permission, require


class RosterFilter(enum.StrEnum):
    all = "all"
    floating = "floating"
    regular = "regular"
    undeclared = "undeclared"


@dataclass(frozen=True)
class RosterPage(Page[Member]):
    unit: OrgUnit


async def roster(
    session: AsyncSession,
    viewer: int,
    unit_id: int,
    filter: RosterFilter | str = RosterFilter.all,
    page: int = 1,
    page_size: int = 10,
) -> RosterPage:
    """Active members of the unit and every unit below it, by name, one page of them.

    A page beyond the end (an old button after members left) gives the last page.
    For those who may see the roster (`viewer`, a Telegram id).
    """
    unit = await get_unit(session, unit_id)
    await require(session, viewer, Permission.view_roster, unit_id)
    try:
        wanted = RosterFilter(filter)
    except ValueError:
        raise InvalidInput("filter", "roster.bad_filter") from None
    units = await descendant_ids(session, unit_id)
    active_here = select(Membership.member_id).where(
        Membership.status == MembershipStatus.active, Membership.org_unit_id.in_(units)
    )
    query = select(Member).where(Member.id.in_(active_here))
    if wanted is not RosterFilter.all:
        query = query.where(Member.member_type == MemberType(wanted.value))
    by_name = query.order_by(Member.real_name, Member.id)
    found = await page_of_rows(session, by_name, page, page_size)
    return RosterPage(found.items, found.total, found.page, found.pages, page_size, unit)


@dataclass(frozen=True)
class FloatingRecord:
    """One row of the floating-member register (流动党员台账)."""

    name: str
    phone: str | None
    home_branch: str | None
    workplace: str | None
    unit_code: str
    unit_name: str
    kind: MembershipKind
    reported_at: datetime
    approved_at: datetime | None
    ended_at: datetime | None
    status: MembershipStatus


async def floating_register(
    session: AsyncSession, viewer: int, unit_id: int, language: str = "zh"
) -> list[FloatingRecord]:
    """Floating members who reported to the unit or a unit below it, by unit and name.

    Every report except rejected ones: pending, active and ended (with dates),
    since the register is also the unit's history. Forgotten members are left out.
    For those who may export it (`viewer`): it holds names and phone numbers.
    """
    await get_unit(session, unit_id)
    await require(session, viewer, Permission.export_register, unit_id)
    units = await descendant_ids(session, unit_id)
    rows = await session.execute(
        select(
            Member.real_name,
            Member.phone,
            Member.home_branch,
            Member.workplace,
            OrgUnit,
            Membership.kind,
            Membership.requested_at,
            Membership.decided_at,
            Membership.ended_at,
            Membership.status,
        )
        .join(Member, Membership.member_id == Member.id)
        .join(OrgUnit, Membership.org_unit_id == OrgUnit.id)
        .where(
            Membership.org_unit_id.in_(units),
            Membership.status != MembershipStatus.rejected,
            Member.member_type == MemberType.floating,
            Member.forgotten_at.is_(None),
        )
        .order_by(OrgUnit.id, Member.real_name, Membership.requested_at, Membership.id)
    )
    return [
        FloatingRecord(
            name=r.real_name or "",
            phone=r.phone,
            home_branch=r.home_branch,
            workplace=r.workplace,
            unit_code=r.OrgUnit.code,
            unit_name=unit_display_name(r.OrgUnit, language),
            kind=r.kind,
            reported_at=r.requested_at,
            approved_at=r.decided_at if r.status is not MembershipStatus.pending else None,
            ended_at=r.ended_at,
            status=r.status,
        )
        for r in rows.all()
    ]
