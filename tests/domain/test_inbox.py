"""Stored updates are the bot's own: keyed by (bot_id, update_id)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from models import inbox
from models.base import utcnow
from models.inbox import UNKNOWN_BOT, InboundUpdate

FIRST, SECOND = 111_111, 222_222  # two bots' ids (their tokens' numbers)


def payload(update_id: int) -> dict[str, object]:
    return {"update_id": update_id, "message": {"text": "/help"}}


async def keys(session: AsyncSession) -> set[tuple[int, int]]:
    rows = await session.execute(select(InboundUpdate.bot_id, InboundUpdate.update_id))
    return {(bot_id, update_id) for bot_id, update_id in rows}


async def test_the_same_update_id_of_two_bots_is_two_updates(session: AsyncSession) -> None:
    assert await inbox.store_update(session, FIRST, payload(100_001))
    assert await inbox.store_update(session, SECOND, payload(100_001))
    assert not await inbox.store_update(session, FIRST, payload(100_001))  # a repeat
    assert await inbox.store_update(session, SECOND, payload(100_002))

    await inbox.mark_processed(session, FIRST, 100_001)
    assert [row.update_id for row in await inbox.unprocessed(session, FIRST)] == []
    assert [row.update_id for row in await inbox.unprocessed(session, SECOND)] == [
        100_001,
        100_002,
    ]
    assert await inbox.last_update_id(session, FIRST) == 100_001
    assert await inbox.last_update_id(session, SECOND) == 100_002
    assert await inbox.last_update_id(session, 333_333) is None


async def test_a_bot_takes_over_the_updates_stored_before_bot_ids(session: AsyncSession) -> None:
    for update_id in (7, 8, 9):
        assert await inbox.store_update(session, UNKNOWN_BOT, payload(update_id))
    assert await inbox.store_update(session, FIRST, payload(9))  # stored since, by itself

    assert await inbox.adopt_unknown(session, FIRST) == 2
    assert await keys(session) == {(FIRST, 7), (FIRST, 8), (FIRST, 9), (UNKNOWN_BOT, 9)}
    assert not await inbox.store_update(session, FIRST, payload(8))  # still known as seen
    assert [row.update_id for row in await inbox.unprocessed(session, FIRST)] == [7, 8, 9]


async def test_prune_forgets_old_processed_updates_of_every_bot(session: AsyncSession) -> None:
    for bot_id in (FIRST, SECOND):
        for update_id in (1, 2):
            await inbox.store_update(session, bot_id, payload(update_id))
            await inbox.mark_processed(session, bot_id, update_id)
    await inbox.store_update(session, FIRST, payload(3))  # never processed: kept
    await session.execute(
        update(InboundUpdate)
        .where(InboundUpdate.update_id == 1)
        .values(processed_at=utcnow() - timedelta(days=8))
    )
    assert await inbox.prune(session) == 2
    assert await keys(session) == {(FIRST, 2), (SECOND, 2), (FIRST, 3)}


async def test_what_jsonb_cannot_hold_is_replaced_before_storing(session: AsyncSession) -> None:
    """PostgreSQL refuses NUL and lone surrogates in JSONB; a modified client can send both."""
    garbled = {"update_id": 5, "callback_query": {"data": "a\x00b\udcff", "x\x00": ["\x00"]}}
    clean = inbox.storable(garbled)
    assert clean == {
        "update_id": 5,
        "callback_query": {"data": "a\ufffdb\ufffd", "x\ufffd": ["\ufffd"]},
    }
    assert inbox.storable(payload(6)) == payload(6)
    assert await inbox.store_update(session, FIRST, clean)
    (row,) = await inbox.unprocessed(session, FIRST)
    assert row.payload == clean
