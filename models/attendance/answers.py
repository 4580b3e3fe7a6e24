"""Organisational life: answering Attend, leave (请假) and its decision, and nudges.

Members answer Attend or Request leave (with a reason); a secretary approves
(excused) or declines it. Rows are created under the activity's row lock
(models/activities/locking.py), so a double press never makes two.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Select, exists, insert, literal, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from models.activities import (
    Activity,
    Participation,
    ParticipationStatus,
    check_audience,
    check_open,
    get_activity,
    lock_activity,
    participation_of,
)
from models.attendance.rows import participation_row, require_expected
from models.base import move_status
from models.errors import InvalidState, NotFound
from models.members import Member
from models.notifications import LeaveDecided, LeaveRequested, notify_each
from models.org import get_unit
from models.permissions import Permission, require, reviewers_of
from models.text import clean_text

LEAVE_REASON_MAX = 200


async def respond_attend(
    session: AsyncSession, activity_id: int, member: Member, now: datetime
) -> Participation:
    """The member will attend (also withdraws a leave request). Pressing twice is harmless.

    InvalidState: activity.not_expected, activity.cancelled, activity.finished,
    activity.not_in_audience.
    """
    activity = await lock_activity(session, activity_id)
    require_expected(activity)
    check_open(activity, now)
    await check_audience(session, activity, member)
    row = await participation_row(session, activity, member.id, now)
    if row.status is not ParticipationStatus.attending:
        row.status = ParticipationStatus.attending
        row.responded_at = now
        row.updated_at = now
    await session.flush()
    return row


async def request_leave(
    session: AsyncSession, activity_id: int, member: Member, reason: str, now: datetime
) -> Participation:
    """请假: ask the secretary to excuse the member, with a reason (1-200 characters).

    InvalidInput reason.empty / reason.too_long / reason.invalid; InvalidState
    activity.not_expected, activity.cancelled, activity.started, activity.not_in_audience,
    leave.already_requested, leave.already_excused, checkin.already.
    """
    cleaned = clean_text(reason, "reason", LEAVE_REASON_MAX, required=True)
    activity = await lock_activity(session, activity_id)
    await _check_leave(session, activity, member, now)
    row = await participation_row(session, activity, member.id, now)
    row.status = ParticipationStatus.leave_requested
    row.leave_reason = cleaned
    row.decided_by = row.decided_at = None
    row.responded_at = row.updated_at = now
    await session.flush()
    unit = await get_unit(session, activity.org_unit_id)
    message = LeaveRequested(row, activity, member)
    notify_each(session, await reviewers_of(session, unit.id), message, unit)
    return row


async def _check_leave(
    session: AsyncSession, activity: Activity, member: Member, now: datetime
) -> None:
    """What request_leave refuses, in order (a reason aside)."""
    require_expected(activity)
    check_open(activity, now)
    if now >= activity.starts_at:
        raise InvalidState("activity.started", f"activity {activity.id}")
    await check_audience(session, activity, member)
    row = await participation_of(session, activity.id, member.id)
    if row is not None and row.status is ParticipationStatus.leave_requested:
        raise InvalidState("leave.already_requested")
    if row is not None and row.status is ParticipationStatus.excused:
        raise InvalidState("leave.already_excused")
    if row is not None and row.checked_in_at is not None:
        raise InvalidState("checkin.already")


async def leave_allowed(
    session: AsyncSession, activity_id: int, member: Member, now: datetime
) -> Activity:
    """The activity, if the member may ask for leave from it now (before the reason is
    asked for); the refusals of request_leave otherwise."""
    activity = await get_activity(session, activity_id)
    await _check_leave(session, activity, member, now)
    return activity


async def get_participation(session: AsyncSession, participation_id: int) -> Participation:
    """A row with its activity and member; NotFound participation.not_found."""
    row = await session.scalar(
        select(Participation)
        .where(Participation.id == participation_id)
        .options(selectinload(Participation.activity), selectinload(Participation.member))
    )
    if row is None:
        raise NotFound("participation.not_found", f"no participation {participation_id}")
    return row


async def decide_leave(
    session: AsyncSession,
    participation_id: int,
    secretary_telegram_id: int,
    approve: bool,
    now: datetime,
) -> Participation:
    """Approve (excused) or decline (leave_declined) a pending leave request.

    PermissionDenied without manage_activities on the activity's unit; InvalidState
    leave.already_decided when it is not pending (two secretaries pressing at once).
    """
    row = await get_participation(session, participation_id)
    await require(
        session, secretary_telegram_id, Permission.manage_activities, row.activity.org_unit_id
    )
    values = {
        "status": ParticipationStatus.excused if approve else ParticipationStatus.leave_declined,
        "decided_by": secretary_telegram_id,
        "decided_at": now,
        "updated_at": now,
    }
    await move_status(
        session, row, ParticipationStatus.leave_requested, "leave.already_decided", values
    )
    unit = await get_unit(session, row.activity.org_unit_id)
    notify_each(session, [row.member.telegram_id], LeaveDecided(row.activity, approve), unit)
    return row


async def mark_nudged(
    session: AsyncSession,
    activity_id: int,
    member_ids: Select[tuple[int]] | Sequence[int],
    now: datetime,
) -> Select[tuple[int]]:
    """Record that these members (expected, not answered) are nudged to answer: the
    scheduler, as it queues the nudges. Their rows are made (expected) where missing: two
    statements however many. Gives who was marked nudged now, as a query of member ids,
    for the nudges to be written to."""
    await lock_activity(session, activity_id)
    of_activity = Participation.activity_id == activity_id
    has_row = exists().where(of_activity, Participation.member_id == Member.id)
    missing = select(
        literal(activity_id),
        Member.id,
        literal(ParticipationStatus.expected, Participation.__table__.c.status.type),
        literal(False),
        literal(now, Participation.__table__.c.nudged_at.type),
        literal(now, Participation.__table__.c.created_at.type),
        literal(now, Participation.__table__.c.updated_at.type),
    ).where(Member.id.in_(member_ids), ~has_row)
    columns = ["activity_id", "member_id", "status", "walk_in", "nudged_at", "created_at"]
    await session.execute(insert(Participation).from_select([*columns, "updated_at"], missing))
    await session.execute(
        update(Participation)
        .where(
            of_activity,
            Participation.member_id.in_(member_ids),
            Participation.status == ParticipationStatus.expected,
            Participation.nudged_at.is_(None),
        )
        .values(nudged_at=now, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    return select(Participation.member_id).where(
        of_activity,
        Participation.status == ParticipationStatus.expected,
        Participation.nudged_at == now,
    )
