"""Quiet hours and pacing: the rules the sender follows, tested without Telegram."""

from __future__ import annotations

from datetime import UTC, datetime, time

from scheduler.quiet import quiet_until
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
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_pacing_overall_per_chat_and_per_group() -> None:
    clock = FakeTime()
    limiter = RateLimiter(Limits(per_second=28, private_interval=1.05, group_interval=3.05), clock)
    # Different private chats: 28 a second.
    waits = [limiter.reserve(chat) for chat in range(1, 57)]
    assert waits[0] == 0
    assert abs(waits[28] - 1.0) < 1e-9 and abs(waits[55] - 55 / 28) < 1e-9
    # One private chat: one every 1.05 s, even when the overall budget is free.
    clock.now = 1000.0
    assert [round(limiter.reserve(7), 2) for _ in range(3)] == [0.0, 1.05, 2.1]
    # One group: one every 3.05 s (20 a minute).
    clock.now = 2000.0
    assert [round(limiter.reserve(-100), 2) for _ in range(3)] == [0.0, 3.05, 6.1]


def test_pause_after_429_holds_everyone() -> None:
    clock = FakeTime()
    limiter = RateLimiter(Limits(), clock)
    limiter.pause(5)
    assert limiter.reserve(1) == 5 and limiter.reserve(2) > 5
