"""A member's attendance record: the outcome of each past activity, and the totals."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, case, select
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
from models.notices import AcknowledgementCounts, acknowledgements_of
from models.org import ancestor_ids_from, parent_map
from models.sql import earlier, later, seconds_between


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
    hours: float = 0.0  # volunteer hours (service kinds)
    saplings: int = 0  # planted (tree planting)
    walk_in: bool = False  # checked in neither expected nor signed up


@dataclass(frozen=True)
class Totals:
    attended: int = 0
    excused: int = 0
    absent: int = 0
    made_up: int = 0
    volunteer_hours: float = 0.0  # attended volunteer and tree-planting time
    saplings_planted: int = 0
    # Organisational life: the share attended of what was held (None when nothing was).
    attendance_rate: float | None = None
    # Activities with sign-up (volunteering, tree planting, other) that took place: how
    # many the member had a seat at, and how many of those they attended.
    signed_up: int = 0
    signed_up_attended: int = 0

    @staticmethod
    def of(entries: list[RecordEntry]) -> Totals:
        count = {o: sum(1 for e in entries if e.outcome is o) for o in Outcome}
        meetings = [
            e for e in entries if e.activity.kind in EXPECTED_KINDS and e.outcome in COUNTED
        ]
        attended = sum(1 for e in meetings if e.outcome is Outcome.attended)
        signups = [e for e in entries if e.activity.mode is ActivityMode.signup and not e.walk_in]
        return Totals(
            attended=count[Outcome.attended],
            excused=count[Outcome.excused],
            absent=count[Outcome.absent],
            made_up=count[Outcome.made_up],
            volunteer_hours=sum(e.hours for e in entries),
            saplings_planted=sum(e.saplings for e in entries),
            attendance_rate=attended / len(meetings) if meetings else None,
            signed_up=len(signups),
            signed_up_attended=sum(1 for e in signups if e.outcome is Outcome.attended),
        )


# The outcomes an attendance rate counts: a meeting held, whatever became of the member.
COUNTED = frozenset({Outcome.attended, Outcome.excused, Outcome.absent, Outcome.made_up})


@dataclass(frozen=True)
class MemberRecord:
    entries: list[RecordEntry]  # most recent first
    totals: Totals  # of the entries from `since` to `until` (all of them without)
    notices: AcknowledgementCounts  # sent from `since` to `until`


def outcome_of(activity: Activity, row: Participation | None) -> Outcome | None:
    """What the member's row says became of them at the activity (None: nothing to count)."""
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


def service_hours(activity: Activity, row: Participation | None) -> float:
    """Volunteer hours of one checked-in member: from check-in to check-out within the
    activity's span where check-out is required (none without one), else the whole span."""
    if row is None or row.checked_in_at is None or activity.kind not in SERVICE_KINDS:
        return 0.0
    if not activity.check_out_required:
        return activity.duration.total_seconds() / 3600
    if row.checked_out_at is None:
        return 0.0
    start = max(row.checked_in_at, activity.starts_at)
    end = min(row.checked_out_at, activity.ends_at)
    return max(timedelta(), end - start).total_seconds() / 3600


def service_seconds() -> ColumnElement[float]:
    """`service_hours` in SQL, in seconds, of a participation row joined to its activity
    (what the figures and the volunteer-hours export sum)."""
    span = seconds_between(Activity.starts_at, Activity.ends_at)
    within = seconds_between(
        later(Participation.checked_in_at, Activity.starts_at),
        earlier(Participation.checked_out_at, Activity.ends_at),
    )
    return case(
        (Participation.checked_in_at.is_(None), 0.0),
        (Activity.kind.not_in(list(SERVICE_KINDS)), 0.0),
        (Activity.check_out_required.is_(False), span),
        (Participation.checked_out_at.is_(None), 0.0),
        (within > 0, within),
        else_=0.0,
    )


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


async def member_record(
    session: AsyncSession,
    member: Member,
    now: datetime,
    since: datetime | None = None,
    until: datetime | None = None,
) -> MemberRecord:
    """Past activities of the member with their outcome, and the totals of those that
    started from `since` to `until` (a year, say; all without), with the notices that
    asked them to acknowledge in that time.

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
        row = rows.get(activity.id)
        checked_in = row is not None and row.checked_in_at is not None
        if activity.status is not ActivityStatus.scheduled:
            continue
        if activity.ends_at > now and not checked_in:  # under way: counted once checked in
            continue
        if row is None and not _belonged(activity, memberships, parents):
            continue
        outcome = outcome_of(activity, row)
        if outcome is not None:
            saplings = row.saplings_planted if row is not None else None
            walk_in = row is not None and row.walk_in
            hours = service_hours(activity, row)
            entries.append(RecordEntry(activity, outcome, hours, saplings or 0, walk_in))
    entries.sort(key=lambda e: (e.activity.starts_at, e.activity.id), reverse=True)
    counted = [
        e
        for e in entries
        if (since is None or e.activity.starts_at >= since)
        and (until is None or e.activity.starts_at < until)
    ]
    notices = await acknowledgements_of(session, member.id, since, until)
    return MemberRecord(entries=entries, totals=Totals.of(counted), notices=notices)


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
