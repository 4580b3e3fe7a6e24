"""What an export covers: its kind, the unit and the units below it (checked once), the
period's activities, and the names of the units its rows name."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import tzinfo
from typing import Any

from sqlalchemy import and_, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from models.activities import (
    Activity,
)
from models.members import Membership, MembershipKind, MembershipStatus
from models.org import OrgUnit, descendant_ids
from models.permissions import Permission
from models.staff import staff_unit
from models.stats.period import Period


class ExportKind(enum.StrEnum):
    """What /export offers; the value is the code its button and file name carry."""

    roster = "roster"
    register = "register"  # the floating-member register (流动党员台账)
    activities = "activities"
    attendance = "attendance"  # the matrix of members × organisational life
    volunteering = "volunteering"
    notices = "notices"


# Exports of a moment (today), not of a period.
UNDATED = frozenset({ExportKind.roster, ExportKind.register})


@dataclass(frozen=True)
class Scope:
    """The unit asked for, and it with every unit below it (what the rows come from)."""

    unit: OrgUnit
    unit_ids: frozenset[int]


async def export_scope(session: AsyncSession, viewer: int, unit_id: int) -> Scope:
    """The unit and its subtree, for one who may export its books; PermissionDenied (or
    NotFound) otherwise."""
    unit = await staff_unit(session, viewer, Permission.export_register, unit_id)
    return Scope(unit, frozenset(await descendant_ids(session, unit.id)))


def member_unit(unit_ids: frozenset[int] | set[int] | None = None) -> Any:
    """member_id → the unit of their active membership (the primary one where they have
    both), among `unit_ids` (None: anywhere): a grouped subquery to join."""
    primary = case((Membership.kind == MembershipKind.primary, Membership.org_unit_id))
    query = select(
        Membership.member_id,
        func.coalesce(func.min(primary), func.min(Membership.org_unit_id)).label("unit_id"),
    ).where(Membership.status == MembershipStatus.active)
    if unit_ids is not None:
        query = query.where(Membership.org_unit_id.in_(unit_ids))
    return query.group_by(Membership.member_id).subquery()


def in_period(scope: Scope, period: Period, zone: tzinfo) -> Any:
    # Period.starts_at takes a ZoneInfo; any tzinfo works for combining a date.
    return and_(
        Activity.org_unit_id.in_(scope.unit_ids),
        Activity.starts_at >= period.starts_at(zone),  # type: ignore[arg-type]
        Activity.starts_at < period.ends_at(zone),  # type: ignore[arg-type]
    )


async def units_by_id(session: AsyncSession, unit_ids: Sequence[int | None]) -> dict[int, OrgUnit]:
    """The units these rows name, in one query (for their names)."""
    wanted = {u for u in unit_ids if u is not None}
    if not wanted:
        return {}
    return {u.id: u for u in await session.scalars(select(OrgUnit).where(OrgUnit.id.in_(wanted)))}
