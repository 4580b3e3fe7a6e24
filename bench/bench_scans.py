"""Each part of the scheduler's scan at the size of a district and of a city: seconds and
SQL statements, when everything is due at once, a minute later (the steady state, what
runs every minute), and when one street-wide event enters the announcement window.

    python bench/bench_scans.py [--members 10000,100000] [--rows R] [--postgres URL]
                                [--timeout S] [--databases sqlite,postgresql]

For each size, on a fresh SQLite database (and a throwaway PostgreSQL one with
--postgres, or BRANCHBOT_TEST_POSTGRES_URL), built by the migrations and filled, untimed,
by bench_stats' city (200 branches, 2,000 activities over 2025, R participation rows,
default 1,000,000), and on top of it what falls due on 2026-01-15 12:00 UTC:
- a secretary for every branch and every street committee;
- 200 monthly theme-day series (one a branch), whose next three months are generated;
- 100 activities in the next 13 days, created 3 days ago: organisational life at the
  branches (8 in 10), a theme day at a street committee for every unit below (1 in 10),
  volunteer service with 20 signed up (1 in 10);
- 20 ended an hour ago with their record still open, every member expected;
- 10 notices scheduled a minute ago, to a branch each.

Rows printed, per database and size, for each part of `scheduler.jobs.scan`:
- `due`: the first scan, which finds everything above due at once (its cost follows what
  it enqueues: the `rows` column, deliveries written);
- `steady`: the scan a minute later, when nothing new is due: what every minute costs;
- `new event`: announcements after a theme day for a whole street is created (its
  audience, a tenth of the members, hears of it).
The baseline is the same scan at the other size: `stmts ×` is the statements at this size
over those at the first size; the goal is that it stays 1 for `steady` (the count does not
grow with the members), and each scan under 2 s at 10,000 members, 10 s at 100,000.
A part that takes longer than --timeout (default 120 s) is stopped and printed as such.
Figures only: no pass/fail on timings.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, literal, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_stats import ADMIN, BRANCHES, NOW, STREETS, Statements, database, generate

from models import migrate
from models.activities import Activity, ActivityKind, Participation
from models.activities.tables import ActivitySeries, RecurrenceRule
from models.db import create_engine, create_session_factory
from models.members import Membership
from models.notices.tables import Notice
from models.org import OrgUnit
from models.outbox import Delivery
from models.permissions import Role, grant_role
from scheduler import jobs
from scheduler.clock import ManualClock
from scheduler.service import JobContext, SchedulerSettings
from views.i18n import Defaults

SECRETARIES = 50_000_000  # Telegram ids of the branches' secretaries, then the streets'
PARTS = (
    jobs.generate_series,
    jobs.enqueue_announcements,
    jobs.enqueue_reminders,
    jobs.enqueue_nudges,
    jobs.close_records,
    jobs.warn_quorums,
    jobs.send_scheduled_notices,
    jobs.follow_up_notices,
    jobs.enqueue_digests,
)


class NoSender:
    """The scan wakes the sender; here nothing is sent."""

    def wake(self) -> None:
        pass


@dataclass
class Row:
    backend: str
    members: int
    phase: str
    part: str
    seconds: float | None  # None: stopped at the timeout
    statements: int
    rows: int


async def add_due_now(session: AsyncSession) -> None:
    """What falls due at NOW, on top of bench_stats' city."""
    ids = {
        code: unit_id for code, unit_id in await session.execute(select(OrgUnit.code, OrgUnit.id))
    }
    first_branch = ids["b0"]
    streets = [ids[f"s{s}"] for s in range(STREETS)]
    for b in range(BRANCHES):
        await grant_role(session, SECRETARIES + b, Role.secretary, first_branch + b, None)
    for s, street in enumerate(streets):
        await grant_role(session, SECRETARIES + BRANCHES + s, Role.secretary, street, None)

    created = NOW - timedelta(days=3)
    await session.execute(
        insert(ActivitySeries),
        [
            {
                "org_unit_id": first_branch + b,
                "kind": ActivityKind.theme_day,
                "title": f"主题党日 {b}",
                "rule": RecurrenceRule.monthly_day,
                "rule_day": 15 + b % 10,
                "local_time": clock_time(9),
                "duration_minutes": 120,
                "timezone": "Asia/Shanghai",
                "starts_on": date(2026, 1, 1),
                "created_by": ADMIN,
                "created_at": created,
            }
            for b in range(BRANCHES)
        ],
    )
    life = [ActivityKind.general_meeting, ActivityKind.lecture, ActivityKind.group_meeting]
    values = []
    for j in range(100):
        street = j % 10 == 9
        kind = ActivityKind.volunteer if j % 10 == 8 else life[j % 3]
        starts = NOW + timedelta(minutes=30) + timedelta(hours=j * 3)
        values.append(
            _activity(
                streets[j % STREETS] if street else first_branch + j % BRANCHES,
                ActivityKind.theme_day if street else kind,
                starts,
                created,
                street=street,
                code=f"now{j}",
            )
        )
    for j in range(20):
        ended = NOW - timedelta(hours=3)
        values.append(
            _activity(first_branch + (j * 7) % BRANCHES, life[j % 3], ended, created, code=f"e{j}")
        )
    await session.execute(insert(Activity), values)
    volunteer = select(Activity.id, Activity.org_unit_id).where(
        Activity.kind == ActivityKind.volunteer, Activity.starts_at > NOW
    )
    for activity_id, unit_id in (await session.execute(volunteer)).all():
        signed = select(
            literal(activity_id), Membership.member_id, literal("signed_up"), literal(created)
        ).where(Membership.org_unit_id == unit_id, Membership.status == "active")
        await session.execute(
            insert(Participation).from_select(
                ["activity_id", "member_id", "status", "created_at"], signed.limit(20)
            )
        )
    await session.execute(
        insert(Notice),
        [
            {
                "org_unit_id": first_branch + 3 * k,
                "author_id": SECRETARIES + 3 * k,
                "body_html": "本周六上午九点开展志愿服务",
                "audience": "unit",
                "ack_required": True,
                "send_at": NOW - timedelta(minutes=1),
                "created_at": created,
            }
            for k in range(10)
        ],
    )


def _activity(
    unit_id: int,
    kind: ActivityKind,
    starts: datetime,
    created: datetime,
    code: str,
    street: bool = False,
) -> dict[str, Any]:
    return {
        "org_unit_id": unit_id,
        "include_subunits": street,
        "kind": kind,
        "title": f"{kind} {code}",
        "starts_at": starts,
        "ends_at": starts + timedelta(hours=2),
        "capacity": 30 if kind is ActivityKind.volunteer else None,
        "created_by": ADMIN,
        "created_at": created,
        "share_code": code,
        "check_in_code": "1234",
    }


async def deliveries(engine: AsyncEngine) -> int:
    async with engine.connect() as connection:
        return await connection.scalar(select(func.count()).select_from(Delivery)) or 0


async def run_part(
    engine: AsyncEngine,
    counter: Statements,
    part: Callable[[JobContext], Awaitable[None]],
    context: JobContext,
    limit: float,
) -> tuple[float | None, int, int]:
    before = await deliveries(engine)
    counter.count = 0
    began = time.perf_counter()
    try:
        await asyncio.wait_for(part(context), limit)
        seconds: float | None = time.perf_counter() - began
    except TimeoutError:
        seconds = None
    statements = counter.count
    return seconds, statements, await deliveries(engine) - before


async def bench(backend: str, url: str, members: int, args: argparse.Namespace) -> list[Row]:
    engine = create_engine(url)
    try:
        await migrate.upgrade(engine)
        sessions = create_session_factory(engine)
        began = time.perf_counter()
        async with sessions.begin() as session:
            await generate(session, members, args.rows, 2000)
            await add_due_now(session)
        print(
            f"{backend}, {members:,} members: generated in {time.perf_counter() - began:.0f} s",
            file=sys.stderr,
        )
        if backend == "PostgreSQL":
            async with engine.connect() as connection:
                await connection.exec_driver_sql("ANALYZE")
                await connection.commit()
        clock = ManualClock(NOW)
        settings = SchedulerSettings(defaults=Defaults(), digest_hour=8)
        context = JobContext(None, sessions, clock, settings, NoSender())  # type: ignore[arg-type]
        counter = Statements(engine)
        rows: list[Row] = []

        async def phase(name: str, parts: tuple[Callable[[JobContext], Awaitable[None]], ...]):
            for part in parts:
                seconds, statements, written = await run_part(
                    engine, counter, part, context, args.timeout
                )
                row = Row(backend, members, name, part.__name__, seconds, statements, written)
                rows.append(row)
                shown = "timeout" if seconds is None else f"{seconds:.2f} s"
                print(f"  {name} {part.__name__}: {shown}", file=sys.stderr)

        await phase("due", PARTS)
        clock.advance(timedelta(minutes=1))
        await phase("steady", PARTS)
        async with sessions.begin() as session:
            street = await session.scalar(
                select(Activity.org_unit_id).where(Activity.include_subunits.is_(True)).limit(1)
            )
            assert street is not None
            now = clock.now()
            session.add(
                Activity(
                    **_activity(
                        street,
                        ActivityKind.theme_day,
                        now + timedelta(days=3),
                        now,
                        code="street-new",
                        street=True,
                    )
                )
            )
        await phase("new event", (jobs.enqueue_announcements,))
        return rows
    finally:
        await engine.dispose()


def print_table(rows: list[Row]) -> None:
    first: dict[tuple[str, str, str], Row] = {}
    for row in rows:
        first.setdefault((row.backend, row.phase, row.part), row)
    print(
        f"{'database':<10} {'members':>8} {'phase':<9} {'part':<24} {'seconds':>8} "
        f"{'stmts':>7} {'stmts ×':>7} {'rows':>7}"
    )
    for row in rows:
        base = first[(row.backend, row.phase, row.part)]
        ratio = row.statements / base.statements if base.statements else float("nan")
        seconds = "timeout" if row.seconds is None else f"{row.seconds:.2f}"
        print(
            f"{row.backend:<10} {row.members:>8,} {row.phase:<9} {row.part:<24} {seconds:>8} "
            f"{row.statements:>7,} {ratio:>7.2f} {row.rows:>7,}"
        )
    print(
        "baseline: the same part at the first size (stmts ×). Goal: steady stmts × = 1; "
        "each part < 2 s at 10,000 members, < 10 s at 100,000."
    )


async def main(args: argparse.Namespace) -> int:
    sizes = [int(size) for size in args.members.split(",")]
    wanted = args.databases.split(",")
    backends = [b for b in ("SQLite", "PostgreSQL") if b.lower() in wanted]
    if not args.postgres:
        backends = [b for b in backends if b != "PostgreSQL"]
    rows: list[Row] = []
    for backend in backends:
        for members in sizes:
            async with database(backend, args.postgres) as url:
                rows += await bench(backend, url, members, args)
    print_table(rows)
    return 0


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", default="10000,100000")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--timeout", type=float, default=120.0)
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--postgres", default=os.environ.get("BRANCHBOT_TEST_POSTGRES_URL"))
    return parser.parse_args()


if __name__ == "__main__":
    sys.exit(asyncio.run(main(parse_args())))
