"""Exactly one process runs the scheduler and the sender, one term at a time.

Several bot processes may share one PostgreSQL database (webhooks behind a load
balancer). The leader holds a session-level advisory lock on a connection of its
own; when the process dies its connection closes, the lock is released, and
another process takes it at its next try. SQLite is for one process, which is
always the leader.

A process can also lose the lock while it goes on running: the lock's connection
is cut (a database restart, a fail-over, an idle-connection killer). Then two
processes believe they lead until the old one's next check. Terms fence them: each
new leader counts `scheduler_leadership.term` up, every claim of the outbox carries
its term, and the sender confirms before each send that its term is still the
current one (models.outbox.claim_state). A deposed leader therefore stops at its
next message, and the new leader puts the old term's claims back in the queue only
after `Term.grace`, by when the old leader's last send has finished.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from dataclasses import dataclass

from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from models.base import utcnow
from models.outbox import SchedulerLeadership

log = logging.getLogger(__name__)

# An arbitrary constant that names "the branchbot scheduler" among advisory locks.
LOCK_KEY = 0x6272_616E_6368  # "branch"
# Longer than a deposed leader may still be sending after it last confirmed its term: a
# confirmation holds 5 s (scheduler.sender.CONFIRMED_FOR), then python-telegram-bot's
# time-outs (5 s each to connect, write and read, 1 s for the pool) and recording it.
CLAIM_GRACE_SECONDS = 25.0


@dataclass(frozen=True)
class Term:
    """One process's leadership, from taking the lock to losing it."""

    number: int
    # Seconds after the term began when the claims of earlier terms go back to the queue.
    grace: float


class Leadership:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._connection: AsyncConnection | None = None
        self.term: Term | None = None
        self.holder = f"{socket.gethostname()} pid {os.getpid()}"
        self._trying = asyncio.Lock()  # the leadership loop and run_once (tests) may ask at once

    async def try_acquire(self) -> Term | None:
        """Become the leader if nobody is; check that a leader still is one. The term this
        process leads in, or None."""
        async with self._trying:
            return await self._try_acquire()

    async def _try_acquire(self) -> Term | None:
        if self.engine.dialect.name != "postgresql":
            if self.term is None:  # one process: no other leader can be sending, no grace
                self.term = Term(await self._count_term(), grace=0.0)
            return self.term
        if self._connection is not None:
            try:
                await self._connection.execute(text("SELECT 1"))
                return self.term
            except Exception:
                log.warning("lost the scheduler lock's connection; leadership released")
                await self.release()
        connection = await self.engine.connect()
        try:
            got = await connection.scalar(
                text("SELECT pg_try_advisory_lock(:key)"), {"key": LOCK_KEY}
            )
            await connection.commit()  # the lock is the session's, not the transaction's
        except Exception:
            await connection.close()
            raise
        if not got:
            await connection.close()
            return None
        self._connection = connection
        try:
            number = await self._count_term()
        except Exception:
            await self.release()
            raise
        self.term = Term(number, grace=CLAIM_GRACE_SECONDS)
        log.info("this process now runs the scheduler (term %d)", number)
        return self.term

    async def _count_term(self) -> int:
        async with self.engine.begin() as connection:
            await connection.execute(
                update(SchedulerLeadership)
                .where(SchedulerLeadership.id == 1)
                .values(term=SchedulerLeadership.term + 1, holder=self.holder, started_at=utcnow())
            )
            term = await connection.scalar(
                select(SchedulerLeadership.term).where(SchedulerLeadership.id == 1)
            )
        assert term is not None, "scheduler_leadership has no row: the schema is not migrated"
        return term

    async def release(self) -> None:
        self.term = None
        if self._connection is not None:
            try:
                await self._connection.execute(
                    text("SELECT pg_advisory_unlock(:key)"), {"key": LOCK_KEY}
                )
                await self._connection.commit()
            except Exception:
                # Drop the connection itself: a pooled one would keep the lock.
                await self._connection.invalidate()
            finally:
                connection, self._connection = self._connection, None
                await connection.close()
