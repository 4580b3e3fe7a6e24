"""Who an activity is for: its audience units, who is expected, and whom to tell of changes.

The audience is the activity's unit, and with `include_subunits` every unit below it.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, CompoundSelect, Select, func, or_, select, union
from sqlalchemy.ext.asyncio import AsyncSession

from models.activities.tables import Activity, ActivityMode, Participation, ParticipationStatus
from models.errors import InvalidState
from models.members import Member, Membership, MembershipStatus, active_unit_ids
from models.org import ancestor_ids_from, descendant_ids_from, parent_map


async def audience_unit_ids(session: AsyncSession, activity: Activity) -> set[int]:
    """The activity's unit, and every unit below it with include_subunits."""
    if not activity.include_subunits:
        return {activity.org_unit_id}
    return descendant_ids_from(await parent_map(session), activity.org_unit_id)


def audience_units_from(parents: dict[int, int | None], activity: Activity) -> set[int]:
    """`audience_unit_ids` from a parent map read once (a scan over many activities)."""
    if not activity.include_subunits:
        return {activity.org_unit_id}
    return descendant_ids_from(parents, activity.org_unit_id)


async def covering_member(
    session: AsyncSession, member_id: int
) -> tuple[set[int], ColumnElement[bool]]:
    """The member's active units, and the condition on activities whose audience covers
    one of them: of one of those units, or with include_subunits of a unit above."""
    own_units = set(await active_unit_ids(session, member_id))
    parents = await parent_map(session)
    above = {a for unit in own_units for a in ancestor_ids_from(parents, unit)}
    covers = or_(
        Activity.org_unit_id.in_(own_units),
        Activity.include_subunits.is_(True) & Activity.org_unit_id.in_(above),
    )
    return own_units, covers


async def in_audience(session: AsyncSession, activity: Activity, member_id: int) -> bool:
    return bool(
        await active_unit_ids(session, member_id) & await audience_unit_ids(session, activity)
    )


async def check_audience(session: AsyncSession, activity: Activity, member: Member) -> None:
    """InvalidState activity.not_in_audience unless the member (not forgotten) is in it."""
    if member.forgotten_at is not None or not await in_audience(session, activity, member.id):
        raise InvalidState("activity.not_in_audience", f"member {member.id}")


async def expected_members(session: AsyncSession, activity: Activity) -> list[Member]:
    """Active members of the audience units (each once), by name."""
    units = await audience_unit_ids(session, activity)
    active_here = select(Membership.member_id).where(
        Membership.status == MembershipStatus.active, Membership.org_unit_id.in_(units)
    )
    rows = await session.scalars(
        select(Member).where(Member.id.in_(active_here)).order_by(Member.real_name, Member.id)
    )
    return list(rows)


async def expected_count(session: AsyncSession, activity: Activity) -> int:
    """How many expected_members there are, counted by the database."""
    units = await audience_unit_ids(session, activity)
    count = await session.scalar(
        select(func.count(func.distinct(Membership.member_id))).where(
            Membership.status == MembershipStatus.active, Membership.org_unit_id.in_(units)
        )
    )
    return count or 0


# Whoever holds or waits for a place (or answered an invitation, or was nudged).
HOLDING = (
    ParticipationStatus.signed_up,
    ParticipationStatus.waitlisted,
    ParticipationStatus.attending,
    ParticipationStatus.leave_requested,
    ParticipationStatus.expected,
    ParticipationStatus.leave_declined,
)


async def concerned_member_ids(
    session: AsyncSession, activity: Activity
) -> Select[tuple[int]] | CompoundSelect:
    """Who is concerned by a change of the activity, as a query of member ids: whoever
    holds or waits for a place, and in expected mode everyone expected but the excused."""
    holding = select(Participation.member_id).where(
        Participation.activity_id == activity.id, Participation.status.in_(HOLDING)
    )
    if activity.mode is not ActivityMode.expected:
        return holding
    excused = select(Participation.member_id).where(
        Participation.activity_id == activity.id,
        Participation.status == ParticipationStatus.excused,
    )
    expected = select(Membership.member_id).where(
        Membership.status == MembershipStatus.active,
        Membership.org_unit_id.in_(await audience_unit_ids(session, activity)),
        Membership.member_id.not_in(excused),
    )
    return union(holding, expected)


async def affected_telegram_ids(session: AsyncSession, activity: Activity) -> list[int]:
    """The Telegram ids of those `concerned_member_ids` names."""
    concerned = await concerned_member_ids(session, activity)
    rows = await session.scalars(
        select(Member.telegram_id).where(Member.id.in_(concerned), Member.telegram_id.is_not(None))
    )
    return sorted({tg for tg in rows if tg is not None})
