"""A member's own calendar: every activity they signed up for or are expected at, in a
window around now, as the events of one iCalendar file (models.activities.calendar_file).

What is in it, and with which STATUS:
- sign-ups (volunteering, tree planting, other): a seat → CONFIRMED, the waitlist →
  TENTATIVE, a withdrawn sign-up → CANCELLED (so that an entry imported earlier goes);
- organisational life of the units the member is active in → CONFIRMED, also with leave
  approved (请假): the meeting takes place, the member is excused, so its time is left
  free (TRANSP:TRANSPARENT) and the note says why; CANCELLED would read as called off;
- anything the member checked in at (a walk-in);
- of all these, the activities cancelled since → CANCELLED.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from models.activities.audience import covering_member
from models.activities.calendar_file import CalendarEvent, EventStatus
from models.activities.listings import MemberActivity
from models.activities.tables import (
    EXPECTED_KINDS,
    SEAT_STATUSES,
    Activity,
    ActivityStatus,
    Participation,
    ParticipationStatus,
)
from models.members import Member

CALENDAR_PAST = timedelta(days=30)
CALENDAR_AHEAD = timedelta(days=180)

# The sign-up rows that put an activity in the member's calendar.
LISTED_SIGNUPS = SEAT_STATUSES | {ParticipationStatus.waitlisted, ParticipationStatus.cancelled}


@dataclass(frozen=True)
class MemberCalendar:
    unit_ids: set[int]  # the units the member is active in
    entries: list[MemberActivity]  # soonest first


async def member_calendar(
    session: AsyncSession, member: Member, start: datetime, end: datetime
) -> MemberCalendar:
    """The member's activities that overlap start–end (see the module's docstring)."""
    units, covers = await covering_member(session, member.id)
    rows = await session.execute(
        select(Activity, Participation)
        .outerjoin(
            Participation,
            (Participation.activity_id == Activity.id) & (Participation.member_id == member.id),
        )
        .where(
            Activity.ends_at > start,
            Activity.starts_at < end,
            or_(
                Activity.kind.in_(list(EXPECTED_KINDS)) & covers,
                Activity.kind.not_in(list(EXPECTED_KINDS))
                & Participation.status.in_(list(LISTED_SIGNUPS)),
                Participation.checked_in_at.is_not(None),
            ),
        )
        .order_by(Activity.starts_at, Activity.id)
    )
    return MemberCalendar(units, [MemberActivity(a, p) for a, p in rows])


async def calendar_around(session: AsyncSession, member: Member, now: datetime) -> MemberCalendar:
    """`member_calendar` from CALENDAR_PAST before now to CALENDAR_AHEAD after it."""
    return await member_calendar(session, member, now - CALENDAR_PAST, now + CALENDAR_AHEAD)


def event_status(item: MemberActivity) -> EventStatus:
    status = item.participation.status if item.participation else None
    if item.activity.status is ActivityStatus.cancelled or status is ParticipationStatus.cancelled:
        return EventStatus.cancelled
    if status is ParticipationStatus.waitlisted:
        return EventStatus.tentative
    return EventStatus.confirmed


def calendar_event_of(item: MemberActivity, note: str = "") -> CalendarEvent:
    """The calendar event of one entry; `note` goes before the description."""
    row = item.participation
    changed = item.activity.updated_at
    if row is not None:
        changed = max(changed, row.updated_at)
    return CalendarEvent(
        item.activity,
        event_status(item),
        busy=row is None or row.status is not ParticipationStatus.excused,
        note=note,
        changed_at=changed,
    )
