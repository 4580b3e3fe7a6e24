"""The secretary's side of the record: checking members in from the roster, corrections,
check-out and saplings on their behalf, and make-up study (补学).

Every operation here checks manage_activities on the activity's unit, locks the
activity's row (so two secretaries correcting one record at once take turns, and
each sees what the other did), and writes one change to the audit trail. A
correction always has a reason; nobody corrects their own record. The refusals speak of
the member (attendance.*), not of "you": a secretary reads them. An operation that asks
something first (a reason, a number, what was studied) has an `…_allowed` check that
refuses before the question what the operation would refuse after it.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from models.activities import (
    SEAT_STATUSES,
    Activity,
    ActivityKind,
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
from models.attendance.audit import clean_reason, record_change
from models.attendance.checkin import CheckInNotOpen, clean_saplings
from models.attendance.record import Outcome, outcome_of
from models.attendance.rows import participation_row, require_expected
from models.attendance.tables import AttendanceAction
from models.errors import InvalidInput, InvalidState, NotFound
from models.members import Member
from models.notifications import MadeUpDecided, MadeUpReported, notify_each
from models.org import get_unit
from models.permissions import Permission, require, reviewers_of


class Correction(enum.StrEnum):
    present = "present"
    absent = "absent"
    excused = "excused"


# The outcome each correction makes.
CORRECTED_TO = {
    Correction.present: Outcome.attended,
    Correction.absent: Outcome.absent,
    Correction.excused: Outcome.excused,
}


async def _for_secretary(
    session: AsyncSession, activity_id: int, secretary: int, now: datetime, *, lock: bool = True
) -> Activity:
    """The activity (locked, unless only checking), if `secretary` manages it, it is not
    cancelled and its check-in has opened (CheckInNotOpen says when)."""
    activity = await (lock_activity if lock else get_activity)(session, activity_id)
    await require(session, secretary, Permission.manage_activities, activity.org_unit_id)
    if activity.status is ActivityStatus.cancelled:
        raise InvalidState("activity.cancelled", f"activity {activity_id}")
    if now < activity.check_in_opens_at:
        raise CheckInNotOpen(activity.check_in_opens_at)
    return activity


async def _member(session: AsyncSession, member_id: int) -> Member:
    member = await session.get(Member, member_id)
    if member is None:
        raise NotFound("member.not_found", f"no member {member_id}")
    return member


async def _ensure_place(
    session: AsyncSession, activity: Activity, member: Member, row: Participation | None
) -> None:
    """Before a member is marked present: expected there, or holding a seat (claimed now
    when free: capacity is never exceeded); InvalidState otherwise."""
    if activity.mode is ActivityMode.expected:
        if row is None:
            await check_audience(session, activity, member)
        return
    if row is not None and row.status in SEAT_STATUSES:
        return
    if row is None:
        await check_audience(session, activity, member)
    if not await claim_seat(session, activity):
        raise InvalidState("activity.full", f"activity {activity.id}")


def _present(activity: Activity, row: Participation, now: datetime) -> None:
    row.status = ParticipationStatus.attending
    row.queue_number = None
    if row.checked_in_at is None:
        # Marked after the start: present from the start, as far as hours go.
        row.checked_in_at = min(now, max(activity.starts_at, activity.check_in_opens_at))
        row.check_in_method = CheckInMethod.secretary


def _not_present(row: Participation, status: ParticipationStatus) -> None:
    row.status = status
    row.checked_in_at = row.check_in_method = row.checked_out_at = None
    row.checked_in_latitude = row.checked_in_longitude = None
    row.saplings_planted = None


async def roster_check_in(
    session: AsyncSession, activity_id: int, member_id: int, secretary: int, now: datetime
) -> Participation:
    """The secretary checks in a member who has no phone with them, from the roster: while
    check-in is open, no reason needed. After that it is a correction (with a reason).

    InvalidState checkin.not_open (CheckInNotOpen), checkin.closed,
    attendance.already_checked_in, activity.cancelled, activity.not_in_audience,
    activity.full; PermissionDenied; NotFound member.not_found.
    """
    activity = await _for_secretary(session, activity_id, secretary, now)
    if now > activity.ends_at or activity.record_closed_at is not None:
        raise InvalidState("checkin.closed", f"activity {activity_id}")
    member = await _member(session, member_id)
    row = await participation_of(session, activity_id, member_id)
    if row is not None and row.checked_in_at is not None:
        raise InvalidState("attendance.already_checked_in", f"member {member_id}")
    await _ensure_place(session, activity, member, row)
    before = outcome_of(activity, row)
    row = await participation_row(session, activity, member_id, now)
    row.status = ParticipationStatus.attending
    row.queue_number = None
    row.checked_in_at = row.updated_at = now
    row.check_in_method = CheckInMethod.secretary
    row.decided_by = secretary
    await session.flush()
    record_change(session, activity, row, AttendanceAction.roster, before, secretary, now)
    return row


async def _check_correction(
    session: AsyncSession,
    activity: Activity,
    member: Member,
    secretary: int,
    correction: Correction,
) -> tuple[Participation | None, Outcome | None]:
    """What a correction refuses besides the reason; the member's row and outcome."""
    if member.telegram_id == secretary:
        raise InvalidState("attendance.own_record", f"member {member.id}")
    if correction is Correction.excused:
        require_expected(activity)
    row = await participation_of(session, activity.id, member.id)
    before = outcome_of(activity, row)
    if before is CORRECTED_TO[correction]:
        raise InvalidState("attendance.unchanged", f"already {before}")
    if correction is Correction.absent and before is None:
        # At a sign-up activity only a seat holder can be absent (and absent holds the seat).
        raise InvalidState("attendance.not_signed_up", f"member {member.id}")
    return row, before


def _correction(correction: Correction | str) -> Correction:
    try:
        return Correction(correction)
    except ValueError:
        raise InvalidInput("correction", "correction.invalid") from None


async def correction_allowed(
    session: AsyncSession,
    activity_id: int,
    member_id: int,
    secretary: int,
    correction: Correction | str,
    now: datetime,
) -> Activity:
    """The activity, if `secretary` may make this correction now (before the reason is
    asked for); the refusals of correct_attendance otherwise."""
    correction = _correction(correction)
    activity = await _for_secretary(session, activity_id, secretary, now, lock=False)
    await _check_correction(
        session, activity, await _member(session, member_id), secretary, correction
    )
    return activity


async def correct_attendance(
    session: AsyncSession,
    activity_id: int,
    member_id: int,
    secretary: int,
    correction: Correction | str,
    reason: str,
    now: datetime,
) -> Participation:
    """Mark a member present, absent or excused, with a reason (1-200 characters), from the
    opening of check-in on, the record closed or not.

    InvalidInput reason.empty / reason.too_long, correction.invalid; InvalidState
    attendance.own_record (a secretary's own record is someone else's to correct),
    attendance.unchanged, attendance.not_signed_up (absent from a sign-up activity
    without a seat), activity.not_expected (excused: sign-up activities have no
    leave), checkin.not_open, activity.cancelled, activity.not_in_audience,
    activity.full; PermissionDenied; NotFound member.not_found.
    """
    correction = _correction(correction)
    cleaned = clean_reason(reason, required=True)
    activity = await _for_secretary(session, activity_id, secretary, now)
    member = await _member(session, member_id)
    row, before = await _check_correction(session, activity, member, secretary, correction)
    if correction is Correction.present:
        await _ensure_place(session, activity, member, row)
    elif row is None:
        await check_audience(session, activity, member)
    row = await participation_row(session, activity, member_id, now)
    if correction is Correction.present:
        _present(activity, row, now)
    elif correction is Correction.absent:
        _not_present(row, ParticipationStatus.absent)
    else:
        _not_present(row, ParticipationStatus.excused)
    row.decided_by, row.decided_at, row.updated_at = secretary, now, now
    await session.flush()
    action = AttendanceAction(correction.value)
    record_change(session, activity, row, action, before, secretary, now, cleaned)
    return row


async def roster_check_out(
    session: AsyncSession,
    activity_id: int,
    member_id: int,
    secretary: int,
    now: datetime,
    saplings: int | None = None,
) -> Participation:
    """The secretary checks a member out (at the end, at the latest: hours never run past it),
    with the saplings they planted. InvalidState attendance.not_checked_in,
    attendance.already_checked_out."""
    saplings = clean_saplings(saplings)
    activity = await _for_secretary(session, activity_id, secretary, now)
    row = await _checked_in_row(session, activity_id, member_id)
    if row.checked_out_at is not None:
        raise InvalidState("attendance.already_checked_out", f"member {member_id}")
    before = outcome_of(activity, row)
    row.checked_out_at = min(now, activity.ends_at)
    if saplings is not None and activity.kind is ActivityKind.tree_planting:
        row.saplings_planted = saplings
    row.updated_at = now
    await session.flush()
    record_change(session, activity, row, AttendanceAction.checked_out, before, secretary, now)
    return row


async def _checked_in_row(session: AsyncSession, activity_id: int, member_id: int) -> Participation:
    row = await participation_of(session, activity_id, member_id)
    if row is None or row.checked_in_at is None:
        raise InvalidState("attendance.not_checked_in", f"member {member_id}")
    return row


async def _check_planting(
    session: AsyncSession, activity: Activity, member_id: int
) -> Participation:
    if activity.kind is not ActivityKind.tree_planting:
        raise InvalidState("activity.not_tree_planting", f"activity {activity.id}")
    return await _checked_in_row(session, activity.id, member_id)


async def planting_allowed(
    session: AsyncSession, activity_id: int, member_id: int, secretary: int, now: datetime
) -> Activity:
    """The activity, if the secretary may record the member's saplings now (before the
    number is asked for); the refusals of record_planted otherwise."""
    activity = await _for_secretary(session, activity_id, secretary, now, lock=False)
    await _check_planting(session, activity, member_id)
    return activity


async def record_planted(
    session: AsyncSession,
    activity_id: int,
    member_id: int,
    secretary: int,
    saplings: int,
    now: datetime,
) -> Participation:
    """The saplings a member planted at a tree planting, as the secretary counted them.
    InvalidState activity.not_tree_planting, attendance.not_checked_in (not there)."""
    count = clean_saplings(saplings)
    activity = await _for_secretary(session, activity_id, secretary, now)
    row = await _check_planting(session, activity, member_id)
    before = outcome_of(activity, row)
    row.saplings_planted = count
    row.updated_at = now
    await session.flush()
    reason = str(count)  # the trail shows the number
    record_change(session, activity, row, AttendanceAction.planted, before, secretary, now, reason)
    return row


# --- make-up study (补学) ---------------------------------------------------------------------


def _check_over(activity: Activity, now: datetime) -> None:
    """Make-up study is for organisational life that is over."""
    require_expected(activity)
    if now < activity.ends_at:
        raise InvalidState("activity.not_over", f"activity {activity.id}")


async def _check_report(
    session: AsyncSession, activity: Activity, member: Member, now: datetime
) -> Participation | None:
    """What report_made_up refuses besides the note; the member's row."""
    _check_over(activity, now)
    row = await participation_of(session, activity.id, member.id)
    if row is None:
        await check_audience(session, activity, member)
    outcome = outcome_of(activity, row)
    if outcome is Outcome.made_up:
        raise InvalidState("made_up.already_decided", f"member {member.id}")
    if outcome is not Outcome.absent:
        raise InvalidState("made_up.not_missed", f"member {member.id}")
    if row is not None and row.made_up_reported_at is not None:
        raise InvalidState("made_up.already_reported")
    return row


async def report_made_up_allowed(
    session: AsyncSession, activity_id: int, member: Member, now: datetime
) -> Activity:
    """The activity, if the member may report make-up study for it now (before asking what
    they studied); the refusals of report_made_up otherwise."""
    activity = await get_activity(session, activity_id)
    await _check_report(session, activity, member, now)
    return activity


async def report_made_up(
    session: AsyncSession, activity_id: int, member: Member, note: str, now: datetime
) -> Participation:
    """The member says they made up for a meeting they missed (what they studied, 1-200
    characters); the unit's secretaries are asked to confirm.

    InvalidState activity.not_expected, activity.not_over, made_up.not_missed (they
    were there or excused), made_up.already_reported, made_up.already_decided (made up).
    """
    cleaned = clean_reason(note, required=True)
    activity = await lock_activity(session, activity_id)
    await _check_report(session, activity, member, now)
    row = await participation_row(session, activity, member.id, now)
    before = outcome_of(activity, row)
    if row.status is not ParticipationStatus.absent:  # no answer, or leave declined
        row.status = ParticipationStatus.absent
    row.made_up_reported_at = row.updated_at = now
    row.made_up_note = cleaned
    await session.flush()
    record_change(
        session,
        activity,
        row,
        AttendanceAction.made_up_reported,
        before,
        member.telegram_id,
        now,
        cleaned,
    )
    unit = await get_unit(session, activity.org_unit_id)
    message = MadeUpReported(row, activity, member)
    notify_each(session, await reviewers_of(session, unit.id), message, unit)
    return row


async def decide_made_up(
    session: AsyncSession, participation_id: int, secretary: int, approve: bool, now: datetime
) -> Participation:
    """Confirm (made up) or decline a member's report of make-up study; the member is told.

    InvalidState made_up.already_decided (decided by another secretary, or withdrawn),
    attendance.own_record; PermissionDenied.
    """
    row = await session.get(Participation, participation_id)
    if row is None:
        raise NotFound("participation.not_found", f"no participation {participation_id}")
    activity = await _for_secretary(session, row.activity_id, secretary, now)
    await session.refresh(row)
    member = await _member(session, row.member_id)
    if member.telegram_id == secretary:
        raise InvalidState("attendance.own_record", f"member {member.id}")
    if row.made_up_reported_at is None or row.status is not ParticipationStatus.absent:
        raise InvalidState("made_up.already_decided", f"participation {participation_id}")
    before = outcome_of(activity, row)
    if approve:
        row.status = ParticipationStatus.made_up
    row.made_up_reported_at = None
    row.decided_by, row.decided_at, row.updated_at = secretary, now, now
    await session.flush()
    action = AttendanceAction.made_up if approve else AttendanceAction.made_up_declined
    record_change(session, activity, row, action, before, secretary, now, row.made_up_note)
    unit = await get_unit(session, activity.org_unit_id)
    notify_each(session, [member.telegram_id], MadeUpDecided(activity, approve), unit)
    return row


async def _check_mark(
    session: AsyncSession, activity: Activity, member: Member, secretary: int, now: datetime
) -> Participation | None:
    """What mark_made_up refuses besides what was studied; the member's row."""
    _check_over(activity, now)
    if member.telegram_id == secretary:
        raise InvalidState("attendance.own_record", f"member {member.id}")
    row = await participation_of(session, activity.id, member.id)
    if row is None:
        await check_audience(session, activity, member)
    if outcome_of(activity, row) is not Outcome.absent:
        raise InvalidState("attendance.not_missed", f"member {member.id}")
    return row


async def made_up_allowed(
    session: AsyncSession, activity_id: int, member_id: int, secretary: int, now: datetime
) -> Activity:
    """The activity, if the secretary may record the member's make-up study now (before
    asking what was studied); the refusals of mark_made_up otherwise."""
    activity = await _for_secretary(session, activity_id, secretary, now, lock=False)
    await _check_mark(session, activity, await _member(session, member_id), secretary, now)
    return activity


async def mark_made_up(
    session: AsyncSession,
    activity_id: int,
    member_id: int,
    secretary: int,
    reason: str,
    now: datetime,
) -> Participation:
    """补学 recorded by the secretary directly (the member told them in person), with what
    was studied. InvalidState activity.not_expected, activity.not_over,
    attendance.not_missed, attendance.own_record."""
    cleaned = clean_reason(reason, required=True)
    activity = await _for_secretary(session, activity_id, secretary, now)
    member = await _member(session, member_id)
    row = await _check_mark(session, activity, member, secretary, now)
    before = outcome_of(activity, row)
    row = await participation_row(session, activity, member_id, now)
    row.status = ParticipationStatus.made_up
    row.made_up_reported_at = None
    row.made_up_note = cleaned
    row.decided_by, row.decided_at, row.updated_at = secretary, now, now
    await session.flush()
    record_change(session, activity, row, AttendanceAction.made_up, before, secretary, now, cleaned)
    return row
