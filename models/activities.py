"""Activities: organisational life (every member expected) and opt-in events with sign-up.

Two modes, derived from the kind:
- expected: 三会一课 and the theme day (主题党日). Every active member of the audience
  is expected; they answer Attend or Request leave (see models/attendance.py).
- signup: volunteer service, tree planting, other. Members sign up for a seat; when
  the seats are gone they are waitlisted, first come first served.

The audience is the activity's unit, and with `include_subunits` every unit below it.

Seats and the waitlist under concurrency (the same on SQLite and PostgreSQL):
every operation that changes who holds a seat first locks the activity's row with
an UPDATE (`_lock_activity`). On PostgreSQL that takes the row lock; on SQLite it
takes the database's write lock (busy_timeout makes the others wait). Everything
after it runs one at a time per activity and reads fresh state, so a member cannot
take two places and the counters on the row (`seats_taken`, `waitlist_counter`)
stay exact. The seat itself is claimed with a conditional UPDATE
(`... WHERE capacity IS NULL OR seats_taken < capacity`) whose rowcount decides
seat or waitlist, and a CHECK constraint keeps `seats_taken <= capacity` whatever
happens. Waitlist order is `queue_number`, handed out from `waitlist_counter` under
that lock: the order in which sign-ups were accepted, stored, so it survives restarts.

Organisational life is not materialised per member: a member's participation row
appears when they answer, check in, are nudged or marked by a secretary; who is
expected is computed from the memberships.
"""

from __future__ import annotations

import calendar
import enum
import math
import secrets
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Generic, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import icalendar
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
    func,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column, relationship, selectinload

from models.base import Base, TelegramId, stored_enum, utcnow
from models.errors import InvalidInput, InvalidState, NotFound
from models.members import Member, Membership, MembershipStatus
from models.org import ancestor_ids_from, descendant_ids_from, get_unit, parent_map
from models.permissions import Permission, require


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
    qr = "qr"
    location = "location"
    secretary = "secretary"


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

    @property
    def mode(self) -> ActivityMode:
        return mode_of(self.kind)

    @property
    def duration(self) -> timedelta:
        return self.ends_at - self.starts_at

    def __repr__(self) -> str:
        return f"<Activity {self.id} {self.kind} {self.starts_at:%Y-%m-%d %H:%M}>"


class Participation(Base):
    """One member's place in one activity: sign-up, waitlist, answer, leave, attendance."""

    __tablename__ = "participations"
    __table_args__ = (
        UniqueConstraint("activity_id", "member_id"),
        Index("ix_participations_activity_status", "activity_id", "status"),
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
    responded_at: Mapped[datetime | None]
    nudged_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    activity: Mapped[Activity] = relationship(lazy="raise_on_sql")
    member: Mapped[Member] = relationship(lazy="raise_on_sql")

    def __repr__(self) -> str:
        return f"<Participation {self.id} a={self.activity_id} m={self.member_id} {self.status}>"


# --- validating what a secretary typed ----------------------------------------------


@dataclass(frozen=True)
class ActivityDraft:
    """The fields of a new activity, as collected by the guided conversation."""

    kind: ActivityKind | str
    title: str
    starts_at: datetime
    ends_at: datetime
    description: str = ""
    place: str = ""
    latitude: float | None = None
    longitude: float | None = None
    signup_deadline: datetime | None = None
    capacity: int | None = None
    pledge_kind: PledgeKind | str = PledgeKind.none
    cancel_cutoff_hours: int = 2
    include_subunits: bool = False


EDITABLE_FIELDS = frozenset(f.name for f in fields(ActivityDraft)) - {"kind"}


def parse_capacity(text: str) -> int | None:
    """A typed capacity: empty means unlimited; else 1..10000, or InvalidInput capacity.invalid."""
    text = text.strip()
    if not text:
        return None
    if not text.isdecimal():
        raise InvalidInput("capacity", "capacity.invalid", detail="not a whole number")
    return _check_capacity(int(text))


def _check_capacity(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= CAPACITY_MAX:
        raise InvalidInput("capacity", "capacity.invalid", detail=f"1..{CAPACITY_MAX}")
    return value


def _clean_texts(title: str, description: str, place: str) -> tuple[str, str, str]:
    """Title (1-100), description (0-2000) and place (0-200), stripped."""
    title, description, place = title.strip(), description.strip(), place.strip()
    if not title:
        raise InvalidInput("title", "title.empty")
    if len(title) > TITLE_MAX:
        raise InvalidInput("title", "title.too_long", detail=f"at most {TITLE_MAX}")
    if len(description) > DESCRIPTION_MAX:
        raise InvalidInput(
            "description", "description.too_long", detail=f"at most {DESCRIPTION_MAX}"
        )
    if len(place) > PLACE_MAX:
        raise InvalidInput("place", "place.too_long", detail=f"at most {PLACE_MAX}")
    return title, description, place


def _aware(value: datetime, name: str) -> datetime:
    if value.tzinfo is None:
        raise InvalidInput(name, "time.naive", detail="give a timezone-aware time")
    return value.astimezone(UTC)


def validate_draft(
    draft: ActivityDraft, now: datetime, *, check_past: bool = True
) -> ActivityDraft:
    """The draft cleaned (stripped text, UTC times, enums), or InvalidInput with the reason."""
    try:
        kind = ActivityKind(draft.kind)
    except ValueError:
        raise InvalidInput(
            "kind", "kind.invalid", detail=f"one of {', '.join(ActivityKind)}"
        ) from None
    try:
        pledge_kind = PledgeKind(draft.pledge_kind)
    except ValueError:
        raise InvalidInput("pledge_kind", "pledge_kind.invalid") from None
    starts_at = _aware(draft.starts_at, "starts_at")
    ends_at = _aware(draft.ends_at, "ends_at")
    if check_past and starts_at <= now:
        raise InvalidInput("starts_at", "starts_at.past")
    if ends_at <= starts_at:
        raise InvalidInput("ends_at", "ends_at.before_start")
    deadline = draft.signup_deadline
    if deadline is not None:
        deadline = _aware(deadline, "signup_deadline")
        if deadline > starts_at:
            raise InvalidInput("signup_deadline", "signup_deadline.after_start")
    capacity = draft.capacity
    if mode_of(kind) is ActivityMode.expected:
        # Everyone in the audience is expected: seats, deadlines and pledges make no sense.
        if capacity is not None:
            raise InvalidInput("capacity", "capacity.not_for_expected")
        if pledge_kind is not PledgeKind.none:
            raise InvalidInput("pledge_kind", "pledge_kind.not_for_expected")
        deadline = None
    elif capacity is not None:
        capacity = _check_capacity(capacity)
    for name, value, limit in (
        ("latitude", draft.latitude, 90),
        ("longitude", draft.longitude, 180),
    ):
        if value is not None and (isinstance(value, bool) or not -limit <= value <= limit):
            raise InvalidInput(name, "location.invalid", detail=f"-{limit}..{limit}")
    if (draft.latitude is None) != (draft.longitude is None):
        raise InvalidInput("latitude", "location.invalid", detail="give both or neither")
    cutoff = draft.cancel_cutoff_hours
    if isinstance(cutoff, bool) or not isinstance(cutoff, int):
        raise InvalidInput("cancel_cutoff_hours", "cancel_cutoff.invalid")
    if not 0 <= cutoff <= CANCEL_CUTOFF_MAX_HOURS:
        raise InvalidInput("cancel_cutoff_hours", "cancel_cutoff.invalid")
    title, description, place = _clean_texts(draft.title, draft.description, draft.place)
    return replace(
        draft,
        kind=kind,
        title=title,
        description=description,
        place=place,
        starts_at=starts_at,
        ends_at=ends_at,
        signup_deadline=deadline,
        capacity=capacity,
        pledge_kind=pledge_kind,
        latitude=None if draft.latitude is None else float(draft.latitude),
        longitude=None if draft.longitude is None else float(draft.longitude),
    )


# --- creating, reading, editing, cancelling --------------------------------------------


def share_payload(activity: Activity) -> str:
    """The /start deep-link payload that opens the activity's card ("a_<code>")."""
    return SHARE_PAYLOAD_PREFIX + activity.share_code


async def _unused_share_code(session: AsyncSession) -> str:
    while True:
        code = secrets.token_urlsafe(6)  # 8 characters of A-Za-z0-9_-
        taken = await session.scalar(select(Activity.id).where(Activity.share_code == code))
        if taken is None:
            return code


async def _new_activity(
    session: AsyncSession,
    unit_id: int,
    draft: ActivityDraft,
    creator: int,
    now: datetime,
    series_id: int | None = None,
) -> Activity:
    values = {f.name: getattr(draft, f.name) for f in fields(ActivityDraft)}
    return Activity(
        org_unit_id=unit_id,
        created_by=creator,
        created_at=now,
        updated_at=now,
        series_id=series_id,
        share_code=await _unused_share_code(session),
        seats_taken=0,
        waitlist_counter=0,
        status=ActivityStatus.scheduled,
        **values,
    )


async def create_activity(
    session: AsyncSession,
    creator_telegram_id: int,
    unit_id: int,
    draft: ActivityDraft,
    now: datetime,
) -> Activity:
    """Schedule an activity for the unit (manage_activities there); InvalidInput on bad fields."""
    await get_unit(session, unit_id)
    await require(session, creator_telegram_id, Permission.manage_activities, unit_id)
    activity = await _new_activity(
        session, unit_id, validate_draft(draft, now), creator_telegram_id, now
    )
    session.add(activity)
    await session.flush()
    return activity


async def get_activity(session: AsyncSession, activity_id: int) -> Activity:
    activity = await session.get(Activity, activity_id)
    if activity is None:
        raise NotFound("activity.not_found", f"no activity {activity_id}")
    return activity


async def activity_by_share_code(session: AsyncSession, code: str) -> Activity:
    """The activity of a share code (without the "a_" prefix)."""
    activity = await session.scalar(select(Activity).where(Activity.share_code == code))
    if activity is None:
        raise NotFound("activity.not_found", "no activity has this share code")
    return activity


async def _lock_activity(session: AsyncSession, activity_id: int) -> Activity:
    """Lock the activity's row for the rest of the transaction and return it freshly read.

    An UPDATE rather than SELECT ... FOR UPDATE: SQLite has no row locks, and an
    UPDATE is what takes its write lock (waiting for busy_timeout) on both databases.
    """
    result = await session.execute(
        update(Activity)
        .where(Activity.id == activity_id)
        .values(seats_taken=Activity.seats_taken)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise NotFound("activity.not_found", f"no activity {activity_id}")
    activity = await session.get(Activity, activity_id, populate_existing=True)
    assert activity is not None
    return activity


def _check_open(activity: Activity, now: datetime) -> None:
    if activity.status is ActivityStatus.cancelled:
        raise InvalidState("activity.cancelled", f"activity {activity.id}")
    if now >= activity.ends_at:
        raise InvalidState("activity.finished", f"activity {activity.id}")


@dataclass
class ActivityUpdate:
    activity: Activity
    # field → (old, new), only for fields whose value changed.
    changed: dict[str, tuple[Any, Any]]
    # Everyone signed up, waitlisted or expected: tell them what changed.
    affected_telegram_ids: list[int]
    # Waitlisted members who got a seat because capacity grew: tell them.
    promoted: list[Member] = field(default_factory=list)


async def update_activity(
    session: AsyncSession,
    activity_id: int,
    editor_telegram_id: int,
    now: datetime,
    **changes: Any,
) -> ActivityUpdate:
    """Edit fields (any of ActivityDraft's but kind); returns what changed and whom to tell.

    InvalidInput as for creating (a new start must be in the future), "capacity.below_taken"
    when fewer seats than members signed up; InvalidState activity.cancelled / finished.
    """
    unknown = set(changes) - EDITABLE_FIELDS
    if unknown:
        raise InvalidInput(sorted(unknown)[0], "activity.not_editable")
    activity = await _lock_activity(session, activity_id)
    await require(session, editor_telegram_id, Permission.manage_activities, activity.org_unit_id)
    _check_open(activity, now)
    current = ActivityDraft(**{f.name: getattr(activity, f.name) for f in fields(ActivityDraft)})
    new_start = changes.get("starts_at")
    draft = validate_draft(
        replace(current, **changes),
        now,
        check_past=new_start is not None and new_start != activity.starts_at,
    )
    if draft.capacity is not None and draft.capacity < activity.seats_taken:
        raise InvalidInput(
            "capacity", "capacity.below_taken", detail=f"{activity.seats_taken} signed up"
        )
    changed: dict[str, tuple[Any, Any]] = {}
    for name in EDITABLE_FIELDS:
        old, new = getattr(activity, name), getattr(draft, name)
        if old != new:
            changed[name] = (old, new)
            setattr(activity, name, new)
    if changed:
        activity.updated_at = now
    await session.flush()
    promoted = await _fill_seats(session, activity, now) if "capacity" in changed else []
    affected = await _affected_telegram_ids(session, activity)
    return ActivityUpdate(activity, changed, affected, promoted)


async def cancel_activity(
    session: AsyncSession, activity_id: int, canceller_telegram_id: int, now: datetime
) -> list[int]:
    """Cancel the activity; returns the telegram ids of everyone who should hear of it."""
    activity = await _lock_activity(session, activity_id)
    await require(
        session, canceller_telegram_id, Permission.manage_activities, activity.org_unit_id
    )
    _check_open(activity, now)
    affected = await _affected_telegram_ids(session, activity)
    activity.status = ActivityStatus.cancelled
    activity.cancelled_at = now
    activity.updated_at = now
    await session.flush()
    return affected


# --- audiences ----------------------------------------------------------------------


async def audience_unit_ids(session: AsyncSession, activity: Activity) -> set[int]:
    if not activity.include_subunits:
        return {activity.org_unit_id}
    return descendant_ids_from(await parent_map(session), activity.org_unit_id)


async def _active_unit_ids(session: AsyncSession, member_id: int) -> set[int]:
    rows = await session.scalars(
        select(Membership.org_unit_id).where(
            Membership.member_id == member_id, Membership.status == MembershipStatus.active
        )
    )
    return set(rows)


async def in_audience(session: AsyncSession, activity: Activity, member_id: int) -> bool:
    return bool(
        await _active_unit_ids(session, member_id) & await audience_unit_ids(session, activity)
    )


async def _check_audience(session: AsyncSession, activity: Activity, member: Member) -> None:
    if member.forgotten_at is not None or not await in_audience(session, activity, member.id):
        raise InvalidState("activity.not_in_audience", f"member {member.id}")


async def expected_members(session: AsyncSession, activity: Activity) -> list[Member]:
    """Active members of the audience units (each once), by name."""
    units = await audience_unit_ids(session, activity)
    active_here = select(Membership.member_id).where(
        Membership.status == MembershipStatus.active, Membership.org_unit_id.in_(units)
    )
    rows = await session.scalars(
        select(Member).where(Member.id.in_(active_here)).order_by(Member.real_name, Member.id)
    )
    return list(rows)


async def _affected_telegram_ids(session: AsyncSession, activity: Activity) -> list[int]:
    """Whoever holds or waits for a place, and in expected mode everyone expected."""
    holding = {
        ParticipationStatus.signed_up,
        ParticipationStatus.waitlisted,
        ParticipationStatus.attending,
        ParticipationStatus.leave_requested,
        ParticipationStatus.expected,
        ParticipationStatus.leave_declined,
    }
    rows = await session.scalars(
        select(Member.telegram_id)
        .join(Participation, Participation.member_id == Member.id)
        .where(Participation.activity_id == activity.id, Participation.status.in_(holding))
    )
    ids = {tg for tg in rows if tg is not None}
    if activity.mode is ActivityMode.expected:
        excused = set(
            await session.scalars(
                select(Participation.member_id).where(
                    Participation.activity_id == activity.id,
                    Participation.status == ParticipationStatus.excused,
                )
            )
        )
        for member in await expected_members(session, activity):
            if member.telegram_id is not None and member.id not in excused:
                ids.add(member.telegram_id)
    return sorted(ids)


# --- what members and secretaries see --------------------------------------------------


T = TypeVar("T")


@dataclass(frozen=True)
class MemberActivity:
    activity: Activity
    participation: Participation | None


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    total: int
    page: int  # 1-based, clamped to 1..pages
    pages: int  # at least 1


def _clamp(total: int, page: int, page_size: int) -> tuple[int, int]:
    pages = max(1, math.ceil(total / page_size))
    return min(max(page, 1), pages), pages


async def upcoming_for_member(
    session: AsyncSession, member: Member, now: datetime, page: int = 1, page_size: int = 5
) -> Page[MemberActivity]:
    """Scheduled activities not yet ended whose audience covers the member, soonest first."""
    own_units = await _active_unit_ids(session, member.id)
    parents = await parent_map(session)
    above = {a for unit in own_units for a in ancestor_ids_from(parents, unit)}
    query = select(Activity).where(
        Activity.status == ActivityStatus.scheduled,
        Activity.ends_at > now,
        or_(
            Activity.org_unit_id.in_(own_units),
            Activity.include_subunits.is_(True) & Activity.org_unit_id.in_(above),
        ),
    )
    total = await session.scalar(select(func.count()).select_from(query.subquery())) or 0
    page, pages = _clamp(total, page, page_size)
    activities = list(
        await session.scalars(
            query.order_by(Activity.starts_at, Activity.id)
            .offset((page - 1) * page_size)
            .limit(page_size)
        )
    )
    mine = {
        p.activity_id: p
        for p in await session.scalars(
            select(Participation).where(
                Participation.member_id == member.id,
                Participation.activity_id.in_([a.id for a in activities]),
            )
        )
    }
    items = [MemberActivity(a, mine.get(a.id)) for a in activities]
    return Page(items, total, page, pages)


@dataclass(frozen=True)
class ActivityCounts:
    activity: Activity
    signed_up: int
    waitlisted: int
    expected: int  # organisational life: members of the audience; else 0
    attending: int
    leave_requested: int
    excused: int
    no_answer: int  # organisational life: expected members without an answer


async def activity_counts(session: AsyncSession, activity: Activity) -> ActivityCounts:
    rows = await session.execute(
        select(Participation.status, func.count())
        .where(Participation.activity_id == activity.id)
        .group_by(Participation.status)
    )
    by_status = {ParticipationStatus(status): count for status, count in rows}
    expected = no_answer = 0
    if activity.mode is ActivityMode.expected:
        expected = len(await expected_members(session, activity))
        no_answer = len(await not_answered(session, activity.id))
    return ActivityCounts(
        activity=activity,
        signed_up=by_status.get(ParticipationStatus.signed_up, 0),
        waitlisted=by_status.get(ParticipationStatus.waitlisted, 0),
        expected=expected,
        attending=by_status.get(ParticipationStatus.attending, 0),
        leave_requested=by_status.get(ParticipationStatus.leave_requested, 0),
        excused=by_status.get(ParticipationStatus.excused, 0),
        no_answer=no_answer,
    )


async def activities_for_units(
    session: AsyncSession,
    unit_ids: set[int] | None,
    now: datetime,
    page: int = 1,
    page_size: int = 5,
    include_past: bool = False,
) -> Page[ActivityCounts]:
    """The units' activities with counts, soonest first (unit_ids None: every unit).

    Pass `managed_unit_ids(session, tg, Permission.manage_activities)`. Without
    `include_past`, only scheduled activities that have not ended.
    """
    query = select(Activity)
    if unit_ids is not None:
        query = query.where(Activity.org_unit_id.in_(unit_ids))
    if not include_past:
        query = query.where(Activity.status == ActivityStatus.scheduled, Activity.ends_at > now)
    total = await session.scalar(select(func.count()).select_from(query.subquery())) or 0
    page, pages = _clamp(total, page, page_size)
    order = (Activity.starts_at, Activity.id) if not include_past else (Activity.starts_at.desc(),)
    activities = await session.scalars(
        query.order_by(*order).offset((page - 1) * page_size).limit(page_size)
    )
    items = [await activity_counts(session, a) for a in activities]
    return Page(items, total, page, pages)


async def participations_of(
    session: AsyncSession, activity_id: int, statuses: set[ParticipationStatus] | None = None
) -> list[Participation]:
    """The activity's rows (with members), waitlist order first, then by name."""
    query = (
        select(Participation)
        .join(Member, Member.id == Participation.member_id)
        .where(Participation.activity_id == activity_id)
        .options(selectinload(Participation.member))
        .order_by(Participation.queue_number, Member.real_name, Participation.id)
    )
    if statuses:
        query = query.where(Participation.status.in_(statuses))
    return list(await session.scalars(query))


async def participation_of(
    session: AsyncSession, activity_id: int, member_id: int
) -> Participation | None:
    return await session.scalar(
        select(Participation).where(
            Participation.activity_id == activity_id, Participation.member_id == member_id
        )
    )


async def not_answered(session: AsyncSession, activity_id: int) -> list[Member]:
    """Members expected at an organisational-life activity who have not answered."""
    activity = await get_activity(session, activity_id)
    answered = set(
        await session.scalars(
            select(Participation.member_id).where(
                Participation.activity_id == activity_id,
                Participation.status != ParticipationStatus.expected,
            )
        )
    )
    return [m for m in await expected_members(session, activity) if m.id not in answered]


# --- sign-up and the waitlist -------------------------------------------------------


def _clean_pledge(activity: Activity, pledge: int | str | None) -> int | None:
    if pledge is None or (isinstance(pledge, str) and not pledge.strip()):
        return None
    if activity.pledge_kind is PledgeKind.none:
        raise InvalidInput("pledge", "pledge.not_accepted")
    if isinstance(pledge, str):
        pledge = pledge.strip()
        if not pledge.isdecimal():
            raise InvalidInput("pledge", "pledge.invalid", detail="a whole number")
        pledge = int(pledge)
    if isinstance(pledge, bool) or not 0 < pledge <= PLEDGE_MAX:
        raise InvalidInput("pledge", "pledge.invalid", detail=f"1..{PLEDGE_MAX}")
    return pledge


async def _claim_seat(session: AsyncSession, activity: Activity) -> bool:
    """Take a seat if one is free; the conditional UPDATE's rowcount decides."""
    result = await session.execute(
        update(Activity)
        .where(
            Activity.id == activity.id,
            or_(Activity.capacity.is_(None), Activity.seats_taken < Activity.capacity),
        )
        .values(seats_taken=Activity.seats_taken + 1)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount == 1:
        await session.refresh(activity, ["seats_taken"])
        return True
    return False


async def _next_queue_number(session: AsyncSession, activity: Activity) -> int:
    await session.execute(
        update(Activity)
        .where(Activity.id == activity.id)
        .values(waitlist_counter=Activity.waitlist_counter + 1)
        .execution_options(synchronize_session=False)
    )
    await session.refresh(activity, ["waitlist_counter"])
    return activity.waitlist_counter


async def sign_up(
    session: AsyncSession,
    activity_id: int,
    member: Member,
    now: datetime,
    pledge: int | str | None = None,
) -> Participation:
    """Take a seat (signed_up) or, when they are gone, a place on the waitlist (waitlisted).

    InvalidState: activity.not_signup, activity.cancelled, activity.finished,
    signup.deadline_passed (the deadline, else the start), activity.not_in_audience,
    signup.already. InvalidInput pledge.invalid / pledge.not_accepted.
    """
    activity = await _lock_activity(session, activity_id)
    if activity.mode is not ActivityMode.signup:
        raise InvalidState("activity.not_signup", f"activity {activity_id}")
    _check_open(activity, now)
    if now > (activity.signup_deadline or activity.starts_at):
        raise InvalidState("signup.deadline_passed", f"activity {activity_id}")
    await _check_audience(session, activity, member)
    amount = _clean_pledge(activity, pledge)
    existing = await participation_of(session, activity_id, member.id)
    if existing is not None and existing.status is not ParticipationStatus.cancelled:
        raise InvalidState("signup.already", f"{existing.status}")
    values: dict[str, Any] = {"pledge_amount": amount, "updated_at": now, "responded_at": now}
    if await _claim_seat(session, activity):
        values |= {"status": ParticipationStatus.signed_up, "queue_number": None}
        values["queued_at"] = None
    else:
        values |= {
            "status": ParticipationStatus.waitlisted,
            "queue_number": await _next_queue_number(session, activity),
            "queued_at": now,
        }
    if existing is None:
        existing = Participation(
            activity_id=activity_id, member_id=member.id, created_at=now, **values
        )
        session.add(existing)
    else:
        for key, value in values.items():
            setattr(existing, key, value)
    try:
        await session.flush()
    except IntegrityError:
        # Cannot happen while the lock above is held; the unique constraint is the backstop.
        raise InvalidState("signup.already", "concurrent sign-up") from None
    return existing


# Joining the waitlist explicitly is signing up: a seat freed meanwhile is taken.
join_waitlist = sign_up


async def _fill_seats(session: AsyncSession, activity: Activity, now: datetime) -> list[Member]:
    """Give free seats to the first waitlisted members, in order. Call with the row locked."""
    promoted: list[Member] = []
    while True:
        first = await session.scalar(
            select(Participation)
            .where(
                Participation.activity_id == activity.id,
                Participation.status == ParticipationStatus.waitlisted,
            )
            .order_by(Participation.queue_number, Participation.id)
            .limit(1)
            .options(selectinload(Participation.member))
        )
        if first is None or not await _claim_seat(session, activity):
            return promoted
        first.status = ParticipationStatus.signed_up
        first.updated_at = now
        await session.flush()
        promoted.append(first.member)


async def cancel_signup(
    session: AsyncSession, activity_id: int, member: Member, now: datetime
) -> Member | None:
    """Give up a seat or leave the waitlist; returns the member promoted to the seat, if any.

    A seat may not be given up later than `cancel_cutoff_hours` before the start
    (InvalidState signup.cutoff_passed); leaving the waitlist is always fine.
    InvalidState signup.not_signed_up when the member holds neither.
    """
    activity = await _lock_activity(session, activity_id)
    _check_open(activity, now)
    participation = await participation_of(session, activity_id, member.id)
    if participation is None or participation.status not in (
        ParticipationStatus.signed_up,
        ParticipationStatus.waitlisted,
    ):
        raise InvalidState("signup.not_signed_up", f"member {member.id}")
    had_seat = participation.status is ParticipationStatus.signed_up
    if had_seat and now > activity.starts_at - timedelta(hours=activity.cancel_cutoff_hours):
        raise InvalidState("signup.cutoff_passed", f"{activity.cancel_cutoff_hours} hours")
    participation.status = ParticipationStatus.cancelled
    participation.queue_number = None
    participation.updated_at = now
    if not had_seat:
        await session.flush()
        return None
    activity.seats_taken -= 1  # safe: the row is locked
    await session.flush()
    promoted = await _fill_seats(session, activity, now)
    return promoted[0] if promoted else None


async def waitlist_position(session: AsyncSession, activity_id: int, member: Member) -> int | None:
    """1 for the first waiting member; None when not waitlisted."""
    mine = await participation_of(session, activity_id, member.id)
    if mine is None or mine.status is not ParticipationStatus.waitlisted:
        return None
    ahead = await session.scalar(
        select(func.count()).where(
            Participation.activity_id == activity_id,
            Participation.status == ParticipationStatus.waitlisted,
            or_(
                Participation.queue_number < mine.queue_number,
                (Participation.queue_number == mine.queue_number) & (Participation.id < mine.id),
            ),
        )
    )
    return (ahead or 0) + 1


async def seats_left(session: AsyncSession, activity_id: int) -> int | None:
    """Free seats now (None: unlimited)."""
    row = (
        await session.execute(
            select(Activity.capacity, Activity.seats_taken).where(Activity.id == activity_id)
        )
    ).one_or_none()
    if row is None:
        raise NotFound("activity.not_found", f"no activity {activity_id}")
    capacity, taken = row
    return None if capacity is None else max(0, capacity - taken)


async def waitlist_length(session: AsyncSession, activity_id: int) -> int:
    count = await session.scalar(
        select(func.count()).where(
            Participation.activity_id == activity_id,
            Participation.status == ParticipationStatus.waitlisted,
        )
    )
    return count or 0


# --- recurrence -------------------------------------------------------------------------


@dataclass(frozen=True)
class SeriesDraft:
    kind: ActivityKind | str
    title: str
    rule: RecurrenceRule | str
    local_time: time
    duration_minutes: int
    timezone: str
    starts_on: date
    rule_day: int | None = None
    description: str = ""
    place: str = ""
    latitude: float | None = None
    longitude: float | None = None
    include_subunits: bool = False


async def create_series(
    session: AsyncSession, creator_telegram_id: int, unit_id: int, draft: SeriesDraft
) -> ActivitySeries:
    """A recurring organisational-life activity; call generate_occurrences afterwards.

    InvalidInput: kind.not_recurring (sign-up kinds), rule.invalid, rule_day.invalid,
    duration.invalid, timezone.invalid, and the text checks of activities.
    """
    await get_unit(session, unit_id)
    await require(session, creator_telegram_id, Permission.manage_activities, unit_id)
    try:
        kind = ActivityKind(draft.kind)
        rule = RecurrenceRule(draft.rule)
    except ValueError:
        raise InvalidInput("rule", "rule.invalid") from None
    if mode_of(kind) is not ActivityMode.expected:
        raise InvalidInput("kind", "kind.not_recurring")
    day_range = {RecurrenceRule.weekly: range(7), RecurrenceRule.monthly_day: range(1, 32)}
    allowed = day_range.get(rule)
    if (allowed is None) != (draft.rule_day is None) or (
        allowed is not None and draft.rule_day not in allowed
    ):
        raise InvalidInput("rule_day", "rule_day.invalid")
    if not 0 < draft.duration_minutes <= 24 * 60:
        raise InvalidInput("duration_minutes", "duration.invalid")
    try:
        ZoneInfo(draft.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput("timezone", "timezone.invalid") from None
    title, description, place = _clean_texts(draft.title, draft.description, draft.place)
    series = ActivitySeries(
        org_unit_id=unit_id,
        include_subunits=draft.include_subunits,
        kind=kind,
        title=title,
        description=description,
        place=place,
        latitude=draft.latitude,
        longitude=draft.longitude,
        rule=rule,
        rule_day=draft.rule_day,
        local_time=draft.local_time.replace(tzinfo=None),
        duration_minutes=draft.duration_minutes,
        timezone=draft.timezone,
        starts_on=draft.starts_on,
        created_by=creator_telegram_id,
    )
    session.add(series)
    await session.flush()
    return series


def occurrence_dates(series: ActivitySeries, first: date, last: date) -> list[date]:
    """The series' dates from `first` to `last` (both included), in its own calendar."""
    result: list[date] = []
    if series.rule is RecurrenceRule.weekly:
        assert series.rule_day is not None
        day = first + timedelta(days=(series.rule_day - first.weekday()) % 7)
        while day <= last:
            result.append(day)
            day += timedelta(days=7)
        return result
    year, month = first.year, first.month
    while date(year, month, 1) <= last:
        month_days = calendar.monthrange(year, month)[1]
        if series.rule is RecurrenceRule.last_friday_monthly:
            last_day = date(year, month, month_days)
            day = last_day - timedelta(days=(last_day.weekday() - calendar.FRIDAY) % 7)
        else:
            assert series.rule_day is not None
            day = date(year, month, min(series.rule_day, month_days))  # 31 → 30 in April
        if first <= day <= last:
            result.append(day)
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return result


async def generate_occurrences(
    session: AsyncSession, series: ActivitySeries, until: datetime, now: datetime
) -> list[Activity]:
    """Create the series' missing future occurrences starting up to `until`; returns them.

    Idempotent: an occurrence that exists (even cancelled) is never made again.
    Times are computed in the series' time zone, so 19:00 stays 19:00 across DST;
    a local time that does not exist on a DST day resolves as zoneinfo does (fold=0).
    """
    if series.ended_at is not None:
        return []
    zone = ZoneInfo(series.timezone)
    first = max(series.starts_on, now.astimezone(zone).date())
    last = until.astimezone(zone).date()
    existing = set(
        await session.scalars(select(Activity.starts_at).where(Activity.series_id == series.id))
    )
    created: list[Activity] = []
    for day in occurrence_dates(series, first, last):
        starts_at = datetime.combine(day, series.local_time, tzinfo=zone).astimezone(UTC)
        if starts_at <= now or starts_at > until or starts_at in existing:
            continue
        draft = ActivityDraft(
            kind=series.kind,
            title=series.title,
            starts_at=starts_at,
            ends_at=starts_at + timedelta(minutes=series.duration_minutes),
            description=series.description,
            place=series.place,
            latitude=series.latitude,
            longitude=series.longitude,
            include_subunits=series.include_subunits,
        )
        activity = await _new_activity(
            session, series.org_unit_id, draft, series.created_by, now, series.id
        )
        try:
            async with session.begin_nested():
                session.add(activity)
        except IntegrityError:
            continue  # another run made it at the same moment
        created.append(activity)
    return created


# --- calendar file ----------------------------------------------------------------------


def ics_for(activity: Activity, timezone: str = "Asia/Shanghai") -> bytes:
    """An iCalendar file with the activity ("Add to calendar"); times in UTC.

    The UID is stable per activity, so importing an edited activity again updates it.
    """
    cal = icalendar.Calendar()
    cal.add("prodid", "-//branchbot//activities//EN")
    cal.add("version", "2.0")
    cal.add("x-wr-timezone", timezone)
    if activity.status is ActivityStatus.cancelled:
        cal.add("method", "CANCEL")
    event = icalendar.Event()
    event.add("uid", f"activity-{activity.id}@branchbot")
    event.add("dtstamp", activity.updated_at.astimezone(UTC))
    event.add("dtstart", activity.starts_at.astimezone(UTC))
    event.add("dtend", activity.ends_at.astimezone(UTC))
    event.add("summary", activity.title)
    if activity.place:
        event.add("location", activity.place)
    if activity.description:
        event.add("description", activity.description)
    if activity.latitude is not None and activity.longitude is not None:
        event.add("geo", (activity.latitude, activity.longitude))
    if activity.status is ActivityStatus.cancelled:
        event.add("status", "CANCELLED")
    cal.add_component(event)
    return cal.to_ical()
