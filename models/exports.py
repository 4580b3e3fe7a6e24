"""The rows of the secretaries' spreadsheets (/export): the roster, the activities of a
period, the attendance matrix, volunteer hours, notice acknowledgements, and the names
for a meeting's sign-in sheet (签到表).

Each query checks the permission itself (export_register on the unit, which covers the
unit and every unit below it: the export's scope) and is one or two statements: joins
and aggregates in the database, rows fetched as tuples. The floating-member register is
models.members.floating_register.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any, NamedTuple

from sqlalchemy import Float, and_, case, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import aliased
from sqlalchemy.sql.functions import FunctionElement

from models.activities import (
    EXPECTED_KINDS,
    SEAT_STATUSES,
    SERVICE_KINDS,
    Activity,
    ActivityKind,
    ActivityMode,
    ActivityStatus,
    Participation,
    ParticipationStatus,
    PledgeKind,
    get_activity,
    mode_of,
)
from models.activities.audience import audience_unit_ids
from models.errors import InvalidState
from models.members import Member, Membership, MembershipKind, MembershipStatus, MemberType
from models.notices.follow_up import delivery_status, with_delivery
from models.notices.tables import Notice, NoticeRecipient
from models.org import OrgUnit, descendant_ids, get_unit
from models.outbox import DeliveryStatus
from models.permissions import Permission, can, require
from models.staff import staff_unit
from models.stats.period import Period


class ExportKind(enum.StrEnum):
    """What /export offers; the value is the code its button and file name carry."""

    roster = "roster"
    register = "register"  # the floating-member register (流动党员档案)
    activities = "activities"
    attendance = "attendance"  # the matrix of members × organisational life
    volunteering = "volunteering"
    notices = "notices"


# Exports of a moment (today), not of a period.
UNDATED = frozenset({ExportKind.roster, ExportKind.register})


@dataclass(frozen=True)
class Scope:
    """The unit asked for, and it with every unit below it (what the rows come from)."""

    unit: OrgUnit
    unit_ids: frozenset[int]


async def export_scope(session: AsyncSession, viewer: int, unit_id: int) -> Scope:
    """The unit and its subtree, for one who may export its books; PermissionDenied (or
    NotFound) otherwise."""
    unit = await staff_unit(session, viewer, Permission.export_register, unit_id)
    return Scope(unit, frozenset(await descendant_ids(session, unit.id)))


def _member_unit(unit_ids: frozenset[int] | set[int] | None = None) -> Any:
    """member_id → the unit of their active membership (the primary one where they have
    both), among `unit_ids` (None: anywhere): a grouped subquery to join."""
    primary = case((Membership.kind == MembershipKind.primary, Membership.org_unit_id))
    query = select(
        Membership.member_id,
        func.coalesce(func.min(primary), func.min(Membership.org_unit_id)).label("unit_id"),
    ).where(Membership.status == MembershipStatus.active)
    if unit_ids is not None:
        query = query.where(Membership.org_unit_id.in_(unit_ids))
    return query.group_by(Membership.member_id).subquery()


# --- the roster ------------------------------------------------------------------------------


class RosterRow(NamedTuple):
    name: str | None
    phone: str | None
    member_type: MemberType | None
    unit_id: int
    approved_at: datetime | None
    dual_reporting: bool  # has an active community membership (双报到)


async def roster_rows(session: AsyncSession, scope: Scope) -> list[RosterRow]:
    """Active members of the scope, once each (under their primary unit where it is in
    the scope), by unit and name."""
    ranked = (
        select(
            Membership.member_id,
            Membership.org_unit_id,
            Membership.decided_at,
            func.row_number()
            .over(
                partition_by=Membership.member_id,
                order_by=(
                    case((Membership.kind == MembershipKind.primary, 0), else_=1),
                    Membership.org_unit_id,
                ),
            )
            .label("rank"),
        )
        .where(
            Membership.status == MembershipStatus.active,
            Membership.org_unit_id.in_(scope.unit_ids),
        )
        .subquery()
    )
    community = aliased(Membership)
    dual = exists().where(
        community.member_id == Member.id,
        community.kind == MembershipKind.community,
        community.status == MembershipStatus.active,
    )
    rows = await session.execute(
        select(
            Member.real_name,
            Member.phone,
            Member.member_type,
            ranked.c.org_unit_id,
            ranked.c.decided_at,
            dual.label("dual"),
        )
        .join(ranked, ranked.c.member_id == Member.id)
        .where(ranked.c.rank == 1, Member.forgotten_at.is_(None))
        .order_by(ranked.c.org_unit_id, Member.real_name, Member.id)
    )
    return [RosterRow(n, p, t, u, a, bool(d)) for n, p, t, u, a, d in rows.all()]


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


def _in_period(scope: Scope, period: Period, zone: tzinfo) -> Any:
    # Period.starts_at takes a ZoneInfo; any tzinfo works for combining a date.
    return and_(
        Activity.org_unit_id.in_(scope.unit_ids),
        Activity.starts_at >= period.starts_at(zone),  # type: ignore[arg-type]
        Activity.starts_at < period.ends_at(zone),  # type: ignore[arg-type]
    )


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
        .where(_in_period(scope, period, zone))
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
            .where(_in_period(scope, period, zone))
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
        _in_period(scope, period, zone),
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
    units = _member_unit(scope.unit_ids)
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


# --- volunteer hours ---------------------------------------------------------------------------


class _Epoch(FunctionElement[float]):
    """Seconds since 1970 of a stored moment, on either database."""

    type = Float()
    inherit_cache = True


@compiles(_Epoch, "sqlite")
def _epoch_sqlite(element: _Epoch, compiler: Any, **kw: Any) -> str:
    return f"((julianday({compiler.process(element.clauses, **kw)}) - 2440587.5) * 86400.0)"


@compiles(_Epoch, "postgresql")
def _epoch_postgresql(element: _Epoch, compiler: Any, **kw: Any) -> str:
    return f"CAST(EXTRACT(EPOCH FROM {compiler.process(element.clauses, **kw)}) AS FLOAT)"


def _least(a: Any, b: Any) -> Any:
    return case((a < b, a), else_=b)


def _greatest(a: Any, b: Any) -> Any:
    return case((a > b, a), else_=b)


def _service_seconds() -> Any:
    """models.attendance.record.service_hours in SQL (in seconds): the whole span, or from
    check-in to check-out within it where check-out is required."""
    starts, ends = _Epoch(Activity.starts_at), _Epoch(Activity.ends_at)
    within = _least(_Epoch(Participation.checked_out_at), ends) - _greatest(
        _Epoch(Participation.checked_in_at), starts
    )
    return case(
        (Participation.checked_in_at.is_(None), 0.0),
        (Activity.check_out_required.is_(False), ends - starts),
        (Participation.checked_out_at.is_(None), 0.0),
        else_=_greatest(within, 0.0),
    )


class VolunteerRow(NamedTuple):
    name: str | None
    unit_id: int | None
    attended: int  # service activities checked in at
    hours: float
    saplings_planted: int
    saplings_pledged: int  # 认种
    money_pledged: int  # 认捐, whole yuan


async def volunteer_rows(
    session: AsyncSession, scope: Scope, period: Period, zone: tzinfo
) -> list[VolunteerRow]:
    """Per member, over the volunteering and tree planting of the period (not cancelled)
    they signed up for or attended: what they did and pledged, by name."""
    units = _member_unit(scope.unit_ids)
    holding = Participation.status.in_(list(SEAT_STATUSES))

    def pledged(kind: PledgeKind) -> Any:
        amount = case((and_(holding, Activity.pledge_kind == kind), Participation.pledge_amount))
        return func.coalesce(func.sum(amount), 0)

    found = await session.execute(
        select(
            Member.real_name,
            units.c.unit_id,
            func.count(Participation.checked_in_at),
            func.coalesce(func.sum(_service_seconds()), 0.0) / 3600.0,
            func.coalesce(func.sum(Participation.saplings_planted), 0),
            pledged(PledgeKind.saplings),
            pledged(PledgeKind.money),
        )
        .join(Participation, Participation.member_id == Member.id)
        .join(Activity, Activity.id == Participation.activity_id)
        .outerjoin(units, units.c.member_id == Member.id)
        .where(
            _in_period(scope, period, zone),
            Activity.kind.in_(list(SERVICE_KINDS)),
            Activity.status == ActivityStatus.scheduled,
            or_(holding, Participation.checked_in_at.is_not(None)),
            Member.forgotten_at.is_(None),
        )
        .group_by(Member.id, Member.real_name, units.c.unit_id)
        .order_by(Member.real_name, Member.id)
    )
    return [
        VolunteerRow(name, unit, int(n), float(hours), int(planted), int(saplings), int(money))
        for name, unit, n, hours, planted, saplings, money in found.all()
    ]


# --- notice acknowledgements -------------------------------------------------------------


class NoticeRow(NamedTuple):
    notice_id: int
    name: str | None  # None: the member was forgotten
    unit_id: int | None
    status: DeliveryStatus | None  # None: not handed to Telegram yet
    acknowledged_at: datetime | None


@dataclass(frozen=True)
class NoticeInfo:
    sent_at: datetime
    body_html: str
    ack_required: bool


@dataclass(frozen=True)
class NoticeSheet:
    notices: dict[int, NoticeInfo]
    rows: list[NoticeRow]  # by notice (as sent) and name


async def notice_rows(
    session: AsyncSession, scope: Scope, period: Period, zone: tzinfo
) -> NoticeSheet:
    """One row per notice sent in the period by a unit of the scope and per recipient:
    what became of the copy and when it was acknowledged."""
    sent = and_(
        Notice.org_unit_id.in_(scope.unit_ids),
        Notice.sent_at >= period.starts_at(zone),  # type: ignore[arg-type]
        Notice.sent_at < period.ends_at(zone),  # type: ignore[arg-type]
    )
    notices = {
        notice_id: NoticeInfo(sent_at, body, ack)
        for notice_id, sent_at, body, ack in (
            await session.execute(
                select(Notice.id, Notice.sent_at, Notice.body_html, Notice.ack_required).where(sent)
            )
        ).all()
    }
    if not notices:
        return NoticeSheet({}, [])
    units = _member_unit()
    found = await session.execute(
        with_delivery(
            select(
                Notice.id,
                Member.real_name,
                units.c.unit_id,
                delivery_status(),
                NoticeRecipient.acknowledged_at,
            )
            .join(NoticeRecipient, NoticeRecipient.notice_id == Notice.id)
            .join(Member, Member.id == NoticeRecipient.member_id)
            .outerjoin(units, units.c.member_id == Member.id)
        )
        .where(sent)
        .order_by(Notice.sent_at, Notice.id, Member.real_name, Member.id)
    )
    rows = [
        NoticeRow(n, name, unit, DeliveryStatus(status) if status else None, acknowledged)
        for n, name, unit, status, acknowledged in found.all()
    ]
    return NoticeSheet(notices, rows)


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
        units = _member_unit()
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


async def units_by_id(session: AsyncSession, unit_ids: Sequence[int | None]) -> dict[int, OrgUnit]:
    """The units these rows name, in one query (for their names)."""
    wanted = {u for u in unit_ids if u is not None}
    if not wanted:
        return {}
    return {u.id: u for u in await session.scalars(select(OrgUnit).where(OrgUnit.id.in_(wanted)))}
