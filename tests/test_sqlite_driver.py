"""models.db's SQLite connection: statements, the commit included, on the event loop's
thread, and a statement that finds the write lock taken waiting for it without holding up
the loop."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path

import pytest
from sqlalchemy import text

import models.db
from models.db import create_engine


async def _traced(engine, record: list[tuple[str, int]]) -> None:  # type: ignore[no-untyped-def]
    """Record each statement SQLite runs on the pool's connection, with its thread."""
    async with engine.connect() as connection:
        raw = await connection.get_raw_connection()
        sqlite_connection = raw.driver_connection._conn
        sqlite_connection.set_trace_callback(
            lambda statement: record.append((statement, threading.get_ident()))
        )


async def test_statements_and_the_commit_run_on_the_loops_thread(
    tmp_path: Path,
) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}", connections=1)
    ran: list[tuple[str, int]] = []
    try:
        await _traced(engine, ran)
        async with engine.begin() as connection:
            await connection.execute(text("CREATE TABLE t (x INTEGER)"))
            await connection.execute(text("INSERT INTO t VALUES (1)"))
    finally:
        await engine.dispose()
    loop_thread = threading.get_ident()
    threads = {statement: thread for statement, thread in ran}
    assert threads["BEGIN IMMEDIATE"] == loop_thread
    assert threads["INSERT INTO t VALUES (1)"] == loop_thread
    assert threads["COMMIT"] == loop_thread


async def test_a_statement_waits_for_the_write_lock_while_the_loop_goes_on(
    tmp_path: Path,
) -> None:
    path = tmp_path / "db.sqlite"
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    async with engine.begin() as connection:
        await connection.execute(text("CREATE TABLE t (x INTEGER)"))
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process's writer, say
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.005)

    async def write() -> None:
        async with engine.begin() as connection:
            await connection.execute(text("INSERT INTO t VALUES (2)"))

    ticker = asyncio.create_task(tick())
    writer = asyncio.create_task(write())
    try:
        await asyncio.sleep(0.2)
        assert not writer.done()  # still waiting for the lock
        assert ticks >= 10  # and the loop ran other work meanwhile
        holder.execute("COMMIT")
        await asyncio.wait_for(writer, 5)
        assert holder.execute("SELECT x FROM t").fetchall() == [(2,)]
    finally:
        ticker.cancel()
        holder.close()
        await engine.dispose()


async def test_a_statement_gives_up_on_the_write_lock_after_the_busy_timeout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(models.db, "BUSY_TIMEOUT_SECONDS", 0.1)
    path = tmp_path / "db.sqlite"
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    async with engine.begin() as connection:
        await connection.execute(text("CREATE TABLE t (x INTEGER)"))
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(Exception, match="database is locked"):
            async with engine.begin() as connection:
                await connection.execute(text("INSERT INTO t VALUES (3)"))
    finally:
        holder.execute("ROLLBACK")
        holder.close()
        await engine.dispose()
