"""For the scheduler: reminders before an activity, nudges to answer, and who never answered."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from models.activities import (
    EXPECTED_KINDS,
    SEAT_STATUSES,
    Activity,
    ActivityMode,
    ActivityStatus,
    Participation,
    ParticipationStatus,
    expected_members,
    not_answered,
)
from models.members import Member

# Statuses of a member who will not come and should not be reminded.
NOT_COMING = frozenset(
    {
        ParticipationStatus.cancelled,
        ParticipationStatus.waitlisted,
        ParticipationStatus.excused,
        ParticipationStatus.leave_requested,
    }
)


@dataclass(frozen=True)
class Reminder:
    activity: Activity
    telegram_id: int
    offset: timedelta  # the dedup key: "remind:<activity>:<member>:<offset>"


DEFAULT_OFFSETS = (timedelta(hours=24), timedelta(hours=1))
ANNOUNCE_AHEAD = timedelta(days=14)  # members hear of an activity at most this early


async def due_reminders(
    session: AsyncSession, now: datetime, offsets: tuple[timedelta, ...] = DEFAULT_OFFSETS
) -> list[Reminder]:
    """Reminders whose time has come (starts_at - offset <= now < starts_at), to send once.

    Candidates only: the scheduler dedups on its key. Per member and activity only
    the nearest offset is due (never "tomorrow" an hour before), and an offset whose
    time came before the activity was created is skipped (its announcement did that).
    Signed-up members in sign-up mode; in organisational life everyone expected who
    did not ask for or get leave.
    """
    if not offsets:
        return []
    activities = await session.scalars(
        select(Activity)
        .where(
            Activity.status == ActivityStatus.scheduled,
            Activity.starts_at > now,
            Activity.starts_at <= now + max(offsets),
        )
        .order_by(Activity.starts_at, Activity.id)
    )
    reminders: list[Reminder] = []
    for activity in activities:
        due = [o for o in offsets if activity.created_at <= activity.starts_at - o <= now]
        if not due:
            continue
        offset = min(due)
        for telegram_id in await _to_remind(session, activity):
            reminders.append(Reminder(activity, telegram_id, offset))
    return reminders


async def _to_remind(session: AsyncSession, activity: Activity) -> list[int]:
    rows = list(
        await session.scalars(
            select(Participation)
            .where(Participation.activity_id == activity.id)
            .options(selectinload(Participation.member))
        )
    )
    if activity.mode is ActivityMode.signup:
        members = [row.member for row in rows if row.status in SEAT_STATUSES]
    else:
        not_coming = {row.member_id for row in rows if row.status in NOT_COMING}
        members = [m for m in await expected_members(session, activity) if m.id not in not_coming]
    # Nobody is written to who blocked the bot: their secretary has them in /unreachable.
    return sorted({m.telegram_id for m in members if _reachable(m) and m.telegram_id})


def _reachable(member: Member) -> bool:
    return member.telegram_id is not None and member.unreachable_at is None


async def to_announce(session: AsyncSession, now: datetime, ahead: timedelta) -> list[Activity]:
    """Scheduled activities starting within `ahead`: their audience hears of them once."""
    rows = await session.scalars(
        select(Activity)
        .where(
            Activity.status == ActivityStatus.scheduled,
            Activity.starts_at > now,
            Activity.starts_at <= now + ahead,
        )
        .order_by(Activity.starts_at, Activity.id)
    )
    return list(rows)


async def reachable_audience(session: AsyncSession, activity: Activity) -> list[Member]:
    """The activity's audience that the bot can write to."""
    return [m for m in await expected_members(session, activity) if _reachable(m)]


async def unanswered_for_nudge(
    session: AsyncSession, now: datetime, after: timedelta = timedelta(hours=24)
) -> list[tuple[Activity, Member]]:
    """Organisational-life invitations out for `after` with no answer and no nudge yet.

    An invitation is out from its announcement: when the activity was created, or
    ANNOUNCE_AHEAD before it starts if that is later. Send one nudge each, then call
    mark_nudged.
    """
    return await _unanswered(session, now, after, nudged=False)


async def unanswered_after_nudge(
    session: AsyncSession, now: datetime, after: timedelta = timedelta(hours=24)
) -> list[tuple[Activity, Member]]:
    """Members nudged more than `after` ago who still have not answered: tell the secretary."""
    return await _unanswered(session, now, after, nudged=True)


async def _unanswered(
    session: AsyncSession, now: datetime, after: timedelta, nudged: bool
) -> list[tuple[Activity, Member]]:
    activities = await session.scalars(
        select(Activity)
        .where(
            Activity.status == ActivityStatus.scheduled,
            Activity.starts_at > now,
            Activity.created_at <= now - after,
            Activity.starts_at <= now - after + ANNOUNCE_AHEAD,  # announced `after` ago
            Activity.kind.in_(list(EXPECTED_KINDS)),
        )
        .order_by(Activity.starts_at, Activity.id)
    )
    found: list[tuple[Activity, Member]] = []
    for activity in activities:
        nudges = {
            row.member_id: row.nudged_at
            for row in await session.scalars(
                select(Participation).where(
                    Participation.activity_id == activity.id,
                    Participation.status == ParticipationStatus.expected,
                )
            )
        }
        for member in await not_answered(session, activity.id):
            if member.telegram_id is None:
                continue
            nudged_at = nudges.get(member.id)
            if not nudged and nudged_at is None:
                found.append((activity, member))
            elif nudged and nudged_at is not None and nudged_at <= now - after:
                found.append((activity, member))
    return found
