"""The exports of a big branch: 10,000 members, a year of closed meetings, volunteering.

    python bench/bench_exports.py [--members 10000] [--meetings 24]

Rows written directly (not timed). Timed: each export's query (models.exports) and the
file built from its rows (views.exports, Excel), as /export does them, against the same file
written by openpyxl (the baseline, in the same run). SQLite in a temp
directory; PostgreSQL too when BRANCHBOT_TEST_POSTGRES_URL is set (a throwaway database).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import os
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from datetime import date, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import openpyxl
from sqlalchemy import insert, select, text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from models import migrate
from models.activities import Activity, ActivityKind, Participation, ParticipationStatus
from models.db import create_engine, create_session_factory
from models.exports import (
    activity_rows,
    attendance_matrix,
    export_scope,
    roster_rows,
    volunteer_rows,
)
from models.members import Member, Membership, MembershipKind, MembershipStatus, Via
from models.org import import_org, unit_by_code
from models.permissions import Role, grant_role
from models.stats.period import Period
from tests.domain.conftest import NOW, example_org
from tests.postgres import throwaway_database
from views.exports import (
    activities_table,
    attendance_table,
    roster_table,
    table_file,
    volunteer_table,
)

SECRETARY = 1
ZONE = ZoneInfo("Asia/Shanghai")
YEAR = Period(date(2025, 3, 1), date(2026, 2, 28))


async def seed(url: str, members: int, meetings: int) -> None:
    engine = create_engine(url)
    sessions = create_session_factory(engine)
    async with sessions.begin() as session:
        await import_org(session, example_org())
        unit = await unit_by_code(session, "wanda-plaza")
        await grant_role(session, SECRETARY, Role.secretary, unit.id, None)
        await session.execute(
            insert(Member),
            [{"telegram_id": 10_000 + i, "real_name": f"党员{i:05d}", "consent_at": NOW,
              "created_at": NOW, "updated_at": NOW} for i in range(members)],
        )  # fmt: skip
        ids = list(await session.scalars(select(Member.id)))
        await session.execute(
            insert(Membership),
            [{"member_id": i, "org_unit_id": unit.id, "kind": MembershipKind.primary,
              "status": MembershipStatus.active, "via": Via.secretary,
              "requested_at": NOW, "decided_at": NOW} for i in ids],
        )  # fmt: skip
        first = NOW - timedelta(days=360)
        for n in range(meetings + 6):
            starts = first + timedelta(days=14 * n)
            service = n >= meetings
            activity = Activity(
                org_unit_id=unit.id,
                kind=ActivityKind.volunteer if service else ActivityKind.theme_day,
                title=f"活动{n}",
                starts_at=starts,
                ends_at=starts + timedelta(hours=2),
                share_code=f"b{n}",
                check_in_code="1234",
                created_by=SECRETARY,
                record_closed_at=starts + timedelta(hours=2),
            )
            session.add(activity)
            await session.flush()
            statuses = [ParticipationStatus.attending, ParticipationStatus.absent,
                        ParticipationStatus.excused]  # fmt: skip
            who = ids[: len(ids) // 2] if service else ids
            await session.execute(
                insert(Participation),
                [{"activity_id": activity.id, "member_id": m, "status": statuses[m % 3],
                  "checked_in_at": starts if m % 3 == 0 else None,
                  "created_at": NOW, "updated_at": NOW} for m in who],
            )  # fmt: skip
    await engine.dispose()


TARGET_SECONDS = 3.0  # issue 14: a 10,000-row export ready in under 3 s


def openpyxl_file(headers: list[str], rows: list[list[object]]) -> bytes:
    """The baseline: the same table written by openpyxl (write-only mode), the library
    the exports used before XlsxWriter."""
    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet("baseline")
    sheet.freeze_panes = "A2"
    sheet.append(headers)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


async def measure(url: str, label: str) -> None:
    engine = create_engine(url)
    sessions = create_session_factory(engine)
    async with sessions() as session:
        await session.execute(text("ANALYZE"))  # as autovacuum would have, after the seed
        unit = await unit_by_code(session, "wanda-plaza")
        scope = await export_scope(session, SECRETARY, unit.id)
        names = {unit.id: unit.name_zh}
        cases = {
            "roster": (lambda: roster_rows(session, scope), roster_table, None),
            "activities": (
                lambda: activity_rows(session, scope, YEAR, ZONE), activities_table, None,
            ),
            "attendance": (lambda: attendance_matrix(session, scope, YEAR, ZONE), attendance_table,
                           lambda m: m.rows),
            "volunteering": (lambda: volunteer_rows(session, scope, YEAR, ZONE), volunteer_table,
                             None),
        }  # fmt: skip
        for name, (query, table_of, listed) in cases.items():
            started = time.perf_counter()
            rows = await query()
            queried = time.perf_counter()
            table = table_of(rows, names, "zh", ZONE)
            body = table_file(table, as_csv=False)
            built = time.perf_counter()
            openpyxl_file(table.headers, table.rows)
            baseline = time.perf_counter() - built
            count = len(listed(rows) if listed else rows)
            total = built - started
            verdict = "ok" if total < TARGET_SECONDS else f"OVER {TARGET_SECONDS} s"
            print(
                f"{label:10} {name:12} {count:6} rows  query {queried - started:6.3f} s"
                f"  file {built - queried:6.3f} s  ({len(body) // 1024} KiB)"
                f"  [openpyxl file {baseline:6.3f} s]  {verdict}"
            )
    await engine.dispose()


@contextlib.asynccontextmanager
async def databases() -> AsyncIterator[list[tuple[str, str]]]:
    with tempfile.TemporaryDirectory() as directory:
        found = [("sqlite", f"sqlite+aiosqlite:///{directory}/bench.db")]
        postgres = os.environ.get("BRANCHBOT_TEST_POSTGRES_URL")
        if postgres:
            async with throwaway_database(postgres, "branchbot_bench") as url:
                yield [*found, ("postgresql", url)]
                return
        yield found


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--members", type=int, default=10_000)
    parser.add_argument("--meetings", type=int, default=24)
    args = parser.parse_args()
    async with databases() as found:
        for label, url in found:
            engine = create_engine(url)
            await migrate.upgrade(engine)
            await engine.dispose()
            await seed(url, args.members, args.meetings)
            await measure(url, label)


if __name__ == "__main__":
    asyncio.run(main())
