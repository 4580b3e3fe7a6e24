"""Check-in (签到) and attendance taken by a secretary, including 补学.

Check-in opens 30 minutes before the start and closes at the end; by location
it must be within 300 m of the activity's coordinates.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from models.activities import (
    SEAT_STATUSES,
    Activity,
    ActivityMode,
    ActivityStatus,
    CheckInMethod,
    Participation,
    ParticipationStatus,
    check_audience,
    claim_seat,
    get_activity,
    lock_activity,
    participation_of,
)
from models.attendance.rows import participation_row, require_expected
from models.errors import InvalidInput, InvalidState, NotFound
from models.members import Member
from models.permissions import Permission, require

CHECK_IN_OPENS_BEFORE = timedelta(minutes=30)
CHECK_IN_RADIUS_M = 300.0
EARTH_RADIUS_M = 6_371_000.0


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


def check_in_open(activity: Activity, now: datetime) -> bool:
    """Whether check-in is open now: from 30 minutes before the start to the end."""
    return activity.starts_at - CHECK_IN_OPENS_BEFORE <= now <= activity.ends_at


def _check_window(activity: Activity, now: datetime) -> None:
    if activity.status is ActivityStatus.cancelled:
        raise InvalidState("activity.cancelled", f"activity {activity.id}")
    if now < activity.starts_at - CHECK_IN_OPENS_BEFORE:
        raise InvalidState(
            "checkin.not_open", f"opens at {activity.starts_at - CHECK_IN_OPENS_BEFORE}"
        )
    if now > activity.ends_at:
        raise InvalidState("checkin.closed", f"activity {activity.id}")


async def check_in_allowed(session: AsyncSession, activity_id: int, now: datetime) -> Activity:
    """The activity, if one can check in there by location now (before the location is
    asked for); the refusals of check_in otherwise."""
    activity = await get_activity(session, activity_id)
    _check_window(activity, now)
    if activity.latitude is None or activity.longitude is None:
        raise InvalidState("checkin.no_location", f"activity {activity_id}")
    return activity


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
    activity = await lock_activity(session, activity_id)
    _check_window(activity, now)
    await check_audience(session, activity, member)
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
    row = await participation_row(session, activity, member.id, now)
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
    activity = await lock_activity(session, activity_id)
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
        await check_audience(session, activity, member)
    holds_seat = row is not None and row.status in SEAT_STATUSES
    if activity.mode is ActivityMode.signup and not holds_seat:
        if not present:
            raise InvalidState("signup.not_signed_up", f"member {member_id}")
        if not await claim_seat(session, activity):
            raise InvalidState("activity.full", f"activity {activity_id}")
    row = await participation_row(session, activity, member_id, now)
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
    activity = await lock_activity(session, activity_id)
    await require(
        session, secretary_telegram_id, Permission.manage_activities, activity.org_unit_id
    )
    require_expected(activity)
    if now < activity.starts_at:
        raise InvalidState("activity.not_started")
    row = await participation_row(session, activity, member_id, now)
    if row.checked_in_at is not None or row.status is ParticipationStatus.made_up:
        raise InvalidState("made_up.not_missed")
    row.status = ParticipationStatus.made_up
    row.decided_by = secretary_telegram_id
    row.decided_at = row.updated_at = now
    await session.flush()
    return row
