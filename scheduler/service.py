"""The scheduler: APScheduler 3 for the periodic jobs, the sender for the outbox.

Only the leader process (see `leader`) runs either. Jobs are scans over the
database, each enqueuing with a dedup key, so a job that runs late, twice, or
after a restart sends nothing twice, and what fell due while the bot was down is
found by the next scan. APScheduler is configured for that: a late run is never
skipped (`misfire_grace_time=None`; its default of one second silently drops
it), runs that piled up are merged into one (`coalesce`), and one instance at a
time. The job store is in memory on purpose: the schedule is code, the state is
in the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import time

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from telegram import Bot

from models.db import SessionFactory
from models.notifications import take_pending
from scheduler import jobs
from scheduler.clock import Clock
from scheduler.leader import Leadership
from scheduler.ratelimit import Limits, RateLimiter
from scheduler.sender import Sender
from views.i18n import Defaults
from views.notifications import OutboxNotifier

log = logging.getLogger(__name__)

LEADER_CHECK_SECONDS = 15  # a dead leader is replaced within this (plus its TCP time-out)
SCAN_SECONDS = 30


@dataclass(frozen=True)
class SchedulerSettings:
    """From `[scheduler]` and `[bot]` in the configuration (bot.app builds it)."""

    defaults: Defaults = field(default_factory=Defaults)
    quiet_hours: tuple[time, time] = (time(22), time(8))
    digest_hour: int = 8
    messages_per_second: float = 29.0


@dataclass
class JobContext:
    """What a job needs; each part of a job is one unit of work (`work()`)."""

    bot: Bot
    sessions: SessionFactory
    clock: Clock
    settings: SchedulerSettings
    sender: Sender

    @asynccontextmanager
    async def work(self) -> AsyncIterator[AsyncSession]:
        """One transaction; what it notified is queued in the outbox before the commit."""
        async with self.sessions.begin() as session:
            yield session
            notifier = OutboxNotifier(self.clock.now, self.settings.defaults)
            await notifier.deliver(session, take_pending(session))


class SchedulerService:
    def __init__(
        self,
        bot: Bot,
        engine: AsyncEngine,
        sessions: SessionFactory,
        clock: Clock,
        settings: SchedulerSettings,
    ) -> None:
        limits = Limits(per_second=settings.messages_per_second)
        self.sender = Sender(bot, sessions, clock, settings.quiet_hours, RateLimiter(limits))
        self.context = JobContext(bot, sessions, clock, settings, self.sender)
        self.leadership = Leadership(engine)
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._scheduler: AsyncIOScheduler | None = None
        self._sending: asyncio.Task[None] | None = None
        self._term = asyncio.Event()

    def wake(self) -> None:
        self.sender.wake()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._lead(), name="scheduler-leadership")

    async def _lead(self) -> None:
        while not self._stop.is_set():
            try:
                if await self.leadership.try_acquire():
                    self._start_work()
                elif self._scheduler is not None:
                    # The lock is gone (its connection died): another process may lead now.
                    log.warning("scheduler leadership lost; stopping this process's sending")
                    await self._stop_work()
            except Exception:
                log.exception("scheduler leadership check failed; will try again")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), timeout=LEADER_CHECK_SECONDS)

    def _start_work(self) -> None:
        if self._scheduler is not None:
            return
        scheduler = AsyncIOScheduler(
            job_defaults={"misfire_grace_time": None, "coalesce": True, "max_instances": 1},
            timezone="UTC",
        )
        scheduler.add_job(
            jobs.scan, "interval", seconds=SCAN_SECONDS, args=[self.context], id="scan"
        )
        scheduler.add_job(jobs.prune, "interval", hours=6, args=[self.context], id="prune")
        scheduler.start()
        self._scheduler = scheduler
        self._term = asyncio.Event()  # this term of leadership; set when it ends
        self._sending = asyncio.create_task(self.sender.run(self._term), name="sender")
        # The first scan now: whatever fell due while no process was leading.
        asyncio.get_running_loop().create_task(jobs.scan(self.context))

    async def run_once(self) -> int:
        """Tests: one scan, then send everything due now. Returns the rows handled."""
        await jobs.scan(self.context)
        handled = 0
        while sent := await self.sender.send_due():
            handled += sent
        return handled

    async def catch_up(self) -> None:
        """The clock jumped (the sandbox): what fell due is found and sent now, not at the
        next scan."""
        if self._scheduler is not None:
            await jobs.scan(self.context)
            self.wake()

    async def _stop_work(self) -> None:
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=False)
            self._scheduler = None
        self._term.set()
        if self._sending is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._sending
            self._sending = None

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._stop_work()
        await self.leadership.release()
