"""Creating, editing and cancelling an activity (the secretary's side of its life)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field, fields, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models.activities.audience import affected_telegram_ids
from models.activities.drafts import (
    CHECK_IN_FIELDS,
    EDITABLE_FIELDS,
    TYPED_TEXTS,
    ActivityDraft,
    validate_draft,
)
from models.activities.locking import check_open, lock_activity
from models.activities.signup import fill_seats
from models.activities.tables import CHECK_IN_CODE_DIGITS, Activity, ActivityStatus
from models.errors import InvalidInput
from models.members import Member
from models.notifications import ActivityCancelled, ActivityChanged, SeatFreed, notify_each
from models.org import get_unit
from models.permissions import Permission, require

# A change or cancellation this close to the start cannot wait for the end of quiet hours.
URGENT_WITHIN = timedelta(hours=24)
# What members are not shown of an activity (the map pin, how check-in works): a change
# of these alone is not worth a message to everyone.
UNSEEN_FIELDS = frozenset({"latitude", "longitude", *CHECK_IN_FIELDS})


def new_share_code() -> str:
    """8 characters of A-Za-z0-9_-: 48 random bits, so two codes are almost never the same
    (the unique index refuses the second)."""
    return secrets.token_urlsafe(6)


async def _unused_share_code(session: AsyncSession) -> str:
    while True:
        code = new_share_code()
        taken = await session.scalar(select(Activity.id).where(Activity.share_code == code))
        if taken is None:
            return code


def new_check_in_code() -> str:
    """The short code read out at the venue: CHECK_IN_CODE_DIGITS random digits."""
    return f"{secrets.randbelow(10**CHECK_IN_CODE_DIGITS):0{CHECK_IN_CODE_DIGITS}d}"


async def new_activity(
    session: AsyncSession,
    unit_id: int,
    draft: ActivityDraft,
    creator: int,
    now: datetime,
    series_id: int | None = None,
    share_code: str | None = None,
) -> Activity:
    """An unsaved, scheduled Activity from a validated draft, with a fresh share code
    (one not in use, unless the caller gives one: then the unique index is the check).

    Shared by create_activity and the occurrences of a series (generate_occurrences).
    """
    values = {f.name: getattr(draft, f.name) for f in fields(ActivityDraft)}
    return Activity(
        org_unit_id=unit_id,
        created_by=creator,
        created_at=now,
        updated_at=now,
        series_id=series_id,
        share_code=share_code or await _unused_share_code(session),
        check_in_code=new_check_in_code(),
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
    activity = await new_activity(
        session, unit_id, validate_draft(draft, now), creator_telegram_id, now
    )
    session.add(activity)
    await session.flush()
    return activity


@dataclass
class ActivityUpdate:
    activity: Activity
    # field → (old, new), only for fields whose value changed.
    changed: dict[str, tuple[Any, Any]]
    # Everyone signed up, waitlisted or expected, told what changed: nobody when nothing
    # they are shown changed.
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
    """Edit fields (any of ActivityDraft's but kind); returns what changed and whom it told
    (members are told only of what they are shown: not of UNSEEN_FIELDS).

    InvalidInput as for creating (a new start must be in the future; a title, place or
    description that shows nothing is refused: title.empty, ...), "capacity.below_taken"
    when fewer seats than members signed up; InvalidState activity.cancelled / finished.
    """
    unknown = set(changes) - EDITABLE_FIELDS
    if unknown:
        raise InvalidInput(sorted(unknown)[0], "activity.not_editable")
    # A text changed to nothing shown (spaces only, say) is refused, not stored as empty.
    changes |= {name: TYPED_TEXTS[name](changes[name]) for name in TYPED_TEXTS if name in changes}
    activity = await lock_activity(session, activity_id)
    await require(session, editor_telegram_id, Permission.manage_activities, activity.org_unit_id)
    check_open(activity, now)
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
    promoted = await fill_seats(session, activity, now) if "capacity" in changed else []
    seen = set(changed) - UNSEEN_FIELDS
    affected = await affected_telegram_ids(session, activity) if seen else []
    unit = await get_unit(session, activity.org_unit_id)
    urgent = activity.starts_at - now < URGENT_WITHIN
    notify_each(session, affected, ActivityChanged(activity), unit, urgent=urgent)
    notify_each(session, [m.telegram_id for m in promoted], SeatFreed(activity), unit)
    return ActivityUpdate(activity, changed, affected, promoted)


async def cancel_activity(
    session: AsyncSession, activity_id: int, canceller_telegram_id: int, now: datetime
) -> list[int]:
    """Cancel the activity; everyone concerned is told (their telegram ids are returned)."""
    activity = await lock_activity(session, activity_id)
    await require(
        session, canceller_telegram_id, Permission.manage_activities, activity.org_unit_id
    )
    check_open(activity, now)
    affected = await affected_telegram_ids(session, activity)
    activity.status = ActivityStatus.cancelled
    activity.cancelled_at = now
    activity.updated_at = now
    await session.flush()
    unit = await get_unit(session, activity.org_unit_id)
    urgent = activity.starts_at - now < URGENT_WITHIN
    notify_each(session, affected, ActivityCancelled(activity), unit, urgent=urgent)
    return affected
