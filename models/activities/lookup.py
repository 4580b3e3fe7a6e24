"""Finding one activity (by id or share code) and one member's participation in it."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models.activities.tables import SHARE_PAYLOAD_PREFIX, Activity, Participation
from models.errors import NotFound


def share_payload(activity: Activity) -> str:
    """The /start deep-link payload that opens the activity's card ("a_<code>")."""
    return SHARE_PAYLOAD_PREFIX + activity.share_code


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


async def participation_of(
    session: AsyncSession, activity_id: int, member_id: int
) -> Participation | None:
    return await session.scalar(
        select(Participation).where(
            Participation.activity_id == activity_id, Participation.member_id == member_id
        )
    )
