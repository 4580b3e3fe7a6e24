"""Recurring organisational life: series (SeriesDraft, create_series) and their occurrences;
what /new publishes (publish_draft)."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from models.activities.drafts import ActivityDraft, clean_texts, validate_draft
from models.activities.lifecycle import create_activity, new_activity, new_share_code
from models.activities.tables import (
    CHECK_IN_RADIUS_DEFAULT_M,
    Activity,
    ActivityKind,
    ActivityMode,
    ActivitySeries,
    RecurrenceRule,
    mode_of,
)
from models.errors import InvalidInput
from models.org import get_unit
from models.permissions import Permission, require


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
    check_in_by_qr: bool = True
    check_in_by_code: bool = True
    check_in_by_location: bool = False
    check_in_radius_m: int = CHECK_IN_RADIUS_DEFAULT_M
    walk_ins_allowed: bool = False


# Carried from a series to each of its occurrences as they are.
SERIES_CHECK_IN_FIELDS = (
    "check_in_by_qr",
    "check_in_by_code",
    "check_in_by_location",
    "check_in_radius_m",
    "walk_ins_allowed",
)


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
    title, description, place = clean_texts(draft.title, draft.description, draft.place)
    series = ActivitySeries(
        org_unit_id=unit_id,
        include_subunits=draft.include_subunits,
        kind=kind,
        title=title,
        description=description,
        place=place,
        latitude=draft.latitude,
        longitude=draft.longitude,
        **{name: getattr(draft, name) for name in SERIES_CHECK_IN_FIELDS},
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
    session: AsyncSession,
    series: ActivitySeries,
    until: datetime,
    now: datetime,
    existing: set[datetime] | None = None,
) -> list[Activity]:
    """Create the series' missing future occurrences starting up to `until`; returns them.

    Idempotent: an occurrence that exists (even cancelled) is never made again.
    Times are computed in the series' time zone, so 19:00 stays 19:00 across DST;
    a local time that does not exist on a DST day resolves as zoneinfo does (fold=0).
    """
    if existing is None:  # `existing`: the series' starts after `now`, read by the caller
        existing = set(
            await session.scalars(select(Activity.starts_at).where(Activity.series_id == series.id))
        )
    return await _create_occurrences(
        session, [(series, _missing_occurrences(series, until, now, existing))], now
    )


def _missing_occurrences(
    series: ActivitySeries, until: datetime, now: datetime, existing: set[datetime]
) -> list[ActivityDraft]:
    if series.ended_at is not None:
        return []
    zone = ZoneInfo(series.timezone)
    first = max(series.starts_on, now.astimezone(zone).date())
    last = until.astimezone(zone).date()
    drafts: list[ActivityDraft] = []
    for day in occurrence_dates(series, first, last):
        starts_at = datetime.combine(day, series.local_time, tzinfo=zone).astimezone(UTC)
        if starts_at <= now or starts_at > until or starts_at in existing:
            continue
        drafts.append(
            ActivityDraft(
                kind=series.kind,
                title=series.title,
                starts_at=starts_at,
                ends_at=starts_at + timedelta(minutes=series.duration_minutes),
                description=series.description,
                place=series.place,
                latitude=series.latitude,
                longitude=series.longitude,
                include_subunits=series.include_subunits,
                **{name: getattr(series, name) for name in SERIES_CHECK_IN_FIELDS},
            )
        )
    return drafts


async def _create_occurrences(
    session: AsyncSession,
    wanted: list[tuple[ActivitySeries, list[ActivityDraft]]],
    now: datetime,
) -> list[Activity]:
    """The occurrences, all in one flush (the unique indexes check that none exists and
    that no share code is taken twice); when one does, because another run made it at the
    same moment, one at a time."""
    if not any(drafts for _, drafts in wanted):
        return []
    try:
        async with session.begin_nested():
            created = [
                await _occurrence(session, series, draft, now, new_share_code())
                for series, drafts in wanted
                for draft in drafts
            ]
            session.add_all(created)
        return created
    except IntegrityError:
        pass
    created = []
    for series, drafts in wanted:
        for draft in drafts:
            activity = await _occurrence(session, series, draft, now)
            try:
                async with session.begin_nested():
                    session.add(activity)
            except IntegrityError:
                continue  # this one exists
            created.append(activity)
    return created


async def _occurrence(
    session: AsyncSession,
    series: ActivitySeries,
    draft: ActivityDraft,
    now: datetime,
    share_code: str | None = None,
) -> Activity:
    unit, by = series.org_unit_id, series.created_by
    return await new_activity(session, unit, draft, by, now, series.id, share_code)


async def extend_all_series(session: AsyncSession, until: datetime, now: datetime) -> None:
    """Every series' occurrences up to `until` exist (the scheduler keeps them ahead): two
    queries when they do, however many series there are."""
    starts: dict[int, set[datetime]] = {}
    rows = await session.execute(
        select(Activity.series_id, Activity.starts_at).where(
            Activity.series_id.is_not(None), Activity.starts_at > now
        )
    )
    for series_id, starts_at in rows:
        starts.setdefault(series_id, set()).add(starts_at)  # type: ignore[arg-type]
    all_series = await session.scalars(
        select(ActivitySeries).where(ActivitySeries.ended_at.is_(None))
    )
    wanted = [
        (series, _missing_occurrences(series, until, now, starts.get(series.id, set())))
        for series in all_series
    ]
    await _create_occurrences(session, wanted, now)


GENERATE_AHEAD = timedelta(days=92)  # occurrences of a series that exist ahead of time


async def publish_draft(
    session: AsyncSession,
    creator_telegram_id: int,
    unit_id: int,
    draft: ActivityDraft,
    repeat: RecurrenceRule | None,
    zone: ZoneInfo,
    now: datetime,
) -> list[Activity]:
    """What /new publishes: one activity, or a series (repeating as the draft's start does,
    in the unit's time zone `zone`) with its first months of occurrences."""
    fields = validate_draft(draft, now)
    if repeat is None:
        return [await create_activity(session, creator_telegram_id, unit_id, fields, now)]
    local_start = fields.starts_at.astimezone(zone)
    rule_day = _rule_day(repeat, local_start)
    series = await create_series(
        session,
        creator_telegram_id,
        unit_id,
        SeriesDraft(
            kind=fields.kind,
            title=fields.title,
            rule=repeat,
            local_time=local_start.time(),
            duration_minutes=int((fields.ends_at - fields.starts_at).total_seconds() // 60),
            timezone=str(zone),
            starts_on=local_start.date(),
            rule_day=rule_day,
            description=fields.description,
            place=fields.place,
            latitude=fields.latitude,
            longitude=fields.longitude,
            include_subunits=fields.include_subunits,
            **{name: getattr(fields, name) for name in SERIES_CHECK_IN_FIELDS},
        ),
    )
    return await generate_occurrences(session, series, now + GENERATE_AHEAD, now)


def _rule_day(repeat: RecurrenceRule, local_start: datetime) -> int | None:
    """The day a series repeats on, from its first start: its weekday, or its day of month."""
    return {
        RecurrenceRule.weekly: local_start.weekday(),
        RecurrenceRule.monthly_day: local_start.day,
    }.get(repeat)


def series_starts(
    draft: ActivityDraft, repeat: RecurrenceRule, zone: ZoneInfo, now: datetime, count: int
) -> list[datetime]:
    """The first `count` starts of the series publish_draft would make of the draft (the
    last Friday of the month from the typed start is not the typed start): for the preview."""
    local_start = draft.starts_at.astimezone(zone)
    series = ActivitySeries(rule=repeat, rule_day=_rule_day(repeat, local_start))
    first = max(local_start.date(), now.astimezone(zone).date())
    last = (now + GENERATE_AHEAD).astimezone(zone).date()
    starts = [
        datetime.combine(day, local_start.time(), tzinfo=zone).astimezone(UTC)
        for day in occurrence_dates(series, first, last)
    ]
    return [start for start in starts if start > now][:count]
