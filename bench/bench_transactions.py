"""Transactions and SQL statements per update, counted with SQLAlchemy event hooks.

    python bench/bench_transactions.py

The real bot (polling the Bot API emulator, SQLite in a temp directory, the scheduler
off so that only update handling is counted) gets one update at a time from scripted
people: a secretary and members doing what they do most. For each, from the moment
the update is pushed until the bot has handled it (replies sent, update marked done),
the script counts BEGINs (transactions, including the one that stores the update in
the inbox), SAVEPOINTs and statements. Figures only: the row to compare against is
the same script run on an older checkout.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import event

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.app import BotRuntime
from bot.config import CheckInConfig, Config, DatabaseConfig, SchedulerConfig, TelegramConfig
from sandbox import Emulator, Person
from scheduler.clock import ManualClock
from tests.conftest import Database
from tests.e2e.conftest import START_TIME, enrol, grant, new_activity, seed_org


@dataclass
class Counts:
    transactions: int = 0
    savepoints: int = 0
    statements: int = 0


def count_on(engine: Any, counts: Counts) -> None:
    sync = engine.sync_engine

    @event.listens_for(sync, "begin")
    def _begin(conn: Any) -> None:
        counts.transactions += 1

    @event.listens_for(sync, "savepoint")
    def _savepoint(conn: Any, name: Any) -> None:
        counts.savepoints += 1

    @event.listens_for(sync, "before_cursor_execute")
    def _statement(*args: Any) -> None:
        counts.statements += 1


async def measure(
    runtime: BotRuntime, counts: Counts, act: Callable[[], Awaitable[Any]], who: Person
) -> Counts:
    before = Counts(**vars(counts))
    seen = len(who.chat.ordered())
    await act()
    for _ in range(400):  # the reply, then the inbox drained
        if len(who.chat.ordered()) > seen or (who.last_answer and who.last_answer.answer):
            break
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.05)
    await runtime.updates.join()
    return Counts(
        counts.transactions - before.transactions,
        counts.savepoints - before.savepoints,
        counts.statements - before.statements,
    )


async def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    with tempfile.TemporaryDirectory() as directory:
        async with Emulator() as emulator:
            url = f"sqlite+aiosqlite:///{Path(directory) / 'bench.db'}"
            config = Config(
                telegram=TelegramConfig(token=emulator.token, api_base_url=emulator.url),
                checkin=CheckInConfig(secret="bench-check-in-secret-0123456789"),
                database=DatabaseConfig(url=url),
                scheduler=SchedulerConfig(enabled=False),
            )
            clock = ManualClock(START_TIME)
            runtime = BotRuntime(config, clock=clock)
            await runtime.start()
            counts = Counts()
            count_on(runtime.engine, counts)
            try:
                await run_scenario(runtime, emulator, clock, counts)
            finally:
                await runtime.stop()


async def run_scenario(
    runtime: BotRuntime, emulator: Emulator, clock: ManualClock, counts: Counts
) -> None:
    database = Database("sqlite", "", runtime.engine, runtime.sessions)
    holder = type("Bot", (), {"database": database, "clock": clock})()
    await seed_org(database)
    secretary = emulator.user("李书记", language_code="zh")
    await grant(database, secretary, "secretary", "wanda-plaza")
    member = emulator.user("王芳", language_code="zh")
    await enrol(holder, member, "王芳", "wanda-plaza")  # type: ignore[arg-type]
    newcomer = emulator.user("陈新", language_code="zh")
    activity = await new_activity(holder, secretary, "义务植树", kind="volunteer")  # type: ignore[arg-type]
    await measure(runtime, counts, lambda: secretary.send("/help"), secretary)

    def card_button() -> str:
        return next(label for row in member.chat.ordered()[-1].buttons for label in row)

    rows: list[tuple[str, Counts]] = []
    steps: list[tuple[str, Person, Callable[[], Awaitable[Any]]]] = [
        ("/help (member)", member, lambda: member.send("/help")),
        ("/start (newcomer: welcome, consent)", newcomer, lambda: newcomer.send("/start")),
        ("/events", member, lambda: member.send("/events")),
        ("press: open a card", member, lambda: member.press(card_button())),
        ("press: sign up", member, lambda: member.press("✅ 报名")),
        ("/record", member, lambda: member.send("/record")),
        ("/activities (secretary)", secretary, lambda: secretary.send("/activities")),
    ]
    for label, person, act in steps:
        rows.append((label, await measure(runtime, counts, act, person)))
    print(f"activity {activity.id}; per update: transactions / savepoints / statements")
    for label, figures in rows:
        print(
            f"  {label:<40} {figures.transactions:>3} {figures.savepoints:>3}"
            f" {figures.statements:>4}"
        )
    total = Counts(*(sum(getattr(f, k) for _, f in rows) for k in vars(Counts())))
    n = len(rows)
    print(
        f"  {'mean':<40} {total.transactions / n:>5.1f} {total.savepoints / n:>5.1f}"
        f" {total.statements / n:>6.1f}"
    )


if __name__ == "__main__":
    asyncio.run(main())
