"""Schema migrations through Alembic: the only way the schema is made."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

MIGRATIONS = Path(__file__).with_name("migrations")


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
    _check_not_newer(connection)
    cfg = alembic_config()
    cfg.attributes["connection"] = connection
    command.upgrade(cfg, target)


async def upgrade(engine: AsyncEngine, target: str = "head") -> None:
    async with engine.begin() as connection:
        await connection.run_sync(_upgrade, target)


async def check_schema(engine: AsyncEngine) -> str | None:
    """Raise SchemaTooNew if the database is ahead of the code; return its revision."""
    async with engine.connect() as connection:
        await connection.run_sync(_check_not_newer)
        return await connection.run_sync(_current)
