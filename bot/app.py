"""Assembly: the python-telegram-bot Application, and the runtime that feeds it updates.

Updates reach the Application only through `UpdateInbox`: polling and the webhook
both store an update in the database before Telegram is told it arrived, and the
inbox marks it processed once its handlers have run. A crash therefore loses no
update, and a repeated delivery of one update_id is handled once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time as clock
from collections.abc import Awaitable, Callable
from datetime import time, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine
from telegram import Update
from telegram.constants import ParseMode
from telegram.error import Conflict, InvalidToken, NetworkError, RetryAfter, TelegramError
from telegram.ext import Application, ContextTypes
from telegram.ext import Defaults as TelegramDefaults

import handlers
from bot.config import Config, bot_id, check_secrets
from bot.webhook import WebhookServer, create_webhook_server, open_socket, register_webhook
from handlers.common import set_command_menus
from handlers.context import SERVICES_KEY, BotContext, Services
from handlers.work import process
from models import inbox, migrate
from models.base import utcnow
from models.db import create_engine, create_session_factory
from scheduler.clock import Clock, SystemClock
from scheduler.ratelimit import Limits, RateLimiter
from scheduler.service import SchedulerService, SchedulerSettings

log = logging.getLogger(__name__)

POLL_TIMEOUT = 30  # seconds a getUpdates call may wait for news
# The inbox looks this often for updates that waited longer than LEFT_WAITING.
SWEEP_SECONDS = 15.0
LEFT_WAITING = timedelta(seconds=10)
# Start-up waits for an unreachable Bot API, trying again after 1, 2, 4 … seconds, at
# most this many apart, and says so in the log at most once in this many seconds.
BOT_API_RETRY_MAX_SECONDS = 30.0
BOT_API_NOTICE_SECONDS = 60.0


def build_application(config: Config, services: Services, limiter: RateLimiter) -> Application:  # type: ignore[type-arg]
    application = (
        Application.builder()
        .token(config.telegram.token)
        .defaults(TelegramDefaults(parse_mode=ParseMode.HTML))  # every text is HTML (views.i18n)
        .rate_limiter(limiter)  # every send shares one budget; replies go first
        .base_url(config.telegram.bot_base_url)
        .base_file_url(config.telegram.file_base_url)
        .context_types(ContextTypes(context=BotContext))
        .updater(None)  # updates come through UpdateInbox, not PTB's Updater
        .job_queue(None)  # time-driven work is scheduler.service's, in the leading process
        .build()
    )
    application.bot_data[SERVICES_KEY] = services
    handlers.register(application)
    return application


def scheduler_settings(config: Config) -> SchedulerSettings:
    return SchedulerSettings(
        defaults=config.bot.defaults,
        quiet_hours=(
            time.fromisoformat(config.scheduler.quiet_hours_start),
            time.fromisoformat(config.scheduler.quiet_hours_end),
        ),
        digest_hour=config.scheduler.digest_hour,
        check_in_secret=config.checkin.secret,
        qr_seconds=config.checkin.qr_seconds,
    )


class UpdateInbox:
    """Stores updates before they are acknowledged, and handles each once: each chat's in
    the order they came, different chats' side by side, at most `lanes` at a time.

    A chat's updates are taken from the database one by one, each marked processed as it
    is taken, in the transaction that handles it (handlers.work.process), under a lock of the
    chat that other replicas on the same PostgreSQL database respect: so the order per
    chat holds across replicas, and what a replica stored and could not handle (it
    died, or the handling failed) is found by the others' sweep and handled there.
    Within a process a lane sends an update's replies before it takes the chat's next
    one; across replicas the lock ends with the commit, so a reply may still be on its
    way when another replica handles the chat's next update."""

    def __init__(self, application: Application, services: Services, lanes: int) -> None:  # type: ignore[type-arg]
        self.application = application
        self.services = services
        self.sessions = services.sessions
        self.bot_id = services.bot_id
        self._lanes = asyncio.Semaphore(lanes)
        self._running: dict[int, asyncio.Task[None]] = {}  # chat key -> its lane
        self._more: set[int] = set()  # chats given updates while their lane ran
        self._sweeper: asyncio.Task[None] | None = None

    async def accept(self, payload: dict[str, Any]) -> bool:
        """Store one update and queue it; False for a repeated update_id."""
        return bool(await self.accept_batch([payload]))

    async def accept_batch(self, payloads: list[dict[str, Any]]) -> int:
        """Store updates in one transaction (one disk flush for a polled batch), then start
        their chats' lanes; the number that were new."""
        payloads = [inbox.storable(payload) for payload in payloads]
        async with self.sessions.begin() as session:
            new = await inbox.store_updates(session, self.bot_id, payloads)
        for key in dict.fromkeys(inbox.chat_key(payload) for payload in new):
            self._wake(key)
        return len(new)

    async def start(self) -> None:
        # What a previous run stored but never finished goes first, however much.
        async with self.sessions() as session:
            waiting = await inbox.chats_waiting(session, self.bot_id)
        for key in waiting:
            self._wake(key)
        if waiting:
            log.info("resuming the stored updates of %d chat(s) from the last run", len(waiting))
        self._sweeper = asyncio.create_task(self._sweep(), name="update-inbox-sweep")

    async def join(self) -> None:
        """Wait until every stored update this process knows of has been handled."""
        while self._running:
            await asyncio.gather(*self._running.values(), return_exceptions=True)

    async def stop(self) -> None:
        tasks = [*self._running.values(), *([self._sweeper] if self._sweeper else [])]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._sweeper = None

    def _wake(self, key: int) -> None:
        if key in self._running:
            self._more.add(key)  # the lane looks again before it ends
        else:
            self._running[key] = asyncio.create_task(self._lane(key), name=f"chat-{key}")

    async def _lane(self, key: int) -> None:
        try:
            async with self._lanes:
                while True:
                    self._more.discard(key)
                    # No await between the last look and leaving: a wake either lands
                    # in `_more` before the check, or starts a new lane after.
                    if not await self._handle_next(key) and key not in self._more:
                        return
        finally:
            self._running.pop(key, None)

    async def _handle_next(self, key: int) -> bool:
        """Handle the chat's earliest unprocessed update; True when another of the chat's
        is waiting after it, False when none is, or it failed and is left for the sweep
        to try again."""
        update_id = None
        try:
            async with self.sessions() as session:
                await inbox.lock_chat(session, key)
                update_id, payload, more = await inbox.take_next(session, self.bot_id, key)
                if update_id is None:
                    return False
                update = Update.de_json(payload, self.application.bot)
                await process(self.application, update, self.services, session, key)
            return more
        except Exception:  # the lane must outlive any one update
            if update_id is None:
                log.exception("the updates of a chat could not be read; trying again later")
                return False
            log.exception("update %s could not be processed", update_id)
            async with self.sessions.begin() as session:
                set_aside = await inbox.count_failure(session, self.bot_id, update_id)
            if set_aside:
                log.error(
                    "update %s set aside after %d failed attempts", update_id, inbox.MAX_ATTEMPTS
                )
            return set_aside

    async def _sweep(self) -> None:
        """Now and then, the chats whose updates have waited too long: another replica's
        that died, or an update whose handling failed, to be tried again."""
        while True:
            await asyncio.sleep(SWEEP_SECONDS)
            try:
                async with self.sessions() as session:
                    waiting = await inbox.chats_waiting(
                        session, self.bot_id, received_before=utcnow() - LEFT_WAITING
                    )
            except Exception as error:  # the database is away: the next sweep tries again
                log.warning("stored updates could not be looked at: %s", error)
                continue
            for key in waiting:
                self._wake(key)


async def poll(application: Application, updates: UpdateInbox, stop: asyncio.Event) -> None:  # type: ignore[type-arg]
    """Long polling; an update is confirmed to Telegram (by the next offset) once stored."""
    offset: int | None = None
    backoff = 1.0
    while not stop.is_set():
        try:
            batch = await application.bot.get_updates(
                offset=offset, timeout=POLL_TIMEOUT, allowed_updates=Update.ALL_TYPES
            )
        except RetryAfter as exc:
            await _sleep_or_stop(stop, _seconds(exc.retry_after))
            continue
        except Conflict:
            log.error("another process is polling with this token, or a webhook is set")
            await _sleep_or_stop(stop, 10)
            continue
        except NetworkError as exc:
            log.warning("getUpdates failed (%s); retrying in %.0fs", exc, backoff)
            await _sleep_or_stop(stop, backoff)
            backoff = min(backoff * 2, 60)
            continue
        if batch:
            try:
                await updates.accept_batch([update.to_dict() for update in batch])
            except Exception:  # the database: unconfirmed, Telegram sends the batch again
                log.exception("updates could not be stored; retrying in %.0fs", backoff)
                await _sleep_or_stop(stop, backoff)
                backoff = min(backoff * 2, 60)
                continue
            offset = batch[-1].update_id + 1
        backoff = 1.0


def _seconds(retry_after: float | timedelta) -> float:
    return retry_after.total_seconds() if isinstance(retry_after, timedelta) else retry_after


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)


async def prepare_database(config: Config, engine: AsyncEngine) -> None:
    """Migrate (or only check) the schema before anything touches it; then take over the
    updates stored before they were kept per bot (models.inbox.adopt_unknown)."""
    await migrate.ensure_current(engine, auto_migrate=config.database.auto_migrate)
    async with create_session_factory(engine).begin() as session:
        adopted = await inbox.adopt_unknown(session, bot_id(config))
    if adopted:
        log.info("took over %d update(s) stored before updates were kept per bot", adopted)


class BotRuntime:
    """Everything one running bot process owns, with start and stop for tests and the CLI."""

    def __init__(self, config: Config, *, clock: Clock | None = None) -> None:
        check_secrets(config)
        self.config = config
        # A connection for each lane, and for the scheduler, its sender and its leadership.
        self.engine = create_engine(config.database.url, connections=config.bot.lanes + 4)
        self.sessions = create_session_factory(self.engine)
        self.services = Services(
            defaults=config.bot.defaults,
            sessions=self.sessions,
            clock=clock or SystemClock(),
            bot_id=bot_id(config),
            check_in_secret=config.checkin.secret,
            qr_seconds=config.checkin.qr_seconds,
            remind_every=timedelta(hours=config.notices.remind_every_hours),
            quiet_hours=scheduler_settings(config).quiet_hours,
        )
        self.limiter = RateLimiter(Limits(per_second=float(config.scheduler.messages_per_second)))
        self.application = build_application(config, self.services, self.limiter)
        self.updates = UpdateInbox(self.application, self.services, config.bot.lanes)
        self.scheduler: SchedulerService | None = None
        if config.scheduler.enabled:
            self.scheduler = SchedulerService(
                self.application.bot,
                self.engine,
                self.sessions,
                self.services.clock,
                scheduler_settings(config),
                self.limiter,
            )
            self.services.wake_sender = self.scheduler.wake
        self.stopping = asyncio.Event()
        self._tasks: list[asyncio.Task[Any]] = []
        self.webhook_server: WebhookServer | None = None
        self.webhook_port: int | None = None
        # Set once updates are handled; until then /healthz says what is awaited.
        self.ready = asyncio.Event()
        self.waiting_for = "starting"

    async def start(self, *, webhook: bool = False) -> None:
        """Ready to handle updates, once the Bot API answers (it is waited for; see
        `_until_the_bot_api_answers`); returns early when stopped meanwhile. The webhook
        listens from the start, so that /healthz says what the bot is waiting for."""
        await prepare_database(self.config, self.engine)
        if webhook:
            listener = open_socket(self.config.webhook.listen, self.config.webhook.port)
            self.webhook_port = listener.getsockname()[1]
            self.webhook_server = create_webhook_server(self)
            serving = self.webhook_server.serve(sockets=[listener])
            self._tasks.append(asyncio.create_task(serving, name="webhook"))
        if not await self._until_the_bot_api_answers(self._introduce):
            return
        await self.application.start()
        await self.updates.start()
        if self.scheduler is not None:
            await self.scheduler.start()
        self.ready.set()
        self.waiting_for = ""
        if webhook:
            await self._until_the_bot_api_answers(lambda: register_webhook(self))
        else:
            await self._until_the_bot_api_answers(self.application.bot.delete_webhook)
            self._tasks.append(
                asyncio.create_task(
                    poll(self.application, self.updates, self.stopping), name="poll"
                )
            )

    async def _introduce(self) -> None:
        await self.application.initialize()  # getMe: the token is checked here
        await set_command_menus(self.application)

    async def _until_the_bot_api_answers(self, call: Callable[[], Awaitable[Any]]) -> bool:
        """Run `call`, again and again while the Bot API cannot be reached; False when
        the bot was stopped first. A rejected token is not waited for: it is raised."""
        delay, failing_since, said_at = 1.0, 0.0, -BOT_API_NOTICE_SECONDS
        while not self.stopping.is_set():
            try:
                await call()
            except InvalidToken:
                raise
            except RetryAfter as exc:
                await _sleep_or_stop(self.stopping, _seconds(exc.retry_after))
                continue
            except NetworkError as exc:
                now = clock.monotonic()
                failing_since = failing_since or now
                self.waiting_for = (
                    f"the Bot API ({self.config.telegram.api_base_url}) is unreachable: "
                    f"{exc.message}"
                )
                if now - said_at >= BOT_API_NOTICE_SECONDS:
                    said_at = now
                    log.warning(
                        "%s; trying again (said once a minute while it lasts)", self.waiting_for
                    )
                await _sleep_or_stop(self.stopping, delay)
                delay = min(delay * 2, BOT_API_RETRY_MAX_SECONDS)
                continue
            if failing_since:
                log.info(
                    "the Bot API answers again after %.0f s", clock.monotonic() - failing_since
                )
            return True
        return False

    async def stop(self) -> None:
        self.stopping.set()
        # Intake first. Cancelling a poll loses nothing: what was not stored is not confirmed.
        if self.webhook_server is not None:
            self.webhook_server.should_exit = True
        for task in self._tasks:
            if self.webhook_server is None:
                task.cancel()
            with contextlib.suppress(asyncio.CancelledError, TelegramError):
                await task
        self._tasks.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.updates.join(), timeout=10)
        await self.updates.stop()
        if self.scheduler is not None:
            await self.scheduler.stop()
        if self.application.running:
            await self.application.stop()
        await self.application.shutdown()
        await self.engine.dispose()

    async def run_until_signalled(self, *, webhook: bool = False) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self.stopping.set)
        await self.start(webhook=webhook)
        if self.ready.is_set():
            log.info("branchbot is running (%s)", "webhook" if webhook else "polling")
        try:
            await self.stopping.wait()
        finally:
            log.info("stopping")
            await self.stop()
