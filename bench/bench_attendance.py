"""The attendance record at the size of a big branch: closing a meeting's record, the live
count of a check-in screen, the quorum.

    python bench/bench_attendance.py [--members 1000,10000]

For each size, a unit with that many active members and a general meeting that half of
them checked in to (rows written directly, not timed). Then, timed, with the statements
counted by SQLAlchemy event hooks:

- baseline: writing one participation row per member in one transaction (the least a
  close that touches everyone could cost);
- close_record: the scheduler closing the meeting's record (the other half become absent,
  each with an entry in the audit trail; the summary and the notes are recorded);
- attendance_count: what a check-in screen's refresh reads, per call (mean of 20);
- quorum_of: the management card's quorum line, per call (mean of 20).

SQLite in a temp directory; PostgreSQL too when BRANCHBOT_TEST_POSTGRES_URL is set (a
throwaway database, dropped afterwards).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_stats import Statements

from models import migrate
from models.activities import (
    ActivityDraft,
    CheckInMethod,
    Participation,
    ParticipationStatus,
    create_activity,
    get_activity,
)
from models.attendance import attendance_count, close_record, quorum_of
from models.db import SessionFactory, create_engine, create_session_factory
from models.members import Member, Membership, MembershipKind, MembershipStatus, Via
from models.org import import_org, unit_by_code
from models.permissions import Role, grant_role
from tests.domain.conftest import NOW, example_org
from tests.postgres import throwaway_database

SECRETARY = 1
START = NOW + timedelta(days=1)
CALLS = 20


async def timed(
    statements: Statements, work: Callable[[], Awaitable[Any]], calls: int = 1
) -> tuple[float, float]:
    """Milliseconds and statements per call."""
    before, started = statements.count, time.perf_counter()
    for _ in range(calls):
        await work()
    elapsed = (time.perf_counter() - started) * 1000 / calls
    return elapsed, (statements.count - before) / calls


async def populate(sessions: SessionFactory, members: int) -> tuple[int, list[int]]:
    """The unit's members and a general meeting; half checked in. The meeting and the ids
    of the members who did not come."""
    async with sessions.begin() as session:
        await import_org(session, example_org())
        unit_id = (await unit_by_code(session, "wanda-plaza")).id
        await grant_role(session, SECRETARY, Role.secretary, unit_id, None)
        people = [
            Member(
                telegram_id=10_000 + i,
                real_name=f"党员{i}",
                consent_at=NOW,
                created_at=NOW,
                updated_at=NOW,
            )
            for i in range(members)
        ]
        session.add_all(people)
        await session.flush()
        session.add_all(
            Membership(
                member_id=person.id,
                org_unit_id=unit_id,
                kind=MembershipKind.primary,
                status=MembershipStatus.active,
                via=Via.secretary,
                requested_at=NOW - timedelta(days=30),
                decided_at=NOW - timedelta(days=30),
                decided_by=SECRETARY,
            )
            for person in people
        )
        meeting = await create_activity(
            session,
            SECRETARY,
            unit_id,
            ActivityDraft(
                kind="general_meeting",
                title="支部党员大会",
                starts_at=START,
                ends_at=START + timedelta(hours=2),
            ),
            NOW,
        )
        session.add_all(
            Participation(
                activity_id=meeting.id,
                member_id=person.id,
                status=ParticipationStatus.attending,
                checked_in_at=START,
                check_in_method=CheckInMethod.qr,
                created_at=START,
                updated_at=START,
            )
            for person in people[::2]
        )
        return meeting.id, [person.id for person in people[1::2]]


async def bench(url: str, members: int) -> list[tuple[str, float, float]]:
    engine = create_engine(url)
    try:
        await migrate.upgrade(engine)
        sessions = create_session_factory(engine)
        meeting_id, absent = await populate(sessions, members)
        statements = Statements(engine)
        rows: list[tuple[str, float, float]] = []

        async def baseline() -> None:
            async with sessions.begin() as session:
                session.add_all(
                    Participation(
                        activity_id=meeting_id,
                        member_id=member_id,
                        status=ParticipationStatus.expected,
                        created_at=START,
                        updated_at=START,
                    )
                    for member_id in absent
                )
                await session.flush()
                await session.rollback()

        rows.append(("baseline: write the rows", *await timed(statements, baseline)))

        async def read(what: Callable[[Any, Any], Awaitable[Any]]) -> None:
            async with sessions() as session:
                await what(session, await get_activity(session, meeting_id))

        rows.append(
            ("attendance_count", *await timed(statements, lambda: read(attendance_count), CALLS))
        )
        rows.append(("quorum_of", *await timed(statements, lambda: read(quorum_of), CALLS)))

        async def close() -> None:
            async with sessions.begin() as session:
                summary = await close_record(session, meeting_id, START + timedelta(hours=3))
                assert summary is not None and len(summary.absent) == len(absent)

        rows.append(("close_record", *await timed(statements, close)))
        return rows
    finally:
        await engine.dispose()


@contextlib.asynccontextmanager
async def databases() -> AsyncIterator[list[tuple[str, str]]]:
    with tempfile.TemporaryDirectory() as directory:
        found = [("SQLite", f"sqlite+aiosqlite:///{Path(directory) / 'bench.db'}")]
        admin = os.environ.get("BRANCHBOT_TEST_POSTGRES_URL")
        if not admin:
            yield found
            return
        async with throwaway_database(admin, "branchbot_bench") as url:
            yield [*found, ("PostgreSQL", url)]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", default="1000,10000", help="sizes, comma-separated")
    sizes = [int(size) for size in parser.parse_args().members.split(",")]
    header = ("database", "members", "what", "ms", "statements", "vs baseline")
    print("{:<11} {:>7}  {:<26} {:>9} {:>10} {:>11}".format(*header))
    for size in sizes:
        async with databases() as found:
            for name, url in found:
                rows = await bench(url, size)
                base = rows[0][1]
                for what, ms, count in rows:
                    ratio = f"{ms / base:.2f}x" if base else "—"
                    print(f"{name:<11} {size:>7}  {what:<26} {ms:>9.1f} {count:>10.0f} {ratio:>11}")
        if not os.environ.get("BRANCHBOT_TEST_POSTGRES_URL"):
            print("(PostgreSQL left out: set BRANCHBOT_TEST_POSTGRES_URL to include it)")


if __name__ == "__main__":
    asyncio.run(main())
