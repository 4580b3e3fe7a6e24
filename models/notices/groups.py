"""Group chats linked to units: a secretary adds the bot to the branch's group and links
it there; notices of the unit may then also be posted to it."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models.notices.tables import GroupLink


async def linked_group(session: AsyncSession, unit_id: int) -> GroupLink | None:
    """The group linked to this unit, if any."""
    return await session.scalar(select(GroupLink).where(GroupLink.org_unit_id == unit_id))
