"""The secretary's side of the record: closing it at the end, the quorum, corrections with
their trail, roster check-in and check-out, saplings, make-up study (补学); and two
secretaries correcting one record at once."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncSession

from models.activities import (
    Activity,
    CheckInMethod,
    Participation,
    ParticipationStatus,
    cancel_signup,
    create_activity,
    participation_of,
    sign_up,
)
from models.attendance import (
    AttendanceAction,
    AttendanceChange,
    CheckInNotOpen,
    Outcome,
    changes_page,
    check_in,
    close_record,
    correct_attendance,
    correction_allowed,
    decide_leave,
    decide_made_up,
    made_up_allowed,
    mark_made_up,
    member_record,
    planting_allowed,
    quorum_needed,
    quorum_of,
    quorums_at_risk,
    record_planted,
    records_to_close,
    report_made_up,
    report_made_up_allowed,
    request_leave,
    respond_attend,
    roll_call,
    roster_check_in,
    roster_check_out,
)
from models.errors import DomainError, InvalidInput, InvalidState, PermissionDenied
from models.members import Member
from models.notifications import (
    AbsenceNoted,
    MadeUpDecided,
    MadeUpReported,
    RecordClosed,
    take_pending,
)
from models.org import OrgUnit, import_org, list_tree
from models.permissions import Role, grant_role
from tests.conftest import Database
from tests.domain.conftest import NOW, example_org
from tests.domain.test_activities_support import (
    ADMIN,
    END,
    MEETING,
    OTHER_SECRETARY,
    SECRETARY,
    START,
    active_member,
    draft,
    grant_staff,
    qr,
)

MINUTE = timedelta(minutes=1)
DURING = START + 10 * MINUTE  # check-in is open (from 30 minutes before the start)
MEETING_END = MEETING.ends_at
AFTER = MEETING_END + MINUTE


@pytest.fixture
async def members(session: AsyncSession, units: dict[str, OrgUnit]) -> list[Member]:
    """The staff, and seven members of Wanda Plaza, named so that they sort in this order."""
    await grant_staff(session, units)
    return [
        await active_member(session, units["wanda-plaza"], 100 + i, f"成员{i}") for i in range(7)
    ]


async def _create(session: AsyncSession, units: dict[str, OrgUnit], base=MEETING, **changes):  # type: ignore[no-untyped-def]
    return await create_activity(
        session, SECRETARY, units["wanda-plaza"].id, draft(base, **changes), NOW
    )


async def code_of(operation) -> str | None:  # type: ignore[no-untyped-def]
    try:
        await operation
    except DomainError as error:
        return error.code
    return None


async def status_of(session: AsyncSession, activity_id: int, member: Member):  # type: ignore[no-untyped-def]
    row = await participation_of(session, activity_id, member.id)
    return row.status if row is not None else None


async def trail(session: AsyncSession, activity_id: int) -> list[AttendanceChange]:
    return list(
        await session.scalars(
            select(AttendanceChange)
            .where(AttendanceChange.activity_id == activity_id)
            .order_by(AttendanceChange.id)
        )
    )


# --- closing the record ---------------------------------------------------------------------


async def test_closing_organisational_life(
    session: AsyncSession, units: dict[str, OrgUnit], members: list[Member]
) -> None:
    meeting = await _create(session, units, walk_ins_allowed=True)
    m = members
    await check_in(session, meeting.id, m[0], "qr", DURING, token=qr(meeting.id, DURING))
    leave = await request_leave(session, meeting.id, m[1], "出差", NOW)
    await decide_leave(session, leave.id, SECRETARY, True, NOW)
    await respond_attend(session, meeting.id, m[2], NOW)  # said yes, never came
    # m[3] never answered
    declined = await request_leave(session, meeting.id, m[4], "有事", NOW)
    await decide_leave(session, declined.id, SECRETARY, False, NOW)
    await respond_attend(session, meeting.id, m[5], NOW)
    await correct_attendance(session, meeting.id, m[5].id, SECRETARY, "absent", "临时有事", DURING)
    visitor = await active_member(session, units["huaduhui"], 900, "访客")
    await check_in(session, meeting.id, visitor, "qr", DURING, token=qr(meeting.id, DURING))
    await mark_made_up(session, meeting.id, m[6].id, SECRETARY, "学习了会议材料", AFTER)
    take_pending(session)

    # Not before the end.
    assert await close_record(session, meeting.id, MEETING_END - MINUTE) is None
    assert await status_of(session, meeting.id, m[3]) is None
    assert meeting.id not in await records_to_close(session, MEETING_END - MINUTE)
    assert await records_to_close(session, MEETING_END) == [meeting.id]
    changes_before = len(await trail(session, meeting.id))

    summary = await close_record(session, meeting.id, AFTER)
    assert summary is not None
    assert (summary.present, summary.excused, summary.walk_ins) == (1, 1, 1)
    assert summary.absent == ("成员2", "成员3", "成员4", "成员5")
    assert summary.expected == 7 and summary.quorum_needed == 4
    statuses = [await status_of(session, meeting.id, member) for member in m]
    assert statuses == [
        ParticipationStatus.attending,
        ParticipationStatus.excused,
        ParticipationStatus.absent,
        ParticipationStatus.absent,
        ParticipationStatus.absent,
        ParticipationStatus.absent,
        ParticipationStatus.made_up,  # made up before the record closed: untouched
    ]
    assert await status_of(session, meeting.id, visitor) is ParticipationStatus.attending
    closed = (await trail(session, meeting.id))[changes_before:]
    assert [(c.member_id, c.action, c.before, c.after, c.changed_by) for c in closed] == [
        (m[2].id, AttendanceAction.closed, "unconfirmed", "absent", None),
        (m[3].id, AttendanceAction.closed, "absent", "absent", None),
        (m[4].id, AttendanceAction.closed, "absent", "absent", None),
    ]  # m[5] was marked absent already: no second change
    told = take_pending(session)
    summaries = [n for n in told if isinstance(n.message, RecordClosed)]
    assert [(n.recipient, n.dedup_key) for n in summaries] == [
        (SECRETARY, f"closed:{meeting.id}:{SECRETARY}")
    ]
    noted = [n.recipient for n in told if isinstance(n.message, AbsenceNoted)]
    assert noted == [102, 103, 104, 105]

    # Idempotent: closed once, whatever runs it again.
    assert await close_record(session, meeting.id, AFTER + MINUTE) is None
    assert take_pending(session) == []
    assert await records_to_close(session, AFTER + MINUTE) == []
    assert (await session.get(Activity, meeting.id)).record_closed_at == AFTER  # type: ignore[union-attr]


async def test_closing_a_record_takes_the_same_statements_for_ten_times_the_absent(
    session: AsyncSession, units: dict[str, OrgUnit]
) -> None:
    """The rows of those who never answered and their changes are written in one INSERT
    each, however many: a street-wide meeting has thousands."""
    await grant_staff(session, units)
    counted: list[int] = []
    absent: list[int] = []
    for first, count in ((100, 3), (200, 30)):  # the second meeting: 33 expected
        for i in range(count):
            await active_member(session, units["wanda-plaza"], first + i, f"成员{first + i}")
        meeting = await _create(session, units)
        seen: list[str] = []

        def count_statement(*args: object, seen: list[str] = seen) -> None:
            seen.append(str(args[2]))

        engine = session.bind.sync_engine  # type: ignore[union-attr]
        event.listen(engine, "before_cursor_execute", count_statement)
        try:
            summary = await close_record(session, meeting.id, AFTER)
        finally:
            event.remove(engine, "before_cursor_execute", count_statement)
        assert summary is not None
        counted.append(len(seen))
        closed = await trail(session, meeting.id)
        assert {(c.action, c.before, c.after) for c in closed} == {
            (AttendanceAction.closed, "absent", "absent")
        }
        absent.append(len(closed))
        statuses = await session.scalars(
            select(Participation.status).where(Participation.activity_id == meeting.id)
        )
        assert set(statuses) == {ParticipationStatus.absent}
    assert absent == [3, 33]
    assert counted[0] == counted[1], counted


async def test_closing_a_sign_up_activity(
    session: AsyncSession, units: dict[str, OrgUnit], members: list[Member]
) -> None:
    event = await _create(session, units, draft(), capacity=3, walk_ins_allowed=True)
    m = members
    for member in m[:3]:
        await sign_up(session, event.id, member, NOW)
    await cancel_signup(session, event.id, m[2], NOW)
    await check_in(session, event.id, m[0], "qr", START, token=qr(event.id, START))
    await check_in(session, event.id, m[3], "qr", START, token=qr(event.id, START))  # walk-in
    take_pending(session)

    summary = await close_record(session, event.id, END)
    assert summary is not None
    assert (summary.present, summary.excused, summary.absent) == (1, 0, ("成员1",))
    assert (summary.walk_ins, summary.expected, summary.quorum_needed) == (1, 2, None)
    assert await status_of(session, event.id, m[1]) is ParticipationStatus.absent  # no-show
    assert await status_of(session, event.id, m[2]) is ParticipationStatus.cancelled
    assert await status_of(session, event.id, m[4]) is None
    # A no-show keeps the seat: the count of seats taken is what the rows hold.
    assert (await session.get(Activity, event.id)).seats_taken == 3  # type: ignore[union-attr]
    told = take_pending(session)
    assert [type(n.message) for n in told] == [RecordClosed]  # no make-up at volunteering


async def test_a_cancelled_activity_is_never_closed(
    session: AsyncSession, units: dict[str, OrgUnit], members: list[Member]
) -> None:
    from models.activities import cancel_activity

    meeting = await _create(session, units)
    await cancel_activity(session, meeting.id, SECRETARY, NOW)
    assert await records_to_close(session, AFTER) == []
    assert await close_record(session, meeting.id, AFTER) is None
    assert await status_of(session, meeting.id, members[0]) is None


# --- the quorum ------------------------------------------------------------------------------


def test_quorum_is_more_than_half() -> None:
    assert [quorum_needed(n) for n in (1, 2, 3, 4, 7, 41)] == [1, 2, 2, 3, 4, 21]


async def test_quorum_of_a_general_meeting(
    session: AsyncSession, units: dict[str, OrgUnit], members: list[Member]
) -> None:
    meeting = await _create(session, units)
    lecture = await _create(session, units, kind="lecture")
    assert await quorum_of(session, lecture) is None
    for member in members[:3]:
        await respond_attend(session, meeting.id, member, NOW)
    quorum = await quorum_of(session, meeting)
    assert quorum is not None
    assert (quorum.expected, quorum.attending, quorum.needed) == (7, 3, 4)
    assert quorum.at_risk and not quorum.reached

    day_before = START - timedelta(hours=24)
    assert await quorums_at_risk(session, day_before - MINUTE) == []  # too early to tell
    assert [(a.id, q.attending) for a, q in await quorums_at_risk(session, day_before)] == [
        (meeting.id, 3)
    ]
    await respond_attend(session, meeting.id, members[3], NOW)
    assert await quorums_at_risk(session, day_before) == []
    assert await quorums_at_risk(session, START) == []  # started

    for member in members[:4]:
        await check_in(session, meeting.id, member, "qr", DURING, token=qr(meeting.id, DURING))
    quorum = await quorum_of(session, meeting)
    assert quorum is not None and quorum.reached and quorum.checked_in == 4


# --- corrections ----------------------------------------------------------------------------


async def test_corrections_need_a_reason_and_leave_a_trail(
    session: AsyncSession, units: dict[str, OrgUnit], members: list[Member]
) -> None:
    meeting = await _create(session, units)
    wang = members[0]
    for reason, code in (
        ("", "reason.empty"),
        (" \n\t ", "reason.empty"),
        ("因" * 201, "reason.too_long"),
    ):
        with pytest.raises(InvalidInput) as caught:
            await correct_attendance(
                session, meeting.id, wang.id, SECRETARY, "present", reason, DURING
            )
        assert caught.value.code == code
    with pytest.raises(InvalidInput) as caught:
        await correct_attendance(session, meeting.id, wang.id, SECRETARY, "late", "迟到", DURING)
    assert caught.value.code == "correction.invalid"
    assert await participation_of(session, meeting.id, wang.id) is None
    assert await trail(session, meeting.id) == []

    with pytest.raises(CheckInNotOpen) as not_open:
        await correct_attendance(session, meeting.id, wang.id, SECRETARY, "present", "到了", NOW)
    assert not_open.value.opens_at == START - timedelta(minutes=30)
    with pytest.raises(PermissionDenied):
        await correct_attendance(
            session, meeting.id, wang.id, OTHER_SECRETARY, "present", "到了", DURING
        )

    row = await correct_attendance(
        session, meeting.id, wang.id, SECRETARY, "present", "  没带手机  ", DURING
    )
    assert row.status is ParticipationStatus.attending
    assert (row.checked_in_at, row.check_in_method) == (START, CheckInMethod.secretary)
    with pytest.raises(InvalidState) as caught:
        await correct_attendance(session, meeting.id, wang.id, SECRETARY, "present", "再次", DURING)
    assert caught.value.code == "attendance.unchanged"
    row = await correct_attendance(
        session, meeting.id, wang.id, ADMIN, "excused", "事先请过假", AFTER
    )
    assert row.status is ParticipationStatus.excused and row.checked_in_at is None
    (first, second) = await trail(session, meeting.id)
    assert (first.action, first.before, first.after, first.reason, first.changed_by) == (
        AttendanceAction.present,
        "absent",
        "attended",
        "没带手机",
        SECRETARY,
    )
    assert (second.before, second.after, second.changed_by) == ("attended", "excused", ADMIN)

    # The trail, newest first, with who made each change (a member profile, or none).
    page = await changes_page(session, meeting.id, 1, 10)
    assert [(e.change.id, e.member.id, e.changed_by) for e in page.items] == [
        (second.id, wang.id, None),  # the admin has no member profile
        (first.id, wang.id, None),
    ]
    assert (await changes_page(session, meeting.id, 1, 10, member_id=members[1].id)).total == 0


async def test_nobody_corrects_their_own_record(
    session: AsyncSession, units: dict[str, OrgUnit], members: list[Member]
) -> None:
    meeting = await _create(session, units)
    me = await active_member(session, units["wanda-plaza"], SECRETARY, "李书记")
    for operation in (
        correction_allowed(session, meeting.id, me.id, SECRETARY, "present", DURING),
        correct_attendance(session, meeting.id, me.id, SECRETARY, "present", "我到了", DURING),
        correct_attendance(session, meeting.id, me.id, SECRETARY, "excused", "请假", DURING),
        made_up_allowed(session, meeting.id, me.id, SECRETARY, AFTER),
        mark_made_up(session, meeting.id, me.id, SECRETARY, "自学", AFTER),
    ):
        assert await code_of(operation) == "attendance.own_record"
    assert await participation_of(session, meeting.id, me.id) is None
    # Another secretary may; and the secretary's trail entries carry their name.
    await correct_attendance(session, meeting.id, me.id, ADMIN, "present", "到会", DURING)
    await correct_attendance(
        session, meeting.id, members[0].id, SECRETARY, "present", "到会", DURING
    )
    page = await changes_page(session, meeting.id, 1, 10)
    assert [(e.member.real_name, e.changed_by and e.changed_by.real_name) for e in page.items] == [
        ("成员0", "李书记"),
        ("李书记", None),
    ]


async def test_corrections_at_a_sign_up_activity_never_overfill_it(
    session: AsyncSession, units: dict[str, OrgUnit], members: list[Member]
) -> None:
    event = await _create(session, units, draft(), capacity=2)
    m = members
    for member in m[:3]:
        await sign_up(session, event.id, member, NOW)  # m[2] is waitlisted
    for member in (m[2], m[3]):
        for operation in (
            correct_attendance(session, event.id, member.id, SECRETARY, "present", "来了", START),
            roster_check_in(session, event.id, member.id, SECRETARY, START),
        ):
            assert await code_of(operation) == "activity.full"
    assert (
        await code_of(
            correct_attendance(session, event.id, m[3].id, SECRETARY, "absent", "没来", START)
        )
        == "attendance.not_signed_up"
    )
    assert (
        await code_of(
            correct_attendance(session, event.id, m[0].id, SECRETARY, "excused", "请假", START)
        )
        == "activity.not_expected"
    )
    # A no-show keeps the seat: absent and back to present, nothing claimed twice.
    await correct_attendance(session, event.id, m[0].id, SECRETARY, "absent", "没来", START)
    await correct_attendance(session, event.id, m[0].id, SECRETARY, "present", "迟到", START)
    assert (
        await code_of(
            correct_attendance(session, event.id, m[2].id, SECRETARY, "present", "来了", START)
        )
        == "activity.full"
    )
    activity = await session.get(Activity, event.id)
    assert activity is not None and activity.seats_taken == 2
    assert await status_of(session, event.id, m[2]) is ParticipationStatus.waitlisted
    assert await participation_of(session, event.id, m[3].id) is None

    # A seat frees up and the first waiting takes it: now they may be marked present.
    await cancel_signup(session, event.id, m[1], NOW)
    assert await status_of(session, event.id, m[2]) is ParticipationStatus.signed_up
    await correct_attendance(session, event.id, m[2].id, SECRETARY, "present", "来了", START)
    assert await code_of(roster_check_in(session, event.id, m[3].id, SECRETARY, START)) == (
        "activity.full"
    )
    await session.refresh(activity)
    assert activity.seats_taken == 2


async def test_roster_check_in_check_out_and_saplings(
    session: AsyncSession, units: dict[str, OrgUnit], members: list[Member]
) -> None:
    trees = await _create(
        session, units, draft(), kind="tree_planting", capacity=None, check_out_required=True
    )
    meeting = await _create(session, units)
    m = members
    await sign_up(session, trees.id, m[0], NOW)
    assert await code_of(roster_check_in(session, trees.id, m[0].id, SECRETARY, NOW)) == (
        "checkin.not_open"
    )
    for operation in (
        planting_allowed(session, trees.id, m[0].id, SECRETARY, START),
        record_planted(session, trees.id, m[0].id, SECRETARY, 3, START),
        roster_check_out(session, trees.id, m[0].id, SECRETARY, START),
    ):
        assert await code_of(operation) == "attendance.not_checked_in"
    row = await roster_check_in(session, trees.id, m[0].id, SECRETARY, START)
    assert (row.checked_in_at, row.check_in_method, row.decided_by) == (
        START,
        CheckInMethod.secretary,
        SECRETARY,
    )
    assert await code_of(roster_check_in(session, trees.id, m[0].id, SECRETARY, START)) == (
        "attendance.already_checked_in"
    )
    assert await code_of(planting_allowed(session, trees.id, m[0].id, SECRETARY, START)) is None
    with pytest.raises(InvalidInput):
        await record_planted(session, trees.id, m[0].id, SECRETARY, -1, START)
    await record_planted(session, trees.id, m[0].id, SECRETARY, 12, START)
    row = await roster_check_out(session, trees.id, m[0].id, SECRETARY, END + MINUTE)
    assert row.checked_out_at == END  # hours never run past the end
    assert row.saplings_planted == 12
    assert await code_of(roster_check_out(session, trees.id, m[0].id, SECRETARY, END)) == (
        "attendance.already_checked_out"
    )
    assert await code_of(roster_check_in(session, trees.id, m[1].id, SECRETARY, END + MINUTE)) == (
        "checkin.closed"
    )
    assert await code_of(planting_allowed(session, meeting.id, m[0].id, SECRETARY, DURING)) == (
        "activity.not_tree_planting"
    )
    actions = [c.action for c in await trail(session, trees.id)]
    assert actions == [
        AttendanceAction.roster,
        AttendanceAction.planted,
        AttendanceAction.checked_out,
    ]
    record = await member_record(session, m[0], END + MINUTE)
    assert record.totals.saplings_planted == 12 and record.totals.volunteer_hours == 3.0


async def test_the_roster_lists_who_is_concerned(
    session: AsyncSession, units: dict[str, OrgUnit], members: list[Member]
) -> None:
    meeting = await _create(session, units, walk_ins_allowed=True)
    visitor = await active_member(session, units["huaduhui"], 900, "访客")
    await check_in(session, meeting.id, visitor, "qr", DURING, token=qr(meeting.id, DURING))
    await respond_attend(session, meeting.id, members[1], NOW)
    roll = await roll_call(session, meeting)
    assert [e.member.real_name for e in roll] == [f"成员{i}" for i in range(7)] + ["访客"]
    assert [e.outcome for e in roll[:2]] == [Outcome.absent, Outcome.unconfirmed]
    assert roll[-1].row is not None and roll[-1].row.walk_in
    # Marked absent, the walk-in stays on the roster (their card is drawn after it).
    await correct_attendance(session, meeting.id, visitor.id, SECRETARY, "absent", "走了", DURING)
    last = (await roll_call(session, meeting))[-1]
    assert (last.member.id, last.outcome) == (visitor.id, Outcome.absent)

    event = await _create(session, units, draft(), capacity=1)
    await sign_up(session, event.id, members[3], NOW)
    await sign_up(session, event.id, members[4], NOW)  # waitlisted: holds no seat
    assert [e.member.id for e in await roll_call(session, event)] == [members[3].id]
    await sign_up(session, event.id, members[5], NOW)  # waitlisted too
    await cancel_signup(session, event.id, members[5], NOW)
    assert [e.member.id for e in await roll_call(session, event)] == [members[3].id]


# --- make-up study (补学) ---------------------------------------------------------------------


async def test_make_up_reported_and_decided(
    session: AsyncSession, units: dict[str, OrgUnit], members: list[Member]
) -> None:
    meeting = await _create(session, units)
    wang, li, zhao = members[:3]
    await check_in(session, meeting.id, zhao, "qr", DURING, token=qr(meeting.id, DURING))
    assert await code_of(report_made_up(session, meeting.id, wang, "学习了", DURING)) == (
        "activity.not_over"
    )
    await close_record(session, meeting.id, AFTER)
    take_pending(session)

    assert await code_of(report_made_up_allowed(session, meeting.id, wang, AFTER)) is None
    for note, code in (("   ", "reason.empty"), ("学" * 201, "reason.too_long")):
        assert await code_of(report_made_up(session, meeting.id, wang, note, AFTER)) == code
    assert (await participation_of(session, meeting.id, wang.id)).made_up_reported_at is None  # type: ignore[union-attr]
    row = await report_made_up(session, meeting.id, wang, "学习了会议精神", AFTER)
    assert (row.status, row.made_up_note, row.made_up_reported_at) == (
        ParticipationStatus.absent,
        "学习了会议精神",
        AFTER,
    )
    (card,) = take_pending(session)
    assert card.recipient == SECRETARY and isinstance(card.message, MadeUpReported)
    for operation in (
        report_made_up_allowed(session, meeting.id, wang, AFTER),
        report_made_up(session, meeting.id, wang, "再报一次", AFTER),
    ):
        assert await code_of(operation) == "made_up.already_reported"
    assert await code_of(report_made_up(session, meeting.id, zhao, "我在场", AFTER)) == (
        "made_up.not_missed"
    )

    with pytest.raises(PermissionDenied):
        await decide_made_up(session, row.id, OTHER_SECRETARY, True, AFTER)
    decided = await decide_made_up(session, row.id, SECRETARY, True, AFTER + MINUTE)
    assert decided.status is ParticipationStatus.made_up and decided.made_up_reported_at is None
    (told,) = take_pending(session)
    assert told.recipient == wang.telegram_id
    assert told.message == MadeUpDecided(meeting, True)
    assert await code_of(decide_made_up(session, row.id, ADMIN, False, AFTER)) == (
        "made_up.already_decided"
    )
    assert await code_of(report_made_up_allowed(session, meeting.id, wang, AFTER)) == (
        "made_up.already_decided"
    )
    record = await member_record(session, wang, AFTER)
    assert [e.outcome for e in record.entries] == [Outcome.made_up]
    assert record.totals.made_up == 1

    declined = await report_made_up(session, meeting.id, li, "看了视频", AFTER)
    take_pending(session)
    declined = await decide_made_up(session, declined.id, SECRETARY, False, AFTER)
    assert (declined.status, declined.made_up_reported_at) == (ParticipationStatus.absent, None)
    assert take_pending(session)[0].message == MadeUpDecided(meeting, False)
    actions = [(c.member_id, c.action) for c in await trail(session, meeting.id)][-4:]
    assert actions == [
        (wang.id, AttendanceAction.made_up_reported),
        (wang.id, AttendanceAction.made_up),
        (li.id, AttendanceAction.made_up_reported),
        (li.id, AttendanceAction.made_up_declined),
    ]


async def test_a_secretary_marks_made_up(
    session: AsyncSession, units: dict[str, OrgUnit], members: list[Member]
) -> None:
    meeting = await _create(session, units)
    event = await _create(session, units, draft())
    wang, zhao = members[0], members[1]
    await check_in(session, meeting.id, zhao, "qr", DURING, token=qr(meeting.id, DURING))
    cases = [
        (made_up_allowed(session, meeting.id, wang.id, SECRETARY, DURING), "activity.not_over"),
        (
            mark_made_up(session, meeting.id, wang.id, SECRETARY, "学习", DURING),
            "activity.not_over",
        ),
        (made_up_allowed(session, meeting.id, zhao.id, SECRETARY, AFTER), "attendance.not_missed"),
        (
            mark_made_up(session, meeting.id, zhao.id, SECRETARY, "学习", AFTER),
            "attendance.not_missed",
        ),
        (mark_made_up(session, event.id, wang.id, SECRETARY, "学习", END), "activity.not_expected"),
        (mark_made_up(session, meeting.id, wang.id, SECRETARY, "", AFTER), "reason.empty"),
        (
            made_up_allowed(session, meeting.id, wang.id, OTHER_SECRETARY, AFTER),
            "permission.denied",
        ),
    ]
    for operation, code in cases:
        assert await code_of(operation) == code
    assert await participation_of(session, meeting.id, wang.id) is None
    row = await mark_made_up(session, meeting.id, wang.id, SECRETARY, "参加了补学会", AFTER)
    assert (row.status, row.made_up_note, row.decided_by) == (
        ParticipationStatus.made_up,
        "参加了补学会",
        SECRETARY,
    )
    (change,) = [c for c in await trail(session, meeting.id) if c.member_id == wang.id]
    assert (change.action, change.before, change.after, change.reason) == (
        AttendanceAction.made_up,
        "absent",
        "made_up",
        "参加了补学会",
    )


async def test_checks_before_asking_refuse_as_the_operations_do(
    session: AsyncSession, units: dict[str, OrgUnit], members: list[Member]
) -> None:
    meeting = await _create(session, units)
    wang = members[0]
    await respond_attend(session, meeting.id, wang, NOW)
    await correct_attendance(session, meeting.id, wang.id, SECRETARY, "absent", "没来", DURING)
    for correction, code in (("absent", "attendance.unchanged"), ("present", None)):
        allowed = await code_of(
            correction_allowed(session, meeting.id, wang.id, SECRETARY, correction, DURING)
        )
        assert allowed == code
    assert (
        await code_of(correction_allowed(session, meeting.id, wang.id, SECRETARY, "present", NOW))
        == "checkin.not_open"
    )
    assert (
        await code_of(
            correction_allowed(session, meeting.id, wang.id, OTHER_SECRETARY, "present", DURING)
        )
        == "permission.denied"
    )
    changes = len(await trail(session, meeting.id))
    assert changes == 1  # the checks wrote nothing


# --- two secretaries at once ------------------------------------------------------------------

SECOND_SECRETARY = 2005


async def _setup(database: Database) -> tuple[int, int]:
    async with database.sessions() as session, session.begin():
        await import_org(session, example_org())
        units = {unit.code: unit for _, unit in await list_tree(session)}
        await grant_staff(session, units)
        await grant_role(session, SECOND_SECRETARY, Role.secretary, units["wanda-plaza"].id, None)
        member = await active_member(session, units["wanda-plaza"], 300, "王小明")
        meeting = await create_activity(session, SECRETARY, units["wanda-plaza"].id, MEETING, NOW)
        await respond_attend(session, meeting.id, member, NOW)
        return meeting.id, member.id


async def _correct(
    database: Database, meeting: int, member: int, secretary: int, correction: str, reason: str
) -> str:
    async with database.sessions() as session, session.begin():
        try:
            row = await correct_attendance(
                session, meeting, member, secretary, correction, reason, DURING
            )
        except InvalidState as refused:
            return refused.code
        return str(row.status)


async def test_two_secretaries_correcting_one_record_at_once(database: Database) -> None:
    meeting, member = await _setup(database)

    results = await asyncio.gather(
        _correct(database, meeting, member, SECRETARY, "absent", "没有来"),
        _correct(database, meeting, member, SECOND_SECRETARY, "excused", "事先请过假"),
    )

    assert sorted(results) == ["absent", "excused"]  # both landed, one after the other
    async with database.sessions() as session:
        first, second = await trail(session, meeting)
        assert first.before == "unconfirmed"
        assert second.before == first.after  # the second saw what the first had done
        assert {(first.reason, first.after), (second.reason, second.after)} == {
            ("没有来", "absent"),
            ("事先请过假", "excused"),
        }
        row = await session.scalar(select(Participation).where(Participation.member_id == member))
        assert row is not None and str(row.status) == second.after

    # The same correction twice at once: one lands, the other finds nothing to change.
    results = await asyncio.gather(
        _correct(database, meeting, member, SECRETARY, "present", "来了"),
        _correct(database, meeting, member, SECOND_SECRETARY, "present", "到了"),
    )
    assert sorted(results) == ["attendance.unchanged", "attending"]
    async with database.sessions() as session:
        changes = await trail(session, meeting)
        assert len(changes) == 3 and changes[2].before == second.after
