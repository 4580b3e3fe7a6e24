"""Closing an activity's record when it ends, the live count, and the quorum.

When an activity ends the scheduler closes its record (`close_record`): at
organisational life whoever is expected and neither checked in, excused nor made up
is absent, and is told they can report make-up study (补学); at a sign-up activity a
seat holder who never checked in is absent (a no-show). The unit's secretaries get
the summary in one message: of those expected (or holding a seat from signing up), how
many were present, excused and absent; walk-ins are counted apart. Corrections remain
possible afterwards, with a reason.

Quorum (支部党员大会): more than half of the members expected must attend for the
general meeting's decisions to stand.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from models.activities import (
    SEAT_STATUSES,
    Activity,
    ActivityKind,
    ActivityMode,
    ActivityStatus,
    Participation,
    ParticipationStatus,
    expected_count,
    expected_members,
    lock_activity,
)
from models.attendance.audit import record_changes
from models.attendance.record import Outcome, outcome_of
from models.attendance.tables import AttendanceAction
from models.members import Member
from models.notifications import AbsenceNoted, RecordClosed, notify, notify_each
from models.notifications import Notification as Note
from models.org import get_unit
from models.permissions import reviewers_of

# Activities that ended longer ago are not closed by the scan (an outage that long is
# something else; the migration closed those that had ended before records were closed).
CLOSE_WITHIN = timedelta(days=7)
QUORUM_WARN_AHEAD = timedelta(hours=24)


@dataclass(frozen=True)
class Quorum:
    expected: int
    attending: int  # answered Attend, or checked in
    checked_in: int
    needed: int  # more than half of those expected

    @property
    def at_risk(self) -> bool:
        return self.attending < self.needed

    @property
    def reached(self) -> bool:
        return self.checked_in >= self.needed


def quorum_needed(expected: int) -> int:
    """More than half."""
    return expected // 2 + 1


async def _rows(session: AsyncSession, activity_id: int) -> dict[int, Participation]:
    rows = await session.scalars(
        select(Participation).where(Participation.activity_id == activity_id)
    )
    return {row.member_id: row for row in rows}


async def quorum_of(session: AsyncSession, activity: Activity) -> Quorum | None:
    """The general meeting's quorum as things stand; None for any other kind."""
    if activity.kind is not ActivityKind.general_meeting:
        return None
    members = await expected_members(session, activity)
    rows = await _rows(session, activity.id)
    mine = [rows.get(m.id) for m in members]
    attending = sum(1 for r in mine if r is not None and r.status is ParticipationStatus.attending)
    checked_in = sum(1 for r in mine if r is not None and r.checked_in_at is not None)
    return Quorum(len(members), attending, checked_in, quorum_needed(len(members)))


async def quorums_at_risk(session: AsyncSession, now: datetime) -> list[tuple[Activity, Quorum]]:
    """General meetings within QUORUM_WARN_AHEAD that too few have said they will attend."""
    meetings = await session.scalars(
        select(Activity).where(
            Activity.kind == ActivityKind.general_meeting,
            Activity.status == ActivityStatus.scheduled,
            Activity.starts_at > now,
            Activity.starts_at <= now + QUORUM_WARN_AHEAD,
        )
    )
    found: list[tuple[Activity, Quorum]] = []
    for meeting in meetings:
        quorum = await quorum_of(session, meeting)
        if quorum is not None and quorum.expected and quorum.at_risk:
            found.append((meeting, quorum))
    return found


async def attendance_count(session: AsyncSession, activity: Activity) -> tuple[int, int]:
    """The live count of a check-in screen: (checked in, expected or holding a seat)."""
    checked_in = await session.scalar(
        select(func.count()).where(
            Participation.activity_id == activity.id, Participation.checked_in_at.is_not(None)
        )
    )
    if activity.mode is ActivityMode.expected:
        expected = await expected_count(session, activity)
    else:
        expected = (
            await session.scalar(
                select(func.count()).where(
                    Participation.activity_id == activity.id,
                    Participation.status.in_(list(SEAT_STATUSES)),
                )
            )
            or 0
        )
    return checked_in or 0, expected


async def records_to_close(session: AsyncSession, now: datetime) -> list[int]:
    """Ids of the activities that have ended and whose record is still open."""
    rows = await session.scalars(
        select(Activity.id)
        .where(
            Activity.status == ActivityStatus.scheduled,
            Activity.record_closed_at.is_(None),
            Activity.ends_at <= now,
            Activity.ends_at > now - CLOSE_WITHIN,
        )
        .order_by(Activity.ends_at, Activity.id)
    )
    return list(rows)


async def close_record(
    session: AsyncSession, activity_id: int, now: datetime
) -> RecordClosed | None:
    """Close the ended activity's record: who did not come is absent. The summary goes to
    the unit's secretaries, a note to each absent member of organisational life.
    None (and nothing done) when it is closed already, cancelled or not over."""
    activity = await lock_activity(session, activity_id)
    if (
        activity.record_closed_at is not None
        or activity.status is not ActivityStatus.scheduled
        or activity.ends_at > now
    ):
        return None
    rows = await _rows(session, activity.id)
    if activity.mode is ActivityMode.expected:
        concerned = await expected_members(session, activity)
    else:
        ids = [m for m, row in rows.items() if row.status in SEAT_STATUSES and not row.walk_in]
        concerned = list(
            await session.scalars(select(Member).where(Member.id.in_(ids)).order_by(Member.id))
        )
    absent: list[Member] = []
    # Rows made for those who never answered, and each change, written in one INSERT
    # each: a street-wide meeting has thousands (the ORM would write them one by one).
    made: list[dict[str, Any]] = []
    changes: list[tuple[int, Outcome | None, Outcome | None]] = []
    for member in concerned:
        row = rows.get(member.id)
        before = outcome_of(activity, row)
        if before in (Outcome.attended, Outcome.excused, Outcome.made_up):
            continue
        absent.append(member)
        if row is not None and row.status is ParticipationStatus.absent:
            continue  # marked absent already, by a secretary
        if row is None:
            made.append(
                {
                    "activity_id": activity.id,
                    "member_id": member.id,
                    "status": ParticipationStatus.absent,
                    "created_at": now,
                    "updated_at": now,
                }
            )
        else:
            row.status = ParticipationStatus.absent
            row.updated_at = now
        changes.append((member.id, before, Outcome.absent))
    activity.record_closed_at = now
    await session.flush()
    if made:
        await session.execute(insert(Participation), made)
    await record_changes(session, activity, changes, AttendanceAction.closed, None, now)
    outcomes = [outcome_of(activity, rows.get(member.id)) for member in concerned]
    concerned_ids = {member.id for member in concerned}
    quorum = await quorum_of(session, activity)
    summary = RecordClosed(
        activity,
        present=outcomes.count(Outcome.attended),
        excused=outcomes.count(Outcome.excused),
        absent=tuple(m.real_name or "—" for m in absent),
        walk_ins=sum(
            1
            for row in rows.values()
            if row.checked_in_at is not None and row.member_id not in concerned_ids
        ),
        expected=len(concerned),
        quorum_needed=quorum.needed if quorum is not None else None,
    )
    unit = await get_unit(session, activity.org_unit_id)
    for secretary in await reviewers_of(session, unit.id):
        key = f"closed:{activity.id}:{secretary}"
        notify(session, Note(secretary, summary, unit, dedup_key=key))
    if activity.mode is ActivityMode.expected:
        absentees = [m.telegram_id for m in absent]
        notify_each(session, absentees, AbsenceNoted(activity), unit)
    return summary
