"""/stats at the size of a city: a branch's figures and a committee's, against the same
queries without the indexes of migration 0012.

    python bench/bench_stats.py [--members N] [--rows R] [--rounds K] [--postgres URL]

A city, built by the project's migrations on a fresh SQLite database in a temp directory
(and on a throwaway PostgreSQL database with --postgres, an account allowed to create
databases; or BRANCHBOT_TEST_POSTGRES_URL), filled with set-based SQL (INSERT ... SELECT
over a recursive CTE), not timed:
- 1 top committee, 10 street committees, a community under each, 200 branches (20 a
  street), a group in every fourth branch;
- N members (default 100,000), each managed by one branch (every tenth floating, every
  seventh also 双报到 to the street's community), plus reports pending, rejected and left;
- 2,000 activities over 2025, at the branches and the street committees: 8 in 10
  organisational life, 1 volunteer service (every other one with check-out), 1 tree
  planting with saplings pledged; every record closed;
- R participation rows (default 1,000,000), spread over the activities from their
  branch's members: 70% present, 10% excused, 5% made up, 15% absent;
- 2 notices a branch, to its members, two in three acknowledged.
On PostgreSQL the tables are then ANALYZEd, as autovacuum would have.

Timed (the median of K rounds, default 3, after one untimed; each in a fresh session):
- `unit_stats` of a branch for 2025, and of a street committee;
- `committee_stats` of the top committee for 2025 (its 10 streets side by side);
- /export's roster of a street committee (about 10,000 members): the query, the units'
  names and the Excel file, as the handler makes them.
`total ms` is the call; `db ms` the part spent in the driver's execute and fetch
(SQLAlchemy cursor events). The baseline rows are the same calls after DROP INDEX of the
indexes migration 0012 adds (re-created afterwards). Targets: a branch under 200 ms, a
committee under 1 s. Figures only: no pass/fail on timings.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    Integer,
    String,
    case,
    cast,
    event,
    func,
    insert,
    literal,
    select,
    text,
    update,
)
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from models import Base, migrate
from models.activities import Activity, ActivityKind, Participation
from models.base import UTCDateTime
from models.db import create_engine, create_session_factory
from models.exports import export_scope, roster_rows, units_by_id
from models.members import Member, Membership
from models.notices.tables import Notice, NoticeRecipient
from models.org import OrgUnit, import_org
from models.permissions import Role, grant_role
from models.stats.figures import UnitStats
from models.stats.period import Period
from models.stats.queries import committee_stats, unit_stats
from tests.postgres import throwaway_database as throwaway_postgres
from views.exports import roster_table, table_file

ADMIN = 1
STREETS, BRANCHES = 10, 200
ZONE = ZoneInfo("Asia/Shanghai")
YEAR = Period(date(2025, 1, 1), date(2025, 12, 31))
NOW = datetime(2026, 1, 15, 12, tzinfo=UTC)
JOINED = datetime(2024, 6, 1, tzinfo=UTC)
LIFE = [
    ActivityKind.general_meeting,
    ActivityKind.committee_meeting,
    ActivityKind.group_meeting,
    ActivityKind.lecture,
    ActivityKind.theme_day,
]
# The indexes of migration 0012: dropped for the baseline, then made again.
STATS_INDEXES = (
    "ix_activities_unit_starts",
    "ix_participations_activity_outcome",
    "ix_memberships_unit_kind_status",
    "ix_notices_unit_sent",
    "ix_notice_recipients_notice_ack",
)


@contextlib.asynccontextmanager
async def database(backend: str, admin_url: str | None) -> AsyncIterator[str]:
    if backend == "SQLite":
        with tempfile.TemporaryDirectory(prefix="branchbot-bench-") as tmp:
            yield f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        return
    assert admin_url is not None
    async with throwaway_postgres(admin_url, "branchbot_bench") as url:
        yield url


def numbers(count: int, name: str = "n") -> Any:
    """A recursive CTE of the integers 1..count, column `i`."""
    start = select(literal(1, Integer).label("i")).cte(name, recursive=True)
    return start.union_all(select(start.c.i + 1).where(start.c.i < count))


def moment(value: datetime) -> Any:
    return literal(value, UTCDateTime())


def org_file() -> dict[str, Any]:
    units: list[dict[str, Any]] = [
        {"code": "city", "kind": "committee", "name_zh": "市委", "timezone": "Asia/Shanghai"}
    ]
    for s in range(STREETS):
        units.append(
            {"code": f"s{s}", "kind": "committee", "name_zh": f"街道{s:02d}", "parent": "city"}
        )
    for s in range(STREETS):
        units.append(
            {"code": f"c{s}", "kind": "community", "name_zh": f"社区{s:02d}", "parent": f"s{s}"}
        )
    for b in range(BRANCHES):
        units.append(
            {
                "code": f"b{b}",
                "kind": "branch",
                "name_zh": f"支部{b:03d}",
                "parent": f"s{b % STREETS}",
            }
        )
    for b in range(0, BRANCHES, 4):
        units.append(
            {"code": f"g{b}", "kind": "group", "name_zh": f"小组{b:03d}", "parent": f"b{b}"}
        )
    return {"unit": units}


async def generate(
    session: AsyncSession, members: int, rows: int, activities: int
) -> dict[str, int]:
    await import_org(session, org_file())
    ids = {
        code: unit_id for code, unit_id in await session.execute(select(OrgUnit.code, OrgUnit.id))
    }
    await grant_role(session, ADMIN, Role.admin, None, None)
    first_branch = ids["b0"]
    assert [ids[f"b{b}"] for b in range(BRANCHES)] == list(
        range(first_branch, first_branch + BRANCHES)
    )
    first_community = ids["c0"]
    assert [ids[f"c{s}"] for s in range(STREETS)] == list(
        range(first_community, first_community + STREETS)
    )

    n = numbers(members)
    await session.execute(
        insert(Member).from_select(
            [
                "id",
                "telegram_id",
                "real_name",
                "member_type",
                "consent_at",
                "created_at",
                "updated_at",
            ],
            select(
                n.c.i,
                n.c.i + 100,
                literal("党员") + cast(n.c.i, String),
                case((n.c.i % 10 == 0, "floating"), else_="regular"),
                moment(JOINED),
                moment(JOINED),
                moment(JOINED),
            ),
        )
    )
    # Member i is managed by branch i % BRANCHES; every 50th is still waiting for approval.
    branch_of = first_branch + n.c.i % BRANCHES
    pending = n.c.i % 50 == 1
    await session.execute(
        insert(Membership).from_select(
            ["member_id", "org_unit_id", "kind", "status", "via", "requested_at", "decided_at"],
            select(
                n.c.i,
                branch_of,
                literal("primary"),
                case((pending, "pending"), else_="active"),
                literal("invite"),
                moment(JOINED),
                case((pending, None), else_=moment(JOINED + timedelta(days=1))),
            ),
        )
    )
    reports = n.c.i % 20 == 3  # earlier reports: rejected, or left in 2025
    await session.execute(
        insert(Membership).from_select(
            ["member_id", "org_unit_id", "kind", "status", "via", "requested_at", "decided_at"],
            select(
                n.c.i,
                first_branch + (n.c.i + 1) % BRANCHES,
                literal("primary"),
                case((n.c.i % 40 == 3, "rejected"), else_="left"),
                literal("tree"),
                moment(datetime(2025, 3, 1, tzinfo=UTC)),
                moment(datetime(2025, 3, 2, tzinfo=UTC)),
            ).where(reports),
        )
    )
    await session.execute(
        insert(Membership).from_select(
            ["member_id", "org_unit_id", "kind", "status", "via", "requested_at", "decided_at"],
            select(
                n.c.i,
                first_community + n.c.i % BRANCHES % STREETS,
                literal("community"),
                literal("active"),
                literal("invite"),
                moment(JOINED),
                moment(JOINED),
            ).where(n.c.i % 7 == 0),
        )
    )

    # Activities: 8 in 10 organisational life, then a volunteer service and a tree planting;
    # one in 20 at a street committee. Spread over 2025, two hours each, records closed.
    values = []
    year_start = datetime(2025, 1, 1, 1, tzinfo=UTC)
    for j in range(activities):
        at_street = j % 20 == 19
        unit = ids[f"s{j % STREETS}"] if at_street else first_branch + j % BRANCHES
        slot = j % 10
        kind = (
            LIFE[slot % 5]
            if slot < 8
            else (ActivityKind.volunteer if slot == 8 else ActivityKind.tree_planting)
        )
        starts = year_start + timedelta(hours=(j * 8760 // activities))
        values.append(
            {
                "org_unit_id": unit,
                "include_subunits": at_street,
                "kind": kind,
                "title": f"{kind} {j}",
                "starts_at": starts,
                "ends_at": starts + timedelta(hours=2),
                "pledge_kind": "saplings" if kind is ActivityKind.tree_planting else "none",
                "check_out_required": kind is ActivityKind.volunteer and j % 20 == 8,
                "record_closed_at": starts + timedelta(hours=2, minutes=5),
                "created_by": ADMIN,
                "share_code": f"bench{j}",
                "check_in_code": f"{j % 10000:04d}",
            }
        )
    await session.execute(insert(Activity), values)

    # Participations: each activity's first `per_activity` members of its branch.
    branch_activities = activities - activities // 20
    per_activity = max(1, rows // branch_activities)
    # A member's place in their branch and the activity decide it: every outcome in each.
    outcome = (Membership.member_id // BRANCHES * 7 + Activity.id) % 20
    service = Activity.kind.in_([ActivityKind.volunteer, ActivityKind.tree_planting])
    present = outcome < 14
    status = case(
        (present, "attending"),
        (service & (outcome < 18), "absent"),
        (service, "cancelled"),
        (outcome < 16, "excused"),
        (outcome < 17, "made_up"),
        else_="absent",
    )
    columns = [
        "activity_id",
        "member_id",
        "status",
        "checked_in_at",
        "checked_out_at",
        "pledge_amount",
        "saplings_planted",
        "walk_in",
        "created_at",
        "updated_at",
    ]
    values_of_row = (
        Activity.id,
        Membership.member_id,
        status,
        case((present, Activity.starts_at), else_=None),
        case((present & Activity.check_out_required, Activity.ends_at), else_=None),
        case((Activity.pledge_kind == "saplings", 1 + outcome % 3), else_=None),
        case((present & (Activity.pledge_kind == "saplings"), 1), else_=None),
        literal(False),
        Activity.starts_at,
        Activity.starts_at,
    )
    active = (Membership.kind == "primary", Membership.status == "active")
    await session.execute(
        insert(Participation).from_select(
            columns,
            select(*values_of_row)
            .join(Membership, Membership.org_unit_id == Activity.org_unit_id)
            .where(*active, Membership.member_id // BRANCHES < per_activity),
        )
    )
    # The street committees' activities (for every unit below): the rest of the rows, from
    # the first members of each of the street's branches.
    made = await session.scalar(select(func.count()).select_from(Participation)) or 0
    street_activities = activities - branch_activities
    per_branch = max(0, rows - made) // max(1, street_activities * (BRANCHES // STREETS))
    branch = OrgUnit.__table__.alias("branch")
    await session.execute(
        insert(Participation).from_select(
            columns,
            select(*values_of_row)
            .join(branch, branch.c.parent_id == Activity.org_unit_id)
            .join(Membership, Membership.org_unit_id == branch.c.id)
            .where(*active, Membership.member_id // BRANCHES < per_branch),
        )
    )
    seats = (
        select(func.count())
        .where(
            Participation.activity_id == Activity.id,
            Participation.status.in_(["attending", "absent"]),
        )
        .scalar_subquery()
    )
    await session.execute(update(Activity).where(service).values(seats_taken=seats))

    # Notices: two a branch, to its active members; two in three acknowledged.
    notices = []
    for b in range(BRANCHES):
        for k in range(2):
            sent = datetime(2025, 3 + 6 * k, 1 + b % 28, 2, tzinfo=UTC)
            notices.append(
                {
                    "org_unit_id": first_branch + b,
                    "author_id": ADMIN,
                    "body_html": "通知",
                    "audience": "unit",
                    "ack_required": True,
                    "send_at": sent,
                    "sent_at": sent,
                }
            )
    await session.execute(insert(Notice), notices)
    await session.execute(
        insert(NoticeRecipient).from_select(
            ["notice_id", "member_id", "delivery_key", "acknowledged_at"],
            select(
                Notice.id,
                Membership.member_id,
                literal("n:")
                + cast(Notice.id, String)
                + literal(":")
                + cast(Membership.member_id, String),
                case(((Membership.member_id + Notice.id) % 3 != 0, Notice.sent_at), else_=None),
            )
            .join(Membership, Membership.org_unit_id == Notice.org_unit_id)
            .where(Membership.kind == "primary", Membership.status == "active"),
        )
    )
    return {"branch": first_branch + 7, "street": ids["s3"], "city": ids["city"]}


class Statements:
    """Statements sent to the database (an executemany counts once)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.count = 0
        event.listen(engine.sync_engine, "before_cursor_execute", self._seen)

    def _seen(self, *args: Any) -> None:
        self.count += 1


class DatabaseTime:
    """Seconds spent in the driver: from before each execute to after its rows are fetched
    (aiosqlite and asyncpg fetch inside execute for the ORM's buffered results)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.seconds = 0.0
        self._began: list[float] = []
        event.listen(engine.sync_engine, "before_cursor_execute", self._before)
        event.listen(engine.sync_engine, "after_cursor_execute", self._after)

    def _before(self, *args: Any) -> None:
        self._began.append(time.perf_counter())

    def _after(self, *args: Any) -> None:
        self.seconds += time.perf_counter() - self._began.pop()


async def roster_export(session: AsyncSession, street_id: int) -> tuple[int, int]:
    """/export's roster of a street committee, as the handler makes it: the rows, the
    units' names, the Excel file. (rows, bytes)."""
    scope = await export_scope(session, ADMIN, street_id)
    rows = await roster_rows(session, scope)
    units = await units_by_id(session, [street_id, *(r.unit_id for r in rows)])
    names = {unit_id: unit.name_zh for unit_id, unit in units.items()}
    body = table_file(roster_table(rows, names, "zh", ZONE), as_csv=False)
    return len(rows), len(body)


async def timed(
    engine: AsyncEngine, call: Callable[[AsyncSession], Awaitable[Any]], rounds: int
) -> tuple[float, float, Any]:
    """The median total and database seconds of `rounds` calls, each in a fresh session."""
    sessions = create_session_factory(engine)
    clock = DatabaseTime(engine)
    totals, in_database, result = [], [], None
    for round_ in range(rounds + 1):
        async with sessions() as session, session.begin():
            clock.seconds = 0.0
            began = time.perf_counter()
            result = await call(session)
            if round_:  # the first is untimed: connections, compiled statements
                totals.append(time.perf_counter() - began)
                in_database.append(clock.seconds)
    return statistics.median(totals), statistics.median(in_database), result


async def drop_indexes(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        for name in STATS_INDEXES:
            await connection.execute(text(f"DROP INDEX {name}"))


async def create_indexes(engine: AsyncEngine) -> None:
    indexes = [
        i for t in Base.metadata.tables.values() for i in t.indexes if i.name in STATS_INDEXES
    ]
    assert len(indexes) == len(STATS_INDEXES)
    async with engine.begin() as connection:
        for index in indexes:
            await connection.run_sync(index.create)


async def analyze(engine: AsyncEngine, backend: str) -> None:
    if backend == "PostgreSQL":  # as autovacuum would have; SQLite is left as it runs
        async with engine.connect() as connection:
            await connection.execute(text("ANALYZE"))
            await connection.commit()


def describe_unit(stats: UnitStats) -> str:
    return (
        f"{len(stats.activities)} activities, {len(stats.members):,} members, "
        f"{stats.attendance.counted:,} rows counted"
    )


async def bench(
    backend: str, url: str, args: argparse.Namespace
) -> list[tuple[str, str, float, float, str]]:
    engine = create_engine(url)
    try:
        await migrate.upgrade(engine)
        began = time.perf_counter()
        async with create_session_factory(engine).begin() as session:
            units = await generate(session, args.members, args.rows, args.activities)
        await analyze(engine, backend)
        async with engine.connect() as connection:
            counts = {
                table: await connection.scalar(text(f"SELECT count(*) FROM {table}"))
                for table in (
                    "members",
                    "memberships",
                    "activities",
                    "participations",
                    "notice_recipients",
                )
            }
        print(
            f"{backend}: generated in {time.perf_counter() - began:.1f} s: "
            + ", ".join(f"{count:,} {table}" for table, count in counts.items())
        )

        calls: list[tuple[str, Callable[[AsyncSession], Awaitable[Any]], Callable[[Any], str]]] = [
            (
                "unit_stats, a branch, 2025",
                lambda s: unit_stats(s, ADMIN, units["branch"], YEAR, NOW, ZONE),
                describe_unit,
            ),
            (
                "unit_stats, a street committee, 2025",
                lambda s: unit_stats(s, ADMIN, units["street"], YEAR, NOW, ZONE),
                describe_unit,
            ),
            (
                "committee_stats, the top committee, 2025",
                lambda s: committee_stats(s, ADMIN, units["city"], YEAR, NOW, ZONE),
                lambda r: (
                    f"{len(r.rows)} rows, {r.total.attendance.counted:,} rows counted, "
                    f"{r.total.reporting.members:,} members"
                ),
            ),
            (
                "export: the roster of a street committee (query and file)",
                lambda s: roster_export(s, units["street"]),
                lambda r: f"{r[0]:,} rows, {r[1] // 1024:,} KiB",
            ),
        ]
        results = []
        for label, call, describe in calls:
            total, in_db, result = await timed(engine, call, args.rounds)
            results.append((backend, label, total, in_db, describe(result)))
        await drop_indexes(engine)
        await analyze(engine, backend)
        for label, call, describe in calls:
            total, in_db, result = await timed(engine, call, args.rounds)
            results.append(
                (backend, f"{label} (baseline: no 0012 indexes)", total, in_db, describe(result))
            )
        await create_indexes(engine)
        return results
    finally:
        await engine.dispose()


def print_table(results: list[tuple[str, str, float, float, str]]) -> None:
    width = max(len(label) for _, label, *_ in results)
    print(f"\n{'database':<11} {'what':<{width}} {'total ms':>9} {'db ms':>9}  result")
    for backend, label, total, in_db, described in results:
        print(
            f"{backend:<11} {label:<{width}} {total * 1000:>9.1f} {in_db * 1000:>9.1f}  {described}"
        )


async def main(args: argparse.Namespace) -> int:
    postgres = args.postgres or os.environ.get("BRANCHBOT_TEST_POSTGRES_URL")
    backends = ["SQLite", "PostgreSQL"] if postgres else ["SQLite"]
    print(
        f"bench_stats: {args.members:,} members, {args.activities:,} activities, "
        f"~{args.rows:,} participation rows, median of {args.rounds} rounds"
    )
    if not postgres:
        print("(PostgreSQL skipped: give --postgres URL or set BRANCHBOT_TEST_POSTGRES_URL)")
    results = []
    for backend in backends:
        async with database(backend, postgres) as url:
            results += await bench(backend, url, args)
    print_table(results)
    return 0


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--rows", type=int, default=1_000_000, help="participation rows")
    parser.add_argument("--activities", type=int, default=2_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--postgres", help="an account allowed to create databases")
    return parser.parse_args()


if __name__ == "__main__":
    sys.exit(asyncio.run(main(parse_args())))
