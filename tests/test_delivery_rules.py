"""Quiet hours and pacing: the rules the sender follows, tested without Telegram."""

from __future__ import annotations

from datetime import UTC, datetime, time
from itertools import pairwise

from models.quiet import quiet_until
from scheduler.ratelimit import Limits, RateLimiter

NIGHT = (time(22), time(8))


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def test_quiet_hours_across_midnight() -> None:
    shanghai = "Asia/Shanghai"
    # 23:30 in Shanghai: wait until 08:00 the next morning.
    assert quiet_until(at("2026-03-10T15:30:00+00:00"), shanghai, *NIGHT) == at(
        "2026-03-11T00:00:00+00:00"
    )
    # 06:00: wait until 08:00 the same day.
    assert quiet_until(at("2026-03-10T22:00:00+00:00"), shanghai, *NIGHT) == at(
        "2026-03-11T00:00:00+00:00"
    )
    # 08:00 and 21:59 are not quiet.
    assert quiet_until(at("2026-03-11T00:00:00+00:00"), shanghai, *NIGHT) is None
    assert quiet_until(at("2026-03-10T13:59:00+00:00"), shanghai, *NIGHT) is None


def test_quiet_hours_within_a_day_and_switched_off() -> None:
    moment = at("2026-03-10T05:30:00+00:00")  # 13:30 in Shanghai
    assert quiet_until(moment, "Asia/Shanghai", time(13), time(14)) == at(
        "2026-03-10T06:00:00+00:00"
    )
    assert quiet_until(moment, "Asia/Shanghai", time(8), time(8)) is None


def test_quiet_hours_end_on_the_wall_clock_across_a_dst_change() -> None:
    # Berlin moves to summer time on 2026-03-29 at 02:00; 08:00 local is then 06:00 UTC.
    until = quiet_until(at("2026-03-28T22:30:00+00:00"), "Europe/Berlin", *NIGHT)
    assert until == datetime(2026, 3, 29, 6, 0, tzinfo=UTC)


class FakeTime:
    """A clock that only moves when someone sleeps; records when each send went."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds


async def send_times(limiter: RateLimiter, clock: FakeTime, chats: list[int]) -> list[float]:
    times: list[float] = []
    for chat in chats:
        await limiter.wait(chat)
        times.append(clock.now)
    return times


async def test_pacing_overall_per_chat_and_per_group() -> None:
    clock = FakeTime()
    limits = Limits(per_second=29, private_interval=1.05, group_interval=3.05)
    limiter = RateLimiter(limits, clock, clock.sleep)
    times = await send_times(limiter, clock, list(range(1, 91)))  # 90 different people
    gaps = [b - a for a, b in pairwise(times)]
    assert min(gaps) >= 1 / 29 - 1e-9
    assert max(sum(1 for t in times if start <= t < start + 1.0) for start in times) <= 30
    # One private chat: one every 1.05 s, one group: one every 3.05 s.
    times = await send_times(limiter, clock, [7, 7, 7])
    assert [round(b - a, 2) for a, b in pairwise(times)] == [1.05, 1.05]
    times = await send_times(limiter, clock, [-100, -100])
    assert round(times[1] - times[0], 2) == 3.05


async def test_a_late_send_pushes_the_next_ones_back() -> None:
    clock = FakeTime()
    limiter = RateLimiter(Limits(per_second=29), clock, clock.sleep)
    await limiter.wait(1)
    clock.now += 0.2  # the event loop woke us late
    first_after = clock.now
    await limiter.wait(2)
    assert clock.now == first_after  # the gap is already over the minimum: no wait
    await limiter.wait(3)
    assert abs(clock.now - (first_after + 1 / 29)) < 1e-9  # spaced from the real time


async def test_pause_after_429_holds_everyone() -> None:
    clock = FakeTime()
    limiter = RateLimiter(Limits(), clock, clock.sleep)
    limiter.pause(5)
    start = clock.now
    await limiter.wait(1)
    assert clock.now - start >= 5


async def test_a_few_milliseconds_late_keeps_the_rhythm() -> None:
    clock = FakeTime()
    limiter = RateLimiter(Limits(per_second=29), clock, clock.sleep)
    await limiter.wait(1)
    planned = clock.now + 1 / 29
    clock.now = planned + 0.004  # processing took a moment past the slot
    await limiter.wait(2)
    await limiter.wait(3)
    assert abs(clock.now - (planned + 1 / 29)) < 1e-9  # not pushed back by the 4 ms
