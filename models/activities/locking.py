"""Locking an activity's row before changing who holds a place, and the open check.

Every operation that changes who holds a seat or answers first calls
`lock_activity`; see models/activities/__init__.py for why that keeps the seat
counters and the waitlist order exact on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from models.activities.tables import Activity, ActivityStatus
from models.errors import InvalidState, NotFound


async def lock_activity(session: AsyncSession, activity_id: int) -> Activity:
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


def check_open(activity: Activity, now: datetime) -> None:
    """InvalidState activity.cancelled / activity.finished unless the activity is still open."""
    if activity.status is ActivityStatus.cancelled:
        raise InvalidState("activity.cancelled", f"activity {activity.id}")
    if now >= activity.ends_at:
        raise InvalidState("activity.finished", f"activity {activity.id}")
