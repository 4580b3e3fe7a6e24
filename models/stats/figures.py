"""What /stats shows, as plain values: one unit's figures for a period, and a committee's
branches side by side. Computed by models.stats.queries, aggregated in the database."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from models.activities import ActivityKind
from models.org import OrgUnit
from models.stats.period import Period


def share(part: int, whole: int) -> float | None:
    """part / whole, or None when there is nothing to divide (no meeting held, ...)."""
    return part / whole if whole else None


@dataclass(frozen=True)
class Requirement:
    """三会一课 of one kind: held in the period against what the rules require.

    General meetings and party lectures are due once a quarter; committee meetings,
    group meetings and theme days once a month: `required` counts the months (or
    quarters) the period touches, `due_so_far` those already over by now.
    """

    kind: ActivityKind
    per_quarter: bool  # False: once a month
    required: int
    due_so_far: int
    held: int  # took place (not cancelled) in the period, ended by now
    scheduled: int  # still to come within the period (not cancelled)

    @property
    def behind(self) -> bool:
        """Fewer held than the months (quarters) already over need, or too few planned to
        meet the period's requirement."""
        return self.held < self.due_so_far or self.held + self.scheduled < self.required

    @property
    def still_needed(self) -> int:
        """How many more must be held (beyond those scheduled) to meet the requirement."""
        return max(0, self.required - self.held - self.scheduled)


@dataclass(frozen=True)
class Attendance:
    """Outcomes at organisational life whose record is closed (models.attendance)."""

    present: int = 0
    excused: int = 0
    absent: int = 0
    made_up: int = 0
    walk_ins: int = 0  # checked in without being expected: counted apart

    @property
    def counted(self) -> int:
        return self.present + self.excused + self.absent + self.made_up

    @property
    def rate(self) -> float | None:
        """The share present of those expected: made-up study and leave are not presence."""
        return share(self.present, self.counted)


@dataclass(frozen=True)
class ActivityFigures:
    activity_id: int
    kind: ActivityKind
    title: str
    starts_at: datetime
    attendance: Attendance


@dataclass(frozen=True)
class MemberFigures:
    member_id: int
    name: str  # "—" for a forgotten member
    attendance: Attendance


@dataclass(frozen=True)
class Service:
    """Volunteer service and tree planting held in the period."""

    activities: int = 0
    hours: float = 0.0  # attended time, as in a member's record (models.attendance.record)
    saplings_pledged: int = 0
    saplings_planted: int = 0
    money_pledged: int = 0  # 认捐, whole yuan
    signed_up: int = 0  # seats taken
    capacity: int = 0  # seats offered, of the activities with a limit
    unlimited: int = 0  # activities without a limit
    waitlisted: int = 0
    no_shows: int = 0  # held a seat and did not come


@dataclass(frozen=True)
class Reporting:
    """报到 and 双报到 within the unit's tree."""

    reported: int = 0  # reports sent in the period
    approved: int = 0  # decided in the period, approved
    rejected: int = 0
    waiting: int = 0  # pending now, whenever sent
    members: int = 0  # active (managed) members now
    floating: int = 0  # of them 流动党员
    dual_reported: int = 0  # of them also reported to a residential community (双报到)


@dataclass(frozen=True)
class Notices:
    sent: int = 0  # sent in the period, not withdrawn
    asked: int = 0  # copies that asked for an acknowledgement (签阅)
    acknowledged: int = 0

    @property
    def acknowledged_share(self) -> float | None:
        return share(self.acknowledged, self.asked)


@dataclass(frozen=True)
class Month:
    """One calendar month of the period, for the charts."""

    first: date
    attendance: Attendance
    hours: float


@dataclass(frozen=True)
class UnitStats:
    unit: OrgUnit
    period: Period
    life: list[Requirement]
    attendance: Attendance
    activities: list[ActivityFigures]  # organisational life held, by start
    members: list[MemberFigures]  # by attendance rate, lowest first, then name
    service: Service
    reporting: Reporting
    notices: Notices
    months: list[Month] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        """Nothing happened in the period: no activity, report or notice."""
        return not (
            self.activities
            or self.service.activities
            or self.reporting.reported
            or self.notices.sent
            or any(r.held or r.scheduled for r in self.life)
        )


@dataclass(frozen=True)
class BranchRow:
    """One unit below a committee, with everything under it."""

    unit: OrgUnit
    life_held: int
    life_required: int  # of the kinds above, summed over the branches under it
    behind: int  # requirements behind, summed
    attendance: Attendance
    service: Service
    reporting: Reporting
    notices: Notices


@dataclass(frozen=True)
class CommitteeStats:
    unit: OrgUnit
    period: Period
    total: BranchRow  # the whole tree under the committee
    rows: list[BranchRow]  # its units one level down, by name
