"""Pacing every send within Telegram's limits, before Telegram has to say 429.

Telegram allows about 30 messages a second overall, about one a second to one
private chat (short bursts are tolerated) and 20 a minute to one group. All sends
share that budget: the outbox's (scheduler.sender) and the direct replies to the
person acting (handlers.work), and replies go first. A message first waits for its
chat's turn, then passes a gate, one send at a time, spaced from the moment the
previous send really went: a late wake-up pushes the next ones back instead of
letting 31 crowd into one second.

The same object is python-telegram-bot's rate limiter (`Application.builder()
.rate_limiter`), so every request the bot makes passes through `process_request`:
- a reply waits for a slot of the global budget ahead of any outbox message, and
  when it meets a 429 it waits the time Telegram gave and goes again: never lost;
  other requests (answering a press, editing) pass at once, retried the same way;
- the sender paces its own messages (`wait`) and handles their 429s itself (the
  outbox row is retried later), so its requests carry `rate_limit_args=PACED`;
- the check-in screens' edits handle their 429s themselves too (`OWN_RETRY`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

log = logging.getLogger(__name__)

# At 25 a second, thirty sends still span over a second even if the first was this late.
LATE_TOLERANCE = 0.010
# `rate_limit_args` of the sender's requests: already paced; a 429 is the sender's to handle.
PACED = {"paced": True}
# ...of the check-in screens' edits (scheduler.jobs.refresh_screens): not messages, so not
# paced; a 429 is about that one message, which waits for the job's next pass, alone.
OWN_RETRY = {"own_retry": True}
REPLY_ATTEMPTS = 5  # a reply that meets 429 this many times in a row is given up
# Bot API methods that do not post a message, though their names start with "send".
NOT_MESSAGES = {"sendChatAction", "sendInvoice"}


@dataclass(frozen=True)
class Limits:
    per_second: float = 25.0
    private_interval: float = 1.05  # seconds between messages to one private chat
    group_interval: float = 3.05  # 20 a minute


def _seconds(value: float | timedelta) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def posts_a_message(endpoint: str) -> bool:
    return endpoint.startswith(("send", "copyMessage", "forwardMessage")) and (
        endpoint not in NOT_MESSAGES
    )


class RateLimiter(BaseRateLimiter[dict[str, Any]]):
    def __init__(
        self,
        limits: Limits | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.limits = limits or Limits()
        self._clock = clock
        self._sleep = sleep
        self._gate = asyncio.Lock()
        # Outbox messages queue here first, so at most one of them waits at the gate: a
        # reply that comes meanwhile is next (asyncio.Lock is first come, first served).
        self._outbox_turn = asyncio.Lock()
        self._next_global = 0.0
        self._next_chat: dict[int, float] = {}
        self._paused_until = 0.0

    async def wait(self, chat_id: int, *, reply: bool = False) -> None:
        """Return when a message to `chat_id` may go now.

        An outbox message (the default) waits for its chat's turn first; a reply to the
        person acting does not (they just wrote, Telegram tolerates the burst), but the
        next outbox message to them waits for it."""
        if not reply:
            await self.chat_turn(chat_id)
        await self.slot(chat_id, reply=reply)

    async def chat_turn(self, chat_id: int) -> None:
        """Until an outbox message to `chat_id` may go, as far as that chat's pace goes."""
        # The sender sends to one chat from one task at a time, so this turn is ours.
        chat_delay = self._next_chat.get(chat_id, 0.0) - self._clock()
        if chat_delay > 0:
            await self._sleep(chat_delay)

    async def slot(self, chat_id: int, *, reply: bool = False) -> None:
        """A slot of the global budget, for a message to `chat_id` that goes right after."""
        if reply:
            went = await self._take_slot()
        else:
            async with self._outbox_turn:
                went = await self._take_slot()
        interval = self.limits.group_interval if chat_id < 0 else self.limits.private_interval
        self._next_chat[chat_id] = max(self._next_chat.get(chat_id, 0.0), went + interval)
        if len(self._next_chat) > 10_000:  # forget chats whose turn has long come
            horizon = self._clock()
            self._next_chat = {c: t for c, t in self._next_chat.items() if t > horizon}

    async def _take_slot(self) -> float:
        """Wait for the next slot of the global budget; the moment it was taken."""
        async with self._gate:
            planned = max(self._next_global, self._paused_until)
            delay = planned - self._clock()
            if delay > 0:
                await self._sleep(delay)
            went = self._clock()
            # Woken a little late (the usual few milliseconds): keep the planned rhythm, so
            # the pace does not drift down. Much later: space the next ones from now.
            base = planned if went - planned <= LATE_TOLERANCE else went
            self._next_global = base + 1.0 / self.limits.per_second
            return went

    def pause(self, seconds: float) -> None:
        """Telegram said 429: nothing goes before `seconds` from now."""
        self._paused_until = max(self._paused_until, self._clock() + seconds)

    # python-telegram-bot's BaseRateLimiter

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: dict[str, Any] | None,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        if rate_limit_args == PACED:
            try:
                return await callback(*args, **kwargs)
            except RetryAfter as exc:
                self.pause(_seconds(exc.retry_after))
                raise
        if rate_limit_args == OWN_RETRY:
            return await callback(*args, **kwargs)
        chat_id = data.get("chat_id")
        paced = posts_a_message(endpoint) and isinstance(chat_id, int)
        for attempt in range(1, REPLY_ATTEMPTS + 1):
            if paced:
                assert isinstance(chat_id, int)
                await self.wait(chat_id, reply=True)
            try:
                return await callback(*args, **kwargs)
            except RetryAfter as exc:
                # Most likely this one chat's limit (the member wrote in a burst): the reply
                # waits, and the chat's outbox messages behind it; the others go on.
                wait = _seconds(exc.retry_after)
                if attempt == REPLY_ATTEMPTS:
                    raise
                log.warning("Telegram asked to slow down for %.0fs; the reply waits", wait)
                if isinstance(chat_id, int):
                    self._next_chat[chat_id] = max(
                        self._next_chat.get(chat_id, 0.0), self._clock() + wait
                    )
                await self._sleep(wait)
        raise AssertionError("unreachable")
