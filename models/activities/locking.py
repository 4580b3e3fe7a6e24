"""Locking an activity's row before changing who holds a place, and the open check.

Every operation that changes who holds a seat or answers first calls
`lock_activity`; see models/activities/__init__.py for why that keeps the seat
counters and the waitlist order exact on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models.activities.tables import Activity, ActivityStatus
from models.errors import InvalidState, NotFound


async def lock_activity(session: AsyncSession, activity_id: int) -> Activity:
    """Lock the activity's row for the rest of the transaction and return it freshly read,
    in one statement.

    SELECT ... FOR UPDATE on PostgreSQL. SQLite has no row locks, and needs none: its
    transactions begin IMMEDIATE (models.db), holding the write lock throughout, so no
    other writer changes the row until this one ends (SQLAlchemy leaves FOR UPDATE out).
    """
    activity = await session.scalar(
        select(Activity)
        .where(Activity.id == activity_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if activity is None:
        raise NotFound("activity.not_found", f"no activity {activity_id}")
    return activity


def check_open(activity: Activity, now: datetime) -> None:
    """InvalidState activity.cancelled / activity.finished unless the activity is still open."""
    if activity.status is ActivityStatus.cancelled:
        raise InvalidState("activity.cancelled", f"activity {activity.id}")
    if now >= activity.ends_at:
        raise InvalidState("activity.finished", f"activity {activity.id}")
