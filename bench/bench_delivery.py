"""Outbox delivery under Telegram's limits: throughput, latency, a backlog, sharing the budget.

    python bench/bench_delivery.py [--recipients N] [--scheduled S] [--pending P]
        [--cards C] [--members M] [--asking R] [--part 1..5] [--quick]

Five parts, each on a fresh SQLite database (and on a throwaway PostgreSQL database when
BRANCHBOT_TEST_POSTGRES_URL is set), delivered by the real `Sender` of a `BotRuntime` through
its python-telegram-bot `Bot` to the Bot API emulator, in a leadership term taken as the
scheduler takes it. The sender sends to up to ACTIVE_CHATS chats at once, each by a task of its
own claiming up to PER_CHAT of that chat's rows; all of them share one rate limiter.

1. throughput: N recipients, one message each, with the emulator enforcing Telegram's flood
   limits (429 above 30 messages a second). Baseline: the ceiling (30/s) and the configured pace;
2. latency: S messages falling due over the next minute, sent by `Sender.run` on the real clock;
   sent_at - due_at from the database;
3. start-up and memory with P pending rows: a fresh subprocess starts and sends the first
   3 x ACTIVE_CHATS messages, and reports the time from process start to the first send and
   its peak RSS, against the same subprocess whose outbox holds only those messages;
4. a busy chat beside a broadcast: C report cards to one secretary, enqueued just before a
   broadcast to M members, with the flood limits enforced: when the broadcast's first and last
   messages and the last card went, against the same broadcast alone; the ideal is M / pace;
5. replies during a broadcast: the real bot polling the emulator, flood limits enforced; R
   members send /help at once while a broadcast to M goes out: the replies that came, 429s,
   and the time from /help to its reply, against the same R /help with nothing else sent.

Figures only, no pass/fail on timings. Exits 1 when a message was lost or sent twice, a reply
did not come, or a part could not finish.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import json
import logging
import os
import platform
import pstats
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

import sqlalchemy
import telegram
from sqlalchemy import insert, select

# Run as a script, sys.path[0] is bench/; the repository root must win over an editable install
# made before a package gained its __init__.py (which would import it as an empty namespace).
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.app import BotRuntime, prepare_database
from bot.config import CheckInConfig, Config, DatabaseConfig, SchedulerConfig, TelegramConfig
from models import outbox
from models.outbox import Delivery, DeliveryStatus
from sandbox import Emulator, Person
from sandbox.request import RequestRecord
from scheduler.leader import Term
from scheduler.sender import ACTIVE_CHATS, PER_CHAT, Sender
from tests.postgres import throwaway_database as throwaway_postgres

POSTGRES_ENV = "BRANCHBOT_TEST_POSTGRES_URL"
CEILING = 30  # Telegram: about 30 messages a second overall
GOAL_SHARE = 0.98  # of the configured pace, which stays under the ceiling
GOAL_P99 = 2.0  # seconds, due to sent
LATENCY_LEAD = 2.0  # seconds before the first scheduled message falls due
STALL_TIMEOUT = 60.0  # seconds without a new send before a run is declared stuck
FIRST_SENDS = 3 * ACTIVE_CHATS  # part 3 stops after three rounds of the chats sent to at once
BACKLOG_CHATS = 1000  # part 3 spreads its rows round robin over this many chats
FAST_PACE = 1000  # messages/s in part 3, where the pace is not what is measured
ROW_TIMEZONE = "UTC"
FIRST_USER_ID = 10001  # the emulator numbers its users from here (sandbox/README.md)
NOTICE = "主题党日: Friday 15:00 at the branch office."  # parts 4 and 5: the broadcast
UNDER_WAY = 30  # part 5: broadcast messages accepted before the /help are sent
REPLY_WAIT = 30.0  # part 5: seconds a reply may take (after the broadcast) before it counts lost
SETTLE = 0.5  # parts 4 and 5: seconds to wait for a message sent twice, after the last one


def now_utc() -> datetime:
    return datetime.now(UTC)


def percentile(values: list[float], p: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def peak_rss_mb() -> float:
    """This process's peak resident set, in MiB.

    Linux carries ru_maxrss over fork and exec, so in a subprocess it is at least the parent's
    size at the fork; VmHWM belongs to the new address space and starts afresh.
    """
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


# -- databases and the sender --------------------------------------------------------------------
def backends() -> list[str]:
    return ["SQLite", "PostgreSQL"] if os.environ.get(POSTGRES_ENV) else ["SQLite"]


@contextlib.asynccontextmanager
async def throwaway_database(backend: str) -> AsyncIterator[str]:
    """The URL of a new, empty database; removed afterwards."""
    if backend == "SQLite":
        with tempfile.TemporaryDirectory(prefix="branchbot-bench-") as tmp:
            yield f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        return
    async with throwaway_postgres(os.environ[POSTGRES_ENV], "branchbot_bench") as url:
        yield url


def make_config(emu: Emulator, database_url: str, per_second: int | None = None) -> Config:
    # Quiet hours are a one-hour window twelve hours away, so the rows (not urgent) go at once
    # but each still passes the quiet-hours check, as in production.
    start = (now_utc().hour + 12) % 24
    scheduler = SchedulerConfig(
        quiet_hours_start=f"{start:02d}:00", quiet_hours_end=f"{(start + 1) % 24:02d}:00"
    )
    if per_second is not None:
        scheduler = SchedulerConfig(
            quiet_hours_start=scheduler.quiet_hours_start,
            quiet_hours_end=scheduler.quiet_hours_end,
            messages_per_second=per_second,
        )
    return Config(
        telegram=TelegramConfig(token=emu.token, api_base_url=emu.url),
        checkin=CheckInConfig(secret="bench-check-in-secret-0123456789"),
        database=DatabaseConfig(url=database_url),
        scheduler=scheduler,
    )


@contextlib.asynccontextmanager
async def real_sender(
    emu: Emulator, database_url: str, per_second: int | None = None
) -> AsyncIterator[tuple[BotRuntime, Sender, Term]]:
    """The `Sender` a `BotRuntime` builds, with its initialised PTB bot, and the leadership
    term it sends in (taken as the scheduler takes it); no polling, no jobs."""
    runtime = BotRuntime(make_config(emu, database_url, per_second))
    assert runtime.scheduler is not None
    await prepare_database(runtime.config, runtime.engine)
    await runtime.application.initialize()
    leadership = runtime.scheduler.leadership
    try:
        term = await leadership.try_acquire()
        if term is None:
            raise RuntimeError("another process holds the scheduler's leadership")
        yield runtime, runtime.scheduler.sender, term
    finally:
        await leadership.release()
        await runtime.application.shutdown()
        await runtime.engine.dispose()


async def wait_for_sends(emu: Emulator, expected: int) -> None:
    """Until the emulator has accepted `expected` sends in all."""
    seen, stalled_since = len(emu.stats.sends), time.monotonic()
    while len(emu.stats.sends) < expected:
        await emu.changed.wait(1.0)
        if len(emu.stats.sends) != seen:
            seen, stalled_since = len(emu.stats.sends), time.monotonic()
        elif time.monotonic() - stalled_since > STALL_TIMEOUT:
            raise TimeoutError(f"stuck at {seen} of {expected} sends")


async def run_sender(sender: Sender, term: Term, emu: Emulator, expected: int) -> None:
    """`Sender.run` until the emulator has accepted `expected` sends; then it stops, each chat
    finishing the message in hand and putting the rest of its claim back."""
    stop = asyncio.Event()
    task = asyncio.create_task(sender.run(term, stop), name="bench-sender")
    try:
        await wait_for_sends(emu, expected)
    finally:
        stop.set()
        await task


def copies_problem(emu: Emulator, recipients: list[int]) -> str:
    """'' when every recipient got exactly one message and nobody else got any."""
    copies = Counter(chat_id for _, chat_id in emu.stats.sends)
    lost = sum(1 for chat_id in recipients if copies[chat_id] == 0)
    doubled = sum(1 for chat_id in recipients if copies[chat_id] > 1)
    strays = len(set(copies) - set(recipients))
    if lost or doubled or strays:
        return f"{lost} lost, {doubled} sent more than once, {strays} unexpected chat(s)"
    return ""


def texts_problem(emu: Emulator, expected: dict[int, list[str]]) -> str:
    """'' when each chat of `expected` got exactly those messages from the bot (in any order)
    and no other chat got any."""
    lost = extra = 0
    for chat_id, texts in expected.items():
        got = Counter(m.text or "" for m in emu.messages(chat_id) if m.from_bot)
        lost += sum((Counter(texts) - got).values())
        extra += sum((got - Counter(texts)).values())
    strays = len({chat_id for _, chat_id in emu.stats.sends} - set(expected))
    if lost or extra or strays:
        return f"{lost} lost, {extra} sent more than once, {strays} unexpected chat(s)"
    return ""


def timed_sends(emu: Emulator) -> list[tuple[float, int, str]]:
    """Every send the emulator accepted: (monotonic time, chat id, text as the person reads it).
    The emulator stores a message and records its send together, so the k-th message from the
    bot in a chat is the k-th send to that chat."""
    texts: dict[int, list[str]] = {}
    seen: Counter[int] = Counter()
    sends = []
    for at, chat_id in emu.stats.sends:
        if chat_id not in texts:
            texts[chat_id] = [m.text or "" for m in emu.messages(chat_id) if m.from_bot]
        k, seen[chat_id] = seen[chat_id], seen[chat_id] + 1
        sends.append((at, chat_id, texts[chat_id][k] if k < len(texts[chat_id]) else ""))
    return sends


async def status_counts(runtime: BotRuntime) -> dict[str, int]:
    async with runtime.sessions() as session:
        return {status.value: n for status, n in (await outbox.counts(session)).items()}


def times_429(emu: Emulator) -> list[float]:
    """When the emulator answered 429 (monotonic seconds)."""
    return [r.time for r in emu.requests if r.status == 429]


@dataclass
class Claims:
    """The sender's calls of `outbox.claim_due`: how often the dispatcher claimed, for how many
    rows, and how long each claim took."""

    calls: int = 0
    rows: int = 0
    seconds: list[float] = field(default_factory=list)


@contextlib.contextmanager
def counting_claims() -> Iterator[Claims]:
    """Count the dispatcher's claims. scheduler.sender calls `outbox.claim_due` through the
    module, so wrapping the module's attribute sees every call; restored afterwards."""
    claims = Claims()
    original = outbox.claim_due

    async def claim_due(*args: Any, **kwargs: Any) -> list[Delivery]:
        began = time.monotonic()
        rows = await original(*args, **kwargs)
        claims.seconds.append(time.monotonic() - began)
        claims.calls += 1
        claims.rows += len(rows)
        return rows

    outbox.claim_due = claim_due  # type: ignore[assignment]
    try:
        yield claims
    finally:
        outbox.claim_due = original  # type: ignore[assignment]


# -- 1. throughput ------------------------------------------------------------------------------
@dataclass
class Throughput:
    backend: str
    recipients: int = 0
    enqueue_seconds: float = 0.0
    seconds: float = 0.0  # from starting the sender to the last accepted send
    first_send: float = 0.0  # from starting the sender to the first accepted send
    rate_middle: float = 0.0  # between the 10th and the 90th percentile send
    count_429: int = 0
    max_1s: int = 0
    pace: float = 0.0
    gaps_lost: float = 0.0  # seconds lost in gaps longer than two slots
    gaps_after_429: int = 0  # of those gaps, how many had a 429 in them (the pause it asks for)
    gaps_early: int = 0  # of those gaps, how many came in the first ACTIVE_CHATS sends
    gaps: int = 0
    largest_gap: float = 0.0
    spacing: list[float] = field(default_factory=list)  # seconds between accepted sends
    claims: Claims = field(default_factory=Claims)
    statuses: dict[str, int] = field(default_factory=dict)
    problem: str = ""  # lost or duplicated messages
    error: str = ""

    @property
    def rate(self) -> float:
        return self.recipients / self.seconds if self.seconds else 0.0


async def throughput(result: Throughput, recipients: int) -> None:
    async with throwaway_database(result.backend) as url, Emulator() as emu:
        emu.faults.enforce_flood_limits = True
        chats = [emu.user(f"Recipient{i}").chat.id for i in range(recipients)]
        async with real_sender(emu, url) as (runtime, sender, term):
            result.pace = sender.limiter.limits.per_second
            began = time.monotonic()
            async with runtime.sessions.begin() as session:
                due = now_utc()
                for i, chat_id in enumerate(chats):
                    await outbox.enqueue(
                        session,
                        chat_id,
                        f"Notice {i}: the branch meeting moves to Thursday 19:00.",
                        kind="bench",
                        due_at=due,
                        timezone=ROW_TIMEZONE,
                    )
            result.enqueue_seconds = time.monotonic() - began
            start = time.monotonic()
            with counting_claims() as result.claims:
                await run_sender(sender, term, emu, recipients)
            result.statuses = await status_counts(runtime)
        times = [t for t, _ in emu.stats.sends]
        result.recipients = len(times)
        result.first_send = times[0] - start
        result.seconds = times[-1] - start
        lo, hi = len(times) // 10, len(times) * 9 // 10
        if hi > lo:
            result.rate_middle = (hi - lo) / (times[hi] - times[lo])
        slot = 1.0 / result.pace
        result.spacing = [b - a for a, b in pairwise(times)]
        refused = times_429(emu)
        for i, gap in enumerate(result.spacing, start=1):
            if gap > 2 * slot:
                result.gaps += 1
                result.gaps_lost += gap - slot
                result.largest_gap = max(result.largest_gap, gap)
                result.gaps_after_429 += any(times[i - 1] <= t < times[i] for t in refused)
                result.gaps_early += i < ACTIVE_CHATS
        result.count_429 = emu.stats.count_429
        result.max_1s = emu.stats.max_rate_overall(1.0)
        result.problem = copies_problem(emu, chats)
        if result.statuses.get(DeliveryStatus.sent.value) != recipients:
            result.problem += f" outbox statuses {result.statuses}"


def print_throughput(results: list[Throughput]) -> None:
    header = (
        f"{'database':<11} {'sent':>6} {'enqueue s':>9} {'wall s':>7} {'msg/s':>6} "
        f"{'middle':>6} {'429s':>5} {'max 1 s':>7} {'first ms':>8}  copies"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        if r.error:
            print(f"{r.backend:<11} failed: {r.error}")
            continue
        print(
            f"{r.backend:<11} {r.recipients:>6} {r.enqueue_seconds:>9.1f} {r.seconds:>7.1f} "
            f"{r.rate:>6.2f} {r.rate_middle:>6.2f} {r.count_429:>5} {r.max_1s:>7} "
            f"{1000 * r.first_send:>8.0f}  {r.problem or 'exactly one each'}"
        )
    paces = {r.pace for r in results if r.pace}
    pace = paces.pop() if len(paces) == 1 else None
    goal = f"{GOAL_SHARE * pace:.1f}" if pace else f"{GOAL_SHARE:.0%} of the pace"
    print(
        f"baseline: ceiling {CEILING} msg/s (Telegram), configured pace {pace or '?'} msg/s. "
        f"Goal: >= {goal} msg/s, zero 429s, max 1 s <= {CEILING}"
    )
    print(
        "msg/s: sends / (start of Sender.run to the last accepted send); middle: between the "
        "10th and 90th percentile send; max 1 s: most sends in any 1-second window"
    )
    for r in results:
        if r.error or not r.spacing:
            continue
        close = sum(1 for gap in r.spacing if gap < 0.5 / r.pace)
        print(
            f"{r.backend}: spacing between accepted sends p1 {1000 * percentile(r.spacing, 1):.1f}"
            f" / p50 {1000 * percentile(r.spacing, 50):.1f} ms (slot {1000 / r.pace:.1f} ms), "
            f"{close} under half a slot; {r.gaps} gap(s) over two slots, {r.gaps_lost:.2f} s "
            f"lost, largest {1000 * r.largest_gap:.0f} ms; of them {r.gaps_after_429} with a "
            f"429 in it, {r.gaps_early} in the first {ACTIVE_CHATS} sends"
        )
        c = r.claims
        if c.calls:
            print(
                f"{r.backend}: the dispatcher claimed {c.calls} times for {c.rows} rows "
                f"({c.rows / c.calls:.1f} a claim; at most {ACTIVE_CHATS} chats x {PER_CHAT}), "
                f"a claim took p50 {1000 * percentile(c.seconds, 50):.1f} / max "
                f"{1000 * max(c.seconds):.0f} ms"
            )


# -- 2. latency ---------------------------------------------------------------------------------
@dataclass
class Latency:
    backend: str
    scheduled: int = 0
    spread: float = 0.0
    latencies: list[float] = field(default_factory=list)  # seconds, sent_at - due_at
    problem: str = ""
    error: str = ""


async def latency(result: Latency, scheduled: int, spread: float) -> None:
    result.spread = spread
    async with throwaway_database(result.backend) as url, Emulator() as emu:
        emu.faults.enforce_flood_limits = True
        chats = [emu.user(f"Member{i}").chat.id for i in range(scheduled)]
        async with real_sender(emu, url) as (runtime, sender, term):
            first_due = now_utc() + timedelta(seconds=LATENCY_LEAD)
            async with runtime.sessions.begin() as session:
                for i, chat_id in enumerate(chats):
                    await outbox.enqueue(
                        session,
                        chat_id,
                        f"Reminder {i}: the meeting starts in one hour.",
                        kind="bench",
                        due_at=first_due + timedelta(seconds=spread * i / scheduled),
                        timezone=ROW_TIMEZONE,
                    )
            await run_sender(sender, term, emu, scheduled)
            async with runtime.sessions() as session:
                rows = (await session.execute(select(Delivery.due_at, Delivery.sent_at))).all()
        result.scheduled = len(rows)
        result.latencies = [(sent - due).total_seconds() for due, sent in rows if sent is not None]
        result.problem = copies_problem(emu, chats)
        if len(result.latencies) != scheduled:
            result.problem += f" {scheduled - len(result.latencies)} row(s) without sent_at"


def print_latency(results: list[Latency]) -> None:
    header = (
        f"{'database':<11} {'sent':>5} {'over s':>6} {'min':>6} {'p50':>6} {'p95':>6} "
        f"{'p99':>6} {'max':>6}  copies"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        if r.error:
            print(f"{r.backend:<11} failed: {r.error}")
            continue
        values = r.latencies
        cells = " ".join(
            f"{x:>6.3f}"
            for x in (
                min(values, default=0.0),
                percentile(values, 50),
                percentile(values, 95),
                percentile(values, 99),
                max(values, default=0.0),
            )
        )
        print(
            f"{r.backend:<11} {len(values):>5} {r.spread:>6.0f} {cells}  "
            f"{r.problem or 'exactly one each'}"
        )
    print(
        f"seconds from due_at to sent_at (database). Goal: p99 < {GOAL_P99:g} s. For comparison: "
        "an idle Sender.run looks every 1 s (poll_seconds), so a due row can wait up to that"
    )


# -- 3. start-up and memory with a backlog -------------------------------------------------------
@dataclass
class Startup:
    backend: str
    label: str
    pending: int = 0
    insert_seconds: float = 0.0
    ready: float = 0.0  # process start to the sender being ready (imports, emulator, runtime)
    first_send: float = 0.0  # process start to the first accepted send
    first_sends_done: float = 0.0  # process start to the FIRST_SENDS-th accepted send
    rss_ready: float = 0.0
    rss_peak: float = 0.0
    sent: int = 0
    error: str = ""


async def bulk_pending(url: str, rows: int) -> float:
    """Insert `rows` pending deliveries, due a minute ago, over BACKLOG_CHATS chats."""
    from models.db import create_engine, create_session_factory
    from models.migrate import upgrade

    engine = create_engine(url)
    try:
        await upgrade(engine)
        sessions = create_session_factory(engine)
        began = time.monotonic()
        due = now_utc() - timedelta(minutes=1)  # one broadcast, all due at the same moment
        chunk = 10_000
        for first in range(0, rows, chunk):
            values: list[dict[str, Any]] = [
                {
                    "chat_id": FIRST_USER_ID + i % BACKLOG_CHATS,
                    "text": f"Digest {i}: three activities this week.",
                    "kind": "bench",
                    "timezone": ROW_TIMEZONE,
                    "due_at": due,
                }
                for i in range(first, min(rows, first + chunk))
            ]
            async with sessions.begin() as session:
                await session.execute(insert(Delivery), values)
        return time.monotonic() - began
    finally:
        await engine.dispose()


async def child_main(url: str, sends: int) -> dict[str, Any]:
    """In the subprocess: start the real sender, let it send `sends` messages, report."""
    async with Emulator() as emu:  # no flood limits here: the pace is not what is measured
        chats = [emu.user(f"Member{i}").chat.id for i in range(BACKLOG_CHATS)]
        assert chats[0] == FIRST_USER_ID
        async with real_sender(emu, url, per_second=FAST_PACE) as (_, sender, term):
            ready, rss_ready = time.monotonic(), peak_rss_mb()
            await run_sender(sender, term, emu, sends)
        return {
            "ready": ready,
            "first_send": emu.stats.sends[0][0],
            "first_sends_done": emu.stats.sends[sends - 1][0],
            "sent": len(emu.stats.sends),
            "rss_ready": rss_ready,
            "rss_peak": peak_rss_mb(),
        }


def run_child(url: str) -> dict[str, Any]:
    started = time.monotonic()  # CLOCK_MONOTONIC is the same clock in the child
    done = subprocess.run(
        [sys.executable, __file__, "--child", url],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"subprocess exited {done.returncode}: {done.stderr.strip()[-500:]}")
    report: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    for key in ("ready", "first_send", "first_sends_done"):
        report[key] -= started
    return report


async def startup(result: Startup, pending: int) -> None:
    async with throwaway_database(result.backend) as url:
        result.pending = pending
        result.insert_seconds = await bulk_pending(url, pending)
        report = await asyncio.to_thread(run_child, url)
    for key in ("ready", "first_send", "first_sends_done", "sent", "rss_ready", "rss_peak"):
        setattr(result, key, report[key])
    if result.sent < FIRST_SENDS:
        result.error = f"sent {result.sent} messages, expected {FIRST_SENDS}"


def print_startup(results: list[Startup]) -> None:
    header = (
        f"{'database':<11} {'outbox':<22} {'insert s':>8} {'ready s':>7} {'1st send s':>10} "
        f"{f'{FIRST_SENDS} sent s':>10} {'RSS ready MB':>12} {'peak MB':>8}"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        if r.error:
            print(f"{r.backend:<11} {r.label:<22} failed: {r.error}")
            continue
        print(
            f"{r.backend:<11} {r.label:<22} {r.insert_seconds:>8.1f} {r.ready:>7.2f} "
            f"{r.first_send:>10.2f} {r.first_sends_done:>10.2f} {r.rss_ready:>12.1f} "
            f"{r.rss_peak:>8.1f}"
        )
    print(
        f"times from the subprocess's start; it stops after the first {FIRST_SENDS} sends (3 x "
        f"ACTIVE_CHATS: three times as many chats as are sent to at once), paced at "
        f"{FAST_PACE}/s without flood limits. ready: imports, emulator and runtime up; peak: "
        "VmHWM (peak RSS) at the end. The baseline outbox holds only the "
        f"{FIRST_SENDS} rows it sends (an empty one sends nothing)"
    )


# -- 4. a busy chat beside a broadcast -----------------------------------------------------------
@dataclass
class BusyChat:
    backend: str
    label: str
    cards: int  # report cards to the secretary, enqueued just before the broadcast; 0: baseline
    members: int = 0
    pace: float = 0.0  # the configured messages a second
    interval: float = 0.0  # seconds between messages to one private chat
    first: float = 0.0  # sender start to the first accepted broadcast message
    last: float = 0.0  # sender start to the last accepted broadcast message
    cards_last: float = 0.0  # sender start to the secretary's last card
    cards_during: int = 0  # cards accepted before the broadcast's last message
    card_gap: float = 0.0  # the longest wait between two cards
    count_429: int = 0
    max_1s: int = 0
    problem: str = ""  # lost or doubled messages
    note: str = ""  # the cards out of order
    error: str = ""


async def busy_chat(result: BusyChat, members: int) -> None:
    async with throwaway_database(result.backend) as url, Emulator() as emu:
        emu.faults.enforce_flood_limits = True
        secretary = emu.user("Secretary").chat.id
        chats = [emu.user(f"Member{i}").chat.id for i in range(members)]
        cards = [f"Card {n + 1}: Member{n} reported to the branch." for n in range(result.cards)]
        async with real_sender(emu, url) as (runtime, sender, term):
            result.pace = sender.limiter.limits.per_second
            result.interval = sender.limiter.limits.private_interval
            async with runtime.sessions.begin() as session:
                for text in cards:  # one chat, due first
                    await outbox.enqueue(
                        session,
                        secretary,
                        text,
                        kind="report_card",
                        due_at=now_utc(),
                        timezone=ROW_TIMEZONE,
                    )
            async with runtime.sessions.begin() as session:  # just after: the broadcast
                for chat_id in chats:
                    await outbox.enqueue(
                        session,
                        chat_id,
                        NOTICE,
                        kind="bench",
                        due_at=now_utc(),
                        timezone=ROW_TIMEZONE,
                    )
            start = time.monotonic()
            await run_sender(sender, term, emu, members + len(cards))
            await asyncio.sleep(SETTLE)  # nothing more may come
            statuses = await status_counts(runtime)
    result.members = members
    sends = timed_sends(emu)
    to_members = [at - start for at, chat_id, _ in sends if chat_id != secretary]
    to_secretary = [(at - start, text) for at, chat_id, text in sends if chat_id == secretary]
    result.first, result.last = to_members[0], to_members[-1]
    result.cards_last = to_secretary[-1][0] if to_secretary else 0.0
    result.cards_during = sum(1 for at, _ in to_secretary if at < result.last)
    result.card_gap = max((b - a for (a, _), (b, _) in pairwise(to_secretary)), default=0.0)
    result.count_429 = emu.stats.count_429
    result.max_1s = emu.stats.max_rate_overall(1.0)
    expected = {chat_id: [NOTICE] for chat_id in chats}
    if cards:
        expected[secretary] = cards
    result.problem = texts_problem(emu, expected)
    if statuses.get(DeliveryStatus.sent.value) != members + len(cards):
        result.problem += f" outbox statuses {statuses}"
    if [text for _, text in to_secretary] != cards[: len(to_secretary)]:
        result.note = "the cards out of order"


def print_busy_chat(results: list[BusyChat], members: int, cards: int) -> None:
    header = (
        f"{'database':<11} {'outbox':<28} {'first s':>7} {'last s':>7} {'cards until s':>13} "
        f"{'cards in bc':>11} {'card gap s':>10} {'429s':>5} {'max 1 s':>7}  copies"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        if r.error:
            print(f"{r.backend:<11} {r.label:<28} failed: {r.error}")
            continue
        if r.cards:
            card_cells = f"{r.cards_last:>13.2f} {r.cards_during:>11} {r.card_gap:>10.2f}"
        else:
            card_cells = f"{'-':>13} {'-':>11} {'-':>10}"
        verdict = (r.problem or "exactly one each") + (f", {r.note}" if r.note else "")
        print(
            f"{r.backend:<11} {r.label:<28} {r.first:>7.2f} {r.last:>7.2f} {card_cells} "
            f"{r.count_429:>5} {r.max_1s:>7}  {verdict}"
        )
    pace = next((r.pace for r in results if r.pace), 0.0)
    interval = next((r.interval for r in results if r.interval), 0.0)
    ideal = f"{members / pace:.1f} s" if pace else "?"
    print(
        "seconds from the start of Sender.run to the first and the last accepted broadcast "
        "message, and to the secretary's last card; cards in bc: cards accepted before the "
        "broadcast's last message; card gap: the longest wait between two cards. Ideal: the "
        f"broadcast in {members} / {pace:g} msg/s = {ideal}, beside the cards at a private "
        f"chat's pace (one per {interval:g} s: the last at {(cards - 1) * interval:.1f} s). "
        "Baseline: the same broadcast alone"
    )


# -- 5. replies during a broadcast ----------------------------------------------------------------
@dataclass
class Replies:
    backend: str
    label: str
    asking: int = 0
    pace: float = 0.0  # the configured messages a second
    latencies: list[float] = field(default_factory=list)  # /help sent to its reply accepted
    count_429: int = 0
    replies_429: int = 0  # of those 429s, how many answered a reply (the others: the outbox)
    broadcast: str = ""  # where the broadcast stood, in the row during it
    problem: str = ""
    error: str = ""


async def ask_help(emu: Emulator, asking: list[Person], deadline: float) -> list[float]:
    """Everyone in `asking` sends /help at once. Seconds from the sends to each reply that came
    (the emulator accepting it) by `deadline`."""
    sent = time.monotonic()
    await asyncio.gather(*(person.send("/help") for person in asking))
    ids = {person.id for person in asking}

    def replies() -> dict[int, float]:
        first: dict[int, float] = {}
        for at, chat_id, text in timed_sends(emu):
            if chat_id in ids and at >= sent and text != NOTICE:
                first.setdefault(chat_id, at - sent)
        return first

    while len(found := replies()) < len(asking) and time.monotonic() < deadline:
        await emu.changed.wait(0.5)
    return list(found.values())


async def replies_during_broadcast(alone: Replies, during: Replies, members: int) -> None:
    asking = during.asking
    async with throwaway_database(alone.backend) as url, Emulator() as emu:
        emu.faults.enforce_flood_limits = True
        warm = emu.user("Warm-up")
        asking_alone = [emu.user(f"Asker{i}") for i in range(asking)]
        people = [emu.user(f"Member{i}") for i in range(members)]
        asking_during = people[:: members // asking][:asking]
        runtime = BotRuntime(make_config(emu, url))
        assert runtime.scheduler is not None
        alone.pace = during.pace = runtime.limiter.limits.per_second
        await runtime.start()  # migrated, polling the emulator, the scheduler and its sender
        try:
            await warm.send("/help")  # connections, the first sessions, lazy imports: untimed
            help_text = (await warm.next_message(timeout=30)).text or ""
            # Baseline: the same number of /help at once, with nothing else being sent.
            before = len(emu.requests)
            alone.latencies = await ask_help(emu, asking_alone, time.monotonic() + REPLY_WAIT)
            count_429s(alone, emu.requests[before:])
            # The broadcast, then the /help once it goes at full pace.
            sends_before, before = len(emu.stats.sends), len(emu.requests)
            async with runtime.sessions.begin() as session:
                for person in people:
                    await outbox.enqueue(
                        session,
                        person.id,
                        NOTICE,
                        kind="bench",
                        due_at=now_utc(),
                        timezone=ROW_TIMEZONE,
                    )
            enqueued = time.monotonic()
            runtime.scheduler.wake()
            await wait_for_sends(emu, sends_before + min(UNDER_WAY, members // 2))
            asked = time.monotonic()
            deadline = asked + members / CEILING + REPLY_WAIT
            during.latencies = await ask_help(emu, asking_during, deadline)
            await wait_for_sends(emu, sends_before + members + len(during.latencies))
            await asyncio.sleep(SETTLE)  # a doubled message would come now
            count_429s(during, emu.requests[before:])
        finally:
            await runtime.stop()
    notices = [at - enqueued for at, _, text in timed_sends(emu) if text == NOTICE]
    ideal = (members + asking) / during.pace
    during.broadcast = (
        f"{len(notices)} sent {notices[0]:.1f}-{notices[-1]:.1f} s (ideal {ideal:.1f}), /help "
        f"at {asked - enqueued:.1f} s"
    )
    expected = {person.id: [NOTICE] for person in people}
    for person in [warm, *asking_alone, *asking_during]:
        expected.setdefault(person.id, []).append(help_text)
    problem = texts_problem(emu, expected)
    alone.problem = during.problem = problem


def count_429s(result: Replies, requests: list[RequestRecord]) -> None:
    refused = [r for r in requests if r.status == 429]
    result.count_429 = len(refused)
    result.replies_429 = sum(1 for r in refused if r.params.get("text") != NOTICE)


def print_replies(results: list[Replies], members: int, asking: int) -> None:
    header = (
        f"{'database':<11} {'/help sent':<22} {'replies':>7} {'429s (replies)':>14} {'p50 s':>6} "
        f"{'max s':>6}  copies; the broadcast"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        if r.error:
            print(f"{r.backend:<11} {r.label:<22} failed: {r.error}")
            continue
        values = r.latencies
        verdict = r.problem or "exactly one each"
        print(
            f"{r.backend:<11} {r.label:<22} {f'{len(values)}/{r.asking}':>7} "
            f"{f'{r.count_429} ({r.replies_429})':>14} "
            f"{percentile(values, 50):>6.2f} {max(values, default=0.0):>6.2f}  "
            f"{verdict}{f'; {r.broadcast}' if r.broadcast else ''}"
        )
    pace = next((r.pace for r in results if r.pace), 0.0) or float("nan")
    print(
        f"the real bot polling the emulator; {asking} people send /help at once, once with "
        f"nothing else being sent (baseline), once {UNDER_WAY} messages into a broadcast to "
        f"{members}. Seconds from the sends to each reply being accepted. Replies take the "
        f"budget ahead of the outbox: {asking} of them need {asking / pace:.2f} s of it at "
        f"{pace:g} msg/s. The broadcast: seconds from being enqueued; ideal: (members + replies) "
        "/ pace"
    )


# -- main ---------------------------------------------------------------------------------------
def print_versions() -> None:
    print(
        f"Python {platform.python_version()}, python-telegram-bot {telegram.__version__}, "
        f"SQLAlchemy {sqlalchemy.__version__}, {platform.system()} {platform.machine()}, "
        f"{os.cpu_count()} CPU(s)"
    )


async def main(args: argparse.Namespace) -> int:
    # The sender and the rate limiter warn on every 429; the emulator counts them instead.
    logging.getLogger("scheduler.sender").setLevel(logging.ERROR)
    logging.getLogger("scheduler.ratelimit").setLevel(logging.ERROR)
    print(
        f"bench_delivery: {args.recipients} recipients, {args.scheduled} scheduled over "
        f"{args.spread:g} s, {args.pending} pending, {args.cards} cards beside a broadcast to "
        f"{args.members}, {args.asking} asking during one{' (--quick)' if args.quick else ''}"
    )
    print_versions()
    if not os.environ.get(POSTGRES_ENV):
        print(f"(PostgreSQL rows skipped: {POSTGRES_ENV} is not set)")
    failed = False
    began = time.monotonic()
    parts = (part_throughput, part_latency, part_startup, part_busy_chat, part_replies)
    for number, part in enumerate(parts, start=1):
        if number in args.part:
            part_began = time.monotonic()
            failed |= await part(args)
            print(f"(part {number}: {time.monotonic() - part_began:.0f} s)")
    print(f"\nall parts: {time.monotonic() - began:.0f} s{'; FAILED' if failed else ''}")
    return 1 if failed else 0


async def part_throughput(args: argparse.Namespace) -> bool:
    print(f"\n1. Throughput under the flood limits ({args.recipients} recipients, one each)")
    rates: list[Throughput] = []
    profiler = cProfile.Profile() if args.profile else None
    for backend in backends():
        rates.append(Throughput(backend))
        if profiler and backend == "SQLite":
            profiler.enable()
        try:
            await throughput(rates[-1], args.recipients)
        except Exception as exc:  # report the row as failed, keep the others
            rates[-1].error = f"{type(exc).__name__}: {exc}"
        if profiler and backend == "SQLite":
            profiler.disable()
            rates[-1].backend += " (cProfile)"
    print_throughput(rates)
    if profiler:
        print("\nSQLite throughput under cProfile: top functions by own time")
        pstats.Stats(profiler, stream=sys.stdout).sort_stats("tottime").print_stats(25)
    return any(bool(r.error or r.problem) for r in rates)


async def part_latency(args: argparse.Namespace) -> bool:
    print(f"\n2. Due-to-sent latency ({args.scheduled} messages due over {args.spread:g} s)")
    delays: list[Latency] = []
    for backend in backends():
        delays.append(Latency(backend))
        try:
            await latency(delays[-1], args.scheduled, args.spread)
        except Exception as exc:
            delays[-1].error = f"{type(exc).__name__}: {exc}"
    print_latency(delays)
    return any(bool(r.error or r.problem) for r in delays)


async def part_startup(args: argparse.Namespace) -> bool:
    print(f"\n3. Start-up and memory with {args.pending} pending deliveries")
    starts: list[Startup] = []
    for backend in backends():
        for label, rows in (
            (f"{FIRST_SENDS} rows (baseline)", FIRST_SENDS),
            (f"{args.pending} pending", args.pending),
        ):
            starts.append(Startup(backend, label))
            try:
                await startup(starts[-1], rows)
            except Exception as exc:
                starts[-1].error = f"{type(exc).__name__}: {exc}"
    print_startup(starts)
    return any(bool(r.error) for r in starts)


async def part_busy_chat(args: argparse.Namespace) -> bool:
    print(
        f"\n4. A busy chat beside a broadcast ({args.cards} report cards to one secretary, "
        f"then a broadcast to {args.members})"
    )
    rows: list[BusyChat] = []
    for backend in backends():
        for label, cards in (
            ("broadcast alone (baseline)", 0),
            (f"{args.cards} cards + broadcast", args.cards),
        ):
            rows.append(BusyChat(backend, label, cards))
            try:
                await busy_chat(rows[-1], args.members)
            except Exception as exc:
                rows[-1].error = f"{type(exc).__name__}: {exc}"
    print_busy_chat(rows, args.members, args.cards)
    return any(bool(r.error or r.problem) for r in rows)


async def part_replies(args: argparse.Namespace) -> bool:
    print(
        f"\n5. Replies during a broadcast ({args.asking} people send /help, a broadcast to "
        f"{args.members} under way)"
    )
    rows: list[Replies] = []
    for backend in backends():
        alone = Replies(backend, "alone (baseline)", asking=args.asking)
        during = Replies(backend, "during the broadcast", asking=args.asking)
        rows += [alone, during]
        try:
            await replies_during_broadcast(alone, during, args.members)
        except Exception as exc:
            alone.error = during.error = f"{type(exc).__name__}: {exc}"
    print_replies(rows, args.members, args.asking)
    return any(bool(r.error or r.problem or len(r.latencies) < r.asking) for r in rows)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--recipients", type=int, help="part 1 (default 10000; ~6 min)")
    parser.add_argument("--scheduled", type=int, help="part 2 messages (default 600)")
    parser.add_argument("--spread", type=float, help="part 2: due over this many s (default 60)")
    parser.add_argument("--pending", type=int, help="part 3 backlog (default 100000)")
    parser.add_argument("--cards", type=int, help="part 4: the secretary's cards (default 25)")
    parser.add_argument("--members", type=int, help="parts 4 and 5: broadcast to (default 300)")
    parser.add_argument("--asking", type=int, help="part 5: people sending /help (default 20)")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="150 recipients, 40 over 4 s, 5000 pending, 6 cards, 120 members, 10 asking",
    )
    parser.add_argument(
        "--part",
        type=int,
        choices=(1, 2, 3, 4, 5),
        action="append",
        help="only this part (repeatable)",
    )
    parser.add_argument("--profile", action="store_true", help="cProfile part 1 on SQLite")
    parser.add_argument("--child", metavar="URL", help=argparse.SUPPRESS)
    args = parser.parse_args()
    defaults = (
        (150, 40, 4.0, 5_000, 6, 120, 10)
        if args.quick
        else (10_000, 600, 60.0, 100_000, 25, 300, 20)
    )
    names = ("recipients", "scheduled", "spread", "pending", "cards", "members", "asking")
    for name, default in zip(names, defaults, strict=True):
        if getattr(args, name) is None:
            setattr(args, name, default)
    args.part = args.part or [1, 2, 3, 4, 5]
    if min(args.recipients, args.scheduled, args.cards, args.members, args.asking) < 1:
        parser.error("--recipients, --scheduled, --cards, --members, --asking must be at least 1")
    if args.spread < 0:
        parser.error("--spread must not be negative")
    if args.asking > args.members:
        parser.error("--asking must not be more than --members (they are among them)")
    if args.pending < FIRST_SENDS:
        parser.error(f"--pending must be at least {FIRST_SENDS}")
    return args


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    arguments = parse_args()
    if arguments.child:
        print(json.dumps(asyncio.run(child_main(arguments.child, FIRST_SENDS))))
        sys.exit(0)
    sys.exit(asyncio.run(main(arguments)))
