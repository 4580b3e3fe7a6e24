"""Queries for the secretary's side: who reviews a report, which units one manages."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from models.errors import NotFound
from models.members import Member, Membership, MembershipStatus
from models.org import OrgUnit, ancestor_ids_from, list_tree, parent_map
from models.permissions import ROLE_PERMISSIONS, Permission, Role, RoleGrant, managed_unit_ids


async def reviewers_of(session: AsyncSession, unit_id: int) -> list[int]:
    """Who hears of a new report: the unit's own reviewers, else the nearest unit's above,
    else the admins. Telegram ids, without repeats."""
    roles = [role for role, held in ROLE_PERMISSIONS.items() if Permission.approve_reports in held]
    unit_roles = [role for role in roles if role is not Role.admin]
    chain = [unit_id, *ancestor_ids_from(await parent_map(session), unit_id)]
    for candidate in chain:
        ids = await session.scalars(
            select(RoleGrant.telegram_id)
            .where(RoleGrant.org_unit_id == candidate, RoleGrant.role.in_(unit_roles))
            .order_by(RoleGrant.id)
        )
        found = list(dict.fromkeys(ids))
        if found:
            return found
    admins = await session.scalars(
        select(RoleGrant.telegram_id).where(RoleGrant.role == Role.admin).order_by(RoleGrant.id)
    )
    return list(dict.fromkeys(admins))


async def managed_units(
    session: AsyncSession, telegram_id: int, permission: Permission
) -> list[OrgUnit]:
    """The units this person may act on with `permission`, in tree order."""
    allowed = await managed_unit_ids(session, telegram_id, permission)
    return [unit for _, unit in await list_tree(session) if allowed is None or unit.id in allowed]


async def open_membership(
    session: AsyncSession, member_id: int, unit_ids: set[int] | None
) -> Membership:
    """The member's active membership among these units (None: any), with member and unit."""
    query = (
        select(Membership)
        .where(Membership.member_id == member_id, Membership.status == MembershipStatus.active)
        .options(selectinload(Membership.member), selectinload(Membership.unit))
        .order_by(Membership.id)
    )
    if unit_ids is not None:
        query = query.where(Membership.org_unit_id.in_(unit_ids))
    membership = await session.scalar(query)
    if membership is None:
        raise NotFound("membership.not_found", f"member {member_id} has no active membership")
    return membership


async def unreachable_members(
    session: AsyncSession, telegram_id: int
) -> list[tuple[Member, OrgUnit]]:
    """Active members of this person's units whom Telegram reports as unreachable (403)."""
    units = await managed_unit_ids(session, telegram_id)
    query = (
        select(Membership)
        .join(Member, Membership.member_id == Member.id)
        .where(Membership.status == MembershipStatus.active, Member.unreachable_at.is_not(None))
        .options(selectinload(Membership.member), selectinload(Membership.unit))
        .order_by(Member.real_name, Member.id)
    )
    if units is not None:
        query = query.where(Membership.org_unit_id.in_(units or {-1}))
    return [(m.member, m.unit) for m in await session.scalars(query)]
