"""A member's own figures: the personal calendar (member_calendar, the .ics read back) and
the numbers of /record (notices acknowledged, sign-ups attended), counted by hand."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from itertools import count
from typing import Any

import icalendar
import pytest
from sqlalchemy import event, update
from sqlalchemy.ext.asyncio import AsyncSession

from models.activities import (
    Activity,
    ActivityDraft,
    ActivityKind,
    EventStatus,
    Participation,
    ParticipationStatus,
    calendar_around,
    calendar_event_of,
    calendar_file,
    cancel_activity,
    cancel_signup,
    create_activity,
    ics_for,
    member_calendar,
    sign_up,
)
from models.attendance import decide_leave, member_record, request_leave
from models.members import Member
from models.notices import Audience, Notice, NoticeRecipient, acknowledgements_of
from models.org import OrgUnit
from tests.domain.conftest import NOW
from tests.domain.test_activities_support import (
    ADMIN,
    MEETING,
    SECRETARY,
    active_member,
    draft,
    grant_staff,
)

DAY = timedelta(days=1)
HOUR = timedelta(hours=1)


@pytest.fixture
async def staff(session: AsyncSession, units: dict[str, OrgUnit]) -> None:
    await grant_staff(session, units)


pytestmark = pytest.mark.usefixtures("staff")


async def new(
    session: AsyncSession,
    unit: OrgUnit,
    title: str,
    starts: datetime,
    base: ActivityDraft = MEETING,
    by: int = SECRETARY,
) -> Activity:
    """An activity created now for tomorrow, then moved to `starts` (which may be past:
    the rules of creation are not what is tested here)."""
    tomorrow = draft(base, title=title, starts_at=NOW + DAY, ends_at=NOW + DAY + 2 * HOUR)
    created = await create_activity(session, by, unit.id, tomorrow, NOW)
    await move(session, created.id, starts)
    await session.refresh(created)
    return created


async def move(session: AsyncSession, activity_id: int, starts: datetime) -> None:
    await session.execute(
        update(Activity)
        .where(Activity.id == activity_id)
        .values(starts_at=starts, ends_at=starts + 2 * HOUR)
    )


VOLUNTEER_BASE = draft(kind=ActivityKind.volunteer, capacity=1)


@contextmanager
def counted_queries(session: AsyncSession) -> Iterator[list[str]]:
    """The statements the session sends while inside."""
    statements: list[str] = []
    engine = session.bind.sync_engine  # type: ignore[union-attr]

    def record(*args: Any) -> None:
        statements.append(args[2])

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


async def test_the_members_calendar(session: AsyncSession, units: dict[str, OrgUnit]) -> None:
    wanda, huaduhui = units["wanda-plaza"], units["huaduhui"]
    me = await active_member(session, wanda, 100, "王小明")
    other = await active_member(session, wanda, 101, "李二")
    await active_member(session, huaduhui, 102, "张三")

    meeting = await new(session, wanda, "支部党员大会", NOW + 2 * DAY)
    excused = await new(session, wanda, "党课", NOW + 3 * DAY)
    leave = await request_leave(session, excused.id, me, "出差", NOW)
    await decide_leave(session, leave.id, SECRETARY, True, NOW)
    past = await new(session, wanda, "上月主题党日", NOW - 20 * DAY)
    called_off = await new(session, wanda, "被取消的支委会", NOW + 4 * DAY)
    await cancel_activity(session, called_off.id, SECRETARY, NOW)
    community = units["haibinbei-community"]
    for_all = draft(MEETING, include_subunits=True)
    from_above = await new(session, community, "社区主题党日", NOW + 5 * DAY, for_all, ADMIN)
    above_only = await new(session, community, "社区支委会", NOW + 5 * DAY, by=ADMIN)
    seat = await new(session, wanda, "义诊", NOW + 6 * DAY, VOLUNTEER_BASE)
    full = await new(session, wanda, "植树", NOW + 7 * DAY, VOLUNTEER_BASE)
    withdrawn = await new(session, wanda, "普法宣传", NOW + 8 * DAY, VOLUNTEER_BASE)
    signup_cancelled = await new(session, wanda, "取消的志愿服务", NOW + 9 * DAY, VOLUNTEER_BASE)
    not_signed = await new(session, wanda, "没报名的活动", NOW + 10 * DAY, VOLUNTEER_BASE)
    too_late = await new(session, wanda, "太远的大会", NOW + 181 * DAY)
    too_early = await new(session, wanda, "太早的大会", NOW - 31 * DAY)
    elsewhere = await new(session, huaduhui, "华都汇大会", NOW + 2 * DAY, by=ADMIN)
    # Sign-ups are made while they are in the future (the rules want it); back to now after.
    await sign_up(session, seat.id, me, NOW)
    await sign_up(session, full.id, other, NOW)
    await sign_up(session, full.id, me, NOW)  # capacity 1: the waitlist
    await sign_up(session, withdrawn.id, me, NOW)
    await cancel_signup(session, withdrawn.id, me, NOW)
    await sign_up(session, signup_cancelled.id, me, NOW)
    await cancel_activity(session, signup_cancelled.id, SECRETARY, NOW)
    await sign_up(session, not_signed.id, other, NOW)

    with counted_queries(session) as statements:
        found = await calendar_around(session, me, NOW)
    # The member's units, the unit tree, the activities with the member's rows: three.
    assert len(statements) <= 3, statements
    assert found.unit_ids == {wanda.id}
    titles = [item.activity.title for item in found.entries]
    assert titles == [
        "上月主题党日",
        "支部党员大会",
        "党课",
        "被取消的支委会",
        "社区主题党日",
        "义诊",
        "植树",
        "普法宣传",
        "取消的志愿服务",
    ]
    for absent in (above_only, not_signed, too_late, too_early, elsewhere):
        assert absent.title not in titles
    status = {item.activity.id: calendar_event_of(item).status for item in found.entries}
    assert status == {
        past.id: EventStatus.confirmed,
        meeting.id: EventStatus.confirmed,
        excused.id: EventStatus.confirmed,  # the meeting takes place; the time is left free
        called_off.id: EventStatus.cancelled,
        from_above.id: EventStatus.confirmed,
        seat.id: EventStatus.confirmed,
        full.id: EventStatus.tentative,
        withdrawn.id: EventStatus.cancelled,
        signup_cancelled.id: EventStatus.cancelled,
    }
    # Someone else of the branch: the meetings, and their own seat, not my sign-ups.
    theirs_too = await calendar_around(session, other, NOW)
    assert [i.activity.title for i in theirs_too.entries] == [
        "上月主题党日",
        "支部党员大会",
        "党课",
        "被取消的支委会",
        "社区主题党日",
        "植树",
        "没报名的活动",
    ]
    # The window's edges: an activity overlapping its start is in it.
    edge = await member_calendar(session, me, NOW - 20 * DAY + timedelta(hours=1), NOW)
    assert [i.activity.title for i in edge.entries] == ["上月主题党日"]

    # Read back: one event per entry, stable UIDs, times in UTC, the status and the note.
    notes = {excused.id: "我的状态：请假已批准"}
    events = [calendar_event_of(i, notes.get(i.activity.id, "")) for i in found.entries]
    body = calendar_file(events, "Asia/Shanghai", name="我的日历")
    calendar = icalendar.Calendar.from_ical(body)
    assert str(calendar["X-WR-TIMEZONE"]) == "Asia/Shanghai"
    assert str(calendar["X-WR-CALNAME"]) == "我的日历"
    read = {str(e["UID"]): e for e in calendar.walk("VEVENT")}
    assert list(read) == [f"activity-{i.activity.id}@branchbot" for i in found.entries]
    lecture = read[f"activity-{excused.id}@branchbot"]
    assert lecture.decoded("DTSTART") == NOW + 3 * DAY
    assert lecture.decoded("DTSTART").utcoffset() == timedelta(0)
    assert lecture["DTSTART"].to_ical().endswith(b"Z")
    assert str(lecture["STATUS"]) == "CONFIRMED" and str(lecture["TRANSP"]) == "TRANSPARENT"
    assert str(lecture["DESCRIPTION"]).startswith("我的状态：请假已批准")
    assert "TRANSP" not in read[f"activity-{meeting.id}@branchbot"]
    assert str(read[f"activity-{full.id}@branchbot"]["STATUS"]) == "TENTATIVE"
    assert str(read[f"activity-{called_off.id}@branchbot"]["STATUS"]) == "CANCELLED"
    assert str(read[f"activity-{withdrawn.id}@branchbot"]["STATUS"]) == "CANCELLED"
    # The card's file of the same activity has the same UID: importing either updates it.
    single = icalendar.Calendar.from_ical(ics_for(full, "Asia/Shanghai"))
    assert [str(e["UID"]) for e in single.walk("VEVENT")] == [f"activity-{full.id}@branchbot"]
    cancelled = icalendar.Calendar.from_ical(ics_for(called_off, "Asia/Shanghai"))
    assert str(cancelled["METHOD"]) == "CANCEL"
    assert [str(e["STATUS"]) for e in cancelled.walk("VEVENT")] == ["CANCELLED"]


async def test_a_member_with_nothing(session: AsyncSession, units: dict[str, OrgUnit]) -> None:
    me = await active_member(session, units["wanda-plaza"], 100)
    await new(session, units["huaduhui"], "华都汇大会", NOW + 2 * DAY, by=ADMIN)
    found = await calendar_around(session, me, NOW)
    assert found.entries == [] and found.unit_ids == {units["wanda-plaza"].id}


# --- /record's numbers ---------------------------------------------------------------------------

_keys = count()


async def notice(
    session: AsyncSession,
    unit: OrgUnit,
    member: Member,
    sent_at: datetime | None,
    *,
    ack_required: bool = True,
    acknowledged: bool = False,
    withdrawn: bool = False,
) -> None:
    row = Notice(
        org_unit_id=unit.id,
        author_id=SECRETARY,
        body_html="通知",
        audience=Audience.unit,
        ack_required=ack_required,
        send_at=sent_at or NOW + DAY,
        sent_at=sent_at,
        withdrawn_at=sent_at if withdrawn else None,
    )
    session.add(row)
    await session.flush()
    session.add(
        NoticeRecipient(
            notice_id=row.id,
            member_id=member.id,
            delivery_key=f"test-notice-{next(_keys)}",
            acknowledged_at=sent_at if acknowledged else None,
        )
    )


async def test_record_counts_notices_and_sign_ups(
    session: AsyncSession, units: dict[str, OrgUnit]
) -> None:
    wanda = units["wanda-plaza"]
    me = await active_member(session, wanda, 100)
    other = await active_member(session, wanda, 101)
    this_year = datetime(2026, 1, 1, tzinfo=UTC)
    last_year = datetime(2025, 1, 1, tzinfo=UTC)
    march = NOW - 2 * DAY
    # This year: asked 3 (2 acknowledged); not counted: no acknowledgement asked,
    # withdrawn, last year's (asked, acknowledged), not sent yet, someone else's.
    await notice(session, wanda, me, march, acknowledged=True)
    await notice(session, wanda, me, march + timedelta(hours=1), acknowledged=True)
    await notice(session, wanda, me, march + timedelta(hours=2))
    await notice(session, wanda, me, march, ack_required=False, acknowledged=True)
    await notice(session, wanda, me, march, withdrawn=True)
    await notice(session, wanda, me, datetime(2025, 6, 1, tzinfo=UTC), acknowledged=True)
    await notice(session, wanda, me, None)
    await notice(session, wanda, other, march, acknowledged=True)
    await session.flush()
    counts = await acknowledgements_of(session, me.id, this_year, this_year.replace(year=2027))
    assert (counts.asked, counts.acknowledged) == (3, 2)
    counts = await acknowledgements_of(session, me.id, last_year, this_year)
    assert (counts.asked, counts.acknowledged) == (1, 1)

    # Sign-ups that took place this year: 3, attended 1 (checked in); a walk-in and a
    # waitlisted place are not sign-ups; one of last year: 1, attended.
    volunteer = draft(kind=ActivityKind.volunteer, capacity=1)
    attended = await new(session, wanda, "义诊", NOW + DAY, volunteer)
    missed = await new(session, wanda, "植树", NOW + DAY, volunteer)
    unconfirmed = await new(session, wanda, "普法", NOW + DAY, volunteer)
    walked_in = await new(session, wanda, "清洁", NOW + DAY, volunteer)
    waitlisted = await new(session, wanda, "满员", NOW + DAY, volunteer)
    old = await new(session, wanda, "去年的义诊", NOW + DAY, volunteer)
    for activity in (attended, missed, unconfirmed, old):
        await sign_up(session, activity.id, me, NOW)
    await sign_up(session, waitlisted.id, other, NOW)
    await sign_up(session, waitlisted.id, me, NOW)
    await sign_up(session, walked_in.id, other, NOW)
    session.add(
        Participation(
            activity_id=walked_in.id,
            member_id=me.id,
            status=ParticipationStatus.attending,
            walk_in=True,
            checked_in_at=march,
        )
    )
    moved = {
        attended.id: march,
        missed.id: march,
        unconfirmed.id: march,
        walked_in.id: march,
        waitlisted.id: march,
        old.id: datetime(2025, 5, 1, 1, tzinfo=UTC),
    }
    for activity_id, starts in moved.items():
        await move(session, activity_id, starts)
    for activity_id, status, checked_in in (
        (attended.id, ParticipationStatus.attending, march),
        (missed.id, ParticipationStatus.absent, None),
        (old.id, ParticipationStatus.attending, datetime(2025, 5, 1, 1, tzinfo=UTC)),
    ):
        await session.execute(
            update(Participation)
            .where(Participation.activity_id == activity_id, Participation.member_id == me.id)
            .values(status=status, checked_in_at=checked_in)
        )

    record = await member_record(session, me, NOW, this_year, this_year.replace(year=2027))
    totals = record.totals
    assert (totals.signed_up, totals.signed_up_attended) == (3, 1)
    assert totals.attended == 2  # the sign-up and the walk-in
    assert (record.notices.asked, record.notices.acknowledged) == (3, 2)
    previous = await member_record(session, me, NOW, last_year, this_year)
    assert (previous.totals.signed_up, previous.totals.signed_up_attended) == (1, 1)
    assert (previous.notices.asked, previous.notices.acknowledged) == (1, 1)
    assert previous.totals.volunteer_hours == 2.0
