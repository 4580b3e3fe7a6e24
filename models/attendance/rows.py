"""The participation row that answers, check-in and secretaries' marks all write to."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from models.activities import (
    Activity,
    ActivityMode,
    Participation,
    ParticipationStatus,
    participation_of,
)
from models.errors import InvalidState


def require_expected(activity: Activity) -> None:
    """InvalidState activity.not_expected unless it is organisational life (expected mode)."""
    if activity.mode is not ActivityMode.expected:
        raise InvalidState("activity.not_expected", f"activity {activity.id}")


async def participation_row(
    session: AsyncSession, activity: Activity, member_id: int, now: datetime
) -> Participation:
    """The member's row, made (status expected) when missing. Call with the activity locked."""
    row = await participation_of(session, activity.id, member_id)
    if row is None:
        row = Participation(
            activity_id=activity.id,
            member_id=member_id,
            status=ParticipationStatus.expected,
            created_at=now,
            updated_at=now,
        )
        session.add(row)
    return row
