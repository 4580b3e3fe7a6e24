"""Check-in by the member (QR token, location, spoken code), walk-ins, check-out and hours."""

from __future__ import annotations

import math
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models.activities import (
    Activity,
    CheckInMethod,
    ParticipationStatus,
    create_activity,
    sign_up,
)
from models.attendance import (
    CONFIRM_GRACE,
    AttendanceChange,
    CheckInNotOpen,
    CheckInTooFar,
    CodeAttempts,
    CodeSlowDown,
    Outcome,
    ScreenPurpose,
    WrongCode,
    check_fresh,
    check_in,
    check_out,
    distance_m,
    enter_code,
    make_token,
    member_record,
    read_token,
)
from models.attendance.checkin import CODE_WAIT_MAX
from models.errors import InvalidInput, InvalidState
from models.members import Member
from models.org import OrgUnit
from tests.domain.conftest import NOW
from tests.domain.test_activities_support import (
    CHECK_IN_SECRET,
    MEETING,
    SECRETARY,
    START,
    WANDA_LAT,
    WANDA_LON,
    active_member,
    draft,
    grant_staff,
    qr,
)

MINUTE = timedelta(minutes=1)
METRES_PER_DEGREE = math.pi * 6_371_000 / 180  # of latitude, on the haversine's sphere


@pytest.fixture(autouse=True)
async def staff(session: AsyncSession, units: dict[str, OrgUnit]) -> None:
    await grant_staff(session, units)


@pytest.fixture
async def members(session: AsyncSession, units: dict[str, OrgUnit]) -> list[Member]:
    return [await active_member(session, units["wanda-plaza"], 300 + i) for i in range(3)]


@pytest.fixture
async def outsider(session: AsyncSession, units: dict[str, OrgUnit]) -> Member:
    return await active_member(session, units["huaduhui"], 399)


async def activity(session: AsyncSession, units: dict[str, OrgUnit], **changes: object) -> Activity:
    base = changes.pop("base", MEETING)
    return await create_activity(
        session, SECRETARY, units["wanda-plaza"].id, draft(base, **changes), NOW
    )


async def code_of(operation) -> str:  # type: ignore[no-untyped-def]
    with pytest.raises((InvalidInput, InvalidState)) as caught:
        await operation
    return caught.value.code


async def trail(
    session: AsyncSession, activity_id: int
) -> list[tuple[str, str | None, str | None]]:
    rows = await session.scalars(
        select(AttendanceChange)
        .where(AttendanceChange.activity_id == activity_id)
        .order_by(AttendanceChange.id)
    )
    return [(row.action.value, row.before, row.after) for row in rows]


# --- tokens -------------------------------------------------------------------------------------


def test_a_token_reads_back_and_refuses_any_change() -> None:
    token = make_token(CHECK_IN_SECRET, 42, ScreenPurpose.check_in, START)
    assert token.payload.startswith("qi_42_") and len(token.payload) <= 64
    assert read_token(CHECK_IN_SECRET, token.payload) == token
    forged = [
        token.payload.replace("qi_42_", "qi_43_"),  # another activity
        token.payload.replace("qi_", "qo_"),  # check-out
        token.payload[:-1] + ("A" if token.payload[-1] != "A" else "B"),  # the signature
        token.payload.replace(str(int(START.timestamp())), str(int(START.timestamp()) + 600)),
        "qi_42",
        "qi_x_1_" + "a" * 16,
        token.payload + "x",
    ]
    for payload in forged:
        with pytest.raises(InvalidInput) as caught:
            read_token(CHECK_IN_SECRET, payload)
        assert caught.value.reason == "checkin.token_invalid", payload
    with pytest.raises(InvalidInput):
        read_token("another-secret-of-some-length", token.payload)
    check_fresh(token, START)
    check_fresh(token, START + CONFIRM_GRACE, CONFIRM_GRACE)
    with pytest.raises(InvalidState) as caught:
        check_fresh(token, START + timedelta(seconds=1))
    assert caught.value.code == "checkin.token_expired"


# --- the QR code ----------------------------------------------------------------------------------


async def test_qr_check_in_needs_this_activitys_fresh_token(
    session: AsyncSession, units: dict[str, OrgUnit], members: list[Member]
) -> None:
    meeting = await activity(session, units)
    other = await activity(session, units, title="另一个会")
    me = members[0]

    def by_qr(token, when=START):  # type: ignore[no-untyped-def]
        return check_in(session, meeting.id, me, CheckInMethod.qr, when, token=token)

    assert await code_of(by_qr(None)) == "checkin.token_missing"
    assert await code_of(by_qr(qr(other.id, START))) == "checkin.token_wrong_activity"
    check_out_token = make_token(CHECK_IN_SECRET, meeting.id, ScreenPurpose.check_out, START)
    assert await code_of(by_qr(check_out_token)) == "checkin.token_wrong_purpose"
    shown = qr(meeting.id, START, seconds=60)
    too_late = START + timedelta(seconds=60) + CONFIRM_GRACE + timedelta(seconds=1)
    assert await code_of(by_qr(shown, too_late)) == "checkin.token_expired"
    early = START - timedelta(minutes=31)
    with pytest.raises(CheckInNotOpen) as not_open:
        await by_qr(qr(meeting.id, early), early)
    assert not_open.value.opens_at == START - timedelta(minutes=30)
    after = meeting.ends_at + timedelta(seconds=1)
    assert await code_of(by_qr(qr(meeting.id, after), after)) == "checkin.closed"
    assert await trail(session, meeting.id) == []  # nothing was written by the refusals

    # Pressed within the grace after the code on screen expired: accepted.
    row = await by_qr(shown, START + timedelta(seconds=60) + CONFIRM_GRACE)
    assert (row.status, row.check_in_method) == (ParticipationStatus.attending, CheckInMethod.qr)
    assert await code_of(by_qr(qr(meeting.id, START))) == "checkin.already"  # replayed
    assert await trail(session, meeting.id) == [("checked_in", "absent", "attended")]


async def test_a_method_the_creator_left_out_is_refused(
    session: AsyncSession, units: dict[str, OrgUnit], members: list[Member]
) -> None:
    meeting = await activity(
        session, units, check_in_by_qr=False, check_in_by_code=False, check_in_by_location=False
    )
    me = members[0]
    token = qr(meeting.id, START)
    assert await code_of(check_in(session, meeting.id, me, "qr", START, token=token)) == (
        "checkin.method_off"
    )
    by_location = check_in(
        session, meeting.id, me, "location", START, latitude=WANDA_LAT, longitude=WANDA_LON
    )
    assert await code_of(by_location) == "checkin.method_off"
    assert await code_of(enter_code(session, meeting.id, me, meeting.check_in_code, START)) == (
        "checkin.method_off"
    )
    assert await code_of(check_in(session, meeting.id, me, "secretary", START)) == (
        "checkin.method_invalid"
    )


# --- location -----------------------------------------------------------------------------------


def north_of_wanda(metres: float) -> tuple[float, float]:
    return WANDA_LAT + metres / METRES_PER_DEGREE, WANDA_LON


async def test_the_geofence_at_its_edge(
    session: AsyncSession, units: dict[str, OrgUnit], members: list[Member]
) -> None:
    meeting = await activity(session, units, check_in_radius_m=100)

    def at(member: Member, latitude: float, longitude: float):  # type: ignore[no-untyped-def]
        return check_in(
            session,
            meeting.id,
            member,
            "location",
            START,
            latitude=latitude,
            longitude=longitude,
        )

    outside = north_of_wanda(101)
    assert 100.5 < distance_m(*outside, WANDA_LAT, WANDA_LON) < 101.5
    with pytest.raises(CheckInTooFar) as far:
        await at(members[0], *outside)
    assert (far.value.distance_m, far.value.radius_m) == (101, 100)
    for impossible in ((91.0, WANDA_LON), (WANDA_LAT, -180.5), (math.inf, 0.0)):
        assert await code_of(at(members[0], *impossible)) == "location.invalid"
    assert await code_of(check_in(session, meeting.id, members[0], "location", START)) == (
        "checkin.location_missing"
    )
    inside = north_of_wanda(99)
    row = await at(members[0], *inside)
    assert row.check_in_method is CheckInMethod.location
    assert (row.checked_in_latitude, row.checked_in_longitude) == inside


# --- the spoken code -----------------------------------------------------------------------------


async def test_the_code_and_wrong_codes_in_a_row(
    session: AsyncSession, units: dict[str, OrgUnit], members: list[Member]
) -> None:
    meeting = await activity(session, units)
    code = meeting.check_in_code
    assert len(code) == 4 and code.isdigit()
    wrong = f"{(int(code) + 1) % 10_000:04d}"
    me = members[0]
    when = START
    for failures in (1, 2, 3):  # the first three are free
        result = await enter_code(session, meeting.id, me, wrong, when)
        assert isinstance(result, WrongCode) and result.failures == failures
    assert result.retry_at == when + timedelta(seconds=30)
    # While waiting even the right code is refused, and nothing is counted.
    with pytest.raises(CodeSlowDown) as slow:
        await enter_code(session, meeting.id, me, code, when + timedelta(seconds=10))
    assert slow.value.retry_at == when + timedelta(seconds=30)
    assert (await session.get(CodeAttempts, me.id)).failures == 3  # type: ignore[union-attr]
    # Ten wrong in a row: slower and slower, but never locked out for good.
    waits = []
    for _ in range(7):
        when = result.retry_at or when
        result = await enter_code(session, meeting.id, me, wrong, when)
        assert isinstance(result, WrongCode) and result.retry_at is not None
        waits.append(result.retry_at - when)
    assert result.failures == 10
    assert waits == sorted(waits) and waits[-1] == CODE_WAIT_MAX
    assert await code_of(enter_code(session, meeting.id, me, "12ab", result.retry_at)) == (
        "checkin.code_malformed"
    )
    row = await enter_code(session, meeting.id, me, f" {code} ", result.retry_at)
    assert not isinstance(row, WrongCode) and row.check_in_method is CheckInMethod.code
    assert await session.get(CodeAttempts, me.id) is None  # a right code clears the count
    # Full-width digits, as Chinese keyboards type them, are digits too.
    full_width = code.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    other = await enter_code(session, meeting.id, members[1], full_width, START)
    assert not isinstance(other, WrongCode)


async def test_wrong_codes_are_forgiven_after_a_quiet_hour(
    session: AsyncSession, units: dict[str, OrgUnit], members: list[Member]
) -> None:
    meeting = await activity(session, units, ends_at=START + timedelta(hours=3))
    wrong = f"{(int(meeting.check_in_code) + 1) % 10_000:04d}"
    for _ in range(3):
        result = await enter_code(session, meeting.id, members[0], wrong, START)
    assert isinstance(result, WrongCode) and result.retry_at is not None
    later = START + timedelta(hours=1)
    again = await enter_code(session, meeting.id, members[0], wrong, later)
    assert isinstance(again, WrongCode) and again.failures == 1 and again.retry_at is None


# --- who may check in ---------------------------------------------------------------------------


async def test_walk_ins_only_where_allowed(
    session: AsyncSession, units: dict[str, OrgUnit], members: list[Member], outsider: Member
) -> None:
    closed = await activity(session, units)
    token = qr(closed.id, START)
    assert await code_of(check_in(session, closed.id, outsider, "qr", START, token=token)) == (
        "activity.not_in_audience"
    )
    open_to_all = await activity(session, units, walk_ins_allowed=True)
    row = await check_in(
        session, open_to_all.id, outsider, "qr", START, token=qr(open_to_all.id, START)
    )
    assert row.walk_in and row.status is ParticipationStatus.attending
    assert await trail(session, open_to_all.id) == [("walked_in", "absent", "attended")]

    # Sign-up activities: a seat is needed, and a walk-in takes a free one.
    event = await activity(session, units, base=draft(), capacity=1, walk_ins_allowed=True)
    strict = await activity(session, units, base=draft(), capacity=5)
    await sign_up(session, strict.id, members[0], NOW)
    assert await code_of(
        check_in(session, strict.id, members[1], "qr", START, token=qr(strict.id, START))
    ) == ("checkin.not_signed_up")
    first = await check_in(session, event.id, members[1], "qr", START, token=qr(event.id, START))
    assert first.walk_in and event.seats_taken == 1
    assert await code_of(
        check_in(session, event.id, members[2], "qr", START, token=qr(event.id, START))
    ) == ("activity.full")


# --- check-out and hours -----------------------------------------------------------------------


async def test_check_out_and_volunteer_hours(
    session: AsyncSession, units: dict[str, OrgUnit], members: list[Member]
) -> None:
    span = draft(capacity=None, check_out_required=True)  # 3 hours from START
    service = await activity(session, units, base=span)
    trees = await activity(
        session, units, base=span, kind="tree_planting", title="义务植树", pledge_kind="saplings"
    )
    no_check_out = await activity(session, units, base=draft(capacity=None), title="不签退")
    for event in (service, trees, no_check_out):
        for member in members[:2]:
            await sign_up(session, event.id, member, NOW)
    me, other = members[0], members[1]
    assert await code_of(check_out(session, service.id, me, START)) == "checkout.not_checked_in"
    early = START - timedelta(minutes=20)
    for event in (service, trees, no_check_out):
        await check_in(session, event.id, me, "qr", early, token=qr(event.id, early))
    await check_in(session, service.id, other, "qr", START, token=qr(service.id, START))

    leaving = START + timedelta(minutes=90)
    out_token = make_token(CHECK_IN_SECRET, service.id, ScreenPurpose.check_out, leaving + MINUTE)
    wrong_purpose = qr(service.id, START)
    assert await code_of(check_out(session, service.id, me, START, token=wrong_purpose)) == (
        "checkin.token_wrong_purpose"
    )
    await check_out(session, service.id, me, leaving, token=out_token)
    assert await code_of(check_out(session, service.id, me, START + 2 * MINUTE)) == (
        "checkout.already"
    )
    assert await code_of(check_out(session, trees.id, me, START, saplings=-1)) == (
        "saplings.invalid"
    )
    planted = await check_out(session, trees.id, me, START + timedelta(hours=3.5), saplings=12)
    assert planted.saplings_planted == 12  # checked out after the end: hours stop at the end
    late = service.ends_at + timedelta(hours=1, seconds=1)
    assert await code_of(check_out(session, service.id, other, late)) == "checkout.closed"

    record = await member_record(session, me, START + timedelta(hours=6))
    hours = {entry.activity.id: entry.hours for entry in record.entries}
    # From the start (not the early check-in) to check-out; to the end; the whole span.
    assert hours == {service.id: 1.5, trees.id: 3.0, no_check_out.id: 3.0}
    assert record.totals.volunteer_hours == 7.5 and record.totals.saplings_planted == 12
    # Check-out was required and never came: no hours.
    others = await member_record(session, other, START + timedelta(hours=6))
    assert {e.activity.id: (e.outcome, e.hours) for e in others.entries}[service.id] == (
        Outcome.attended,
        0.0,
    )
    assert others.totals.volunteer_hours == 0.0
    assert await trail(session, service.id) == [
        ("checked_in", "unconfirmed", "attended"),
        ("checked_in", "unconfirmed", "attended"),
        ("checked_out", "attended", "attended"),
    ]


async def test_the_attendance_rate_counts_organisational_life(
    session: AsyncSession, units: dict[str, OrgUnit], members: list[Member]
) -> None:
    first = await activity(session, units, title="第一次")
    await activity(session, units, title="第二次")  # missed
    me = members[0]
    await check_in(session, first.id, me, "qr", START, token=qr(first.id, START))
    record = await member_record(session, me, START + timedelta(hours=3))
    assert [e.outcome for e in record.entries] == [Outcome.absent, Outcome.attended]
    assert record.totals.attendance_rate == 0.5
    # Totals since a moment after both: none counted, the history is still there.
    later = await member_record(session, me, START + timedelta(hours=3), since=START + MINUTE)
    assert later.totals.attendance_rate is None and len(later.entries) == 2
