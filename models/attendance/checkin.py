"""Check-in (签到) and check-out by the member: the rotating QR code, location, the spoken code.

Each activity's creator chooses the methods (Activity.check_in_by_*); the roster
(models.attendance.corrections) always works. Check-in is open from
`check_in_opens_minutes` before the start to the end; by location it must be within
the activity's radius; by QR code the token must be the activity's and fresh
(models.attendance.tokens); by code the digits must match, and wrong codes in a row
slow the member down (never locking them out for good). Members neither expected
nor signed up are refused, or recorded as walk-ins where the activity allows them.

Check-out (volunteer service) is open from check-in to CHECK_OUT_CLOSES_AFTER after
the end; volunteer hours are then the time between, within the activity's span.
Every check-in and check-out is one change in the audit trail.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from models.activities import (
    SAPLINGS_MAX,
    SEAT_STATUSES,
    Activity,
    ActivityKind,
    ActivityMode,
    ActivityStatus,
    CheckInMethod,
    Participation,
    ParticipationStatus,
    claim_seat,
    get_activity,
    in_audience,
    lock_activity,
    participation_of,
)
from models.activities.drafts import typed_whole_number
from models.attendance.audit import record_change
from models.attendance.record import outcome_of
from models.attendance.rows import participation_row
from models.attendance.tables import AttendanceAction, CodeAttempts, ScreenPurpose
from models.attendance.tokens import CONFIRM_GRACE, Token, check_fresh
from models.errors import InvalidInput, InvalidState
from models.members import Member

EARTH_RADIUS_M = 6_371_000.0
CHECK_OUT_CLOSES_AFTER = timedelta(hours=1)
# Wrong codes allowed in a row before each further try waits; the wait doubles from
# CODE_WAIT_FIRST up to CODE_WAIT_MAX, and a right code (or a quiet hour) clears it.
CODE_FREE_FAILURES = 3
CODE_WAIT_FIRST = timedelta(seconds=30)
CODE_WAIT_MAX = timedelta(minutes=15)
CODE_FORGIVEN_AFTER = timedelta(hours=1)
MEMBER_METHODS = (CheckInMethod.qr, CheckInMethod.location, CheckInMethod.code)


class CheckInTooFar(InvalidInput):
    """Checking in by location from outside the activity's radius; says how far."""

    def __init__(self, distance_m: float, radius_m: int) -> None:
        self.distance_m = round(distance_m)
        self.radius_m = radius_m
        super().__init__("location", "checkin.too_far", detail=f"{self.distance_m} m away")


class CheckInNotOpen(InvalidState):
    """Before the check-in window: says when it opens."""

    def __init__(self, opens_at: datetime) -> None:
        self.opens_at = opens_at
        super().__init__("checkin.not_open", f"opens at {opens_at}")


class CodeSlowDown(InvalidState):
    """Too many wrong codes in a row: the next try is accepted from `retry_at`."""

    def __init__(self, retry_at: datetime) -> None:
        self.retry_at = retry_at
        super().__init__("checkin.code_wait", f"try again at {retry_at}")


@dataclass(frozen=True)
class WrongCode:
    """A wrong code: kept (unlike a refusal), so that the tries in a row are counted."""

    failures: int
    retry_at: datetime | None  # when the next try is accepted; None: at once


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres (haversine)."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    d_phi, d_lambda = phi2 - phi1, math.radians(lon2 - lon1)
    a = math.sin(d_phi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(d_lambda / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(a))


def check_in_open(activity: Activity, now: datetime) -> bool:
    """Whether check-in is open now: the window, and the record not closed."""
    return (
        activity.status is ActivityStatus.scheduled
        and activity.record_closed_at is None
        and activity.check_in_opens_at <= now <= activity.ends_at
    )


def method_enabled(activity: Activity, method: CheckInMethod) -> bool:
    return {
        CheckInMethod.qr: activity.check_in_by_qr,
        CheckInMethod.location: activity.check_in_by_location,
        CheckInMethod.code: activity.check_in_by_code,
        CheckInMethod.secretary: True,
    }[method]


def check_window(activity: Activity, now: datetime) -> None:
    """InvalidState activity.cancelled, checkin.not_open (CheckInNotOpen), checkin.closed."""
    if activity.status is ActivityStatus.cancelled:
        raise InvalidState("activity.cancelled", f"activity {activity.id}")
    if now < activity.check_in_opens_at:
        raise CheckInNotOpen(activity.check_in_opens_at)
    if now > activity.ends_at or activity.record_closed_at is not None:
        raise InvalidState("checkin.closed", f"activity {activity.id}")


def _check_method(activity: Activity, method: CheckInMethod) -> None:
    if not method_enabled(activity, method):
        raise InvalidState("checkin.method_off", f"{method} at activity {activity.id}")
    if method is CheckInMethod.location and activity.latitude is None:
        raise InvalidState("checkin.no_location", f"activity {activity.id}")


async def check_in_allowed(
    session: AsyncSession, activity_id: int, method: CheckInMethod, now: datetime
) -> Activity:
    """The activity, if one can check in there by `method` now (before the location or the
    code is asked for); the refusals of check_in otherwise."""
    activity = await get_activity(session, activity_id)
    check_window(activity, now)
    _check_method(activity, method)
    return activity


def check_token(activity_id: int, token: Token, purpose: ScreenPurpose, now: datetime) -> None:
    """A scanned token (signature already checked): for this activity and purpose, fresh."""
    if token.purpose is not purpose:
        raise InvalidInput("token", "checkin.token_wrong_purpose")
    if token.activity_id != activity_id:
        raise InvalidInput("token", "checkin.token_wrong_activity")
    check_fresh(token, now, CONFIRM_GRACE)


def _check_location(activity: Activity, latitude: float | None, longitude: float | None) -> None:
    if latitude is None or longitude is None:
        raise InvalidInput("location", "checkin.location_missing")
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        raise InvalidInput("location", "location.invalid")
    assert activity.latitude is not None and activity.longitude is not None
    distance = distance_m(latitude, longitude, activity.latitude, activity.longitude)
    if distance > activity.check_in_radius_m:
        raise CheckInTooFar(distance, activity.check_in_radius_m)


async def admission(
    session: AsyncSession, activity: Activity, member: Member, row: Participation | None
) -> bool:
    """Whether the member would check in as a walk-in (True) or as expected or signed up
    (False); InvalidState checkin.already, checkin.not_signed_up or
    activity.not_in_audience when they may not. Asked before a confirmation is offered,
    too, so nobody is asked to confirm what would be refused (a full activity aside)."""
    if row is not None and row.checked_in_at is not None:
        raise InvalidState("checkin.already")
    if member.forgotten_at is not None:
        raise InvalidState("activity.not_in_audience", f"member {member.id}")
    if activity.mode is ActivityMode.signup:
        if row is not None and row.status in SEAT_STATUSES:
            return False
        if not activity.walk_ins_allowed:
            raise InvalidState("checkin.not_signed_up", f"member {member.id}")
        return True
    if await in_audience(session, activity, member.id):
        return False
    if not activity.walk_ins_allowed:
        raise InvalidState("activity.not_in_audience", f"member {member.id}")
    return True


async def _record_check_in(
    session: AsyncSession,
    activity: Activity,
    member: Member,
    method: CheckInMethod,
    now: datetime,
    latitude: float | None = None,
    longitude: float | None = None,
) -> Participation:
    """The check-in itself, once the method's own check passed; the activity is locked."""
    row = await participation_of(session, activity.id, member.id)
    walk_in = await admission(session, activity, member, row)
    if walk_in and activity.mode is ActivityMode.signup and not await claim_seat(session, activity):
        raise InvalidState("activity.full", f"activity {activity.id}")
    before = outcome_of(activity, row)
    row = await participation_row(session, activity, member.id, now)
    row.status = ParticipationStatus.attending
    row.queue_number = None
    row.walk_in = row.walk_in or walk_in
    row.checked_in_at = row.updated_at = now
    row.check_in_method = method
    row.checked_in_latitude, row.checked_in_longitude = latitude, longitude
    await session.flush()
    action = AttendanceAction.walked_in if walk_in else AttendanceAction.checked_in
    record_change(session, activity, row, action, before, member.telegram_id, now)
    return row


async def check_in(
    session: AsyncSession,
    activity_id: int,
    member: Member,
    method: CheckInMethod | str,
    now: datetime,
    *,
    latitude: float | None = None,
    longitude: float | None = None,
    token: Token | None = None,
) -> Participation:
    """签到 by the rotating QR code (`token`) or by location. For the spoken code see
    enter_code; for the roster, models.attendance.corrections.

    InvalidInput checkin.method_invalid, checkin.location_missing, location.invalid,
    checkin.too_far (CheckInTooFar), checkin.token_missing, checkin.token_wrong_activity,
    checkin.token_wrong_purpose. InvalidState activity.cancelled, checkin.not_open
    (CheckInNotOpen), checkin.closed, checkin.method_off, checkin.no_location,
    checkin.token_expired, activity.not_in_audience, checkin.not_signed_up,
    activity.full (a walk-in where no seat is left), checkin.already.
    """
    try:
        method = CheckInMethod(method)
    except ValueError:
        raise InvalidInput("method", "checkin.method_invalid") from None
    if method not in (CheckInMethod.qr, CheckInMethod.location):
        raise InvalidInput("method", "checkin.method_invalid", detail="qr or location")
    activity = await lock_activity(session, activity_id)
    check_window(activity, now)
    _check_method(activity, method)
    if method is CheckInMethod.qr:
        if token is None:
            raise InvalidInput("token", "checkin.token_missing")
        check_token(activity.id, token, ScreenPurpose.check_in, now)
    else:
        _check_location(activity, latitude, longitude)
    return await _record_check_in(session, activity, member, method, now, latitude, longitude)


# --- the spoken code ---------------------------------------------------------------------------


def _wait_after(failures: int) -> timedelta:
    if failures < CODE_FREE_FAILURES:
        return timedelta()
    return min(CODE_WAIT_FIRST * 2 ** (failures - CODE_FREE_FAILURES), CODE_WAIT_MAX)


async def code_retry_at(session: AsyncSession, member: Member, now: datetime) -> datetime | None:
    """When the member may try a code again after wrong ones in a row; None: now."""
    return _retry_at(await session.get(CodeAttempts, member.id), now)


def _retry_at(attempts: CodeAttempts | None, now: datetime) -> datetime | None:
    if attempts is None or now - attempts.last_failed_at >= CODE_FORGIVEN_AFTER:
        return None
    retry_at = attempts.last_failed_at + _wait_after(attempts.failures)
    return retry_at if retry_at > now else None


async def enter_code(
    session: AsyncSession, activity_id: int, member: Member, typed: str, now: datetime
) -> Participation | WrongCode:
    """签到 with the code the secretary reads out. A wrong code is counted and returned as
    WrongCode (the count must be kept, so it is not a refusal); while the member must
    wait, every try is refused with CodeSlowDown, right or wrong. The other refusals
    are check_in's, and InvalidInput checkin.code_malformed for what is not digits."""
    activity = await lock_activity(session, activity_id)
    check_window(activity, now)
    _check_method(activity, CheckInMethod.code)
    attempts = await session.get(CodeAttempts, member.id)
    retry_at = _retry_at(attempts, now)
    if retry_at is not None:
        raise CodeSlowDown(retry_at)
    number = typed_whole_number(typed)
    if number is None:
        raise InvalidInput("code", "checkin.code_malformed")
    if f"{number:0{len(activity.check_in_code)}d}" != activity.check_in_code:
        if attempts is None:
            attempts = CodeAttempts(member_id=member.id, failures=0, last_failed_at=now)
            session.add(attempts)
        elif now - attempts.last_failed_at >= CODE_FORGIVEN_AFTER:
            attempts.failures = 0
        attempts.failures += 1
        attempts.last_failed_at = now
        await session.flush()
        wait = _wait_after(attempts.failures)
        return WrongCode(attempts.failures, now + wait if wait else None)
    row = await _record_check_in(session, activity, member, CheckInMethod.code, now)
    if attempts is not None:
        await session.delete(attempts)
        await session.flush()
    return row


# --- check-out ---------------------------------------------------------------------------------


def check_out_open(activity: Activity, row: Participation | None, now: datetime) -> bool:
    """Whether this member can check out now: checked in, not yet out, and not later than
    CHECK_OUT_CLOSES_AFTER after the end."""
    return (
        activity.status is ActivityStatus.scheduled
        and row is not None
        and row.checked_in_at is not None
        and row.checked_out_at is None
        and now <= activity.ends_at + CHECK_OUT_CLOSES_AFTER
    )


def typed_saplings(text: str) -> int:
    """Saplings planted as a person typed them; InvalidInput saplings.invalid."""
    count = typed_whole_number(text)
    if count is None:
        raise InvalidInput("saplings", "saplings.invalid", detail="not a whole number")
    result = clean_saplings(count)
    assert result is not None
    return result


def clean_saplings(count: int | None) -> int | None:
    """Saplings planted: a whole number 0..SAPLINGS_MAX (None: not said)."""
    if count is None:
        return None
    if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= SAPLINGS_MAX:
        raise InvalidInput("saplings", "saplings.invalid", detail=f"0..{SAPLINGS_MAX}")
    return count


def _check_out_state(
    activity: Activity, member: Member, row: Participation | None, now: datetime
) -> None:
    if activity.status is ActivityStatus.cancelled:
        raise InvalidState("activity.cancelled", f"activity {activity.id}")
    if row is None or row.checked_in_at is None:
        raise InvalidState("checkout.not_checked_in", f"member {member.id}")
    if row.checked_out_at is not None:
        raise InvalidState("checkout.already")
    if now > activity.ends_at + CHECK_OUT_CLOSES_AFTER:
        raise InvalidState("checkout.closed", f"activity {activity.id}")


async def check_out_allowed(
    session: AsyncSession,
    activity_id: int,
    member: Member,
    now: datetime,
    token: Token | None = None,
) -> Activity:
    """The activity, if the member can check out of it now (by `token`), before the
    saplings or a confirmation are asked for; the refusals of check_out otherwise."""
    activity = await get_activity(session, activity_id)
    row = await participation_of(session, activity.id, member.id)
    _check_out_state(activity, member, row, now)
    if token is not None:
        check_token(activity.id, token, ScreenPurpose.check_out, now)
    return activity


async def check_out(
    session: AsyncSession,
    activity_id: int,
    member: Member,
    now: datetime,
    *,
    token: Token | None = None,
    saplings: int | None = None,
) -> Participation:
    """签退: the member leaves (by the check-out QR code's `token`, or the card's button),
    with the saplings they planted at a tree planting.

    InvalidInput saplings.invalid, checkin.token_wrong_*; InvalidState activity.cancelled,
    checkout.not_checked_in, checkout.already, checkout.closed, checkin.token_expired.
    """
    saplings = clean_saplings(saplings)
    activity = await lock_activity(session, activity_id)
    row = await participation_of(session, activity.id, member.id)
    _check_out_state(activity, member, row, now)
    assert row is not None
    if token is not None:
        check_token(activity.id, token, ScreenPurpose.check_out, now)
    before = outcome_of(activity, row)
    row.checked_out_at = row.updated_at = now
    if saplings is not None and activity.kind is ActivityKind.tree_planting:
        row.saplings_planted = saplings
    await session.flush()
    record_change(
        session, activity, row, AttendanceAction.checked_out, before, member.telegram_id, now
    )
    return row
