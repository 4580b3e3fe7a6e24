"""The outbox as the database sees it: enqueue, dedup, claims fenced by terms, unreachable."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from models import outbox
from models.members import Member
from models.outbox import Delivery, DeliveryStatus, SchedulerLeadership
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


async def test_two_transactions_enqueueing_one_key_make_one_row_and_neither_fails(
    database: Database,
) -> None:
    """Two scans (or a scan and a handler) queue the same message at once: the second waits
    for the first to commit and skips the key, without an error and without a lookup."""
    rows = [
        {
            "chat_id": chat,
            "text": "hi",
            "kind": "test",
            "due_at": NOW,
            "timezone": "UTC",
            "dedup_key": f"both:{chat}",
        }
        for chat in (1, 2, 3)
    ]
    first = database.sessions()
    second = database.sessions()
    async with first, second:
        assert await outbox.enqueue_many(first, rows[:2]) == 2
        # The second transaction's insert waits for the first (PostgreSQL) or for the
        # write lock (SQLite); the first commits meanwhile.
        waiting = asyncio.ensure_future(outbox.enqueue_many(second, rows))
        await asyncio.sleep(0.2)
        await first.commit()
        assert await waiting == 1  # chat 3's; 1 and 2 were taken
        await second.commit()
    async with database.sessions() as session:
        keys = sorted(await session.scalars(select(Delivery.dedup_key)))
    assert keys == ["both:1", "both:2", "both:3"]


async def begin_term(database: Database) -> int:
    """What a new leader does (scheduler.leader): count the term up."""
    async with database.sessions.begin() as session:
        await session.execute(update(SchedulerLeadership).values(term=SchedulerLeadership.term + 1))
        return await session.scalar(select(SchedulerLeadership.term))


async def claim(database: Database, term: int, chats: int = 10, per_chat: int = 10, busy=()):  # type: ignore[no-untyped-def]
    async with database.sessions.begin() as session:
        return await outbox.claim_due(session, NOW, term, chats=chats, per_chat=per_chat, busy=busy)


async def test_claim_takes_what_is_due_in_order_once(database: Database) -> None:
    term = await begin_term(database)
    await add(database, 2, NOW - timedelta(minutes=1))
    await add(database, 1, NOW - timedelta(minutes=5))
    await add(database, 3, NOW + timedelta(minutes=5))  # not yet
    claimed = await claim(database, term)
    assert [d.chat_id for d in claimed] == [1, 2]
    assert all(d.status is DeliveryStatus.sending and d.attempts == 1 for d in claimed)
    assert all(d.claimed_term == term for d in claimed)
    assert await claim(database, term) == []  # nothing twice


async def test_claim_limits_chats_and_rows_per_chat_and_skips_busy_chats(
    database: Database,
) -> None:
    term = await begin_term(database)
    for minute in range(5):  # chat 1's long queue comes first
        await add(database, 1, NOW - timedelta(minutes=10 - minute))
    for chat_id in (2, 3, 4):
        await add(database, chat_id, NOW - timedelta(minutes=1))
    first = await claim(database, term, chats=2, per_chat=3)
    assert [d.chat_id for d in first] == [1, 1, 1]  # no more than three of one chat
    # Chat 1 is being sent to: its other rows wait; the others go meanwhile.
    second = await claim(database, term, chats=2, per_chat=3, busy={1})
    assert [d.chat_id for d in second] == [2, 3]  # no more than two chats
    third = await claim(database, term, chats=5, per_chat=3, busy={1, 2, 3})
    assert [d.chat_id for d in third] == [4]


async def test_a_claim_settled_meanwhile_is_not_a_term_over(database: Database) -> None:
    """The member blocked the bot while their message was claimed: the row is settled,
    and the sender goes on (it is not deposed)."""
    term = await begin_term(database)
    await add(database, 1, NOW)
    (row,) = await claim(database, term, chats=1)
    async with database.sessions.begin() as session:
        await outbox.mark_unreachable(session, 1, NOW, "Forbidden: bot was blocked by the user")
    async with database.sessions() as session:
        assert await outbox.claim_state(session, row.id, term) is outbox.Claim.settled


async def test_a_deposed_term_claims_nothing_and_its_claims_are_not_its_own(
    database: Database,
) -> None:
    old = await begin_term(database)
    await add(database, 1, NOW)
    await add(database, 2, NOW)
    (first,) = await claim(database, old, chats=1)
    async with database.sessions() as session:
        assert await outbox.claim_state(session, first.id, old) is outbox.Claim.held
    new = await begin_term(database)  # another process took the lead
    async with database.sessions() as session:
        assert await outbox.claim_state(session, first.id, old) is outbox.Claim.term_over
    with pytest.raises(outbox.TermOver):  # the deposed leader gets nothing more
        await claim(database, old)
    (second,) = await claim(database, new)
    assert second.chat_id == 2
    async with database.sessions.begin() as session:
        # The old term's claim goes back; the new term's own claim stays.
        assert await outbox.requeue_earlier_terms(session, new) == 1
    (again,) = await claim(database, new)
    assert (again.id, again.attempts) == (first.id, 2)


async def test_put_back_undoes_a_claim_and_can_wait_behind_a_retry(database: Database) -> None:
    term = await begin_term(database)
    await add(database, 1, NOW)
    await add(database, 1, NOW)
    first, second = await claim(database, term)
    later = NOW + timedelta(seconds=30)
    async with database.sessions.begin() as session:
        await outbox.retry_later(session, first.id, later, "429")
        await outbox.put_back(session, [second.id], term, not_before=later)
    assert await claim(database, term) == []  # both wait, in their order
    async with database.sessions.begin() as session:
        rows = await outbox.claim_due(session, later, term, chats=1, per_chat=5)
    assert [(d.id, d.attempts) for d in rows] == [(first.id, 2), (second.id, 1)]


async def test_sent_and_retry_and_give_up(database: Database) -> None:
    await add(database, 1, NOW)
    await add(database, 2, NOW)
    await add(database, 3, NOW)
    first, second, third = await claim(database, await begin_term(database))
    async with database.sessions.begin() as session:
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
