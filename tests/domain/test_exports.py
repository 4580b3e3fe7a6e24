"""The rows of /export, on a small data set counted by hand, and who may export what.

The data (March 2026, Asia/Shanghai; rows written directly, as the record would be):
- Wanda Plaza (branch): Ann (regular), Bob (floating), Cat (regular, also reported to the
  Haibin North community: 双报到); Huaduhui (its sibling): Dan; the incubator: Eve.
- Wanda's activities: m1 general meeting on 2 March (closed: Ann present, Bob excused,
  Cat absent); m2 theme day on 5 March (closed: Ann absent, Bob made up, Cat present,
  Dan a walk-in); v1 volunteering on 7 March, 3 h (Ann present, Bob a no-show); t1 tree
  planting on 8 March with check-out (Ann 08:30-09:30, 5 planted, 10 pledged; Cat
  checked in, no check-out, 3 pledged); x1 volunteering on 9 March, cancelled; m3 a
  committee meeting on 20 March, not held yet; and a general meeting in February.
- Huaduhui: a lecture on 3 March (Dan present).
- A notice of Wanda on 3 March to Ann (acknowledged) and Bob (blocked the bot), one in
  February.
"""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from models.activities import (
    Activity,
    ActivityKind,
    ActivityMode,
    ActivityStatus,
    Participation,
    ParticipationStatus,
    PledgeKind,
)
from models.errors import InvalidState, NotFound, PermissionDenied
from models.exports import (
    Cell,
    Scope,
    activity_rows,
    attendance_matrix,
    export_scope,
    notice_rows,
    roster_rows,
    sign_in_rows,
    volunteer_rows,
)
from models.members import (
    Member,
    Membership,
    MembershipKind,
    MembershipStatus,
    MemberType,
    Via,
    floating_register,
)
from models.notices import Audience, Notice, NoticeRecipient
from models.org import OrgUnit
from models.outbox import DeliveryStatus
from models.permissions import Role, grant_role
from models.stats.period import Period
from tests.domain.conftest import NOW
from tests.domain.test_activities_support import (
    ADMIN,
    ORGANIZER,
    OTHER_SECRETARY,
    SECRETARY,
    grant_staff,
)

ZONE = ZoneInfo("Asia/Shanghai")
MARCH = Period(date(2026, 3, 1), date(2026, 3, 31))
COMMITTEE_SECRETARY = 2010  # of Lehua Street, above Haibin North, above Wanda and Huaduhui
ANN_ID = 501
_codes = itertools.count(1)


def local(day: int, hour: int, minute: int = 0, month: int = 3) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=ZONE).astimezone(UTC)


async def member(
    session: AsyncSession,
    unit: OrgUnit,
    telegram_id: int,
    name: str,
    member_type: MemberType = MemberType.regular,
) -> Member:
    person = Member(
        telegram_id=telegram_id,
        real_name=name,
        phone=f"+86138{telegram_id:08d}",
        member_type=member_type,
        home_branch="长沙某支部" if member_type is MemberType.floating else None,
        consent_at=NOW,
    )
    session.add(person)
    await session.flush()
    await membership(session, person, unit)
    return person


async def membership(
    session: AsyncSession,
    person: Member,
    unit: OrgUnit,
    kind: MembershipKind = MembershipKind.primary,
) -> None:
    session.add(
        Membership(
            member_id=person.id,
            org_unit_id=unit.id,
            kind=kind,
            status=MembershipStatus.active,
            via=Via.secretary,
            requested_at=NOW - timedelta(days=60),
            decided_at=NOW - timedelta(days=50),
            decided_by=SECRETARY,
        )
    )
    await session.flush()


async def activity(
    session: AsyncSession,
    unit: OrgUnit,
    kind: ActivityKind,
    starts_at: datetime,
    hours: float = 2,
    closed: bool = False,
    **fields: Any,
) -> Activity:
    code = next(_codes)
    row = Activity(
        org_unit_id=unit.id,
        kind=kind,
        title=fields.pop("title", f"{kind.value} {code}"),
        starts_at=starts_at,
        ends_at=starts_at + timedelta(hours=hours),
        share_code=f"exp{code}",
        check_in_code="1234",
        created_by=SECRETARY,
        record_closed_at=starts_at + timedelta(hours=hours) if closed else None,
        **fields,
    )
    session.add(row)
    await session.flush()
    return row


def took_part(
    session: AsyncSession,
    at: Activity,
    person: Member,
    status: ParticipationStatus,
    checked_in: datetime | None = None,
    **fields: Any,
) -> None:
    session.add(
        Participation(
            activity_id=at.id,
            member_id=person.id,
            status=status,
            checked_in_at=checked_in,
            **fields,
        )
    )


P = ParticipationStatus


@pytest.fixture
async def world(session: AsyncSession, units: dict[str, OrgUnit]) -> dict[str, Any]:
    await grant_staff(session, units)
    await grant_role(session, COMMITTEE_SECRETARY, Role.secretary, units["lehua-street"].id, None)
    wanda, huaduhui = units["wanda-plaza"], units["huaduhui"]
    ann = await member(session, wanda, ANN_ID, "Ann")
    bob = await member(session, wanda, 502, "Bob", MemberType.floating)
    cat = await member(session, wanda, 503, "Cat")
    await membership(session, cat, units["haibinbei-community"], MembershipKind.community)
    dan = await member(session, huaduhui, 504, "Dan")
    await member(session, units["tech-incubator"], 505, "Eve")

    m1 = await activity(session, wanda, ActivityKind.general_meeting, local(2, 10), closed=True)
    took_part(session, m1, ann, P.attending, local(2, 9, 55))
    took_part(session, m1, bob, P.excused)
    took_part(session, m1, cat, P.absent)
    m2 = await activity(session, wanda, ActivityKind.theme_day, local(5, 14), closed=True)
    took_part(session, m2, ann, P.absent)
    took_part(session, m2, bob, P.made_up)
    took_part(session, m2, cat, P.attending, local(5, 14))
    took_part(session, m2, dan, P.attending, local(5, 14, 5), walk_in=True)
    v1 = await activity(
        session, wanda, ActivityKind.volunteer, local(7, 9), hours=3, closed=True,
        capacity=10, seats_taken=2, place="万达广场",
    )  # fmt: skip
    took_part(session, v1, ann, P.attending, local(7, 9))
    took_part(session, v1, bob, P.absent)
    t1 = await activity(
        session, wanda, ActivityKind.tree_planting, local(8, 8), closed=True,
        seats_taken=2, check_out_required=True, pledge_kind=PledgeKind.saplings,
    )  # fmt: skip
    took_part(
        session, t1, ann, P.attending, local(8, 8, 30), checked_out_at=local(8, 9, 30),
        saplings_planted=5, pledge_amount=10,
    )  # fmt: skip
    took_part(session, t1, cat, P.attending, local(8, 8), pledge_amount=3)
    x1 = await activity(
        session, wanda, ActivityKind.volunteer, local(9, 9), status=ActivityStatus.cancelled,
        seats_taken=1,
    )  # fmt: skip
    took_part(session, x1, ann, P.signed_up)
    m3 = await activity(session, wanda, ActivityKind.committee_meeting, local(20, 10))
    february = await activity(
        session, wanda, ActivityKind.general_meeting, local(20, 10, month=2), closed=True
    )
    took_part(session, february, ann, P.attending, local(20, 10, month=2))
    lecture = await activity(session, huaduhui, ActivityKind.lecture, local(3, 19), closed=True)
    took_part(session, lecture, dan, P.attending, local(3, 19))

    for sent_at, recipients in ((local(3, 8), (ann, bob)), (local(25, 8, month=2), (ann,))):
        notice = Notice(
            org_unit_id=wanda.id,
            author_id=SECRETARY,
            body_html="<b>关于</b>召开 &amp; 支部大会的通知",
            audience=Audience.unit,
            send_at=sent_at,
            sent_at=sent_at,
        )
        session.add(notice)
        await session.flush()
        for person in recipients:
            acknowledged = person is ann
            session.add(
                NoticeRecipient(
                    notice_id=notice.id,
                    member_id=person.id,
                    delivery_key=f"notice:{notice.id}:{person.id}",
                    outcome=DeliveryStatus.sent if acknowledged else DeliveryStatus.unreachable,
                    acknowledged_at=sent_at + timedelta(hours=1) if acknowledged else None,
                )
            )
    await session.flush()
    return {"units": units, "m3": m3, "v1": v1, "x1": x1}


async def scope_of(session: AsyncSession, unit: OrgUnit, viewer: int = SECRETARY) -> Scope:
    return await export_scope(session, viewer, unit.id)


async def test_roster_has_each_active_member_once(
    session: AsyncSession, world: dict[str, Any]
) -> None:
    units = world["units"]
    rows = await roster_rows(session, await scope_of(session, units["wanda-plaza"]))
    assert [(r.name, r.member_type, r.unit_id, r.dual_reporting) for r in rows] == [
        ("Ann", MemberType.regular, units["wanda-plaza"].id, False),
        ("Bob", MemberType.floating, units["wanda-plaza"].id, False),
        ("Cat", MemberType.regular, units["wanda-plaza"].id, True),
    ]
    assert rows[0].phone == f"+86138{ANN_ID:08d}"
    assert rows[0].approved_at == NOW - timedelta(days=50)
    # The committee sees Huaduhui too, and Cat once although two of her units are below it.
    lehua = await scope_of(session, units["lehua-street"], COMMITTEE_SECRETARY)
    assert [r.name for r in await roster_rows(session, lehua)] == ["Ann", "Bob", "Cat", "Dan"]


async def test_the_floating_register_is_the_same_for_export(
    session: AsyncSession, world: dict[str, Any]
) -> None:
    records = await floating_register(session, SECRETARY, world["units"]["wanda-plaza"].id)
    assert [(r.name, r.home_branch, r.status) for r in records] == [
        ("Bob", "长沙某支部", MembershipStatus.active)
    ]


async def test_activities_of_the_period_with_their_counts(
    session: AsyncSession, world: dict[str, Any]
) -> None:
    scope = await scope_of(session, world["units"]["wanda-plaza"])
    rows = await activity_rows(session, scope, MARCH, ZONE)
    shown = [
        (r.kind, r.cancelled, r.expected, r.present, r.excused, r.absent, r.made_up, r.walk_ins)
        for r in rows
    ]
    K = ActivityKind
    assert shown == [
        (K.general_meeting, False, 3, 1, 1, 1, 0, 0),
        (K.theme_day, False, 3, 1, 0, 1, 1, 1),
        (K.volunteer, False, None, 1, 0, 1, 0, 0),
        (K.tree_planting, False, None, 2, 0, 0, 0, 0),
        (K.volunteer, True, None, 0, 0, 0, 0, 0),
        (K.committee_meeting, False, 3, 0, 0, 0, 0, 0),  # not held: those expected now
    ]
    volunteering = rows[2]
    assert (volunteering.mode, volunteering.seats_taken, volunteering.capacity) == (
        ActivityMode.signup,
        2,
        10,
    )
    assert volunteering.place == "万达广场"
    assert rows[0].starts_at == local(2, 10)


async def test_the_attendance_matrix(session: AsyncSession, world: dict[str, Any]) -> None:
    units = world["units"]
    matrix = await attendance_matrix(
        session, await scope_of(session, units["wanda-plaza"]), MARCH, ZONE
    )
    assert [c.starts_at for c in matrix.columns] == [local(2, 10), local(5, 14)]
    wanda = units["wanda-plaza"].id
    rows = [(r.name, r.unit_id, r.cells, r.present, r.excused, r.absent, r.made_up, r.rate)
            for r in matrix.rows]  # fmt: skip
    assert rows == [
        ("Ann", wanda, (Cell.present, Cell.absent), 1, 0, 1, 0, 0.5),
        ("Bob", wanda, (Cell.excused, Cell.made_up), 0, 1, 0, 1, 0.0),
        ("Cat", wanda, (Cell.absent, Cell.present), 1, 0, 1, 0, 0.5),
        ("Dan", None, (None, Cell.walk_in), 0, 0, 0, 0, None),  # not of Wanda
    ]
    # The committee: Huaduhui's lecture too, in order of time; Dan is of Huaduhui.
    lehua = await scope_of(session, units["lehua-street"], COMMITTEE_SECRETARY)
    matrix = await attendance_matrix(session, lehua, MARCH, ZONE)
    assert len(matrix.columns) == 3
    dan = matrix.rows[-1]
    # 2 March (not his), 3 March (his own branch's lecture), 5 March (a walk-in at Wanda).
    assert (dan.name, dan.unit_id, dan.cells) == (
        "Dan",
        units["huaduhui"].id,
        (None, Cell.present, Cell.walk_in),
    )
    assert (dan.present, dan.rate) == (1, 1.0)


async def test_volunteer_hours(session: AsyncSession, world: dict[str, Any]) -> None:
    scope = await scope_of(session, world["units"]["wanda-plaza"])
    rows = await volunteer_rows(session, scope, MARCH, ZONE)
    assert [tuple(r[:1]) + tuple(r[2:]) for r in rows] == [
        ("Ann", 2, pytest.approx(4.0), 5, 10, 0),  # 3 h, and 1 h between check-in and out
        ("Bob", 0, 0.0, 0, 0, 0),  # a no-show
        ("Cat", 1, 0.0, 0, 3, 0),  # no check-out: no hours
    ]


async def test_notice_acknowledgements(session: AsyncSession, world: dict[str, Any]) -> None:
    scope = await scope_of(session, world["units"]["wanda-plaza"])
    sheet = await notice_rows(session, scope, MARCH, ZONE)
    assert len(sheet.notices) == 1
    (info,) = sheet.notices.values()
    assert info.sent_at == local(3, 8)
    assert [(r.name, r.status, r.acknowledged_at) for r in sheet.rows] == [
        ("Ann", DeliveryStatus.sent, local(3, 9)),
        ("Bob", DeliveryStatus.unreachable, None),
    ]


async def test_sign_in_sheet(session: AsyncSession, world: dict[str, Any]) -> None:
    wanda = world["units"]["wanda-plaza"].id
    sheet = await sign_in_rows(session, ORGANIZER, world["m3"].id)  # organisers may
    assert [(r.name, r.unit_id) for r in sheet.rows] == [
        ("Ann", wanda),
        ("Bob", wanda),
        ("Cat", wanda),
    ]
    sheet = await sign_in_rows(session, SECRETARY, world["v1"].id)  # those holding a seat
    assert [r.name for r in sheet.rows] == ["Ann", "Bob"]
    with pytest.raises(InvalidState):
        await sign_in_rows(session, SECRETARY, world["x1"].id)  # cancelled
    with pytest.raises(PermissionDenied):
        await sign_in_rows(session, OTHER_SECRETARY, world["m3"].id)
    with pytest.raises(PermissionDenied):
        await sign_in_rows(session, ANN_ID, world["m3"].id)
    with pytest.raises(NotFound):
        await sign_in_rows(session, SECRETARY, 999_999)


@pytest.mark.parametrize(
    ("viewer", "allowed", "refused"),
    [
        (SECRETARY, ["wanda-plaza"], ["huaduhui", "haibinbei-community", "tech-incubator"]),
        (
            COMMITTEE_SECRETARY,
            ["lehua-street", "haibinbei-community", "wanda-plaza", "huaduhui"],
            ["zhanjiang-edz", "tech-incubator", "huanlejia-building"],
        ),
        (ADMIN, ["zhanjiang-edz", "wanda-plaza", "tech-incubator"], []),
        (ORGANIZER, [], ["wanda-plaza"]),  # runs activities; the books are the secretary's
        (ANN_ID, [], ["wanda-plaza"]),  # a member
    ],
)
async def test_who_may_export_which_unit(
    session: AsyncSession,
    world: dict[str, Any],
    viewer: int,
    allowed: list[str],
    refused: list[str],
) -> None:
    units = world["units"]
    for code in allowed:
        scope = await export_scope(session, viewer, units[code].id)
        assert units[code].id in scope.unit_ids
    for code in refused:
        with pytest.raises(PermissionDenied):
            await export_scope(session, viewer, units[code].id)
    with pytest.raises(NotFound):
        await export_scope(session, viewer, 999_999)
