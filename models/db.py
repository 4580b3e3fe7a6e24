"""Engine and session factory. The caller of a domain operation owns the session."""

from __future__ import annotations

import asyncio
import itertools
import logging
import sqlite3
from collections.abc import Callable
from functools import partial
from typing import Any, Generic, TypeVar

import aiosqlite
from sqlalchemy import URL, event, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import ORMExecuteState, Session

SessionFactory = async_sessionmaker[AsyncSession]

# How long a SQLite statement waits for another connection's write lock before
# "database is locked".
BUSY_TIMEOUT_SECONDS = 10.0
_BUSY = (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_BUSY_RECOVERY)
_FIRST_PAUSE, _LONGEST_PAUSE = 0.001, 0.05
_AIOSQLITE_LOG = logging.getLogger("aiosqlite")
_ITER_CHUNK_SIZE = 64  # aiosqlite's default: rows a cursor's `async for` fetches at a time


class _InlineConnection(aiosqlite.Connection):
    """aiosqlite's connection, each call made on the event loop's own thread.

    A SQLite statement of an update takes some microseconds; handing it to aiosqlite's
    thread and back (a queue, a future, a wake-up of the loop) costs ten times that, and
    an update runs about ten. The commit too: its wait for the disk is far shorter than
    the hop when the loop is busy, for the thread must then win the GIL back to hand
    the result over (two writers beside two busy lanes: about 1,500 commits/s inline,
    under 25 on the thread; bench/bench_sqlite_driver.py). Inline, the one thing that
    may take long is waiting for another connection's write lock, and that wait must not
    hold up the loop: the holder may be a lane of this very process, waiting on the
    network. So SQLite's own busy timeout is 0, and a statement refused as busy (which
    SQLite refuses before doing any of its work) is tried again after an asyncio sleep,
    for up to BUSY_TIMEOUT_SECONDS.
    """

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if not self._running or not self._connection:
            raise ValueError("Connection closed")
        _AIOSQLITE_LOG.debug("executing %s %s", fn, args)  # as aiosqlite's thread logs
        loop = asyncio.get_running_loop()
        deadline = loop.time() + BUSY_TIMEOUT_SECONDS
        pause = _FIRST_PAUSE
        while True:
            try:
                return fn(*args, **kwargs)
            except sqlite3.OperationalError as error:
                if error.sqlite_errorcode not in _BUSY or loop.time() >= deadline:
                    raise
            await asyncio.sleep(pause)
            pause = min(pause * 2, _LONGEST_PAUSE)


def _inline_connector(url: URL) -> Callable[[], Any]:
    """The engine's `async_creator` for a SQLite URL: the file and options SQLAlchemy
    reads from it, opened by `_InlineConnection` with no busy timeout of SQLite's own."""
    args, options = url.get_dialect()().create_connect_args(url)
    # Opened on aiosqlite's thread, used on the loop's.
    options |= {"check_same_thread": False, "timeout": 0}

    async def connect() -> aiosqlite.Connection:
        connection = _InlineConnection(partial(sqlite3.connect, *args, **options), _ITER_CHUNK_SIZE)
        connection._thread.daemon = True  # as SQLAlchemy's own connect does
        return await connection

    return connect


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    # Switching a new file to WAL takes a lock: while another connection holds it, this
    # waits as any busy statement does (`_InlineConnection`).
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()
    # The driver's own BEGIN is deferred; `_begin_immediate` says BEGIN itself.
    dbapi_connection.isolation_level = None


def _begin_immediate(connection: Any) -> None:
    # Every transaction here writes (an update's is marked processed, a scan records
    # what it sent). A deferred one that has read, then writes after another
    # connection committed, fails at once with "database is locked": waiting
    # cannot help, its snapshot is stale. Taking the write lock at BEGIN makes it wait
    # its turn instead (the choice Django 5.1 and Rails 8 offer for SQLite).
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def create_engine(url: str, *, connections: int | None = None, **kwargs: Any) -> AsyncEngine:
    """`connections`: how many the pool keeps for steady use (a file or a server only; an
    in-memory SQLite database is one connection anyway)."""
    parsed = make_url(url)
    if connections is not None and parsed.database not in (None, "", ":memory:"):
        kwargs["pool_size"] = connections
    sqlite = parsed.get_backend_name() == "sqlite"
    if sqlite:
        kwargs["async_creator"] = _inline_connector(parsed)
    engine = create_async_engine(url, **kwargs)
    if sqlite:
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


# --- what a session read once ---------------------------------------------------------------

T = TypeVar("T")


class SessionMemo(Generic[T]):
    """Something a session reads once and keeps in `session.info` (an update asks the
    same thing of several handlers): dropped when the session writes a row of one of
    `written` (by flush, or by an ORM insert, update or delete) or rolls back, so the
    next call reads it again. `memo(session)` is the session's, made by `make` if new.
    """

    def __init__(self, key: str, make: Callable[[], T], *written: type) -> None:
        self.key, self.make, self.written = f"branchbot.{key}", make, written
        _MEMOS.append(self)

    def __call__(self, session: AsyncSession | Session) -> T:
        memo = session.info.get(self.key)
        if memo is None:
            memo = session.info[self.key] = self.make()
        return memo

    def forget(self, session: Session) -> None:
        session.info.pop(self.key, None)


_MEMOS: list[SessionMemo[Any]] = []


def _held_memos(session: Session) -> list[SessionMemo[Any]]:
    """The memos the session holds that a write can make stale (none, in most sessions:
    a scan's many flushes look at nothing)."""
    return [memo for memo in _MEMOS if memo.written and memo.key in session.info]


@event.listens_for(Session, "before_flush")
def _forget_flushed(session: Session, *_: Any) -> None:
    held = _held_memos(session)
    if held:
        changed = list(itertools.chain(session.new, session.dirty, session.deleted))
        for memo in held:
            if any(isinstance(o, memo.written) for o in changed):
                memo.forget(session)


@event.listens_for(Session, "do_orm_execute")
def _forget_executed(state: ORMExecuteState) -> None:
    if state.is_update or state.is_delete or state.is_insert:
        for memo in _held_memos(state.session):
            if any(issubclass(mapper.class_, memo.written) for mapper in state.all_mappers):
                memo.forget(state.session)


@event.listens_for(Session, "after_soft_rollback")
def _forget_rolled_back(session: Session, *_: Any) -> None:
    for memo in _MEMOS:
        memo.forget(session)
