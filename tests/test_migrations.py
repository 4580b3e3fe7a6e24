"""The schema comes from the migrations, and the models agree with them."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

import models.db
from models import Base, migrate
from models.db import create_engine, create_session_factory
from tests.conftest import Database

CONCURRENT_UPGRADES = 4
UPGRADES_LIMIT = 60.0  # seconds for all of them; one takes about a second


async def assert_at_head_with_every_table(engine: AsyncEngine) -> None:
    assert await migrate.current_revision(engine) == migrate.head_revision()
    async with engine.connect() as connection:
        tables = await connection.run_sync(lambda c: set(inspect(c).get_table_names()))
    assert set(Base.metadata.tables) <= tables


async def test_migrations_build_every_table_from_empty(empty_database_url: str) -> None:
    engine = create_engine(empty_database_url)
    try:
        assert await migrate.current_revision(engine) is None
        await migrate.upgrade(engine)
        await assert_at_head_with_every_table(engine)
        await migrate.upgrade(engine)  # a second upgrade is a no-op, not an error
        assert await migrate.current_revision(engine) == migrate.head_revision()
    finally:
        await engine.dispose()


async def test_concurrent_upgrades_of_an_empty_database_all_succeed(
    empty_database_url: str,
) -> None:
    """Replicas rolling out together: one migrates, the others wait and find it current."""
    engines = [create_engine(empty_database_url) for _ in range(CONCURRENT_UPGRADES)]
    try:
        upgrades = asyncio.gather(
            *(migrate.upgrade(engine) for engine in engines), return_exceptions=True
        )
        # Interleaved Alembic runs in one process can deadlock: a timeout fails, not hangs.
        outcomes = await asyncio.wait_for(upgrades, UPGRADES_LIMIT)
        assert outcomes == [None] * CONCURRENT_UPGRADES
        await assert_at_head_with_every_table(engines[0])
    finally:
        for engine in engines:
            await engine.dispose()


async def test_an_upgrade_waits_for_another_and_says_so_once(
    empty_database_url: str, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(migrate, "WAIT_NOTICE_SECONDS", 0.2)
    caplog.set_level(logging.INFO, logger=migrate.log.name)
    holder, waiter = create_engine(empty_database_url), create_engine(empty_database_url)
    try:
        async with migrate.migration_transaction(holder):  # another process, mid-migration
            upgrading = asyncio.create_task(migrate.upgrade(waiter))
            await asyncio.sleep(1.0)
            assert not upgrading.done(), "the upgrade did not wait for the lock"
        await asyncio.wait_for(upgrading, UPGRADES_LIMIT)
        notices = [r for r in caplog.records if "waiting for another process" in r.getMessage()]
        assert len(notices) == 1, caplog.text
        await assert_at_head_with_every_table(waiter)
    finally:
        await holder.dispose()
        await waiter.dispose()


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_an_upgrade_waits_on_sqlite_longer_than_the_busy_timeout(
    empty_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A migration may take longer than SQLite's busy timeout: the others wait it out."""
    monkeypatch.setattr(models.db, "BUSY_TIMEOUT_SECONDS", 0.1)
    monkeypatch.setattr(migrate, "LOCKED_RETRY_SECONDS", 0.05)
    holder, waiter = create_engine(empty_database_url), create_engine(empty_database_url)
    try:
        async with migrate.migration_transaction(holder):
            upgrading = asyncio.create_task(migrate.upgrade(waiter))
            await asyncio.sleep(1.0)  # ten busy timeouts
            assert not upgrading.done(), "the upgrade did not wait for the lock"
        await asyncio.wait_for(upgrading, UPGRADES_LIMIT)
        await assert_at_head_with_every_table(waiter)
    finally:
        await holder.dispose()
        await waiter.dispose()


async def test_an_upgrade_waits_on_sqlite_to_connect_to_a_new_file_being_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A new file is switched to WAL by the first connection (models.db), which needs the
    write lock too: while another process writes the file, the upgrade waits to connect."""
    monkeypatch.setattr(models.db, "BUSY_TIMEOUT_SECONDS", 0.1)
    monkeypatch.setattr(migrate, "LOCKED_RETRY_SECONDS", 0.05)
    path = tmp_path / "branchbot.db"  # SQLite's own: PostgreSQL has no such step
    holder = sqlite3.connect(path, isolation_level=None)  # not WAL: the default journal
    waiter = create_engine(f"sqlite+aiosqlite:///{path}")
    try:
        holder.execute("BEGIN IMMEDIATE")
        holder.execute("CREATE TABLE elsewhere (x INTEGER)")
        upgrading = asyncio.create_task(migrate.upgrade(waiter))
        await asyncio.sleep(1.0)  # ten busy timeouts
        assert not upgrading.done(), upgrading.exception()
        holder.execute("COMMIT")
        await asyncio.wait_for(upgrading, UPGRADES_LIMIT)
        await assert_at_head_with_every_table(waiter)
    finally:
        holder.close()
        await waiter.dispose()


async def test_models_match_migrations(database: Database) -> None:
    async with database.engine.connect() as connection:
        differences = await connection.run_sync(
            lambda c: compare_metadata(MigrationContext.configure(c), Base.metadata)
        )
    assert differences == [], f"models and migrations differ; add a migration: {differences}"


async def downgrade(engine: AsyncEngine, target: str) -> None:
    from alembic import command

    def run(connection: Connection) -> None:
        cfg = migrate.alembic_config()
        cfg.attributes["connection"] = connection
        command.downgrade(cfg, target)

    async with engine.begin() as connection:
        await connection.run_sync(run)


async def test_downgrade_to_empty_and_back(database: Database) -> None:
    await downgrade(database.engine, "base")
    assert await migrate.current_revision(database.engine) is None
    await migrate.upgrade(database.engine)
    assert await migrate.current_revision(database.engine) == migrate.head_revision()


async def test_refuses_a_database_newer_than_the_code(database: Database) -> None:
    async with database.engine.begin() as connection:
        await connection.exec_driver_sql("UPDATE alembic_version SET version_num = '9999'")
    try:
        await migrate.upgrade(database.engine)
    except migrate.SchemaTooNew as exc:
        assert "9999" in str(exc) and "newer branchbot" in str(exc)
    else:
        raise AssertionError("upgrade accepted a schema from the future")


async def test_open_questions_are_carried_over_to_conversations(empty_database_url: str) -> None:
    """0007: a question open at the upgrade still means the same after it."""
    from sqlalchemy import insert

    from models.account import Account, get_question

    engine = create_engine(empty_database_url)
    old = {
        1: ("name", None),
        2: ("new:title", {"kind": "volunteer"}),
        3: ("reject:42", None),
        4: ("checkin:7", None),
        5: ("mystery:1", None),
    }
    try:
        await migrate.upgrade(engine, "0006")
        async with engine.begin() as connection:  # the accounts table is as it was at 0006
            for account_id, (awaiting, draft) in old.items():
                await connection.execute(
                    insert(Account).values(id=account_id, awaiting=awaiting, draft=draft)
                )
        await migrate.upgrade(engine)
        sessions = create_session_factory(engine)
        async with sessions() as session:
            assert await get_question(session, 1) == ("profile.name", None)
            assert await get_question(session, 2) == ("new.title", {"kind": "volunteer"})
            assert await get_question(session, 3) == ("reject.reason", {"report_id": 42})
            assert await get_question(session, 4) == ("checkin.location", {"activity_id": 7})
            assert await get_question(session, 5) == (None, None)  # nothing to go on
    finally:
        await engine.dispose()


async def test_stored_updates_are_kept_per_bot_from_0009(empty_database_url: str) -> None:
    """0009: the rows there are get the unknown bot (0) until a bot takes them over; a
    downgrade keeps one row of each update_id."""
    from sqlalchemy import column, insert, select, table

    from models import inbox
    from models.base import JSONDocument, UTCDateTime, utcnow

    old_table = table(
        "inbound_updates",
        column("update_id"),
        column("payload", JSONDocument),
        column("received_at", UTCDateTime()),
    )
    engine = create_engine(empty_database_url)
    sessions = create_session_factory(engine)

    async def keys() -> list[tuple[int, ...]]:
        async with engine.connect() as connection:
            rows = await connection.execute(select(*inbox.InboundUpdate.__table__.primary_key))
            return sorted(tuple(row) for row in rows)

    try:
        await migrate.upgrade(engine, "0008")
        async with engine.begin() as connection:
            await connection.execute(
                insert(old_table),
                [
                    {"update_id": n, "payload": {"update_id": n}, "received_at": utcnow()}
                    for n in (1, 2)
                ],
            )
        await migrate.upgrade(engine)
        assert await keys() == [(0, 1), (0, 2)]
        async with sessions.begin() as session:
            assert await inbox.adopt_unknown(session, 42) == 2
            assert await inbox.store_update(session, 7, {"update_id": 1})  # another bot's
            assert not await inbox.store_update(session, 42, {"update_id": 2})
        assert await keys() == [(7, 1), (42, 1), (42, 2)]

        await downgrade(engine, "0008")
        async with engine.connect() as connection:
            rows = await connection.execute(select(old_table.c.update_id, old_table.c.payload))
            assert sorted(rows) == [(1, {"update_id": 1}), (2, {"update_id": 2})]
        await migrate.upgrade(engine)
        assert await keys() == [(0, 1), (0, 2)]
    finally:
        await engine.dispose()
