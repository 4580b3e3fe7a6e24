"""Sign-up and the waitlist of opt-in activities: seats, queue order, cancelling.

Members sign up for a seat; when the seats are gone they are waitlisted, first
come first served. Every change runs under the activity's row lock
(models/activities/locking.py); the seat itself is claimed with a conditional
UPDATE whose rowcount decides seat or waitlist (`claim_seat`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from models.activities.audience import check_audience
from models.activities.drafts import typed_whole_number
from models.activities.locking import check_open, lock_activity
from models.activities.lookup import get_activity, participation_of
from models.activities.tables import (
    PLEDGE_MAX,
    Activity,
    ActivityMode,
    Participation,
    ParticipationStatus,
    PledgeKind,
)
from models.errors import InvalidInput, InvalidState, NotFound
from models.members import Member
from models.notifications import SeatFreed, notify_each
from models.org import get_unit


def _clean_pledge(activity: Activity, pledge: int | str | None) -> int | None:
    if pledge is None or (isinstance(pledge, str) and not pledge.strip()):
        return None
    if activity.pledge_kind is PledgeKind.none:
        raise InvalidInput("pledge", "pledge.not_accepted")
    if isinstance(pledge, str):
        typed = typed_whole_number(pledge)
        if typed is None:
            raise InvalidInput("pledge", "pledge.invalid", detail="a whole number")
        pledge = typed
    if isinstance(pledge, bool) or not 0 < pledge <= PLEDGE_MAX:
        raise InvalidInput("pledge", "pledge.invalid", detail=f"1..{PLEDGE_MAX}")
    return pledge


async def claim_seat(session: AsyncSession, activity: Activity) -> bool:
    """Take a seat if one is free; the conditional UPDATE's rowcount decides."""
    result = await session.execute(
        update(Activity)
        .where(
            Activity.id == activity.id,
            or_(Activity.capacity.is_(None), Activity.seats_taken < Activity.capacity),
        )
        .values(seats_taken=Activity.seats_taken + 1)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount == 1:
        await session.refresh(activity, ["seats_taken"])
        return True
    return False


async def _next_queue_number(session: AsyncSession, activity: Activity) -> int:
    await session.execute(
        update(Activity)
        .where(Activity.id == activity.id)
        .values(waitlist_counter=Activity.waitlist_counter + 1)
        .execution_options(synchronize_session=False)
    )
    await session.refresh(activity, ["waitlist_counter"])
    return activity.waitlist_counter


async def sign_up(
    session: AsyncSession,
    activity_id: int,
    member: Member,
    now: datetime,
    pledge: int | str | None = None,
) -> Participation:
    """Take a seat (signed_up) or, when they are gone, a place on the waitlist (waitlisted).

    InvalidState: activity.not_signup, activity.cancelled, activity.finished,
    signup.deadline_passed (the deadline, else the start), activity.not_in_audience,
    signup.already. InvalidInput pledge.invalid / pledge.not_accepted.
    """
    activity = await lock_activity(session, activity_id)
    existing = await _check_sign_up(session, activity, member, now)
    amount = _clean_pledge(activity, pledge)
    values: dict[str, Any] = {"pledge_amount": amount, "updated_at": now, "responded_at": now}
    if await claim_seat(session, activity):
        values |= {"status": ParticipationStatus.signed_up, "queue_number": None}
        values["queued_at"] = None
    else:
        values |= {
            "status": ParticipationStatus.waitlisted,
            "queue_number": await _next_queue_number(session, activity),
            "queued_at": now,
        }
    if existing is None:
        existing = Participation(
            activity_id=activity_id, member_id=member.id, created_at=now, **values
        )
        session.add(existing)
    else:
        for key, value in values.items():
            setattr(existing, key, value)
    try:
        await session.flush()
    except IntegrityError:
        # Cannot happen while the lock above is held; the unique constraint is the backstop.
        raise InvalidState("signup.already", "concurrent sign-up") from None
    return existing


async def _check_sign_up(
    session: AsyncSession, activity: Activity, member: Member, now: datetime
) -> Participation | None:
    """What sign_up refuses, in order; the member's cancelled participation, if any."""
    if activity.mode is not ActivityMode.signup:
        raise InvalidState("activity.not_signup", f"activity {activity.id}")
    check_open(activity, now)
    if now > (activity.signup_deadline or activity.starts_at):
        raise InvalidState("signup.deadline_passed", f"activity {activity.id}")
    await check_audience(session, activity, member)
    existing = await participation_of(session, activity.id, member.id)
    if existing is not None and existing.status is not ParticipationStatus.cancelled:
        raise InvalidState("signup.already", f"{existing.status}")
    return existing


async def sign_up_allowed(
    session: AsyncSession, activity_id: int, member: Member, now: datetime
) -> Activity:
    """The activity, if the member may sign up for it now (before a pledge is asked for);
    the refusals of sign_up otherwise, which checks again when they answer."""
    activity = await get_activity(session, activity_id)
    await _check_sign_up(session, activity, member, now)
    return activity


# Joining the waitlist explicitly is signing up: a seat freed meanwhile is taken.
join_waitlist = sign_up


async def fill_seats(session: AsyncSession, activity: Activity, now: datetime) -> list[Member]:
    """Give free seats to the first waitlisted members, in order. Call with the row locked."""
    promoted: list[Member] = []
    while True:
        first = await session.scalar(
            select(Participation)
            .where(
                Participation.activity_id == activity.id,
                Participation.status == ParticipationStatus.waitlisted,
            )
            .order_by(Participation.queue_number, Participation.id)
            .limit(1)
            .options(selectinload(Participation.member))
        )
        if first is None or not await claim_seat(session, activity):
            return promoted
        first.status = ParticipationStatus.signed_up
        first.updated_at = now
        await session.flush()
        promoted.append(first.member)


async def cancel_signup(
    session: AsyncSession, activity_id: int, member: Member, now: datetime
) -> Member | None:
    """Give up a seat or leave the waitlist; returns the member promoted to the seat, if any,
    who is told.

    A seat may not be given up later than `cancel_cutoff_hours` before the start
    (InvalidState signup.cutoff_passed); leaving the waitlist is always fine.
    InvalidState signup.not_signed_up when the member holds neither.
    """
    activity = await lock_activity(session, activity_id)
    check_open(activity, now)
    participation = await participation_of(session, activity_id, member.id)
    if participation is None or participation.status not in (
        ParticipationStatus.signed_up,
        ParticipationStatus.waitlisted,
    ):
        raise InvalidState("signup.not_signed_up", f"member {member.id}")
    had_seat = participation.status is ParticipationStatus.signed_up
    if had_seat and now > activity.starts_at - timedelta(hours=activity.cancel_cutoff_hours):
        raise InvalidState("signup.cutoff_passed", f"{activity.cancel_cutoff_hours} hours")
    return await give_up_place(session, activity, participation, now)


async def give_up_place(
    session: AsyncSession, activity: Activity, participation: Participation, now: datetime
) -> Member | None:
    """The seat or waitlist place of `participation` (signed_up or waitlisted) given up, with
    the activity's row locked: a freed seat goes to the first on the waitlist, who is told.
    The member promoted, if any. cancel_signup's rules come first; forgetting a member
    (models.privacy) has none."""
    had_seat = participation.status is ParticipationStatus.signed_up
    participation.status = ParticipationStatus.cancelled
    participation.queue_number = None
    participation.updated_at = now
    if not had_seat:
        await session.flush()
        return None
    activity.seats_taken -= 1  # safe: the row is locked
    await session.flush()
    promoted = await fill_seats(session, activity, now)
    if not promoted:
        return None
    unit = await get_unit(session, activity.org_unit_id)
    notify_each(session, [promoted[0].telegram_id], SeatFreed(activity), unit)
    return promoted[0]


async def waitlist_position(session: AsyncSession, activity_id: int, member: Member) -> int | None:
    """1 for the first waiting member; None when not waitlisted."""
    return await position_of(session, await participation_of(session, activity_id, member.id))


async def position_of(session: AsyncSession, mine: Participation | None) -> int | None:
    """`waitlist_position` of a participation already read."""
    if mine is None or mine.status is not ParticipationStatus.waitlisted:
        return None
    ahead = await session.scalar(
        select(func.count()).where(
            Participation.activity_id == mine.activity_id,
            Participation.status == ParticipationStatus.waitlisted,
            or_(
                Participation.queue_number < mine.queue_number,
                (Participation.queue_number == mine.queue_number) & (Participation.id < mine.id),
            ),
        )
    )
    return (ahead or 0) + 1


@dataclass(frozen=True)
class Places:
    seats_left: int | None  # free seats now (None: unlimited)
    waiting: int  # on the waitlist


async def places_of(session: AsyncSession, activity_id: int) -> Places:
    """Free seats and the waitlist's length, in one statement (the seats taken as stored
    now: they change by conditional updates, not through the loaded activity)."""
    waiting = (
        select(func.count())
        .where(
            Participation.activity_id == Activity.id,
            Participation.status == ParticipationStatus.waitlisted,
        )
        .scalar_subquery()
    )
    row = (
        await session.execute(
            select(Activity.capacity, Activity.seats_taken, waiting).where(
                Activity.id == activity_id
            )
        )
    ).one_or_none()
    if row is None:
        raise NotFound("activity.not_found", f"no activity {activity_id}")
    capacity, taken, waiting_count = row
    return Places(None if capacity is None else max(0, capacity - taken), waiting_count or 0)


async def seats_left(session: AsyncSession, activity_id: int) -> int | None:
    """Free seats now (None: unlimited)."""
    return (await places_of(session, activity_id)).seats_left


async def waitlist_length(session: AsyncSession, activity_id: int) -> int:
    return (await places_of(session, activity_id)).waiting
