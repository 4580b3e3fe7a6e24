"""The outbox as the database sees it: enqueue, dedup, claim, recover, unreachable."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from models import outbox
from models.members import Member
from models.outbox import Delivery, DeliveryStatus
from tests.conftest import Database

NOW = datetime(2026, 3, 10, 1, 30, tzinfo=UTC)


async def add(database: Database, chat_id: int, due: datetime, key: str | None = None) -> bool:
    async with database.sessions.begin() as session:
        return await outbox.enqueue(
            session,
            chat_id,
            f"hello {chat_id}",
            kind="test",
            due_at=due,
            timezone="Asia/Shanghai",
            dedup_key=key,
        )


async def test_dedup_key_enqueues_once(database: Database) -> None:
    assert await add(database, 1, NOW, key="remind:1:1:24h") is True
    assert await add(database, 1, NOW, key="remind:1:1:24h") is False
    assert await add(database, 1, NOW) is True  # no key: always added
    async with database.sessions() as session:
        assert len(list(await session.scalars(select(Delivery)))) == 2


async def test_claim_takes_what_is_due_in_order_and_recover_resets(database: Database) -> None:
    await add(database, 2, NOW - timedelta(minutes=1))
    await add(database, 1, NOW - timedelta(minutes=5))
    await add(database, 3, NOW + timedelta(minutes=5))  # not yet
    async with database.sessions.begin() as session:
        claimed = await outbox.claim_due(session, NOW, limit=10)
    assert [d.chat_id for d in claimed] == [1, 2]
    assert all(d.status is DeliveryStatus.sending and d.attempts == 1 for d in claimed)
    async with database.sessions.begin() as session:
        assert await outbox.claim_due(session, NOW, limit=10) == []  # nothing twice
        assert await outbox.recover_in_flight(session) == 2
    async with database.sessions.begin() as session:
        again = await outbox.claim_due(session, NOW, limit=10)
    assert [d.attempts for d in again] == [2, 2]


async def test_sent_and_retry_and_give_up(database: Database) -> None:
    await add(database, 1, NOW)
    await add(database, 2, NOW)
    await add(database, 3, NOW)
    async with database.sessions.begin() as session:
        first, second, third = await outbox.claim_due(session, NOW, limit=10)
        await outbox.mark_sent(session, first.id, 555, NOW)
        await outbox.retry_later(session, second.id, NOW + timedelta(seconds=30), "429")
        await outbox.give_up(session, third.id, DeliveryStatus.failed, "400: bad")
    async with database.sessions() as session:
        rows = {d.chat_id: d for d in await session.scalars(select(Delivery))}
    assert rows[1].status is DeliveryStatus.sent and rows[1].telegram_message_id == 555
    assert rows[2].status is DeliveryStatus.pending and rows[2].last_error == "429"
    assert rows[3].status is DeliveryStatus.failed and rows[3].last_error == "400: bad"
    async with database.sessions() as session:
        assert await outbox.next_due_at(session) == NOW + timedelta(seconds=30)


async def test_unreachable_marks_the_member_and_stops_their_queue(database: Database) -> None:
    async with database.sessions.begin() as session:
        session.add(Member(telegram_id=42, real_name="Blocked"))
    await add(database, 42, NOW)
    await add(database, 42, NOW + timedelta(hours=1))
    await add(database, 43, NOW)
    async with database.sessions.begin() as session:
        await outbox.mark_unreachable(session, 42, NOW, "Forbidden: bot was blocked by the user")
    async with database.sessions() as session:
        member = await session.scalar(select(Member).where(Member.telegram_id == 42))
        statuses = {(d.chat_id, d.status) for d in await session.scalars(select(Delivery))}
    assert member.unreachable_at == NOW
    assert statuses == {(42, DeliveryStatus.unreachable), (43, DeliveryStatus.pending)}
    async with database.sessions.begin() as session:
        await outbox.mark_reachable(session, 42)
    async with database.sessions() as session:
        member = await session.scalar(select(Member).where(Member.telegram_id == 42))
    assert member.unreachable_at is None
