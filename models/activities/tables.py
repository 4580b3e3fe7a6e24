"""The activity tables (ActivitySeries, Activity, Participation), their enums and limits."""

from __future__ import annotations

import enum
from datetime import date, datetime, time, timedelta

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Time,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, TelegramId, stored_enum, utcnow
from models.members import Member
from models.org import OrgUnit


def _stored_enum(enum_class: type[enum.Enum], name: str) -> Enum:
    # 24 long: "last_friday_monthly" has 19 characters.
    return stored_enum(enum_class, name, length=24)


class ActivityKind(enum.StrEnum):
    general_meeting = "general_meeting"  # 支部党员大会
    committee_meeting = "committee_meeting"  # 支委会
    group_meeting = "group_meeting"  # 党小组会
    lecture = "lecture"  # 党课
    theme_day = "theme_day"  # 主题党日
    volunteer = "volunteer"  # 志愿服务
    tree_planting = "tree_planting"  # 义务植树
    other = "other"


class ActivityMode(enum.StrEnum):
    expected = "expected"
    signup = "signup"


EXPECTED_KINDS = frozenset(
    {
        ActivityKind.general_meeting,
        ActivityKind.committee_meeting,
        ActivityKind.group_meeting,
        ActivityKind.lecture,
        ActivityKind.theme_day,
    }
)
# Their attended hours count as volunteer hours in a member's record.
SERVICE_KINDS = frozenset({ActivityKind.volunteer, ActivityKind.tree_planting})


def mode_of(kind: ActivityKind | str) -> ActivityMode:
    return ActivityMode.expected if ActivityKind(kind) in EXPECTED_KINDS else ActivityMode.signup


class PledgeKind(enum.StrEnum):
    none = "none"
    saplings = "saplings"  # 认种: number of saplings
    money = "money"  # 认捐: whole yuan


class ActivityStatus(enum.StrEnum):
    scheduled = "scheduled"
    cancelled = "cancelled"


class ParticipationStatus(enum.StrEnum):
    signed_up = "signed_up"
    waitlisted = "waitlisted"
    cancelled = "cancelled"  # the member withdrew a sign-up or left the waitlist
    expected = "expected"  # organisational life, no answer yet (row made by a nudge)
    attending = "attending"  # answered Attend, or checked in
    leave_requested = "leave_requested"
    excused = "excused"  # leave approved (请假)
    leave_declined = "leave_declined"
    absent = "absent"
    made_up = "made_up"  # 补学 after missing


class CheckInMethod(enum.StrEnum):
    qr = "qr"  # the rotating QR code on the secretary's check-in screen
    location = "location"  # shared from within the activity's radius
    code = "code"  # the short code the secretary reads out
    secretary = "secretary"  # marked from the roster


class RecurrenceRule(enum.StrEnum):
    last_friday_monthly = "last_friday_monthly"  # the theme day
    monthly_day = "monthly_day"  # day N of each month (the last day in shorter months)
    weekly = "weekly"  # one weekday (0 = Monday)


# Statuses that hold one of the `capacity` seats (counted in activities.seats_taken).
SEAT_STATUSES = frozenset(
    {ParticipationStatus.signed_up, ParticipationStatus.attending, ParticipationStatus.absent}
)

TITLE_MAX = 100
DESCRIPTION_MAX = 2000
PLACE_MAX = 200
CAPACITY_MAX = 10000
PLEDGE_MAX = 10_000_000
CANCEL_CUTOFF_MAX_HOURS = 7 * 24
CHECK_IN_RADIUS_DEFAULT_M = 300
CHECK_IN_RADIUS_MIN_M = 50
CHECK_IN_RADIUS_MAX_M = 5000
CHECK_IN_OPENS_DEFAULT_MINUTES = 30
CHECK_IN_CODE_DIGITS = 4
SAPLINGS_MAX = 100_000
SHARE_PAYLOAD_PREFIX = "a_"


class ActivitySeries(Base):
    """A recurring organisational-life activity; occurrences are generated ahead."""

    __tablename__ = "activity_series"

    id: Mapped[int] = mapped_column(primary_key=True)
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), index=True)
    include_subunits: Mapped[bool] = mapped_column(default=False)
    kind: Mapped[ActivityKind] = mapped_column(_stored_enum(ActivityKind, "activity_kind"))
    title: Mapped[str] = mapped_column(String(TITLE_MAX))
    description: Mapped[str] = mapped_column(String(DESCRIPTION_MAX), default="")
    place: Mapped[str] = mapped_column(String(PLACE_MAX), default="")
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    check_in_by_qr: Mapped[bool] = mapped_column(default=True)
    check_in_by_code: Mapped[bool] = mapped_column(default=True)
    check_in_by_location: Mapped[bool] = mapped_column(default=False)
    check_in_radius_m: Mapped[int] = mapped_column(Integer, default=CHECK_IN_RADIUS_DEFAULT_M)
    walk_ins_allowed: Mapped[bool] = mapped_column(default=False)
    rule: Mapped[RecurrenceRule] = mapped_column(_stored_enum(RecurrenceRule, "recurrence_rule"))
    # Weekday (0 = Monday) for weekly, day of month (1-31) for monthly_day, else NULL.
    rule_day: Mapped[int | None] = mapped_column(Integer)
    local_time: Mapped[time] = mapped_column(Time)
    duration_minutes: Mapped[int] = mapped_column(Integer)
    timezone: Mapped[str] = mapped_column(String(64))
    starts_on: Mapped[date] = mapped_column(Date)
    # Set when the series stops: no more occurrences are generated.
    ended_at: Mapped[datetime | None]
    created_by: Mapped[TelegramId]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    def __repr__(self) -> str:
        return f"<ActivitySeries {self.id} {self.rule} unit={self.org_unit_id}>"


class Activity(Base):
    __tablename__ = "activities"
    __table_args__ = (
        # Generating occurrences twice (or at once) never duplicates one.
        UniqueConstraint("series_id", "starts_at"),
        CheckConstraint("capacity IS NULL OR seats_taken <= capacity", name="seats_within"),
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        # /stats: a scope's activities of a period (models.stats.grouped).
        Index("ix_activities_unit_starts", "org_unit_id", "starts_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), index=True)
    include_subunits: Mapped[bool] = mapped_column(default=False)
    kind: Mapped[ActivityKind] = mapped_column(_stored_enum(ActivityKind, "activity_kind"))
    title: Mapped[str] = mapped_column(String(TITLE_MAX))
    description: Mapped[str] = mapped_column(String(DESCRIPTION_MAX), default="")
    place: Mapped[str] = mapped_column(String(PLACE_MAX), default="")
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    starts_at: Mapped[datetime] = mapped_column(index=True)
    ends_at: Mapped[datetime]
    signup_deadline: Mapped[datetime | None]
    # NULL: unlimited (sign-up mode) or not applicable (expected mode).
    capacity: Mapped[int | None] = mapped_column(Integer)
    # Seats held (SEAT_STATUSES rows); changed only under the activity's row lock.
    seats_taken: Mapped[int] = mapped_column(Integer, default=0)
    # Last waitlist queue number handed out; only grows, so the order survives anything.
    waitlist_counter: Mapped[int] = mapped_column(Integer, default=0)
    pledge_kind: Mapped[PledgeKind] = mapped_column(
        _stored_enum(PledgeKind, "pledge_kind"), default=PledgeKind.none
    )
    cancel_cutoff_hours: Mapped[int] = mapped_column(Integer, default=2)
    status: Mapped[ActivityStatus] = mapped_column(
        _stored_enum(ActivityStatus, "activity_status"), default=ActivityStatus.scheduled
    )
    cancelled_at: Mapped[datetime | None]
    created_by: Mapped[TelegramId]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    series_id: Mapped[int | None] = mapped_column(
        ForeignKey("activity_series.id", ondelete="SET NULL"), index=True
    )
    share_code: Mapped[str] = mapped_column(String(16), unique=True)
    # How members may check in (the roster is always there), chosen by the creator.
    check_in_by_qr: Mapped[bool] = mapped_column(default=True)
    check_in_by_code: Mapped[bool] = mapped_column(default=True)
    check_in_by_location: Mapped[bool] = mapped_column(default=False)  # needs the venue's place
    check_in_radius_m: Mapped[int] = mapped_column(Integer, default=CHECK_IN_RADIUS_DEFAULT_M)
    # Check-in opens this long before the start and closes at the end.
    check_in_opens_minutes: Mapped[int] = mapped_column(
        Integer, default=CHECK_IN_OPENS_DEFAULT_MINUTES
    )
    # The short code read out at the venue: each activity its own, valid in the window.
    check_in_code: Mapped[str] = mapped_column(String(8))
    # Volunteer hours run from check-in to check-out (else the activity's full span).
    check_out_required: Mapped[bool] = mapped_column(default=False)
    # Members neither expected nor signed up may check in, recorded as walk-ins.
    walk_ins_allowed: Mapped[bool] = mapped_column(default=False)
    # Set when the record was closed after the end (models.attendance.closing).
    record_closed_at: Mapped[datetime | None]
    # The scheduler's marks (models.attendance.reminders), so that a scan reads an audience
    # only when something is due for it: when the audience was last told of it (later scans
    # tell only members who joined since), when the last reminders were queued, and when
    # its secretaries were told who never answered the invitation; and when the nudges to
    # answer were last queued (later scans nudge only members who joined since).
    announced_at: Mapped[datetime | None]
    reminded_at: Mapped[datetime | None]
    silence_reported_at: Mapped[datetime | None]
    nudges_queued_at: Mapped[datetime | None]

    # Read with the activity where its card needs it (lookup.get_activity), never lazily.
    unit: Mapped[OrgUnit] = relationship(lazy="raise_on_sql")

    @property
    def mode(self) -> ActivityMode:
        return mode_of(self.kind)

    @property
    def duration(self) -> timedelta:
        return self.ends_at - self.starts_at

    @property
    def check_in_opens_at(self) -> datetime:
        return self.starts_at - timedelta(minutes=self.check_in_opens_minutes)

    def __repr__(self) -> str:
        return f"<Activity {self.id} {self.kind} {self.starts_at:%Y-%m-%d %H:%M}>"


class Participation(Base):
    """One member's place in one activity: sign-up, waitlist, answer, leave, attendance."""

    __tablename__ = "participations"
    __table_args__ = (
        UniqueConstraint("activity_id", "member_id"),
        Index("ix_participations_activity_status", "activity_id", "status"),
        # The silent after a nudge: only the rows nudged long enough ago are read, not
        # every expected one of the activities (unanswered_after_nudge, each minute).
        Index("ix_participations_activity_status_nudged", "activity_id", "status", "nudged_at"),
        # /stats: every column an activity's outcomes, hours and pledges are summed from, read
        # from the index alone (the service columns are NULL, one byte, at meetings).
        Index(
            "ix_participations_activity_outcome",
            "activity_id",
            "status",
            "walk_in",
            "checked_in_at",
            "checked_out_at",
            "pledge_amount",
            "saplings_planted",
            "member_id",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    activity_id: Mapped[int] = mapped_column(ForeignKey("activities.id", ondelete="CASCADE"))
    # Forgotten members keep their rows (anonymous statistics).
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    status: Mapped[ParticipationStatus] = mapped_column(
        _stored_enum(ParticipationStatus, "participation_status")
    )
    # Waitlist order: queue_number (from activities.waitlist_counter), then id.
    queue_number: Mapped[int | None] = mapped_column(Integer)
    queued_at: Mapped[datetime | None]
    pledge_amount: Mapped[int | None] = mapped_column(BigInteger)
    leave_reason: Mapped[str | None] = mapped_column(String(200))
    decided_by: Mapped[TelegramId | None]
    decided_at: Mapped[datetime | None]
    checked_in_at: Mapped[datetime | None]
    check_in_method: Mapped[CheckInMethod | None] = mapped_column(
        _stored_enum(CheckInMethod, "check_in_method")
    )
    checked_in_latitude: Mapped[float | None] = mapped_column(Float)
    checked_in_longitude: Mapped[float | None] = mapped_column(Float)
    checked_out_at: Mapped[datetime | None]
    saplings_planted: Mapped[int | None] = mapped_column(Integer)
    walk_in: Mapped[bool] = mapped_column(default=False)  # neither expected nor signed up
    # 补学: the member says they made up for a missed meeting; a secretary confirms.
    made_up_reported_at: Mapped[datetime | None]
    made_up_note: Mapped[str | None] = mapped_column(String(200))
    responded_at: Mapped[datetime | None]
    nudged_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    activity: Mapped[Activity] = relationship(lazy="raise_on_sql")
    member: Mapped[Member] = relationship(lazy="raise_on_sql")

    def __repr__(self) -> str:
        return f"<Participation {self.id} a={self.activity_id} m={self.member_id} {self.status}>"
