"""Sends that share Telegram's budget: a busy chat beside a broadcast, replies during one.

The bot's own sender runs live here (the e2e bot's scheduler is started), against the
emulator with Telegram's flood limits enforced: 30 messages a second overall, about
one a second to a private chat. Run with `-s` for the figures.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from datetime import timedelta

from models import outbox
from models.outbox import DeliveryStatus
from tests.e2e.conftest import RunningBot
from tests.e2e.test_delivery import deliveries, enqueue_to
from tests.e2e.texts import said

CARDS = 15  # a secretary's report cards, queued just before the broadcast
BROADCAST = 200
ASKING = 20


async def until_sent(bot: RunningBot, count: int, timeout: float = 60.0) -> None:  # noqa: ASYNC109
    """Until the emulator accepted `count` sends. The bot's clock follows real time meanwhile:
    a message that met a 429 (the emulator shares this busy event loop) falls due again."""
    emu = bot.emulator
    started = last = time.monotonic()
    while len(emu.stats.sends) < count:
        assert last - started < timeout, f"{len(emu.stats.sends)} of {count} sent"
        await asyncio.sleep(0.05)
        now = time.monotonic()
        bot.clock.advance(timedelta(seconds=now - last))
        last = now


async def marked_sent(bot: RunningBot, timeout: float = 10.0) -> set[DeliveryStatus]:  # noqa: ASYNC109
    """The deliveries' statuses once every row is marked sent (or the time is up): the
    emulator counts a send before the sender has recorded it."""
    deadline = time.monotonic() + timeout
    while True:
        statuses = {d.status for d in await deliveries(bot)}
        if statuses == {DeliveryStatus.sent} or time.monotonic() > deadline:
            return statuses
        await asyncio.sleep(0.05)


async def test_a_busy_chat_waits_alone_beside_a_broadcast(bot: RunningBot) -> None:
    emu = bot.emulator
    emu.faults.enforce_flood_limits = True
    secretary = emu.user("Secretary", started=True)
    members = [emu.user(f"Member {n}", started=True) for n in range(BROADCAST)]
    started = time.monotonic()
    async with bot.database.sessions.begin() as session:
        for n in range(CARDS):  # one chat, due first: at one a second, 15 seconds of sending
            await outbox.enqueue(
                session,
                secretary.id,
                f"Card {n + 1}",
                kind="report_card",
                due_at=bot.clock.now(),
                timezone="Asia/Shanghai",
                urgent=True,
            )
    await enqueue_to(bot, [m.id for m in members], "主题党日: Friday 15:00", urgent=True)
    await until_sent(bot, CARDS + BROADCAST)

    to_secretary = [at for at, chat_id in emu.stats.sends if chat_id == secretary.id]
    to_members = [at for at, chat_id in emu.stats.sends if chat_id != secretary.id]
    print(
        f"\n[{bot.database.backend}] first broadcast message {to_members[0] - started:.2f}s, "
        f"last {to_members[-1] - started:.2f}s; secretary's {CARDS} cards until "
        f"{to_secretary[-1] - started:.2f}s; {emu.stats.count_429} answers 429"
    )
    # The broadcast went at the full pace while the secretary's cards went at theirs.
    assert to_members[-1] < to_secretary[-1]
    assert [m.text for m in emu.messages(secretary.id)] == [f"Card {n + 1}" for n in range(CARDS)]
    assert all(len(emu.messages(m.id)) == 1 for m in members)
    assert emu.stats.max_rate_overall(window=1.0) <= 30
    assert await marked_sent(bot) == {DeliveryStatus.sent}


async def test_replies_during_a_broadcast_all_arrive(bot: RunningBot) -> None:
    emu = bot.emulator
    emu.faults.enforce_flood_limits = True
    members = [emu.user(f"Member {n}", language_code="en", started=True) for n in range(BROADCAST)]
    asking = members[:: BROADCAST // ASKING]
    await enqueue_to(bot, [m.id for m in members], "Notice", urgent=True)
    await until_sent(bot, 30)  # the broadcast is under way, at full pace
    await asyncio.gather(*(person.send("/help") for person in asking))
    await until_sent(bot, BROADCAST + len(asking))
    await asyncio.sleep(0.5)  # nothing more may come

    help_text = said("en", "help.member")
    for person in asking:
        texts = Counter(m.text for m in emu.messages(person.id) if m.from_bot)
        assert texts == Counter({help_text: 1, f"Notice for {person.id}": 1}), texts
    assert all(len(emu.messages(m.id)) == 1 for m in members if m not in asking)
    print(f"\n[{bot.database.backend}] {emu.stats.count_429} answers 429 during the broadcast")
    assert emu.stats.max_rate_overall(window=1.0) <= 30
    assert await marked_sent(bot) == {DeliveryStatus.sent}
