"""A member's attendance record: the outcome of each past activity, and the totals."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from models.activities import (
    EXPECTED_KINDS,
    SEAT_STATUSES,
    SERVICE_KINDS,
    Activity,
    ActivityMode,
    ActivityStatus,
    Participation,
    ParticipationStatus,
)
from models.members import Member, Membership, MembershipStatus
from models.org import ancestor_ids_from, parent_map


class Outcome(enum.StrEnum):
    attended = "attended"
    excused = "excused"
    absent = "absent"
    made_up = "made_up"
    # Signed up (or answered Attend) but no attendance was taken: counted nowhere.
    unconfirmed = "unconfirmed"


@dataclass(frozen=True)
class RecordEntry:
    activity: Activity
    outcome: Outcome


@dataclass(frozen=True)
class MemberRecord:
    entries: list[RecordEntry]  # most recent first
    attended: int
    excused: int
    absent: int
    made_up: int
    volunteer_hours: float  # attended volunteer and tree-planting time


def _outcome(activity: Activity, row: Participation | None) -> Outcome | None:
    if row is not None and row.checked_in_at is not None:
        return Outcome.attended
    status = row.status if row is not None else None
    if status is ParticipationStatus.absent:
        return Outcome.absent
    if activity.mode is ActivityMode.signup:
        return Outcome.unconfirmed if status in SEAT_STATUSES else None
    if status is ParticipationStatus.excused:
        return Outcome.excused
    if status is ParticipationStatus.made_up:
        return Outcome.made_up
    if status is ParticipationStatus.attending:
        return Outcome.unconfirmed
    return Outcome.absent  # expected and no answer, leave declined or never decided


async def _decided_memberships(session: AsyncSession, member_id: int) -> list[Membership]:
    """The member's approved memberships, current or ended (not pending or rejected)."""
    return list(
        await session.scalars(
            select(Membership).where(
                Membership.member_id == member_id,
                Membership.decided_at.is_not(None),
                Membership.status.in_(
                    [MembershipStatus.active, MembershipStatus.left, MembershipStatus.transferred]
                ),
            )
        )
    )


async def member_record(session: AsyncSession, member: Member, now: datetime) -> MemberRecord:
    """Past activities of the member with their outcome, and the totals.

    Organisational life counts where the member belonged to the audience when it
    took place (approved before the start, not ended by then), answered or not.
    """
    rows = {
        row.activity_id: row
        for row in await session.scalars(
            select(Participation)
            .where(Participation.member_id == member.id)
            .options(selectinload(Participation.activity))
        )
    }
    memberships = await _decided_memberships(session, member.id)
    parents = await parent_map(session)
    covering: set[int] = set()
    for membership in memberships:
        covering |= {membership.org_unit_id, *ancestor_ids_from(parents, membership.org_unit_id)}
    candidates = {row.activity for row in rows.values()}
    if covering:
        candidates |= set(
            await session.scalars(
                select(Activity).where(
                    Activity.org_unit_id.in_(covering),
                    Activity.kind.in_(list(EXPECTED_KINDS)),
                )
            )
        )
    entries: list[RecordEntry] = []
    for activity in candidates:
        if activity.status is not ActivityStatus.scheduled or activity.ends_at > now:
            continue
        row = rows.get(activity.id)
        if row is None and not _belonged(activity, memberships, parents):
            continue
        outcome = _outcome(activity, row)
        if outcome is not None:
            entries.append(RecordEntry(activity, outcome))
    entries.sort(key=lambda e: (e.activity.starts_at, e.activity.id), reverse=True)
    count = {o: sum(1 for e in entries if e.outcome is o) for o in Outcome}
    service = sum(
        (
            e.activity.duration
            for e in entries
            if e.outcome is Outcome.attended and e.activity.kind in SERVICE_KINDS
        ),
        timedelta(),
    )
    return MemberRecord(
        entries=entries,
        attended=count[Outcome.attended],
        excused=count[Outcome.excused],
        absent=count[Outcome.absent],
        made_up=count[Outcome.made_up],
        volunteer_hours=service.total_seconds() / 3600,
    )


def _belonged(
    activity: Activity, memberships: list[Membership], parents: dict[int, int | None]
) -> bool:
    """Was the member in the activity's audience when it started?"""
    for membership in memberships:
        assert membership.decided_at is not None
        if membership.decided_at > activity.starts_at:
            continue
        if membership.ended_at is not None and membership.ended_at <= activity.starts_at:
            continue
        unit = membership.org_unit_id
        if unit == activity.org_unit_id or (
            activity.include_subunits and activity.org_unit_id in ancestor_ids_from(parents, unit)
        ):
            return True
    return False
