"""The sandbox's demo world (bot.demo): what a person in it relies on, read back through
the domain's own queries, on a database built by the migrations."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

import bot.demo
from bot.demo import (
    DEMO_PEOPLE,
    DemoError,
    Place,
    load_demo,
    places,
    reporting_points,
)
from models.account import Account
from models.activities import (
    Activity,
    ActivityKind,
    ActivityMode,
    ActivitySeries,
    Participation,
    ParticipationStatus,
    PledgeKind,
    activity_counts,
    participations_of,
    seats_left,
    sign_up,
    upcoming_for_member,
    waitlist_position,
)
from models.attendance import due_reminders
from models.members import (
    Member,
    Membership,
    MembershipKind,
    MembershipStatus,
    MemberType,
    Via,
    clean_phone,
    floating_register,
    get_member,
    memberships_of,
    pending_reports,
)
from models.notifications import Notification, pending_count, take_pending
from models.org import (
    INVITE_PAYLOAD_PREFIX,
    OrgUnit,
    import_org,
    invite_payload,
    list_tree,
    unit_by_code,
    unit_by_invite,
)
from models.outbox import Delivery
from models.permissions import Permission, RoleGrant, can
from tests.conftest import Database

NOW = datetime(2026, 3, 12, 1, 30, tzinfo=UTC)  # Thursday 09:30 in Zhanjiang
ZONE = ZoneInfo("Asia/Shanghai")
IDS = {
    "floating": 5001,
    "regular": 5002,
    "secretary": 5003,
    "admin": 5004,
    "newcomer": 5005,
    "english": 5006,
    "huaduhui": 5007,
}
SECRETARY, FLOATING, NEWCOMER = IDS["secretary"], IDS["floating"], IDS["newcomer"]


@pytest.fixture
async def demo(database: Database) -> Database:
    await load_demo(database.sessions, NOW, IDS)
    return database


@pytest.fixture
async def session(demo: Database) -> AsyncIterator[AsyncSession]:
    async with demo.sessions() as session, session.begin():
        yield session


async def member(session: AsyncSession, key: str) -> Member:
    found = await get_member(session, IDS[key])
    assert found is not None, key
    return found


async def upcoming(session: AsyncSession, key: str, now: datetime = NOW) -> list[Activity]:
    page = await upcoming_for_member(session, await member(session, key), now, page_size=50)
    return [item.activity for item in page.items]


def one(activities: list[Activity], kind: ActivityKind) -> Activity:
    (found,) = [a for a in activities if a.kind is kind]
    return found


def local(day: str, hh_mm: str) -> datetime:
    return datetime.fromisoformat(f"{day}T{hh_mm}").replace(tzinfo=ZONE).astimezone(UTC)


# --- the people ----------------------------------------------------------------------------------


def test_the_people_have_the_keys_languages_and_phones_the_sandbox_needs() -> None:
    keys = [p.key for p in DEMO_PEOPLE]
    assert len(set(keys)) == len(keys)
    assert {"floating", "regular", "secretary", "admin", "newcomer"} <= set(keys)
    assert set(keys) == set(IDS)
    assert {p.language for p in DEMO_PEOPLE} == {"zh", "en"}
    phones = [p.phone for p in DEMO_PEOPLE]
    assert len(set(phones)) == len(phones)
    for person in DEMO_PEOPLE:
        assert clean_phone(person.phone) == person.phone
        assert person.phone.startswith("+86138")
        assert person.first_name and person.about
        assert " · " in person.about  # Chinese · English


# --- the members and the secretary ---------------------------------------------------------------


async def test_the_secretary_reviews_wanda_plaza_and_only_below_it(
    session: AsyncSession,
) -> None:
    wanda = await unit_by_code(session, "wanda-plaza")
    huaduhui = await unit_by_code(session, "huaduhui")
    for permission in (Permission.approve_reports, Permission.manage_activities):
        assert await can(session, SECRETARY, permission, wanda.id)
    assert not await can(session, SECRETARY, Permission.approve_reports, huaduhui.id)
    assert not await can(session, SECRETARY, Permission.appoint_roles, wanda.id)
    assert await pending_reports(session, SECRETARY) == []  # nothing waits: all decided
    # The admin covers the whole tree.
    assert await can(session, IDS["admin"], Permission.appoint_roles, huaduhui.id)


async def test_the_floating_member_is_managed_by_wanda_plaza(session: AsyncSession) -> None:
    floating = await member(session, "floating")
    assert floating.member_type is MemberType.floating
    assert floating.home_branch  # their record is held elsewhere
    wanda = await unit_by_code(session, "wanda-plaza")
    (membership,) = await memberships_of(session, floating)
    assert membership.org_unit_id == wanda.id
    assert membership.kind is MembershipKind.primary
    assert membership.status is MembershipStatus.active
    assert membership.via is Via.invite  # they scanned the reporting point
    assert membership.decided_by == SECRETARY
    register = await floating_register(session, SECRETARY, wanda.id)
    assert [(r.name, r.status) for r in register] == [(floating.real_name, MembershipStatus.active)]


async def test_everyone_but_the_newcomer_has_a_finished_profile(session: AsyncSession) -> None:
    for person in DEMO_PEOPLE:
        found = await get_member(session, IDS[person.key])
        if person.key == "newcomer":
            continue
        assert found is not None and found.consent_at is not None, person.key
        assert found.phone == person.phone
        account = await session.get(Account, IDS[person.key])
        assert account is not None and account.telegram_language == person.language


async def test_nothing_is_known_of_the_newcomer(session: AsyncSession) -> None:
    assert await get_member(session, NEWCOMER) is None
    assert await session.get(Account, NEWCOMER) is None
    grants = await session.scalars(select(RoleGrant).where(RoleGrant.telegram_id == NEWCOMER))
    assert list(grants) == []


async def test_huaduhui_member_also_reported_to_the_paired_community(
    session: AsyncSession,
) -> None:
    memberships = await memberships_of(session, await member(session, "huaduhui"))
    assert {(m.unit.code, m.kind, m.status) for m in memberships} == {
        ("huaduhui", MembershipKind.primary, MembershipStatus.active),
        ("lejin-community", MembershipKind.community, MembershipStatus.active),
    }


async def test_the_demo_told_nobody_anything(session: AsyncSession) -> None:
    assert await session.scalar(select(func.count()).select_from(Delivery)) == 0


async def test_what_the_operations_would_have_told_is_dropped(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    dropped: list[Notification] = []

    def spy(session: AsyncSession) -> list[Notification]:
        taken = take_pending(session)
        dropped.extend(taken)
        assert pending_count(session) == 0
        return taken

    monkeypatch.setattr(bot.demo, "take_pending", spy)
    await load_demo(database.sessions, NOW, IDS)
    kinds = {n.message.kind for n in dropped}
    assert {"report_card", "report_decided", "appointed"} <= kinds
    assert NEWCOMER not in {n.recipient for n in dropped}


# --- the activities -----------------------------------------------------------------------------


async def test_the_tree_planting_day_takes_sapling_pledges(session: AsyncSession) -> None:
    tree = one(await upcoming(session, "floating"), ActivityKind.tree_planting)
    assert tree.mode is ActivityMode.signup
    assert tree.pledge_kind is PledgeKind.saplings
    assert (tree.starts_at, tree.ends_at) == (
        local("2026-03-17", "09:00"),
        local("2026-03-17", "11:30"),
    )
    assert tree.starts_at > NOW
    assert tree.created_by == SECRETARY
    assert "认捐认种" in tree.title + tree.description and tree.place
    pledges = {
        p.member_id: (p.status, p.pledge_amount) for p in await participations_of(session, tree.id)
    }
    floating = await member(session, "floating")
    assert pledges[floating.id] == (ParticipationStatus.signed_up, 2)
    assert sum(amount or 0 for _, amount in pledges.values()) > 2
    assert (await seats_left(session, tree.id) or 0) > 0


async def test_the_traffic_session_is_full_and_the_next_one_waits(
    session: AsyncSession,
) -> None:
    traffic = one(await upcoming(session, "floating"), ActivityKind.volunteer)
    assert "交通安全" in traffic.title
    assert (traffic.starts_at, traffic.ends_at) == (
        local("2026-03-15", "14:30"),
        local("2026-03-15", "16:30"),
    )
    assert await seats_left(session, traffic.id) == 0
    floating = await member(session, "floating")
    mine = await sign_up(session, traffic.id, floating, NOW + timedelta(minutes=5))
    assert mine.status is ParticipationStatus.waitlisted
    assert await waitlist_position(session, traffic.id, floating) == 1


async def test_the_theme_day_is_monthly_in_the_community_activity_room(
    session: AsyncSession,
) -> None:
    theme_days = [a for a in await upcoming(session, "regular") if a.kind is ActivityKind.theme_day]
    assert len(theme_days) >= 2
    assert [a.starts_at for a in theme_days[:2]] == [
        local("2026-03-27", "19:30"),  # the last Friday of March
        local("2026-04-24", "19:30"),  # and of April
    ]
    first = theme_days[0]
    assert first.mode is ActivityMode.expected
    assert "海滨北社区" in first.place
    series = await session.get(ActivitySeries, first.series_id)
    assert series is not None and series.created_by == SECRETARY
    counts = await activity_counts(session, first)
    assert counts.expected == 4  # Wanda Plaza's four members
    assert counts.attending == 1


async def test_only_the_branchs_members_see_its_activities(session: AsyncSession) -> None:
    wanda = {a.id for a in await upcoming(session, "floating")}
    assert len(wanda) >= 4  # tree planting, traffic, theme days
    assert await upcoming(session, "huaduhui") == []


async def test_the_day_before_the_tree_planting_its_sign_ups_are_reminded(
    session: AsyncSession,
) -> None:
    tree = one(await upcoming(session, "floating"), ActivityKind.tree_planting)
    reminders = [
        r
        for r in await due_reminders(session, tree.starts_at - timedelta(hours=24))
        if r.activity.id == tree.id
    ]
    assert {r.telegram_id for r in reminders} == {FLOATING, SECRETARY}
    assert {r.offset for r in reminders} == {timedelta(hours=24)}


@pytest.mark.parametrize(
    ("now", "tree_day", "traffic_day", "theme_day"),
    [
        (NOW, "2026-03-17", "2026-03-15", "2026-03-27"),
        # 00:30 on Saturday in Zhanjiang, still Friday in UTC: days count from the local
        # date, and Friday's theme day at 19:30 is over, so the next is April's.
        (datetime(2026, 3, 27, 16, 30, tzinfo=UTC), "2026-04-02", "2026-03-31", "2026-04-24"),
    ],
)
async def test_times_follow_the_local_date_of_now(
    database: Database, now: datetime, tree_day: str, traffic_day: str, theme_day: str
) -> None:
    await load_demo(database.sessions, now, IDS)
    async with database.sessions() as session:
        activities = await upcoming(session, "floating", now)
    assert one(activities, ActivityKind.tree_planting).starts_at == local(tree_day, "09:00")
    assert one(activities, ActivityKind.volunteer).starts_at == local(traffic_day, "14:30")
    theme = [a.starts_at for a in activities if a.kind is ActivityKind.theme_day]
    assert theme[0] == local(theme_day, "19:30")


# --- the posters and the map --------------------------------------------------------------------


async def test_wanda_plazas_reporting_point_opens_the_bot_on_its_branch(
    session: AsyncSession,
) -> None:
    points = await reporting_points(session)
    wanda = await unit_by_code(session, "wanda-plaza")
    first = points[0]
    assert first.code == "wanda-plaza" and "流动党员报到处" in first.title
    assert first.payload == invite_payload(wanda)
    assert first.payload.startswith(INVITE_PAYLOAD_PREFIX)
    resolved = await unit_by_invite(session, first.payload.removeprefix(INVITE_PAYLOAD_PREFIX))
    assert resolved.id == wanda.id
    for point in points:  # every poster opens the bot on its own unit
        unit = await unit_by_invite(session, point.payload.removeprefix(INVITE_PAYLOAD_PREFIX))
        assert unit.code == point.code


async def test_places_are_the_units_with_coordinates(session: AsyncSession) -> None:
    found = await places(session)
    assert Place("湛江万达广场商圈党支部", 21.2404, 110.4135) in found
    located = [u for _, u in await list_tree(session) if u.latitude is not None]
    assert len(found) == len(located)
    assert {p.name for p in found} >= {"乐金社区党支部", "龙潮社区党委"}


async def test_reporting_points_of_an_empty_database_say_the_demo_is_missing(
    database: Database,
) -> None:
    async with database.sessions() as session:
        with pytest.raises(DemoError, match="not loaded"):
            await reporting_points(session)


# --- refusals ------------------------------------------------------------------------------------


async def world(database: Database) -> dict[str, Any]:
    async with database.sessions() as session:
        counts = {
            model.__name__: await session.scalar(select(func.count()).select_from(model))
            for model in (OrgUnit, Member, Membership, RoleGrant, Account, Activity, Participation)
        }
        invites = list(await session.scalars(select(OrgUnit.invite_code).order_by(OrgUnit.id)))
    return {"counts": counts, "invites": invites}


async def test_loading_twice_is_refused_and_changes_nothing(demo: Database) -> None:
    before = await world(demo)
    assert before["counts"]["OrgUnit"] == 10 and before["counts"]["Member"] == 6
    with pytest.raises(DemoError, match="fresh database"):
        await load_demo(demo.sessions, NOW + timedelta(days=1), IDS)
    assert await world(demo) == before


async def test_a_database_with_units_of_its_own_is_refused(database: Database) -> None:
    async with database.sessions.begin() as session:
        await import_org(
            session, {"unit": [{"code": "mine", "kind": "branch", "name_zh": "某支部"}]}
        )
    with pytest.raises(DemoError, match="1 unit"):
        await load_demo(database.sessions, NOW, IDS)
    assert (await world(database))["counts"]["Member"] == 0


@pytest.mark.parametrize(
    ("ids", "message"),
    [
        ({k: v for k, v in IDS.items() if k != "secretary"}, "'secretary'"),
        ({**IDS, "stranger": 9}, "'stranger'"),
        ({**IDS, "regular": IDS["floating"]}, "of their own"),
        ({**IDS, "admin": 0}, "positive"),
    ],
)
async def test_ids_that_do_not_fit_are_refused(
    database: Database, ids: dict[str, int], message: str
) -> None:
    with pytest.raises(DemoError, match=message):
        await load_demo(database.sessions, NOW, ids)
    assert (await world(database))["counts"]["OrgUnit"] == 0


async def test_the_newcomer_needs_no_id(database: Database) -> None:
    ids = {k: v for k, v in IDS.items() if k != "newcomer"}
    await load_demo(database.sessions, NOW, ids)
    assert (await world(database))["counts"]["Member"] == 6
