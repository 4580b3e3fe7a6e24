"""Roles and the one permission check: the domain asks `can`/`require` here, for every
read and every write, so that callers need not.

Roles are granted to Telegram users (not to member records, so an admin need not
be a member):
- admin: everything, everywhere (the grant has no unit);
- secretary (书记): everything on their unit and every unit below it, except
  appointing roles;
- organizer (党建指导员, helps run a branch): the day-to-day work on their unit
  and below: view the roster, run activities, broadcast notices. Deciding who
  is managed by the branch (approving reports, removing or transferring
  members) and exporting the register (names and phone numbers) stay with the
  secretary.

Appointing roles is for admins only; they do it with `branchbot admin grant`.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, UniqueConstraint, delete, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, TelegramId, utcnow
from models.errors import InvalidInput, NotFound, PermissionDenied
from models.org import ancestor_ids_from, descendant_ids_from, get_unit, parent_map, stored_enum


class Role(enum.StrEnum):
    admin = "admin"
    secretary = "secretary"
    organizer = "organizer"


class Permission(enum.StrEnum):
    approve_reports = "approve_reports"
    view_roster = "view_roster"
    manage_members = "manage_members"
    export_register = "export_register"  # and the other books: /export
    view_stats = "view_stats"  # /stats
    manage_activities = "manage_activities"
    broadcast = "broadcast"
    appoint_roles = "appoint_roles"


ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.admin: frozenset(Permission),
    Role.secretary: frozenset(Permission) - {Permission.appoint_roles},
    Role.organizer: frozenset(
        {Permission.view_roster, Permission.manage_activities, Permission.broadcast}
    ),
}


class RoleGrant(Base):
    __tablename__ = "role_grants"
    __table_args__ = (
        UniqueConstraint("telegram_id", "role", "org_unit_id"),
        # NULLs are distinct in a unique constraint, so admins need their own index.
        Index(
            "uq_role_grants_admin",
            "telegram_id",
            unique=True,
            sqlite_where=text("org_unit_id IS NULL"),
            postgresql_where=text("org_unit_id IS NULL"),
        ),
        CheckConstraint(
            "(role = 'admin') = (org_unit_id IS NULL)",
            name="admin_has_no_unit",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    telegram_id: Mapped[TelegramId] = mapped_column(index=True)
    role: Mapped[Role] = mapped_column(stored_enum(Role, "role"))
    org_unit_id: Mapped[int | None] = mapped_column(
        ForeignKey("org_units.id", ondelete="CASCADE"), index=True
    )
    granted_at: Mapped[datetime] = mapped_column(default=utcnow)
    granted_by: Mapped[TelegramId | None]

    def __repr__(self) -> str:
        return f"<RoleGrant {self.telegram_id} {self.role} unit={self.org_unit_id}>"


async def roles_of(session: AsyncSession, telegram_id: int) -> list[RoleGrant]:
    rows = await session.scalars(
        select(RoleGrant).where(RoleGrant.telegram_id == telegram_id).order_by(RoleGrant.id)
    )
    return list(rows)


def _holds(grant: RoleGrant, permission: Permission) -> bool:
    return permission in ROLE_PERMISSIONS[grant.role]


async def can(
    session: AsyncSession, telegram_id: int, permission: Permission, unit_id: int | None
) -> bool:
    """May this person do this on this unit? `unit_id` None asks about the whole tree."""
    grants = await roles_of(session, telegram_id)
    if _covers_all(grants, permission):
        return True
    grants = [g for g in grants if _holds(g, permission)]
    if unit_id is None or not grants:
        return False
    # A grant on the unit or on any unit above it covers it.
    covering = {unit_id, *ancestor_ids_from(await parent_map(session), unit_id)}
    return any(g.org_unit_id in covering for g in grants)


async def require(
    session: AsyncSession, telegram_id: int, permission: Permission, unit_id: int | None
) -> None:
    """`can`, raising PermissionDenied instead of answering False."""
    if not await can(session, telegram_id, permission, unit_id):
        raise PermissionDenied(permission, unit_id, telegram_id)


async def managed_unit_ids(
    session: AsyncSession, telegram_id: int, permission: Permission | None = None
) -> set[int] | None:
    """Units this person may act on (with `permission`, or with any role): None means all."""
    grants = await roles_of(session, telegram_id)
    if _covers_all(grants, permission):
        return None  # before reading the tree: an admin's answer needs none of it
    return managed_ids_from(grants, permission, await parent_map(session))


def _covers_all(grants: list[RoleGrant], permission: Permission | None) -> bool:
    return any(
        g.role is Role.admin and (permission is None or _holds(g, permission)) for g in grants
    )


def managed_ids_from(
    grants: list[RoleGrant], permission: Permission | None, parents: dict[int, int | None]
) -> set[int] | None:
    """`managed_unit_ids` from one person's grants and the tree already read: for a scan
    over everyone with a role."""
    if _covers_all(grants, permission):
        return None
    if permission is not None:
        grants = [g for g in grants if _holds(g, permission)]
    managed: set[int] = set()
    for grant in grants:
        if grant.org_unit_id is not None:
            managed |= descendant_ids_from(parents, grant.org_unit_id)
    return managed


def _check_role_unit(role: Role | str, unit_id: int | None) -> Role:
    try:
        role = Role(role)
    except ValueError:
        raise InvalidInput("role", "role.invalid", detail=f"one of {', '.join(Role)}") from None
    if role is Role.admin and unit_id is not None:
        raise InvalidInput("org_unit", "role.admin_has_no_unit", detail="admins cover every unit")
    if role is not Role.admin and unit_id is None:
        raise InvalidInput("org_unit", "role.unit_required", detail=f"a {role} needs a unit")
    return role


async def grant_role(
    session: AsyncSession,
    telegram_id: int,
    role: Role | str,
    unit_id: int | None,
    granted_by: int | None,
) -> RoleGrant:
    """Grant a role; granting one already held returns the existing grant.

    `granted_by` is the person appointing, who must hold appoint_roles there; None is
    the operator at the command line (`branchbot admin grant`), who needs no grant.
    """
    role = _check_role_unit(role, unit_id)
    if granted_by is not None:
        await require(session, granted_by, Permission.appoint_roles, unit_id)
    if telegram_id <= 0:
        raise InvalidInput("telegram_id", "role.bad_user_id", detail="a Telegram user id is > 0")
    if unit_id is not None:
        await get_unit(session, unit_id)
    existing = await session.scalar(
        select(RoleGrant).where(
            RoleGrant.telegram_id == telegram_id,
            RoleGrant.role == role,
            RoleGrant.org_unit_id.is_(None)
            if unit_id is None
            else RoleGrant.org_unit_id == unit_id,
        )
    )
    if existing is not None:
        return existing
    grant = RoleGrant(
        telegram_id=telegram_id, role=role, org_unit_id=unit_id, granted_by=granted_by
    )
    session.add(grant)
    await session.flush()
    return grant


async def revoke_role(
    session: AsyncSession, telegram_id: int, role: Role | str, unit_id: int | None
) -> None:
    """Take a role away; NotFound ("role.not_granted") when it was not held."""
    role = _check_role_unit(role, unit_id)
    result = await session.execute(
        delete(RoleGrant).where(
            RoleGrant.telegram_id == telegram_id,
            RoleGrant.role == role,
            RoleGrant.org_unit_id.is_(None)
            if unit_id is None
            else RoleGrant.org_unit_id == unit_id,
        )
    )
    if not result.rowcount:
        raise NotFound("role.not_granted", f"{telegram_id} is not {role} there")


async def all_grants(session: AsyncSession) -> list[RoleGrant]:
    """Every grant, for `branchbot admin list`: admins first, then by unit and user."""
    rows = await session.scalars(
        select(RoleGrant).order_by(
            RoleGrant.org_unit_id.is_not(None), RoleGrant.org_unit_id, RoleGrant.telegram_id
        )
    )
    return list(rows)


async def reviewers_of(session: AsyncSession, unit_id: int) -> list[int]:
    """Who hears of a new report: the unit's own reviewers, else the nearest unit's above,
    else the admins. Telegram ids, without repeats."""
    return (await reviewing(session, unit_id))[1]


async def reviewing(session: AsyncSession, unit_id: int) -> tuple[int | None, list[int]]:
    """The unit whose reviewers hear of a new report to this unit (the unit itself, else
    the nearest above that has any; None: nobody's, so the admins), and those reviewers."""
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
            return candidate, found
    admins = await session.scalars(
        select(RoleGrant.telegram_id).where(RoleGrant.role == Role.admin).order_by(RoleGrant.id)
    )
    return None, list(dict.fromkeys(admins))
