"""What members and secretaries see: upcoming activities, counts, participant lists."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from models.activities.audience import covering_member, expected_members, in_audience
from models.activities.lookup import get_activity, participation_of
from models.activities.signup import places_of, position_of
from models.activities.tables import (
    Activity,
    ActivityMode,
    ActivityStatus,
    Participation,
    ParticipationStatus,
)
from models.errors import NotStaff
from models.members import Member
from models.org import OrgUnit, get_unit
from models.paging import Page, page_of_rows
from models.permissions import Permission, managed_unit_ids, require


@dataclass(frozen=True)
class MemberActivity:
    activity: Activity
    participation: Participation | None


async def upcoming_for_member(
    session: AsyncSession, member: Member, now: datetime, page: int = 1, page_size: int = 5
) -> Page[MemberActivity]:
    """Scheduled activities not yet ended whose audience covers the member, soonest first."""
    _, covers = await covering_member(session, member.id)
    query = select(Activity).where(
        Activity.status == ActivityStatus.scheduled, Activity.ends_at > now, covers
    )
    found = await page_of_rows(
        session, query.order_by(Activity.starts_at, Activity.id), page, page_size
    )
    mine = {
        p.activity_id: p
        for p in await session.scalars(
            select(Participation).where(
                Participation.member_id == member.id,
                Participation.activity_id.in_([a.id for a in found.items]),
            )
        )
    }
    return found.with_items([MemberActivity(a, mine.get(a.id)) for a in found.items])


@dataclass(frozen=True)
class ActivityCounts:
    activity: Activity
    signed_up: int
    waitlisted: int
    expected: int  # organisational life: members of the audience; else 0
    attending: int
    leave_requested: int
    excused: int
    no_answer: int  # organisational life: expected members without an answer


async def activity_counts(session: AsyncSession, activity: Activity) -> ActivityCounts:
    rows = await session.execute(
        select(Participation.status, func.count())
        .where(Participation.activity_id == activity.id)
        .group_by(Participation.status)
    )
    by_status = {ParticipationStatus(status): count for status, count in rows}
    expected = no_answer = 0
    if activity.mode is ActivityMode.expected:
        expected = len(await expected_members(session, activity))
        no_answer = len(await not_answered(session, activity.id))
    return ActivityCounts(
        activity=activity,
        signed_up=by_status.get(ParticipationStatus.signed_up, 0),
        waitlisted=by_status.get(ParticipationStatus.waitlisted, 0),
        expected=expected,
        attending=by_status.get(ParticipationStatus.attending, 0),
        leave_requested=by_status.get(ParticipationStatus.leave_requested, 0),
        excused=by_status.get(ParticipationStatus.excused, 0),
        no_answer=no_answer,
    )


async def activities_for_units(
    session: AsyncSession,
    unit_ids: set[int] | None,
    now: datetime,
    page: int = 1,
    page_size: int = 5,
    past: bool = False,
) -> Page[ActivityCounts]:
    """The units' scheduled activities with counts (unit_ids None: every unit): those that
    have not ended, soonest first; with `past`, those that have, the latest first.

    Pass `managed_unit_ids(session, tg, Permission.manage_activities)`.
    """
    query = select(Activity).where(Activity.status == ActivityStatus.scheduled)
    if unit_ids is not None:
        query = query.where(Activity.org_unit_id.in_(unit_ids))
    if past:
        query = query.where(Activity.ends_at <= now)
        order = (Activity.starts_at.desc(), Activity.id.desc())
    else:
        query = query.where(Activity.ends_at > now)
        order = (Activity.starts_at, Activity.id)
    found = await page_of_rows(session, query.order_by(*order), page, page_size)
    return found.with_items([await activity_counts(session, a) for a in found.items])


def _participations(
    activity_id: int, statuses: set[ParticipationStatus] | None
) -> Select[tuple[Participation]]:
    query = (
        select(Participation)
        .join(Member, Member.id == Participation.member_id)
        .where(Participation.activity_id == activity_id)
        .options(selectinload(Participation.member))
        .order_by(Participation.queue_number, Member.real_name, Participation.id)
    )
    if statuses:
        query = query.where(Participation.status.in_(statuses))
    return query


async def participations_of(
    session: AsyncSession, activity_id: int, statuses: set[ParticipationStatus] | None = None
) -> list[Participation]:
    """The activity's rows (with members), waitlist order first, then by name."""
    return list(await session.scalars(_participations(activity_id, statuses)))


async def participations_page(
    session: AsyncSession,
    activity_id: int,
    statuses: set[ParticipationStatus] | None,
    page: int,
    page_size: int,
) -> Page[Participation]:
    """One page of `participations_of`."""
    return await page_of_rows(session, _participations(activity_id, statuses), page, page_size)


async def not_answered(session: AsyncSession, activity_id: int) -> list[Member]:
    """Members expected at an organisational-life activity who have not answered."""
    activity = await get_activity(session, activity_id)
    answered = set(
        await session.scalars(
            select(Participation.member_id).where(
                Participation.activity_id == activity_id,
                Participation.status != ParticipationStatus.expected,
            )
        )
    )
    return [m for m in await expected_members(session, activity) if m.id not in answered]


# --- the secretary's view, permission checked --------------------------------------------------


async def managed_activity(session: AsyncSession, telegram_id: int, activity_id: int) -> Activity:
    """An activity this person may manage (manage_activities on its unit)."""
    activity = await get_activity(session, activity_id)
    await require(session, telegram_id, Permission.manage_activities, activity.org_unit_id)
    return activity


async def managed_activities(
    session: AsyncSession,
    telegram_id: int,
    now: datetime,
    page: int = 1,
    page_size: int = 5,
    past: bool = False,
) -> Page[ActivityCounts]:
    """The coming (or, with `past`, the ended) activities of the units this person manages,
    with counts; NotStaff for someone who manages none."""
    units = await managed_unit_ids(session, telegram_id, Permission.manage_activities)
    if units is not None and not units:
        raise NotStaff(Permission.manage_activities, None, telegram_id)
    return await activities_for_units(session, units, now, page, page_size, past)


# --- the member's view of one activity ------------------------------------------------------------


@dataclass(frozen=True)
class MemberView:
    """What an activity's card shows a member (or anyone, for `member` None)."""

    activity: Activity
    unit: OrgUnit
    in_audience: bool
    mine: Participation | None
    position: int | None  # on the waitlist, 1 = next
    seats_left: int | None  # None: no limit
    waiting: int


async def member_view(session: AsyncSession, activity_id: int, member: Member | None) -> MemberView:
    activity = await get_activity(session, activity_id)
    audience = member is not None and await in_audience(session, activity, member.id)
    mine = await participation_of(session, activity.id, member.id) if member else None
    places = await places_of(session, activity.id)
    return MemberView(
        activity=activity,
        unit=await get_unit(session, activity.org_unit_id),
        in_audience=audience,
        mine=mine,
        position=await position_of(session, mine),
        seats_left=places.seats_left,
        waiting=places.waiting,
    )
