"""Injected faults surface in python-telegram-bot exactly as Telegram's would."""

import datetime as dtm
import time

import pytest
from telegram import Bot
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut

from sandbox import Emulator

# PTB 22 warns that RetryAfter.retry_after will become a timedelta; _seconds() handles both.
pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")


def _seconds(value: int | dtm.timedelta) -> float:
    return value.total_seconds() if isinstance(value, dtm.timedelta) else float(value)


async def test_blocked_and_deactivated_users(emu: Emulator, bot: Bot) -> None:
    alice, bob = emu.user("Alice"), emu.user("Bob")
    emu.block(alice)
    with pytest.raises(Forbidden, match=r"(?i)bot was blocked by the user"):
        await bot.send_message(alice.id, "hi")
    emu.deactivate(bob)
    with pytest.raises(Forbidden, match=r"(?i)user is deactivated"):
        await bot.send_message(bob.id, "hi")
    # Blocking is a scripted fault: logged separately, never a violation.
    assert emu.violations == [] and len(emu.fault_log) == 2
    # Blocking produced a my_chat_member update; writing again restarts the chat.
    await alice.send("/start")
    kinds = [next(k for k in u if k != "update_id") for u in emu.updates]
    assert kinds == ["my_chat_member", "my_chat_member", "message"]
    await bot.send_message(alice.id, "welcome back")


async def test_user_who_never_started_the_bot(emu: Emulator, bot: Bot) -> None:
    carol = emu.user("Carol", started=False)
    with pytest.raises(Forbidden, match=r"(?i)can't initiate conversation"):
        await bot.send_message(carol.id, "hi")
    await carol.send("/start")
    await bot.send_message(carol.id, "hi")


async def test_flood_limit_private_chat(emu: Emulator, bot: Bot) -> None:
    alice = emu.user("Alice")
    emu.faults.enforce_flood_limits = True
    for i in range(3):  # the burst allowance
        await bot.send_message(alice.id, f"m{i}")
    with pytest.raises(RetryAfter) as exc:
        await bot.send_message(alice.id, "one too many")
    assert _seconds(exc.value.retry_after) > 0
    assert emu.stats.count_429 == 1 and emu.violations == []
    assert emu.stats.max_rate_per_chat(alice.id, window=1.0) == 3
    # Edits and callback answers are not "messages".
    m = await bot.send_message(emu.user("Bob").id, "x")
    for i in range(5):
        await m.edit_text(f"x{i}")


async def test_flood_limit_group(emu: Emulator, bot: Bot) -> None:
    alice = emu.user("Alice")
    group = emu.group("Branch chat", members=[alice])
    emu.faults.enforce_flood_limits = True
    for i in range(20):
        await bot.send_message(group.id, f"m{i}")
    with pytest.raises(RetryAfter) as exc:
        await bot.send_message(group.id, "21st")
    assert _seconds(exc.value.retry_after) > 1
    assert emu.stats.max_rate_per_chat(group.id, window=60) == 20
    assert emu.stats.max_rate_overall(window=1.0) == 20


async def test_flood_limit_overall(emu: Emulator, bot: Bot) -> None:
    people = [emu.user(f"U{i}") for i in range(6)]
    emu.faults.enforce_flood_limits = True
    emu.faults.global_per_second = 5  # Telegram's is ~30; smaller keeps the test fast and stable
    with pytest.raises(RetryAfter):
        for p in people:
            await bot.send_message(p.id, "broadcast")
    assert emu.stats.max_rate_overall() == 5


async def test_injected_server_errors(emu: Emulator, bot: Bot) -> None:
    alice = emu.user("Alice")
    emu.faults.fail_next("sendMessage", count=2, status=502)
    for _ in range(2):
        with pytest.raises(NetworkError, match="Bad Gateway"):
            await bot.send_message(alice.id, "hi")
    emu.faults.fail_next("sendMessage", status=500, description="Internal Server Error")
    with pytest.raises(NetworkError):
        await bot.send_message(alice.id, "hi")
    await bot.send_message(alice.id, "finally")
    assert [m.text for m in emu.messages(alice.chat)] == ["finally"]
    assert emu.violations == [] and len(emu.fault_log) == 3


async def test_slow_response_times_out(emu: Emulator, bot: Bot) -> None:
    alice = emu.user("Alice")
    emu.faults.slow_next("sendMessage", delay_seconds=0.6)
    with pytest.raises(TimedOut):
        await bot.send_message(alice.id, "slow", read_timeout=0.2)
    # Like Telegram, the request still takes effect after the delay.
    msg = await alice.next_message(timeout=2)
    assert msg.text == "slow"


async def test_dropped_connection(emu: Emulator, bot: Bot) -> None:
    alice = emu.user("Alice")
    emu.faults.drop_next("sendMessage")
    with pytest.raises(NetworkError):
        await bot.send_message(alice.id, "lost")
    await alice.expect_no_message(within=0.2)
    emu.faults.drop_next("sendMessage", deliver=True)
    with pytest.raises(NetworkError):
        await bot.send_message(alice.id, "arrived anyway")
    assert (await alice.next_message()).text == "arrived anyway"
    assert emu.violations == []


async def test_fault_on_any_method(emu: Emulator, bot: Bot) -> None:
    emu.faults.fail_next("*", status=500)
    with pytest.raises(NetworkError):
        await bot.get_me()
    with pytest.raises(BadRequest):
        await bot.send_message(1, "no such chat")


async def test_a_round_trip_delays_every_call_but_get_updates(emu: Emulator, bot: Bot) -> None:
    """What the benchmarks emulate a real network with (Emulator.round_trip)."""
    alice = emu.user("Alice")
    emu.round_trip = 0.2
    started = time.monotonic()
    await bot.send_message(alice.id, "hi")
    assert time.monotonic() - started >= 0.2
    started = time.monotonic()
    assert await bot.get_updates(timeout=0) == ()
    assert time.monotonic() - started < 0.2
    emu.round_trip = 0.0
