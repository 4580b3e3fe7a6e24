"""200 members press Sign up for 10 seats at the same moment, each in their own transaction."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from models.activities import (
    Activity,
    Participation,
    ParticipationStatus,
    cancel_signup,
    create_activity,
    seats_left,
    sign_up,
    waitlist_position,
)
from models.db import SessionFactory, create_engine, create_session_factory
from models.errors import InvalidState
from models.members import Member
from models.org import import_org, list_tree
from tests.conftest import Database
from tests.domain.conftest import NOW, example_org
from tests.domain.test_activities_support import SECRETARY, active_member, draft, grant_staff

MEMBERS, SEATS = 200, 10


async def _setup(database: Database) -> tuple[int, list[int]]:
    async with database.sessions() as session, session.begin():
        await import_org(session, example_org())
        units = {unit.code: unit for _, unit in await list_tree(session)}
        await grant_staff(session, units)
        members = [
            await active_member(session, units["wanda-plaza"], 10_000 + i) for i in range(MEMBERS)
        ]
        activity = await create_activity(
            session, SECRETARY, units["wanda-plaza"].id, draft(capacity=SEATS), NOW
        )
        return activity.id, [m.id for m in members]


async def _sign_up(sessions: SessionFactory, activity_id: int, member_id: int) -> tuple:
    async with sessions() as session, session.begin():
        member = await session.get(Member, member_id)
        assert member is not None
        row = await sign_up(session, activity_id, member, NOW)
        # Read inside the same transaction: the position the member is shown.
        return member_id, row.status, await waitlist_position(session, activity_id, member)


async def _positions(sessions: SessionFactory, activity_id: int) -> dict[int, int]:
    async with sessions() as session:
        rows = await session.scalars(
            select(Participation).where(
                Participation.activity_id == activity_id,
                Participation.status == ParticipationStatus.waitlisted,
            )
        )
        positions = {}
        for row in rows:
            member = await session.get(Member, row.member_id)
            assert member is not None
            positions[row.member_id] = await waitlist_position(session, activity_id, member)
        return positions


async def _cancel(sessions: SessionFactory, activity_id: int, member_id: int) -> int | None:
    async with sessions() as session, session.begin():
        member = await session.get(Member, member_id)
        assert member is not None
        promoted = await cancel_signup(session, activity_id, member, NOW)
        return promoted.id if promoted else None


async def test_capacity_is_never_exceeded_and_the_waitlist_keeps_its_order(
    database: Database,
) -> None:
    activity_id, member_ids = await _setup(database)

    results = await asyncio.gather(
        *(_sign_up(database.sessions, activity_id, member_id) for member_id in member_ids)
    )

    seated = [m for m, status, _ in results if status is ParticipationStatus.signed_up]
    told = {m: position for m, status, position in results if position is not None}
    assert len(seated) == SEATS
    assert sorted(told.values()) == list(range(1, MEMBERS - SEATS + 1))
    async with database.sessions() as session:
        assert await seats_left(session, activity_id) == 0
        per_member = await session.execute(
            select(Participation.member_id, func.count())
            .where(Participation.activity_id == activity_id)
            .group_by(Participation.member_id)
        )
        assert sorted(count for _, count in per_member) == [1] * MEMBERS
        activity = await session.get(Activity, activity_id)
        assert activity is not None and activity.seats_taken == SEATS
    # Positions read back later are those the members were told when they signed up.
    assert await _positions(database.sessions, activity_id) == told

    # Three seat holders cancel at once: the first three waiting get the seats.
    promoted = await asyncio.gather(
        *(_cancel(database.sessions, activity_id, m) for m in seated[:3])
    )
    by_position = sorted(told, key=told.__getitem__)
    assert sorted(p for p in promoted if p is not None) == sorted(by_position[:3])
    expected_after = {m: told[m] - 3 for m in by_position[3:]}
    assert await _positions(database.sessions, activity_id) == expected_after

    # A restart: new engine, new sessions. The order is in the database.
    engine = create_engine(database.url)
    try:
        sessions = create_session_factory(engine)
        assert await _positions(sessions, activity_id) == expected_after
        assert await _cancel(sessions, activity_id, seated[3]) == by_position[3]
        async with sessions() as session:
            assert await seats_left(session, activity_id) == 0
            signed_up = await session.scalar(
                select(func.count()).where(
                    Participation.activity_id == activity_id,
                    Participation.status == ParticipationStatus.signed_up,
                )
            )
            assert signed_up == SEATS
    finally:
        await engine.dispose()


async def test_a_member_pressing_many_times_at_once_holds_one_place(database: Database) -> None:
    activity_id, member_ids = await _setup(database)
    me = member_ids[0]

    async def press() -> str:
        try:
            _, status, _ = await _sign_up(database.sessions, activity_id, me)
        except InvalidState as refused:
            return refused.code
        return str(status)

    results = await asyncio.gather(*(press() for _ in range(20)))
    assert sorted(results) == ["signed_up"] + ["signup.already"] * 19
    async with database.sessions() as session:
        assert await seats_left(session, activity_id) == SEATS - 1
