"""Two bot processes on one PostgreSQL database: one sends, and the other takes over.

Both run `python -m bot run --webhook` (no public URL: nobody polls) against one
emulator. Exactly one holds the scheduler's advisory lock and delivers the outbox;
after it is killed with SIGKILL, PostgreSQL releases the lock with its connection and
the survivor takes it at its next check (`LEADER_CHECK_SECONDS`), then delivers what
was enqueued meanwhile. Every message arrives exactly once. Run with `-s` for figures.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select, text

from models import outbox
from models.outbox import Delivery, DeliveryStatus
from sandbox import Emulator
from scheduler.leader import LOCK_KEY
from scheduler.service import LEADER_CHECK_SECONDS
from tests.conftest import Database
from tests.e2e.test_crash import BotProcess, start_bot, until

LEADS = "this process now runs the scheduler"
RUNNING = "branchbot is running (webhook)"
TAKEOVER_LIMIT = 60.0

pytestmark = pytest.mark.parametrize(
    "backend", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)


async def enqueue_to(database: Database, chat_ids: list[int], label: str) -> None:
    async with database.sessions.begin() as session:
        for chat_id in chat_ids:
            await outbox.enqueue(
                session,
                chat_id,
                f"{label} for {chat_id}",
                kind="notice",
                due_at=datetime.now(UTC),
                timezone="Asia/Shanghai",
                urgent=True,  # the processes read the real clock: no quiet hours here
            )


async def statuses(database: Database) -> list[DeliveryStatus]:
    async with database.sessions() as session:
        return list(await session.scalars(select(Delivery.status).order_by(Delivery.id)))


async def lock_holders(database: Database) -> int:
    """Server sessions holding the scheduler's advisory lock in this test's database.

    Advisory locks belong to a database, and pg_locks lists those of the whole server:
    other tests (or other runs) sharing the server hold the same key in theirs."""
    async with database.engine.connect() as connection:
        held = await connection.scalar(
            text(
                # This test's database only: another bot on the same server holds its own.
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
                "AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
                "AND ((classid::bigint << 32) | objid::bigint) = :key"
            ),
            {"key": LOCK_KEY},
        )
    return int(held or 0)


def texts(emu: Emulator, chat_ids: list[int]) -> Counter[str]:
    return Counter(m.text or "" for chat_id in chat_ids for m in emu.messages(chat_id))


async def test_one_leader_and_a_takeover_after_kill_9(database: Database, tmp_path: Path) -> None:
    assert database.backend == "postgres"
    async with Emulator() as emu:
        people = [emu.user(f"Member {n}", started=True).id for n in range(10)]
        first_batch, second_batch = people[:5], people[5:]
        a = await start_bot(emu, database.url, tmp_path / "a", "bot A")
        b = await start_bot(emu, database.url, tmp_path / "b", "bot B")
        processes = [a, b]
        try:
            await until(
                lambda: all(RUNNING in p.log() for p in processes),
                40,
                "both to run",
                processes,
                interval=0.1,
            )
            await until(
                lambda: any(LEADS in p.log() for p in processes),
                10,
                "a leader",
                processes,
                interval=0.1,
            )
            await asyncio.sleep(1.0)  # the other one has asked for the lock by now, too
            leaders = [p for p in processes if LEADS in p.log()]
            assert len(leaders) == 1, "\n".join(p.tail() for p in processes)
            assert await lock_holders(database) == 1
            leader: BotProcess = leaders[0]
            survivor: BotProcess = b if leader is a else a

            await enqueue_to(database, first_batch, "Before")
            await until(
                lambda: sum(texts(emu, first_batch).values()) >= len(first_batch),
                15,
                "the first batch",
                processes,
                interval=0.05,
            )
            await until_all_sent(database)
            await asyncio.sleep(1.5)  # a second sender, if there were one, would poll by now

            await leader.kill()
            killed_at = time.monotonic()
            await enqueue_to(database, second_batch, "After")
            await until(
                lambda: LEADS in survivor.log(),
                TAKEOVER_LIMIT,
                "the takeover",
                [survivor],
                interval=0.05,
            )
            takeover = time.monotonic() - killed_at
            await until(
                lambda: sum(texts(emu, second_batch).values()) >= len(second_batch),
                TAKEOVER_LIMIT,
                "the second batch",
                [survivor],
                interval=0.05,
            )
            delivered = time.monotonic() - killed_at
            await until_all_sent(database)
            await asyncio.sleep(1.5)  # nothing more may arrive
            assert await lock_holders(database) == 1
            assert await survivor.terminate() == 0, survivor.tail()
        finally:
            for process in processes:
                await process.kill()

        print(
            f"\n[{database.backend}] leader {leader.name}; takeover {takeover:.1f}s after "
            f"SIGKILL (check every {LEADER_CHECK_SECONDS}s), second batch delivered "
            f"{delivered:.1f}s after it; {len(emu.stats.sends)} sends for {len(people)} rows"
        )
        assert takeover < TAKEOVER_LIMIT
        expected = Counter(
            [f"Before for {c}" for c in first_batch] + [f"After for {c}" for c in second_batch]
        )
        assert texts(emu, people) == expected  # each exactly once, nothing else
        assert Counter(chat_id for _, chat_id in emu.stats.sends) == Counter(people)
        assert await statuses(database) == [DeliveryStatus.sent] * len(people)
        assert emu.violations == [], emu.violations
        assert LEADS not in leader.log().split(LEADS, 1)[1]  # led once, not twice
        for process in processes:
            assert "Traceback" not in process.log(), process.tail(80)


async def until_all_sent(database: Database, timeout: float = 10.0) -> None:  # noqa: ASYNC109
    """The senders record `sent` just after Telegram answers; wait for that too."""
    deadline = time.monotonic() + timeout
    while (found := await statuses(database)) != [DeliveryStatus.sent] * len(found):
        assert time.monotonic() < deadline, found
        await asyncio.sleep(0.05)
