"""Organisational life (answers, leave), check-in, records, reminders and nudges."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from models.activities import (
    Activity,
    ParticipationStatus,
    cancel_activity,
    create_activity,
    expected_members,
    not_answered,
    participations_of,
    sign_up,
)
from models.attendance import (
    ANNOUNCE_AHEAD,
    Nudges,
    Outcome,
    check_in,
    decide_leave,
    distance_m,
    due_reminders,
    mark_nudged,
    member_record,
    request_leave,
    respond_attend,
    roster_check_in,
    unanswered_after_nudge,
    unanswered_for_nudge,
)
from models.errors import InvalidInput, InvalidState, PermissionDenied
from models.members import Member, Membership
from models.org import OrgUnit
from models.privacy import forget_member
from tests.domain.conftest import NOW
from tests.domain.test_activities_support import (
    END,
    MEETING,
    OTHER_SECRETARY,
    SECRETARY,
    START,
    WANDA_LAT,
    WANDA_LON,
    active_member,
    draft,
    grant_staff,
    qr,
)

HOUR = timedelta(hours=1)


@pytest.fixture
async def staff(session: AsyncSession, units: dict[str, OrgUnit]) -> None:
    await grant_staff(session, units)


pytestmark = pytest.mark.usefixtures("staff")


@pytest.fixture
async def members(session: AsyncSession, units: dict[str, OrgUnit]) -> list[Member]:
    return [
        await active_member(session, units["wanda-plaza"], 100 + i, f"成员{i}") for i in range(3)
    ]


async def _meeting(session: AsyncSession, units: dict[str, OrgUnit]) -> int:
    return (await create_activity(session, SECRETARY, units["wanda-plaza"].id, MEETING, NOW)).id


# --- organisational life --------------------------------------------------------------


async def test_answers_and_leave(
    session: AsyncSession, units: dict[str, OrgUnit], members: list[Member]
) -> None:
    meeting = await _meeting(session, units)
    activity_obj = await session.get(Activity, meeting)
    assert [m.id for m in await expected_members(session, activity_obj)] == [m.id for m in members]
    attend = await respond_attend(session, meeting, members[0], NOW)
    assert attend.status is ParticipationStatus.attending and attend.responded_at == NOW
    leave = await request_leave(session, meeting, members[1], "  外地出差  ", NOW)
    assert (leave.status, leave.leave_reason) == (ParticipationStatus.leave_requested, "外地出差")
    assert [m.id for m in await not_answered(session, meeting)] == [members[2].id]

    with pytest.raises(InvalidState) as caught:
        await request_leave(session, meeting, members[1], "again", NOW)
    assert caught.value.code == "leave.already_requested"
    with pytest.raises(PermissionDenied):
        await decide_leave(session, leave.id, OTHER_SECRETARY, True, NOW)
    decided = await decide_leave(session, leave.id, SECRETARY, True, NOW + HOUR)
    assert (decided.status, decided.decided_by) == (ParticipationStatus.excused, SECRETARY)
    with pytest.raises(InvalidState) as caught:
        await decide_leave(session, leave.id, SECRETARY, False, NOW + HOUR)
    assert caught.value.code == "leave.already_decided"
    with pytest.raises(InvalidState) as caught:
        await request_leave(session, meeting, members[1], "again", NOW)
    assert caught.value.code == "leave.already_excused"

    declined = await request_leave(session, meeting, members[2], "生病", NOW)
    declined = await decide_leave(session, declined.id, SECRETARY, False, NOW)
    assert declined.status is ParticipationStatus.leave_declined


async def test_leave_refusals(
    session: AsyncSession, units: dict[str, OrgUnit], members: list[Member]
) -> None:
    meeting = await _meeting(session, units)
    for reason, code in (("   ", "reason.empty"), ("因" * 201, "reason.too_long")):
        with pytest.raises(InvalidInput) as caught:
            await request_leave(session, meeting, members[0], reason, NOW)
        assert caught.value.code == code
    cases = [
        (members[0], START, "activity.started"),
        (await active_member(session, units["huaduhui"], 500), NOW, "activity.not_in_audience"),
    ]
    for member, when, code in cases:
        with pytest.raises(InvalidState) as caught:
            await request_leave(session, meeting, member, "事假", when)
        assert caught.value.code == code
    volunteer = await create_activity(session, SECRETARY, units["wanda-plaza"].id, draft(), NOW)
    with pytest.raises(InvalidState) as caught:
        await respond_attend(session, volunteer.id, members[0], NOW)
    assert caught.value.code == "activity.not_expected"
    assert await not_answered(session, meeting) == members


# --- check-in ---------------------------------------------------------------------------


def test_distance() -> None:
    assert distance_m(WANDA_LAT, WANDA_LON, WANDA_LAT, WANDA_LON) == 0
    # One thousandth of a degree of latitude is about 111 m.
    assert 110 < distance_m(21.0, 110.0, 21.001, 110.0) < 112


# --- records ------------------------------------------------------------------------------


async def test_member_record_counts(
    session: AsyncSession, units: dict[str, OrgUnit], members: list[Member]
) -> None:
    wanda = units["wanda-plaza"].id
    me = members[0]
    attended = await _meeting(session, units)
    excused = (await create_activity(session, SECRETARY, wanda, MEETING, NOW)).id
    missed = (await create_activity(session, SECRETARY, wanda, MEETING, NOW)).id
    service = await create_activity(session, SECRETARY, wanda, draft(), NOW)  # 3 hours
    trees = await create_activity(session, SECRETARY, wanda, draft(kind="tree_planting"), NOW)
    unconfirmed = await create_activity(session, SECRETARY, wanda, draft(kind="other"), NOW)
    future = await create_activity(
        session, SECRETARY, wanda, draft(MEETING, starts_at=END + HOUR, ends_at=END + 2 * HOUR), NOW
    )
    cancelled = (await create_activity(session, SECRETARY, wanda, MEETING, NOW)).id
    await cancel_activity(session, cancelled, SECRETARY, NOW)

    leave = await request_leave(session, excused, me, "出差", NOW)
    await decide_leave(session, leave.id, SECRETARY, True, NOW)
    for event in (service, trees, unconfirmed):
        await sign_up(session, event.id, me, NOW)
    await check_in(session, attended, me, "qr", START, token=qr(attended, START))
    await check_in(session, service.id, me, "qr", START, token=qr(service.id, START))
    await roster_check_in(session, trees.id, me.id, SECRETARY, START)

    record = await member_record(session, me, END)
    outcomes = {entry.activity.id: entry.outcome for entry in record.entries}
    assert outcomes == {
        attended: Outcome.attended,
        excused: Outcome.excused,
        missed: Outcome.absent,
        service.id: Outcome.attended,
        trees.id: Outcome.attended,
        unconfirmed.id: Outcome.unconfirmed,
    }
    assert future.id not in outcomes and cancelled not in outcomes
    totals = record.totals
    assert (totals.attended, totals.excused, totals.absent, totals.made_up) == (3, 1, 1, 0)
    assert totals.volunteer_hours == 6.0
    # A member who joined after the meetings is not absent from them.
    newcomer = await active_member(session, units["wanda-plaza"], 700)
    newcomer_membership_time = START + timedelta(minutes=5)
    await session.execute(
        update(Membership)
        .where(Membership.member_id == newcomer.id)
        .values(decided_at=newcomer_membership_time)
    )
    assert (await member_record(session, newcomer, END)).entries == []


async def test_forgotten_members_keep_their_rows(
    session: AsyncSession, units: dict[str, OrgUnit], members: list[Member]
) -> None:
    meeting = await _meeting(session, units)
    await respond_attend(session, meeting, members[0], NOW)
    await forget_member(session, members[0], NOW)
    rows = await participations_of(session, meeting)
    assert [r.member_id for r in rows] == [members[0].id]
    assert members[0].id not in {m.id for m in await not_answered(session, meeting)}


# --- reminders and nudges ------------------------------------------------------------------


async def test_due_reminders(
    session: AsyncSession, units: dict[str, OrgUnit], members: list[Member]
) -> None:
    meeting = await _meeting(session, units)
    event = await create_activity(
        session, SECRETARY, units["wanda-plaza"].id, draft(capacity=1), NOW
    )
    await sign_up(session, event.id, members[0], NOW)
    await sign_up(session, event.id, members[1], NOW)  # waitlisted: not reminded
    leave = await request_leave(session, meeting, members[2], "出差", NOW)

    def keys(reminders) -> set[tuple[int, int, timedelta]]:
        return {(r.activity.id, r.telegram_id, r.offset) for r in reminders}

    assert await due_reminders(session, START - 25 * HOUR) == []
    day_before = keys(await due_reminders(session, START - 24 * HOUR))
    assert day_before == {
        (meeting, 100, 24 * HOUR),
        (meeting, 101, 24 * HOUR),
        (event.id, 100, 24 * HOUR),
    }
    # Within the last hour only the 1-hour reminder is due, never "tomorrow".
    assert {k[2] for k in keys(await due_reminders(session, START - timedelta(minutes=30)))} == {
        HOUR
    }
    assert await due_reminders(session, START) == []  # started: too late
    assert await due_reminders(session, END + HOUR) == []
    # Declined leave: the member is expected again and reminded.
    await decide_leave(session, leave.id, SECRETARY, False, NOW)
    assert (meeting, 102, HOUR) in keys(await due_reminders(session, START - HOUR))
    # An offset whose time had passed when the activity was created is skipped.
    late = await create_activity(
        session,
        SECRETARY,
        units["wanda-plaza"].id,
        draft(MEETING, starts_at=NOW + 3 * HOUR, ends_at=NOW + 4 * HOUR),
        NOW,
    )
    assert {r.activity.id for r in await due_reminders(session, NOW + HOUR)} == set()
    assert {
        r.offset for r in await due_reminders(session, NOW + 2 * HOUR) if r.activity.id == late.id
    } == {HOUR}


async def to_nudge(session: AsyncSession, due: list[Nudges]) -> list[tuple[int, int]]:
    """(activity, member) of each nudge due."""
    return [
        (n.activity.id, member_id)
        for n in due
        if n.members is not None
        for member_id in sorted(await session.scalars(n.members))
    ]


async def test_nudges_once_then_the_secretary(
    session: AsyncSession, units: dict[str, OrgUnit], members: list[Member]
) -> None:
    meeting = await _meeting(session, units)
    await respond_attend(session, meeting, members[0], NOW)
    assert await unanswered_for_nudge(session, NOW + 23 * HOUR) == []
    due = await unanswered_for_nudge(session, NOW + 24 * HOUR)
    assert await to_nudge(session, due) == [(meeting, members[1].id), (meeting, members[2].id)]
    nudged = await mark_nudged(session, meeting, [members[1].id], NOW + 24 * HOUR)
    assert list(await session.scalars(nudged)) == [members[1].id]
    again = await unanswered_for_nudge(session, NOW + 25 * HOUR)
    assert await to_nudge(session, again) == [(meeting, members[2].id)]
    # Still nudged-but-silent a day later: the secretary hears of it.
    assert await unanswered_after_nudge(session, NOW + 47 * HOUR) == []
    late = await unanswered_after_nudge(session, NOW + 48 * HOUR)
    assert [m.id for _, m in late] == [members[1].id]
    # Answering takes them off both lists; started activities are left alone.
    await respond_attend(session, meeting, members[1], NOW + 48 * HOUR)
    assert await unanswered_after_nudge(session, NOW + 49 * HOUR) == []
    assert await unanswered_for_nudge(session, START) == []


async def test_no_nudge_for_an_invitation_not_announced_yet(
    session: AsyncSession, units: dict[str, OrgUnit], members: list[Member]
) -> None:
    """A meeting two months ahead is announced 14 days before it: no nudge until a day after."""
    starts = NOW + timedelta(days=60)
    far = (
        await create_activity(
            session,
            SECRETARY,
            units["wanda-plaza"].id,
            draft(MEETING, starts_at=starts, ends_at=starts + HOUR),
            NOW,
        )
    ).id
    announced = starts - ANNOUNCE_AHEAD
    assert far not in {
        n.activity.id for n in await unanswered_for_nudge(session, NOW + 2 * 24 * HOUR)
    }
    before = await unanswered_for_nudge(session, announced + 23 * HOUR)
    assert far not in {n.activity.id for n in before}
    after = await unanswered_for_nudge(session, announced + 24 * HOUR)
    assert far in {n.activity.id for n in after}
