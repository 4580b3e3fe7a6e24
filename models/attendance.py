"""Answers, leave, check-in, attendance records, and what the scheduler reminds of.

Organisational life: members answer Attend or Request leave (请假, with a reason);
a secretary approves (excused) or declines it. Check-in (签到) opens 30 minutes
before the start and closes at the end; by location it must be within 300 m.
Rows are created under the activity's row lock (see models/activities.py), so a
double press never makes two.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.attributes import set_committed_value

from models.activities import (
    EXPECTED_KINDS,
    SEAT_STATUSES,
    SERVICE_KINDS,
    Activity,
    ActivityMode,
    ActivityStatus,
    CheckInMethod,
    Participation,
    ParticipationStatus,
    _check_audience,
    _check_open,
    _claim_seat,
    _lock_activity,
    expected_members,
    not_answered,
    participation_of,
)
from models.errors import InvalidInput, InvalidState, NotFound
from models.members import Member, Membership, MembershipStatus
from models.org import ancestor_ids_from, parent_map
from models.permissions import Permission, require

CHECK_IN_OPENS_BEFORE = timedelta(minutes=30)
CHECK_IN_RADIUS_M = 300.0
LEAVE_REASON_MAX = 200
EARTH_RADIUS_M = 6_371_000.0
# Statuses of a member who will not come and should not be reminded.
NOT_COMING = frozenset(
    {
        ParticipationStatus.cancelled,
        ParticipationStatus.waitlisted,
        ParticipationStatus.excused,
        ParticipationStatus.leave_requested,
    }
)


class CheckInTooFar(InvalidInput):
    """Checking in by location from farther than CHECK_IN_RADIUS_M; says how far."""

    def __init__(self, distance_m: float) -> None:
        self.distance_m = round(distance_m)
        super().__init__("location", "checkin.too_far", detail=f"{self.distance_m} m away")


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres (haversine)."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    d_phi, d_lambda = phi2 - phi1, math.radians(lon2 - lon1)
    a = math.sin(d_phi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(d_lambda / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(a))


def _require_expected(activity: Activity) -> None:
    if activity.mode is not ActivityMode.expected:
        raise InvalidState("activity.not_expected", f"activity {activity.id}")


async def _row(
    session: AsyncSession, activity: Activity, member_id: int, now: datetime
) -> Participation:
    """The member's row, made (status expected) when missing. Call with the activity locked."""
    row = await participation_of(session, activity.id, member_id)
    if row is None:
        row = Participation(
            activity_id=activity.id,
            member_id=member_id,
            status=ParticipationStatus.expected,
            created_at=now,
            updated_at=now,
        )
        session.add(row)
    return row


# --- organisational life: answers and leave ------------------------------------------


async def respond_attend(
    session: AsyncSession, activity_id: int, member: Member, now: datetime
) -> Participation:
    """The member will attend (also withdraws a leave request). Pressing twice is harmless.

    InvalidState: activity.not_expected, activity.cancelled, activity.finished,
    activity.not_in_audience.
    """
    activity = await _lock_activity(session, activity_id)
    _require_expected(activity)
    _check_open(activity, now)
    await _check_audience(session, activity, member)
    row = await _row(session, activity, member.id, now)
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

    InvalidInput reason.empty / reason.too_long; InvalidState activity.not_expected,
    activity.cancelled, activity.started, activity.not_in_audience,
    leave.already_requested, leave.already_excused, checkin.already.
    """
    cleaned = " ".join(reason.split())
    if not cleaned:
        raise InvalidInput("reason", "reason.empty")
    if len(cleaned) > LEAVE_REASON_MAX:
        raise InvalidInput("reason", "reason.too_long", detail=f"at most {LEAVE_REASON_MAX}")
    activity = await _lock_activity(session, activity_id)
    _require_expected(activity)
    _check_open(activity, now)
    if now >= activity.starts_at:
        raise InvalidState("activity.started", f"activity {activity_id}")
    await _check_audience(session, activity, member)
    row = await _row(session, activity, member.id, now)
    if row.status is ParticipationStatus.leave_requested:
        raise InvalidState("leave.already_requested")
    if row.status is ParticipationStatus.excused:
        raise InvalidState("leave.already_excused")
    if row.checked_in_at is not None:
        raise InvalidState("checkin.already")
    row.status = ParticipationStatus.leave_requested
    row.leave_reason = cleaned
    row.decided_by = row.decided_at = None
    row.responded_at = row.updated_at = now
    await session.flush()
    return row


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
    # Conditional UPDATE: of two secretaries deciding at once, one wins.
    result = await session.execute(
        update(Participation)
        .where(
            Participation.id == row.id,
            Participation.status == ParticipationStatus.leave_requested,
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        await session.refresh(row)
        raise InvalidState("leave.already_decided", f"participation is {row.status}")
    for key, value in values.items():
        set_committed_value(row, key, value)
    return row


async def mark_nudged(
    session: AsyncSession, activity_id: int, member_id: int, now: datetime
) -> Participation:
    """Record that the member was nudged to answer (the scheduler calls this once sent)."""
    activity = await _lock_activity(session, activity_id)
    row = await _row(session, activity, member_id, now)
    row.nudged_at = row.updated_at = now
    await session.flush()
    return row


# --- check-in and attendance ------------------------------------------------------------


async def check_in(
    session: AsyncSession,
    activity_id: int,
    member: Member,
    method: CheckInMethod | str,
    now: datetime,
    latitude: float | None = None,
    longitude: float | None = None,
) -> Participation:
    """签到 by the venue's QR code or by location, from 30 minutes before the start to the end.

    InvalidInput checkin.method_invalid, checkin.location_missing, checkin.too_far
    (CheckInTooFar, with distance_m). InvalidState activity.cancelled, checkin.not_open,
    checkin.closed, activity.not_in_audience, checkin.not_signed_up (sign-up mode
    without a seat), checkin.no_location (the activity has no coordinates),
    checkin.already.
    """
    try:
        method = CheckInMethod(method)
    except ValueError:
        raise InvalidInput("method", "checkin.method_invalid") from None
    if method is CheckInMethod.secretary:
        raise InvalidInput("method", "checkin.method_invalid", detail="use mark_attendance")
    activity = await _lock_activity(session, activity_id)
    if activity.status is ActivityStatus.cancelled:
        raise InvalidState("activity.cancelled", f"activity {activity_id}")
    if now < activity.starts_at - CHECK_IN_OPENS_BEFORE:
        raise InvalidState(
            "checkin.not_open", f"opens at {activity.starts_at - CHECK_IN_OPENS_BEFORE}"
        )
    if now > activity.ends_at:
        raise InvalidState("checkin.closed", f"activity {activity_id}")
    await _check_audience(session, activity, member)
    row = await participation_of(session, activity_id, member.id)
    if activity.mode is ActivityMode.signup and (row is None or row.status not in SEAT_STATUSES):
        raise InvalidState("checkin.not_signed_up", f"member {member.id}")
    if row is not None and row.checked_in_at is not None:
        raise InvalidState("checkin.already")
    if method is CheckInMethod.location:
        if latitude is None or longitude is None:
            raise InvalidInput("location", "checkin.location_missing")
        if activity.latitude is None or activity.longitude is None:
            raise InvalidState("checkin.no_location", f"activity {activity_id}")
        distance = distance_m(latitude, longitude, activity.latitude, activity.longitude)
        if distance > CHECK_IN_RADIUS_M:
            raise CheckInTooFar(distance)
    row = await _row(session, activity, member.id, now)
    row.status = ParticipationStatus.attending
    row.checked_in_at = row.updated_at = now
    row.check_in_method = method
    row.checked_in_latitude, row.checked_in_longitude = latitude, longitude
    await session.flush()
    return row


async def mark_attendance(
    session: AsyncSession,
    activity_id: int,
    member_id: int,
    secretary_telegram_id: int,
    present: bool,
    now: datetime,
) -> Participation:
    """The secretary marks a member present (attending, checked in) or absent.

    From 30 minutes before the start, and any time after. In sign-up mode a member
    marked present without a seat takes one (InvalidState activity.full when none is
    free: capacity is never exceeded), and only seat holders can be marked absent.
    InvalidState: activity.cancelled, checkin.not_open, activity.not_in_audience,
    signup.not_signed_up. NotFound member.not_found.
    """
    activity = await _lock_activity(session, activity_id)
    await require(
        session, secretary_telegram_id, Permission.manage_activities, activity.org_unit_id
    )
    if activity.status is ActivityStatus.cancelled:
        raise InvalidState("activity.cancelled", f"activity {activity_id}")
    if now < activity.starts_at - CHECK_IN_OPENS_BEFORE:
        raise InvalidState("checkin.not_open")
    member = await session.get(Member, member_id)
    if member is None:
        raise NotFound("member.not_found", f"no member {member_id}")
    row = await participation_of(session, activity_id, member_id)
    if row is None:
        await _check_audience(session, activity, member)
    holds_seat = row is not None and row.status in SEAT_STATUSES
    if activity.mode is ActivityMode.signup and not holds_seat:
        if not present:
            raise InvalidState("signup.not_signed_up", f"member {member_id}")
        if not await _claim_seat(session, activity):
            raise InvalidState("activity.full", f"activity {activity_id}")
    row = await _row(session, activity, member_id, now)
    row.queue_number = None
    row.updated_at = now
    if present:
        row.status = ParticipationStatus.attending
        if row.checked_in_at is None:
            row.checked_in_at = now
            row.check_in_method = CheckInMethod.secretary
    else:
        row.status = ParticipationStatus.absent
        row.checked_in_at = row.check_in_method = None
        row.checked_in_latitude = row.checked_in_longitude = None
    row.decided_by = secretary_telegram_id
    await session.flush()
    return row


async def mark_made_up(
    session: AsyncSession,
    activity_id: int,
    member_id: int,
    secretary_telegram_id: int,
    now: datetime,
) -> Participation:
    """补学: a member who missed organisational life made up for it (recorded by a secretary).

    InvalidState activity.not_expected, activity.not_started, made_up.not_missed
    (the member attended).
    """
    activity = await _lock_activity(session, activity_id)
    await require(
        session, secretary_telegram_id, Permission.manage_activities, activity.org_unit_id
    )
    _require_expected(activity)
    if now < activity.starts_at:
        raise InvalidState("activity.not_started")
    row = await _row(session, activity, member_id, now)
    if row.checked_in_at is not None or row.status is ParticipationStatus.made_up:
        raise InvalidState("made_up.not_missed")
    row.status = ParticipationStatus.made_up
    row.decided_by = secretary_telegram_id
    row.decided_at = row.updated_at = now
    await session.flush()
    return row


# --- a member's record --------------------------------------------------------------------


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
    memberships = list(
        await session.scalars(
            select(Membership).where(
                Membership.member_id == member.id,
                Membership.decided_at.is_not(None),
                Membership.status.in_(
                    [MembershipStatus.active, MembershipStatus.left, MembershipStatus.transferred]
                ),
            )
        )
    )
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


# --- for the scheduler ------------------------------------------------------------------


@dataclass(frozen=True)
class Reminder:
    activity: Activity
    telegram_id: int
    offset: timedelta  # the dedup key: "remind:<activity>:<member>:<offset>"


DEFAULT_OFFSETS = (timedelta(hours=24), timedelta(hours=1))


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
    return sorted({m.telegram_id for m in members if m.telegram_id is not None})


async def unanswered_for_nudge(
    session: AsyncSession, now: datetime, after: timedelta = timedelta(hours=24)
) -> list[tuple[Activity, Member]]:
    """Organisational-life invitations out for `after` with no answer and no nudge yet.

    Send one nudge each, then call mark_nudged.
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
