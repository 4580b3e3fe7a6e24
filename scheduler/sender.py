"""Delivers the outbox: paced, retried, and honest about what Telegram answered.

- 429: wait the retry_after Telegram gave, then the same message again;
- 403 (blocked, deactivated): the member is marked unreachable, for their secretary;
- 400: the message can never be sent; it fails for good, with the reason;
- time-outs and network errors: retried with backoff. A send that timed out may
  still have arrived, so the member may get that message twice (README: "Delivery").
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from datetime import time, timedelta

from telegram import Bot, InlineKeyboardMarkup
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut

from models import outbox
from models.db import SessionFactory
from models.outbox import Delivery, DeliveryStatus
from scheduler.clock import Clock
from scheduler.quiet import quiet_until
from scheduler.ratelimit import RateLimiter

log = logging.getLogger(__name__)

BATCH = 200  # rows claimed at once; about seven seconds of sending at full speed
CONCURRENT_CHATS = 16  # sends in flight at once: enough to hide Telegram's latency
MAX_ATTEMPTS = 8
MAX_BACKOFF = timedelta(minutes=10)


def _seconds(value: float | timedelta) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class Sender:
    def __init__(
        self,
        bot: Bot,
        sessions: SessionFactory,
        clock: Clock,
        quiet_hours: tuple[time, time],
        limiter: RateLimiter | None = None,
    ) -> None:
        self.bot = bot
        self.sessions = sessions
        self.clock = clock
        self.quiet_hours = quiet_hours
        self.limiter = limiter or RateLimiter()
        self._wake = asyncio.Event()
        self._one_batch_at_a_time = asyncio.Lock()
        self._in_flight = asyncio.Semaphore(CONCURRENT_CHATS)

    def wake(self) -> None:
        """Something was enqueued: look now rather than at the next poll."""
        self._wake.set()

    async def run(self, stop: asyncio.Event, poll_seconds: float = 1.0) -> None:
        async with self.sessions.begin() as session:
            recovered = await outbox.recover_in_flight(session)
        if recovered:
            log.warning(
                "%d message(s) were being sent when the bot stopped; sending again", recovered
            )
        while not stop.is_set():
            try:
                sent = await self.send_due()
            except Exception:  # the loop must outlive a database hiccup
                log.exception("sending the outbox failed; retrying")
                sent = 0
            if sent == 0:
                self._wake.clear()
                waiting = asyncio.create_task(self._wake.wait())
                stopping = asyncio.create_task(stop.wait())
                await asyncio.wait(
                    {waiting, stopping}, timeout=poll_seconds, return_when=asyncio.FIRST_COMPLETED
                )
                waiting.cancel()
                stopping.cancel()

    async def send_due(self) -> int:
        """Send one batch of what is due; the number of rows handled."""
        async with self._one_batch_at_a_time:
            return await self._send_batch()

    async def _send_batch(self) -> int:
        async with self.sessions.begin() as session:
            rows = await outbox.claim_due(session, self.clock.now(), BATCH)
        by_chat: dict[int, list[Delivery]] = defaultdict(list)
        for row in rows:
            by_chat[row.chat_id].append(row)
        # One task per chat keeps each person's messages in order.
        await asyncio.gather(*(self._send_chat(chat_rows) for chat_rows in by_chat.values()))
        return len(rows)

    async def _send_chat(self, rows: list[Delivery]) -> None:
        async with self._in_flight:
            await self._send_in_order(rows)

    async def _send_in_order(self, rows: list[Delivery]) -> None:
        for row in rows:
            if not await self._send(row):
                # The rest of this chat's batch waits behind a retried message.
                async with self.sessions.begin() as session:
                    for later in rows[rows.index(row) + 1 :]:
                        await outbox.retry_later(session, later.id, later.due_at, None)
                return

    async def _send(self, row: Delivery) -> bool:
        """Deliver one row and record the outcome; False if it must be retried later."""
        now = self.clock.now()
        if row.expires_at is not None and row.expires_at <= now:
            return await self._finish(row, DeliveryStatus.expired, "expired before it was sent")
        if not row.urgent:
            until = quiet_until(now, row.timezone, *self.quiet_hours)
            if until is not None:
                async with self.sessions.begin() as session:
                    await outbox.retry_later(session, row.id, until, None)
                return True
        await self.limiter.wait(row.chat_id)
        markup = (
            InlineKeyboardMarkup.de_json(row.reply_markup, self.bot) if row.reply_markup else None
        )
        try:
            message = await self.bot.send_message(
                row.chat_id, row.text, parse_mode=ParseMode.HTML, reply_markup=markup
            )
        except RetryAfter as exc:
            wait = _seconds(exc.retry_after)
            self.limiter.pause(wait)
            log.warning("Telegram asked to slow down for %.0fs", wait)
            return await self._retry(row, timedelta(seconds=wait), f"429: retry after {wait:.0f}s")
        except Forbidden as exc:
            async with self.sessions.begin() as session:
                await outbox.mark_unreachable(session, row.chat_id, self.clock.now(), exc.message)
            return True
        except BadRequest as exc:
            log.error("delivery %s refused for good: %s", row.id, exc.message)
            return await self._finish(row, DeliveryStatus.failed, f"400: {exc.message}")
        except (TimedOut, NetworkError) as exc:  # TimedOut first: it may have arrived
            if row.attempts >= MAX_ATTEMPTS:
                return await self._finish(row, DeliveryStatus.failed, f"gave up: {exc.message}")
            backoff = min(timedelta(seconds=2**row.attempts), MAX_BACKOFF)
            return await self._retry(row, backoff, f"network: {exc.message}")
        async with self.sessions.begin() as session:
            await outbox.mark_sent(session, row.id, message.message_id, self.clock.now())
        return True

    async def _retry(self, row: Delivery, after: timedelta, error: str) -> bool:
        async with self.sessions.begin() as session:
            await outbox.retry_later(session, row.id, self.clock.now() + after, error)
        return False

    async def _finish(self, row: Delivery, status: DeliveryStatus, error: str) -> bool:
        async with self.sessions.begin() as session:
            await outbox.give_up(session, row.id, status, error)
        return True
