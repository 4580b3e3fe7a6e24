"""Pacing sends within Telegram's limits, before Telegram has to say 429.

Telegram allows about 30 messages a second overall, about one a second to one
private chat (short bursts are tolerated) and 20 a minute to one group. A send
first waits for its chat's turn, then passes a gate, one send at a time, spaced
from the moment the previous send really went: a late wake-up pushes the next
ones back instead of letting 31 crowd into one second.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

# At 29 a second, thirty sends still span over a second even if the first was this late.
LATE_TOLERANCE = 0.010


@dataclass(frozen=True)
class Limits:
    per_second: float = 29.0
    private_interval: float = 1.05  # seconds between messages to one private chat
    group_interval: float = 3.05  # 20 a minute


class RateLimiter:
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
        self._next_global = 0.0
        self._next_chat: dict[int, float] = {}
        self._paused_until = 0.0

    async def wait(self, chat_id: int) -> None:
        """Return when a message to `chat_id` may go now."""
        interval = self.limits.group_interval if chat_id < 0 else self.limits.private_interval
        # The sender sends to one chat from one task at a time, so this turn is ours.
        chat_delay = self._next_chat.get(chat_id, 0.0) - self._clock()
        if chat_delay > 0:
            await self._sleep(chat_delay)
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
            self._next_chat[chat_id] = went + interval
        if len(self._next_chat) > 10_000:  # forget chats whose turn has long come
            horizon = self._clock()
            self._next_chat = {c: t for c, t in self._next_chat.items() if t > horizon}

    def pause(self, seconds: float) -> None:
        """Telegram said 429: nothing goes before `seconds` from now."""
        self._paused_until = max(self._paused_until, self._clock() + seconds)
