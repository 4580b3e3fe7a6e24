"""The figures as the database aggregates them: one query per kind of figure for a whole
scope (a set of unit ids), grouped by unit, or by activity where the figure also needs the
activity's month. models.stats.queries rolls them up to a unit or a committee's rows.

No query loads a participation or member row into Python: the sums are SQL's.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, case, distinct, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from models.activities import (
    EXPECTED_KINDS,
    SEAT_STATUSES,
    SERVICE_KINDS,
    Activity,
    ActivityKind,
    ActivityStatus,
    Participation,
    ParticipationStatus,
    PledgeKind,
)
from models.attendance.record import service_seconds
from models.members import Member, Membership, MembershipKind, MembershipStatus, MemberType
from models.notices.tables import Notice, NoticeRecipient
from models.stats.figures import Attendance, MemberFigures, Notices, Reporting, Service

APPROVED = (MembershipStatus.active, MembershipStatus.left, MembershipStatus.transferred)
FORGOTTEN_NAME = "—"


def _count(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


@dataclass(frozen=True)
class Window:
    """What every query filters on: the units, the period [starts_at, ends_at), now."""

    unit_ids: Collection[int]
    starts_at: datetime
    ends_at: datetime
    now: datetime

    def activities(self, kinds: Collection[ActivityKind]) -> list[ColumnElement[bool]]:
        """Not cancelled activities of these kinds, in scope, starting in the period."""
        return [
            Activity.org_unit_id.in_(list(self.unit_ids)),
            Activity.starts_at >= self.starts_at,
            Activity.starts_at < self.ends_at,
            Activity.kind.in_(list(kinds)),
            Activity.status == ActivityStatus.scheduled,
        ]

    def in_period(self, column: Any) -> ColumnElement[bool]:
        return and_(column >= self.starts_at, column < self.ends_at)


# --- organisational life held and scheduled -----------------------------------------


async def life_counts(
    session: AsyncSession, window: Window
) -> dict[tuple[int, ActivityKind], tuple[int, int]]:
    """(unit id, kind) → (held: ended by now, scheduled: not ended yet)."""
    ended = Activity.ends_at <= window.now
    rows = await session.execute(
        select(Activity.org_unit_id, Activity.kind, _count(ended), _count(~ended))
        .where(*window.activities(EXPECTED_KINDS))
        .group_by(Activity.org_unit_id, Activity.kind)
    )
    return {(unit_id, kind): (held, scheduled) for unit_id, kind, held, scheduled in rows}


# --- attendance at organisational life whose record is closed ----------------------

_checked_in = Participation.checked_in_at.is_not(None)
_not_in = Participation.checked_in_at.is_(None)
_expected_row = Participation.walk_in.is_(False)
_OUTCOMES = (
    _count(and_(_checked_in, _expected_row)),  # present
    _count(and_(_not_in, _expected_row, Participation.status == ParticipationStatus.excused)),
    _count(and_(_not_in, _expected_row, Participation.status == ParticipationStatus.absent)),
    _count(and_(_not_in, _expected_row, Participation.status == ParticipationStatus.made_up)),
    _count(and_(_checked_in, Participation.walk_in.is_(True))),  # walk-ins
)
_COUNTED_ROW = and_(
    _expected_row,
    or_(
        _checked_in,
        Participation.status.in_(
            [ParticipationStatus.excused, ParticipationStatus.absent, ParticipationStatus.made_up]
        ),
    ),
)


@dataclass(frozen=True)
class HeldActivity:
    """One organisational-life activity with a closed record, and its attendance."""

    activity_id: int
    org_unit_id: int
    kind: ActivityKind
    title: str
    starts_at: datetime
    attendance: Attendance


def _closed_life(window: Window) -> list[ColumnElement[bool]]:
    return [*window.activities(EXPECTED_KINDS), Activity.record_closed_at.is_not(None)]


async def held_activities(session: AsyncSession, window: Window) -> list[HeldActivity]:
    """Each closed organisational-life activity in the window with its counts, by start.

    The rows are counted by status and walk-in with how many checked in (a few groups an
    activity, in the order of the participations index): no arithmetic per row, which is
    what summing conditions over a city's million rows costs."""
    held = (
        select(Activity.id, Activity.org_unit_id, Activity.kind, Activity.title, Activity.starts_at)
        .where(*_closed_life(window))
        .order_by(Activity.starts_at, Activity.id)
    )
    activities = (await session.execute(held)).all()
    groups = await session.execute(
        select(
            Participation.activity_id,
            Participation.status,
            Participation.walk_in,
            func.count(),
            func.count(Participation.checked_in_at),
        )
        .where(Participation.activity_id.in_(select(held.subquery().c.id)))
        .group_by(Participation.activity_id, Participation.status, Participation.walk_in)
    )
    by_activity: dict[int, list[tuple[ParticipationStatus, bool, int, int]]] = {}
    for activity_id, status, walk_in, rows, checked_in in groups:
        by_activity.setdefault(activity_id, []).append((status, walk_in, rows, checked_in))
    return [
        HeldActivity(
            activity_id, unit_id, kind, title, starts_at, _tally(by_activity.get(activity_id, []))
        )
        for activity_id, unit_id, kind, title, starts_at in activities
    ]


def _tally(groups: list[tuple[ParticipationStatus, bool, int, int]]) -> Attendance:
    """Outcomes from (status, walk-in, rows, checked in) groups: checked in is present,
    whatever the status; the rest count by their status; walk-ins apart."""
    present = excused = absent = made_up = walk_ins = 0
    for status, walk_in, rows, checked_in in groups:
        if walk_in:
            walk_ins += checked_in
            continue
        present += checked_in
        not_in = rows - checked_in
        if status is ParticipationStatus.excused:
            excused += not_in
        elif status is ParticipationStatus.absent:
            absent += not_in
        elif status is ParticipationStatus.made_up:
            made_up += not_in
    return Attendance(present, excused, absent, made_up, walk_ins)


async def member_attendance(session: AsyncSession, window: Window) -> list[MemberFigures]:
    """Each member with a counted row at those activities (unsorted)."""
    rows = await session.execute(
        select(Member.id, Member.real_name, Member.forgotten_at, *_OUTCOMES)
        .select_from(Participation)
        .join(Activity, Activity.id == Participation.activity_id)
        .join(Member, Member.id == Participation.member_id)
        .where(*_closed_life(window))
        .group_by(Member.id)
        .having(func.sum(case((_COUNTED_ROW, 1), else_=0)) > 0)
    )
    return [
        MemberFigures(
            member_id,
            name if name and forgotten_at is None else FORGOTTEN_NAME,
            Attendance(*counts),
        )
        for member_id, name, forgotten_at, *counts in rows
    ]


# --- volunteer service and tree planting ---------------------------------------------


@dataclass(frozen=True)
class ServiceActivity:
    org_unit_id: int
    starts_at: datetime
    service: Service  # of this one activity (activities = 1)


async def service_activities(session: AsyncSession, window: Window) -> list[ServiceActivity]:
    """Each service activity in the window with its sums, as models.attendance.record
    counts a member's hours: the full span per checked-in member, or where check-out is
    required the part of check-in..check-out within the span."""
    holds_seat = or_(Participation.status.in_(list(SEAT_STATUSES)), _checked_in)

    def pledged(kind: PledgeKind) -> ColumnElement[int]:
        amount = func.coalesce(Participation.pledge_amount, 0)
        condition = and_(Activity.pledge_kind == kind, holds_seat)
        return func.coalesce(func.sum(case((condition, amount), else_=0)), 0)

    rows = await session.execute(
        select(
            Activity.org_unit_id,
            Activity.starts_at,
            Activity.capacity,
            Activity.seats_taken,
            func.coalesce(func.sum(service_seconds()), 0.0),
            pledged(PledgeKind.saplings),
            func.coalesce(func.sum(Participation.saplings_planted), 0),
            pledged(PledgeKind.money),
            _count(Participation.status == ParticipationStatus.waitlisted),
            _count(
                and_(
                    Activity.record_closed_at.is_not(None),
                    Participation.status == ParticipationStatus.absent,
                )
            ),
        )
        .outerjoin(Participation, Participation.activity_id == Activity.id)
        .where(*window.activities(SERVICE_KINDS))
        .group_by(Activity.id)
    )
    found = []
    for (
        unit_id,
        starts_at,
        capacity,
        seats_taken,
        seconds,
        saplings_pledged,
        saplings_planted,
        money,
        waitlisted,
        no_shows,
    ) in rows:
        service = Service(
            activities=1,
            hours=round(float(seconds), 3) / 3600,  # julianday's floating point: to the ms
            saplings_pledged=int(saplings_pledged),
            saplings_planted=int(saplings_planted),
            money_pledged=int(money),
            signed_up=seats_taken,
            capacity=capacity or 0,
            unlimited=1 if capacity is None else 0,
            waitlisted=waitlisted,
            no_shows=no_shows,
        )
        found.append(ServiceActivity(unit_id, starts_at, service))
    return found


# --- reporting (报到, 双报到) and notices ---------------------------------------------


async def reporting_by_unit(session: AsyncSession, window: Window) -> dict[int, Reporting]:
    """Unit id → the reports to it in the period, and its members now."""
    reports = await session.execute(
        select(
            Membership.org_unit_id,
            _count(window.in_period(Membership.requested_at)),
            _count(and_(window.in_period(Membership.decided_at), Membership.status.in_(APPROVED))),
            _count(
                and_(
                    window.in_period(Membership.decided_at),
                    Membership.status == MembershipStatus.rejected,
                )
            ),
            _count(Membership.status == MembershipStatus.pending),
        )
        .where(
            Membership.org_unit_id.in_(list(window.unit_ids)),
            Membership.kind == MembershipKind.primary,
        )
        .group_by(Membership.org_unit_id)
    )
    # One list of those reported to a community, probed per member: a correlated EXISTS
    # per member costs three times as much over a city.
    community = Membership.__table__.alias("community")
    dual = Membership.member_id.in_(
        select(community.c.member_id).where(
            community.c.kind == MembershipKind.community,
            community.c.status == MembershipStatus.active,
        )
    )
    members = await session.execute(
        select(
            Membership.org_unit_id,
            func.count(),
            _count(Member.member_type == MemberType.floating),
            _count(dual),
        )
        .join(Member, Member.id == Membership.member_id)
        .where(
            Membership.org_unit_id.in_(list(window.unit_ids)),
            Membership.kind == MembershipKind.primary,
            Membership.status == MembershipStatus.active,
            Member.forgotten_at.is_(None),
        )
        .group_by(Membership.org_unit_id)
    )
    found: dict[int, Reporting] = {}
    for unit_id, reported, approved, rejected, waiting in reports:
        found[unit_id] = Reporting(reported, approved, rejected, waiting)
    for unit_id, count, floating, dual_reported in members:
        before = found.get(unit_id, Reporting())
        found[unit_id] = Reporting(
            before.reported,
            before.approved,
            before.rejected,
            before.waiting,
            members=count,
            floating=floating,
            dual_reported=dual_reported,
        )
    return found


async def notices_by_unit(session: AsyncSession, window: Window) -> dict[int, Notices]:
    """Unit id → notices sent in the period (not withdrawn), copies asking for an
    acknowledgement and those acknowledged."""
    asking = and_(Notice.ack_required.is_(True), NoticeRecipient.id.is_not(None))
    rows = await session.execute(
        select(
            Notice.org_unit_id,
            func.count(distinct(Notice.id)),
            _count(asking),
            _count(and_(asking, NoticeRecipient.acknowledged_at.is_not(None))),
        )
        .outerjoin(NoticeRecipient, NoticeRecipient.notice_id == Notice.id)
        .where(
            Notice.org_unit_id.in_(list(window.unit_ids)),
            window.in_period(Notice.sent_at),
            Notice.withdrawn_at.is_(None),
        )
        .group_by(Notice.org_unit_id)
    )
    return {unit_id: Notices(sent, asked, acked) for unit_id, sent, asked, acked in rows}
