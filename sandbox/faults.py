"""Switchable faults (all off by default), flood limits and observed send statistics."""

from __future__ import annotations

import math
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field

from .schema import ApiError


class Injected(ApiError):
    """An error caused by a deliberately switched-on fault (block, deactivate, flood limit)."""


@dataclass
class FaultAction:
    kind: str  # "fail" | "slow" | "drop"
    method: str  # lower-case method name or "*"
    remaining: int
    status: int = 500
    description: str = ""
    delay: float = 0.0
    deliver: bool = False
    retry_after: int | None = None  # a 429's parameters.retry_after


class Faults:
    """Per-test fault switches.

    drop_next(deliver=False): the request is lost before Telegram processes it.
    drop_next(deliver=True): Telegram processes it (a send is stored and delivered) but the
    answer is lost - the "timed out, but did it arrive?" case a bot must not double-send on.
    slow_next: the request takes effect after the delay even if the client gave up meanwhile.
    """

    def __init__(self) -> None:
        self.enforce_flood_limits = False
        self.global_per_second = 30
        self.private_burst = 3
        self.private_per_second = 1.0
        self.group_per_minute = 20
        self._actions: list[FaultAction] = []

    def fail_next(
        self,
        method: str,
        count: int = 1,
        status: int = 500,
        description: str | None = None,
        retry_after: int | None = None,
    ) -> None:
        """`retry_after`: a 429 that says how long to wait, as Telegram's do."""
        desc = description or ("Internal Server Error" if status == 500 else "Bad Gateway")
        action = FaultAction("fail", method.lower(), count, status, desc, retry_after=retry_after)
        self._actions.append(action)

    def slow_next(self, method: str, count: int = 1, delay_seconds: float = 1.0) -> None:
        self._actions.append(FaultAction("slow", method.lower(), count, delay=delay_seconds))

    def drop_next(self, method: str, count: int = 1, deliver: bool = False) -> None:
        self._actions.append(FaultAction("drop", method.lower(), count, deliver=deliver))

    def clear(self) -> None:
        self._actions.clear()

    def take(self, method: str) -> list[FaultAction]:
        """Consume one use of every pending action matching this method."""
        hits = []
        for a in self._actions:
            if a.remaining > 0 and a.method in (method.lower(), "*"):
                a.remaining -= 1
                hits.append(a)
        self._actions = [a for a in self._actions if a.remaining > 0]
        return hits


class FloodLimiter:
    """Telegram-like limits: ~30 msg/s overall, ~1 msg/s per private chat (small burst),
    20 msg/min per group."""

    def __init__(self, faults: Faults) -> None:
        self.faults = faults
        self._global: deque[float] = deque()
        self._group: dict[int, deque[float]] = defaultdict(deque)
        self._bucket: dict[int, tuple[float, float]] = {}  # chat -> (tokens, last refill)

    def check(self, chat_id: int, is_group: bool, now: float | None = None) -> int | None:
        """Return retry_after seconds if the send must be rejected, else record it."""
        f = self.faults
        now = time.monotonic() if now is None else now
        while self._global and now - self._global[0] >= 1.0:
            self._global.popleft()
        if len(self._global) >= f.global_per_second:
            return _ceil(1.0 - (now - self._global[0]))
        if is_group:
            q = self._group[chat_id]
            while q and now - q[0] >= 60.0:
                q.popleft()
            if len(q) >= f.group_per_minute:
                return _ceil(60.0 - (now - q[0]))
            q.append(now)
        else:
            tokens, last = self._bucket.get(chat_id, (float(f.private_burst), now))
            tokens = min(float(f.private_burst), tokens + (now - last) * f.private_per_second)
            if tokens < 1.0:
                self._bucket[chat_id] = (tokens, now)
                return _ceil((1.0 - tokens) / f.private_per_second)
            self._bucket[chat_id] = (tokens - 1.0, now)
        self._global.append(now)
        return None


def _ceil(seconds: float) -> int:
    return max(1, math.ceil(seconds))


@dataclass
class Stats:
    """Observed accepted sends, to assert a bot stays within Telegram's limits."""

    sends: list[tuple[float, int]] = field(default_factory=list)  # (monotonic time, chat_id)
    count_429: int = 0

    def record(self, chat_id: int) -> None:
        self.sends.append((time.monotonic(), chat_id))

    def per_chat(self) -> dict[int, list[float]]:
        out: dict[int, list[float]] = defaultdict(list)
        for t, chat in self.sends:
            out[chat].append(t)
        return dict(out)

    def max_rate_overall(self, window: float = 1.0) -> int:
        """Most accepted sends within any `window`-second interval, all chats together."""
        return _max_in_window([t for t, _ in self.sends], window)

    def max_rate_per_chat(self, chat_id: int, window: float = 1.0) -> int:
        """Most accepted sends to one chat within any `window`-second interval."""
        return _max_in_window([t for t, c in self.sends if c == chat_id], window)


def _max_in_window(times: list[float], window: float) -> int:
    best, lo = 0, 0
    for hi, t in enumerate(times):
        while t - times[lo] >= window:
            lo += 1
        best = max(best, hi - lo + 1)
    return best
