"""Activities: creating, editing, cancelling, listing, sign-up and the waitlist, recurrence, ics."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta

import icalendar
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models.activities import (
    Activity,
    ActivityKind,
    ActivityMode,
    ActivityStatus,
    ParticipationStatus,
    PledgeKind,
    SeriesDraft,
    activities_for_units,
    activity_by_share_code,
    cancel_activity,
    cancel_signup,
    create_activity,
    create_series,
    generate_occurrences,
    get_activity,
    ics_for,
    join_waitlist,
    seats_left,
    share_payload,
    sign_up,
    upcoming_for_member,
    update_activity,
    waitlist_length,
    waitlist_position,
)
from models.attendance import request_leave, respond_attend
from models.errors import InvalidInput, InvalidState, NotFound, PermissionDenied
from models.members import Member
from models.org import OrgUnit
from models.permissions import Role, grant_role
from tests.domain.conftest import NOW
from tests.domain.test_activities_support import (
    END,
    MEETING,
    ORGANIZER,
    OTHER_SECRETARY,
    SECRETARY,
    START,
    active_member,
    draft,
    grant_staff,
)


@pytest.fixture
async def staff(session: AsyncSession, units: dict[str, OrgUnit]) -> None:
    await grant_staff(session, units)


pytestmark = pytest.mark.usefixtures("staff")


@pytest.fixture
async def wanda(units: dict[str, OrgUnit]) -> OrgUnit:
    return units["wanda-plaza"]


@pytest.fixture
async def members(session: AsyncSession, wanda: OrgUnit) -> list[Member]:
    return [await active_member(session, wanda, 100 + i, f"成员{i}") for i in range(4)]


# --- creating ---------------------------------------------------------------------


async def test_create_stores_the_fields_and_a_share_code(
    session: AsyncSession, wanda: OrgUnit
) -> None:
    activity = await create_activity(
        session, ORGANIZER, wanda.id, draft(title="  义诊  ", pledge_kind="saplings"), NOW
    )
    assert (activity.title, activity.kind, activity.mode) == (
        "义诊",
        ActivityKind.volunteer,
        ActivityMode.signup,
    )
    assert activity.starts_at == START and activity.ends_at == END
    assert activity.pledge_kind is PledgeKind.saplings and activity.cancel_cutoff_hours == 2
    assert activity.status is ActivityStatus.scheduled and activity.created_by == ORGANIZER
    assert 8 <= len(activity.share_code) <= 11
    payload = share_payload(activity)
    assert payload.startswith("a_") and len(payload) <= 64
    assert (await activity_by_share_code(session, activity.share_code)).id == activity.id
    with pytest.raises(NotFound) as caught:
        await activity_by_share_code(session, "nope")
    assert caught.value.code == "activity.not_found"
    with pytest.raises(NotFound):
        await get_activity(session, 999_999)


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"title": "  "}, "title.empty"),
        ({"title": "题" * 101}, "title.too_long"),
        ({"description": "x" * 5000}, "description.too_long"),
        ({"place": "地" * 201}, "place.too_long"),
        ({"starts_at": NOW - timedelta(minutes=1)}, "starts_at.past"),
        ({"ends_at": START}, "ends_at.before_start"),
        ({"ends_at": START - timedelta(hours=1)}, "ends_at.before_start"),
        ({"signup_deadline": START + timedelta(minutes=1)}, "signup_deadline.after_start"),
        ({"capacity": 0}, "capacity.invalid"),
        ({"capacity": -3}, "capacity.invalid"),
        ({"capacity": 10_001}, "capacity.invalid"),
        ({"kind": "party"}, "kind.invalid"),
        ({"latitude": 91.0}, "location.invalid"),
        ({"longitude": None}, "location.invalid"),
        ({"cancel_cutoff_hours": -1}, "cancel_cutoff.invalid"),
        ({"starts_at": datetime(2026, 3, 20, 9)}, "time.naive"),
    ],
)
async def test_create_refuses_bad_fields(
    session: AsyncSession, wanda: OrgUnit, changes: dict, code: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        await create_activity(session, SECRETARY, wanda.id, draft(**changes), NOW)
    assert caught.value.code == code
    page = await activities_for_units(session, None, NOW)
    assert page.total == 0  # nothing was stored


async def test_expected_mode_takes_no_capacity(session: AsyncSession, wanda: OrgUnit) -> None:
    with pytest.raises(InvalidInput) as caught:
        await create_activity(session, SECRETARY, wanda.id, draft(MEETING, capacity=5), NOW)
    assert caught.value.code == "capacity.not_for_expected"


async def test_only_staff_of_the_unit_may_create(
    session: AsyncSession, units: dict[str, OrgUnit]
) -> None:
    with pytest.raises(PermissionDenied):
        await create_activity(session, OTHER_SECRETARY, units["wanda-plaza"].id, draft(), NOW)
    with pytest.raises(PermissionDenied):
        await create_activity(session, 555, units["wanda-plaza"].id, draft(), NOW)


# --- editing and cancelling ---------------------------------------------------------


async def test_update_reports_what_changed_and_whom_to_tell(
    session: AsyncSession, wanda: OrgUnit, members: list[Member]
) -> None:
    activity = await create_activity(session, SECRETARY, wanda.id, draft(capacity=1), NOW)
    await sign_up(session, activity.id, members[0], NOW)
    await sign_up(session, activity.id, members[1], NOW)  # waitlisted
    later = START + timedelta(hours=1)
    result = await update_activity(
        session, activity.id, SECRETARY, NOW, starts_at=later, place="新地点", capacity=2
    )
    assert set(result.changed) == {"starts_at", "place", "capacity"}
    assert result.changed["starts_at"] == (START, later)
    assert result.affected_telegram_ids == [100, 101]
    assert [m.id for m in result.promoted] == [members[1].id]  # the new seat went to them
    assert await seats_left(session, activity.id) == 0

    unchanged = await update_activity(session, activity.id, SECRETARY, NOW, place="新地点")
    assert unchanged.changed == {}
    for changes, code in (
        ({"capacity": 1}, "capacity.below_taken"),
        ({"starts_at": NOW - timedelta(hours=1)}, "starts_at.past"),
        ({"ends_at": later}, "ends_at.before_start"),
        ({"kind": "lecture"}, "activity.not_editable"),
    ):
        with pytest.raises(InvalidInput) as caught:
            await update_activity(session, activity.id, SECRETARY, NOW, **changes)
        assert caught.value.code == code
    with pytest.raises(PermissionDenied):
        await update_activity(session, activity.id, OTHER_SECRETARY, NOW, title="x")


async def test_cancel_tells_everyone_and_closes_sign_up(
    session: AsyncSession, wanda: OrgUnit, members: list[Member]
) -> None:
    activity = await create_activity(session, SECRETARY, wanda.id, draft(capacity=1), NOW)
    await sign_up(session, activity.id, members[0], NOW)
    await sign_up(session, activity.id, members[1], NOW)
    assert await cancel_activity(session, activity.id, SECRETARY, NOW) == [100, 101]
    assert activity.status is ActivityStatus.cancelled
    with pytest.raises(InvalidState) as caught:
        await sign_up(session, activity.id, members[2], NOW)
    assert caught.value.code == "activity.cancelled"
    with pytest.raises(InvalidState) as caught:
        await cancel_activity(session, activity.id, SECRETARY, NOW)
    assert caught.value.code == "activity.cancelled"


async def test_cancelling_a_meeting_tells_every_member_expected(
    session: AsyncSession, wanda: OrgUnit, members: list[Member]
) -> None:
    meeting = await create_activity(session, SECRETARY, wanda.id, MEETING, NOW)
    assert await cancel_activity(session, meeting.id, SECRETARY, NOW) == [100, 101, 102, 103]


# --- listing ------------------------------------------------------------------------


async def test_upcoming_for_member_follows_the_audience(
    session: AsyncSession, units: dict[str, OrgUnit], members: list[Member]
) -> None:
    community = units["haibinbei-community"]
    own = await create_activity(session, SECRETARY, units["wanda-plaza"].id, draft(), NOW)
    await grant_role(session, 2100, Role.secretary, community.id, None)
    later = {"starts_at": START + timedelta(days=1), "ends_at": END + timedelta(days=1)}
    above_all = await create_activity(
        session, 2100, community.id, draft(include_subunits=True, **later), NOW
    )
    await create_activity(session, 2100, community.id, draft(title="只有社区"), NOW)
    await create_activity(session, SECRETARY, units["wanda-plaza"].id, draft(MEETING), NOW)
    await create_activity(session, OTHER_SECRETARY, units["tech-incubator"].id, draft(), NOW)
    soon = {"starts_at": NOW + timedelta(hours=1), "ends_at": NOW + timedelta(hours=2)}
    ended = await create_activity(
        session, SECRETARY, units["wanda-plaza"].id, draft(title="很快", **soon), NOW
    )
    await sign_up(session, own.id, members[0], NOW)

    page = await upcoming_for_member(session, members[0], NOW, page_size=2)
    assert (page.total, page.pages) == (4, 2)
    assert [item.activity.id for item in page.items] == [ended.id, own.id]
    mine = page.items[1].participation
    assert mine is not None and mine.status is ParticipationStatus.signed_up
    assert page.items[0].participation is None
    second = await upcoming_for_member(session, members[0], NOW, page=2, page_size=2)
    assert [item.activity.id for item in second.items][1] == above_all.id
    assert second.items[0].activity.kind is ActivityKind.general_meeting
    # After its end an activity is no longer "coming"; the other branch's never was.
    after = await upcoming_for_member(session, members[0], NOW + timedelta(hours=3))
    assert after.total == 3 and ended.id not in {i.activity.id for i in after.items}
    # A page beyond the end gives the last page.
    assert (await upcoming_for_member(session, members[0], NOW, page=9, page_size=2)).page == 2


async def test_secretary_counts(
    session: AsyncSession, wanda: OrgUnit, members: list[Member]
) -> None:
    volunteer = await create_activity(session, SECRETARY, wanda.id, draft(capacity=2), NOW)
    meeting = await create_activity(
        session,
        SECRETARY,
        wanda.id,
        draft(MEETING, starts_at=START + timedelta(hours=5), ends_at=END + timedelta(hours=5)),
        NOW,
    )
    for member in members[:3]:
        await sign_up(session, volunteer.id, member, NOW)
    await respond_attend(session, meeting.id, members[0], NOW)
    await request_leave(session, meeting.id, members[1], "出差", NOW)
    page = await activities_for_units(session, {wanda.id}, NOW)
    counts = {c.activity.id: c for c in page.items}
    assert [c.activity.id for c in page.items] == [volunteer.id, meeting.id]
    v, m = counts[volunteer.id], counts[meeting.id]
    assert (v.signed_up, v.waitlisted, v.expected, v.no_answer) == (2, 1, 0, 0)
    assert (m.expected, m.attending, m.leave_requested, m.excused, m.no_answer) == (4, 1, 1, 0, 2)
    assert (await activities_for_units(session, {999}, NOW)).total == 0


# --- sign-up and the waitlist --------------------------------------------------------


async def test_sign_up_then_waitlist_then_promotion(
    session: AsyncSession, wanda: OrgUnit, members: list[Member]
) -> None:
    activity = await create_activity(session, SECRETARY, wanda.id, draft(capacity=2), NOW)
    statuses = [(await sign_up(session, activity.id, m, NOW)).status for m in members[:3]]
    assert statuses == [ParticipationStatus.signed_up] * 2 + [ParticipationStatus.waitlisted]
    fourth = await join_waitlist(session, activity.id, members[3], NOW)
    assert fourth.status is ParticipationStatus.waitlisted
    assert await seats_left(session, activity.id) == 0
    assert await waitlist_length(session, activity.id) == 2
    assert [await waitlist_position(session, activity.id, m) for m in members] == [None, None, 1, 2]

    promoted = await cancel_signup(session, activity.id, members[0], NOW)
    assert promoted is not None and promoted.id == members[2].id
    assert await waitlist_position(session, activity.id, members[3]) == 1
    # Leaving the waitlist promotes nobody and frees no seat.
    assert await cancel_signup(session, activity.id, members[3], NOW) is None
    assert await waitlist_length(session, activity.id) == 0
    # A seat freed with nobody waiting is simply free.
    assert await cancel_signup(session, activity.id, members[1], NOW) is None
    assert await seats_left(session, activity.id) == 1
    # Signing up again after cancelling is allowed.
    again = await sign_up(session, activity.id, members[0], NOW)
    assert again.status is ParticipationStatus.signed_up


async def test_sign_up_refusals(
    session: AsyncSession, units: dict[str, OrgUnit], members: list[Member]
) -> None:
    wanda = units["wanda-plaza"]
    activity = await create_activity(
        session,
        SECRETARY,
        wanda.id,
        draft(capacity=5, signup_deadline=START - timedelta(days=1)),
        NOW,
    )
    await sign_up(session, activity.id, members[0], NOW)

    async def refused(member: Member, now: datetime, activity_id: int = activity.id) -> str:
        with pytest.raises(InvalidState) as caught:
            await sign_up(session, activity_id, member, now)
        return caught.value.code

    assert await refused(members[0], NOW) == "signup.already"
    assert await refused(members[1], START - timedelta(hours=12)) == "signup.deadline_passed"
    assert await refused(members[1], END) == "activity.finished"
    outsider = await active_member(session, units["tech-incubator"], 900)
    assert await refused(outsider, NOW) == "activity.not_in_audience"
    meeting = await create_activity(session, SECRETARY, wanda.id, MEETING, NOW)
    assert await refused(members[1], NOW, meeting.id) == "activity.not_signup"
    with pytest.raises(NotFound):
        await sign_up(session, 999_999, members[1], NOW)
    # The outsider's press changed nothing.
    assert await seats_left(session, activity.id) == 4


async def test_cancel_cutoff(session: AsyncSession, wanda: OrgUnit, members: list[Member]) -> None:
    activity = await create_activity(
        session, SECRETARY, wanda.id, draft(capacity=1, cancel_cutoff_hours=5), NOW
    )
    await sign_up(session, activity.id, members[0], NOW)
    await sign_up(session, activity.id, members[1], NOW)
    with pytest.raises(InvalidState) as caught:
        await cancel_signup(session, activity.id, members[0], START - timedelta(hours=4))
    assert caught.value.code == "signup.cutoff_passed"
    # The waitlisted member may still leave the queue.
    assert await cancel_signup(session, activity.id, members[1], START - timedelta(hours=4)) is None
    with pytest.raises(InvalidState) as caught:
        await cancel_signup(session, activity.id, members[2], NOW)
    assert caught.value.code == "signup.not_signed_up"
    assert await cancel_signup(session, activity.id, members[0], START - timedelta(hours=5)) is None


async def test_pledges(session: AsyncSession, wanda: OrgUnit, members: list[Member]) -> None:
    trees = await create_activity(
        session,
        SECRETARY,
        wanda.id,
        draft(kind="tree_planting", capacity=None, pledge_kind="saplings"),
        NOW,
    )
    row = await sign_up(session, trees.id, members[0], NOW, pledge=" 3 ")
    assert row.pledge_amount == 3 and row.status is ParticipationStatus.signed_up
    assert await seats_left(session, trees.id) is None  # unlimited
    for pledge in ("abc", 0, "-2", "9" * 5000, str(10**7 + 1)):
        with pytest.raises(InvalidInput) as caught:
            await sign_up(session, trees.id, members[1], NOW, pledge=pledge)
        assert caught.value.code == "pledge.invalid"
    plain = await create_activity(session, SECRETARY, wanda.id, draft(), NOW)
    with pytest.raises(InvalidInput) as caught:
        await sign_up(session, plain.id, members[1], NOW, pledge=5)
    assert caught.value.code == "pledge.not_accepted"


# --- recurrence -----------------------------------------------------------------------

# The theme day (主题党日): the last Friday of each month, 15:00 in Shanghai.
THEME_DAYS = SeriesDraft(
    kind="theme_day",
    title="主题党日",
    rule="last_friday_monthly",
    local_time=time(15, 0),
    duration_minutes=120,
    timezone="Asia/Shanghai",
    starts_on=date(2026, 3, 1),
)


async def test_generating_the_theme_day_is_idempotent(
    session: AsyncSession, wanda: OrgUnit, members: list[Member]
) -> None:
    series = await create_series(
        session,
        SECRETARY,
        wanda.id,
        THEME_DAYS,
    )
    until = datetime(2026, 6, 30, tzinfo=UTC)
    created = await generate_occurrences(session, series, until, NOW)
    # 15:00 in Shanghai is 07:00 UTC; March 27, April 24, May 29, June 26.
    assert [a.starts_at for a in created] == [
        datetime(2026, m, d, 7, tzinfo=UTC) for m, d in ((3, 27), (4, 24), (5, 29), (6, 26))
    ]
    assert all(a.series_id == series.id and a.kind is ActivityKind.theme_day for a in created)
    assert created[0].ends_at - created[0].starts_at == timedelta(hours=2)
    assert await generate_occurrences(session, series, until, NOW) == []
    # A cancelled occurrence is not made again; extending the horizon adds only new ones.
    await cancel_activity(session, created[0].id, SECRETARY, NOW)
    more = await generate_occurrences(session, series, datetime(2026, 8, 1, tzinfo=UTC), NOW)
    assert [a.starts_at.date() for a in more] == [date(2026, 7, 31)]
    coming = await upcoming_for_member(session, members[0], NOW, page_size=10)
    assert [i.activity.starts_at.date() for i in coming.items] == [
        date(2026, m, d) for m, d in ((4, 24), (5, 29), (6, 26), (7, 31))
    ]


async def test_occurrences_made_meanwhile_by_another_run_are_not_made_twice(
    session: AsyncSession, wanda: OrgUnit
) -> None:
    """Occurrences are written all at once; when another run made some of them a moment
    ago (here: `existing` read before it did), the rest are still made, one at a time."""
    series = await create_series(
        session,
        SECRETARY,
        wanda.id,
        THEME_DAYS,
    )
    first = await generate_occurrences(session, series, datetime(2026, 4, 30, tzinfo=UTC), NOW)
    assert len(first) == 2
    later = datetime(2026, 6, 30, tzinfo=UTC)
    rest = await generate_occurrences(session, series, later, NOW, existing=set())
    assert [a.starts_at.date() for a in rest] == [date(2026, 5, 29), date(2026, 6, 26)]
    starts = await session.scalars(
        select(Activity.starts_at).where(Activity.series_id == series.id)
    )
    assert sorted(a.date() for a in starts) == [
        date(2026, 3, 27),
        date(2026, 4, 24),
        date(2026, 5, 29),
        date(2026, 6, 26),
    ]


async def test_series_in_a_dst_zone_keeps_the_local_time(
    session: AsyncSession, wanda: OrgUnit
) -> None:
    series = await create_series(
        session,
        SECRETARY,
        wanda.id,
        SeriesDraft(
            kind="committee_meeting",
            title="支委会",
            rule="weekly",
            rule_day=4,
            local_time=time(19, 0),
            duration_minutes=60,
            timezone="Europe/Berlin",
            starts_on=date(2026, 3, 1),
        ),
    )
    created = await generate_occurrences(session, series, datetime(2026, 4, 4, tzinfo=UTC), NOW)
    # Berlin moves to summer time on 29 March 2026: 19:00 is 18:00 UTC before, 17:00 after.
    assert [a.starts_at for a in created] == [
        datetime(2026, 3, 13, 18, tzinfo=UTC),
        datetime(2026, 3, 20, 18, tzinfo=UTC),
        datetime(2026, 3, 27, 18, tzinfo=UTC),
        datetime(2026, 4, 3, 17, tzinfo=UTC),
    ]


async def test_series_refusals(session: AsyncSession, wanda: OrgUnit) -> None:
    base = SeriesDraft(
        kind="theme_day",
        title="主题党日",
        rule="weekly",
        rule_day=4,
        local_time=time(15),
        duration_minutes=60,
        timezone="Asia/Shanghai",
        starts_on=date(2026, 3, 1),
    )
    for changes, code in (
        ({"kind": "volunteer"}, "kind.not_recurring"),
        ({"rule_day": 7}, "rule_day.invalid"),
        ({"rule": "last_friday_monthly"}, "rule_day.invalid"),
        ({"timezone": "Mars/Olympus"}, "timezone.invalid"),
        ({"duration_minutes": 0}, "duration.invalid"),
    ):
        with pytest.raises(InvalidInput) as caught:
            await create_series(session, SECRETARY, wanda.id, replace(base, **changes))
        assert caught.value.code == code
    with pytest.raises(PermissionDenied):
        await create_series(session, OTHER_SECRETARY, wanda.id, base)


# --- calendar file ---------------------------------------------------------------------


async def test_ics_reads_back(session: AsyncSession, wanda: OrgUnit) -> None:
    activity = await create_activity(
        session, SECRETARY, wanda.id, draft(description="带上身份证"), NOW
    )
    calendar = icalendar.Calendar.from_ical(ics_for(activity, "Asia/Shanghai"))
    events = list(calendar.walk("VEVENT"))
    assert len(events) == 1
    event = events[0]
    assert str(event["UID"]) == f"activity-{activity.id}@branchbot"
    assert event.decoded("DTSTART") == START and event.decoded("DTEND") == END
    assert event.decoded("DTSTART").utcoffset() == timedelta(0)
    assert (str(event["SUMMARY"]), str(event["LOCATION"])) == ("义诊志愿服务", "湛江万达广场")
    assert str(event["DESCRIPTION"]) == "带上身份证"
    # The UID is stable: an edited activity replaces the calendar entry.
    await update_activity(session, activity.id, SECRETARY, NOW, title="义诊")
    again = icalendar.Calendar.from_ical(ics_for(activity, "Asia/Shanghai"))
    assert [str(e["UID"]) for e in again.walk("VEVENT")] == [str(event["UID"])]
