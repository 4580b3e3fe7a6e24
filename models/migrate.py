"""Schema migrations through Alembic: the only way the schema is made."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).with_name("migrations")

# An arbitrary constant that names "a branchbot schema migration" among advisory locks
# (distinct from the scheduler's, scheduler.leader.LOCK_KEY).
MIGRATION_LOCK_KEY = 0x6262_7363_6865_6D61  # "bbschema"
# A wait longer than this is logged, so that a pause at start-up is explained.
WAIT_NOTICE_SECONDS = 3.0
# How soon a migration that found SQLite's write lock taken past the busy timeout tries again.
LOCKED_RETRY_SECONDS = 0.5


class SchemaTooNew(Exception):
    """The database was migrated by a newer branchbot than this one."""


class SchemaBehind(Exception):
    """The database's schema is older than this code (or absent), and is not migrated
    on its own (database.auto_migrate = false)."""

    def __init__(self, revision: str | None) -> None:
        self.revision = revision
        state = (
            "has no schema yet"
            if revision is None
            else f"is at schema revision {revision}, older than this branchbot's {head_revision()}"
        )
        super().__init__(
            f"the database {state}; run `branchbot db upgrade` "
            "(database.auto_migrate = false: nothing migrates it on its own)"
        )


def alembic_config(url: str = "") -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if url:
        cfg.set_main_option("sqlalchemy.url", url)
    return cfg


def head_revision() -> str:
    return ScriptDirectory.from_config(alembic_config()).get_current_head() or ""


def _current(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


async def current_revision(engine: AsyncEngine) -> str | None:
    async with engine.connect() as connection:
        return await connection.run_sync(_current)


def _check_not_newer(connection: Connection) -> None:
    revision = _current(connection)
    if revision is None:
        return
    script = ScriptDirectory.from_config(alembic_config())
    if not _known(script, revision):
        raise SchemaTooNew(
            f"the database is at schema revision {revision}, which this version of branchbot "
            f"does not know (its newest is {script.get_current_head()}); run a newer branchbot"
        )


def _known(script: ScriptDirectory, revision: str) -> bool:
    try:
        return script.get_revision(revision) is not None
    except Exception:  # alembic raises several kinds for an unknown id
        return False


def _upgrade(connection: Connection, target: str) -> None:
    _check_not_newer(connection)  # under the lock: sees what a migration just before did
    cfg = alembic_config()
    cfg.attributes["connection"] = connection
    command.upgrade(cfg, target)


@asynccontextmanager
async def migration_transaction(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A transaction that no other process migrating this database runs beside.

    Replicas rolling out together on an empty database would otherwise all run the
    same CREATE TABLEs, and all but one fail. The lock is taken before anything reads
    the revision, so that a process which waited finds the schema current and does
    nothing: on PostgreSQL an advisory lock; on SQLite every transaction already holds
    the write lock from its BEGIN (models.db), where the waiting happens: for as long
    as the other migration takes, beyond the busy timeout (`_begin_when_free`)."""
    notice = asyncio.get_running_loop().call_later(
        WAIT_NOTICE_SECONDS,
        log.info,
        "waiting for another process to finish migrating the database schema",
    )
    try:
        connection = await _begin_when_free(engine)
        try:
            if connection.dialect.name == "postgresql":
                await connection.execute(
                    text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY}
                )
            notice.cancel()
            yield connection
            await connection.commit()
        finally:
            await connection.close()  # rolled back unless committed
    finally:
        notice.cancel()


async def _begin_when_free(engine: AsyncEngine) -> AsyncConnection:
    """A connection in a transaction. SQLite's BEGIN IMMEDIATE gives up with "database is
    locked" after the busy timeout (models.db), and a migration may take longer: begin
    again until the other one is done. Connecting may wait too: a new file's first
    connection switches it to WAL (models.db), which needs the lock as well."""
    while True:
        connection: AsyncConnection | None = None
        try:
            connection = await engine.connect()
            await connection.begin()
        except OperationalError as error:
            if connection is not None:
                await connection.close()
            if engine.dialect.name != "sqlite" or "database is locked" not in str(error):
                raise
            await asyncio.sleep(LOCKED_RETRY_SECONDS)
            continue
        return connection


async def upgrade(engine: AsyncEngine, target: str = "head") -> None:
    """The one way the schema is migrated: in one transaction, under the migration lock."""
    async with migration_transaction(engine) as connection:
        await connection.run_sync(_upgrade, target)


async def ensure_current(engine: AsyncEngine, *, auto_migrate: bool) -> None:
    """Before anything touches the schema: migrate it, or (auto_migrate off) refuse a
    schema that is not this code's with SchemaBehind or SchemaTooNew."""
    if auto_migrate:
        await upgrade(engine)
        return
    revision = await check_schema(engine)
    if revision != head_revision():
        raise SchemaBehind(revision)


async def check_schema(engine: AsyncEngine) -> str | None:
    """Raise SchemaTooNew if the database is ahead of the code; return its revision."""
    async with engine.connect() as connection:
        await connection.run_sync(_check_not_newer)
        return await connection.run_sync(_current)
