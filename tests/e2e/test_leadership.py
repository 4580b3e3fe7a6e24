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


CUT_MEMBERS = 300
CUT_PACE = "12"  # messages a second: the broadcast outlasts the other process's next check


async def lock_connection(database: Database) -> tuple[int, datetime, str] | None:
    """The server process holding the scheduler's lock, when it last began a statement
    (the leader checks its lock with one every LEADER_CHECK_SECONDS), and its state
    ('active' while that statement runs)."""
    async with database.engine.connect() as connection:
        row = (
            await connection.execute(
                text(
                    "SELECT l.pid, a.query_start, a.state FROM pg_locks l "
                    "JOIN pg_stat_activity a ON a.pid = l.pid "
                    "WHERE l.locktype = 'advisory' AND l.granted AND l.database = "
                    "(SELECT oid FROM pg_database WHERE datname = current_database()) "
                    "AND ((l.classid::bigint << 32) | l.objid::bigint) = :key"
                ),
                {"key": LOCK_KEY},
            )
        ).first()
    return (row[0], row[1], row[2]) if row else None


async def cut_lock_connection_after_a_check(database: Database) -> None:
    """pg_terminate_backend on the lock's connection just after the leader checked it (the
    check begun and finished: cut while it runs, the check itself fails and the leader
    takes the lock again at once), so that the other process's next check comes first."""
    held = await lock_connection(database)
    assert held is not None
    pid, checked_at, _ = held
    deadline = time.monotonic() + LEADER_CHECK_SECONDS + 10
    while (now := await lock_connection(database)) is not None and (
        now[1] == checked_at or now[2] == "active"
    ):
        assert time.monotonic() < deadline, "the leader never checked its lock"
        await asyncio.sleep(0.02)
    assert now is not None and now[0] == pid
    async with database.engine.connect() as connection:
        assert await connection.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})


async def test_a_leader_that_loses_its_lock_connection_sends_nothing_twice(
    database: Database, tmp_path: Path
) -> None:
    """The leader stays alive while its lock's connection is cut (a fail-over, an idle
    connection killer): the other process takes the lock in the middle of a broadcast."""
    assert database.backend == "postgres"
    async with Emulator() as emu:
        people = [emu.user(f"Member {n}", started=True).id for n in range(CUT_MEMBERS)]
        pace = {"BRANCHBOT_SCHEDULER_MESSAGES_PER_SECOND": CUT_PACE}
        leader = await start_bot(emu, database.url, tmp_path / "a", "bot A", pace)
        processes = [leader]
        try:
            await until(lambda: LEADS in leader.log(), 40, "the leader", processes)
            # Checks of the lock half a period apart: after a cut, the other one's comes first.
            await asyncio.sleep(LEADER_CHECK_SECONDS / 2)
            survivor = await start_bot(emu, database.url, tmp_path / "b", "bot B", pace)
            processes.append(survivor)
            await until(lambda: RUNNING in survivor.log(), 40, "the other one", processes)

            await enqueue_to(database, people, "Broadcast")
            await until(lambda: len(emu.stats.sends) >= 20, 15, "the broadcast", processes)
            await cut_lock_connection_after_a_check(database)
            cut_at, sent_at_cut = time.monotonic(), len(emu.stats.sends)
            await until(lambda: LEADS in survivor.log(), 40, "the takeover", processes)
            takeover, sent_at_takeover = time.monotonic() - cut_at, len(emu.stats.sends)
            await until(lambda: len(emu.stats.per_chat()) == CUT_MEMBERS, 90, "everyone", processes)
            await until_all_sent(database, timeout=30)
            await asyncio.sleep(1.5)  # a second copy, if there were one, would come by now
            for process in processes:
                assert await process.terminate() == 0, process.tail()
        finally:
            for process in processes:
                await process.kill()

        copies = Counter(chat_id for _, chat_id in emu.stats.sends)
        twice = [chat_id for chat_id in people if copies[chat_id] > 1]
        print(
            f"\n[{database.backend}] lock cut after {sent_at_cut} of {CUT_MEMBERS} sent; "
            f"{survivor.name} took over {takeover:.1f}s later, {sent_at_takeover} sent by then; "
            f"{len(twice)} member(s) got it twice"
        )
        assert twice == []
        assert set(copies) == set(people)
        assert await statuses(database) == [DeliveryStatus.sent] * CUT_MEMBERS
        if sent_at_takeover < CUT_MEMBERS:  # the old leader still had messages in hand
            assert "stops sending" in leader.log()  # it found its term over before a send
        assert emu.violations == [], emu.violations
        for process in processes:
            assert "Traceback" not in process.log(), process.tail(80)
