"""Updates per second through the Bot API emulator: a bare PTB bot, then branchbot.

    python bench/bench_updates.py [--updates N] [--users U] [--batch B] [--round-trips MS,..]
                                  [--profile]

U scripted users send N commands in total (/start and /help, alternating per user) as fast as
the emulator takes them, B at a time; the clock runs from the first send to the last reply.
Latency is from a user's send to the emulator accepting the bot's answering sendMessage: in
this flood it is mostly time spent waiting in the queue, so 50 commands sent one at a time
beforehand give the latency of an idle bot too. Rows:

- baseline: python-telegram-bot alone (Updater long polling, two CommandHandlers, no database),
  handling one update at a time, and with `concurrent_updates` (all at once);
- branchbot on SQLite (a fresh file in a temp directory, migrated by `BotRuntime.start()`),
  with one lane (one update at a time, as before `bot.lanes`) and with the default 8;
- the same on PostgreSQL, only when BRANCHBOT_TEST_POSTGRES_URL is set (an account allowed to
  create databases; a throwaway database is created and dropped).

Each set of rows runs once per emulated round trip (`--round-trips`, default 0 and 50 ms):
every Bot API call but getUpdates is answered that much later, as on a real network, where
the ceiling of a bot that waits for each reply is the round trip, not the CPU. "vs echo" is
against the echo bot that handles updates the same way (one at a time, or side by side).
branchbot sends up to 1000 messages a second here (`scheduler.messages_per_second`, allowed
against a local server): at Telegram's 29 its replies to /start alone would hold it at about
19 updates a second, whatever the bot does.
CPU is the process's own CPU time over the flood per update, and the emulator runs in the
same process: it counts in every row, so the CPU ratio understates branchbot's own cost.

Figures only, no pass/fail: branchbot stores every update before handling it, so a ratio
under 1 is expected. `--profile` runs the first SQLite row under cProfile (slower, so its
rate is not comparable) and prints where the time went.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import logging
import os
import platform
import pstats
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy
import telegram
from telegram import Update
from telegram.ext import Application, CommandHandler, ContextTypes

# Run as a script, sys.path[0] is bench/; the repository root must win over an editable install
# made before a package gained its __init__.py (which would import it as an empty namespace).
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.app import BotRuntime
from bot.config import (
    BotConfig,
    CheckInConfig,
    Config,
    DatabaseConfig,
    SchedulerConfig,
    TelegramConfig,
)
from sandbox import Emulator, Person
from tests.postgres import throwaway_database

POSTGRES_ENV = "BRANCHBOT_TEST_POSTGRES_URL"
COMMANDS = ("/start", "/help")
# Messages each command gets back. branchbot answers a first /start with a greeting and
# the consent question (two messages); the echo bot answers everything with one.
BRANCHBOT_REPLIES = {"/start": 2, "/help": 1}
ECHO_REPLIES = {"/start": 1, "/help": 1}
ROUND_TRIPS = 50  # sequential commands timed before the flood
REPLY_TIMEOUT = 120.0  # seconds without progress before a run is declared stuck


@dataclass
class Result:
    name: str
    round_trip: float = 0.0  # seconds each Bot API call waits (the emulated network)
    side_by_side: bool = False  # updates handled concurrently (lanes, concurrent_updates)
    updates: int = 0
    seconds: float = 0.0
    cpu_seconds: float = 0.0  # the process's, over the flood
    latencies: list[float] = field(default_factory=list)  # seconds, send to reply, in the flood
    round_trips: list[float] = field(default_factory=list)  # seconds, one command at a time
    violations: int = 0
    error: str = ""

    @property
    def rate(self) -> float:
        return self.updates / self.seconds if self.seconds else 0.0

    @property
    def cpu_ms(self) -> float:
        return 1000 * self.cpu_seconds / self.updates if self.updates else 0.0


def percentile_ms(values: list[float], p: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return 1000 * ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


# -- the load -----------------------------------------------------------------------------------
async def wait_for_replies(emu: Emulator, expected: int) -> None:
    """Until the emulator has accepted `expected` sendMessage calls in all."""
    seen, stalled_since = len(emu.stats.sends), time.monotonic()
    while len(emu.stats.sends) < expected:
        await emu.changed.wait(1.0)
        if len(emu.stats.sends) != seen:
            seen, stalled_since = len(emu.stats.sends), time.monotonic()
        elif time.monotonic() - stalled_since > REPLY_TIMEOUT:
            raise TimeoutError(f"stuck at {seen - expected} of {expected} replies")


async def drive(
    emu: Emulator,
    result: Result,
    updates: int,
    users: int,
    batch: int,
    replies_to: dict[str, int],
) -> None:
    people = [
        emu.user(f"User{i}", language_code="en" if i % 2 else "zh", username=f"user{i}")
        for i in range(users)
    ]
    # One untimed round trip: connections, the first database session and lazy imports.
    await people[0].send("/start")
    for _ in range(replies_to["/start"]):
        await people[0].next_message(timeout=30)
    # Latency without a queue: one person, one command at a time (to its first reply).
    for i in range(ROUND_TRIPS):
        command = COMMANDS[i % 2]
        already = len(emu.stats.sends)
        sent = time.monotonic()
        await people[0].send(command)
        for _ in range(replies_to[command]):
            await people[0].next_message(timeout=30)
        result.round_trips.append(emu.stats.sends[already][0] - sent)

    before = len(emu.stats.sends)

    # Per chat, in order: when each command went and how many messages it gets back.
    sent_at: dict[int, list[tuple[float, int]]] = defaultdict(list)
    plan: list[tuple[Person, str]] = [
        (people[i % users], COMMANDS[(i // users) % 2]) for i in range(updates)
    ]
    expected = sum(replies_to[text] for _, text in plan)
    start, cpu_start = time.monotonic(), time.process_time()
    for first in range(0, updates, batch):
        chunk = plan[first : first + batch]
        now = time.monotonic()
        await asyncio.gather(*(person.send(text) for person, text in chunk))
        for person, text in chunk:
            sent_at[person.chat.id].append((now, replies_to[text]))
        await asyncio.sleep(0)  # let the emulator and the bot run between batches
    await wait_for_replies(emu, before + expected)
    result.cpu_seconds = time.process_time() - cpu_start

    replies = emu.stats.sends[before:]
    result.updates = updates
    result.seconds = replies[-1][0] - start
    answered: dict[int, list[float]] = defaultdict(list)
    for at, chat_id in replies:
        answered[chat_id].append(at)
    for chat_id, commands in sent_at.items():  # every command gets all its replies, in order
        if len(answered[chat_id]) != sum(count for _, count in commands):
            raise RuntimeError(
                f"chat {chat_id}: {len(commands)} commands got {len(answered[chat_id])} messages "
                "(see the log above)"
            )
        position = 0
        for sent, count in commands:
            result.latencies.append(answered[chat_id][position] - sent)
            position += count
    result.violations = len(emu.violations)


# -- the bots -----------------------------------------------------------------------------------
async def _reply(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_message
    await update.effective_message.reply_text(f"echo {update.effective_message.text}")


async def run_baseline(result: Result, updates: int, users: int, batch: int) -> None:
    async with Emulator() as emu:
        application = (
            Application.builder()
            .token(emu.token)
            .base_url(emu.base_url)
            .base_file_url(emu.base_file_url)
            .concurrent_updates(result.side_by_side)
            .build()
        )
        application.add_handler(CommandHandler("start", _reply))
        application.add_handler(CommandHandler("help", _reply))
        async with application:
            await application.start()
            assert application.updater is not None
            await application.updater.start_polling(poll_interval=0, timeout=10)
            try:
                emu.round_trip = result.round_trip
                await drive(emu, result, updates, users, batch, ECHO_REPLIES)
            finally:
                await application.updater.stop()
                await application.stop()


async def run_branchbot(
    result: Result, database_url: str, updates: int, users: int, batch: int
) -> None:
    async with Emulator() as emu:
        config = Config(
            telegram=TelegramConfig(token=emu.token, api_base_url=emu.url),
            checkin=CheckInConfig(secret="bench-check-in-secret-0123456789"),
            database=DatabaseConfig(url=database_url),
            bot=BotConfig(lanes=8 if result.side_by_side else 1),
            # Telegram's budget (25 a second) would cap the replies, not the bot: /start
            # answers with two messages, so at most about 19 updates a second.
            scheduler=SchedulerConfig(messages_per_second=1000),
        )
        runtime = BotRuntime(config)
        await runtime.start()  # migrates the empty database
        try:
            emu.round_trip = result.round_trip
            await drive(emu, result, updates, users, batch, BRANCHBOT_REPLIES)
        finally:
            await runtime.stop()


async def run_branchbot_sqlite(result: Result, updates: int, users: int, batch: int) -> None:
    with tempfile.TemporaryDirectory(prefix="branchbot-bench-") as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        await run_branchbot(result, url, updates, users, batch)


async def run_branchbot_postgres(result: Result, updates: int, users: int, batch: int) -> None:
    async with throwaway_database(os.environ[POSTGRES_ENV], "branchbot_bench") as url:
        await run_branchbot(result, url, updates, users, batch)


# -- report -------------------------------------------------------------------------------------
Runner = Callable[[Result, int, int, int], Awaitable[None]]


async def measure(name: str, runner: Runner, args: argparse.Namespace, **setup: Any) -> Result:
    result = Result(name, **setup)
    try:
        await runner(result, args.updates, args.users, args.batch)
    except Exception as exc:  # report the row as failed, keep the others
        result.error = f"{type(exc).__name__}: {exc}"
    return result


def print_table(results: list[Result]) -> None:
    header = (
        f"{'bot':<30} {'updates/s':>9} {'vs echo':>7} {'CPU ms/upd':>10} {'vs echo':>7} "
        f"{'flood p50/p99 ms':>16} {'alone p50/p99 ms':>16}"
    )
    for round_trip in sorted({r.round_trip for r in results}):
        print(f"\nround trip {1000 * round_trip:.0f} ms")
        print(header)
        print("-" * len(header))
        rows = [r for r in results if r.round_trip == round_trip]
        echo = {r.side_by_side: r for r in rows if r.name.startswith("PTB echo")}
        for r in rows:
            if r.error:
                print(f"{r.name:<30} failed: {r.error}")
                continue
            baseline = echo.get(r.side_by_side)
            ratio = r.rate / baseline.rate if baseline and baseline.rate else 0.0
            cpu_ratio = r.cpu_ms / baseline.cpu_ms if baseline and baseline.cpu_ms else 0.0
            flood = f"{percentile_ms(r.latencies, 50):.0f} / {percentile_ms(r.latencies, 99):.0f}"
            alone = (
                f"{percentile_ms(r.round_trips, 50):.1f} / {percentile_ms(r.round_trips, 99):.1f}"
            )
            print(
                f"{r.name:<30} {r.rate:>9.1f} {ratio:>7.2f} {r.cpu_ms:>10.1f} {cpu_ratio:>7.2f} "
                f"{flood:>16} {alone:>16}"
            )
    print(
        "\nvs echo: against the echo bot handling updates the same way (one at a time, or side "
        "by side); flood: latency while all updates queue up (mostly waiting); "
        f"alone: {ROUND_TRIPS} commands sent one at a time before the flood"
    )
    for r in results:
        if r.violations:
            print(f"warning: {r.name}: {r.violations} request(s) the Bot API would reject")


def print_versions() -> None:
    print(
        f"Python {platform.python_version()}, python-telegram-bot {telegram.__version__}, "
        f"SQLAlchemy {sqlalchemy.__version__}, {platform.system()} {platform.machine()}, "
        f"{os.cpu_count()} CPU(s)"
    )


async def main(args: argparse.Namespace) -> int:
    print(
        f"bench_updates: {args.updates} updates from {args.users} users "
        f"(/start and /help), sent {args.batch} at a time"
    )
    print_versions()
    runners: list[tuple[str, Runner]] = [("SQLite", run_branchbot_sqlite)]
    if os.environ.get(POSTGRES_ENV):
        runners.append(("PostgreSQL", run_branchbot_postgres))
    else:
        print(f"(PostgreSQL rows skipped: {POSTGRES_ENV} is not set)")
    results: list[Result] = []
    profiled: cProfile.Profile | None = None
    for round_trip in args.round_trips:
        for side_by_side, how in ((False, "one at a time"), (True, "concurrent_updates")):
            setup = {"round_trip": round_trip, "side_by_side": side_by_side}
            results.append(await measure(f"PTB echo, {how}", run_baseline, args, **setup))
        for database, runner in runners:
            for side_by_side, how in ((False, "1 lane"), (True, "8 lanes")):
                setup = {"round_trip": round_trip, "side_by_side": side_by_side}
                profiler = cProfile.Profile() if args.profile and profiled is None else None
                if profiler:
                    profiler.enable()
                result = await measure(f"branchbot, {database}, {how}", runner, args, **setup)
                if profiler:
                    profiler.disable()
                    result.name += " (cProfile)"
                    profiled = profiler
                results.append(result)
    print_table(results)
    if profiled is not None:
        print("\nthe row under cProfile: top functions by own time")
        pstats.Stats(profiled, stream=sys.stdout).sort_stats("tottime").print_stats(25)
    return 1 if any(r.error for r in results) else 0


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--updates", type=int, default=1000, help="updates in total per bot")
    parser.add_argument("--users", type=int, default=20, help="distinct users sending them")
    parser.add_argument("--batch", type=int, default=20, help="sends gathered at once")
    parser.add_argument(
        "--round-trips",
        type=lambda text: [float(ms) / 1000 for ms in text.split(",")],
        default=[0.0, 0.05],
        help="emulated Bot API round trips in ms, comma-separated (default 0,50)",
    )
    parser.add_argument("--profile", action="store_true", help="cProfile the first SQLite row")
    args = parser.parse_args()
    if min(args.updates, args.users, args.batch) < 1:
        parser.error("--updates, --users and --batch must be at least 1")
    return args


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    sys.exit(asyncio.run(main(parse_args())))
