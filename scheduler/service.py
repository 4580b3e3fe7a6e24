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
from collections.abc import AsyncIterator, Awaitable, Callable
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
from scheduler.leader import Leadership, Term
from scheduler.ratelimit import RateLimiter
from scheduler.sender import Sender, first_of
from views.i18n import Defaults
from views.notifications import OutboxNotifier

log = logging.getLogger(__name__)

LEADER_CHECK_SECONDS = 15  # a dead leader is replaced within this (plus its TCP time-out)
SCAN_SECONDS = 30
# Check-in screens: a pass every 5 seconds, one pass at a time, at most one edit per screen
# a pass, so no screen is edited more often than every 5 seconds. Telegram publishes no
# limit for edits; editing one message about once a second or more draws 429s, and a group
# takes 20 messages a minute. 12 edits a minute stays under both, and the count on a screen
# lags a check-in by 5 seconds at most (a new code is due only every qr_seconds / 2).
SCREEN_SECONDS = 5


@dataclass(frozen=True)
class SchedulerSettings:
    """From `[scheduler]` and `[bot]` in the configuration (bot.app builds it)."""

    defaults: Defaults = field(default_factory=Defaults)
    quiet_hours: tuple[time, time] = (time(22), time(8))
    digest_hour: int = 8
    check_in_secret: str = ""  # signs the check-in screens' QR codes
    qr_seconds: int = 60


@dataclass
class JobContext:
    """What a job needs; each part of a job is one unit of work (`work()`)."""

    bot: Bot
    sessions: SessionFactory
    clock: Clock
    settings: SchedulerSettings
    sender: Sender
    # One pass over the check-in screens at a time (jobs.refresh_screens), and one over the
    # live figures messages (jobs.refresh_figures): two passes at once would both edit a
    # message to the same text, and Telegram refuses the second edit.
    screens_pass: asyncio.Lock = field(default_factory=asyncio.Lock)
    figures_pass: asyncio.Lock = field(default_factory=asyncio.Lock)

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
        limiter: RateLimiter,
    ) -> None:
        self.sender = Sender(bot, sessions, clock, settings.quiet_hours, limiter)
        self.context = JobContext(bot, sessions, clock, settings, self.sender)
        self.leadership = Leadership(engine)
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._scheduler: AsyncIOScheduler | None = None
        self._term: Term | None = None  # the term this process's work runs in
        self._term_over = asyncio.Event()
        self._sending: asyncio.Task[None] | None = None
        self._first_scan: asyncio.Task[None] | None = None

    def wake(self) -> None:
        self.sender.wake()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._lead(), name="scheduler-leadership")

    async def _lead(self) -> None:
        while not self._stop.is_set():
            try:
                if self.sender.deposed.is_set():
                    # A send or a claim found the term over: whatever the lock says, this
                    # term is done. Let go, and lead again in a new term if nobody else does.
                    await self._stop_work()
                    await self.leadership.release()
                term = await self.leadership.try_acquire()
                if term != self._term:
                    if self._term is not None:
                        # The lock is gone (its connection died): another process may lead now.
                        log.warning("scheduler leadership lost; stopping this process's sending")
                        await self._stop_work()
                    if term is not None:
                        self._start_work(term)
            except Exception:
                log.exception("scheduler leadership check failed; will try again")
            # Check again after a while, or at once when the sender found its term over.
            await first_of(self._stop, self.sender.deposed, timeout=LEADER_CHECK_SECONDS)

    def _start_work(self, term: Term) -> None:
        scheduler = AsyncIOScheduler(
            job_defaults={"misfire_grace_time": None, "coalesce": True, "max_instances": 1},
            timezone="UTC",
        )
        scheduler.add_job(
            _until_term_ends, "interval", seconds=SCAN_SECONDS, args=[jobs.scan, self.context]
        )
        scheduler.add_job(_until_term_ends, "interval", hours=6, args=[jobs.prune, self.context])
        scheduler.add_job(
            _until_term_ends,
            "interval",
            seconds=SCREEN_SECONDS,
            args=[jobs.refresh_screens, self.context],
        )
        # The live figures of notices: edited as often as the screens, for the same reasons.
        scheduler.add_job(
            _until_term_ends,
            "interval",
            seconds=SCREEN_SECONDS,
            args=[jobs.refresh_figures, self.context],
        )
        scheduler.start()
        self._scheduler = scheduler
        self._term = term
        self._term_over = asyncio.Event()
        self.sender.deposed.clear()
        self._sending = asyncio.create_task(self.sender.run(term, self._term_over), name="sender")
        # The first scan now: whatever fell due while no process was leading.
        self._first_scan = asyncio.create_task(_until_term_ends(jobs.scan, self.context))

    async def run_once(self) -> int:
        """Tests: one scan, then send everything due now. Returns the rows handled."""
        term = await self.leadership.try_acquire()
        assert term is not None, "another process leads the scheduler"
        await jobs.scan(self.context)
        return await self.sender.send_due(term)

    async def refresh_screens_once(self) -> None:
        """Tests: one pass over the check-in screens (the edits are done when it returns)."""
        term = await self.leadership.try_acquire()
        assert term is not None, "another process leads the scheduler"
        await jobs.refresh_screens(self.context)

    async def refresh_figures_once(self) -> None:
        """Tests: one pass over the live figures messages (edited when it returns)."""
        term = await self.leadership.try_acquire()
        assert term is not None, "another process leads the scheduler"
        await jobs.refresh_figures(self.context)

    async def catch_up(self) -> None:
        """The clock jumped (the sandbox): what fell due is found and sent now, and the
        check-in screens are brought up to the new time, not at the next scan."""
        if self._scheduler is not None:
            await jobs.scan(self.context)
            await jobs.refresh_screens(self.context)
            await jobs.refresh_figures(self.context)
            self.wake()

    async def _stop_work(self) -> None:
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=False)  # cancels a scan that is running
            self._scheduler = None
        if self._first_scan is not None:
            self._first_scan.cancel()  # no-op when it is done
        self._term_over.set()
        if self._sending is not None:
            await self._sending  # the chats finish the message in hand
        self._sending = self._first_scan = None
        self._term = None
        self.sender.deposed.clear()

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._stop_work()
        await self.leadership.release()


async def _until_term_ends(
    job: Callable[[JobContext], Awaitable[None]], context: JobContext
) -> None:
    """A job, cancelled when leadership ends: each of its steps is a transaction, so what
    it did is kept and what it was doing is rolled back; one line, not a traceback."""
    try:
        await job(context)
    except asyncio.CancelledError:
        log.info("%s stopped: this process's scheduler term ended", job.__name__)
