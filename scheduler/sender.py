"""Delivers the outbox: paced, retried, fenced, and honest about what Telegram answered.

- 429: wait the retry_after Telegram gave, then the same message again;
- 403 (blocked, deactivated): the member is marked unreachable, for their secretary;
- 400: the message can never be sent; it fails for good, with the reason;
- time-outs and network errors: retried with backoff. A send that timed out may
  still have arrived, so the member may get that message twice (README: "Delivery").
- quiet hours (models.quiet): a message not urgent waits for their end, but a card
  a secretary acts on goes at once, without a sound.

Each chat is sent to by a task of its own, in order, at its own pace: a chat that
must wait (a secretary receiving 25 report cards at one a second) waits alone,
while the dispatcher goes on claiming the messages of other chats. Every claim and
every send belongs to a leadership term (scheduler.leader): just before each send
the sender confirms that its term is current, and stops when it is not.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
from datetime import datetime, time, timedelta

from telegram import Bot, InlineKeyboardMarkup, Message
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut

from models import outbox
from models.db import SessionFactory
from models.notifications import CARD_KINDS
from models.outbox import Delivery, DeliveryStatus, MediaKind
from models.quiet import timing
from scheduler.clock import Clock
from scheduler.leader import Term
from scheduler.ratelimit import PACED, RateLimiter

log = logging.getLogger(__name__)

# Chats being sent to at once. The pace (25 a second) bounds the requests in flight;
# this bounds the rows claimed ahead of it (a crash or a deposed term leaves few), and
# how long a chat's next message queues for a slot behind the others (about 1.4 s).
ACTIVE_CHATS = 40
# Claim again once this many chats are free (or at the next poll): one claim per send
# would cost the pace a database round trip each time.
CLAIM_AT_LEAST = 10
PER_CHAT = 10  # one chat's rows claimed at once: ten seconds of a private chat's pace
MAX_ATTEMPTS = 8
# A confirmation of the term holds this long before a send; scheduler.leader's grace
# covers it and the send's own time-outs.
CONFIRMED_FOR = 5.0
MAX_BACKOFF = timedelta(minutes=10)


class Outcome(enum.Enum):
    done = "done"  # recorded: sent, refused for good, unreachable, or moved past quiet hours
    deposed = "deposed"  # the term is over: not sent, not recorded, not ours any more


# What `_send` found: an Outcome, or the time the row will be tried again.
Result = Outcome | datetime


def _seconds(value: float | timedelta) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class Sender:
    def __init__(
        self,
        bot: Bot,
        sessions: SessionFactory,
        clock: Clock,
        quiet_hours: tuple[time, time],
        limiter: RateLimiter,
    ) -> None:
        self.bot = bot
        self.sessions = sessions
        self.clock = clock
        self.quiet_hours = quiet_hours
        self.limiter = limiter
        self._wake = asyncio.Event()
        self._chats: dict[int, asyncio.Task[None]] = {}
        # One dispatch at a time: when a claim has committed, its chats' tasks exist.
        self._dispatching = asyncio.Lock()
        self._stopping = False
        self.deposed = asyncio.Event()  # set when a send found the term over

    def wake(self) -> None:
        """Something was enqueued, or a chat finished: look now rather than at the next poll."""
        self._wake.set()

    async def run(self, term: Term, stop: asyncio.Event, poll_seconds: float = 1.0) -> None:
        """Send what falls due, for as long as `term` lasts and `stop` is not set."""
        loop = asyncio.get_running_loop()
        requeue_at: float | None = loop.time() + term.grace
        self._stopping = False
        woken = False
        try:
            while not stop.is_set() and not self.deposed.is_set():
                if requeue_at is not None and loop.time() >= requeue_at:
                    await self._requeue_earlier_terms(term)
                    requeue_at = None
                self._wake.clear()
                claimed = 0
                if not woken or not self._chats or self._free() >= CLAIM_AT_LEAST:
                    try:
                        claimed = await self._dispatch(term)
                    except outbox.TermOver:
                        self._term_over(term)
                        break
                    except Exception:  # the loop must outlive a database hiccup
                        log.exception("sending the outbox failed; retrying")
                if claimed and self._free() >= CLAIM_AT_LEAST:
                    woken = False
                    continue  # more may be due right now
                timeout = poll_seconds
                if requeue_at is not None:
                    timeout = max(0.0, min(timeout, requeue_at - loop.time()))
                woken = await first_of(self._wake, stop, self.deposed, timeout=timeout)
        finally:
            await self._finish_chats()

    async def _requeue_earlier_terms(self, term: Term) -> None:
        try:
            async with self.sessions.begin() as session:
                requeued = await outbox.requeue_earlier_terms(session, term.number)
        except Exception:
            log.exception("putting back an earlier term's messages failed; they wait")
            return
        if requeued:
            log.warning(
                "%d message(s) were being sent when the last leader stopped; sending again",
                requeued,
            )

    async def _dispatch(self, term: Term) -> int:
        """Claim what is due for chats not being sent to, and start a task for each chat."""
        async with self._dispatching:
            free = self._free()
            if free <= 0:
                return 0
            async with self.sessions.begin() as session:
                rows = await outbox.claim_due(
                    session,
                    self.clock.now(),
                    term.number,
                    chats=free,
                    per_chat=PER_CHAT,
                    busy=self._chats.keys(),
                )
            by_chat: dict[int, list[Delivery]] = {}
            for row in rows:
                by_chat.setdefault(row.chat_id, []).append(row)
            for chat_id, chat_rows in by_chat.items():
                task = asyncio.create_task(self._send_chat(term, chat_rows), name=f"send-{chat_id}")
                self._chats[chat_id] = task
                task.add_done_callback(lambda _, chat_id=chat_id: self._chat_done(chat_id))
            return len(rows)

    def _free(self) -> int:
        return ACTIVE_CHATS - len(self._chats)

    def _term_over(self, term: Term) -> None:
        if not self.deposed.is_set():
            log.warning(
                "scheduler term %d is over (another process leads now); this process stops sending",
                term.number,
            )
        self.deposed.set()

    def _chat_done(self, chat_id: int) -> None:
        self._chats.pop(chat_id, None)
        self.wake()

    async def _finish_chats(self) -> None:
        """Stopping: each chat finishes the message it is sending and puts back the rest."""
        self._stopping = True
        chats = list(self._chats.values())
        if chats:
            await asyncio.gather(*chats, return_exceptions=True)

    async def send_due(self, term: Term) -> int:
        """Tests: send everything due now, and wait until every chat being sent to (the
        live loop's too) is done; the rows this call claimed."""
        handled = 0
        while True:
            if self._chats:
                await asyncio.gather(*self._chats.values(), return_exceptions=True)
            claimed = await self._dispatch(term)
            handled += claimed
            if not claimed and not self._chats:
                return handled

    async def _send_chat(self, term: Term, rows: list[Delivery]) -> None:
        index = 0
        try:
            for index, row in enumerate(rows):
                if self._stopping or self.deposed.is_set():
                    await self._put_back(term, rows[index:])
                    return
                outcome = await self._send(term, row)
                if outcome is Outcome.deposed:
                    self._term_over(term)
                    return
                if isinstance(outcome, datetime):
                    # The chat's next messages wait behind the retried one, in order.
                    await self._put_back(term, rows[index + 1 :], not_before=outcome)
                    return
        except Exception:  # a database hiccup; the row in hand may have been sent (at least once)
            log.exception("sending to one chat failed; its messages go back to the queue")
            with contextlib.suppress(Exception):
                await self._put_back(term, rows[index:])

    async def _put_back(
        self, term: Term, rows: list[Delivery], not_before: datetime | None = None
    ) -> None:
        if rows and not self.deposed.is_set():
            async with self.sessions.begin() as session:
                await outbox.put_back(session, [row.id for row in rows], term.number, not_before)

    async def _send(self, term: Term, row: Delivery) -> Result:
        """Deliver one row and record the outcome."""
        now = self.clock.now()
        if row.expires_at is not None and row.expires_at <= now:
            return await self._finish(row, DeliveryStatus.expired, "expired before it was sent")
        card = row.kind in CARD_KINDS
        when = timing(now, row.timezone, *self.quiet_hours, urgent=row.urgent, card=card)
        if when.wait_until is not None:
            async with self.sessions.begin() as session:
                await outbox.retry_later(session, row.id, when.wait_until, None)
            return Outcome.done
        # Confirm the term before taking a slot: the send then follows the slot at once, so
        # the pace holds; a slot that took long (a 429 paused everyone) confirms again.
        await self.limiter.chat_turn(row.chat_id)
        if (lost := await self._lost_claim(term, row)) is not None:
            return lost
        loop = asyncio.get_running_loop()
        confirmed = loop.time()
        await self.limiter.slot(row.chat_id)
        if loop.time() - confirmed > CONFIRMED_FOR:
            if (lost := await self._lost_claim(term, row)) is not None:
                return lost
        markup = (
            InlineKeyboardMarkup.de_json(row.reply_markup, self.bot) if row.reply_markup else None
        )
        try:
            message = await self._deliver(row, markup, silent=when.silent)
        except RetryAfter as exc:
            wait = _seconds(exc.retry_after)
            log.warning("Telegram asked to slow down for %.0fs", wait)
            return await self._retry(row, timedelta(seconds=wait), f"429: retry after {wait:.0f}s")
        except Forbidden as exc:
            async with self.sessions.begin() as session:
                await outbox.mark_unreachable(session, row.chat_id, self.clock.now(), exc.message)
            return Outcome.done
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
        return Outcome.done

    async def _deliver(
        self, row: Delivery, markup: InlineKeyboardMarkup | None, *, silent: bool
    ) -> Message:
        """The one Bot API call of a row: a message, or a photo or document with its caption;
        `silent`: without a sound (a card in quiet hours)."""
        common = {
            "reply_markup": markup,
            "disable_notification": silent,
            "rate_limit_args": PACED,
        }
        if row.media_kind is MediaKind.photo:
            return await self.bot.send_photo(
                row.chat_id, row.media_file_id, caption=row.text, **common
            )
        if row.media_kind is MediaKind.document:
            return await self.bot.send_document(
                row.chat_id, row.media_file_id, caption=row.text, **common
            )
        return await self.bot.send_message(row.chat_id, row.text, **common)

    async def _lost_claim(self, term: Term, row: Delivery) -> Outcome | None:
        """None while the row is still ours to send; else what became of it: settled
        meanwhile (done, skip it), or the term is over (deposed)."""
        async with self.sessions() as session:
            claim = await outbox.claim_state(session, row.id, term.number)
        if claim is outbox.Claim.held:
            return None
        return Outcome.deposed if claim is outbox.Claim.term_over else Outcome.done

    async def _retry(self, row: Delivery, after: timedelta, error: str) -> datetime:
        again = self.clock.now() + after
        async with self.sessions.begin() as session:
            await outbox.retry_later(session, row.id, again, error)
        return again

    async def _finish(self, row: Delivery, status: DeliveryStatus, error: str) -> Result:
        async with self.sessions.begin() as session:
            await outbox.give_up(session, row.id, status, error)
        return Outcome.done


async def first_of(*events: asyncio.Event, timeout: float) -> bool:  # noqa: ASYNC109
    """Return when one of `events` is set (True), or after `timeout` seconds (False)."""
    waiters = [asyncio.create_task(event.wait()) for event in events]
    try:
        done, _ = await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        return bool(done)
    finally:
        for waiter in waiters:
            waiter.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(*waiters, return_exceptions=True)
