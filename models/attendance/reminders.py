"""For the scheduler: announcements, reminders before an activity, nudges to answer, and
who never answered.

A scan runs every minute, so each function reads an audience only when something is due
for it: an audience is one query, never one per member, and the activity's marks
(`announced_at`, `reminded_at`, `nudges_queued_at`, `silence_reported_at`, set by the
mark_* functions once the messages are queued) say what was done, so the scan a minute
later reads almost nothing: announcements and nudges only the members who joined since.
What they return are candidates; the dedup keys keep a message from going twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Select, exists, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from models.activities import (
    EXPECTED_KINDS,
    SEAT_STATUSES,
    Activity,
    ActivityMode,
    ActivityStatus,
    Participation,
    ParticipationStatus,
    audience_units_from,
)
from models.members import Member, Membership, MembershipStatus
from models.org import parent_map
from models.sql import in_parts

# Statuses of a member who will not come and should not be reminded.
NOT_COMING = frozenset(
    {
        ParticipationStatus.cancelled,
        ParticipationStatus.waitlisted,
        ParticipationStatus.excused,
        ParticipationStatus.leave_requested,
    }
)

DEFAULT_OFFSETS = (timedelta(hours=24), timedelta(hours=1))
ANNOUNCE_AHEAD = timedelta(days=14)  # members hear of an activity at most this early
# A membership approved while a scan was running is still seen by the next one.
OVERLAP = timedelta(minutes=5)

# Nobody is written to who blocked the bot: their secretary has them in /unreachable.
REACHABLE = (Member.telegram_id.is_not(None), Member.unreachable_at.is_(None))


@dataclass(frozen=True)
class Reminder:
    activity: Activity
    telegram_id: int
    offset: timedelta  # the dedup key: "remind:<activity>:<member>:<offset>"


@dataclass(frozen=True)
class Announcement:
    activity: Activity
    # The ids of the members to tell (a query, evaluated as the copies are written; the
    # whole audience may be a city); None: nobody new.
    members: Select[tuple[int]] | None


def _active_in(units: set[int], *conditions: ColumnElement[bool]) -> Select[tuple[int]]:
    return select(Membership.member_id).where(
        Membership.status == MembershipStatus.active,
        Membership.org_unit_id.in_(units),
        *conditions,
    )


def _reachable_members(units: set[int]) -> Select[tuple[int]]:
    """The active members of these units the bot can write to."""
    return select(Member.id).where(Member.id.in_(_active_in(units)), *REACHABLE)


async def _scheduled_within(
    session: AsyncSession, now: datetime, ahead: timedelta, *conditions: object
) -> list[Activity]:
    rows = await session.scalars(
        select(Activity)
        .where(
            Activity.status == ActivityStatus.scheduled,
            Activity.starts_at > now,
            Activity.starts_at <= now + ahead,
            *conditions,  # type: ignore[arg-type]
        )
        .order_by(Activity.starts_at, Activity.id)
    )
    return list(rows)


async def _mark(session: AsyncSession, activity_ids: Sequence[int], **values: datetime) -> None:
    for ids in in_parts(activity_ids):
        await session.execute(
            update(Activity)
            .where(Activity.id.in_(ids))
            .values(**values)
            .execution_options(synchronize_session=False)
        )


# --- announcements ---------------------------------------------------------------------------


async def announcements_due(
    session: AsyncSession, now: datetime, ahead: timedelta = ANNOUNCE_AHEAD
) -> list[Announcement]:
    """Every scheduled activity starting within `ahead`, with whom to tell of it: its whole
    reachable audience the first time, then whoever became a member of it since it was
    last looked at (mostly nobody). `mark_announced` them all once the messages are queued."""
    activities = await _scheduled_within(session, now, ahead)
    if not activities:
        return []
    parents = await parent_map(session)
    told = [a.announced_at for a in activities if a.announced_at is not None]
    joined: list[tuple[int, datetime, int]] = []  # (unit, approved at, member)
    if told:
        rows = await session.execute(
            select(Membership.org_unit_id, Membership.decided_at, Member.id)
            .join(Member, Member.id == Membership.member_id)
            .where(
                Membership.status == MembershipStatus.active,
                Membership.decided_at > min(told) - OVERLAP,
                *REACHABLE,
            )
        )
        joined = [(unit, at, m) for unit, at, m in rows]
    found: list[Announcement] = []
    for activity in activities:
        units = audience_units_from(parents, activity)
        if activity.announced_at is None:
            found.append(Announcement(activity, _reachable_members(units)))
            continue
        since = activity.announced_at - OVERLAP
        new = sorted({m for unit, at, m in joined if unit in units and at > since})
        found.append(Announcement(activity, _among(new)))
    return found


def _among(member_ids: list[int]) -> Select[tuple[int]] | None:
    """These members, as a query of ids; None for nobody."""
    return select(Member.id).where(Member.id.in_(member_ids)) if member_ids else None


async def mark_announced(session: AsyncSession, activity_ids: Sequence[int], now: datetime) -> None:
    """Their audience as it is now has been told (the announcements are queued): the next
    scan looks only at who joined after this."""
    await _mark(session, activity_ids, announced_at=now)


# --- reminders -------------------------------------------------------------------------------


async def due_reminders(
    session: AsyncSession, now: datetime, offsets: tuple[timedelta, ...] = DEFAULT_OFFSETS
) -> list[Reminder]:
    """Reminders whose time has come (starts_at - offset <= now < starts_at), to send once.

    Per member and activity only the nearest offset is due (never "tomorrow" an hour
    before), an offset whose time came before the activity was created is skipped (its
    announcement did that), and one whose reminders were sent (`mark_reminded` after it)
    is not read again. Signed-up members in sign-up mode; in organisational life everyone
    expected who did not ask for or get leave.
    """
    if not offsets:
        return []
    activities = await _scheduled_within(session, now, max(offsets))
    parents = await parent_map(session) if activities else {}
    reminders: list[Reminder] = []
    for activity in activities:
        due = [o for o in offsets if activity.created_at <= activity.starts_at - o <= now]
        if not due:
            continue
        offset = min(due)
        if activity.reminded_at is not None and activity.reminded_at >= activity.starts_at - offset:
            continue  # this offset's reminders are queued
        for telegram_id in await _to_remind(session, activity, parents):
            reminders.append(Reminder(activity, telegram_id, offset))
    return reminders


async def _to_remind(
    session: AsyncSession, activity: Activity, parents: dict[int, int | None]
) -> list[int]:
    of_activity = Participation.activity_id == activity.id
    if activity.mode is ActivityMode.signup:
        members = select(Participation.member_id).where(
            of_activity, Participation.status.in_(SEAT_STATUSES)
        )
        query = select(Member.telegram_id).where(Member.id.in_(members), *REACHABLE)
    else:
        # NOT EXISTS, not NOT IN: PostgreSQL plans NOT IN over a subquery as a scan of it
        # per member (30 s for a street of 10,000), and NOT EXISTS as one anti-join.
        not_coming = exists().where(
            of_activity,
            Participation.member_id == Member.id,
            Participation.status.in_(NOT_COMING),
        )
        query = select(Member.telegram_id).where(
            Member.id.in_(_active_in(audience_units_from(parents, activity))),
            ~not_coming,
            *REACHABLE,
        )
    return sorted({tg for tg in await session.scalars(query) if tg is not None})


async def mark_reminded(session: AsyncSession, activity_ids: Sequence[int], now: datetime) -> None:
    """The reminders due for these activities now are queued."""
    await _mark(session, activity_ids, reminded_at=now)


# --- nudges, and who never answered -----------------------------------------------------------


async def _invitations_out(
    session: AsyncSession, now: datetime, after: timedelta, *conditions: object
) -> list[Activity]:
    """Organisational life whose invitation is out for `after`: from its announcement, when
    the activity was created or ANNOUNCE_AHEAD before it starts if that is later."""
    return await _scheduled_within(
        session,
        now,
        ANNOUNCE_AHEAD - after,  # announced `after` ago
        Activity.created_at <= now - after,
        Activity.kind.in_(list(EXPECTED_KINDS)),
        *conditions,
    )


# A participation that takes its member off the nudge list.
ANSWERED_OR_NUDGED = or_(
    Participation.status != ParticipationStatus.expected, Participation.nudged_at.is_not(None)
)


@dataclass(frozen=True)
class Nudges:
    activity: Activity
    # The ids of its members not answered and not nudged yet (a query, evaluated as they
    # are marked nudged); None: nobody new.
    members: Select[tuple[int]] | None


async def unanswered_for_nudge(
    session: AsyncSession, now: datetime, after: timedelta = timedelta(hours=24)
) -> list[Nudges]:
    """Every organisational-life invitation out for `after`, with its members (for `after`
    too) who have not answered, were not nudged, and can be written to: its whole audience
    the first time, then whoever joined since it was last looked at (mostly nobody).
    `mark_nudged` them, nudge those it marked, then `mark_nudges_queued` the activities."""
    activities = await _invitations_out(session, now, after)
    if not activities:
        return []
    parents = await parent_map(session)
    members_by = now - after  # one who joined since hears of it first
    looked_at = [a.nudges_queued_at for a in activities if a.nudges_queued_at is not None]
    joined: list[tuple[int, datetime, int]] = []  # (unit, approved at, member)
    if looked_at:
        rows = await session.execute(
            select(Membership.org_unit_id, Membership.decided_at, Member.id)
            .join(Member, Member.id == Membership.member_id)
            .where(
                Membership.status == MembershipStatus.active,
                Membership.decided_at > min(looked_at) - after - OVERLAP,
                Membership.decided_at <= members_by,
                *REACHABLE,
            )
        )
        joined = [(unit, at, member) for unit, at, member in rows]
    found: list[Nudges] = []
    for activity in activities:
        units = audience_units_from(parents, activity)
        if activity.nudges_queued_at is None:
            audience = _active_in(units, Membership.decided_at <= members_by)
            found.append(Nudges(activity, _not_answered(activity, audience)))
            continue
        since = activity.nudges_queued_at - after - OVERLAP
        new = sorted({m for unit, at, m in joined if unit in units and at > since})
        found.append(Nudges(activity, _not_answered(activity, new) if new else None))
    return found


def _not_answered(activity: Activity, among: Select[tuple[int]] | list[int]) -> Select[tuple[int]]:
    """Those of `among` (member ids) the bot can write to who have not answered the
    invitation and were not nudged."""
    answered_or_nudged = exists().where(
        Participation.activity_id == activity.id,
        Participation.member_id == Member.id,
        ANSWERED_OR_NUDGED,
    )
    return select(Member.id).where(Member.id.in_(among), ~answered_or_nudged, *REACHABLE)


def _by_name(member: Member) -> tuple[bool, str, int]:
    return member.real_name is None, member.real_name or "", member.id


async def mark_nudges_queued(
    session: AsyncSession, activity_ids: Sequence[int], now: datetime
) -> None:
    """The nudges due for these activities now are queued: the next scan looks only at
    members who joined after this."""
    await _mark(session, activity_ids, nudges_queued_at=now)


async def unanswered_after_nudge(
    session: AsyncSession, now: datetime, after: timedelta = timedelta(hours=24)
) -> list[tuple[Activity, Member]]:
    """Members nudged more than `after` ago who still have not answered, and still belong
    to the audience, of activities whose secretaries were not told yet
    (`mark_silence_reported`): tell the secretary. A nudge goes `after` past the
    invitation, so only invitations out for twice that can have any; who is due is one
    indexed query for all of them (the minute's scan, mostly finding nobody), and only
    then are their members read, in parts."""
    activities = await _invitations_out(
        session, now, 2 * after, Activity.silence_reported_at.is_(None)
    )
    if not activities:
        return []
    by_id = {activity.id: activity for activity in activities}
    due = (
        await session.execute(
            select(Participation.activity_id, Participation.member_id).where(
                Participation.activity_id.in_(list(by_id)),
                Participation.status == ParticipationStatus.expected,
                Participation.nudged_at <= now - after,
            )
        )
    ).all()
    if not due:
        return []
    members: dict[int, Member] = {}
    units_of: dict[int, set[int]] = {}
    for part in in_parts(sorted({member_id for _, member_id in due})):
        rows = await session.execute(
            select(Membership.org_unit_id, Member)
            .join(Member, Member.id == Membership.member_id)
            .where(
                Membership.member_id.in_(part),
                Membership.status == MembershipStatus.active,
                Member.telegram_id.is_not(None),
            )
        )
        for unit_id, member in rows:
            members[member.id] = member
            units_of.setdefault(member.id, set()).add(unit_id)
    parents = await parent_map(session)
    audiences = {a.id: audience_units_from(parents, a) for a in activities}
    silent = [
        (by_id[activity_id], members[member_id])
        for activity_id, member_id in due
        if units_of.get(member_id, set()) & audiences[activity_id]
    ]
    order = {activity.id: place for place, activity in enumerate(activities)}
    return sorted(silent, key=lambda pair: (order[pair[0].id], _by_name(pair[1])))


async def mark_silence_reported(
    session: AsyncSession, activity_ids: Sequence[int], now: datetime
) -> None:
    """The secretaries of these activities were told who never answered."""
    await _mark(session, activity_ids, silence_reported_at=now)
