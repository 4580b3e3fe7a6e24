"""A notice (通知) to a whole branch: queueing it on Send, then delivering it within Telegram's
limits.

    python bench/bench_notices.py [--members N] [--rounds R]

A unit with N active members (default 1000; half of them read English, so the notice is
rendered in two languages), written directly and not timed (on PostgreSQL, then ANALYZEd, as
autovacuum would have). On a fresh SQLite database built by the migrations, and on a
throwaway PostgreSQL database when BRANCHBOT_TEST_POSTGRES_URL is set:

a. queueing: the database time of the Send press: `create_notice` (the checks, the audience,
   N recipient rows, N notifications recorded) and the notifier (rendering once per language,
   the outbox in one INSERT), committed, as the update's unit of work does it. Against the
   same number of single `outbox.enqueue` calls in one transaction, with a dedup key each
   like the notice's copies (the baseline) and without one, on a fresh database of their own.
   Each is run once untimed and rolled back (connections, compiled statements), then R times
   (default 3) timed and committed, undone between rounds; the median is shown. Statements
   are counted by SQLAlchemy event hooks (an executemany counts once).
b. delivery: the real `Sender` of a `BotRuntime`, through its python-telegram-bot `Bot`, to
   the Bot API emulator with the flood limits enforced (429 above 30 messages a second), in a
   leadership term taken as the scheduler takes it. The rate from the first send to the last,
   against Telegram's ceiling (30/s) and the configured pace; 429s; the most sends in any
   second; and whether every member got exactly one copy (the emulator's messages per chat).

Group posts (paced at 20 a minute per group) are not part of this. Figures only, no
pass/fail on timings; exits 1 when a member got no copy or more than one, or a run failed.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

from sqlalchemy import delete, insert, text
from sqlalchemy.ext.asyncio import AsyncSession

# Run as a script, sys.path[0] is bench/ (for bench_delivery); the repository root must win
# over an editable install made before a package gained its __init__.py.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_delivery import (
    CEILING,
    POSTGRES_ENV,
    backends,
    print_versions,
    real_sender,
    run_sender,
    status_counts,
    throwaway_database,
    times_429,
)
from bench_stats import Statements

from models import migrate, outbox
from models.account import Account
from models.db import create_engine, create_session_factory
from models.members import Member, Membership, MembershipKind, MembershipStatus, Via
from models.notices import (
    Audience,
    AudienceChoice,
    Figures,
    Notice,
    NoticeDraft,
    NoticeRecipient,
    create_notice,
    notice_figures,
    settle_deliveries,
)
from models.notifications import take_pending
from models.org import import_org, unit_by_code
from models.outbox import Delivery, DeliveryStatus
from models.permissions import Role, grant_role
from sandbox import Emulator
from tests.domain.conftest import example_org
from views.notifications import OutboxNotifier

SECRETARY = 1  # the author: not an emulator user, and never a recipient
UNIT = "wanda-plaza"  # its time zone is Asia/Shanghai: the outbox rows carry it
MARK = "BENCH-NOTICE"  # in the body, to tell the notice's copies in the chats
BODY = (
    f"<b>主题党日</b>：本周五 15:00 在党群服务中心开展主题党日活动，请准时参加。{MARK}\n"
    '<a href="https://example.org/agenda">活动安排</a>'
)


@dataclass
class Queueing:
    label: str
    seconds: float = 0.0  # the median round
    statements: int = 0
    parts: dict[str, float] = field(default_factory=dict)  # the Send press: where time went
    fastest: float = 0.0
    slowest: float = 0.0


@dataclass
class Run:
    backend: str
    members: int
    rows: list[Queueing] = field(default_factory=list)
    pace: float = 0.0
    sent: int = 0
    first_send: float = 0.0  # from the commit of the Send press
    last_send: float = 0.0
    rate: float = 0.0  # first send to last
    count_429: int = 0
    max_1s: int = 0
    gaps: int = 0  # between accepted sends, longer than two slots (1 / pace)
    gaps_lost: float = 0.0  # seconds lost in them
    gaps_after_429: int = 0  # of them, with a 429 in them (the pause the sender takes)
    largest_gap: float = 0.0
    statuses: dict[str, int] = field(default_factory=dict)
    figures: Figures | None = None
    problem: str = ""
    error: str = ""


# -- the unit and its members ---------------------------------------------------------------------
async def populate(session: AsyncSession, chat_ids: list[int], now: datetime) -> int:
    """The example tree, the secretary, and a member with an active membership of the unit
    for each chat (every other one reading English). The unit's id."""
    await import_org(session, example_org())
    unit_id = (await unit_by_code(session, UNIT)).id
    await grant_role(session, SECRETARY, Role.secretary, unit_id, None)
    people = [
        Member(
            telegram_id=chat_id,
            real_name=f"党员{i}",
            consent_at=now,
            created_at=now,
            updated_at=now,
        )
        for i, chat_id in enumerate(chat_ids)
    ]
    session.add_all(people)
    await session.flush()
    joined = now - timedelta(days=30)
    await session.execute(
        insert(Membership),
        [
            {
                "member_id": person.id,
                "org_unit_id": unit_id,
                "kind": MembershipKind.primary,
                "status": MembershipStatus.active,
                "via": Via.secretary,
                "requested_at": joined,
                "decided_at": joined,
                "decided_by": SECRETARY,
            }
            for person in people
        ],
    )
    await session.execute(
        insert(Account),
        [
            {"id": chat_id, "language": "en" if i % 2 else "zh", "created_at": now}
            for i, chat_id in enumerate(chat_ids)
        ],
    )
    return unit_id


# -- a. queueing ---------------------------------------------------------------------------------
Work = Callable[[AsyncSession, dict[str, float]], Awaitable[None]]


async def time_rounds(
    sessions: Any,
    statements: Statements,
    work: Work,
    rounds: int,
    undo: Callable[[AsyncSession], Awaitable[None]],
) -> Queueing:
    """`work(session, parts)` once untimed and rolled back (connections, compiled statements),
    then `rounds` times timed, each committed, and undone (untimed) before the next; the last
    stays. The median round, and the range."""
    async with sessions() as session:
        await work(session, {})
        await session.rollback()
    taken: list[tuple[float, int, dict[str, float]]] = []
    for round_ in range(rounds):
        if round_:
            async with sessions.begin() as session:
                await undo(session)
        parts: dict[str, float] = {}
        before, began = statements.count, time.perf_counter()
        async with sessions() as session:
            async with session.begin():
                await work(session, parts)
                committing = time.perf_counter()
            parts["commit"] = time.perf_counter() - committing
        taken.append((time.perf_counter() - began, statements.count - before, parts))
    ordered = sorted(taken, key=lambda t: t[0])
    seconds, count, parts = ordered[len(ordered) // 2]
    return Queueing("", seconds, count, parts, ordered[0][0], ordered[-1][0])


async def forget_outbox(session: AsyncSession) -> None:
    await session.execute(delete(Delivery))


async def forget_notices(session: AsyncSession) -> None:
    await session.execute(delete(Delivery))
    await session.execute(delete(NoticeRecipient))
    await session.execute(delete(Notice))


async def baseline(backend: str, chat_ids: list[int], rounds: int) -> list[Queueing]:
    """len(chat_ids) single `outbox.enqueue` calls in one transaction, with and without dedup
    keys, on a fresh database of their own."""
    rows = []
    async with throwaway_database(backend) as url:
        engine = create_engine(url)
        try:
            await migrate.upgrade(engine)
            sessions = create_session_factory(engine)
            statements = Statements(engine)
            for keyed in (True, False):

                async def enqueue_each(
                    session: AsyncSession, parts: dict[str, float], keyed: bool = keyed
                ) -> None:
                    due = datetime.now(UTC)
                    for i, chat_id in enumerate(chat_ids):
                        await outbox.enqueue(
                            session,
                            chat_id,
                            f"📢 通知 · {i}: {BODY}",
                            kind="notice",
                            due_at=due,
                            timezone="Asia/Shanghai",
                            dedup_key=f"bench:{i}" if keyed else None,
                        )

                row = await time_rounds(sessions, statements, enqueue_each, rounds, forget_outbox)
                async with sessions.begin() as session:
                    await forget_outbox(session)
                how = "a dedup key each (baseline)" if keyed else "no dedup key"
                row.label = f"outbox.enqueue x {len(chat_ids)}, {how}"
                rows.append(row)
        finally:
            await engine.dispose()
    return rows


async def bench(run: Run, rounds: int) -> None:
    async with throwaway_database(run.backend) as url, Emulator() as emu:
        emu.faults.enforce_flood_limits = True
        chats = [emu.user(f"Member{i}").chat.id for i in range(run.members)]
        run.rows = await baseline(run.backend, chats, rounds)
        async with real_sender(emu, url) as (runtime, sender, term):
            run.pace = sender.limiter.limits.per_second
            services = runtime.services
            async with runtime.sessions.begin() as session:
                unit_id = await populate(session, chats, services.clock.now())
            if run.backend == "PostgreSQL":
                # Statistics, as autovacuum keeps them in production: without them the
                # planner guesses at the new tables, and the audience's query takes 10x longer.
                async with runtime.engine.connect() as connection:
                    await connection.execute(text("ANALYZE"))
                    await connection.commit()
            statements = Statements(runtime.engine)
            draft = NoticeDraft(unit_id, BODY, AudienceChoice(Audience.unit))
            notices: list[int] = []

            async def press_send(session: AsyncSession, parts: dict[str, float]) -> None:
                """What the Send press does to the database (handlers.notices, handlers.work)."""
                began = time.perf_counter()
                notice = await create_notice(session, SECRETARY, draft, services.clock.now())
                notified = time.perf_counter()
                notifier = OutboxNotifier(services.clock.now, services.defaults)
                await notifier.deliver(session, take_pending(session))
                parts["create_notice"] = notified - began
                parts["notifier"] = time.perf_counter() - notified
                notices.append(notice.id)

            press = await time_rounds(
                runtime.sessions, statements, press_send, rounds, forget_notices
            )
            press.label = f"create_notice + notifier, {run.members} recipients"
            run.rows.append(press)
            pressed = time.monotonic()
            await run_sender(sender, term, emu, run.members)
            run.statuses = await status_counts(runtime)
            async with runtime.sessions.begin() as session:
                await settle_deliveries(session)
                run.figures = await notice_figures(session, notices[-1])
    times = [at for at, _ in emu.stats.sends]
    run.sent = len(times)
    run.first_send, run.last_send = times[0] - pressed, times[-1] - pressed
    if len(times) > 1:
        run.rate = (len(times) - 1) / (times[-1] - times[0])
    run.count_429 = emu.stats.count_429
    run.max_1s = emu.stats.max_rate_overall(1.0)
    slot = 1.0 / run.pace
    refused = times_429(emu)
    for i, gap in enumerate((b - a for a, b in pairwise(times)), start=1):
        if gap > 2 * slot:
            run.gaps += 1
            run.gaps_lost += gap - slot
            run.largest_gap = max(run.largest_gap, gap)
            run.gaps_after_429 += any(times[i - 1] <= t < times[i] for t in refused)
    run.problem = copies_problem(emu, chats)
    if run.statuses.get(DeliveryStatus.sent.value) != run.members:
        run.problem += f" outbox statuses {run.statuses}"
    delivered = Figures(run.members, 0, run.members, 0, 0, 0)
    if run.figures != delivered:
        run.problem += f" figures {run.figures}"


def copies_problem(emu: Emulator, chats: list[int]) -> str:
    """'' when each member's chat has exactly one message from the bot, the notice, and no
    other chat has any."""
    copies = {chat_id: [m for m in emu.messages(chat_id) if m.from_bot] for chat_id in chats}
    lost = sum(1 for got in copies.values() if not got)
    doubled = sum(1 for got in copies.values() if len(got) > 1)
    wrong = sum(1 for got in copies.values() if got and MARK not in (got[0].text or ""))
    strays = len({chat_id for _, chat_id in emu.stats.sends} - set(chats))
    problem = ""
    if lost or doubled or wrong or strays:
        problem = (
            f"{lost} without a copy, {doubled} with more than one, {wrong} not the notice, "
            f"{strays} unexpected chat(s)"
        )
    # One text per language: every other member reads English.
    texts = {got[0].text for got in copies.values() if got}
    if len(texts) != min(2, len(chats)):
        problem += f" {len(texts)} different texts (expected one per language)"
    return problem


# -- printing ----------------------------------------------------------------------------------
def print_queueing(runs: list[Run], rounds: int) -> None:
    print("\na. Queueing: the database time of the Send press, against single enqueues")
    header = (
        f"{'database':<11} {'what runs':<50} {'s':>6} {'range s':>13} {'ms/msg':>7} "
        f"{'stmts':>6} {'vs baseline':>11}"
    )
    print(header)
    print("-" * len(header))
    for run in runs:
        if run.error and not run.rows:
            print(f"{run.backend:<11} failed: {run.error}")
            continue
        base = next((r.seconds for r in run.rows if "baseline" in r.label), 0.0)
        for row in run.rows:
            ratio = f"{row.seconds / base:.2f}" if base else "-"
            spread = f"{row.fastest:.3f}-{row.slowest:.3f}"
            print(
                f"{run.backend:<11} {row.label:<50} {row.seconds:>6.3f} {spread:>13} "
                f"{1000 * row.seconds / run.members:>7.3f} {row.statements:>6} {ratio:>11}"
            )
    for run in runs:
        press = next((r for r in run.rows if "create_notice" in r.parts), None)
        if press is not None:
            where = ", ".join(f"{name} {seconds:.3f} s" for name, seconds in press.parts.items())
            print(f"{run.backend}: the median Send press: {where}")
    print(
        f"s: the median of {rounds} rounds (range: the fastest and the slowest), each from BEGIN "
        "to the end of COMMIT, after one untimed round rolled back; ms/msg: per recipient; "
        "stmts: statements sent to the database (an executemany counts once). create_notice: "
        "the checks, the audience, the recipient rows, the notifications; notifier: the "
        "languages, rendering (once per language), the outbox rows in one INSERT"
    )


def print_delivery(runs: list[Run]) -> None:
    print("\nb. Delivery by the real Sender, flood limits enforced")
    header = (
        f"{'database':<11} {'sent':>6} {'first s':>7} {'last s':>7} {'msg/s':>6} "
        f"{'429s':>5} {'max 1 s':>7}  copies"
    )
    print(header)
    print("-" * len(header))
    for run in runs:
        if run.error:
            print(f"{run.backend:<11} failed: {run.error}")
            continue
        print(
            f"{run.backend:<11} {run.sent:>6} {run.first_send:>7.2f} {run.last_send:>7.2f} "
            f"{run.rate:>6.2f} {run.count_429:>5} {run.max_1s:>7}  "
            f"{run.problem.strip() or 'exactly one each'}"
        )
    for run in runs:
        if not run.error and run.sent:
            print(
                f"{run.backend}: {run.gaps} gap(s) between sends over two slots "
                f"({1000 / run.pace:.1f} ms each), {run.gaps_lost:.2f} s lost, largest "
                f"{1000 * run.largest_gap:.0f} ms; {run.gaps_after_429} with a 429 in it"
            )
    paces = {run.pace for run in runs if run.pace}
    pace = f"{paces.pop():g}" if len(paces) == 1 else "?"
    print(
        f"baseline: Telegram's ceiling {CEILING} msg/s, the configured pace {pace} msg/s. "
        "first s / last s: from the commit of the Send press to the first and the last accepted "
        "send; msg/s: (sent - 1) / (last - first); max 1 s: most sends in any 1-second window; "
        "copies: the emulator's messages from the bot in each member's chat (and the outbox and "
        "the notice's figures say every copy was delivered)"
    )


async def main(args: argparse.Namespace) -> int:
    # The sender and the rate limiter warn on every 429; the emulator counts them instead.
    logging.getLogger("scheduler.sender").setLevel(logging.ERROR)
    logging.getLogger("scheduler.ratelimit").setLevel(logging.ERROR)
    print(
        f"bench_notices: a notice to {args.members} members (half read English), "
        f"{args.rounds} rounds of queueing"
    )
    print_versions()
    print("load average at the start: " + " ".join(f"{x:.2f}" for x in os.getloadavg()))
    if not os.environ.get(POSTGRES_ENV):
        print(f"(PostgreSQL rows skipped: {POSTGRES_ENV} is not set)")
    began = time.monotonic()
    runs = []
    for backend in backends():
        run = Run(backend, args.members)
        runs.append(run)
        try:
            await bench(run, args.rounds)
        except Exception as exc:  # report the row as failed, keep the others
            run.error = f"{type(exc).__name__}: {exc}"
    print_queueing(runs, args.rounds)
    print_delivery(runs)
    failed = any(run.error or run.problem for run in runs)
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"\n{time.monotonic() - began:.0f} s{'; FAILED' if failed else ''}; load average {load}")
    return 1 if failed else 0


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=1000, help="recipients (default 1000)")
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds of a. (default 3)")
    args = parser.parse_args()
    if args.members < 1 or args.rounds < 1:
        parser.error("--members and --rounds must be at least 1")
    return args


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    sys.exit(asyncio.run(main(parse_args())))
