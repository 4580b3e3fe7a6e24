"""Engine and session factory. The caller of a domain operation owns the session."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import Session

SessionFactory = async_sessionmaker[AsyncSession]

# How long a SQLite connection waits for the write lock before "database is locked".
BUSY_TIMEOUT_MS = 10_000


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # First: switching a new file to WAL needs a lock, and without a busy timeout a second
    # connection at that moment fails at once with "database is locked".
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()
    # The driver's own BEGIN is deferred; `_begin_immediate` says BEGIN itself.
    dbapi_connection.isolation_level = None


def _begin_immediate(connection: Any) -> None:
    # Every transaction here writes (an update's is marked processed, a scan records
    # what it sent). A deferred one that has read, then writes after another
    # connection committed, fails at once with "database is locked": busy_timeout
    # cannot help, its snapshot is stale. Taking the write lock at BEGIN makes it wait
    # its turn instead (the choice Django 5.1 and Rails 8 offer for SQLite).
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def create_engine(url: str, *, connections: int | None = None, **kwargs: Any) -> AsyncEngine:
    """`connections`: how many the pool keeps for steady use (a file or a server only; an
    in-memory SQLite database is one connection anyway)."""
    if connections is not None and make_url(url).database not in (None, "", ":memory:"):
        kwargs["pool_size"] = connections
    engine = create_async_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        event.listen(engine.sync_engine, "begin", _begin_immediate)
    return engine


def create_session_factory(engine: AsyncEngine) -> SessionFactory:
    return async_sessionmaker(engine, expire_on_commit=False)


# --- an update's objects, held until it ends ------------------------------------------------

_HELD = "branchbot.held"


def hold_loaded(session: AsyncSession) -> None:
    """Keep every object the session loads or saves alive until the session ends.

    The identity map holds objects weakly: an account, member or activity that one
    handler read and dropped is read again by the next `session.get` of the same update.
    Held, it is found in the map. For a session that reads a few rows (an update's), not
    for a scan that reads many in parts. (SQLAlchemy's "strong_reference_session" recipe.)
    """
    session.info[_HELD] = set()


def holds_loaded(session: AsyncSession | Session) -> bool:
    """Whether `hold_loaded` was called for the session (an update's)."""
    return session.info.get(_HELD) is not None


@event.listens_for(Session, "loaded_as_persistent")
@event.listens_for(Session, "pending_to_persistent")
def _hold(session: Session, instance: object) -> None:
    held = session.info.get(_HELD)
    if held is not None:
        held.add(instance)


@event.listens_for(Session, "persistent_to_detached")
@event.listens_for(Session, "persistent_to_deleted")
@event.listens_for(Session, "persistent_to_transient")
def _let_go(session: Session, instance: object) -> None:
    held = session.info.get(_HELD)
    if held is not None:
        held.discard(instance)
