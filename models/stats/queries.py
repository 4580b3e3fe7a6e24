"""/stats: one unit's figures for a period, and a committee's units side by side.

Scope: the unit and every unit below it. Activities count by their unit being in the
scope and by their start falling in the period (whole local days in the unit's zone);
cancelled ones never count. The database sums each kind of figure for the whole scope
grouped by unit (models.stats.grouped); the rows of a committee and the unit's own total
are rolled up here from those, so every figure is computed one way.

三会一课 requirements. The rules bind each branch: a general meeting and a party lecture
a quarter, a committee meeting, a group meeting and a theme day a month. A branch (or a
group, looked at on its own) owes them once; a committee or community owes them once
per branch below it, so `required` and `due_so_far` are the branch's numbers times the
number of branches in the scope (0 where there is none), and `held` counts what every
unit of the scope held, the committee's own meetings included.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, fields
from datetime import date, datetime, time
from typing import TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models.activities import ActivityKind
from models.org import OrgUnit, UnitKind, descendant_ids_from, get_unit, parent_map
from models.permissions import Permission, require
from models.staff import staff_units
from models.stats.figures import (
    ActivityFigures,
    Attendance,
    BranchRow,
    CommitteeStats,
    MemberFigures,
    Month,
    Notices,
    Reporting,
    Requirement,
    Service,
    UnitStats,
)
from models.stats.grouped import (
    HeldActivity,
    ServiceActivity,
    Window,
    held_activities,
    life_counts,
    member_attendance,
    notices_by_unit,
    reporting_by_unit,
    service_activities,
)
from models.stats.period import Period

# Kind → due once a quarter (True) or once a month (False), in the order /stats lists them.
REQUIRED_KINDS: dict[ActivityKind, bool] = {
    ActivityKind.general_meeting: True,
    ActivityKind.committee_meeting: False,
    ActivityKind.group_meeting: False,
    ActivityKind.lecture: True,
    ActivityKind.theme_day: False,
}

Figure = TypeVar("Figure", Attendance, Service, Reporting, Notices)


def add_up(empty: Figure, figures: Iterable[Figure]) -> Figure:
    """The field-by-field sum of figures of one kind (all counts and hours)."""
    totals = {f.name: getattr(empty, f.name) for f in fields(empty)}
    for figure in figures:
        for name in totals:
            totals[name] += getattr(figure, name)
    return type(empty)(**totals)


@dataclass(frozen=True)
class _Due:
    """What one branch owes of a kind in the period: required, and already due by now."""

    required: int
    due_so_far: int


def _dues(period: Period, now: datetime, zone: ZoneInfo) -> dict[ActivityKind, _Due]:
    def over(first_days: list[date], months: int) -> int:
        return sum(
            1 for first in first_days if _local_midnight(_add_months(first, months), zone) <= now
        )

    months, quarters = period.months(), period.quarters()
    by_month = _Due(len(months), over(months, 1))
    by_quarter = _Due(len(quarters), over(quarters, 3))
    return {
        kind: by_quarter if quarterly else by_month for kind, quarterly in REQUIRED_KINDS.items()
    }


def _add_months(first: date, months: int) -> date:
    index = first.month - 1 + months
    return date(first.year + index // 12, index % 12 + 1, 1)


def _local_midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(), zone)


@dataclass
class _Figures:
    """Everything the database summed for one scope, to be rolled up per unit."""

    unit: OrgUnit
    scope: set[int]
    parents: dict[int, int | None]
    kinds: dict[int, UnitKind]
    dues: dict[ActivityKind, _Due]
    life: dict[tuple[int, ActivityKind], tuple[int, int]]
    held: list[HeldActivity]
    service: list[ServiceActivity]
    reporting: dict[int, Reporting]
    notices: dict[int, Notices]

    def subtree(self, unit_id: int) -> set[int]:
        return descendant_ids_from(self.parents, unit_id) & self.scope

    def requirements(self, unit_id: int, ids: set[int]) -> list[Requirement]:
        branches = sum(1 for i in ids if self.kinds[i] is UnitKind.branch)
        if self.kinds[unit_id] in (UnitKind.branch, UnitKind.group):
            branches = 1  # a group on its own owes what a branch does
        found = []
        for kind, quarterly in REQUIRED_KINDS.items():
            due = self.dues[kind]
            counts = [self.life.get((i, kind), (0, 0)) for i in ids]
            found.append(
                Requirement(
                    kind=kind,
                    per_quarter=quarterly,
                    required=due.required * branches,
                    due_so_far=due.due_so_far * branches,
                    held=sum(held for held, _ in counts),
                    scheduled=sum(scheduled for _, scheduled in counts),
                )
            )
        return found

    def row(self, unit: OrgUnit) -> BranchRow:
        ids = self.subtree(unit.id)
        life = self.requirements(unit.id, ids)
        return BranchRow(
            unit=unit,
            life_held=sum(r.held for r in life),
            life_required=sum(r.required for r in life),
            behind=sum(1 for r in life if r.behind),
            attendance=add_up(
                Attendance(), (a.attendance for a in self.held if a.org_unit_id in ids)
            ),
            service=add_up(Service(), (s.service for s in self.service if s.org_unit_id in ids)),
            reporting=add_up(Reporting(), (self.reporting.get(i, Reporting()) for i in ids)),
            notices=add_up(Notices(), (self.notices.get(i, Notices()) for i in ids)),
        )


async def _figures(
    session: AsyncSession,
    viewer_telegram_id: int,
    unit_id: int,
    period: Period,
    now: datetime,
    zone: ZoneInfo,
) -> tuple[_Figures, Window]:
    unit = await get_unit(session, unit_id)
    await require(session, viewer_telegram_id, Permission.view_stats, unit.id)
    parents = await parent_map(session)
    scope = descendant_ids_from(parents, unit.id)
    kinds = await _unit_kinds(session, scope)
    window = Window(scope, period.starts_at(zone), period.ends_at(zone), now)
    figures = _Figures(
        unit=unit,
        scope=scope,
        parents=parents,
        kinds=kinds,
        dues=_dues(period, now, zone),
        life=await life_counts(session, window),
        held=await held_activities(session, window),
        service=await service_activities(session, window),
        reporting=await reporting_by_unit(session, window),
        notices=await notices_by_unit(session, window),
    )
    return figures, window


async def _unit_kinds(session: AsyncSession, ids: set[int]) -> dict[int, UnitKind]:
    rows = await session.execute(select(OrgUnit.id, OrgUnit.kind).where(OrgUnit.id.in_(list(ids))))
    return {unit_id: kind for unit_id, kind in rows}


def _months(
    period: Period, zone: ZoneInfo, held: list[HeldActivity], service: list[ServiceActivity]
) -> list[Month]:
    def month_of(moment: datetime) -> date:
        return moment.astimezone(zone).date().replace(day=1)

    found = []
    for first in period.months():
        attendance = add_up(
            Attendance(), (a.attendance for a in held if month_of(a.starts_at) == first)
        )
        hours = sum(s.service.hours for s in service if month_of(s.starts_at) == first)
        found.append(Month(first, attendance, hours))
    return found


def _by_rate(figures: MemberFigures) -> tuple[bool, float, str, int]:
    rate = figures.attendance.rate
    return (rate is None, rate or 0.0, figures.name, figures.member_id)


async def unit_stats(
    session: AsyncSession,
    viewer_telegram_id: int,
    unit_id: int,
    period: Period,
    now: datetime,
    zone: ZoneInfo,
) -> UnitStats:
    """The unit's figures for the period, everything below it included.

    NotFound for an unknown unit; PermissionDenied without view_stats on it (a grant on
    the unit or above). `zone` is the unit's time zone: the period's days and months are
    its local ones. Requirements: see the module's docstring.
    """
    figures, window = await _figures(session, viewer_telegram_id, unit_id, period, now, zone)
    total = figures.row(figures.unit)
    members = sorted(await member_attendance(session, window), key=_by_rate)
    return UnitStats(
        unit=figures.unit,
        period=period,
        life=figures.requirements(figures.unit.id, figures.scope),
        attendance=total.attendance,
        activities=[
            ActivityFigures(a.activity_id, a.kind, a.title, a.starts_at, a.attendance)
            for a in figures.held
        ],
        members=members,
        service=total.service,
        reporting=total.reporting,
        notices=total.notices,
        months=_months(period, zone, figures.held, figures.service),
    )


async def committee_stats(
    session: AsyncSession,
    viewer_telegram_id: int,
    unit_id: int,
    period: Period,
    now: datetime,
    zone: ZoneInfo,
) -> CommitteeStats:
    """The units one level below the committee side by side, each with everything under
    it, and the committee's whole tree as the total. Checks as `unit_stats`."""
    figures, _ = await _figures(session, viewer_telegram_id, unit_id, period, now, zone)
    children = await session.scalars(select(OrgUnit).where(OrgUnit.parent_id == figures.unit.id))
    rows = [figures.row(child) for child in children]
    rows.sort(key=lambda row: (row.unit.name_zh, row.unit.id))
    return CommitteeStats(figures.unit, period, figures.row(figures.unit), rows)


async def stats_units(session: AsyncSession, viewer_telegram_id: int) -> list[OrgUnit]:
    """The highest units whose figures this person may see, in tree order (those below
    are opened from theirs); NotStaff when none."""
    units = await staff_units(session, viewer_telegram_id, Permission.view_stats)
    allowed = {unit.id for unit in units}
    return [unit for unit in units if unit.parent_id not in allowed]
