"""Exactly one process runs the scheduler and the sender.

Several bot processes may share one PostgreSQL database (webhooks behind a load
balancer). The leader holds a session-level advisory lock on a connection of its
own; when the process dies its connection closes, the lock is released, and
another process takes it at its next try. SQLite is for one process, which is
always the leader.
"""

from __future__ import annotations

import logging

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

log = logging.getLogger(__name__)

# An arbitrary constant that names "the branchbot scheduler" among advisory locks.
LOCK_KEY = 0x6272_616E_6368  # "branch"


class Leadership:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._connection: AsyncConnection | None = None
        self.is_leader = False

    async def try_acquire(self) -> bool:
        """Become the leader if nobody is; check that a leader still is one."""
        if self.engine.dialect.name != "postgresql":
            self.is_leader = True
            return True
        if self._connection is not None:
            try:
                await self._connection.execute(text("SELECT 1"))
                return True
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
        if got:
            self._connection = connection
            self.is_leader = True
            log.info("this process now runs the scheduler")
        else:
            await connection.close()
        return bool(got)

    async def release(self) -> None:
        self.is_leader = False
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
