"""The rows about activities: the activities of a period, the attendance matrix, and the
names for a meeting's sign-in sheet (签到表)."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any, NamedTuple

from sqlalchemy import and_, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from models.activities import (
    EXPECTED_KINDS,
    SEAT_STATUSES,
    Activity,
    ActivityKind,
    ActivityMode,
    ActivityStatus,
    Participation,
    ParticipationStatus,
    get_activity,
    mode_of,
)
from models.activities.audience import audience_unit_ids
from models.errors import InvalidState
from models.exports.scope import Scope, in_period, member_unit
from models.members import Member, Membership, MembershipStatus
from models.org import OrgUnit, descendant_ids, get_unit
from models.permissions import Permission, can, require
from models.stats.period import Period

# --- activities ------------------------------------------------------------------------------


class ActivityRow(NamedTuple):
    starts_at: datetime
    ends_at: datetime
    kind: ActivityKind
    title: str
    unit_id: int
    place: str
    cancelled: bool
    mode: ActivityMode
    expected: int | None  # organisational life: members expected
    seats_taken: int  # sign-up activities
    capacity: int | None
    present: int
    excused: int
    absent: int
    made_up: int
    walk_ins: int  # checked in without being expected or signed up: counted apart


def _outcome_counts() -> list[Any]:
    """present, excused, absent, made up (of those expected or holding a seat), walk-ins."""
    checked_in = Participation.checked_in_at.is_not(None)
    expected = Participation.walk_in.is_(False)
    not_in = Participation.checked_in_at.is_(None)

    def count(condition: Any) -> Any:
        return func.count(case((condition, 1)))

    return [
        count(and_(checked_in, expected)),
        count(and_(not_in, Participation.status == ParticipationStatus.excused)),
        count(and_(not_in, Participation.status == ParticipationStatus.absent)),
        count(and_(not_in, Participation.status == ParticipationStatus.made_up)),
        count(and_(checked_in, Participation.walk_in.is_(True))),
    ]


async def activity_rows(
    session: AsyncSession, scope: Scope, period: Period, zone: tzinfo
) -> list[ActivityRow]:
    """The activities of the scope that start in the period (cancelled ones marked), by
    start, with the outcomes of their record counted by the database."""
    counts = (
        select(
            Participation.activity_id, *[c.label(f"c{i}") for i, c in enumerate(_outcome_counts())]
        )
        .join(Activity, Activity.id == Participation.activity_id)
        .where(in_period(scope, period, zone))
        .group_by(Participation.activity_id)
        .subquery()
    )
    figures = [func.coalesce(counts.c[f"c{i}"], 0) for i in range(5)]
    found = (
        await session.execute(
            select(
                Activity.starts_at,
                Activity.ends_at,
                Activity.kind,
                Activity.title,
                Activity.org_unit_id,
                Activity.place,
                Activity.status,
                Activity.seats_taken,
                Activity.capacity,
                Activity.record_closed_at,
                Activity.include_subunits,
                *figures,
            )
            .outerjoin(counts, counts.c.activity_id == Activity.id)
            .where(in_period(scope, period, zone))
            .order_by(Activity.starts_at, Activity.id)
        )
    ).all()
    audiences = await _audience_sizes(
        session,
        {
            (r.org_unit_id, r.include_subunits)
            for r in found
            if mode_of(r.kind) is ActivityMode.expected and r.record_closed_at is None
        },
    )
    rows = []
    for r in found:
        present, excused, absent, made_up, walk_ins = r[11:]
        mode = mode_of(r.kind)
        expected = None
        if mode is ActivityMode.expected:
            # Once closed, everyone expected has a row: the record says who they were.
            held = present + excused + absent + made_up
            audience = (r.org_unit_id, r.include_subunits)
            expected = held if r.record_closed_at is not None else audiences[audience]
        rows.append(
            ActivityRow(
                r.starts_at,
                r.ends_at,
                r.kind,
                r.title,
                r.org_unit_id,
                r.place,
                r.status is ActivityStatus.cancelled,
                mode,
                expected,
                r.seats_taken,
                r.capacity,
                present,
                excused,
                absent,
                made_up,
                walk_ins,
            )
        )
    return rows


async def _audience_sizes(
    session: AsyncSession, audiences: set[tuple[int, bool]]
) -> dict[tuple[int, bool], int]:
    """How many are expected at an activity not held yet, for each (unit, include
    subunits) there is: one count per audience, not per activity."""
    sizes = {}
    for unit_id, subunits in audiences:
        units = await descendant_ids(session, unit_id) if subunits else {unit_id}
        sizes[(unit_id, subunits)] = (
            await session.scalar(
                select(func.count(func.distinct(Membership.member_id))).where(
                    Membership.status == MembershipStatus.active,
                    Membership.org_unit_id.in_(units),
                )
            )
            or 0
        )
    return sizes


# --- the attendance matrix ----------------------------------------------------------------


class Cell(enum.StrEnum):
    """A member's outcome at one meeting; no cell: not expected there."""

    present = "present"
    excused = "excused"
    absent = "absent"
    made_up = "made_up"
    walk_in = "walk_in"  # came without being expected (列席): not in the totals


class MatrixColumn(NamedTuple):
    activity_id: int
    starts_at: datetime
    title: str


class MatrixRow(NamedTuple):
    member_id: int
    name: str | None
    unit_id: int | None  # their active membership in the scope; None once they left it
    cells: tuple[Cell | None, ...]  # one per column
    present: int
    excused: int
    absent: int
    made_up: int

    @property
    def rate(self) -> float | None:
        """The share present of the meetings they were expected at (as /stats counts)."""
        counted = self.present + self.excused + self.absent + self.made_up
        return self.present / counted if counted else None


@dataclass(frozen=True)
class Matrix:
    columns: list[MatrixColumn]
    rows: list[MatrixRow]


async def attendance_matrix(
    session: AsyncSession, scope: Scope, period: Period, zone: tzinfo
) -> Matrix:
    """Members × the organisational life of the period whose record is closed (so that
    everyone expected has a row), by name; forgotten members are left out."""
    held = and_(
        in_period(scope, period, zone),
        Activity.kind.in_(list(EXPECTED_KINDS)),
        Activity.status == ActivityStatus.scheduled,
        Activity.record_closed_at.is_not(None),
    )
    columns = [
        MatrixColumn(*row)
        for row in (
            await session.execute(
                select(Activity.id, Activity.starts_at, Activity.title)
                .where(held)
                .order_by(Activity.starts_at, Activity.id)
            )
        ).all()
    ]
    if not columns:
        return Matrix([], [])
    place = {column.activity_id: index for index, column in enumerate(columns)}
    # The cells as small numbers (CELL_CODES), and each member's name once: the cells are
    # members × meetings, the most rows an export reads.
    cells = (
        await session.execute(
            select(Participation.member_id, Participation.activity_id, _cell_code())
            .join(Activity, Activity.id == Participation.activity_id)
            .where(held)
        )
    ).all()
    units = member_unit(scope.unit_ids)
    people = (
        await session.execute(
            select(Member.id, Member.real_name, units.c.unit_id)
            .outerjoin(units, units.c.member_id == Member.id)
            .where(
                Member.id.in_(
                    select(Participation.member_id)
                    .join(Activity, Activity.id == Participation.activity_id)
                    .where(held)
                ),
                Member.forgotten_at.is_(None),
            )
            .order_by(Member.real_name, Member.id)
        )
    ).all()
    grid: dict[int, list[Cell | None]] = {m: [None] * len(columns) for m, _, _ in people}
    for member_id, activity_id, code in cells:
        row = grid.get(member_id)
        if row is not None:  # None: a forgotten member
            row[place[activity_id]] = CELL_CODES.get(code)
    rows = [
        _with_totals(MatrixRow(member_id, name, unit_id, tuple(grid[member_id]), 0, 0, 0, 0))
        for member_id, name, unit_id in people
    ]
    return Matrix(columns, rows)


CELL_CODES = {1: Cell.present, 2: Cell.excused, 3: Cell.absent, 4: Cell.made_up, 5: Cell.walk_in}


def _cell_code() -> Any:
    """A participation's cell (CELL_CODES; 0: none), in SQL."""
    checked_in = Participation.checked_in_at.is_not(None)
    return case(
        (and_(checked_in, Participation.walk_in.is_(True)), 5),
        (checked_in, 1),
        (Participation.status == ParticipationStatus.excused, 2),
        (Participation.status == ParticipationStatus.absent, 3),
        (Participation.status == ParticipationStatus.made_up, 4),
        else_=0,
    )


def _with_totals(row: MatrixRow) -> MatrixRow:
    return row._replace(
        present=row.cells.count(Cell.present),
        excused=row.cells.count(Cell.excused),
        absent=row.cells.count(Cell.absent),
        made_up=row.cells.count(Cell.made_up),
    )


# --- the sign-in sheet (签到表) -----------------------------------------------------------------


class SignInRow(NamedTuple):
    name: str | None
    unit_id: int | None


@dataclass(frozen=True)
class SignInSheet:
    activity: Activity
    unit: OrgUnit
    rows: list[SignInRow]  # by name


async def sign_in_rows(session: AsyncSession, viewer: int, activity_id: int) -> SignInSheet:
    """Who is to sign at the activity: those expected (organisational life) or holding a
    seat (sign-up), by name. For who runs the activity or exports its unit's books."""
    activity = await get_activity(session, activity_id)
    unit_id = activity.org_unit_id
    if not await can(session, viewer, Permission.manage_activities, unit_id):
        await require(session, viewer, Permission.export_register, unit_id)
    if activity.status is ActivityStatus.cancelled:
        raise InvalidState("activity.cancelled", f"activity {activity.id}")
    if activity.mode is ActivityMode.expected:
        audience = await audience_unit_ids(session, activity)
        query = (
            select(Member.real_name, func.min(Membership.org_unit_id))
            .join(Membership, Membership.member_id == Member.id)
            .where(
                Membership.status == MembershipStatus.active,
                Membership.org_unit_id.in_(audience),
                Member.forgotten_at.is_(None),
            )
            .group_by(Member.id, Member.real_name)
        )
    else:
        units = member_unit()
        query = (
            select(Member.real_name, units.c.unit_id)
            .join(Participation, Participation.member_id == Member.id)
            .outerjoin(units, units.c.member_id == Member.id)
            .where(
                Participation.activity_id == activity.id,
                Participation.status.in_(list(SEAT_STATUSES)),
                Participation.walk_in.is_(False),
                Member.forgotten_at.is_(None),
            )
        )
    found = await session.execute(query.order_by(Member.real_name, Member.id))
    rows = [SignInRow(name, unit) for name, unit in found.all()]
    return SignInSheet(activity, await get_unit(session, unit_id), rows)
