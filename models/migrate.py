"""Schema migrations through Alembic: the only way the schema is made."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).with_name("migrations")

# An arbitrary constant that names "a branchbot schema migration" among advisory locks
# (distinct from the scheduler's, scheduler.leader.LOCK_KEY).
MIGRATION_LOCK_KEY = 0x6262_7363_6865_6D61  # "bbschema"
# A wait longer than this is logged, so that a pause at start-up is explained.
WAIT_NOTICE_SECONDS = 3.0


class SchemaTooNew(Exception):
    """The database was migrated by a newer branchbot than this one."""


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


async def hold_migration_lock(connection: AsyncConnection) -> None:
    """Wait until no other process migrates this database, and keep it so until the
    transaction ends.

    Replicas rolling out together on an empty database would otherwise all run the
    same CREATE TABLEs, and all but one fail. Taken before anything reads the revision,
    so that a process which waited finds the schema current and does nothing."""
    notice = asyncio.get_running_loop().call_later(
        WAIT_NOTICE_SECONDS,
        log.info,
        "waiting for another process to finish migrating the database schema",
    )
    try:
        if connection.dialect.name == "postgresql":
            await connection.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY}
            )
        elif connection.dialect.name == "sqlite":
            # Two connections to one file race too. The sqlite3 module would run DDL
            # outside any transaction (it begins one only before DML); this one takes the
            # write lock at once, and another connection waits for it (up to busy_timeout,
            # models.db).
            await connection.exec_driver_sql("BEGIN IMMEDIATE")
    finally:
        notice.cancel()


async def upgrade(engine: AsyncEngine, target: str = "head") -> None:
    """The one way the schema is migrated: in one transaction, under the migration lock."""
    async with engine.begin() as connection:
        await hold_migration_lock(connection)
        await connection.run_sync(_upgrade, target)


async def check_schema(engine: AsyncEngine) -> str | None:
    """Raise SchemaTooNew if the database is ahead of the code; return its revision."""
    async with engine.connect() as connection:
        await connection.run_sync(_check_not_newer)
        return await connection.run_sync(_current)
