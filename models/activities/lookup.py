"""Finding one activity (by id or share code) and one member's participation in it."""

from __future__ import annotations

from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, joinedload

from models.activities.tables import SHARE_PAYLOAD_PREFIX, Activity, Participation
from models.db import SessionMemo, holds_loaded
from models.errors import NotFound


def share_payload(activity: Activity) -> str:
    """The /start deep-link payload that opens the activity's card ("a_<code>")."""
    return SHARE_PAYLOAD_PREFIX + activity.share_code


async def get_activity(session: AsyncSession, activity_id: int) -> Activity:
    """The activity, read with its unit (which the card shows, and whose time zone it
    speaks in) when the session does not hold it already."""
    activity = await session.get(
        Activity, activity_id, options=[joinedload(Activity.unit, innerjoin=True)]
    )
    if activity is None:
        raise NotFound("activity.not_found", f"no activity {activity_id}")
    return activity


async def activity_by_share_code(session: AsyncSession, code: str) -> Activity:
    """The activity of a share code (without the "a_" prefix)."""
    activity = await session.scalar(select(Activity).where(Activity.share_code == code))
    if activity is None:
        raise NotFound("activity.not_found", "no activity has this share code")
    return activity


# (activity, member) -> its participation's id
_found = SessionMemo[dict[tuple[int, int], int]]("participations_found", dict)


async def participation_of(
    session: AsyncSession, activity_id: int, member_id: int
) -> Participation | None:
    """The member's participation in the activity, if any.

    Once found, later calls in the session find it by its id in the identity map (no
    query while the session holds it, see models.db.hold_loaded)."""
    found = _found(session)
    known = found.get((activity_id, member_id))
    if known is not None:
        participation = await session.get(Participation, known)
        if participation is not None and (
            participation.activity_id,
            participation.member_id,
        ) == (activity_id, member_id):
            return participation
    participation = await session.scalar(
        select(Participation).where(
            Participation.activity_id == activity_id, Participation.member_id == member_id
        )
    )
    if participation is not None:
        found[activity_id, member_id] = participation.id
    return participation


@event.listens_for(Session, "loaded_as_persistent")
@event.listens_for(Session, "pending_to_persistent")
def _hold_found(session: Session, instance: object) -> None:
    """A participation an update's session read or made (a page of the member's, one
    just signed up) is found again without a query."""
    if isinstance(instance, Participation) and holds_loaded(session):
        key = (instance.activity_id, instance.member_id)
        _found(session)[key] = instance.id
