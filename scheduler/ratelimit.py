"""Pacing sends within Telegram's limits, before Telegram has to say 429.

Telegram allows about 30 messages a second overall, about one a second to one
private chat (short bursts are tolerated) and 20 a minute to one group. Each send
takes the next free slot on the global clock and on its chat's clock.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    # Sends are spaced exactly 1/29 s apart, so no one-second window holds more than 30.
    per_second: float = 29.0
    private_interval: float = 1.05  # seconds between messages to one private chat
    group_interval: float = 3.05  # 20 a minute


class RateLimiter:
    def __init__(
        self,
        limits: Limits | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], object] = asyncio.sleep,
    ) -> None:
        self.limits = limits or Limits()
        self._clock = clock
        self._sleep = sleep
        self._next_global = 0.0
        self._next_chat: dict[int, float] = {}
        self._paused_until = 0.0

    def reserve(self, chat_id: int) -> float:
        """Book the earliest slot for a message to `chat_id`; return the wait in seconds."""
        now = self._clock()
        is_group = chat_id < 0
        interval = self.limits.group_interval if is_group else self.limits.private_interval
        slot = max(now, self._paused_until, self._next_global, self._next_chat.get(chat_id, 0.0))
        self._next_global = slot + 1.0 / self.limits.per_second
        self._next_chat[chat_id] = slot + interval
        if len(self._next_chat) > 10_000:  # forget chats whose slots have passed
            self._next_chat = {c: t for c, t in self._next_chat.items() if t > now}
        return slot - now

    async def wait(self, chat_id: int) -> None:
        delay = self.reserve(chat_id)
        if delay > 0:
            await self._sleep(delay)  # type: ignore[misc]

    def pause(self, seconds: float, chat_id: int | None = None) -> None:
        """Telegram said 429: nobody (or nothing to that chat) goes before `seconds`."""
        until = self._clock() + seconds
        if chat_id is None:
            self._paused_until = max(self._paused_until, until)
        else:
            self._next_chat[chat_id] = max(self._next_chat.get(chat_id, 0.0), until)
