"""Three bot replicas rolling out together on an empty PostgreSQL database.

Each runs `python -m bot run --webhook` and migrates on start. One migrates; the
others wait for its migration lock, then find the schema current. All of them run,
and exactly one runs the scheduler.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from models.db import create_engine, create_session_factory
from sandbox import Emulator
from tests.conftest import Database
from tests.e2e.test_crash import BotProcess, start_bot, until
from tests.e2e.test_leadership import LEADS, RUNNING, lock_holders
from tests.test_migrations import assert_at_head_with_every_table

REPLICAS = 3
GATHER_LIMIT = 60.0  # seconds for every replica to reach its first migration step

pytestmark = pytest.mark.parametrize(
    "backend", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)

Release = Callable[[Sequence[BotProcess]], Awaitable[None]]


async def blocked_sessions(engine: AsyncEngine) -> int:
    """Sessions of this database waiting for a lock (read afresh each time: PostgreSQL
    keeps a transaction's first view of pg_stat_activity until it ends)."""
    async with engine.connect() as connection:
        count = await connection.scalar(
            text(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
        )
    return int(count or 0)


@contextlib.asynccontextmanager
async def starting_line(engine: AsyncEngine) -> AsyncIterator[Release]:
    """Hold back every migration of the database until `release(replicas)` sees all of
    them waiting, then let them go at once.

    Start-ups differ by about a second and a migration takes less than half of one, so
    without this the replicas would seldom migrate at the same moment. What holds them
    is an uncommitted alembic_version table: each replica's CREATE TABLE of it (or its
    wait for the migration lock) waits for this transaction, whose rollback leaves the
    database empty again."""
    async with engine.connect() as gate:
        await gate.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32))"))

        async def release(replicas: Sequence[BotProcess]) -> None:
            deadline = time.monotonic() + GATHER_LIMIT
            while await blocked_sessions(engine) < len(replicas):
                tails = "\n".join(r.tail() for r in replicas)
                assert all(r.alive for r in replicas), f"a replica exited early\n{tails}"
                assert time.monotonic() < deadline, f"not all replicas got to migrate\n{tails}"
                await asyncio.sleep(0.1)
            await gate.rollback()

        yield release


async def test_replicas_started_together_on_an_empty_database_all_run(
    empty_database_url: str, tmp_path: Path
) -> None:
    engine = create_engine(empty_database_url)
    replicas: list[BotProcess] = []
    async with Emulator() as emu:
        try:
            async with starting_line(engine) as release:
                replicas = await asyncio.gather(
                    *(
                        start_bot(emu, empty_database_url, tmp_path / f"r{n}", f"replica {n}")
                        for n in range(REPLICAS)
                    )
                )
                await release(replicas)
            await until(
                lambda: all(RUNNING in r.log() for r in replicas),
                60,
                "every replica to run",
                replicas,
                interval=0.1,
            )
            await until(
                lambda: any(LEADS in r.log() for r in replicas),
                10,
                "a leader",
                replicas,
                interval=0.1,
            )
            await asyncio.sleep(1.0)  # the others have asked for the scheduler's lock by now
            leaders = [r.name for r in replicas if LEADS in r.log()]
            assert len(leaders) == 1, leaders
            database = Database(
                "postgres", empty_database_url, engine, create_session_factory(engine)
            )
            assert await lock_holders(database) == 1
            await assert_at_head_with_every_table(engine)
            for replica in replicas:
                assert await replica.terminate() == 0, replica.tail()
        finally:
            for replica in replicas:
                await replica.kill()
            await engine.dispose()
        assert emu.violations == [], emu.violations
    for replica in replicas:
        assert "Traceback" not in replica.log(), replica.tail(80)
