"""点名: whom an activity's record is about, for the secretary's roster and a member's card.

At organisational life that is everyone expected, at a sign-up activity whoever holds a
seat from signing up; after them whoever else has a record there: walk-ins, and anyone
checked in or marked by a secretary who is expected no more (a correction never takes a
member off the roster). Read it after checking that the reader manages the activity
(models.activities.managed_activity).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from models.activities import (
    SEAT_STATUSES,
    Activity,
    ActivityMode,
    Participation,
    ParticipationStatus,
    expected_members,
    participations_of,
)
from models.attendance.record import Outcome, outcome_of
from models.members import Member

# Statuses only the record gives (a secretary, or closing it), beside checking in.
RECORDED = frozenset(
    {ParticipationStatus.absent, ParticipationStatus.excused, ParticipationStatus.made_up}
)


@dataclass(frozen=True)
class RollEntry:
    member: Member
    row: Participation | None  # None: expected, and nothing recorded yet
    outcome: Outcome | None


async def roll_call(session: AsyncSession, activity: Activity) -> list[RollEntry]:
    """Everyone on the activity's roster, by name: those expected (or signed up), then the
    walk-ins."""
    rows = {row.member_id: row for row in await participations_of(session, activity.id)}
    if activity.mode is ActivityMode.expected:
        members = await expected_members(session, activity)
    else:
        seated = [r for r in rows.values() if r.status in SEAT_STATUSES and not r.walk_in]
        members = sorted((r.member for r in seated), key=_by_name)
    listed = {member.id for member in members}
    others = [
        r.member
        for r in rows.values()
        if r.member_id not in listed and (r.checked_in_at or r.walk_in or r.status in RECORDED)
    ]
    return [
        RollEntry(member, rows.get(member.id), outcome_of(activity, rows.get(member.id)))
        for member in [*members, *sorted(others, key=_by_name)]
    ]


def _by_name(member: Member) -> tuple[str, int]:
    return member.real_name or "", member.id
