"""/stats figures (models.stats.queries) against a small record counted by hand.

The record, in Asia/Shanghai, "now" being 2026-05-20 12:00 local:
- 湛江万达广场商圈党支部 (W, a branch): w0 (floating, also 双报到 to 海滨北社区),
  w1, w2, w3 (forgotten once the record was kept); reports of four more people;
  a general meeting on 10 April (w0 present, w1 excused, w2 made up, w3 absent, a walk-in
  from H), a theme day on 24 April (w0-w2 present, w3 absent), a theme day on 10 May
  whose record is not closed yet, a committee meeting on 25 May (to come), a cancelled
  group meeting, a lecture on 30 March (w0 present); a volunteer service (full span) and
  a tree planting (check-out required, saplings pledged); three notices counted, one
  withdrawn, one in March.
- 湛江华都汇商圈党支部 (H, a branch): h0, h1; a general meeting on 12 April (h0 present,
  h1 absent), a volunteer service with money pledged, one notice.
- Both under 海滨北社区党委 (C, a community), under 乐华街道党工委 (L).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from models.activities import (
    Activity,
    ActivityKind,
    ActivityStatus,
    Participation,
    ParticipationStatus,
    PledgeKind,
    create_activity,
)
from models.attendance import close_record
from models.errors import NotFound, NotStaff, PermissionDenied
from models.members import Member, Membership, MembershipKind, MembershipStatus, MemberType, Via
from models.notices.tables import Audience, Notice, NoticeRecipient
from models.org import OrgUnit, import_org, list_tree
from models.permissions import Role, grant_role
from models.stats.figures import Attendance, Notices, Reporting, Service
from models.stats.period import Period
from models.stats.queries import committee_stats, stats_units, unit_stats
from tests.domain.test_activities_support import (
    ADMIN,
    MEETING,
    ORGANIZER,
    OTHER_SECRETARY,
    SECRETARY,
    VOLUNTEER,
    active_member,
    draft,
    grant_staff,
)

ZONE = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 5, 20, 12, 0, tzinfo=ZONE).astimezone(UTC)
Q2 = Period(date(2026, 4, 1), date(2026, 6, 30))
MAY = Period(date(2026, 5, 1), date(2026, 5, 31))
YEAR = Period(date(2026, 1, 1), date(2026, 12, 31))
COMMITTEE_SECRETARY = 2010  # of 海滨北社区党委
HOUR = timedelta(hours=1)


def local(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=ZONE).astimezone(UTC)


async def activity(
    session: AsyncSession,
    unit: OrgUnit,
    kind: ActivityKind,
    starts_at: datetime,
    hours: float = 2,
    **changes: object,
) -> Activity:
    base = VOLUNTEER if kind in (ActivityKind.volunteer, ActivityKind.tree_planting) else MEETING
    fields = {"capacity": None, **changes}
    return await create_activity(
        session,
        ADMIN,
        unit.id,
        draft(
            base,
            kind=kind,
            title=f"{kind} {starts_at:%m-%d}",
            starts_at=starts_at,
            ends_at=starts_at + timedelta(hours=hours),
            **fields,
        ),
        starts_at - timedelta(days=1),
    )


async def close(session: AsyncSession, activity: Activity) -> None:
    await close_record(session, activity.id, activity.ends_at + timedelta(minutes=1))


def report(
    session: AsyncSession,
    unit: OrgUnit,
    status: MembershipStatus,
    requested_at: datetime,
    decided_at: datetime | None,
    number: int,
    kind: MembershipKind = MembershipKind.primary,
    member: Member | None = None,
) -> None:
    if member is None:
        member = Member(telegram_id=9000 + number, real_name=f"报到{number}", consent_at=NOW)
    session.add(
        Membership(
            member=member,
            unit=unit,
            kind=kind,
            status=status,
            via=Via.invite,
            requested_at=requested_at,
            decided_at=decided_at,
        )
    )


async def notice(
    session: AsyncSession,
    unit: OrgUnit,
    sent_at: datetime,
    readers: dict[Member, bool],
    ack_required: bool = True,
    withdrawn: bool = False,
) -> None:
    sent = Notice(
        org_unit_id=unit.id,
        author_id=SECRETARY,
        body_html="通知",
        audience=Audience.unit,
        ack_required=ack_required,
        send_at=sent_at,
        sent_at=sent_at,
        withdrawn_at=sent_at + HOUR if withdrawn else None,
    )
    session.add(sent)
    await session.flush()
    for member, acknowledged in readers.items():
        session.add(
            NoticeRecipient(
                notice_id=sent.id,
                member_id=member.id,
                delivery_key=f"n:{sent_at:%m%d%H}:{member.id}",
                acknowledged_at=sent_at + HOUR if acknowledged else None,
            )
        )


@pytest.fixture
async def record(session: AsyncSession, units: dict[str, OrgUnit]) -> dict[str, Member]:
    await grant_staff(session, units)
    await grant_role(
        session, COMMITTEE_SECRETARY, Role.secretary, units["haibinbei-community"].id, None
    )
    wanda, huadu = units["wanda-plaza"], units["huaduhui"]
    names = {"w0": "成员C", "w1": "成员B", "w2": "成员A", "w3": "成员D"}
    people = {
        key: await active_member(session, wanda, 100 + i, name)
        for i, (key, name) in enumerate(names.items())
    }
    people["h0"] = await active_member(session, huadu, 200, "华都甲")
    people["h1"] = await active_member(session, huadu, 201, "华都乙")
    people["t0"] = await active_member(session, units["tech-incubator"], 300, "孵化器")
    w0, w1, w2, w3, h0, h1 = (people[k] for k in ("w0", "w1", "w2", "w3", "h0", "h1"))
    w0.member_type = MemberType.floating

    rows: list[Participation] = []

    def add(
        activity: Activity, member: Member, status: ParticipationStatus, **values: object
    ) -> None:
        if values.pop("checked_in", False):
            values["checked_in_at"] = activity.starts_at
        # Written directly; `checked_in` True checks in at the start.
        rows.append(
            Participation(activity_id=activity.id, member_id=member.id, status=status, **values)
        )

    async def write() -> None:
        session.add_all(rows)
        rows.clear()
        await session.flush()

    attending, excused = ParticipationStatus.attending, ParticipationStatus.excused
    meeting = await activity(session, wanda, ActivityKind.general_meeting, local(4, 10, 10))
    add(meeting, w0, attending, checked_in=True)
    add(meeting, w1, excused)
    add(meeting, w2, ParticipationStatus.made_up)
    add(meeting, h0, attending, checked_in=True, walk_in=True)
    theme = await activity(session, wanda, ActivityKind.theme_day, local(4, 24, 14), 3)
    for member in (w0, w1, w2):
        add(theme, member, attending, checked_in=True)
    add(theme, w3, attending)  # said they would come, never did: absent when closed
    await activity(session, wanda, ActivityKind.theme_day, local(5, 10, 14))  # not closed
    await activity(session, wanda, ActivityKind.committee_meeting, local(5, 25, 9))
    cancelled = await activity(session, wanda, ActivityKind.group_meeting, local(4, 15, 9))
    cancelled.status = ActivityStatus.cancelled
    lecture = await activity(session, wanda, ActivityKind.lecture, local(3, 30, 19))
    add(lecture, w0, attending, checked_in=True)
    huadu_meeting = await activity(session, huadu, ActivityKind.general_meeting, local(4, 12, 10))
    add(huadu_meeting, h0, attending, checked_in=True)
    await write()
    for closing in (meeting, theme, lecture, huadu_meeting):
        await close(session, closing)

    signed_up, waitlisted = ParticipationStatus.signed_up, ParticipationStatus.waitlisted
    service = await activity(session, wanda, ActivityKind.volunteer, local(4, 18, 9), 3, capacity=3)
    service.seats_taken = 3
    add(service, w0, attending, checked_in=True)
    add(service, w1, attending, checked_in=True)
    add(service, w2, signed_up)  # a no-show once closed
    add(service, h1, waitlisted, queue_number=1)
    planting = await activity(
        session,
        wanda,
        ActivityKind.tree_planting,
        local(5, 5, 8),
        4,
        check_out_required=True,
        pledge_kind=PledgeKind.saplings,
    )
    planting.seats_taken = 4
    start = planting.starts_at
    add(
        planting,
        w0,
        attending,
        checked_in_at=start + HOUR / 2,
        checked_out_at=start + 3.5 * HOUR,
        pledge_amount=5,
        saplings_planted=4,
    )
    add(
        planting,
        w1,
        attending,
        checked_in_at=start - HOUR / 6,
        checked_out_at=start + 4.5 * HOUR,
        pledge_amount=3,
        saplings_planted=2,
    )
    add(planting, w2, attending, checked_in_at=start + HOUR, pledge_amount=2)  # no check-out
    add(planting, w3, signed_up, pledge_amount=10)
    add(planting, h1, ParticipationStatus.cancelled, pledge_amount=7)
    dropped = await activity(session, wanda, ActivityKind.volunteer, local(4, 26, 9))
    add(dropped, w0, attending, checked_in=True)
    dropped.status = ActivityStatus.cancelled
    money = await activity(
        session, huadu, ActivityKind.volunteer, local(4, 20, 9), pledge_kind=PledgeKind.money
    )
    money.seats_taken = 1
    add(money, h0, attending, checked_in=True, pledge_amount=100)
    await write()
    for closing in (service, planting, money):
        await close(session, closing)

    report(session, wanda, MembershipStatus.pending, local(4, 5, 10), None, 1)
    report(session, wanda, MembershipStatus.rejected, local(3, 28, 10), local(4, 2, 10), 2)
    report(session, wanda, MembershipStatus.active, local(4, 3, 10), local(4, 4, 10), 3)
    report(session, wanda, MembershipStatus.left, local(5, 1, 10), local(5, 2, 10), 4)
    community = units["haibinbei-community"]
    report(
        session,
        community,
        MembershipStatus.active,
        local(4, 6, 10),
        local(4, 7, 10),
        0,
        MembershipKind.community,
        w0,
    )
    report(
        session,
        community,
        MembershipStatus.pending,
        local(4, 6, 10),
        None,
        0,
        MembershipKind.community,
        w1,
    )

    await notice(session, wanda, local(4, 15, 9), {w0: True, w1: False, w2: True})
    await notice(session, wanda, local(5, 1, 9), {w0: False}, ack_required=False)
    await notice(session, wanda, local(4, 16, 9), {w0: True}, withdrawn=True)
    await notice(session, wanda, local(3, 1, 9), {w0: True})
    await notice(session, huadu, local(4, 2, 9), {h0: True})
    await session.flush()
    # Forgotten after the record was kept: anonymous in the figures, no longer a member.
    await session.execute(
        update(Member)
        .where(Member.id == w3.id)
        .values(real_name=None, forgotten_at=NOW - HOUR, telegram_id=None)
    )
    return people


def requirement(stats, kind: ActivityKind) -> tuple[int, int, int, int, bool, int]:  # type: ignore[no-untyped-def]
    found = next(r for r in stats.life if r.kind is kind)
    return (
        found.required,
        found.due_so_far,
        found.held,
        found.scheduled,
        found.behind,
        found.still_needed,
    )


async def test_requirements_by_month_quarter_and_year(
    session: AsyncSession, units: dict[str, OrgUnit], record: dict[str, Member]
) -> None:
    wanda = units["wanda-plaza"].id
    quarter = await unit_stats(session, SECRETARY, wanda, Q2, NOW, ZONE)
    assert [r.kind for r in quarter.life] == [
        ActivityKind.general_meeting,
        ActivityKind.committee_meeting,
        ActivityKind.group_meeting,
        ActivityKind.lecture,
        ActivityKind.theme_day,
    ]
    # (required, due so far, held, scheduled, behind, still needed)
    assert requirement(quarter, ActivityKind.general_meeting) == (1, 0, 1, 0, False, 0)
    assert requirement(quarter, ActivityKind.committee_meeting) == (3, 1, 0, 1, True, 2)
    assert requirement(quarter, ActivityKind.group_meeting) == (
        3,
        1,
        0,
        0,
        True,
        3,
    )  # cancelled one
    assert requirement(quarter, ActivityKind.lecture) == (1, 0, 0, 0, True, 1)  # in March
    assert requirement(quarter, ActivityKind.theme_day) == (3, 1, 2, 0, True, 1)
    assert [r.per_quarter for r in quarter.life] == [True, False, False, True, False]

    may = await unit_stats(session, SECRETARY, wanda, MAY, NOW, ZONE)
    assert requirement(may, ActivityKind.general_meeting) == (1, 0, 0, 0, True, 1)
    assert requirement(may, ActivityKind.committee_meeting) == (1, 0, 0, 1, False, 0)
    assert requirement(may, ActivityKind.theme_day) == (1, 0, 1, 0, False, 0)

    year = await unit_stats(session, SECRETARY, wanda, YEAR, NOW, ZONE)
    assert requirement(year, ActivityKind.lecture) == (4, 1, 1, 0, True, 3)
    assert requirement(year, ActivityKind.theme_day) == (12, 4, 2, 0, True, 10)
    assert requirement(year, ActivityKind.committee_meeting) == (12, 4, 0, 1, True, 11)


async def test_attendance_per_activity_per_member_and_month(
    session: AsyncSession, units: dict[str, OrgUnit], record: dict[str, Member]
) -> None:
    stats = await unit_stats(session, SECRETARY, units["wanda-plaza"].id, Q2, NOW, ZONE)
    assert [(a.kind, a.starts_at, a.attendance) for a in stats.activities] == [
        (ActivityKind.general_meeting, local(4, 10, 10), Attendance(1, 1, 1, 1, walk_ins=1)),
        (ActivityKind.theme_day, local(4, 24, 14), Attendance(present=3, absent=1)),
    ]  # the theme day of 10 May is not closed yet, the group meeting was cancelled
    assert stats.attendance == Attendance(present=4, excused=1, absent=2, made_up=1, walk_ins=1)
    assert stats.attendance.rate == 0.5
    w0, w1, w2 = (record[k] for k in ("w0", "w1", "w2"))
    assert [(m.member_id, m.name, m.attendance) for m in stats.members] == [
        (record["w3"].id, "—", Attendance(absent=2)),
        (w2.id, "成员A", Attendance(present=1, made_up=1)),
        (w1.id, "成员B", Attendance(present=1, excused=1)),
        (w0.id, "成员C", Attendance(present=2)),
    ]  # h0 only walked in: not one of W's counted
    assert [(m.first, m.attendance, m.hours) for m in stats.months] == [
        (date(2026, 4, 1), stats.attendance, 6.0),
        (date(2026, 5, 1), Attendance(), pytest.approx(7.0)),
        (date(2026, 6, 1), Attendance(), 0.0),
    ]

    year = await unit_stats(session, SECRETARY, units["wanda-plaza"].id, YEAR, NOW, ZONE)
    assert year.attendance == Attendance(present=5, excused=1, absent=5, made_up=1, walk_ins=1)
    assert [m.first.month for m in year.months] == list(range(1, 13))
    assert year.months[2].attendance == Attendance(present=1, absent=3)  # the March lecture


async def test_service_hours_saplings_and_money(
    session: AsyncSession, units: dict[str, OrgUnit], record: dict[str, Member]
) -> None:
    stats = await unit_stats(session, SECRETARY, units["wanda-plaza"].id, Q2, NOW, ZONE)
    # Volunteer: 2 checked in x 3 h. Planting, check-out required: 3 h + 4 h (clipped to
    # the span) + 0 (never checked out). The cancelled service counts nowhere.
    assert stats.service.hours == pytest.approx(13.0)
    assert stats.service == Service(
        activities=2,
        hours=stats.service.hours,
        saplings_pledged=20,  # 5 + 3 + 2 + 10 (a no-show's seat still pledged); not 7
        saplings_planted=6,
        money_pledged=0,
        signed_up=7,
        capacity=3,
        unlimited=1,
        waitlisted=1,
        no_shows=2,
    )
    huadu = await unit_stats(session, ADMIN, units["huaduhui"].id, Q2, NOW, ZONE)
    assert huadu.service == Service(
        activities=1, hours=2.0, money_pledged=100, signed_up=1, unlimited=1
    )


async def test_reporting_and_dual_reporting(
    session: AsyncSession, units: dict[str, OrgUnit], record: dict[str, Member]
) -> None:
    stats = await unit_stats(session, SECRETARY, units["wanda-plaza"].id, Q2, NOW, ZONE)
    # w0-w2 and report 3 are active now (w3 is forgotten, report 4 left); w0 is floating
    # and also reported to 海滨北社区 (w1's report there is pending).
    assert stats.reporting == Reporting(
        reported=3, approved=2, rejected=1, waiting=1, members=4, floating=1, dual_reported=1
    )
    may = await unit_stats(session, SECRETARY, units["wanda-plaza"].id, MAY, NOW, ZONE)
    assert may.reporting == Reporting(
        reported=1, approved=1, waiting=1, members=4, floating=1, dual_reported=1
    )


async def test_notices_share_acknowledged(
    session: AsyncSession, units: dict[str, OrgUnit], record: dict[str, Member]
) -> None:
    stats = await unit_stats(session, SECRETARY, units["wanda-plaza"].id, Q2, NOW, ZONE)
    assert stats.notices == Notices(sent=2, asked=3, acknowledged=2)
    assert stats.notices.acknowledged_share == pytest.approx(2 / 3)


async def test_committee_rows_side_by_side_and_total(
    session: AsyncSession, units: dict[str, OrgUnit], record: dict[str, Member]
) -> None:
    stats = await committee_stats(
        session, COMMITTEE_SECRETARY, units["haibinbei-community"].id, Q2, NOW, ZONE
    )
    wanda, huadu = stats.rows
    assert (wanda.unit.code, huadu.unit.code) == ("wanda-plaza", "huaduhui")  # by name
    assert (wanda.life_held, wanda.life_required, wanda.behind) == (3, 11, 4)
    assert (huadu.life_held, huadu.life_required, huadu.behind) == (1, 11, 4)
    assert wanda.attendance == Attendance(present=4, excused=1, absent=2, made_up=1, walk_ins=1)
    assert huadu.attendance == Attendance(present=1, absent=1)
    assert huadu.reporting == Reporting(members=2)
    assert huadu.notices == Notices(sent=1, asked=1, acknowledged=1)
    alone = await unit_stats(session, ADMIN, units["wanda-plaza"].id, Q2, NOW, ZONE)
    assert (wanda.service, wanda.reporting, wanda.notices) == (
        alone.service,
        alone.reporting,
        alone.notices,
    )

    total = stats.total
    # Two branches: twice each branch's requirement; the general meetings (2 of 2) are met.
    assert (total.life_held, total.life_required, total.behind) == (4, 22, 4)
    assert total.attendance == Attendance(present=5, excused=1, absent=3, made_up=1, walk_ins=1)
    assert total.service.activities == 3 and total.service.hours == pytest.approx(15.0)
    assert total.service.money_pledged == 100 and total.service.saplings_pledged == 20
    assert total.reporting == Reporting(3, 2, 1, 1, members=6, floating=1, dual_reported=1)
    assert total.notices == Notices(sent=3, asked=4, acknowledged=3)

    community = await unit_stats(
        session, COMMITTEE_SECRETARY, units["haibinbei-community"].id, Q2, NOW, ZONE
    )
    assert requirement(community, ActivityKind.general_meeting) == (2, 0, 2, 0, False, 0)
    assert requirement(community, ActivityKind.theme_day) == (6, 2, 2, 0, True, 4)
    assert community.attendance == total.attendance and len(community.members) == 6

    top = await committee_stats(session, ADMIN, units["zhanjiang-edz"].id, Q2, NOW, ZONE)
    assert [r.unit.code for r in top.rows] == [  # by name (乐 < 欢 < 泉)
        "lehua-street",
        "huanlejia-building",
        "quanzhuang-street",
    ]
    lehua = top.rows[0]
    assert (lehua.life_held, lehua.life_required, lehua.attendance) == (4, 22, total.attendance)
    assert top.total.reporting.members == 7  # t0 too


async def test_a_group_owes_what_a_branch_does(
    session: AsyncSession, units: dict[str, OrgUnit], record: dict[str, Member]
) -> None:
    await import_org(
        session,
        {
            "unit": [
                {
                    "code": "wanda-group",
                    "kind": "group",
                    "name_zh": "第一党小组",
                    "parent": "wanda-plaza",
                }
            ]
        },
    )
    group = next(unit for _, unit in await list_tree(session) if unit.code == "wanda-group")
    meeting = await activity(session, group, ActivityKind.group_meeting, local(5, 12, 19))
    await close(session, meeting)
    alone = await unit_stats(session, ADMIN, group.id, MAY, NOW, ZONE)
    assert requirement(alone, ActivityKind.group_meeting) == (1, 0, 1, 0, False, 0)
    assert requirement(alone, ActivityKind.theme_day) == (1, 0, 0, 0, True, 1)
    branch = await unit_stats(session, SECRETARY, units["wanda-plaza"].id, MAY, NOW, ZONE)
    assert requirement(branch, ActivityKind.group_meeting) == (1, 0, 1, 0, False, 0)
    rows = (await committee_stats(session, SECRETARY, units["wanda-plaza"].id, MAY, NOW, ZONE)).rows
    assert [(r.unit.code, r.life_held, r.life_required, r.behind) for r in rows] == [
        ("wanda-group", 1, 5, 4)
    ]


async def test_who_may_see_which_figures(
    session: AsyncSession, units: dict[str, OrgUnit], record: dict[str, Member]
) -> None:
    wanda, huadu, community = (
        units[c].id for c in ("wanda-plaza", "huaduhui", "haibinbei-community")
    )
    assert [u.code for u in await stats_units(session, SECRETARY)] == ["wanda-plaza"]
    await unit_stats(session, SECRETARY, wanda, Q2, NOW, ZONE)
    for unit_id in (huadu, community):
        with pytest.raises(PermissionDenied):
            await unit_stats(session, SECRETARY, unit_id, Q2, NOW, ZONE)
    with pytest.raises(PermissionDenied):
        await committee_stats(session, SECRETARY, community, Q2, NOW, ZONE)

    # The highest unit only: the branches below it are opened from its figures.
    assert [u.code for u in await stats_units(session, COMMITTEE_SECRETARY)] == [
        "haibinbei-community"
    ]
    for unit_id in (community, wanda, huadu):
        await unit_stats(session, COMMITTEE_SECRETARY, unit_id, Q2, NOW, ZONE)
    with pytest.raises(PermissionDenied):
        await unit_stats(session, COMMITTEE_SECRETARY, units["tech-incubator"].id, Q2, NOW, ZONE)
    with pytest.raises(PermissionDenied):
        await committee_stats(session, COMMITTEE_SECRETARY, units["lehua-street"].id, Q2, NOW, ZONE)

    assert [u.code for u in await stats_units(session, ADMIN)] == ["zhanjiang-edz"]
    await committee_stats(session, ADMIN, units["zhanjiang-edz"].id, Q2, NOW, ZONE)
    assert [u.code for u in await stats_units(session, OTHER_SECRETARY)] == ["tech-incubator"]

    member = record["w0"].telegram_id
    assert member is not None
    for person in (member, ORGANIZER):  # an organizer runs activities but sees no figures
        with pytest.raises(NotStaff):
            await stats_units(session, person)
        with pytest.raises(PermissionDenied):
            await unit_stats(session, person, wanda, Q2, NOW, ZONE)
    with pytest.raises(NotFound):
        await unit_stats(session, ADMIN, 999_999, Q2, NOW, ZONE)


async def test_an_empty_period_is_empty(
    session: AsyncSession, units: dict[str, OrgUnit], record: dict[str, Member]
) -> None:
    quiet = await unit_stats(session, OTHER_SECRETARY, units["tech-incubator"].id, Q2, NOW, ZONE)
    assert quiet.empty and not quiet.activities and not quiet.members
    assert quiet.reporting == Reporting(members=1)  # members now, whatever the period
    assert [r.required for r in quiet.life] == [1, 3, 3, 1, 3]
    before = Period(date(2025, 1, 1), date(2025, 12, 31))
    assert (await unit_stats(session, SECRETARY, units["wanda-plaza"].id, before, NOW, ZONE)).empty
    assert not (await unit_stats(session, SECRETARY, units["wanda-plaza"].id, Q2, NOW, ZONE)).empty
